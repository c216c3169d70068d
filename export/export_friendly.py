"""Export-friendly density-peak (DPC-KNN) prototype selection for Cluster-Phys (paper §3.2.1).

The reference selection in :mod:`edge_rppg.pulse.models.fpc` builds its masks at run time
(``arange`` comparisons and an ``Expand`` to a shape read from the input, which leave the
exported graph with data-dependent shapes), counts in int64, orders the winners with
``CumSum`` and ranks with ``[F, n, n]`` pairwise comparisons.
:class:`DensityPeakSelect` computes *the same selection* with ops every edge runtime
supports, in static shapes only:

* distances: ``|a|² + |b|² − 2 a·b`` (one batched MatMul), clamped at zero, diagonal
  zeroed by multiplying with a constant off-diagonal 0/1 mask, square root — the same
  values as the reference, so both sides see identical distances;
* density (eq. 1): the k smallest distances to other points from
  :func:`edge_rppg.pulse.models.fpc.knn_mean_distance`, a static network of element-wise
  ``Min``/``Max`` compare-exchanges (exact, TopK-free: ONNX Runtime's CPU ``TopK`` over
  10,080 rows of 63 took ~6 ms, the network about half);
* δ (eq. 2): "denser" is the strict total order ``φ_j > φ_i or (φ_j = φ_i and j < i)``
  (Greater/Equal/And/Or against a constant lower-index mask); non-denser entries are
  replaced by a constant larger than any distance (``Where`` with a scalar), then
  ``ReduceMin`` and a ``Min`` with the row maximum — exactly the reference's
  "min over denser points, else the row maximum", without broadcasting a ``[F, n, 1]``
  tensor through ``Where`` (ONNX Runtime's CPU ``Where`` is ~7× slower then);
* top-K of φ·δ: the K-th best value from a ``TopK`` with static k = K, then the winners
  are the scores above it plus, among scores equal to it, those with the lowest indices
  (ties counted with ``tied @ U``, ``U`` the constant strictly-upper-triangular matrix);
  the output slot of a winner is ``selected @ U`` (winners with a lower index), so the K
  winners come out in ascending ROI order like the reference;
* gather: a one-hot ``[F, K, N]`` matrix times ``x`` (MatMul).

No argsort, NonZero, Unique, CumSum, data-dependent shape or Python loop over data is
involved (one TopK per stage, with static k), every tie is broken by the lower
index, and the result is bit-identical to the reference in PyTorch.

A model with ``select_temperature`` > 0 (the default) uses the continuous relaxation
:func:`edge_rppg.pulse.models.fpc.soft_density_peak_selection` instead; it is written with
static ops to begin with (one TopK with static k = K + 1 on the scores; the kNN is the
TopK-free network), so the swap only hands it constant buffers for its masks (the
reference builds them per call) — same function, same bits.
:func:`make_export_friendly` patches a model instance (each clusterer's ``init_fn``) to
use it; :func:`audit_onnx` checks an exported graph for the
forbidden constructs.
"""
from __future__ import annotations

import copy
from typing import Dict, List, Optional, Tuple

from edge_rppg.extras import require
require("torch", "export")  # missing: one line naming the extra to install
import torch
from torch import Tensor, nn

from edge_rppg.pulse.models.fpc import SelectionMasks, knn_mean_distance, masked_distances, soft_density_peak_selection

__all__ = ["DensityPeakSelect", "make_export_friendly", "is_export_friendly", "selections", "audit_onnx",
           "DENSITY_PEAK_SCOPE", "MAX_TOPK", "FORBIDDEN_OPS"]

#: Name of the sub-module that holds the selection; exported node names contain
#: ``/<DENSITY_PEAK_SCOPE>/`` so quantisation and TensorRT can keep them in FP32.
DENSITY_PEAK_SCOPE = "density_peak"
#: Largest static ``k`` a TopK may use (TensorRT's limit).
MAX_TOPK = 3840
#: fill for "no denser point" entries in δ: above any distance between finite features
_NO_DENSER = 3.0e38
#: ONNX ops that imply sorting, data-dependent shapes or control flow.
FORBIDDEN_OPS: Tuple[str, ...] = ("NonZero", "Unique", "Compress", "Loop", "Scan", "If", "NonMaxSuppression",
                                  "SequenceConstruct", "SequenceInsert", "SplitToSequence", "EyeLike",
                                  "RandomUniform", "RandomNormal", "RandomUniformLike", "RandomNormalLike",
                                  "Multinomial", "Bernoulli")


class DensityPeakSelect(nn.Module):
    """Static-shape DPC-KNN top-K selection for one clustering stage (``n`` points → ``K``).

    ``forward(x [F, n, D])`` returns ``(indices [F, K] float, prototypes [F, K, D])``;
    indices are the selected ROI positions in ascending order (float so the graph stays
    free of int64 arithmetic; exact for n < 2²⁴).

    ``temperature`` > 0 selects the continuous relaxation of a model trained with
    ``select_temperature`` > 0: the module then runs
    :func:`edge_rppg.pulse.models.fpc.soft_density_peak_selection` — the very function the
    reference uses — on its constant buffers, which is already export-friendly (one TopK
    with static k on the scores, sigmoids, a MatMul against the constant lower-index matrix, interval
    overlaps with Min/Max/Relu); indices are then each slot's weighted mean position.
    """

    def __init__(self, n: int, K: int, k: int, temperature: float = 0.0) -> None:
        super().__init__()
        if temperature < 0:
            raise ValueError(f"DensityPeakSelect: temperature must be >= 0, got {temperature}")
        self.temperature = float(temperature)
        if not 1 <= K <= n:
            raise ValueError(f"DensityPeakSelect: K must be in [1, n={n}], got {K}")
        if k < 1:
            raise ValueError(f"DensityPeakSelect: k (KNN neighbours) must be >= 1, got {k}")
        self.n, self.K, self.k = int(n), int(K), int(k)
        self.k_eff = min(self.k, self.n - 1)
        if self.k_eff > MAX_TOPK:
            raise ValueError(f"DensityPeakSelect: k={self.k_eff} exceeds the TopK limit {MAX_TOPK}")
        idx = torch.arange(self.n)
        # constants, not parameters: they travel in the ONNX file as initializers; the float
        # masks are the ones the reference builds per call (fpc.SelectionMasks)
        masks = SelectionMasks.build(self.n, self.K)
        self.register_buffer("off_diag", masks.off_diag, persistent=False)    # [n, n] 1 off the diagonal
        self.register_buffer("before", masks.before, persistent=False)        # [j, i]: j < i
        self.register_buffer("slots", masks.slots, persistent=False)          # [1, K, 1]
        self.register_buffer("positions", masks.positions, persistent=False)  # [n]
        self.register_buffer("lower", idx.unsqueeze(0) < idx.unsqueeze(1), persistent=False)  # [i, j]: j < i

    def distances(self, x: Tensor) -> Tensor:
        """Euclidean distances ``[F, n, n]``: the reference's own
        :func:`~edge_rppg.pulse.models.fpc.masked_distances` on the constant off-diagonal mask."""
        return masked_distances(x, self.off_diag)

    def density(self, dist: Tensor) -> Tensor:
        """Eq. 1: ``exp(−mean of the k smallest distances to other points)``, ``[F, n]``.

        The reference's own :func:`~edge_rppg.pulse.models.fpc.knn_mean_distance` (a static
        Min/Max selection network, no TopK) on the constant off-diagonal mask, so both
        sides compute the same bits.
        """
        if self.k_eff < 1:
            return torch.ones(dist.shape[:-1], dtype=dist.dtype, device=dist.device)
        return torch.exp(-knn_mean_distance(dist, self.k_eff, self.off_diag))

    def delta(self, dist: Tensor, density: Tensor) -> Tensor:
        """Eq. 2: distance to the nearest denser point (row maximum for the densest), ``[F, n]``."""
        phi_i, phi_j = density.unsqueeze(-1), density.unsqueeze(-2)
        denser = (phi_j > phi_i) | ((phi_j == phi_i) & self.lower)  # ties: the lower index is denser
        row_max = dist.amax(dim=-1)
        # a fill above every distance: a row with no denser point reduces to it, and the
        # Min with the row maximum then gives exactly the reference's fallback
        fill = torch.full((), _NO_DENSER, dtype=dist.dtype, device=dist.device)
        return torch.minimum(torch.where(denser, dist, fill).amin(dim=-1), row_max)

    def onehot(self, score: Tensor) -> Tensor:
        """One-hot ``[F, K, n]`` of the K best scores (ties → lower index), rows in ROI order.

        The K-th best value ``v`` comes from a TopK with static k = K over ``[F, n]``;
        a point is selected if its score beats ``v``, or equals it and fewer than
        ``K − #{s > v}`` tied points have a lower index (counted with one MatMul against
        the constant strictly-upper-triangular matrix) — the same set as the reference's
        pairwise rank, without any ``[F, n, n]`` comparison.
        """
        kth = torch.topk(score, self.K, dim=-1, largest=True, sorted=True).values[..., self.K - 1:]
        above = (score > kth).to(score.dtype)
        tied = (score == kth).to(score.dtype)
        room = float(self.K) - above.sum(dim=-1, keepdim=True)
        tied_before = torch.matmul(tied, self.before.to(score.dtype))
        selected = above + tied * (tied_before < room).to(score.dtype)   # exactly K ones per frame
        slot = torch.matmul(selected, self.before.to(score.dtype))        # winners with a lower index
        hit = (slot.unsqueeze(-2) == self.slots.to(score.dtype)).to(score.dtype)  # [F, K, n]
        return hit * selected.unsqueeze(-2)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """``x [F, n, D]`` → ``(indices [F, K] float, prototypes [F, K, D])``."""
        if x.shape[-2] != self.n:
            raise ValueError(f"DensityPeakSelect built for n={self.n} points, got x of shape {tuple(x.shape)}")
        sel = x.detach()
        if self.temperature > 0:
            masks = SelectionMasks(off_diag=self.off_diag, before=self.before, slots=self.slots,
                                   positions=self.positions)  # the buffers, on the module's device
            onehot, indices = soft_density_peak_selection(sel, self.K, self.k, self.temperature, masks)
            return indices, torch.matmul(onehot.to(x.dtype), x)
        dist = self.distances(sel)
        density = self.density(dist)
        score = density * self.delta(dist, density)
        onehot = self.onehot(score)
        indices = torch.matmul(onehot, self.positions.to(onehot.dtype))
        return indices, torch.matmul(onehot.to(x.dtype), x)


class _SelectInit:
    """Callable with the ``init_fn(x, K, k, temperature)`` signature of :mod:`edge_rppg.pulse.models.fpc` that
    runs a :class:`DensityPeakSelect` module (called as a module so exported node names
    carry its scope). Plain object, so assigning it does not register a second module."""

    def __init__(self, module: DensityPeakSelect) -> None:
        self.module = module
        self.last: Optional[Tensor] = None  # indices of the latest call (for diagnostics)
        self.last_prototypes: Optional[Tensor] = None  # the prototypes C(0) they selected

    def __call__(self, x: Tensor, K: int, k: int, temperature: float = 0.0) -> Tuple[Tensor, Tensor]:
        if (int(K), int(k), float(temperature)) != (self.module.K, self.module.k, self.module.temperature):
            raise ValueError(f"density-peak selection was built for K={self.module.K}, k={self.module.k}, "
                             f"temperature={self.module.temperature}; called with K={K}, k={k}, "
                             f"temperature={temperature}")
        indices, prototypes = self.module(x)
        self.last, self.last_prototypes = indices, prototypes
        return indices, prototypes


def _clusterers(model: nn.Module) -> List[nn.Module]:
    """Modules that select prototypes through a swappable ``init_fn`` (fpc, dpc, kmeans)."""
    return [m for m in model.modules() if callable(getattr(m, "init_fn", None)) and hasattr(m, "k_out")]


def make_export_friendly(model: nn.Module, inplace: bool = False) -> nn.Module:
    """Return ``model`` (a copy unless ``inplace``) with every DPC-KNN selection swapped for
    :class:`DensityPeakSelect`, in eval mode.

    Each clusterer gets a ``density_peak`` sub-module and its ``init_fn`` calls it; the
    weights are untouched (the selection has no parameters). Raises ``ValueError`` if the
    model has no stage with a DPC-KNN selection and no other clustering either.
    """
    target = model if inplace else copy.deepcopy(model)
    stages = _clusterers(target)
    if not stages and not any(hasattr(m, "cluster") for m in target.modules()):
        raise ValueError(f"{type(model).__name__} has no clustering stage with a swappable init_fn "
                         "(expected edge_rppg.pulse.models.fpc clusterers)")
    for cluster in stages:
        module = DensityPeakSelect(cluster.n_in, cluster.k_out, cluster.knn_k,
                                   getattr(cluster, "select_temperature", 0.0))
        ref = next((t for t in cluster.parameters()), None)
        if ref is not None:
            module = module.to(ref.device)
        cluster.add_module(DENSITY_PEAK_SCOPE, module)
        cluster.init_fn = _SelectInit(module)
    return target.eval()


def selections(model: nn.Module) -> List[_SelectInit]:
    """The patched selections of an export-friendly model, in stage order (``.last`` holds
    the indices ``[F, K]`` of the latest forward, ``.last_prototypes`` the rows they picked)."""
    return [m.init_fn for m in _clusterers(model) if isinstance(m.init_fn, _SelectInit)]


def is_export_friendly(model: nn.Module) -> bool:
    """True when every DPC-KNN clusterer of ``model`` uses :class:`DensityPeakSelect`."""
    return all(isinstance(m.init_fn, _SelectInit) for m in _clusterers(model))


def audit_onnx(model: "onnx.ModelProto") -> List[str]:  # type: ignore[name-defined]  # noqa: F821
    """Problems that keep an ONNX graph from being static and export-friendly (empty = fine).

    Checks: no op from :data:`FORBIDDEN_OPS`; every TopK has a constant ``k`` ≤
    :data:`MAX_TOPK`; the graph inputs/outputs and (after shape inference) every
    intermediate tensor have fully static shapes.
    """
    from edge_rppg.extras import require
    require("onnx", "export")  # missing: one line naming the extra to install
    from onnx import numpy_helper, shape_inference

    problems: List[str] = []
    graph = model.graph
    consts: Dict[str, object] = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    consts[node.output[0]] = numpy_helper.to_array(a.t)
    for node in graph.node:
        if node.op_type in FORBIDDEN_OPS:
            problems.append(f"forbidden op {node.op_type} ({node.name})")
        if node.op_type == "TopK":
            k = consts.get(node.input[1]) if len(node.input) > 1 else None
            if k is None:
                problems.append(f"TopK {node.name} has a data-dependent k")
            elif int(k.reshape(-1)[0]) > MAX_TOPK:  # type: ignore[union-attr]
                problems.append(f"TopK {node.name} has k={int(k.reshape(-1)[0])} > {MAX_TOPK}")  # type: ignore[union-attr]
    inferred = shape_inference.infer_shapes(model, strict_mode=False)
    values = list(inferred.graph.input) + list(inferred.graph.output) + list(inferred.graph.value_info)
    for vi in values:
        t = vi.type.tensor_type
        if not t.HasField("shape"):
            problems.append(f"tensor {vi.name} has no inferred shape")
            continue
        if any(not d.HasField("dim_value") for d in t.shape.dim):
            dims = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in t.shape.dim]
            problems.append(f"tensor {vi.name} has a non-static shape {dims}")
    return problems
