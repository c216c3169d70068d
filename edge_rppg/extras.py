"""Optional dependencies: import one, or fail with a single line naming the extra to install.

Why: ``pip install edge-rppg`` installs only what inference needs (numpy, scipy, ONNX Runtime,
the landmarker, OpenCV). Training, export, plots, synthetic videos, GStreamer and CUDA pull in
heavy packages that a Jetson deployment should not carry, so they are extras (see
``pyproject.toml``). Every import site of such a package goes through :func:`require`, so a
missing one is reported as ``MissingExtraError`` — one line, exit code 2 from the CLI — instead
of an ``ImportError`` traceback.
"""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Dict, Optional

from .errors import MissingExtraError

__all__ = ["EXTRAS", "require", "install_command"]

#: top-level module → the extra that installs it.
EXTRAS: Dict[str, str] = {
    "torch": "train", "onnx": "export", "onnxslim": "export", "matplotlib": "plot", "skimage": "synth",
    "gi": "gstreamer", "cupy": "cuda", "pycuda": "jetson", "tensorrt": "jetson", "mediapipe": "mediapipe",
}


def install_command(extra: str) -> str:
    """``pip install "edge-rppg[extra]"`` (quoted so that shells do not glob the brackets)."""
    return f'pip install "edge-rppg[{extra}]"'


def require(module: str, extra: Optional[str] = None, *, what: Optional[str] = None,
            hint: Optional[str] = None) -> ModuleType:
    """Import ``module`` (dotted names allowed) and return it, or raise ``MissingExtraError``.

    ``extra`` defaults to the one listed for the top-level package in :data:`EXTRAS`; ``what``
    names the package in the message (default: the module); ``hint`` is appended (e.g. where
    TensorRT comes from on a Jetson). Only a missing ``module`` (or one of its own submodules)
    is turned into the one-line error: an ImportError raised inside an installed package is a
    real bug and propagates unchanged.
    """
    top = module.split(".")[0]
    extra = extra or EXTRAS.get(top)
    if extra is None:
        raise KeyError(f"no extra is registered for {top!r}; known: {sorted(EXTRAS)}")
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        missing = getattr(exc, "name", None) or ""
        if isinstance(exc, ModuleNotFoundError) and missing and missing.split(".")[0] != top:
            raise  # the package is there but one of *its* dependencies is missing: show it
        msg = f"{what or top} is not installed ({exc}); install the [{extra}] extra: {install_command(extra)}"
        raise MissingExtraError(msg + (f". {hint}" if hint else ""), name=top) from exc
