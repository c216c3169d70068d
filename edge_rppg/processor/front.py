"""The front of the chain, built in one place: ``input → landmarks → roi``.

:func:`build_front` makes the three stages from :class:`~edge_rppg.processor.options.EdgeRPPGOptions`
(``color_space``, ``landmark_model`` with its ``landmarks`` options, ``face_select``,
``smooth_landmarks``, ``roi_backend``). The stream processor, the file path
(``estimate``, :func:`~edge_rppg.processor.extract.extract_mstmap`), evaluation and the
rendered-training front end all use it, so a frame gives the same MSTmap row whichever way
it arrives.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple, Union

import numpy as np

from ..face.registry import create_landmarker
from ..face.smoothing import LandmarkSmoother
from ..face.stage import FaceObservation, FaceStage
from ..face.types import Landmarker
from ..frames.input import Frame, InputStage
from ..skin.stage import RoiStage, SkinSample
from ..stage import Stage
from .options import EdgeRPPGOptions

__all__ = ["FrontOutput", "Front", "build_front"]


@dataclass(frozen=True)
class FrontOutput:
    """One frame through the front: the checked ``frame``, its ``face`` and its ``skin`` signal."""

    frame: Frame
    face: FaceObservation
    skin: SkinSample


class Front:
    """The ``input``, ``landmarks`` and ``roi`` stages of one stream (or file)."""

    def __init__(self, input: InputStage, face: FaceStage, roi: RoiStage) -> None:
        self.input = input
        self.face = face
        self.roi = roi
        self._size: Optional[Tuple[int, int]] = None

    def resized(self, frame: Frame) -> bool:
        """True when ``frame`` has another size than the last one (a camera that renegotiated
        its format, a file whose frames change size): the face stage is reset, since no
        tracked landmark carries over to another frame geometry."""
        size = (int(frame.image.shape[0]), int(frame.image.shape[1]))
        changed = self._size is not None and size != self._size
        self._size = size
        if changed:
            self.face.reset()
        return changed

    @property
    def stages(self) -> List[Stage]:
        """The three stages in chain order."""
        return [self.input, self.face, self.roi]

    def run(self, image: np.ndarray, timestamp: float, index: int) -> FrontOutput:
        """All three stages on one frame (the file path; the stream runs them one by one,
        with the clock between ``input`` and ``landmarks``)."""
        frame = self.input(image, timestamp, index)
        self.resized(frame)
        face = self.face(frame)
        return FrontOutput(frame, face, self.roi(frame, face))

    def reset(self) -> None:
        """Forget the tracker and the smoother (a new clip or stream)."""
        for stage in self.stages:
            stage.reset()

    def close(self) -> None:
        """Close the landmarker when the front built it (idempotent)."""
        for stage in self.stages:
            stage.close()


def build_front(options: EdgeRPPGOptions, *, landmarker: Optional[Landmarker] = None,
                smoother: Union[bool, LandmarkSmoother, None] = None) -> Front:
    """The front ``options`` ask for. ``landmarker``: a ready one instead of
    ``options.landmark_model`` (left open by :meth:`Front.close`); ``smoother``: a
    :class:`~edge_rppg.face.smoothing.LandmarkSmoother` of your own, or a bool, instead of
    ``options.smooth_landmarks``."""
    own = landmarker is None
    lmk = create_landmarker(options.landmark_model, options.landmarks) if own else landmarker
    smooth = options.smooth_landmarks if smoother is None else smoother
    source = InputStage(options.color_space)
    return Front(source,
                 FaceStage(lmk, select=options.face_select, smoother=smooth, own=own),  # type: ignore[arg-type]
                 RoiStage(options.roi_backend, family=source.family))
