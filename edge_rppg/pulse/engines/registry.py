"""Choose an engine from a spec: an Engine object, a classic method name, or a model
file whose suffix says which runtime loads it. The suffix table is a plain dict, and
the engine modules are imported only when needed (TensorRT is never imported on a
machine that asks for ONNX)."""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

from ...errors import ColorSpaceError, ModelFileError, UnknownNameError
from ...model_file import MODEL_FPS
from .base import Engine

# suffix -> (module, class): ONNX Runtime for .onnx, TensorRT for serialised engines,
# the PyTorch reference for checkpoints.
ENGINE_BY_SUFFIX: Dict[str, Tuple[str, str]] = {
    ".onnx": ("edge_rppg.pulse.engines.onnx_engine", "OnnxRuntimeEngine"),
    ".engine": ("edge_rppg.pulse.engines.tensorrt_engine", "TensorRTEngine"),
    ".plan": ("edge_rppg.pulse.engines.tensorrt_engine", "TensorRTEngine"),
    ".pt": ("edge_rppg.pulse.engines.torch_engine", "TorchEngine"),
    ".pth": ("edge_rppg.pulse.engines.torch_engine", "TorchEngine"),
}

#: ``BaseOptions.delegate`` → ONNX Runtime execution provider of an ``.onnx`` model (the
#: short names of :data:`edge_rppg.pulse.engines.onnx_engine.PROVIDER_ALIASES`). A TensorRT
#: ``.engine`` file always runs on TensorRT; classic methods always on the CPU.
DELEGATES: Tuple[str, ...] = ("cpu", "cuda", "tensorrt")

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "assets" / "cluster_phys_default.onnx"

#: What ``"default"`` means per colour family: the bundled model of that family when it is
#: there, else the classic fallback (POS for colour; MONO for gray, until a mono model ships).
DEFAULT_ENGINES: Dict[str, Tuple[Path, str]] = {
    "rgb": (DEFAULT_MODEL, "pos"),
    "gray": (DEFAULT_MODEL.with_name("cluster_phys_mono.onnx"), "mono"),
}


def default_engine_spec(color_space: str = "rgb") -> str:
    """The shipped Cluster-Phys ONNX model of ``color_space``'s family if it is bundled,
    else its classic fallback (:data:`DEFAULT_ENGINES`)."""
    model, fallback = DEFAULT_ENGINES["gray" if color_space == "gray" else "rgb"]
    return str(model) if model.is_file() else fallback


def load_engine(spec: Union[str, Path, Engine, None] = None, *, fps: float = MODEL_FPS,
                delegate: Optional[str] = None, color_space: str = "rgb", **options: Any) -> Engine:
    """Return an engine for ``spec``.

    - ``None`` or ``"default"``: :func:`default_engine_spec` of ``color_space``.
    - an object with ``infer`` and ``info``: returned as is.
    - a classic method name (``"pos"``, ``"chrom"``, ...): :class:`ClassicEngine`.
    - a path: chosen by suffix from :data:`ENGINE_BY_SUFFIX`; ``options`` go to its constructor.

    ``delegate`` (one of :data:`DELEGATES`) picks the ONNX Runtime execution provider of an
    ``.onnx`` model; None keeps the engine's default (the CPU). An unknown name raises
    :class:`~edge_rppg.errors.UnknownNameError`.
    """
    if spec is None or spec == "default":
        spec = default_engine_spec(color_space)
    if delegate is not None:
        if str(delegate).lower() not in DELEGATES:
            raise UnknownNameError(f"unknown delegate {delegate!r}; known: {', '.join(DELEGATES)}")
        if isinstance(spec, (str, Path)) and str(spec).lower().endswith(".onnx"):
            options.setdefault("providers", str(delegate).lower())
    if not isinstance(spec, (str, Path)):
        if hasattr(spec, "infer") and hasattr(spec, "info"):
            return spec  # type: ignore[return-value]
        raise TypeError(f"engine must be a name, a model path or an Engine, got {type(spec).__name__}")
    from .classic import ClassicEngine, classic_family, classic_names

    if classic_family(spec) is not None:
        return ClassicEngine(str(spec), fps=fps)
    path = Path(spec)
    if path.suffix.lower() not in ENGINE_BY_SUFFIX:
        known = ", ".join(classic_names() + sorted(ENGINE_BY_SUFFIX))
        raise UnknownNameError(f"unknown engine {str(spec)!r}: give a classic method or a model file ({known})")
    if not path.is_file():
        raise ModelFileError(f"model file not found: {path}")
    modname, clsname = ENGINE_BY_SUFFIX[path.suffix.lower()]
    cls = getattr(importlib.import_module(modname), clsname)
    return cls(path, **options)


#: What to suggest to a stream whose engine reads the other colour family.
_SUGGEST = {"rgb": "'default', 'pos' or another colour engine", "gray": "'default' or 'mono'"}


def check_engine_color_space(engine: Engine, color_space: str) -> None:
    """Raise :class:`~edge_rppg.errors.ColorSpaceError` unless ``engine`` reads the MSTmap of
    ``color_space``'s family (an RGB-only engine such as POS or the colour model on a gray
    stream, a mono model on a colour stream)."""
    from ...frames.color import COLOR_SPACES

    family = COLOR_SPACES[color_space].family
    takes = getattr(engine.info, "color_space", "rgb")
    if takes != family:
        raise ColorSpaceError(f"engine {engine.info.name!r} takes {takes} input but the stream's color_space is "
                              f"{color_space!r}; use {_SUGGEST[family]}")
