"""Facial ROI Prototypical Clustering (FPC) building blocks of Cluster-Phys (paper §3.2).

Every function works on a batch of *frames*: ``x`` is ``[F, N, D]`` where ``F = B*T``
(one clustering problem per frame), so nothing loops over data in Python.

Pieces, in the order the paper uses them:

* :func:`pairwise_distance` / :func:`masked_distances` — Euclidean distance σ as
  matmul-based squared distances, clamped at zero, diagonal forced to 0 by a constant
  0/1 mask, then ``sqrt`` (the form an ONNX/TensorRT export reproduces with static ops).
* :func:`knn_density` — eq. 1, φ_i = exp(−(1/k) Σ_{x_j∈KNN(x_i)} σ(x_i, x_j)); the k
  nearest neighbours exclude x_i itself (with self included, one of the k terms would
  always be 0).  The sum of the k smallest distances does not depend on which of
  several equidistant neighbours is picked, so φ needs no tie-break.  The k smallest are
  found by :func:`knn_mean_distance`, a static Min/Max selection network (exact, no TopK:
  ONNX Runtime's CPU TopK over many short rows was the slowest op of the exported model).
* :func:`denser_matrix` + :func:`delta_distance` — eq. 2.  "x_j is denser than x_i" is the
  strict total order ``φ_j > φ_i or (φ_j == φ_i and j < i)``: exact density ties go to
  the lower ROI index, so exactly one point per frame (the densest, lowest index) has no
  denser point and takes δ = max_j σ(x_i, x_j).  No random noise is added (TCFormer's
  DPC-KNN adds ``rand*1e-6``; we do not).
* :func:`stable_rank` + :func:`topk_onehot` — top-K of the score φ·δ with ties again
  broken by lower index; the K winners are returned **in ascending ROI-index order**
  (so prototype slot p of consecutive frames tends to come from the same region, which
  the temporal interaction relies on) as a one-hot ``[F, K, N]`` selection matrix.
* :func:`dpc_knn_init` — the whole initialisation: indices ``[F, K]`` and prototypes
  ``C(0) = P @ x`` (a one-hot matmul, differentiable w.r.t. ``x``; the selection itself
  is computed without gradient).  With ``temperature`` τ > 0 it runs
  :func:`soft_density_peak_selection` instead: the same density, δ and top-K, but every
  hard decision (which point is denser, which points make the top K, which slot a winner
  fills) is a sigmoid of the gap relative to τ × the frame's scale, so the
  selection matrix P is a continuous function of ``x`` (slots are filled by interval
  overlaps).  Away from near-ties (gaps larger than a few τ) P is the hard one-hot
  matrix; at a near-tie it blends the two
  candidates instead of jumping, so float-rounding differences between runtimes move the
  output by a rounding-sized amount.
* :func:`em_step` — eq. 3–4, one E-M iteration ``C ← softmax(Q_C K_Xᵀ/√D) V_X``.
* :func:`prototype_update` — eq. 5–7, cosine similarity, nearest-prototype assignment
  and the weighted fusion with weights W_i = exp(S_ij)/(Σ_{Set(c_j)} exp(S_ij) + e),
  W_j = e/(same).  With ``temperature`` 0 the assignment is the paper's hard nearest
  match (ArgMax, ties → lower prototype index); with ``temperature`` τ > 0 it is the
  soft nearest match ``softmax_j(S_ij / τ)``, which tends to the hard one as τ → 0 but
  is continuous in S, so float-rounding differences between runtimes (PyTorch, ONNX
  Runtime, TensorRT, FP16/INT8) move the output by a rounding-sized amount instead of
  flipping a feature into another cluster.
* :func:`hard_assign_mean` — nearest-centre (Euclidean) assignment + cluster mean, used
  by the "random", "dpc" and "kmeans" ablation strategies (Table 5).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional, Tuple

from edge_rppg.extras import require
require("torch", "train")  # missing: one line naming the extra to install
import torch
from torch import Tensor

__all__ = [
    "masked_distances", "pairwise_distance", "knn_mean_distance", "knn_density", "denser_matrix", "delta_distance", "dpc_score",
    "stable_rank", "topk_onehot", "SelectionMasks", "soft_density_peak_selection", "dpc_knn_init", "em_step",
    "cosine_similarity", "nearest_assignment", "prototype_update", "hard_assign_mean",
]


def masked_distances(x: Tensor, off_diag: Tensor) -> Tensor:
    """Euclidean distances ``[F, N, N]`` of the rows of ``x [F, N, D]`` given the constant
    off-diagonal 0/1 mask ``off_diag [N, N]``.

    ``|a|² + |b|² − 2 a·b`` (one batched matmul), clamped at 0, times the mask (an exact 0
    on the diagonal), then square-rooted: the static ops an exported graph uses.
    """
    sq = (x * x).sum(-1)
    d2 = sq.unsqueeze(-1) + sq.unsqueeze(-2) - 2.0 * torch.matmul(x, x.transpose(-1, -2))
    return torch.sqrt(torch.clamp(d2, min=0.0) * off_diag.to(d2.dtype))


def pairwise_distance(x: Tensor) -> Tensor:
    """Euclidean distances ``[F, N, N]`` of the rows of ``x [F, N, D]`` (:func:`masked_distances`
    with the off-diagonal mask built for ``N``), so torch and ONNX agree on ties."""
    idx = torch.arange(x.shape[-2], device=x.device)
    return masked_distances(x, (idx.unsqueeze(0) != idx.unsqueeze(1)).to(x.dtype))


def knn_density(dist: Tensor, k: int) -> Tensor:
    """Eq. 1: local density ``[F, N]`` from distances ``[F, N, N]``, self excluded.

    ``k`` is clipped to ``N − 1``; with a single point the density is 1 (empty sum).
    """
    n = dist.shape[-1]
    k_eff = min(int(k), n - 1)
    if k_eff < 1:
        return torch.ones(dist.shape[:-1], dtype=dist.dtype, device=dist.device)
    idx = torch.arange(n, device=dist.device)
    off_diag = (idx.unsqueeze(0) != idx.unsqueeze(1)).to(dist.dtype)
    return torch.exp(-knn_mean_distance(dist, k_eff, off_diag))


def _insert_smallest(lst: List[Tensor], c: Tensor, k: int) -> List[Tensor]:
    """Insert ``c`` into the element-wise ascending list ``lst``, keeping the ``k`` smallest.

    A chain of compare-exchanges (``Min``/``Max``): exact, branch-free, elementwise.
    """
    out: List[Tensor] = []
    for s in lst:
        out.append(torch.minimum(s, c))
        if len(out) == k:            # the chain's last Max would only be dropped
            return out
        c = torch.maximum(s, c)
    out.append(c)
    return out


def _smallest_sorted(items: List[Tensor], k: int) -> List[Tensor]:
    """The ``min(k, len(items))`` element-wise smallest of ``items``, ascending (insertion network)."""
    lst: List[Tensor] = []
    for c in items:
        lst = _insert_smallest(lst, c, k)
    return lst


def _merge_lanes(lst: List[Tensor], k: int) -> List[Tensor]:
    """Merge per-lane ascending lists (lane axis last, a power of two) into one, halving the
    lanes each level; returns the k smallest, squeezed, in a fixed (not sorted) order.

    Two ascending lists ``a``, ``b`` of length k: ``min(a_i, b_{k-1-i})`` holds exactly the k
    smallest of their union (the bitonic-merge identity), re-sorted unless it is the last level.
    """
    while int(lst[0].shape[-1]) > 1:
        h = int(lst[0].shape[-1]) // 2
        a = [t[..., :h] for t in lst]
        b = [t[..., h:] for t in lst]
        if len(lst) < k:
            merged = a
            for t in b:
                merged = _insert_smallest(merged, t, k)
            lst = merged
        else:
            lst = [torch.minimum(a[i], b[k - 1 - i]) for i in range(k)]
            if h > 1:
                lst = _smallest_sorted(lst, k)
    return [t.squeeze(-1) for t in lst]


def _knn_lanes(n: int) -> int:
    """Lanes of the kNN selection network for rows of ``n`` (measured fastest in ONNX Runtime)."""
    return 8 if n >= 48 else 4 if n >= 24 else 1


def knn_mean_distance(dist: Tensor, k: int, off_diag: Tensor) -> Tensor:
    """Mean distance ``[F, n]`` of each point to its ``k`` nearest *other* points, without TopK.

    Exact: the k smallest off-diagonal values of each row are selected by a static network
    of element-wise ``Min``/``Max`` compare-exchanges (values are moved, never computed), so
    the selected multiset is exactly TopK's; they are summed in a fixed order, which every
    runtime running this graph repeats.  ONNX Runtime's CPU ``TopK`` over many short rows
    is slow (~6 ms on ``[160, 63, 63]``); this network takes about half that and uses only
    ops that TensorRT fuses.  Rows are split into ``lanes`` interleaved groups (padded with
    the dtype's largest value), each group keeps its k smallest by insertion, then the lanes
    are merged pairwise.  ``off_diag`` is the constant 0/1 off-diagonal mask; the diagonal
    (a point's own zero distance) is lifted to the largest value so it is never chosen.
    ``k`` must be in ``[1, n − 1]``.
    """
    n = int(dist.shape[-1])
    if not 1 <= k <= n - 1:
        raise ValueError(f"knn_mean_distance: k must be in [1, n-1={n - 1}], got {k}")
    big = torch.finfo(dist.dtype).max
    m = dist + (1.0 - off_diag.to(dist.dtype)) * big   # exact: d + 0 off the diagonal, big on it
    lanes = _knn_lanes(n)
    if lanes > 1:
        blocks = -(-n // lanes)
        pad = blocks * lanes - n
        if pad:   # filler columns of `big`, built from a slice so every shape stays static
            m = torch.cat([m, torch.clamp(m[..., :pad], min=big)], dim=-1)
        items = list(m.reshape(m.shape[:-1] + (blocks, lanes)).unbind(-2))
        chosen = _merge_lanes(_smallest_sorted(items, k), k)
    else:
        chosen = _smallest_sorted(list(m.unbind(-1)), k)
    total = chosen[0]
    for t in chosen[1:]:
        total = total + t
    return total / float(k)


def denser_matrix(density: Tensor) -> Tensor:
    """Bool ``[F, N, N]``: entry ``[f, i, j]`` says x_j is denser than x_i.

    Strict total order: ``φ_j > φ_i`` or (``φ_j == φ_i`` and ``j < i``).
    """
    n = density.shape[-1]
    idx = torch.arange(n, device=density.device)
    lower_index = idx.unsqueeze(0) < idx.unsqueeze(1)  # [i, j]: j < i
    phi_i = density.unsqueeze(-1)
    phi_j = density.unsqueeze(-2)
    return (phi_j > phi_i) | ((phi_j == phi_i) & lower_index)


def delta_distance(dist: Tensor, density: Tensor) -> Tensor:
    """Eq. 2: δ_i = min distance to a denser point, or max_j σ(x_i, x_j) for the densest.

    Implemented as ``min_j where(denser, σ_ij, max_j σ_ij)``: the row maximum is the
    fill value, so a point with no denser neighbour gets exactly its row maximum.
    """
    row_max = dist.amax(dim=-1, keepdim=True)
    masked = torch.where(denser_matrix(density), dist, row_max.expand_as(dist))
    return masked.amin(dim=-1)


def dpc_score(x: Tensor, k: int) -> Tuple[Tensor, Tensor, Tensor]:
    """Density φ, distance δ and score φ·δ (each ``[F, N]``) of the points ``x [F, N, D]``."""
    dist = pairwise_distance(x)
    density = knn_density(dist, k)
    delta = delta_distance(dist, density)
    return density, delta, density * delta


def stable_rank(score: Tensor) -> Tensor:
    """Rank ``[F, N]`` (0 = best) by descending score, ties → lower index first.

    ``rank_i = #{j : s_j > s_i or (s_j == s_i and j < i)}`` — pairwise comparisons, no
    sort, so the result is fully deterministic and exportable.
    """
    n = score.shape[-1]
    idx = torch.arange(n, device=score.device)
    lower_index = idx.unsqueeze(0) < idx.unsqueeze(1)  # [i, j]: j < i
    s_i = score.unsqueeze(-1)
    s_j = score.unsqueeze(-2)
    beats = (s_j > s_i) | ((s_j == s_i) & lower_index)
    return beats.sum(dim=-1)


def topk_onehot(score: Tensor, K: int) -> Tensor:
    """One-hot selection ``[F, K, N]`` of the K best scores, rows in ascending index order."""
    n = score.shape[-1]
    if not 1 <= K <= n:
        raise ValueError(f"K must be in [1, {n}], got {K}")
    selected = stable_rank(score) < K  # [F, N], exactly K True per frame
    slot = torch.cumsum(selected.to(torch.int64), dim=-1) - 1  # output row of each selected point
    slots = torch.arange(K, device=score.device).view(1, K, 1)
    return (selected.unsqueeze(-2) & (slot.unsqueeze(-2) == slots)).to(score.dtype)


@dataclass(frozen=True)
class SelectionMasks:
    """Constant index masks of a soft density-peak selection of ``n`` points → ``K``.

    Built once per stage by the export-friendly module (buffers that travel as ONNX
    initialisers) or per call by :func:`dpc_knn_init`; both give the same values, so the
    two paths are bit-identical.
    """

    off_diag: Tensor  # [n, n] float: 1 off the diagonal, 0 on it
    before: Tensor    # [n, n] float: [j, i] = 1 where j < i (row vector @ before = count of lower indices)
    slots: Tensor     # [1, K, 1] float: 0 … K-1
    positions: Tensor  # [n] float: 0 … n-1

    @classmethod
    def build(cls, n: int, K: int, device: Optional[torch.device] = None) -> "SelectionMasks":
        """Masks for ``n`` points and ``K`` prototypes."""
        idx = torch.arange(n, device=device)
        return cls(off_diag=(idx.unsqueeze(0) != idx.unsqueeze(1)).to(torch.float32),
                   before=(idx.unsqueeze(1) < idx.unsqueeze(0)).to(torch.float32),
                   slots=torch.arange(K, dtype=torch.float32, device=device).view(1, K, 1),
                   positions=idx.to(torch.float32))


def soft_density_peak_selection(x: Tensor, K: int, k: int, temperature: float,
                                masks: SelectionMasks) -> Tuple[Tensor, Tensor]:
    """Continuous DPC-KNN top-K selection: ``(P [F, K, n], indices [F, K] float)``.

    Same quantities as the hard selection, with each discrete decision relaxed by a
    temperature relative to the frame's own scale (so τ means the same at every stage):

    * distances as :func:`pairwise_distance`; ρ_i = mean of the k smallest distances to
      other points (eq. 1: φ_i = exp(−ρ_i));
    * "x_j is denser than x_i": ``g_ij = sigmoid((ρ_i − ρ_j) / (τ·d̄))`` (d̄ = the frame's
      mean distance, self excluded by ``off_diag``); δ_i (eq. 2) = ``min_j g_ij σ_ij +
      (1 − g_ij) max_l σ_il`` — exactly the hard δ where every g is 0 or 1, and a
      continuous blend where two densities nearly tie;
    * top-K of the score φ·δ: ``sel_i = sigmoid((s_i − θ) / (τ·s̄))`` with θ halfway
      between the K-th and (K+1)-th best score (one TopK with static k = K + 1) and s̄ the
      mean score;
    * slots in ascending ROI order: the weights are rescaled to total exactly K, point i
      occupies the interval ``[a_i, a_i + sel_i)`` with ``a_i = Σ_{j<i} sel_j``, and fills
      slot p with the length of that interval's overlap with ``[p, p + 1)`` — one-hot
      when every sel is 0 or 1, continuous otherwise, and every slot's weights sum to one
      by construction (no division that a near-empty slot could make ill-conditioned).

    No sort, no data-dependent shape; deterministic (exact ties blend evenly instead of
    going to the lower index).
    """
    n = x.shape[-2]
    dt = x.dtype
    off_diag = masks.off_diag.to(dt)
    dist = masked_distances(x, off_diag)
    k_eff = min(int(k), n - 1)
    scale = dist.mean(dim=(-1, -2), keepdim=True) + 1e-12          # [F, 1, 1]
    t = float(temperature)
    if k_eff >= 1:
        rho = knn_mean_distance(dist, k_eff, off_diag)
    else:
        rho = torch.zeros(dist.shape[:-1], dtype=dt, device=x.device)
    density = torch.exp(-rho)
    denser = torch.sigmoid((rho.unsqueeze(-1) - rho.unsqueeze(-2)) / (t * scale)) * off_diag  # [i, j]
    row_max = dist.amax(dim=-1, keepdim=True)
    delta = (denser * dist + (1.0 - denser) * row_max).amin(dim=-1)
    score = density * delta                                          # [F, n]
    if K < n:
        top = torch.topk(score, K + 1, dim=-1, largest=True, sorted=True).values
        theta = 0.5 * (top[..., K - 1:K] + top[..., K:K + 1])
        spread = score.mean(dim=-1, keepdim=True) + 1e-12
        sel = torch.sigmoid((score - theta) / (t * spread))
    else:
        sel = torch.ones_like(score)
    sel = sel * (float(K) / sel.sum(dim=-1, keepdim=True))           # total mass exactly K (1.0 when hard)
    start = torch.matmul(sel, masks.before.to(dt)).unsqueeze(-2)     # [F, 1, n]: mass of lower indices
    slot = masks.slots.to(dt)                                        # [1, K, 1]
    overlap = torch.minimum(start + sel.unsqueeze(-2), slot + 1.0) - torch.maximum(start, slot)
    onehot = torch.relu(overlap)                                     # [F, K, n], each slot's row sums to 1
    indices = torch.matmul(onehot, masks.positions.to(dt))
    return onehot, indices


def dpc_knn_init(x: Tensor, K: int, k: int, temperature: float = 0.0) -> Tuple[Tensor, Tensor]:
    """DPC-KNN prototype initialisation (§3.2.1): ``(indices [F, K], prototypes [F, K, D])``.

    ``temperature`` 0: the paper's hard selection (int64 indices, one-hot rows).
    ``temperature`` > 0: :func:`soft_density_peak_selection` (float indices, the weighted
    mean ROI position of each slot).  The selection is computed on ``x.detach()``; the
    prototypes are ``P @ x``, so gradients flow into ``x``.
    """
    if temperature < 0:
        raise ValueError(f"selection temperature must be >= 0, got {temperature}")
    with torch.no_grad():
        if temperature > 0:
            onehot, indices = soft_density_peak_selection(
                x.detach(), K, k, temperature, SelectionMasks.build(x.shape[-2], K, x.device))
        else:
            _, _, score = dpc_score(x.detach(), k)
            onehot = topk_onehot(score, K)
            positions = torch.arange(x.shape[-2], dtype=onehot.dtype, device=x.device)
            indices = (onehot * positions).sum(-1).round().to(torch.int64)
    return indices, torch.matmul(onehot.to(x.dtype), x)


def em_step(c: Tensor, k_x: Tensor, v_x: Tensor, q_proj: torch.nn.Module) -> Tensor:
    """One E-M iteration (eq. 3–4): ``A = softmax(Q_C K_Xᵀ/√D)`` over the N features, ``C' = A V_X``.

    ``k_x``/``v_x`` are the already projected keys/values ``[F, N, D]``; ``q_proj`` maps
    prototypes ``[F, K, D]`` to queries.
    """
    q = q_proj(c)
    q = q * (1.0 / math.sqrt(q.shape[-1]))
    attn = torch.softmax(torch.matmul(q, k_x.transpose(-1, -2)), dim=-1)
    return torch.matmul(attn, v_x)


def cosine_similarity(x: Tensor, c: Tensor, eps: float = 1e-6) -> Tensor:
    """Eq. 5: cosine similarity ``S [F, N, K]`` between features ``x`` and prototypes ``c``."""
    xn = x / torch.sqrt((x * x).sum(-1, keepdim=True) + eps * eps)
    cn = c / torch.sqrt((c * c).sum(-1, keepdim=True) + eps * eps)
    return torch.matmul(xn, cn.transpose(-1, -2))


def nearest_assignment(s: Tensor, temperature: float = 0.0) -> Tensor:
    """Assignment ``[F, N, K]`` of features to prototypes from similarities ``s [F, N, K]``.

    ``temperature`` 0: one-hot of the most similar prototype (first maximum → lower
    index on ties), without gradient — the paper's hard nearest matching.
    ``temperature`` τ > 0: ``softmax(s / τ)`` over the prototypes (rows sum to 1, with
    gradient), the continuous relaxation used by models meant for export.
    """
    if temperature < 0:
        raise ValueError(f"assignment temperature must be >= 0, got {temperature}")
    if temperature > 0:
        return torch.softmax(s * (1.0 / float(temperature)), dim=-1)
    k = s.shape[-1]
    nearest = torch.argmax(s.detach(), dim=-1)
    return (nearest.unsqueeze(-1) == torch.arange(k, device=s.device)).to(s.dtype)


def prototype_update(x: Tensor, c: Tensor, temperature: float = 0.0) -> Tuple[Tensor, Tensor, Tensor]:
    """Eq. 5–7 prototype update; returns ``(c' [F,K,D], W_i [F,N,K], W_j [F,K])``.

    Each feature is assigned to its most similar prototype by
    :func:`nearest_assignment` (hard for ``temperature`` 0, soft otherwise); ``W_i`` is
    the assignment times ``exp(S_ij)`` over the normaliser, so with a hard assignment it
    is zero outside a feature's own cluster and ``c'_j = W_j c_j + Σ_i W_ij x_i`` equals
    the paper's sum over Set(c_j).  The exp weights carry gradient (through S).
    """
    s = cosine_similarity(x, c)
    assign = nearest_assignment(s, temperature)
    e = math.e
    weights = torch.exp(s) * assign
    denom = weights.sum(dim=-2) + e  # [F, K]
    w_i = weights / denom.unsqueeze(-2)
    w_j = e / denom
    updated = w_j.unsqueeze(-1) * c + torch.matmul(w_i.transpose(-1, -2), x)
    return updated, w_i, w_j


def hard_assign_mean(x: Tensor, centres: Tensor, iters: int = 1) -> Tensor:
    """Nearest-centre (Euclidean) assignment then per-cluster mean, ``iters`` times (Lloyd).

    Assignments carry no gradient; means do.  A cluster left empty keeps its centre.
    """
    c = centres
    k = c.shape[-2]
    for _ in range(iters):  # loop over iterations, not data
        with torch.no_grad():
            d2 = (c * c).sum(-1).unsqueeze(-2) - 2.0 * torch.matmul(x, c.transpose(-1, -2))  # [F, N, K] (+|x|² const)
            nearest = torch.argmin(d2, dim=-1)
            assign = (nearest.unsqueeze(-1) == torch.arange(k, device=x.device)).to(x.dtype)
        counts = assign.sum(dim=-2).unsqueeze(-1)  # [F, K, 1]
        sums = torch.matmul(assign.transpose(-1, -2), x)
        c = torch.where(counts > 0, sums / counts.clamp(min=1.0), c)
    return c


# --------------------------------------------------------------------------------------
# Clustering strategies (Table 5 ablation).  Each maps features [F, N, D] to K prototypes
# [F, K, D]; the prototype update (eq. 5-7) is applied afterwards by the stage.
# --------------------------------------------------------------------------------------


class _DPCInit(torch.nn.Module):
    """Base for strategies that start from DPC-KNN; ``init_fn`` can be swapped (export)."""

    def __init__(self, n_in: int, k_out: int, knn_k: int, select_temperature: float = 0.0) -> None:
        super().__init__()
        self.n_in, self.k_out, self.knn_k = n_in, k_out, knn_k
        self.select_temperature = float(select_temperature)
        self.init_fn = dpc_knn_init

    def initial(self, x: Tensor) -> Tensor:
        """C(0) ``[F, K, D]`` from ``init_fn(x, K, k, select_temperature)``."""
        return self.init_fn(x, self.k_out, self.knn_k, self.select_temperature)[1]


class FPCClusterer(_DPCInit):
    """"fpc" (the paper): DPC-KNN init, then M learned E-M iterations (eq. 3–4)."""

    def __init__(self, dim: int, n_in: int, k_out: int, knn_k: int, em_iters: int,
                 select_temperature: float = 0.0, **_: object) -> None:
        super().__init__(n_in, k_out, knn_k, select_temperature)
        self.em_iters = em_iters
        self.q = torch.nn.Linear(dim, dim)
        self.k = torch.nn.Linear(dim, dim)
        self.v = torch.nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        """``[F, N, D]`` → ``[F, K, D]``."""
        c = self.initial(x)
        if self.em_iters > 0:
            k_x, v_x = self.k(x), self.v(x)
            for _ in range(self.em_iters):  # M iterations, not a data loop
                c = em_step(c, k_x, v_x, self.q)
        return c


class DPCClusterer(_DPCInit):
    """"dpc": DPC-KNN init + one nearest-centre assignment and cluster mean, no E-M."""

    def __init__(self, n_in: int, k_out: int, knn_k: int, select_temperature: float = 0.0, **_: object) -> None:
        super().__init__(n_in, k_out, knn_k, select_temperature)

    def forward(self, x: Tensor) -> Tensor:
        """``[F, N, D]`` → ``[F, K, D]``."""
        return hard_assign_mean(x, self.initial(x), iters=1)


class KMeansClusterer(_DPCInit):
    """"kmeans": DPC-KNN init + ``kmeans_iters`` Lloyd iterations (assignments without gradient)."""

    def __init__(self, n_in: int, k_out: int, knn_k: int, kmeans_iters: int = 3, select_temperature: float = 0.0,
                 **_: object) -> None:
        super().__init__(n_in, k_out, knn_k, select_temperature)
        self.kmeans_iters = kmeans_iters

    def forward(self, x: Tensor) -> Tensor:
        """``[F, N, D]`` → ``[F, K, D]``."""
        return hard_assign_mean(x, self.initial(x), iters=self.kmeans_iters)


class RandomClusterer(torch.nn.Module):
    """"random": K initial prototypes at ROI indices drawn once from a seeded generator
    (fixed for the model's life, stored as a buffer), then one nearest-centre mean."""

    def __init__(self, n_in: int, k_out: int, seed: int = 0, stage: int = 0, **_: object) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(int(seed) * 1000 + int(stage))
        idx = torch.sort(torch.randperm(n_in, generator=gen)[:k_out]).values
        self.register_buffer("indices", idx, persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        """``[F, N, D]`` → ``[F, K, D]``."""
        return hard_assign_mean(x, x.index_select(-2, self.indices), iters=1)


class FixedGrouping(torch.nn.Module):
    """No clustering (Table 4 row 1): ROI i goes to group ``floor(i*K/N)`` and each
    prototype is its group's mean — a fixed, data-independent pooling to K tokens so the
    stage structure (and cost) stays comparable to the clustered model."""

    def __init__(self, n_in: int, k_out: int, **_: object) -> None:
        super().__init__()
        group = (torch.arange(n_in) * k_out) // n_in
        onehot = (group.unsqueeze(0) == torch.arange(k_out).unsqueeze(1)).float()
        self.register_buffer("pool", onehot / onehot.sum(-1, keepdim=True), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        """``[F, N, D]`` → ``[F, K, D]``."""
        return torch.matmul(self.pool.to(x.dtype), x)


CLUSTER_STRATEGIES = {
    "fpc": FPCClusterer,
    "dpc": DPCClusterer,
    "kmeans": KMeansClusterer,
    "random": RandomClusterer,
    "none": FixedGrouping,
}
"""Strategy name → clusterer class (``"none"`` is what ``use_clustering=False`` selects)."""
