"""Build TensorRT engines from exported ONNX files, on TensorRT 10.x and 11.x.

Building lives here, in the runtime stage; loading a built engine (and refusing a stale or
foreign one) stays in the core, :mod:`edge_rppg.pulse.engines.tensorrt_engine`.

The two majors build differently:

* **TensorRT 10.x (JetPack 6)** has the *weakly typed* mode: an FP32 graph becomes an FP16
  engine with ``BuilderFlag.FP16``, a Q/DQ graph an INT8 engine with ``INT8`` (+ ``FP16``
  for the layers between Q/DQ pairs), and the density-peak selection layers (names with
  ``/density_peak/``) are constrained to FP32 (``PREFER_PRECISION_CONSTRAINTS``) so the
  discrete prototype choice is made at full precision. INT8 of an FP32 graph can still use
  the deprecated ``IInt8EntropyCalibrator2`` (``--legacy-calibration``).
* **TensorRT 11.x** removed ``BuilderFlag.FP16``/``INT8``, ``int8_calibrator``, the legacy
  calibrators and the precision-constraint flags: every network is *strongly typed*
  (``NetworkDefinitionCreationFlag.STRONGLY_TYPED``) and takes its types from the graph.
  FP16 engines come from the FP16 ONNX variant (``edge-rppg export --fp16``), INT8 engines
  from the Q/DQ file of ``edge-rppg calibrate``, FP32 engines from the FP32 export.

Which path runs is decided by feature probes on the installed module
(:func:`weakly_typed_available`, :func:`legacy_calibrator_available`), and the decision
itself is the pure function :func:`plan_build`, tested without TensorRT. The functions that
touch 10.x-only names are listed in :data:`VERSION_GUARDED` with the probe that guards
them; ``tools/check_tensorrt_api.py`` checks every TensorRT name this module uses against
the names registered in the real bindings of each supported release (see that script).
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np

from edge_rppg.pulse.engines.tensorrt_engine import (ENGINE_FORMAT, ENGINE_FORMAT_VERSION, PRECISIONS, cache_key,
                                               cached_engine_path, check_sidecar, default_cache_dir, environment,
                                               require_tensorrt, sidecar_path)
from edge_rppg.errors import EdgeRPPGError, ModelFileError
from edge_rppg.extras import require
from edge_rppg.hashing import file_sha256
from edge_rppg.model_file import META
from edge_rppg.skin.mstmap import input_norm_of

__all__ = ["BuildPlan", "plan_build", "weakly_typed_available", "legacy_calibrator_available", "onnx_precision",
           "build_engine", "build_or_load", "tensorrt_engine", "engine_sidecar", "VERSION_GUARDED", "DENSITY_PEAK_TAG"]

DENSITY_PEAK_TAG = "/density_peak/"

#: function → the probe that must return True before it is called. These functions use names
#: that TensorRT 11 removed; tools/check_tensorrt_api.py requires their names only in releases
#: where the probe's names exist, and checks that every call sits under ``if <probe>(...)``.
VERSION_GUARDED: Dict[str, str] = {
    "_configure_weakly_typed": "weakly_typed_available",
    "_keep_density_peak_fp32": "weakly_typed_available",
    "_attach_legacy_calibrator": "legacy_calibrator_available",
    "_entropy_calibrator": "legacy_calibrator_available",
}


def weakly_typed_available(trt: Any) -> bool:
    """True when this TensorRT still has the weakly typed precision flags (10.x; removed in 11)."""
    return hasattr(trt.BuilderFlag, "FP16") and hasattr(trt.BuilderFlag, "INT8")


def legacy_calibrator_available(trt: Any) -> bool:
    """True when this TensorRT still has ``IInt8EntropyCalibrator2`` (deprecated in 10, removed in 11)."""
    major = int(str(trt.__version__).split(".")[0])
    return major < 11 and hasattr(trt, "IInt8EntropyCalibrator2") and weakly_typed_available(trt)


@dataclass(frozen=True)
class BuildPlan:
    """How one engine is built: a strongly typed network, or weakly typed flags (10.x)."""

    strongly_typed: bool
    flags: Tuple[str, ...] = ()          # BuilderFlag member names (weakly typed only)
    legacy_calibrator: bool = False      # implicit INT8 of an FP32 graph (10.x only)
    constrain_density_peak: bool = False  # density-peak layers kept FP32 (weakly typed only)


def plan_build(graph_precision: str, precision: str, weakly_typed: bool, legacy_calibrator: bool,
               has_calibration: bool, source: str = "model.onnx") -> BuildPlan:
    """Decide the build for a ``graph_precision`` ONNX file and the requested engine ``precision``.

    ``weakly_typed`` / ``legacy_calibrator`` are the probes' answers for the installed TensorRT.
    Raises ``EdgeRPPGError`` naming the file to build from when the combination cannot be
    built on this release (e.g. FP16 from an FP32 graph on TensorRT 11).
    """
    if precision not in PRECISIONS:
        raise EdgeRPPGError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if graph_precision not in PRECISIONS:
        raise ModelFileError(f"{source}: unknown graph precision {graph_precision!r} (expected one of {PRECISIONS})")
    if graph_precision == "fp16":
        if precision != "fp16":
            raise EdgeRPPGError(f"{source} is the FP16 variant: it builds fp16 engines only; build {precision} "
                                "from the FP32 export" + (" or its Q/DQ file" if precision == "int8" else ""))
        return BuildPlan(strongly_typed=True)
    if graph_precision == "int8":
        if precision != "int8":
            raise EdgeRPPGError(f"{source} is an INT8 Q/DQ graph: it builds int8 engines only; build {precision} "
                                "from the FP32 export")
        if weakly_typed:  # 10.x: INT8 where the Q/DQ pairs say, FP16 elsewhere, density peak FP32
            return BuildPlan(strongly_typed=False, flags=("FP16", "INT8"), constrain_density_peak=True)
        return BuildPlan(strongly_typed=True)  # 11.x: the Q/DQ graph's own types
    # FP32 graph
    if precision == "fp32":
        return BuildPlan(strongly_typed=not weakly_typed)
    if precision == "fp16":
        if not weakly_typed:
            raise EdgeRPPGError(f"this TensorRT builds strongly typed networks only (TensorRT 11 removed "
                                f"BuilderFlag.FP16): an fp16 engine needs the FP16 ONNX variant "
                                f"(`edge-rppg export CHECKPOINT --fp16`), not the FP32 graph {source}")
        return BuildPlan(strongly_typed=False, flags=("FP16",), constrain_density_peak=True)
    # int8 from an FP32 graph: implicit calibration, 10.x only
    if not has_calibration:
        raise EdgeRPPGError(f"{source} has no Q/DQ nodes: INT8 needs `edge-rppg calibrate` first (then build from "
                            "its .int8.onnx), or --legacy-calibration N on TensorRT 10")
    if not legacy_calibrator:
        raise EdgeRPPGError("this TensorRT has no IInt8EntropyCalibrator2 (removed in TensorRT 11): quantise with "
                            f"`edge-rppg calibrate {source}` and build from the Q/DQ file")
    return BuildPlan(strongly_typed=False, flags=("FP16", "INT8"), legacy_calibrator=True,
                     constrain_density_peak=True)


def onnx_precision(onnx_path: Path) -> str:
    """``fp32``/``fp16``/``int8`` of an exported ONNX file (its metadata, else: Q/DQ nodes → int8)."""
    onnx = require("onnx", "jetson")
    try:
        proto = onnx.load(str(onnx_path), load_external_data=False)
    except Exception as exc:
        raise ModelFileError(f"{onnx_path}: not a readable ONNX file (corrupt or truncated?): {exc}") from exc
    meta = {p.key: p.value for p in proto.metadata_props}
    if META["precision"] in meta:
        return meta[META["precision"]]
    return "int8" if any(n.op_type == "QuantizeLinear" for n in proto.graph.node) else "fp32"


def _entropy_calibrator(trt: Any, cuda: Any, windows: np.ndarray, cache_file: Path) -> Any:
    """A legacy ``IInt8EntropyCalibrator2`` that feeds normalised MSTmap windows one at a time."""

    class MSTmapEntropyCalibrator(trt.IInt8EntropyCalibrator2):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            trt.IInt8EntropyCalibrator2.__init__(self)
            self.windows = np.ascontiguousarray(windows, dtype=np.float32)
            self.index = 0
            self.device = cuda.mem_alloc(self.windows[0:1].nbytes)

        def get_batch_size(self) -> int:
            return 1

        def get_batch(self, names: Any) -> Optional[list]:
            if self.index >= len(self.windows):
                return None
            cuda.memcpy_htod(self.device, np.ascontiguousarray(self.windows[self.index:self.index + 1]))
            self.index += 1
            return [int(self.device)]

        def read_calibration_cache(self) -> Optional[bytes]:
            return cache_file.read_bytes() if cache_file.is_file() else None

        def write_calibration_cache(self, cache: Any) -> None:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            cache_file.write_bytes(bytes(cache))

    return MSTmapEntropyCalibrator()


def _keep_density_peak_fp32(trt: Any, network: Any) -> int:
    """Constrain density-peak layers (and their float outputs) to FP32; returns how many (10.x only)."""
    count = 0
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        if DENSITY_PEAK_TAG not in layer.name:
            continue
        try:
            layer.precision = trt.float32
            for j in range(layer.num_outputs):
                if layer.get_output(j).dtype in (trt.float32, trt.float16):
                    layer.set_output_type(j, trt.float32)
            count += 1
        except Exception:  # some layer kinds (shuffles, constants) take no precision
            continue
    return count


def _configure_weakly_typed(trt: Any, config: Any, network: Any, plan: BuildPlan) -> None:
    """Set the plan's precision flags and the density-peak FP32 constraint (TensorRT 10.x only)."""
    if "FP16" in plan.flags:
        config.set_flag(trt.BuilderFlag.FP16)
    if "INT8" in plan.flags:
        config.set_flag(trt.BuilderFlag.INT8)
    if plan.constrain_density_peak and _keep_density_peak_fp32(trt, network):
        config.set_flag(trt.BuilderFlag.PREFER_PRECISION_CONSTRAINTS)


def _attach_legacy_calibrator(trt: Any, cuda: Any, config: Any, windows: np.ndarray, cache_file: Path) -> None:
    """Implicit INT8 calibration of an FP32 graph with the legacy entropy calibrator (TensorRT 10.x only)."""
    config.int8_calibrator = _entropy_calibrator(trt, cuda, windows, cache_file)


def build_engine(onnx_path: Union[str, Path], precision: str = "fp16", calibration: Optional[np.ndarray] = None,
                 calibration_cache: Optional[Path] = None, workspace_mb: int = 1024) -> bytes:
    """Serialised TensorRT engine for ``onnx_path`` at ``precision`` (the plan of :func:`plan_build`).

    ``calibration`` (normalised windows ``[N, T, 63, 6]``) selects the legacy implicit INT8
    calibration of an FP32 graph (TensorRT 10 only); Q/DQ graphs need none. Raises
    ``EdgeRPPGError`` when TensorRT is missing or the combination cannot be built here,
    ``ModelFileError`` when the ONNX file cannot be parsed.
    """
    trt, cuda = require_tensorrt()
    onnx_path = Path(onnx_path)
    weak = weakly_typed_available(trt)
    legacy = legacy_calibrator_available(trt)
    plan = plan_build(onnx_precision(onnx_path), precision, weak, legacy, calibration is not None, str(onnx_path))
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED) if plan.strongly_typed else 0
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ModelFileError(f"{onnx_path}: TensorRT could not parse the ONNX graph: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_mb) << 20)
    if not plan.strongly_typed and weakly_typed_available(trt):
        _configure_weakly_typed(trt, config, network, plan)
    ctx = None
    try:
        if plan.legacy_calibrator and calibration is not None and legacy_calibrator_available(trt):
            cuda.init()  # the calibrator allocates device memory: it needs a current context
            ctx = cuda.Device(0).retain_primary_context()
            ctx.push()
            _attach_legacy_calibrator(trt, cuda, config, calibration,
                                      calibration_cache or onnx_path.with_suffix(".calib.cache"))
        blob = builder.build_serialized_network(network, config)
    finally:
        if ctx is not None:
            ctx.pop()
    if blob is None:
        raise EdgeRPPGError(f"TensorRT failed to build a {precision} engine from {onnx_path} (see the log above)")
    return bytes(blob)


def build_or_load(onnx_path: Union[str, Path], precision: str = "fp16", cache_dir: Union[str, Path, None] = None,
                  calibration: Optional[np.ndarray] = None, rebuild: bool = False, device: int = 0) -> Path:
    """Path of a cached engine for ``onnx_path`` valid on this machine, building it if needed.

    The cache entry is keyed by ONNX SHA-256 + TensorRT version + GPU name + precision
    (+ whether the legacy calibrator was used); an entry whose sidecar or file hash does
    not match is rebuilt, never used.
    """
    onnx_path = Path(onnx_path)
    if not onnx_path.is_file():
        raise ModelFileError(f"ONNX model not found: {onnx_path}")
    env = environment(device)
    onnx_sha = file_sha256(onnx_path)
    extra = "legacy-entropy-calibrator" if calibration is not None else ""
    key = cache_key(onnx_sha, env["tensorrt_version"], env["gpu_name"], precision, extra)
    out = cached_engine_path(cache_dir or default_cache_dir(), onnx_path, key, precision)
    if out.is_file() and not rebuild:
        try:
            check_sidecar(out, env, onnx_sha256=onnx_sha, precision=precision)
            return out
        except ModelFileError:
            pass  # stale or damaged: rebuild below
    blob = build_engine(onnx_path, precision, calibration=calibration)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(blob)
    tmp.replace(out)
    meta = engine_sidecar(onnx_path, onnx_sha, precision, extra, blob, key, env)
    sidecar_path(out).write_text(json.dumps(meta, indent=2, sort_keys=True))
    return out


def tensorrt_engine(onnx_path: Union[str, Path], precision: Optional[str] = None,
                    cache_dir: Union[str, Path, None] = None, device: int = 0,
                    calibration: Optional[np.ndarray] = None, rebuild: bool = False) -> Any:
    """A ready :class:`~edge_rppg.pulse.engines.tensorrt_engine.TensorRTEngine` for an ONNX
    file: built, or taken from the engine cache (:func:`build_or_load`), at ``precision``
    (default: the graph's own precision for INT8/FP16 files, FP16 for FP32 files)."""
    from edge_rppg.pulse.engines.tensorrt_engine import TensorRTEngine

    graph_precision = onnx_precision(Path(onnx_path))
    precision = precision or (graph_precision if graph_precision in ("int8", "fp16") else "fp16")
    engine_path = build_or_load(onnx_path, precision, cache_dir, calibration=calibration, rebuild=rebuild,
                                device=device)
    return TensorRTEngine(engine_path, precision=precision, device=device)


def engine_sidecar(onnx_path: Path, onnx_sha: str, precision: str, extra: str, blob: bytes, key: str,
                   env: Dict[str, str]) -> Dict[str, Any]:
    """The JSON sidecar of a freshly built engine.

    It records the window normalisation the model expects (``input_norm``, read from the ONNX
    metadata now), so that loading the engine needs neither the ONNX file nor the ``onnx``
    package: an engine copied to a Jetson without its ONNX file still normalises correctly."""
    return {"format": ENGINE_FORMAT, "format_version": ENGINE_FORMAT_VERSION, "onnx_path": str(onnx_path),
            "onnx_sha256": onnx_sha, "precision": precision, "calibration": extra or "qdq-or-none",
            "input_norm": input_norm_of({"onnx_path": str(onnx_path)}),
            "engine_sha256": hashlib.sha256(blob).hexdigest(), "key": key,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), **env}
