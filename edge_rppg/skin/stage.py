"""The ``roi`` stage: a frame and its face → the frame's skin signal (:class:`SkinSample`):
six meta-ROI colour sums over the face box, combined into the ``[63, 6]`` MSTmap row (``[63, 1]``
for a gray stream), and the light off the face (:func:`edge_rppg.skin.light.off_face_light`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..errors import ConfigError, ShapeError
from ..face.stage import FaceObservation
from ..frames.input import Frame
from ..stage import Stage
from .light import off_face_light
from .mstmap import combine_roi_sums
from .roi import rasterize_label_map, roi_box
from .roi_backends import make_roi_summer

__all__ = ["SkinSample", "RoiStage"]


@dataclass(frozen=True)
class SkinSample:
    """The skin signal of one frame: ``row`` ``[63, 6]`` float32 MSTmap row, ``sums``
    ``[6, 3]`` and ``counts`` ``[6]`` of the six ROIs (all three None: no usable face), and
    ``light`` ``[3]``, the mean RGB off the face. A gray frame has one channel each: ``row``
    ``[63, 1]``, ``sums`` ``[6, 1]``, ``light`` ``[1]`` (in the sensor's own units, 16-bit
    samples summed at full depth)."""

    light: np.ndarray
    row: Optional[np.ndarray] = None
    sums: Optional[np.ndarray] = None
    counts: Optional[np.ndarray] = None


class RoiStage(Stage):
    """Six meta-ROI colour sums over the face box → ``roi(frame, face) -> SkinSample``.

    The label map is rasterised only inside the ROIs' bounding box
    (:func:`~edge_rppg.skin.roi.roi_box`, :func:`~edge_rppg.skin.roi.rasterize_label_map`),
    summed by the backend of :func:`~edge_rppg.skin.roi_backends.make_roi_summer`
    (``"cpu"``: one ``np.bincount``; GPU backends when registered; ``"auto"``: the best
    usable one), then combined with :func:`~edge_rppg.skin.mstmap.combine_roi_sums`. No
    face, or a face entirely outside the frame, leaves ``row``/``sums``/``counts`` None.
    A gray stream (``family="gray"``) sums on the CPU (the GPU kernels take 8-bit RGB): its
    ``"auto"`` is the CPU, and naming a GPU backend for it is a ``ConfigError``.
    """

    name = "roi"

    def __init__(self, backend: str = "auto", family: str = "rgb") -> None:
        super().__init__()
        if family == "gray" and backend not in ("auto", "cpu"):
            raise ConfigError(f"roi_backend {backend!r} takes 8-bit RGB frames; a gray stream sums on the CPU "
                              f"(roi_backend='cpu' or 'auto')")
        self.summer = make_roi_summer("cpu" if family == "gray" else backend)

    @property
    def backend(self) -> str:
        """The backend actually used (``cpu``, ``cupy`` or ``pycuda``)."""
        return self.summer.backend

    def run(self, frame: Frame, face: FaceObservation) -> SkinSample:  # type: ignore[override]
        image = frame.image
        light = off_face_light(image, face.box)
        lm = face.landmarks
        if lm is None:
            return SkinSample(light=light)
        h, w = image.shape[:2]
        try:
            box = roi_box(lm, h, w)
            labels = rasterize_label_map(lm, h, w, box=box)
        except ShapeError:  # NaN landmarks: treat as no face
            return SkinSample(light=light)
        if labels.size == 0:
            return SkinSample(light=light)
        sums, counts = self.summer.sums(image, labels, (box[0], box[1]))
        if counts.sum() == 0:
            return SkinSample(light=light)
        return SkinSample(light=light, row=combine_roi_sums(sums, counts), sums=sums, counts=counts)
