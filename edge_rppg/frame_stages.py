"""The per-frame front of the stream processor: check the frame, find the face, average
its ROIs. Files and streams both run these (``estimate`` through
:meth:`edge_rppg.processor.StreamProcessor.process_video`), so a frame gives the same MSTmap
row whichever way it arrives.

- ``input`` (:class:`InputStage`): ``check_frame`` (``FrameFormatError``), BGR → RGB once;
- ``landmarks`` (:class:`LandmarksStage`): landmarks, face choice, One-Euro smoothing;
- ``roi`` (:class:`RoiAverageStage`): six ROI sums (CPU ``bincount`` or CUDA) → ``[63, 6]`` row,
  and the mean colour of the frame outside the face box (:func:`off_face_light`, the
  light the artefact gate of :mod:`edge_rppg.vitals` compares the pulse with).
"""
from __future__ import annotations

import math
from typing import Callable, Dict, List, Optional, Tuple, Union

import cv2
import numpy as np

from .errors import ConfigError, ShapeError
from .landmarks import Face, Landmarker, LandmarkSmoother
from .mstmap import combine_roi_sums
from .roi import rasterize_label_map, roi_box
from .roi_backends import make_roi_summer
from .stage_base import Packet, Stage
from .validation import check_frame

__all__ = ["FaceSelector", "COLOR_ORDERS", "InputStage", "make_face_selector", "LandmarksStage",
           "RoiAverageStage", "off_face_light"]

FaceSelector = Union[str, int, Callable[[List[Face]], Optional[Face]]]
#: Accepted ``color_order`` values.
COLOR_ORDERS = ("rgb", "bgr")


class InputStage(Stage):
    """Validate the frame (``check_frame``: None, dtype, shape, channels → ``FrameFormatError``,
    a ``ValueError``) and convert BGR to RGB once, so every later stage sees RGB."""

    name = "input"

    def __init__(self, color_order: str = "rgb") -> None:
        super().__init__()
        order = str(color_order).lower()
        if order not in COLOR_ORDERS:
            raise ConfigError(f"color_order must be 'rgb' or 'bgr', got {color_order!r}")
        self.color_order = order

    def process(self, packet: Packet) -> None:
        frame = check_frame(packet.frame)
        packet.frame = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) if self.color_order == "bgr" else frame


def _largest(faces: List[Face]) -> Optional[Face]:
    return max(faces, key=lambda f: f.area) if faces else None


def _first(faces: List[Face]) -> Optional[Face]:
    return faces[0] if faces else None


_SELECTORS: Dict[str, Callable[[List[Face]], Optional[Face]]] = {"largest": _largest, "first": _first}


def make_face_selector(policy: FaceSelector) -> Callable[[List[Face]], Optional[Face]]:
    """``"largest"`` (default: the driver), ``"first"``, an index into the detections
    (sorted largest first; out of range → no face) or ``callable(faces) -> face | None``."""
    if callable(policy):
        return policy
    if isinstance(policy, str) and policy.lstrip("-").isdigit():
        policy = int(policy)
    if isinstance(policy, int) and not isinstance(policy, bool):
        k = int(policy)
        return lambda faces: sorted(faces, key=lambda f: -f.area)[k] if -len(faces) <= k < len(faces) else None
    if isinstance(policy, str) and policy.lower() in _SELECTORS:
        return _SELECTORS[policy.lower()]
    raise ConfigError(f"face selection must be 'largest', 'first', an index or a callable; got {policy!r}")


class LandmarksStage(Stage):
    """Find faces (``Landmarker.detect``), choose one, smooth its landmarks.

    ``landmarker`` is built by the caller (the processor, from ``LandmarkerOptions``) and
    closed by :meth:`close` only when ``own`` is True. ``smoother``: True for the default
    One-Euro :class:`~edge_rppg.landmarks.LandmarkSmoother`, a smoother of your own, or
    False; it is reset whenever the face is lost.
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

    def process(self, packet: Packet) -> None:
        if packet.skipped:
            return
        ts_ms = max(packet.timestamp * 1000.0, self._last_ms + 1e-3)  # MediaPipe wants increasing ms
        self._last_ms = ts_ms
        faces = list(self.landmarker.detect(packet.frame, ts_ms))
        packet.faces = len(faces)
        face = self.select(faces)
        packet.face = face
        if face is None:
            if self.smoother is not None:
                self.smoother.reset()
            packet.landmarks = None
            return
        lm = face.landmarks
        packet.landmarks = self.smoother(lm, packet.timestamp) if self.smoother is not None else lm

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


#: The off-face light is measured on every ``LIGHT_STEP``-th pixel of every ``LIGHT_STEP``-th row.
LIGHT_STEP = 8


def off_face_light(frame: np.ndarray, box: Optional[Tuple[float, float, float, float]]) -> np.ndarray:
    """Mean R, G, B of ``frame`` outside the face ``box`` (x0, y0, x1, y1; None: the whole
    frame), float64 ``[3]``: the light falling on the scene, measured off the skin, so the
    vitals can tell a lamp or a screen that changes at a pulse-like rate from a pulse.

    Measured on a nearest-neighbour 1/``LIGHT_STEP`` subsample (one pixel in 64: ~0.06 ms
    at 640x480; thousands of pixels still average the sensor noise far below a 0.1 % light
    change). When the face box covers more than 90 % of the frame the result is NaN (no
    measure: the gate then uses head motion only).
    """
    h, w = frame.shape[:2]
    sw, sh = max(w // LIGHT_STEP, 1), max(h // LIGHT_STEP, 1)
    small = cv2.resize(frame, (sw, sh), interpolation=cv2.INTER_NEAREST)
    n = sw * sh
    total = np.asarray(cv2.mean(small)[:3], dtype=np.float64) * n
    if box is None or not all(math.isfinite(float(v)) for v in box):
        return total / float(n)
    fx, fy = sw / w, sh / h
    x0, y0 = max(int(box[0] * fx), 0), max(int(box[1] * fy), 0)
    x1, y1 = min(int(math.ceil(box[2] * fx)), sw), min(int(math.ceil(box[3] * fy)), sh)
    n_box = max(x1 - x0, 0) * max(y1 - y0, 0)
    if n_box >= 0.9 * n:
        return np.full(3, np.nan)
    inside = np.asarray(cv2.mean(small[y0:y1, x0:x1])[:3], dtype=np.float64) * n_box if n_box else 0.0
    return (total - inside) / float(n - n_box)


class RoiAverageStage(Stage):
    """Six meta-ROI colour sums over the face box → the frame's ``[63, 6]`` MSTmap row.

    The label map is rasterised only inside the ROIs' bounding box
    (``edge_rppg.roi.roi_box``/``rasterize_label_map``), then summed by the backend of
    :func:`edge_rppg.roi_backends.make_roi_summer` (``"cpu"``: one ``np.bincount``;
    ``"cupy"`` / ``"pycuda"``: the CUDA kernel; ``"auto"``: the best usable one), then
    combined with ``edge_rppg.mstmap.combine_roi_sums``. No face, or a face entirely
    outside the frame, leaves ``sums``/``counts``/``row`` None.
    """

    name = "roi"

    def __init__(self, backend: str = "auto") -> None:
        super().__init__()
        self.summer = make_roi_summer(backend)

    @property
    def backend(self) -> str:
        """The backend actually used (``cpu``, ``cupy`` or ``pycuda``)."""
        return self.summer.backend

    def process(self, packet: Packet) -> None:
        packet.sums = packet.counts = packet.row = None
        packet.light = None
        if packet.skipped:
            return
        packet.light = off_face_light(packet.frame, packet.face.box if packet.face is not None else None)
        lm = packet.landmarks
        if lm is None:
            return
        h, w = packet.frame.shape[:2]
        try:
            box = roi_box(lm, h, w)
            labels = rasterize_label_map(lm, h, w, box=box)
        except ShapeError:  # NaN landmarks: treat as no face
            return
        if labels.size == 0:
            return
        sums, counts = self.summer.sums(packet.frame, labels, (box[0], box[1]))
        if counts.sum() == 0:
            return
        packet.sums, packet.counts = sums, counts
        packet.row = combine_roi_sums(sums, counts)
