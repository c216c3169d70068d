"""edge_rppg: remote photoplethysmography (camera heart rate, HRV, respiration) for
edge devices. The core holds the public API (:class:`EdgeRPPG` for streams,
:func:`estimate` for files), MSTmap extraction, signal processing, classic methods,
the Cluster-Phys model definition, engines, synthetic data and dataset readers.
Heavy submodules are imported lazily on first attribute access."""
from __future__ import annotations

import importlib
from typing import Any

from .errors import (ClipTooShortError, DatasetError, EdgeRPPGError, FrameFormatError, ModelFileError,
                     NoFaceError, ShapeError, SourceError, VideoReadError)

__version__ = "0.1.0"

_LAZY = {
    "EdgeRPPG": "edge_rppg.api",
    "EdgeRPPGOptions": "edge_rppg.options",
    "BaseOptions": "edge_rppg.options",
    "StreamProcessor": "edge_rppg.processor",
    "Vitals": "edge_rppg.vitals",
    "VitalsResult": "edge_rppg.results",
    "estimate": "edge_rppg.estimation",
    "EstimateConfig": "edge_rppg.estimation",
    "load_engine": "edge_rppg.engines.registry",
}

__all__ = ["__version__", "EdgeRPPGError", "VideoReadError", "FrameFormatError", "NoFaceError",
           "ClipTooShortError", "ShapeError", "ModelFileError", "DatasetError", "SourceError", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'edge_rppg' has no attribute {name!r}")
