"""edge_rppg: remote photoplethysmography (camera heart rate, HRV, respiration) for
edge devices. The core holds the public API (:class:`EdgeRPPG` for streams,
:func:`estimate` for files) and one folder per part of the flow: ``frames`` (frames in:
decoding, checks, the stream clock), ``face`` (landmarks), ``skin`` (ROI averaging, the
MSTmap and its windows), ``pulse`` (engines, classic methods, the Cluster-Phys model),
``vitals`` (signal processing, HR/HRV/respiration, validity) and ``processor`` (the chain
that joins them, its options and results); beside them ``synth`` (synthetic data),
``datasets`` (readers), ``evaluation`` (metrics, plots) and ``cli``. Heavy submodules are
imported lazily on first attribute access."""
from __future__ import annotations

import importlib
from typing import Any

from .errors import (ClipTooShortError, DatasetError, EdgeRPPGError, FrameFormatError, ModelFileError,
                     NoFaceError, ShapeError, SourceError, VideoReadError)

__version__ = "0.1.0"

_LAZY = {
    "EdgeRPPG": "edge_rppg.api",
    "EdgeRPPGOptions": "edge_rppg.processor.options",
    "BaseOptions": "edge_rppg.processor.options",
    "StreamProcessor": "edge_rppg.processor.stream",
    "Vitals": "edge_rppg.vitals.readings",
    "VitalsResult": "edge_rppg.processor.results",
    "estimate": "edge_rppg.processor.estimation",
    "EstimateConfig": "edge_rppg.processor.options",
    "Estimate": "edge_rppg.processor.clip",
    "LandmarkerOptions": "edge_rppg.face.options",
    "load_engine": "edge_rppg.pulse.engines.registry",
}

__all__ = ["__version__", "EdgeRPPGError", "VideoReadError", "FrameFormatError", "NoFaceError",
           "ClipTooShortError", "ShapeError", "ModelFileError", "DatasetError", "SourceError", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'edge_rppg' has no attribute {name!r}")
