"""TensorRT engine loading (TensorRT 10.x and 11.x Python API + pycuda), for Jetson and other NVIDIA GPUs.

Building an engine from ONNX lives in the runtime stage, :mod:`edge_rppg.runtime.tensorrt_build`
(weakly typed flags on TensorRT 10, strongly typed networks on 11); this core module loads a
built engine, refuses a stale or foreign one and runs it. Given an ``.onnx`` file,
:class:`TensorRTEngine` says how to build the engine instead.

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

import hashlib
import json
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np

from ...hashing import file_sha256
from ...errors import EdgeRPPGError, ModelFileError, ShapeError
from ...extras import require
from ...model_file import cache_dir
from ...skin.mstmap import color_space_of, input_norm_of, normalize_window
from ...frames.color import MSTMAP_CHANNELS
from ...frames.validation import N_ROI_COMBOS, check_mstmap
from .base import EngineInfo

__all__ = ["TensorRTEngine", "ENGINE_FORMAT", "PRECISIONS", "cache_key", "default_cache_dir", "sidecar_path",
           "read_sidecar", "check_sidecar", "cached_engine_path", "environment", "require_tensorrt"]

ENGINE_FORMAT = "edge_rppg.tensorrt_engine"
ENGINE_FORMAT_VERSION = 1
PRECISIONS = ("fp32", "fp16", "int8")
INSTALL_HINT = ("The [jetson] extra brings pycuda and onnx; TensorRT itself comes from JetPack 6 (python3-libnvinfer; "
                "a venv needs --system-site-packages) or NVIDIA's pip index, see docs/JETSON.md. Without it, run the "
                "ONNX file with ONNX Runtime")


def default_cache_dir() -> Path:
    """``$EDGE_RPPG_CACHE/engines`` or ``~/.cache/edge_rppg/engines``."""
    return cache_dir("engines")


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
    """Import ``(tensorrt, pycuda.driver)``; raise ``MissingExtraError`` with install help if absent."""
    trt = require("tensorrt", "jetson", what="TensorRT", hint=INSTALL_HINT)
    major = int(str(trt.__version__).split(".")[0])
    if major < 10:
        raise EdgeRPPGError(f"TensorRT {trt.__version__} is too old: edge_rppg uses the TensorRT 10/11 API "
                            "(tensor addresses, execute_async_v3)")
    cuda = require("pycuda.driver", "jetson", what="pycuda")
    return trt, cuda


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


class TensorRTEngine:
    """Run Cluster-Phys with TensorRT.

    ``path``: a built ``.engine``/``.plan`` file with its sidecar (checked against this
    machine and, when given, ``precision``). Building one from ONNX is the runtime's job
    (``edge-rppg build-engine``, :func:`edge_rppg.runtime.tensorrt_build.tensorrt_engine`):
    the core only loads what was built.
    """

    def __init__(self, path: Union[str, Path], precision: Optional[str] = None, device: int = 0) -> None:
        path = Path(path)
        if path.suffix.lower() == ".onnx":
            raise ModelFileError(f"{path} is an ONNX file, not a TensorRT engine: build one first with "
                                 f"`edge-rppg build-engine {path}` (the engine cache is keyed by model, TensorRT "
                                 f"version, GPU and precision), or run the ONNX file on ONNX Runtime "
                                 f"(delegate 'tensorrt' uses its TensorRT execution provider)")
        if not path.is_file():
            raise ModelFileError(f"TensorRT engine not found: {path}; build it with `edge-rppg build-engine "
                                 f"model.onnx`")
        trt, cuda = require_tensorrt()
        env = environment(device)
        engine_path = path
        meta = check_sidecar(engine_path, env, precision=precision)
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
        self.color_space = color_space_of(meta)  # which MSTmap it reads (rgb: 6 channels, gray: 1)
        self.channels = len(MSTMAP_CHANNELS[self.color_space])
        if len(in_shape) != 4 or in_shape[0] != 1 or tuple(in_shape[2:]) != (N_ROI_COMBOS, self.channels):
            raise ModelFileError(f"{engine_path}: engine input has shape {in_shape}; expected [1, T, 63, {self.channels}]")
        self.T = int(in_shape[1])
        self.precision = str(meta.get("precision", "fp16"))
        self.input_norm = input_norm_of(meta)  # the window normalisation the model was trained on
        self.info = EngineInfo(name=f"tensorrt:{Path(path).name}", T=self.T, precision=self.precision,
                               provider="tensorrt", color_space=self.color_space)

    def infer(self, mstmap: np.ndarray) -> np.ndarray:
        """Raw MSTmap window ``[T, 63, 6]`` float32 → BVP ``[T]`` float32."""
        if isinstance(mstmap, np.ndarray) and mstmap.ndim == 3 and mstmap.shape[1:] == (N_ROI_COMBOS, self.channels) \
                and mstmap.shape[0] != self.T:
            raise ShapeError(f"the window has T={mstmap.shape[0]} frames but this engine was built for T={self.T}; "
                             f"feed {self.T}-frame windows")
        x = normalize_window(check_mstmap(mstmap, T=self.T, channels=self.channels), self.input_norm)
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
