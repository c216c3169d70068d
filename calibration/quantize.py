"""Explicit INT8 quantisation of an exported Cluster-Phys graph into TensorRT-compatible Q/DQ.

ONNX Runtime's ``quantize_static`` runs the FP32 graph over the calibration windows
(normalised exactly as the engines normalise) through :func:`make_reader` (a ``CalibrationDataReader``), derives
a range per tensor with the selected method (MinMax, Entropy or Percentile) and writes a
``QuantFormat.QDQ`` graph with:

* signed INT8 weights and activations (``QuantType.QInt8``), symmetric
  (``ActivationSymmetric``/``WeightSymmetric``), so every zero-point is 0 — the form
  TensorRT's explicit quantisation accepts;
* per-channel weight scales (output-channel axis) for MatMul/Gemm;
* Q/DQ only on the inputs of MatMul/Gemm (what TensorRT fuses into INT8 GEMMs), biases
  left in float (``QuantizeBias=False``);
* the density-peak selection (distances, density, TopK, ranking, one-hot gathers — the
  nodes under ``/density_peak/``) excluded via ``nodes_to_exclude`` and kept FP32, so
  INT8 rounding does not move which ROIs become prototypes (a hard decision for a model
  with ``select_temperature`` 0, a steep continuous one otherwise); by default the
  prototype update (eq. 5–7, the nearest-prototype choice) stays FP32 too.

:func:`inspect_qdq` re-reads the result and checks those properties (zero-points all 0,
INT8 types, per-channel weights, no Q/DQ feeding the density-peak nodes).
"""
from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import numpy as np

from edge_rppg.config import Config, Range
from edge_rppg.errors import ConfigError, ModelFileError

__all__ = ["QuantizeConfig", "QDQSummary", "quantize_int8", "inspect_qdq", "restore_fp32_inputs",
           "prototype_update_nodes", "embedding_nodes",
           "make_reader",
           "calibration_methods", "METHOD_NAMES"]

METHOD_NAMES: Tuple[str, ...] = ("minmax", "entropy", "percentile")


def calibration_methods() -> Dict[str, Any]:
    """Method name → ``onnxruntime.quantization.CalibrationMethod``."""
    from onnxruntime.quantization import CalibrationMethod

    return {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
            "percentile": CalibrationMethod.Percentile}


@dataclass
class QuantizeConfig(Config):
    """Settings of :func:`quantize_int8`.

    method: ``minmax`` | ``entropy`` | ``percentile``; percentile: the kept percentile for
    ``percentile``; op_types: ops whose inputs get Q/DQ; per_channel: per-output-channel
    weight scales; exclude_density_peak: keep the DPC-KNN selection in FP32;
    keep_prototype_update_fp32: also keep the prototype update (eq. 5–7: cosine
    similarity, nearest-prototype assignment, weighted fusion — the ops directly in a
    stage's scope) in FP32. With the hard ArgMax (``assign_temperature`` 0) quantising
    its inputs moved the pulse of a trained edge-small model to Pearson r 0.988 against
    FP32 and keeping it FP32 gave 0.992 (30 held-out clips), for two small MatMuls per
    stage. keep_embedding_fp32: keep the input embedding (the 6 → D linear layer on the
    MSTmap, scope ``/embed``) in FP32: quantising its input puts the window-normalised
    colour traces on a 1/127 grid, coarser than much of the pulse itself; on the shipped
    edge-small model that alone dropped the pulse to Pearson r 0.974 against FP32 (HR MAE
    4.4 bpm), keeping it FP32 gives 0.992 for 2 M of its 420 M multiply-accumulates.
    """

    method: str = "minmax"
    percentile: float = 99.999
    per_channel: bool = True
    op_types: Tuple[str, ...] = ("MatMul", "Gemm")
    exclude_density_peak: bool = True
    keep_prototype_update_fp32: bool = True
    keep_embedding_fp32: bool = True

    #: Allowed values (``edge-rppg calibrate --percentile`` inherits it).
    RANGES = {"percentile": Range(90.0, 100.0, high_open=True)}

    def __post_init__(self) -> None:
        self.check_ranges()
        self.method = str(self.method).lower()
        if self.method not in METHOD_NAMES:
            raise ConfigError(f"QuantizeConfig.method must be one of {', '.join(METHOD_NAMES)}, got {self.method!r}")
        if not isinstance(self.op_types, (list, tuple)) or not all(isinstance(t, str) for t in self.op_types):
            raise ConfigError(f"QuantizeConfig.op_types must be a list of ONNX op names, got {self.op_types!r}")
        self.op_types = tuple(self.op_types)


def make_reader(windows: np.ndarray, input_name: str = "mstmap") -> Any:
    """An ONNX Runtime ``CalibrationDataReader`` over normalised MSTmap windows
    ``[N, T, 63, 6]``: yields ``{input_name: window[None]}`` once per window (the model's
    static batch of 1), supports ``rewind`` and ``set_range`` (strided calibration)."""
    from onnxruntime.quantization import CalibrationDataReader

    class _Reader(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self.windows = np.ascontiguousarray(windows, dtype=np.float32)
            self.start, self.end = 0, len(self.windows)
            self._it: Iterator[Dict[str, np.ndarray]] = self._iter()

        def _iter(self) -> Iterator[Dict[str, np.ndarray]]:
            for i in range(self.start, self.end):
                yield {input_name: self.windows[i:i + 1]}

        def get_next(self) -> Optional[Dict[str, np.ndarray]]:
            return next(self._it, None)

        def rewind(self) -> None:
            self._it = self._iter()

        def set_range(self, start_index: int, end_index: int) -> None:
            self.start, self.end = int(start_index), int(end_index)
            self.rewind()

        def __len__(self) -> int:
            return len(self.windows)

    return _Reader()


@dataclass
class QDQSummary:
    """What :func:`inspect_qdq` found in a quantised graph."""

    quantize_nodes: int
    dequantize_nodes: int
    quantized_ops: Dict[str, int]
    per_channel_weights: int
    per_tensor_weights: int
    nonzero_zero_points: List[str]
    non_int8_zero_points: List[str]
    density_peak_nodes: int
    density_peak_fed_by_dq: List[str]
    excluded_nodes: int = 0
    notes: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Symmetric signed INT8, per-channel weights, density-peak selection untouched."""
        return (not self.nonzero_zero_points and not self.non_int8_zero_points and self.quantize_nodes > 0
                and self.per_channel_weights > 0 and not self.density_peak_fed_by_dq)

    def to_dict(self) -> Dict[str, Any]:
        """JSON-able summary."""
        return {"ok": self.ok, "quantize_nodes": self.quantize_nodes, "dequantize_nodes": self.dequantize_nodes,
                "quantized_ops": self.quantized_ops, "per_channel_weights": self.per_channel_weights,
                "per_tensor_weights": self.per_tensor_weights, "nonzero_zero_points": self.nonzero_zero_points[:10],
                "non_int8_zero_points": self.non_int8_zero_points[:10], "density_peak_nodes": self.density_peak_nodes,
                "density_peak_fed_by_dq": self.density_peak_fed_by_dq[:10], "excluded_nodes": self.excluded_nodes}


def inspect_qdq(model: Union[str, Path, "onnx.ModelProto"]) -> QDQSummary:  # type: ignore[name-defined]  # noqa: F821
    """Check a Q/DQ graph: zero-points (all 0, INT8), per-channel weights, quantised ops,
    and that no density-peak node reads a dequantised tensor."""
    from edge_rppg.extras import require
    require("onnx", "export")  # missing: one line naming the extra to install
    import onnx
    from onnx import TensorProto, numpy_helper

    proto = model if isinstance(model, onnx.ModelProto) else onnx.load(str(model))
    inits = {t.name: t for t in proto.graph.initializer}
    nonzero, non_int8 = [], []
    per_channel = per_tensor = 0
    q = dq = 0
    for node in proto.graph.node:
        if node.op_type not in ("QuantizeLinear", "DequantizeLinear"):
            continue
        q += node.op_type == "QuantizeLinear"
        dq += node.op_type == "DequantizeLinear"
        if len(node.input) > 2 and node.input[2] in inits:
            zp = inits[node.input[2]]
            if zp.data_type != TensorProto.INT8:
                non_int8.append(node.name)
            if np.any(numpy_helper.to_array(zp) != 0):
                nonzero.append(node.name)
        elif len(node.input) <= 2:
            non_int8.append(node.name)  # no zero-point means uint8 by default
        if node.op_type == "DequantizeLinear" and node.input[0] in inits:  # a weight
            scale = numpy_helper.to_array(inits[node.input[1]]) if node.input[1] in inits else np.zeros(1)
            if scale.size > 1:
                per_channel += 1
            else:
                per_tensor += 1
    dq_outputs = {o for n in proto.graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    consumers_of_dq: Dict[str, int] = {}
    for node in proto.graph.node:
        if node.op_type in ("QuantizeLinear", "DequantizeLinear"):
            continue
        if any(i in dq_outputs for i in node.input):
            consumers_of_dq[node.op_type] = consumers_of_dq.get(node.op_type, 0) + 1
    dp = [n for n in proto.graph.node if "/density_peak/" in n.name]
    fed = [n.name for n in dp if any(i in dq_outputs for i in n.input)]
    return QDQSummary(quantize_nodes=q, dequantize_nodes=dq, quantized_ops=dict(sorted(consumers_of_dq.items())),
                      per_channel_weights=per_channel, per_tensor_weights=per_tensor, nonzero_zero_points=nonzero,
                      non_int8_zero_points=non_int8, density_peak_nodes=len(dp), density_peak_fed_by_dq=fed)


_STAGE_SCOPE_NODE = re.compile(r"^/stages\.\d+/[A-Za-z]+(_\d+)?$")


def prototype_update_nodes(proto: "onnx.ModelProto") -> List[str]:  # type: ignore[name-defined]  # noqa: F821
    """Nodes directly in a stage's scope (``/stages.N/<Op>``): the prototype update of
    eq. 5–7 (the clusterer, density peak and interaction have sub-scopes of their own)."""
    return [n.name for n in proto.graph.node if _STAGE_SCOPE_NODE.match(n.name)]


def embedding_nodes(proto: "onnx.ModelProto") -> List[str]:  # type: ignore[name-defined]  # noqa: F821
    """Nodes of the input embedding (scope ``/embed``: the MSTmap → D linear layer)."""
    return [n.name for n in proto.graph.node if n.name.startswith("/embed/")]


def restore_fp32_inputs(proto: "onnx.ModelProto", names: List[str]) -> int:  # type: ignore[name-defined]  # noqa: F821
    """Make the nodes in ``names`` read the float tensor instead of its Q→DQ copy.

    ONNX Runtime puts one Q/DQ pair on a tensor for *all* its consumers once any consumer
    is quantised (e.g. the prototype-update MatMul shares its input with the density-peak
    selection); this re-points the excluded nodes to the original FP32 tensor, so their
    inputs are exactly what the FP32 graph computes. Returns the inputs rewired.
    """
    producers = {o: n for n in proto.graph.node for o in n.output}
    keep = set(names)
    rewired = 0
    for node in proto.graph.node:
        if node.name not in keep:
            continue
        for i, name in enumerate(node.input):
            dq = producers.get(name)
            if dq is None or dq.op_type != "DequantizeLinear":
                continue
            q = producers.get(dq.input[0])
            if q is None or q.op_type != "QuantizeLinear":
                continue  # a quantised weight (initializer), not an activation
            node.input[i] = q.input[0]
            rewired += 1
    used = {i for n in proto.graph.node for i in n.input} | {o.name for o in proto.graph.output}
    changed = True
    while changed:  # drop Q/DQ nodes nobody reads any more
        changed = False
        for node in list(proto.graph.node):
            if node.op_type in ("QuantizeLinear", "DequantizeLinear") and not any(o in used for o in node.output):
                proto.graph.node.remove(node)
                changed = True
        used = {i for n in proto.graph.node for i in n.input} | {o.name for o in proto.graph.output}
    return rewired


def quantize_int8(fp32_path: Union[str, Path], out_path: Union[str, Path], windows: np.ndarray,
                  cfg: Optional[QuantizeConfig] = None) -> QDQSummary:
    """Write the INT8 Q/DQ version of ``fp32_path`` to ``out_path``, calibrated on ``windows``.

    ``windows``: *normalised* MSTmaps ``[N, T, 63, 6]`` (``CalibrationSet.normalised()``).
    Raises ``ModelFileError`` if the input is not an FP32 edge_rppg export, if the
    density-peak nodes cannot be found (exclusion requested), or if the result is not
    symmetric signed INT8 with per-channel weights.
    """
    from edge_rppg.extras import require
    require("onnx", "export")  # missing: one line naming the extra to install
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    from edge_rppg.export.onnx_export import density_peak_nodes, file_sha256, save_onnx
    from edge_rppg.model_file import META, set_metadata

    cfg = cfg or QuantizeConfig()
    fp32_path, out_path = Path(fp32_path), Path(out_path)
    try:
        proto = onnx.load(str(fp32_path))
    except Exception as exc:
        raise ModelFileError(f"{fp32_path}: not a readable ONNX file (corrupt or truncated?): {exc}") from exc
    meta = {p.key: p.value for p in proto.metadata_props}
    if meta.get(META["precision"], "fp32") != "fp32":
        raise ModelFileError(f"{fp32_path}: expected an FP32 model to quantise, got precision "
                             f"{meta.get(META['precision'])!r}")
    T = int(proto.graph.input[0].type.tensor_type.shape.dim[1].dim_value)
    w = np.asarray(windows, dtype=np.float32)
    if w.ndim != 4 or w.shape[1:] != (T, 63, 6) or len(w) == 0:
        raise ValueError(f"calibration windows must be [N, {T}, 63, 6] (the model's T); got {w.shape}")
    exclude = density_peak_nodes(proto) if cfg.exclude_density_peak else []
    if cfg.exclude_density_peak and not exclude:
        raise ModelFileError(f"{fp32_path}: no density-peak nodes (names with /density_peak/) to keep in FP32; "
                             "export the model with `edge-rppg export`")
    update = prototype_update_nodes(proto) if cfg.keep_prototype_update_fp32 else []
    embed = embedding_nodes(proto) if cfg.keep_embedding_fp32 else []
    exclude = exclude + [n for n in update + embed if n not in set(exclude)]
    extra = {"ActivationSymmetric": True, "WeightSymmetric": True, "QuantizeBias": False, 
             "CalibTensorRangeSymmetric": True}
    if cfg.method == "percentile":
        extra["CalibPercentile"] = float(cfg.percentile)
    with tempfile.TemporaryDirectory(prefix="edge_rppg_quant_") as tmp:
        tmp_out = Path(tmp) / "model.int8.onnx"
        quantize_static(str(fp32_path), str(tmp_out), make_reader(w, proto.graph.input[0].name),
                        quant_format=QuantFormat.QDQ, op_types_to_quantize=list(cfg.op_types),
                        per_channel=cfg.per_channel, reduce_range=False, activation_type=QuantType.QInt8,
                        weight_type=QuantType.QInt8, nodes_to_exclude=exclude,
                        calibrate_method=calibration_methods()[cfg.method], extra_options=extra)
        q = onnx.load(str(tmp_out))
    rewired = restore_fp32_inputs(q, exclude)
    summary = inspect_qdq(q)
    summary.notes.append(f"{rewired} inputs of FP32-kept nodes re-pointed to their FP32 tensors")
    summary.excluded_nodes = len(exclude)
    if not summary.ok:
        raise ModelFileError(f"quantised graph is not TensorRT-ready symmetric INT8: {json.dumps(summary.to_dict())}")
    set_metadata(q, {**meta, META["precision"]: "int8", META["quantization"]: json.dumps({
        "method": cfg.method, "percentile": cfg.percentile if cfg.method == "percentile" else None,
        "samples": int(len(w)), "per_channel": cfg.per_channel, "symmetric": True, "format": "QDQ",
        "op_types": list(cfg.op_types), "fp32_sha256": file_sha256(fp32_path),
        "kept_fp32_nodes": len(exclude), "prototype_update_fp32": cfg.keep_prototype_update_fp32,
        "embedding_fp32": cfg.keep_embedding_fp32},
        sort_keys=True)})
    onnx.checker.check_model(q, full_check=True)
    save_onnx(q, out_path)
    return summary
