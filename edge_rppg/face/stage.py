"""The ``landmarks`` stage: a :class:`~edge_rppg.frames.input.Frame` → the face to measure
(:class:`FaceObservation`): find faces (``Landmarker.detect``), choose one
(:mod:`edge_rppg.face.select`), smooth its landmarks (:mod:`edge_rppg.face.smoothing`)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Tuple, Union

import numpy as np

from ..frames.input import Frame
from ..stage import Stage
from .select import FaceSelector, make_face_selector
from .smoothing import LandmarkSmoother
from .types import Face, Landmarker

__all__ = ["FaceObservation", "NO_FACE", "FaceStage"]


@dataclass(frozen=True)
class FaceObservation:
    """What the ``landmarks`` stage found in one frame: ``faces`` seen, the chosen ``face``
    and its smoothed ``landmarks`` ``[468, 2]`` float32 (both None without a face)."""

    faces: int = 0
    face: Optional[Face] = None
    landmarks: Optional[np.ndarray] = None

    @property
    def box(self) -> Optional[Tuple[float, float, float, float]]:
        """The chosen face's box ``(x0, y0, x1, y1)`` in pixels, or None."""
        return None if self.face is None else tuple(float(b) for b in self.face.box)  # type: ignore[return-value]


#: A frame without a face.
NO_FACE = FaceObservation()


class FaceStage(Stage):
    """Find faces, choose one, smooth its landmarks: ``landmarks(frame) -> FaceObservation``.

    ``landmarker`` is built by the caller (:func:`edge_rppg.processor.front.build_front`)
    and closed by :meth:`close` only when ``own`` is True. ``smoother``: True for the
    default One-Euro :class:`~edge_rppg.face.smoothing.LandmarkSmoother`, a smoother of your
    own, or False; it is reset whenever the face is lost.
    """

    name = "landmarks"

    def __init__(self, landmarker: Landmarker, select: FaceSelector = "largest",
                 smoother: Union[bool, LandmarkSmoother] = True, own: bool = False) -> None:
        super().__init__()
        self.landmarker = landmarker
        self._own = bool(own)
        self.select = make_face_selector(select)
        self.smoother: Optional[LandmarkSmoother] = LandmarkSmoother() if smoother is True else (smoother or None)
        self._last_ms = -math.inf

    def run(self, frame: Frame) -> FaceObservation:  # type: ignore[override]
        ts_ms = max(frame.timestamp * 1000.0, self._last_ms + 1e-3)  # MediaPipe wants increasing ms
        self._last_ms = ts_ms
        faces = list(self.landmarker.detect(frame.view, ts_ms))  # 8-bit RGB (a gray frame replicated)
        face = self.select(faces)
        if face is None:
            if self.smoother is not None:
                self.smoother.reset()
            return FaceObservation(faces=len(faces))
        lm = face.landmarks
        landmarks = self.smoother(lm, frame.timestamp) if self.smoother is not None else lm
        return FaceObservation(faces=len(faces), face=face, landmarks=landmarks)

    def reset(self) -> None:
        if self.smoother is not None:
            self.smoother.reset()
        self._last_ms = -math.inf
        reset = getattr(self.landmarker, "reset", None)  # optional in the Landmarker protocol
        if callable(reset):
            reset()

    def close(self) -> None:
        if self._own and self.landmarker is not None:
            self.landmarker.close()
