"""Landmarkers by name: ``"onnx"`` (the default: MediaPipe's face models on ONNX Runtime,
bundled) and ``"mediapipe"`` (FaceMesh from the mediapipe package, the reference).

The built-in backends are registered lazily by module path, so nothing is imported until a
name is used; add your own with ``LANDMARKERS.add(name, cls)`` (a class with
``create_from_options(options)``).
"""
from __future__ import annotations

from typing import Any

from ..errors import UnknownNameError
from ..registry import Registry
from .options import LandmarkerOptions
from .types import Landmarker

__all__ = ["LANDMARKERS", "DEFAULT_LANDMARKER", "check_landmark_model", "create_landmarker"]

#: Landmarker classes by name; each has ``create_from_options(options)``.
LANDMARKERS: Registry[Any] = Registry("landmarker")
LANDMARKERS.add_lazy("onnx", "edge_rppg.face.onnx_landmarker:OnnxFaceMeshLandmarker")
LANDMARKERS.add_lazy("mediapipe", "edge_rppg.face.mediapipe_landmarker:MediaPipeLandmarker")

#: the landmarker a processor builds unless told otherwise (``EdgeRPPGOptions.landmark_model``)
DEFAULT_LANDMARKER = "onnx"


def create_landmarker(name: str = DEFAULT_LANDMARKER, options: LandmarkerOptions | None = None) -> Landmarker:
    """A new landmarker ``name`` (see :data:`LANDMARKERS`) built from ``options``."""
    return LANDMARKERS.get(name).create_from_options(options or LandmarkerOptions())


def check_landmark_model(name: str) -> str:
    """``name`` when it is registered in :data:`LANDMARKERS`, else an ``UnknownNameError`` listing them."""
    if name not in LANDMARKERS:
        raise UnknownNameError(f"unknown landmark_model {name!r}; known: {', '.join(LANDMARKERS.names())}")
    return name
