"""A shared base for the fast stand-ins of FaceMesh used by the API, extraction and
runtime tests (each test module defines what its ``detect`` returns)."""
from __future__ import annotations

from typing import List

import numpy as np

from edge_rppg.face.types import Face


class FakeLandmarker:
    """The ``Landmarker`` protocol without a model: ``close()`` marks it closed (so tests can
    check who closes a landmarker), usable as a context manager; subclasses give ``detect``."""

    def __init__(self) -> None:
        self.closed = False

    def detect(self, frame_rgb: np.ndarray, timestamp_ms: float) -> List[Face]:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> "FakeLandmarker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
