"""ONNX Runtime engine: an exported Cluster-Phys file (FP32, FP16 or INT8 Q/DQ) on the CPU,
CUDA or TensorRT execution provider.

The window length T comes from the file's static input shape (cross-checked with its
``edge_rppg.T`` metadata), the precision from its metadata. ``infer`` takes a *raw*
MSTmap window ``[T, 63, 6]`` float32, validates it, applies
:func:`edge_rppg.skin.mstmap.normalize_window` (the model was trained on window-normalised
input) and returns the BVP ``[T]``. A missing, corrupt or truncated file, or one that is
not a ``[1, T, 63, 6] → [1, T]`` model, raises :class:`~edge_rppg.errors.ModelFileError`
naming the file; a window of the wrong T, shape or dtype raises
:class:`~edge_rppg.errors.ShapeError` saying what the model needs.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ...errors import ConfigError, ModelFileError, ShapeError
from ...model_file import META, cache_dir, metadata_precision, read_metadata
from ...skin.mstmap import color_space_of, input_norm_of, normalize_window
from ...frames.color import MSTMAP_CHANNELS
from ...frames.validation import N_ROI_COMBOS, check_mstmap
from .base import EngineInfo

__all__ = ["OnnxRuntimeEngine", "resolve_providers", "session_options", "open_session", "PROVIDER_ALIASES"]

#: short names accepted for ``providers`` → ONNX Runtime provider names
PROVIDER_ALIASES: Dict[str, str] = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "trt": "TensorrtExecutionProvider",
}
#: order in which ``providers="auto"`` tries the GPU providers before the CPU
AUTO_ORDER: Tuple[str, ...] = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
#: short provider labels for :class:`EngineInfo`
_SHORT = {v: k for k, v in PROVIDER_ALIASES.items() if k != "trt"}

ProviderSpec = Union[str, Tuple[str, Dict[str, Any]]]


def resolve_providers(providers: Union[None, str, Sequence[ProviderSpec]], precision: str = "fp32",
                      available: Optional[Sequence[str]] = None) -> List[ProviderSpec]:
    """ONNX Runtime provider list for a spec.

    ``None`` or ``"cpu"``: the CPU provider (the default: deterministic and always there).
    ``"auto"``: TensorRT, then CUDA, then CPU, keeping those this ONNX Runtime build has.
    ``"cuda"``/``"tensorrt"``: that provider with the CPU as fallback; ``ConfigError`` (a
    ``ValueError``) if unavailable. A list is passed through (short names expanded). The TensorRT provider
    gets an engine cache under ``~/.cache/edge_rppg/ort_tensorrt`` and FP16/INT8 enabled to
    match the model's ``precision``.
    """
    if available is None:
        import onnxruntime as ort

        available = ort.get_available_providers()
    avail = list(available)
    if providers is None:
        providers = "cpu"
    if isinstance(providers, str):
        key = providers.lower()
        if key == "auto":
            names = [p for p in AUTO_ORDER if p in avail] or ["CPUExecutionProvider"]
        elif key in PROVIDER_ALIASES:
            name = PROVIDER_ALIASES[key]
            if name not in avail:
                raise ConfigError(f"execution provider {providers!r} ({name}) is not available in this ONNX Runtime "
                                 f"build; available: {', '.join(avail)}")
            names = [name] if name == "CPUExecutionProvider" else [name, "CPUExecutionProvider"]
        else:
            raise ConfigError(f"unknown providers {providers!r}; expected cpu, cuda, tensorrt, auto or a list")
    else:
        names = [PROVIDER_ALIASES.get(p.lower(), p) if isinstance(p, str) else p for p in providers]  # type: ignore[misc]
    out: List[ProviderSpec] = []
    for p in names:
        if p == "TensorrtExecutionProvider":
            out.append((p, {"trt_engine_cache_enable": True, "trt_engine_cache_path": str(cache_dir("ort_tensorrt")),
                            "trt_fp16_enable": precision in ("fp16", "int8"), "trt_int8_enable": precision == "int8"}))
        else:
            out.append(p)
    return out


def session_options(intra_op_threads: Optional[int] = None, inter_op_threads: Optional[int] = None,
                    allow_spinning: bool = False) -> Any:
    """ONNX Runtime ``SessionOptions`` as every edge_rppg session uses them: warnings and
    errors only, the given thread-pool sizes (None = ORT's default), spin-waiting off unless
    asked (idle spinning threads burn CPU an in-car unit's other networks need)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    spin = "1" if allow_spinning else "0"
    opts.add_session_config_entry("session.intra_op.allow_spinning", spin)
    opts.add_session_config_entry("session.inter_op.allow_spinning", spin)
    if intra_op_threads is not None:
        opts.intra_op_num_threads = int(intra_op_threads)
    if inter_op_threads is not None:
        opts.inter_op_num_threads = int(inter_op_threads)
    return opts


def open_session(path: Union[str, Path], opts: Any, providers: List[ProviderSpec]) -> Any:
    """An inference session for ``path``; load errors become ``ModelFileError`` naming the file."""
    import onnxruntime as ort

    try:
        return ort.InferenceSession(str(path), opts, providers=providers)
    except Exception as exc:
        raise ModelFileError(f"{path}: not a loadable ONNX model (corrupt or truncated file?): "
                             f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}") from exc


class OnnxRuntimeEngine:
    """Run an exported Cluster-Phys ONNX file with ONNX Runtime.

    Parameters
    ----------
    path: the ``.onnx`` file.
    providers: see :func:`resolve_providers` (default: CPU).
    intra_op_threads, inter_op_threads: ONNX Runtime thread-pool sizes (None = ORT default,
        one thread per physical core). Default 1 and 1: on the shipped model a second
        intra-op thread left the latency where it was (28.4 vs 28.9 ms per window) and
        cost 41 % more CPU (40.7 vs 28.9 ms; 2 shared cores, 20 calls each), and in a stream
        or a file run the other core is busy decoding and tracking the face anyway.
    allow_spinning: let ORT's idle worker threads spin-wait for work. Off by default: the
        model runs about once a second in a stream, and spinning threads burn CPU that an
        in-car unit's other networks need (a noisy measurement halved CPU per call).
    """

    def __init__(self, path: Union[str, Path], providers: Union[None, str, Sequence[ProviderSpec]] = None,
                 intra_op_threads: Optional[int] = 1, inter_op_threads: Optional[int] = 1,
                 allow_spinning: bool = False) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelFileError(f"ONNX model not found: {self.path}")
        opts = session_options(intra_op_threads, inter_op_threads, allow_spinning)
        chosen = resolve_providers(providers, "fp32")
        if any(isinstance(p, tuple) and p[0] == "TensorrtExecutionProvider" for p in chosen):
            chosen = resolve_providers(providers, metadata_precision(read_metadata(self.path)))
        self.session = open_session(self.path, opts, chosen)
        self.metadata: Dict[str, str] = dict(self.session.get_modelmeta().custom_metadata_map)
        self.precision = metadata_precision(self.metadata)
        self.input_norm = input_norm_of(self.metadata)  # the window normalisation the model was trained on
        self.color_space = color_space_of(self.metadata)  # which MSTmap it reads (rgb: 6 channels, gray: 1)
        self.channels = len(MSTMAP_CHANNELS[self.color_space])
        self.T = self._check_io()
        active = self.session.get_providers()[0]
        self.info = EngineInfo(name=f"onnx:{self.path.name}", T=self.T, precision=self.precision,
                               provider=_SHORT.get(active, active),
                               concurrent=True,   # InferenceSession.run is thread-safe
                               color_space=self.color_space)


    def _check_io(self) -> int:
        """Validate the model's input/output signature; return its static T."""
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1 or len(outputs) < 1:
            raise ModelFileError(f"{self.path}: expected one input [1, T, 63, {self.channels}] and one output [1, T]; got "
                                 f"{len(inputs)} inputs and {len(outputs)} outputs")
        inp = inputs[0]
        shape = list(inp.shape)
        static = len(shape) == 4 and all(isinstance(d, int) for d in shape)
        if not static or shape[0] != 1 or shape[2:] != [N_ROI_COMBOS, self.channels]:
            raise ModelFileError(f"{self.path}: input {inp.name!r} has shape {shape}; expected a static "
                                 f"[1, T, {N_ROI_COMBOS}, {self.channels}] for a {self.color_space} model "
                                 f"(export with `edge-rppg export`)")
        if inp.type != "tensor(float)":
            raise ModelFileError(f"{self.path}: input {inp.name!r} is {inp.type}; expected tensor(float)")
        T = int(shape[1])
        meta_T = self.metadata.get(META["T"])
        if meta_T is not None and int(meta_T) != T:
            raise ModelFileError(f"{self.path}: metadata says T={meta_T} but the input shape has T={T}")
        out_shape = list(outputs[0].shape or [])
        if out_shape and all(isinstance(d, int) for d in out_shape) and int(np.prod(out_shape)) != T:
            raise ModelFileError(f"{self.path}: output {outputs[0].name!r} has shape {out_shape}; expected [1, {T}] "
                                 f"(one BVP sample per input frame; export with `edge-rppg export`)")
        self.input_name, self.output_name = inp.name, outputs[0].name
        return T

    def infer(self, mstmap: np.ndarray) -> np.ndarray:
        """Raw MSTmap window ``[T, 63, C]`` float32 (C = 6 colour, 1 gray) → BVP ``[T]`` float32."""
        if isinstance(mstmap, np.ndarray) and mstmap.ndim == 3 and mstmap.shape[1:] == (N_ROI_COMBOS, self.channels) \
                and mstmap.shape[0] != self.T:
            raise ShapeError(f"the window has T={mstmap.shape[0]} frames but {self.path.name} was exported for "
                             f"T={self.T}; feed {self.T}-frame windows (edge_rppg.pulse.engines.windowing.infer_clip does) "
                             f"or re-export with `edge-rppg export CHECKPOINT --T {mstmap.shape[0]}`")
        x = check_mstmap(mstmap, T=self.T, channels=self.channels)
        y = self.session.run([self.output_name], {self.input_name: normalize_window(x, self.input_norm)[None]})[0]
        y = np.asarray(y, dtype=np.float32)
        if y.size != self.T:  # a dynamic output dimension that came out wrong: the model's fault
            raise ModelFileError(f"{self.path.name}: the model output has shape {list(y.shape)}; expected "
                                 f"[1, {self.T}] (one BVP sample per input frame)")
        y = y.reshape(self.T)
        if not np.isfinite(y).all():  # the input was checked finite above: this is the model's fault
            raise ModelFileError(f"{self.path.name}: the model output NaN/inf for a finite input window "
                                 f"({int((~np.isfinite(y)).sum())} of {self.T} samples); the model file is broken or "
                                 "mis-exported, not the video (re-export it; `edge-rppg export --verify` checks it)")
        return y

    def __repr__(self) -> str:
        return f"OnnxRuntimeEngine({str(self.path)!r}, T={self.T}, precision={self.precision}, " \
               f"provider={self.info.provider})"
