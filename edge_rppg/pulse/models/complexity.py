"""Model size and compute, for comparing against the paper's Table 6.

``count_flops`` runs one forward of a ``[batch, T, 63, 6]`` input under
``torch.utils.flop_counter.FlopCounterMode``, which counts matrix products (mm, bmm,
addmm, matmul, attention, conv) at **2 FLOPs per multiply-add**.  thop and fvcore — and,
by its numbers, the Cluster-Phys paper (4.97 "GFLOPs") — report multiply-accumulates
(MACs) under the name FLOPs, so :attr:`FlopCount.paper_gflops` is ``macs / 1e9``.
Element-wise ops (softmax, LayerNorm, GELU, comparisons) are not counted by either tool.
"""
from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Optional

from edge_rppg.extras import require
require("torch", "train")  # missing: one line naming the extra to install
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

__all__ = ["FlopCount", "count_parameters", "count_flops"]


@dataclass(frozen=True)
class FlopCount:
    """FLOPs of one forward at window length ``T`` and batch ``batch``."""

    T: int
    batch: int
    flops: int  # torch convention: 2 per multiply-add

    @property
    def macs(self) -> int:
        """Multiply-accumulates (= flops / 2)."""
        return self.flops // 2

    @property
    def gflops(self) -> float:
        """Giga-FLOPs at 2 per MAC."""
        return self.flops / 1e9

    @property
    def gmacs(self) -> float:
        """Giga-MACs."""
        return self.macs / 1e9

    @property
    def paper_gflops(self) -> float:
        """What thop/fvcore and the paper call GFLOPs (= GMACs)."""
        return self.gmacs


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters; buffers are not counted."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_flops(model: nn.Module, T: Optional[int] = None, batch: int = 1) -> FlopCount:
    """FLOPs of one eval-mode forward on a random ``[batch, T, n_rois, in_channels]`` input.

    ``T`` defaults to ``model.config.T``.  Models are built for one T, so for another T a
    copy with ``config.T = T`` is built (FLOPs do not depend on weight values).
    """
    config = getattr(model, "config", None)
    if config is None:
        raise ValueError(f"{type(model).__name__} has no .config; cannot build an input for it")
    T = int(config.T if T is None else T)
    if T != config.T:
        model = type(model)(dataclasses.replace(config, T=T))
    else:
        model = copy.deepcopy(model)
    model.eval()
    param = next(model.parameters())
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(batch, T, config.n_rois, config.in_channels, generator=gen).to(param.dtype)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(x)
    return FlopCount(T=T, batch=batch, flops=int(counter.get_total_flops()))
