"""MediaPipe's face detector and 468-point face mesh, run on ONNX Runtime by the project itself.

The two networks are MediaPipe's own (``face_detection_short_range.tflite`` and
``face_landmark.tflite``, Apache-2.0, converted once to ONNX by
``tools/convert_face_models.py``; see ``edge_rppg/assets/face_models/NOTICE``).  This module
re-implements the small amount of graph logic around them that MediaPipe's FaceMesh
solution runs, so that the landmarks match FaceMesh's (checked by
``tests/test_face_models.py`` and ``bench/compare_face_models.py``):

* the **crop**: a rotated square around the face (:class:`FaceRect`), from the detector's
  box and eye keypoints at acquisition, or from the last landmarks while tracking
  (MediaPipe's ``DetectionsToRects`` + ``RectTransformation``: rotation that levels the eyes,
  ``square_long``, scale 1.5), cut out with the same ``cv2.getPerspectiveTransform`` /
  ``warpPerspective`` call that MediaPipe's OpenCV ``ImageToTensor`` converter makes;
* the **detector's decoding**: SSD anchors (896 for the 128x128 short-range model), box and
  keypoint decoding, sigmoid scores and weighted non-maximum suppression, with the
  letterbox of a non-square frame removed;
* the **mesh's projection** of the 192x192 crop's landmarks back to the frame, and its
  face-presence score (the tracking confidence).

Why own them: the MediaPipe graph costs ~5 ms per call at 640x480 on one core, these two
ONNX Runtime sessions ~1.2 ms per mesh run; ONNX Runtime is already a dependency, has
aarch64 wheels, and runs the same files on the CUDA and TensorRT execution providers of a
Jetson, where the mediapipe wheel is pinned to an older release.
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any, List, Sequence, Tuple, Union

import cv2
import numpy as np

from ..errors import ModelFileError

__all__ = ["FACE_MODEL_DIR", "DETECTOR_FILE", "MESH_FILE", "FaceRect", "Detection", "FaceDetectorNet",
           "FaceMeshNet", "rect_from_points", "ssd_anchors", "weighted_nms"]

#: Folder of the bundled ONNX face models and their NOTICE.
FACE_MODEL_DIR = Path(__file__).resolve().parents[1] / "assets" / "face_models"
DETECTOR_FILE = FACE_MODEL_DIR / "face_detection_short_range.onnx"
MESH_FILE = FACE_MODEL_DIR / "face_landmark.onnx"

#: FaceMesh's crop: this many times the face's long side (``RectTransformation`` scale).
CROP_SCALE = 1.5
#: landmarks whose line levels the crop while tracking (outer eye corners, MediaPipe's choice)
MESH_EYES = (33, 263)
#: detector keypoints whose line levels the crop at acquisition (the two eyes)
DETECTOR_EYES = (0, 1)


@dataclasses.dataclass(frozen=True)
class FaceRect:
    """A rotated square crop in pixels: centre, side, rotation (radians, MediaPipe's sign)."""

    cx: float
    cy: float
    side: float
    rotation: float

    def corners(self) -> np.ndarray:
        """The crop's four corners ``[4, 2]`` in ``cv2.boxPoints`` order (bl, tl, tr, br)."""
        box = ((self.cx, self.cy), (self.side, self.side), math.degrees(self.rotation))
        return cv2.boxPoints(box).astype(np.float32)

    def box(self) -> np.ndarray:
        """The crop's axis-aligned square ``[x0, y0, x1, y1]`` (rotation ignored)."""
        half = self.side / 2.0
        return np.array([self.cx - half, self.cy - half, self.cx + half, self.cy + half])

    def iou(self, other: "FaceRect") -> float:
        """Intersection over union of the two crops' axis-aligned squares (for de-duplicating faces)."""
        return float(_iou(self.box(), other.box()[None])[0])

def _normalize_radians(angle: float) -> float:
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


def rect_from_points(box: Tuple[float, float, float, float], start: np.ndarray, end: np.ndarray,
                     scale: float = CROP_SCALE) -> FaceRect:
    """FaceMesh's crop for a face whose box is ``(x0, y0, x1, y1)`` (pixels) and whose eyes are
    at ``start`` and ``end``: centred on the box, rotated so that the eye line is level,
    ``scale`` times the box's long side (MediaPipe's ``DetectionsToRects`` with a rotation
    vector, then ``RectTransformation`` with ``square_long``)."""
    x0, y0, x1, y1 = box
    rotation = _normalize_radians(-math.atan2(-(float(end[1]) - float(start[1])), float(end[0]) - float(start[0])))
    side = max(x1 - x0, y1 - y0) * scale
    return FaceRect(cx=(x0 + x1) / 2.0, cy=(y0 + y1) / 2.0, side=float(side), rotation=rotation)


def _warp(frame: np.ndarray, rect: FaceRect, size: int, border: int) -> np.ndarray:
    """The ``size`` x ``size`` uint8 crop of ``rect`` (MediaPipe's OpenCV ImageToTensor warp)."""
    dst = np.array([[0, size], [0, 0], [size, 0], [size, size]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(rect.corners(), dst)
    return cv2.warpPerspective(frame, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=border)


def _session(path: Path, providers: Union[None, str, Sequence[Any]], threads: int) -> Any:
    """An ONNX Runtime session for one bundled face model (``threads`` threads, no spinning)."""
    from ..pulse.engines.onnx_engine import open_session, resolve_providers, session_options

    if not path.is_file():
        raise ModelFileError(f"face model not found: {path} (a broken install? it ships in edge_rppg/assets)")
    chosen = resolve_providers(providers)   # an unavailable delegate is a ConfigError, not a file error
    return open_session(path, session_options(intra_op_threads=threads, inter_op_threads=1), chosen)

def ssd_anchors(input_size: int = 128, strides: Sequence[int] = (8, 16, 16, 16)) -> np.ndarray:
    """SSD anchor centres ``[N, 2]`` (normalised) of MediaPipe's short-range face detector
    (``SsdAnchorsCalculator``: fixed anchor size, 2 anchors per layer and cell, layers of one
    stride share a grid): 896 for 128x128."""
    out: List[np.ndarray] = []
    i = 0
    while i < len(strides):
        stride, per_cell = strides[i], 0
        while i < len(strides) and strides[i] == stride:
            per_cell += 2
            i += 1
        n = int(math.ceil(input_size / stride))
        ys, xs = np.meshgrid((np.arange(n) + 0.5) / n, (np.arange(n) + 0.5) / n, indexing="ij")
        cells = np.stack([xs.ravel(), ys.ravel()], axis=1)
        out.append(np.repeat(cells, per_cell, axis=0))
    return np.concatenate(out).astype(np.float32)


@dataclasses.dataclass
class Detection:
    """One detected face: box ``(x0, y0, x1, y1)`` and 6 keypoints ``[6, 2]`` in pixels, score."""

    box: Tuple[float, float, float, float]
    keypoints: np.ndarray
    score: float

    def rect(self) -> FaceRect:
        """The face-mesh crop for this detection (rotation from the two eye keypoints)."""
        return rect_from_points(self.box, self.keypoints[DETECTOR_EYES[0]], self.keypoints[DETECTOR_EYES[1]])


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of box ``a`` [4] with boxes ``b`` [n, 4] (x0, y0, x1, y1)."""
    iw = np.clip(np.minimum(a[2], b[:, 2]) - np.maximum(a[0], b[:, 0]), 0, None)
    ih = np.clip(np.minimum(a[3], b[:, 3]) - np.maximum(a[1], b[:, 1]), 0, None)
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def weighted_nms(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
                 iou_threshold: float = 0.3) -> List[Tuple[np.ndarray, np.ndarray, float]]:
    """MediaPipe's weighted non-maximum suppression: take the best remaining detection, average
    it with every remaining one that overlaps it by more than ``iou_threshold`` (weights =
    scores), keep the best score; repeat.  Returns ``(box, keypoints, score)`` best first."""
    order = np.argsort(-scores, kind="stable")
    out = []
    while order.size:
        best = order[0]
        overlap = _iou(boxes[best], boxes[order]) > iou_threshold
        members = order[overlap]
        w = scores[members][:, None]
        box = (boxes[members] * w).sum(axis=0) / w.sum()
        kps = (keypoints[members] * w[:, :, None]).sum(axis=0) / w.sum()
        out.append((box, kps, float(scores[best])))
        order = order[~overlap]
    return out


class FaceDetectorNet:
    """MediaPipe's short-range face detector (128x128, faces within ~2 m) on ONNX Runtime."""

    SIZE = 128

    def __init__(self, path: Path = DETECTOR_FILE, providers: Union[None, str, Sequence[Any]] = None,
                 threads: int = 1, min_score: float = 0.5) -> None:
        self.session = _session(path, providers, threads)
        self._input = self.session.get_inputs()[0].name
        self.anchors = ssd_anchors(self.SIZE)
        self.min_score = float(min_score)

    def __call__(self, frame: np.ndarray) -> List[Detection]:
        """Faces in an RGB uint8 frame, best first (box and keypoints in frame pixels)."""
        h, w = frame.shape[:2]
        long = float(max(w, h))
        # the whole frame, padded to a square (MediaPipe's keep_aspect_ratio letterbox, zero border)
        rect = FaceRect(cx=w / 2.0, cy=h / 2.0, side=long, rotation=0.0)
        crop = _warp(frame, rect, self.SIZE, cv2.BORDER_CONSTANT)
        x = (crop.astype(np.float32) / 127.5 - 1.0)[None]
        raw_boxes, raw_scores = self.session.run(None, {self._input: x})
        scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores[0, :, 0].astype(np.float64), -100.0, 100.0)))
        keep = scores >= self.min_score
        if not keep.any():
            return []
        raw, anchors = raw_boxes[0][keep], self.anchors[keep]
        centre = raw[:, :2] / self.SIZE + anchors
        half = raw[:, 2:4] / self.SIZE / 2.0
        boxes = np.concatenate([centre - half, centre + half], axis=1)
        kps = raw[:, 4:16].reshape(-1, 6, 2) / self.SIZE + anchors[:, None, :]
        # normalised square-tensor coordinates → frame pixels (undo the letterbox)
        offset = np.array([(long - w) / 2.0, (long - h) / 2.0], dtype=np.float32)
        out = []
        for box, kp, score in weighted_nms(boxes, kps, scores[keep]):
            b = box.reshape(2, 2) * long - offset
            out.append(Detection(box=(float(b[0, 0]), float(b[0, 1]), float(b[1, 0]), float(b[1, 1])),
                                 keypoints=(kp * long - offset).astype(np.float32), score=score))
        return out


class FaceMeshNet:
    """MediaPipe's 468-point face mesh (192x192 crop) on ONNX Runtime."""

    SIZE = 192

    def __init__(self, path: Path = MESH_FILE, providers: Union[None, str, Sequence[Any]] = None,
                 threads: int = 1) -> None:
        self.session = _session(path, providers, threads)
        self._input = self.session.get_inputs()[0].name

    def __call__(self, frame: np.ndarray, rect: FaceRect) -> Tuple[np.ndarray, float]:
        """Landmarks ``[468, 2]`` (frame pixels) of the face in ``rect``, and the probability
        that the crop holds a face (FaceMesh's tracking confidence)."""
        crop = _warp(frame, rect, self.SIZE, cv2.BORDER_REPLICATE)
        x = (crop.astype(np.float32) / 255.0)[None]
        raw, flag = self.session.run(None, {self._input: x})
        pts = raw.reshape(-1, 3)[:, :2] / self.SIZE - 0.5
        c, s = math.cos(rect.rotation), math.sin(rect.rotation)
        xy = np.empty_like(pts)
        xy[:, 0] = (c * pts[:, 0] - s * pts[:, 1]) * rect.side + rect.cx
        xy[:, 1] = (s * pts[:, 0] + c * pts[:, 1]) * rect.side + rect.cy
        presence = 1.0 / (1.0 + math.exp(-float(np.clip(flag.reshape(-1)[0], -100.0, 100.0))))
        return xy.astype(np.float32), presence

    @staticmethod
    def next_rect(landmarks: np.ndarray) -> FaceRect:
        """The crop FaceMesh uses on the next frame for a face with these landmarks."""
        lo, hi = landmarks.min(axis=0), landmarks.max(axis=0)
        return rect_from_points((float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])),
                                landmarks[MESH_EYES[0]], landmarks[MESH_EYES[1]])

