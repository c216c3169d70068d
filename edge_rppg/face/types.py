"""What a landmarker gives: a :class:`Face` (468 FaceMesh points in pixels, their box and a
score) and the :class:`Landmarker` protocol every backend follows.

Every landmarker returns its faces largest first; a frame without a face gives ``[]`` —
callers mark such frames invalid, never average them as zeros.
"""
from __future__ import annotations

import dataclasses
from typing import List, Protocol, Tuple, runtime_checkable

import numpy as np

__all__ = ["N_LANDMARKS", "Face", "Landmarker", "box_of", "face_from_normalized"]

N_LANDMARKS = 468


@dataclasses.dataclass
class Face:
    """One detected face: ``landmarks [468, 2]`` float32 pixel (x, y), ``box`` (x0, y0, x1, y1)
    pixel bounds of the landmarks, and ``score`` (confidence in [0, 1])."""

    landmarks: np.ndarray
    box: Tuple[float, float, float, float]
    score: float

    @property
    def area(self) -> float:
        """Box area in pixels² (used to sort faces largest first)."""
        x0, y0, x1, y1 = self.box
        return max(x1 - x0, 0.0) * max(y1 - y0, 0.0)


@runtime_checkable
class Landmarker(Protocol):
    """Anything that finds faces: ``detect(frame_rgb, timestamp_ms) -> list[Face]`` (largest
    first, ``[]`` when there is none) and ``close()``; usable as a context manager."""

    def detect(self, frame_rgb: np.ndarray, timestamp_ms: float) -> List[Face]:
        ...

    def close(self) -> None:
        ...

    def __enter__(self) -> "Landmarker":
        ...

    def __exit__(self, *exc: object) -> None:
        ...



def box_of(lm: np.ndarray) -> Tuple[float, float, float, float]:
    """Pixel bounds ``(x0, y0, x1, y1)`` of landmarks ``[n, 2]``."""
    return (float(lm[:, 0].min()), float(lm[:, 1].min()), float(lm[:, 0].max()), float(lm[:, 1].max()))


def face_from_normalized(points: np.ndarray, width: int, height: int, score: float) -> Face:
    """A :class:`Face` from landmarks in [0, 1] image coordinates."""
    lm = (points * np.array([width, height], dtype=np.float32)).astype(np.float32)
    return Face(landmarks=lm, box=box_of(lm), score=score)
