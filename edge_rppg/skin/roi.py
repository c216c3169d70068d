"""Six facial meta-ROIs on the 468-point MediaPipe FaceMesh, and their colour sums per frame.

The ROIs (Cluster-Phys §3.2.1, after MSTmap/CVD) are, in bit order: forehead, left upper
cheek, left lower cheek, right upper cheek, right lower cheek, chin.  **Left/right are the
subject's own (anatomical) sides**, as in MediaPipe's naming: in an unmirrored camera
image the subject's left cheek is on the image's right (FaceMesh indices 3xx/4xx).

Fast path (what :mod:`edge_rppg.processor.extract` uses): rasterise the six polygons once into one
``uint8`` label map (0 = background, ``j + 1`` = ROI ``j``; a pixel claimed by two
polygons belongs to the later one, so ROIs are disjoint), then sum each ROI inside its
own polygon's bounding rectangle (``cv2.compare`` + ``cv2.countNonZero`` + ``cv2.mean``
on that rectangle only, sums rounded back to the exact integers): the label map
returned by :func:`rasterize_label_map` is a :class:`LabelMap` that carries those
rectangles, so each ROI touches only its own ~1/6 of the face box.  Bit-identical to one
``np.bincount`` over the whole map (the path used for a plain array) and ~1.6x faster.
Cheaper variants were measured and rejected because they move the colour means by more
than 1e-3 relative (``bench/bench_roi_averaging.py``): a stride-2 grid (~2.8e-2) and
reusing the label map while the landmarks move less than 0.02–0.25 px (6.7e-3–2e-2).  The 63 subset means follow
from those by one matmul (:func:`edge_rppg.skin.mstmap.combine_roi_sums`).  Cropping to the
ROIs' bounding box (``box=``) makes the cost proportional to the face, not the frame.

:func:`roi_sums_naive_63` is the straightforward baseline (63 masks, ``cv2.mean`` each),
kept only for tests and ``bench/bench_roi_averaging.py``.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

from ..errors import ShapeError

#: Meta-ROI names in bit order (bit ``j`` of an MSTmap subset index is ROI ``j``).
META_ROI_NAMES: Tuple[str, ...] = ("forehead", "left_upper_cheek", "left_lower_cheek",
                                    "right_upper_cheek", "right_lower_cheek", "chin")

#: Polygon vertex lists (FaceMesh landmark indices, in boundary order) of each meta-ROI.
#: Forehead: from the top of the eyebrows up to mid-forehead (skips the hairline).
#: Upper cheek: below the lower eyelid down to the nose-wing / nasolabial line.
#: Lower cheek: from that line down to the mouth-corner level, lateral to the nasolabial fold.
#: Chin: below the lower lip, inside the jaw contour.
#: Left and right polygons are mirror images under FaceMesh's symmetric index pairs.
META_ROI_POLYGONS: Dict[str, List[int]] = {
    "forehead": [104, 69, 108, 151, 337, 299, 333, 334, 296, 336, 9, 107, 66, 105],
    "left_upper_cheek": [346, 347, 348, 329, 371, 266, 425, 411, 352],
    "left_lower_cheek": [266, 426, 436, 432, 434, 416, 411, 425],
    "right_upper_cheek": [117, 118, 119, 100, 142, 36, 205, 187, 123],
    "right_lower_cheek": [36, 206, 216, 212, 214, 192, 187, 205],
    "chin": [194, 83, 18, 313, 418, 262, 369, 396, 175, 171, 140, 32],
}

N_LANDMARKS = 468
_SHIFT = 4  # fractional bits for cv2.fillPoly: sub-pixel accurate vertices
_POLY_INDEX = [np.asarray(META_ROI_POLYGONS[name], dtype=np.int64) for name in META_ROI_NAMES]
_ALL_INDEX = np.unique(np.concatenate(_POLY_INDEX))  # every landmark an ROI uses

Box = Tuple[int, int, int, int]


class LabelMap(np.ndarray):
    """A ``uint8 [H, W]`` ROI label map that also knows each ROI's bounding rectangle.

    ``roi_boxes``: six ``(x0, y0, x1, y1)`` rectangles (exclusive ends, label-map
    coordinates) that contain every pixel of ROI ``j``; set by :func:`rasterize_label_map`
    only — any view or copy derived from it has ``roi_boxes = None`` (a slice would make
    them wrong), so :func:`roi_sums` then takes the whole-map path.
    """

    roi_boxes: Optional[Tuple[Box, ...]]

    def __array_finalize__(self, obj: object) -> None:
        self.roi_boxes = None


def roi_polygons(landmarks: np.ndarray) -> List[np.ndarray]:
    """The six ROI polygons (:data:`META_ROI_NAMES` order) as float ``[n, 2]`` pixel vertices,
    e.g. for drawing overlays."""
    lm = np.asarray(landmarks, dtype=np.float64)
    return [lm[idx] for idx in _POLY_INDEX]


def _polygon_points(lm: np.ndarray, origin: Tuple[int, int] = (0, 0)) -> List[np.ndarray]:
    """Fixed-point (``_SHIFT`` fractional bits) int32 vertices for ``cv2.fillPoly``."""
    o = np.asarray(origin, dtype=np.float64)
    return [np.round((p - o) * (1 << _SHIFT)).astype(np.int32) for p in roi_polygons(lm)]


def _check_landmarks(landmarks: np.ndarray) -> np.ndarray:
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.shape != (N_LANDMARKS, 2):
        raise ShapeError(f"landmarks must be [468, 2] pixel (x, y); got shape {lm.shape}")
    if not np.isfinite(lm).all():
        raise ShapeError("landmarks contain NaN/inf; an invalid (no-face) frame has no ROIs")
    return lm


def roi_box(landmarks: np.ndarray, height: int, width: int, margin: int = 2) -> Box:
    """Integer ``(x0, y0, x1, y1)`` (exclusive end) box around all ROI polygon vertices,
    padded by ``margin`` pixels and clipped to the ``height x width`` frame (may be empty)."""
    lm = _check_landmarks(landmarks)[_ALL_INDEX]
    x0 = int(np.clip(np.floor(lm[:, 0].min()) - margin, 0, width))
    y0 = int(np.clip(np.floor(lm[:, 1].min()) - margin, 0, height))
    x1 = int(np.clip(np.ceil(lm[:, 0].max()) + margin + 1, x0, width))
    y1 = int(np.clip(np.ceil(lm[:, 1].max()) + margin + 1, y0, height))
    return x0, y0, x1, y1


def rasterize_label_map(landmarks: np.ndarray, height: int, width: int,
                        box: Optional[Box] = None) -> np.ndarray:
    """Rasterise the six meta-ROI polygons into one ``uint8 [H, W]`` label map.

    0 is background and ``j + 1`` is ROI ``j`` (:data:`META_ROI_NAMES` order); one
    ``cv2.fillPoly`` per ROI with sub-pixel vertices, later ROIs overwrite earlier ones
    where polygons touch, so every pixel belongs to at most one ROI.  With ``box``
    ``(x0, y0, x1, y1)`` only that part of the frame is rasterised and the returned map is
    ``[y1 - y0, x1 - x0]`` (pass the same box to :func:`roi_sums`).
    """
    lm = _check_landmarks(landmarks)
    x0, y0, x1, y1 = box if box is not None else (0, 0, int(width), int(height))
    label = np.zeros((max(y1 - y0, 0), max(x1 - x0, 0)), dtype=np.uint8).view(LabelMap)
    if label.size == 0:
        return label
    h, w = label.shape
    boxes = []
    for j, pts in enumerate(_polygon_points(lm, (x0, y0))):
        cv2.fillPoly(label, [pts], color=j + 1, lineType=cv2.LINE_8, shift=_SHIFT)
        lo = (pts.min(axis=0) >> _SHIFT) - 1          # floor, then one pixel of slack
        hi = (pts.max(axis=0) >> _SHIFT) + 2
        boxes.append((int(min(max(lo[0], 0), w)), int(min(max(lo[1], 0), h)),
                      int(min(max(hi[0], 0), w)), int(min(max(hi[1], 0), h))))
    label.roi_boxes = tuple(boxes)
    return label


def roi_sums(frame: np.ndarray, label_map: np.ndarray,
             box: Optional[Box] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Per-ROI colour sums in ONE pass over the pixels.

    Returns ``sums [6, C]`` float64 (C = 3 in the channel order of ``frame``, RGB in the SDK;
    C = 1 for an ``HxW`` gray frame, uint8 or uint16, summed at its own depth) and
    ``counts [6]`` int64.  The ROI pixels (label > 0) are gathered once and a single
    ``np.bincount`` over ``label * C + channel`` with the pixel values as weights gives all
    6·C sums (plus one unweighted bincount for the counts).
    With ``box`` the frame is cropped to ``(x0, y0, x1, y1)`` and ``label_map`` must be
    the matching crop from :func:`rasterize_label_map`.
    """
    if box is not None:
        x0, y0, x1, y1 = box
        frame = frame[y0:y1, x0:x1]
    if frame.shape[:2] != label_map.shape:
        raise ShapeError(f"label map {label_map.shape} does not match frame {frame.shape[:2]}")
    if not (frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] == 3)):
        raise ShapeError(f"frame must be HxWx3 (colour) or HxW (gray); got shape {frame.shape}")
    ch = 1 if frame.ndim == 2 else 3
    boxes = getattr(label_map, "roi_boxes", None)
    if boxes is not None and frame.dtype in (np.uint8, np.uint16):
        return _roi_sums_boxed(frame, np.asarray(label_map), boxes, ch)
    n_lab = len(META_ROI_NAMES) + 1
    labels = label_map.reshape(-1)
    inside = np.flatnonzero(labels)                       # only ROI pixels are touched again
    lab = labels[inside].astype(np.intp)
    pixels = frame.reshape(-1, ch)[inside]                # [n, C] gather
    bins = (lab * ch)[:, None] + np.arange(ch, dtype=np.intp)
    flat = np.bincount(bins.reshape(-1), weights=pixels.reshape(-1), minlength=n_lab * ch)
    sums = flat[ch:n_lab * ch].reshape(n_lab - 1, ch)
    counts = np.bincount(lab, minlength=n_lab)[1:n_lab].astype(np.int64)
    return sums, counts


def _roi_sums_boxed(frame: np.ndarray, labels: np.ndarray, boxes: Tuple[Box, ...],
                    ch: int = 3) -> Tuple[np.ndarray, np.ndarray]:
    """:func:`roi_sums` with each ROI summed inside its own rectangle only (``ch`` channels).

    ``cv2.mean`` accumulates in float64 and returns sum/count; times the count and rounded
    this is the exact integer sum (|error| ≪ 0.5 for any frame size, 16-bit samples too:
    ~1e-5 on a 10^6-pixel ROI), so the result equals the bincount path bit for bit.
    """
    n = len(META_ROI_NAMES)
    sums = np.zeros((n, ch), dtype=np.float64)
    counts = np.zeros(n, dtype=np.int64)
    for j, (x0, y0, x1, y1) in enumerate(boxes):
        if x1 <= x0 or y1 <= y0:
            continue
        mask = cv2.compare(labels[y0:y1, x0:x1], j + 1, cv2.CMP_EQ)
        c = cv2.countNonZero(mask)
        if c:
            counts[j] = c
            sums[j] = np.round(np.asarray(cv2.mean(frame[y0:y1, x0:x1], mask=mask)[:ch]) * c)
    return sums, counts


def frame_roi_sums(frame: np.ndarray, landmarks: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Fast path for one frame: crop to the ROI box, rasterise, and sum.  See :func:`roi_sums`."""
    h, w = frame.shape[:2]
    box = roi_box(landmarks, h, w)
    label = rasterize_label_map(landmarks, h, w, box=box)
    if label.size == 0:
        return np.zeros((len(META_ROI_NAMES), 3)), np.zeros(len(META_ROI_NAMES), dtype=np.int64)
    return roi_sums(frame, label, box=box)


def roi_sums_naive_63(frame: np.ndarray, landmarks: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Baseline: build 63 full-frame subset masks and call ``cv2.mean`` on each.

    Returns ``means [63, 3]`` float64 (NaN for empty subsets) and ``counts [63]`` int64.
    Each mask paints the ROIs in order — members 255, later non-members 0 — so it has the
    same "later ROI wins" pixel ownership as :func:`rasterize_label_map` and the results
    agree with the label-map path to rounding.  Only for tests and the benchmark.
    """
    lm = _check_landmarks(landmarks)
    h, w = frame.shape[:2]
    pts = _polygon_points(lm)
    means = np.full((63, 3), np.nan)
    counts = np.zeros(63, dtype=np.int64)
    for r in range(63):
        bits = r + 1
        mask = np.zeros((h, w), dtype=np.uint8)
        first = (bits & -bits).bit_length() - 1
        for j in range(first, len(pts)):
            cv2.fillPoly(mask, [pts[j]], color=255 if (bits >> j) & 1 else 0,
                         lineType=cv2.LINE_8, shift=_SHIFT)
        n = cv2.countNonZero(mask)
        counts[r] = n
        if n:
            means[r] = cv2.mean(frame, mask=mask)[:3]
    return means, counts
