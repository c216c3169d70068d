"""TensorRT engine (TensorRT 10 Python API + pycuda), for Jetson and other NVIDIA GPUs.

Build: from an exported ONNX file —

* ``fp16``: the ``BuilderFlag.FP16`` flag on the FP32 graph, or, for the FP16 variant
  (metadata ``edge_rppg.precision=fp16``), a *strongly typed* network that takes the
  graph's own types;
* ``int8``: from the Q/DQ graph written by ``edge-rppg calibrate`` (explicit
  quantisation; INT8 + FP16 flags), or — for JetPack 6 users who want implicit
  calibration of an FP32 graph — the legacy ``IInt8EntropyCalibrator2`` fed with
  normalised MSTmap windows. That API is deprecated in TensorRT 10 and removed in 11, so
  it is only offered when the installed TensorRT still has it;
* in every weakly typed build, the layers of the density-peak selection (names
  containing ``/density_peak/``) are constrained to FP32, so the discrete prototype
  choice is made at full precision.

Cache: a serialised engine is stored under a key of the ONNX SHA-256, the TensorRT
version, the GPU name and the precision, with a JSON sidecar recording those and the
engine's own SHA-256. A cached engine is used only if all of them match the current
ONNX file and machine; otherwise it is rebuilt. Loading a ``.engine``/``.plan`` file
directly checks its sidecar the same way: an engine built for another GPU or TensorRT
release, a truncated/corrupt file, or one without a sidecar raises
:class:`~edge_rppg.errors.ModelFileError` — a stale or foreign engine is never run.

Run: ``set_tensor_address`` + ``execute_async_v3`` on a pycuda stream with page-locked
host buffers. TensorRT and pycuda are imported only when an engine is built or loaded;
the cache/sidecar logic is plain Python and importable anywhere.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np

from ..hashing import file_sha256
from ..errors import EdgeRPPGError, ModelFileError, ShapeError
from ..mstmap import input_norm_of, normalize_window
from ..validation import N_CHANNELS, N_ROI_COMBOS, check_mstmap
from .base import EngineInfo

__all__ = ["TensorRTEngine", "ENGINE_FORMAT", "PRECISIONS", "cache_key", "default_cache_dir", "sidecar_path",
           "read_sidecar", "check_sidecar", "cached_engine_path", "build_engine", "build_or_load",
           "environment", "legacy_calibrator_available", "require_tensorrt"]

ENGINE_FORMAT = "edge_rppg.tensorrt_engine"
ENGINE_FORMAT_VERSION = 1
PRECISIONS = ("fp32", "fp16", "int8")
DENSITY_PEAK_TAG = "/density_peak/"
INSTALL_HINT = ("TensorRT 10 and pycuda are needed for TensorRT engines: on Jetson use JetPack 6's "
                "python3-libnvinfer and `pip install pycuda`; on x86 `pip install 'edge-rppg[jetson]'`. "
                "Without them, use the ONNX file with ONNX Runtime")


def default_cache_dir() -> Path:
    """``$EDGE_RPPG_CACHE/engines`` or ``~/.cache/edge_rppg/engines``."""
    base = os.environ.get("EDGE_RPPG_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "edge_rppg")
    return Path(base) / "engines"


def cache_key(onnx_sha256: str, tensorrt_version: str, gpu_name: str, precision: str, extra: str = "") -> str:
    """16-hex-digit key of (ONNX hash, TensorRT version, GPU name, precision[, build options])."""
    text = json.dumps([onnx_sha256, tensorrt_version, gpu_name, precision, extra])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def sidecar_path(engine_path: Union[str, Path]) -> Path:
    """``model.engine`` → ``model.engine.json``."""
    p = Path(engine_path)
    return p.with_name(p.name + ".json")


def cached_engine_path(cache_dir: Union[str, Path], onnx_path: Union[str, Path], key: str, precision: str) -> Path:
    """Where the engine for ``key`` lives in ``cache_dir``."""
    return Path(cache_dir) / f"{Path(onnx_path).stem}.{precision}.{key}.engine"


def read_sidecar(engine_path: Union[str, Path]) -> Dict[str, Any]:
    """The engine's JSON sidecar; ``ModelFileError`` if it is missing or unreadable."""
    side = sidecar_path(engine_path)
    if not side.is_file():
        raise ModelFileError(f"{engine_path}: no sidecar {side.name}; an engine without one cannot be checked "
                             "against this GPU and TensorRT version (rebuild it with `edge-rppg build-engine`)")
    try:
        meta = json.loads(side.read_text())
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"{side}: unreadable engine sidecar ({exc}); rebuild the engine") from exc
    if not isinstance(meta, dict) or meta.get("format") != ENGINE_FORMAT:
        raise ModelFileError(f"{side}: not an edge_rppg engine sidecar (expected format={ENGINE_FORMAT!r})")
    return meta


def check_sidecar(engine_path: Union[str, Path], env: Dict[str, str], onnx_sha256: Optional[str] = None,
                  precision: Optional[str] = None) -> Dict[str, Any]:
    """Verify that the engine at ``engine_path`` may run here; return its sidecar.

    ``env`` is :func:`environment` (``tensorrt_version``, ``gpu_name``). Raises
    ``ModelFileError`` naming the mismatch when the engine was built with another
    TensorRT version, for another GPU, from another ONNX file or precision, with another
    sidecar format, or when the engine file's SHA-256 differs from the one recorded
    (truncated, corrupt or replaced file).
    """
    engine_path = Path(engine_path)
    if not engine_path.is_file():
        raise ModelFileError(f"TensorRT engine not found: {engine_path}")
    meta = read_sidecar(engine_path)
    if meta.get("format_version") != ENGINE_FORMAT_VERSION:
        raise ModelFileError(f"{engine_path}: engine sidecar format {meta.get('format_version')!r}, this edge_rppg "
                             f"writes {ENGINE_FORMAT_VERSION}; rebuild the engine")
    built, here = meta.get("tensorrt_version"), env.get("tensorrt_version")
    if built != here:
        raise ModelFileError(f"{engine_path}: built with TensorRT {built} but this machine has TensorRT {here}; "
                             "engines are not portable across TensorRT versions — rebuild it with "
                             "`edge-rppg build-engine MODEL.onnx`")
    built_gpu, here_gpu = meta.get("gpu_name"), env.get("gpu_name")
    if built_gpu != here_gpu:
        raise ModelFileError(f"{engine_path}: built for GPU {built_gpu!r} but this machine has {here_gpu!r}; "
                             "engines are specific to one GPU model — rebuild it with `edge-rppg build-engine MODEL.onnx`")
    if onnx_sha256 is not None and meta.get("onnx_sha256") != onnx_sha256:
        raise ModelFileError(f"{engine_path}: stale engine, built from another ONNX file "
                             f"(sha256 {str(meta.get('onnx_sha256'))[:12]}… vs {onnx_sha256[:12]}…)")
    if precision is not None and meta.get("precision") != precision:
        raise ModelFileError(f"{engine_path}: built for precision {meta.get('precision')}, {precision} requested")
    actual = file_sha256(engine_path)
    if meta.get("engine_sha256") != actual:
        raise ModelFileError(f"{engine_path}: engine file does not match its sidecar hash (truncated, corrupt or "
                             "replaced); rebuild it")
    return meta


def require_tensorrt() -> Tuple[Any, Any]:
    """Import ``(tensorrt, pycuda.driver)``; raise ``EdgeRPPGError`` with install help if absent."""
    try:
        import tensorrt as trt
    except ImportError as exc:
        raise EdgeRPPGError(f"TensorRT is not installed ({exc}). {INSTALL_HINT}") from exc
    major = int(str(trt.__version__).split(".")[0])
    if major < 10:
        raise EdgeRPPGError(f"TensorRT {trt.__version__} is too old: edge_rppg uses the TensorRT 10 API "
                            "(tensor addresses, execute_async_v3)")
    try:
        import pycuda.driver as cuda
    except ImportError as exc:
        raise EdgeRPPGError(f"pycuda is not installed ({exc}). {INSTALL_HINT}") from exc
    return trt, cuda


def legacy_calibrator_available(trt: Any) -> bool:
    """True when this TensorRT still has ``IInt8EntropyCalibrator2`` (deprecated in 10, removed in 11)."""
    major = int(str(trt.__version__).split(".")[0])
    return major < 11 and hasattr(trt, "IInt8EntropyCalibrator2") and hasattr(trt.BuilderFlag, "INT8")


def environment(device: int = 0) -> Dict[str, str]:
    """TensorRT version, GPU name and compute capability of this machine (needs TensorRT + pycuda)."""
    trt, cuda = require_tensorrt()
    cuda.init()
    if cuda.Device.count() <= device:
        raise EdgeRPPGError(f"no CUDA GPU #{device} on this machine ({cuda.Device.count()} found)")
    dev = cuda.Device(device)
    major, minor = dev.compute_capability()
    return {"tensorrt_version": str(trt.__version__), "gpu_name": str(dev.name()),
            "compute_capability": f"{major}.{minor}"}


def _onnx_precision(onnx_path: Path) -> str:
    import onnx

    try:
        proto = onnx.load(str(onnx_path), load_external_data=False)
    except Exception as exc:
        raise ModelFileError(f"{onnx_path}: not a readable ONNX file (corrupt or truncated?): {exc}") from exc
    meta = {p.key: p.value for p in proto.metadata_props}
    if "edge_rppg.precision" in meta:
        return meta["edge_rppg.precision"]
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
    """Constrain density-peak layers (and their float outputs) to FP32; returns how many."""
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


def build_engine(onnx_path: Union[str, Path], precision: str = "fp16", calibration: Optional[np.ndarray] = None,
                 calibration_cache: Optional[Path] = None, workspace_mb: int = 1024) -> bytes:
    """Serialised TensorRT engine for ``onnx_path`` at ``precision``.

    ``calibration`` (normalised windows ``[N, T, 63, 6]``) selects the legacy implicit INT8
    calibration of an FP32 graph; Q/DQ graphs need none. Raises ``EdgeRPPGError`` when
    TensorRT is missing or the combination is impossible, ``ModelFileError`` when the
    ONNX file cannot be parsed.
    """
    trt, cuda = require_tensorrt()
    onnx_path = Path(onnx_path)
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    graph_precision = _onnx_precision(onnx_path)
    strongly_typed = graph_precision == "fp16" or (graph_precision == "int8" and precision == "int8"
                                                   and not hasattr(trt.BuilderFlag, "INT8"))
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED) if strongly_typed else 0
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ModelFileError(f"{onnx_path}: TensorRT could not parse the ONNX graph: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_mb) << 20)
    if not strongly_typed:
        if precision in ("fp16", "int8"):
            config.set_flag(trt.BuilderFlag.FP16)
        if precision == "int8":
            if graph_precision != "int8":  # implicit quantisation of an FP32 graph
                if calibration is None:
                    raise EdgeRPPGError(f"{onnx_path} has no Q/DQ nodes: INT8 needs `edge-rppg calibrate` first, "
                                        "or calibration windows for the legacy entropy calibrator")
                if not legacy_calibrator_available(trt):
                    raise EdgeRPPGError(f"TensorRT {trt.__version__} has no IInt8EntropyCalibrator2 (removed in "
                                        "TensorRT 11): quantise with `edge-rppg calibrate` and build from the Q/DQ file")
                cache = calibration_cache or onnx_path.with_suffix(".calib.cache")
                config.int8_calibrator = _entropy_calibrator(trt, cuda, calibration, cache)
            config.set_flag(trt.BuilderFlag.INT8)
        if _keep_density_peak_fp32(trt, network):
            flag = getattr(trt.BuilderFlag, "PREFER_PRECISION_CONSTRAINTS", None)
            if flag is not None:
                config.set_flag(flag)
    elif precision == "fp32":
        raise EdgeRPPGError(f"{onnx_path} is a {graph_precision} graph; build fp32 engines from the FP32 export")
    ctx = None
    if calibration is not None:  # the calibrator allocates device memory: needs a context
        cuda.init()
        ctx = cuda.Device(0).retain_primary_context()
        ctx.push()
    try:
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
    meta = {"format": ENGINE_FORMAT, "format_version": ENGINE_FORMAT_VERSION, "onnx_path": str(onnx_path),
            "onnx_sha256": onnx_sha, "precision": precision, "calibration": extra or "qdq-or-none",
            "engine_sha256": hashlib.sha256(blob).hexdigest(), "key": key,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), **env}
    sidecar_path(out).write_text(json.dumps(meta, indent=2, sort_keys=True))
    return out


class TensorRTEngine:
    """Run Cluster-Phys with TensorRT.

    ``path``: a ``.engine``/``.plan`` file with its sidecar (checked against this machine),
    or an ``.onnx`` file (built or taken from the cache at ``precision``: default the
    graph's own precision for INT8/FP16 files, FP16 for FP32 files).
    """

    def __init__(self, path: Union[str, Path], precision: Optional[str] = None,
                 cache_dir: Union[str, Path, None] = None, device: int = 0,
                 calibration: Optional[np.ndarray] = None, rebuild: bool = False) -> None:
        trt, cuda = require_tensorrt()
        path = Path(path)
        if not path.is_file():
            raise ModelFileError(f"model file not found: {path}")
        env = environment(device)
        if path.suffix.lower() == ".onnx":
            graph_precision = _onnx_precision(path)
            precision = precision or (graph_precision if graph_precision in ("int8", "fp16") else "fp16")
            engine_path = build_or_load(path, precision, cache_dir, calibration=calibration, rebuild=rebuild,
                                        device=device)
        else:
            engine_path = path
        meta = check_sidecar(engine_path, env, precision=None)
        self.path, self.meta = engine_path, meta
        self._trt, self._cuda = trt, cuda
        self._ctx = cuda.Device(device).retain_primary_context()
        self._ctx.push()
        try:
            self._logger = trt.Logger(trt.Logger.WARNING)
            self._runtime = trt.Runtime(self._logger)
            self._engine = self._runtime.deserialize_cuda_engine(engine_path.read_bytes())
            if self._engine is None:
                raise ModelFileError(f"{engine_path}: TensorRT could not deserialise the engine (corrupt file, or "
                                     "built by another TensorRT version); rebuild it with `edge-rppg build-engine`")
            self._context = self._engine.create_execution_context()
            self._stream = cuda.Stream()
            self._buffers: Dict[str, Tuple[np.ndarray, Any]] = {}
            self.input_name = self.output_name = ""
            for i in range(self._engine.num_io_tensors):
                name = self._engine.get_tensor_name(i)
                shape = tuple(int(d) for d in self._engine.get_tensor_shape(name))
                dtype = np.dtype(trt.nptype(self._engine.get_tensor_dtype(name)))
                host = cuda.pagelocked_empty(shape, dtype)
                dev = cuda.mem_alloc(max(1, host.nbytes))
                self._context.set_tensor_address(name, int(dev))
                self._buffers[name] = (host, dev)
                if self._engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT:
                    self.input_name = name
                else:
                    self.output_name = self.output_name or name
        finally:
            self._ctx.pop()
        in_shape = self._buffers[self.input_name][0].shape
        if len(in_shape) != 4 or in_shape[0] != 1 or tuple(in_shape[2:]) != (N_ROI_COMBOS, N_CHANNELS):
            raise ModelFileError(f"{engine_path}: engine input has shape {in_shape}; expected [1, T, 63, 6]")
        self.T = int(in_shape[1])
        self.precision = str(meta.get("precision", "fp16"))
        self.info = EngineInfo(name=f"tensorrt:{Path(path).name}", T=self.T, precision=self.precision,
                               provider="tensorrt")

    def infer(self, mstmap: np.ndarray) -> np.ndarray:
        """Raw MSTmap window ``[T, 63, 6]`` float32 → BVP ``[T]`` float32."""
        if isinstance(mstmap, np.ndarray) and mstmap.ndim == 3 and mstmap.shape[1:] == (N_ROI_COMBOS, N_CHANNELS) \
                and mstmap.shape[0] != self.T:
            raise ShapeError(f"the window has T={mstmap.shape[0]} frames but this engine was built for T={self.T}; "
                             f"feed {self.T}-frame windows")
        x = normalize_window(check_mstmap(mstmap, T=self.T), input_norm_of(self.meta))
        cuda = self._cuda
        host_in, dev_in = self._buffers[self.input_name]
        host_out, dev_out = self._buffers[self.output_name]
        self._ctx.push()
        try:
            np.copyto(host_in, x[None].astype(host_in.dtype, copy=False))
            cuda.memcpy_htod_async(dev_in, host_in, self._stream)
            if not self._context.execute_async_v3(stream_handle=self._stream.handle):
                raise EdgeRPPGError(f"TensorRT execution failed for {self.path}")
            cuda.memcpy_dtoh_async(host_out, dev_out, self._stream)
            self._stream.synchronize()
        finally:
            self._ctx.pop()
        return np.asarray(host_out, dtype=np.float32).reshape(self.T).copy()

    def __del__(self) -> None:  # release the retained primary context
        ctx = getattr(self, "_ctx", None)
        if ctx is not None:
            try:
                ctx.detach()
            except Exception:
                pass

    def __repr__(self) -> str:
        return f"TensorRTEngine({str(self.path)!r}, T={self.T}, precision={self.precision})"
