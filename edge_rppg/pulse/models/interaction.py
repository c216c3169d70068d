"""Spatial-Temporal Prototype Interaction of Cluster-Phys (paper §3.3, eq. 8).

``ProtoInter`` is a pre-LN Transformer block — ``Ĉ = MSA(LN(C')) + C'``,
``C'' = FFN(LN(Ĉ)) + Ĉ`` — applied first across the K prototypes of each frame
(spatial) and then across the T frames of each prototype (temporal).  Attention is
written with plain matmul/softmax so that ONNX/TensorRT exports stay simple.
"""
from __future__ import annotations

import math

from edge_rppg.extras import require
require("torch", "train")  # missing: one line naming the extra to install
import torch
from torch import Tensor, nn

__all__ = ["Attention", "FeedForward", "ProtoInter", "SpatialTemporalInteraction"]


class Attention(nn.Module):
    """Multi-head self-attention over the token axis of ``[G, L, D]`` (matmul + softmax)."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim={dim} must be divisible by heads={heads}")
        self.heads = heads
        self.head_dim = dim // heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.attn_drop = nn.Dropout(dropout)
        self.proj_drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        """``[G, L, D]`` → ``[G, L, D]``."""
        g, n, d = x.shape
        qkv = self.qkv(x).reshape(g, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # [G, H, L, hd]
        q = q * (1.0 / math.sqrt(self.head_dim))  # scale the [L, hd] queries, not the [L, L] logits
        attn = torch.softmax(torch.matmul(q, k.transpose(-1, -2)), dim=-1)
        out = torch.matmul(self.attn_drop(attn), v).transpose(1, 2).reshape(g, n, d)
        return self.proj_drop(self.proj(out))


class FeedForward(nn.Module):
    """Two-layer MLP with GELU (the Transformer FFN)."""

    def __init__(self, dim: int, hidden: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        """``[..., D]`` → ``[..., D]``."""
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class ProtoInter(nn.Module):
    """Eq. 8: pre-LN MSA + FFN with residuals."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.ffn = FeedForward(dim, max(1, int(round(dim * mlp_ratio))), dropout)

    def forward(self, x: Tensor) -> Tensor:
        """``[G, L, D]`` → ``[G, L, D]``."""
        x = x + self.attn(self.norm1(x))
        return x + self.ffn(self.norm2(x))


class SpatialTemporalInteraction(nn.Module):
    """Spatial ProtoInter over K (per frame) then temporal ProtoInter over T (per prototype).

    ``depth`` blocks of each kind are interleaved (spatial, temporal, spatial, ...).
    Either kind can be switched off for the Table 4 ablation.
    """

    def __init__(self, dim: int, heads: int, mlp_ratio: float, dropout: float = 0.0, depth: int = 1,
                 use_spatial: bool = True, use_temporal: bool = True) -> None:
        super().__init__()
        self.spatial = nn.ModuleList(
            [ProtoInter(dim, heads, mlp_ratio, dropout) for _ in range(depth if use_spatial else 0)])
        self.temporal = nn.ModuleList(
            [ProtoInter(dim, heads, mlp_ratio, dropout) for _ in range(depth if use_temporal else 0)])
        self.depth = depth

    def forward(self, c: Tensor) -> Tensor:
        """``[B, T, K, D]`` → ``[B, T, K, D]``."""
        b, t, k, d = c.shape
        for i in range(self.depth):  # loop over layers, not data
            if i < len(self.spatial):
                c = self.spatial[i](c.reshape(b * t, k, d)).reshape(b, t, k, d)
            if i < len(self.temporal):
                ct = c.permute(0, 2, 1, 3).reshape(b * k, t, d)
                c = self.temporal[i](ct).reshape(b, k, t, d).permute(0, 2, 1, 3)
        return c
