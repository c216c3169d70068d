"""Write Cluster-Phys as a static, self-contained ONNX file (and its FP16 variant).

The model is rebuilt for the requested window length ``T`` (the weights do not depend on
T), its density-peak selection is swapped for :class:`edge_rppg.export.export_friendly.DensityPeakSelect`,
and it is traced with the TorchScript exporter at batch 1, so every shape in the graph
— T, the 63 ROI rows and the K prototypes of each stage — is a constant. The graph is
checked with ``onnx.checker`` (full check), audited for forbidden constructs, simplified
with onnxslim when that keeps the outputs (node counts before/after are reported), and
stamped with metadata: format and version, the model config as JSON, the SHA-256 of the
weights, T, K per stage, precision and the input convention. Weights are embedded (no
external data), so one file is the whole model.

FP16: :func:`convert_fp16` (:func:`to_fp16`) turns the float weights and activations to half precision for
GPU execution providers, keeps the graph inputs/outputs FP32 and the density-peak
selection (distances, density, TopK, ranking) in FP32, so the discrete prototype choice
is made at full precision.
"""
from __future__ import annotations

import hashlib
import io
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np
from edge_rppg.extras import require
require("torch", "export")  # missing: one line naming the extra to install
import torch
from torch import nn

from edge_rppg.errors import ModelFileError
from edge_rppg.hashing import file_sha256
from edge_rppg.model_file import FORMAT, FORMAT_VERSION, META, read_metadata, set_metadata

from .export_config import DEFAULT_OPSET, ExportConfig
from .export_friendly import DENSITY_PEAK_SCOPE, audit_onnx, make_export_friendly

__all__ = ["FORMAT", "FORMAT_VERSION", "INPUT_NAME", "OUTPUT_NAME", "ExportResult", "weights_sha256",
           "file_sha256", "node_counts", "prepare_model", "export_onnx", "convert_fp16", "read_metadata",
           "density_peak_nodes", "to_fp16", "save_onnx", "export_checkpoint", "META"]

INPUT_NAME = "mstmap"
OUTPUT_NAME = "bvp"
INPUT_CONVENTION = ("mstmap [1, T, 63, 6] float32: R,G,B,Y,U,V colour means of the 63 meta-ROI subsets, "
                    "each row/channel min-max normalised to [0, 1] over the window "
                    "(edge_rppg.skin.mstmap.normalize_window); engines take raw windows and normalise")
#: What the input is, per model colour space (``ClusterPhysConfig.color_space``; the file's
#: ``edge_rppg.color_space`` and its config say which, and engines refuse the other kind of stream).
INPUT_CONVENTIONS = {
    "rgb": INPUT_CONVENTION,
    "gray": ("mstmap [1, T, 63, 1] float32: intensity means of the 63 meta-ROI subsets of a monochrome "
             "(near-infrared) camera, normalised by the model's input_norm (edge_rppg.skin.mstmap."
             "normalize_window); engines take raw windows and normalise"),
}


@dataclass
class ExportResult:
    """What :func:`export_onnx` wrote: path, T, K per stage, node counts, hashes, audit."""

    path: Path
    T: int
    K: Tuple[int, ...]
    opset: int
    nodes_before: int
    nodes_after: int
    simplified: bool
    weights_sha256: str
    file_sha256: str
    size_bytes: int
    precision: str = "fp32"
    ops_before: Dict[str, int] = field(default_factory=dict)
    ops_after: Dict[str, int] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        """JSON-able summary."""
        return {"path": str(self.path), "T": self.T, "K": list(self.K), "opset": self.opset,
                "precision": self.precision, "nodes_before": self.nodes_before, "nodes_after": self.nodes_after,
                "simplified": self.simplified, "weights_sha256": self.weights_sha256,
                "file_sha256": self.file_sha256, "size_bytes": self.size_bytes, "notes": list(self.notes)}


def weights_sha256(model: nn.Module) -> str:
    """SHA-256 of the model's state dict (names, dtypes, shapes and bytes, sorted by name).

    Independent of T and of the export-friendly swap (neither adds persistent tensors),
    so the hash in an ONNX file identifies the checkpoint weights it came from.
    """
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        arr = np.ascontiguousarray(tensor.detach().cpu().numpy())
        h.update(name.encode())
        h.update(str(arr.dtype).encode())
        h.update(str(tuple(arr.shape)).encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def node_counts(model: "onnx.ModelProto") -> Dict[str, int]:  # type: ignore[name-defined]  # noqa: F821
    """Nodes per op type of the main graph, plus ``"total"``."""
    counts: Dict[str, int] = {}
    for node in model.graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    counts["total"] = len(model.graph.node)
    return dict(sorted(counts.items()))


def density_peak_nodes(model: "onnx.ModelProto") -> List[str]:  # type: ignore[name-defined]  # noqa: F821
    """Names of the nodes of the density-peak selection (their scope is ``/density_peak/``)."""
    tag = f"/{DENSITY_PEAK_SCOPE}/"
    return [n.name for n in model.graph.node if tag in n.name]


def prepare_model(model: nn.Module, T: Optional[int] = None) -> nn.Module:
    """An eval-mode, export-friendly copy of ``model`` built for window length ``T``.

    The Cluster-Phys weights do not depend on T (only the fixed sinusoidal frame code
    does), so a model trained at one T is rebuilt at another by loading its state dict
    into a fresh model with ``config.T = T``.
    """
    config = getattr(model, "config", None)
    if T is not None and config is not None and int(T) != int(config.T):
        import dataclasses

        rebuilt = type(model)(dataclasses.replace(config, T=int(T)))  # re-runs the config's validation
        rebuilt.load_state_dict(model.state_dict(), strict=True)
        model = rebuilt
    return make_export_friendly(model).eval()


def _trace(model: nn.Module, T: int, opset: int, batch: int = 1) -> bytes:
    """TorchScript-exporter ONNX bytes of ``model`` at the static input ``[batch, T, 63, 6]``."""
    cfg = model.config  # type: ignore[attr-defined]
    dummy = torch.rand(batch, T, cfg.n_rois, cfg.in_channels, generator=torch.Generator().manual_seed(0))
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy-exporter deprecation notice and tracer warnings
        with torch.no_grad():
            torch.onnx.export(model, (dummy,), buf, dynamo=False, opset_version=opset, do_constant_folding=True,
                              input_names=[INPUT_NAME], output_names=[OUTPUT_NAME], export_params=True)
    return buf.getvalue()


def _ort_outputs(model_bytes: bytes, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(model_bytes, opts, providers=["CPUExecutionProvider"])
    return sess.run(None, {INPUT_NAME: x})[0]


def _simplify(proto: "onnx.ModelProto", T: int, notes: List[str], channels: int = 6
              ) -> Tuple["onnx.ModelProto", bool]:  # type: ignore[name-defined]  # noqa: F821
    """onnxslim-simplified copy of ``proto`` if it checks and reproduces the outputs, else ``proto``."""
    from edge_rppg.extras import require
    require("onnx", "export")  # missing: one line naming the extra to install
    import onnx

    try:
        import onnxslim
    except ImportError:
        notes.append("onnxslim is not installed: graph left unsimplified (pip install onnxslim)")
        return proto, False
    try:
        slim = onnxslim.slim(onnx.ModelProto.FromString(proto.SerializeToString()))
        onnx.checker.check_model(slim, full_check=True)
        x = np.random.default_rng(0).random((1, T, 63, channels), dtype=np.float32)
        a = _ort_outputs(proto.SerializeToString(), x)
        b = _ort_outputs(slim.SerializeToString(), x)
        diff = float(np.max(np.abs(a - b)))
        if not diff <= 1e-5:
            notes.append(f"onnxslim changed the outputs by {diff:.3g}: kept the unsimplified graph")
            return proto, False
    except Exception as exc:  # a simplifier bug must never block an export
        notes.append(f"onnxslim failed ({type(exc).__name__}: {exc}); kept the unsimplified graph")
        return proto, False
    return slim, True


def save_onnx(proto: "onnx.ModelProto", path: Union[str, Path]) -> Path:  # type: ignore[name-defined]  # noqa: F821
    """Write ``proto`` as one self-contained file (no external data), atomically."""
    from edge_rppg.extras import require
    require("onnx", "export")  # missing: one line naming the extra to install
    import onnx

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        onnx.save_model(proto, str(tmp), save_as_external_data=False)
        tmp.replace(path)
    finally:  # a failed write or rename (e.g. ``path`` is a folder) leaves no stray ``.tmp``
        tmp.unlink(missing_ok=True)
    return path


def export_onnx(model: nn.Module, path: Union[str, Path], T: Optional[int] = None, opset: int = DEFAULT_OPSET,
                simplify: bool = True) -> ExportResult:
    """Export ``model`` (a :class:`~edge_rppg.pulse.models.ClusterPhys`) to ``path``.

    ``T`` defaults to ``model.config.T``. Raises ``ConfigError`` (a ``ValueError``) for a T or an
    opset outside :class:`~edge_rppg.export.export_config.ExportConfig`'s ranges (opset 17..20) and
    ``ModelFileError`` when the exported graph fails ``onnx.checker`` or the static audit.
    """
    from edge_rppg.extras import require
    require("onnx", "export")  # missing: one line naming the extra to install
    import onnx

    import edge_rppg
    from edge_rppg.pulse.models.cluster_phys import prototype_schedule

    checked = ExportConfig(T=T, opset=opset)
    T, opset = checked.T, checked.opset
    config = getattr(model, "config", None)
    if config is None:
        raise ValueError(f"{type(model).__name__} has no .config; expected a ClusterPhys model")
    T = int(T if T is not None else config.T)
    prepared = prepare_model(model, T)
    cfg = prepared.config  # type: ignore[attr-defined]
    raw = onnx.load_from_string(_trace(prepared, T, int(opset)))
    notes: List[str] = []
    hard = [name for name, used in (("assign_temperature", getattr(cfg, "use_update", False)),
                                    ("select_temperature", getattr(cfg, "use_clustering", False)))
            if used and float(getattr(cfg, name, 0.0)) == 0.0]
    if hard:
        notes.append(f"the model makes hard decisions ({', '.join(f'{h}=0' for h in hard)}): float rounding can "
                     "flip near-ties, so ONNX Runtime/TensorRT may differ from PyTorch by ~1e-2 (train with "
                     "temperatures > 0 for an export that reproduces PyTorch)")
    onnx.checker.check_model(raw, full_check=True)
    before = node_counts(raw)
    proto, simplified = _simplify(raw, T, notes, cfg.in_channels) if simplify else (raw, False)
    problems = audit_onnx(proto)
    if problems:
        raise ModelFileError(f"exported graph is not static/export-friendly: {'; '.join(problems[:5])}")
    ks = tuple(prototype_schedule(cfg))
    sha = weights_sha256(prepared)
    proto.producer_name, proto.producer_version = "edge_rppg", str(edge_rppg.__version__)
    convention = INPUT_CONVENTIONS[cfg.color_space]
    proto.doc_string = f"Cluster-Phys rPPG model, static T={T}, K={list(ks)}; {convention}"
    set_metadata(proto, {
        META["format"]: FORMAT, META["format_version"]: str(FORMAT_VERSION), META["model"]: "cluster_phys",
        META["config"]: json.dumps(cfg.to_dict(), sort_keys=True), META["weights_sha256"]: sha,
        META["T"]: str(T), META["K"]: ",".join(str(k) for k in ks), META["precision"]: "fp32",
        META["input"]: convention, META["color_space"]: cfg.color_space, META["output"]: "bvp [1, T] float32 (blood-volume pulse, arbitrary scale)",
        META["normalization"]: "window_minmax", META["version"]: str(edge_rppg.__version__),
        META["opset"]: str(int(opset)),
    })
    onnx.checker.check_model(proto, full_check=True)
    out = save_onnx(proto, path)
    after = node_counts(proto)
    return ExportResult(path=out, T=T, K=ks, opset=int(opset), nodes_before=before["total"],
                        nodes_after=after["total"], simplified=simplified, weights_sha256=sha,
                        file_sha256=file_sha256(out), size_bytes=out.stat().st_size, ops_before=before,
                        ops_after=after, notes=notes)


def _float_types(proto: "onnx.ModelProto") -> Dict[str, int]:  # type: ignore[name-defined]  # noqa: F821
    """Element type of every named tensor (inputs, outputs, initializers, inferred values)."""
    from edge_rppg.extras import require
    require("onnx", "export")  # missing: one line naming the extra to install
    from onnx import shape_inference

    inferred = shape_inference.infer_shapes(proto, strict_mode=False)
    types: Dict[str, int] = {t.name: t.data_type for t in proto.graph.initializer}
    for vi in list(inferred.graph.input) + list(inferred.graph.output) + list(inferred.graph.value_info):
        types[vi.name] = vi.type.tensor_type.elem_type
    return types


def to_fp16(proto: "onnx.ModelProto", block: List[str]) -> "onnx.ModelProto":  # type: ignore[name-defined]  # noqa: F821
    """Half-precision copy of an FP32 graph: nodes named in ``block`` and the graph
    inputs/outputs stay FP32, everything else computes in FP16, with ``Cast`` nodes at
    each FP32/FP16 boundary.

    Float initializers used only by FP16 nodes are stored as FP16 (shared ones get an FP32
    twin for the blocked nodes), ``Cast(to=FLOAT)``, ``Constant`` and ``ConstantOfShape``
    of FP16 nodes are retargeted to FP16. Written here rather than with
    onnxconverter-common, whose block-list handling leaves mismatched ``Cast`` targets on
    this graph.
    """
    from edge_rppg.extras import require
    require("onnx", "export")  # missing: one line naming the extra to install
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    FLOAT, HALF = TensorProto.FLOAT, TensorProto.FLOAT16
    src = onnx.ModelProto.FromString(proto.SerializeToString())
    _unshare_initializers(src, block)
    types = _float_types(src)
    blocked = set(block)
    inits = {t.name: t for t in src.graph.initializer}
    graph_inputs = {i.name for i in src.graph.input}
    producer_half: Dict[str, bool] = {}  # float tensor -> produced in fp16?
    for name in graph_inputs:
        producer_half[name] = False
    consumers: Dict[str, set] = {}
    for node in src.graph.node:
        for name in node.input:
            consumers.setdefault(name, set()).add(node.name not in blocked)
    # initializers: fp16 when every consumer is an fp16 node
    for name, init in inits.items():
        if init.data_type == FLOAT and consumers.get(name) == {True}:
            half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), name=name)
            init.CopyFrom(half)
            producer_half[name] = True
        elif init.data_type == FLOAT:
            producer_half[name] = False
    new_nodes: List[Any] = []
    casts: Dict[Tuple[str, int], str] = {}

    def cast(name: str, to: int) -> str:
        key = (name, to)
        if key not in casts:
            out = f"{name}__to_{'fp16' if to == HALF else 'fp32'}"
            new_nodes.append(helper.make_node("Cast", [name], [out], to=to, name=f"{out}_cast"))
            casts[key] = out
        return casts[key]

    for node in src.graph.node:
        half_node = node.name not in blocked
        for i, name in enumerate(node.input):
            if not name or types.get(name) != FLOAT or name not in producer_half:
                continue
            if producer_half[name] != half_node:
                node.input[i] = cast(name, HALF if half_node else FLOAT)
        if half_node:
            for attr in node.attribute:
                if node.op_type == "Cast" and attr.name == "to" and attr.i == FLOAT:
                    attr.i = HALF
                if node.op_type in ("Constant", "ConstantOfShape") and attr.name == "value" and attr.t.data_type == FLOAT:
                    attr.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(attr.t).astype(np.float16),
                                                            name=attr.t.name))
        for name in node.output:
            if types.get(name) == FLOAT:
                producer_half[name] = half_node
        new_nodes.append(node)
    # graph outputs stay fp32
    renames: Dict[str, str] = {}
    for out in src.graph.output:
        if producer_half.get(out.name):
            inner = f"{out.name}__fp16"
            renames[out.name] = inner
    for node in new_nodes:
        for i, name in enumerate(node.output):
            if name in renames:
                node.output[i] = renames[name]
        for i, name in enumerate(node.input):
            if name in renames:
                node.input[i] = renames[name]
    for outer, inner in renames.items():
        new_nodes.append(helper.make_node("Cast", [inner], [outer], to=FLOAT, name=f"{outer}_to_fp32_cast"))
    del src.graph.node[:]
    src.graph.node.extend(new_nodes)
    del src.graph.value_info[:]
    return src


def convert_fp16(src: Union[str, Path], dst: Union[str, Path]) -> ExportResult:
    """Write the FP16 variant of the FP32 export ``src`` to ``dst`` (see :func:`to_fp16`).

    Inputs/outputs stay float32 (the engines feed the same arrays) and the density-peak
    selection stays FP32. Raises ``ModelFileError`` if ``src`` is not an edge_rppg FP32 export.
    """
    from edge_rppg.extras import require
    require("onnx", "export")  # missing: one line naming the extra to install
    import onnx

    src = Path(src)
    meta = read_metadata(src)
    if meta.get(META["precision"]) != "fp32":
        raise ModelFileError(f"{src}: expected an FP32 edge_rppg export (metadata {META['precision']}=fp32), "
                             f"got {meta.get(META['precision'])!r}")
    proto = onnx.load(str(src))
    block = density_peak_nodes(proto)
    half = to_fp16(proto, block)
    set_metadata(half, {META["precision"]: "fp16"})
    onnx.checker.check_model(half, full_check=True)
    out = save_onnx(half, dst)
    counts = node_counts(half)
    return ExportResult(path=out, T=int(meta[META["T"]]), K=tuple(int(k) for k in meta[META["K"]].split(",")),
                        opset=int(meta.get(META["opset"], DEFAULT_OPSET)), nodes_before=len(proto.graph.node),
                        nodes_after=counts["total"], simplified=False, weights_sha256=meta[META["weights_sha256"]],
                        file_sha256=file_sha256(out), size_bytes=out.stat().st_size, precision="fp16",
                        ops_after=counts, notes=[f"{len(block)} density-peak nodes kept in FP32"])


def _unshare_initializers(proto: "onnx.ModelProto", block: List[str]) -> int:  # type: ignore[name-defined]  # noqa: F821
    """Give FP32-kept (blocked) nodes their own copy of initializers they share with
    converted nodes (onnxslim deduplicates equal constants); returns the copies made."""
    from edge_rppg.extras import require
    require("onnx", "export")  # missing: one line naming the extra to install
    from onnx import numpy_helper

    blocked = set(block)
    inits = {t.name: t for t in proto.graph.initializer}
    users: Dict[str, set] = {}
    for node in proto.graph.node:
        for name in node.input:
            if name in inits:
                users.setdefault(name, set()).add(node.name in blocked)
    copies = 0
    for name, kinds in users.items():
        if kinds != {True, False}:
            continue
        twin = numpy_helper.from_array(numpy_helper.to_array(inits[name]).copy(), name=f"{name}__fp32")
        proto.graph.initializer.append(twin)
        for node in proto.graph.node:
            if node.name in blocked:
                for i, inp in enumerate(node.input):
                    if inp == name:
                        node.input[i] = twin.name
        copies += 1
    return copies


def export_checkpoint(checkpoint: Union[str, Path], out: Union[str, Path], T: Optional[int] = None,
                      opset: int = DEFAULT_OPSET, simplify: bool = True,
                      fp16: bool = False) -> Tuple[ExportResult, Optional[ExportResult], nn.Module]:
    """Export a :func:`~edge_rppg.pulse.models.checkpoint.save_checkpoint` file; returns
    ``(fp32 result, fp16 result or None, the loaded torch model)``. The FP16 file is
    written next to ``out`` as ``<stem>.fp16.onnx``."""
    from edge_rppg.pulse.models.checkpoint import load_checkpoint

    model, _ = load_checkpoint(checkpoint)
    result = export_onnx(model, out, T=T, opset=opset, simplify=simplify)
    half = None
    if fp16:
        out = Path(out)
        half = convert_fp16(out, out.with_name(out.stem + ".fp16.onnx"))
    return result, half, model
