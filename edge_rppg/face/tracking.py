"""Track a face mesh between face-mesh runs: pyramidal Lucas–Kanade + a similarity fit.

Running the 468-point face mesh on every frame is most of an rPPG pipeline's CPU time,
yet a face moves little from one frame to the next.  :class:`MeshTracker` carries the
last mesh forward instead:

* at a *keyframe* (a real mesh run) it remembers each face's mesh and the positions of
  :data:`STABLE_POINTS` — mesh points on rigid, textured skin (forehead, upper cheeks,
  nose), not on the lips, eyelids or jaw, which move on their own;
* on every other frame it tracks those points from the previous frame with
  ``cv2.calcOpticalFlowPyrLK`` (pyramidal Lucas–Kanade), tracks them back again and keeps
  only the points whose forward-backward error is below ``track_fb_max_px`` (Kalal et al.,
  2010), then fits a similarity transform (rotation, uniform scale, shift) from the
  keyframe positions to the tracked ones with ``cv2.estimateAffinePartial2D`` (RANSAC)
  and moves the whole keyframe mesh with it — after a soft threshold (``still_frac`` of
  the face size counts as no motion): the pulse is a brightness change, brightness
  changes bias Lucas–Kanade a little, and a still face must not wobble in step with the
  pulse (that moves the ROI borders with it; measured on a still face with a 1.5-level
  colour pulse: correlation of the ROI mean with the pulse 0.93 → 0.95);
* it reports a loss — the caller then runs the mesh again — when too few points survive
  (``track_min_points``), when the fit's median residual exceeds ``track_max_residual`` of
  the face size (the face deformed or the track drifted), or when the face leaves the
  tracked region.

Fitting keyframe → now (not frame → frame) keeps the transform from accumulating error;
only the tracked points themselves can drift, and a keyframe every fraction of a second
resets them.  Everything runs on a grayscale crop around the faces, so the cost is
proportional to the face, not the frame.  Deterministic (OpenCV's RANSAC seeds its own
generator on every call).
"""
from __future__ import annotations

import dataclasses
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

__all__ = ["STABLE_POINTS", "TrackerSettings", "MeshTracker", "similarity_apply"]

#: FaceMesh indices tracked between mesh runs: the forehead and upper-cheek ROI outlines
#: (rigid skin, the ROIs themselves) and the nose bridge/tip and wings.
STABLE_POINTS: np.ndarray = np.array(sorted({
    104, 69, 108, 151, 337, 299, 333, 334, 296, 336, 9, 107, 66, 105,      # forehead
    346, 347, 348, 329, 371, 266, 425, 411, 352,                          # left upper cheek
    117, 118, 119, 100, 142, 36, 205, 187, 123,                           # right upper cheek
    168, 6, 197, 195, 5, 4, 1, 45, 275, 51, 281, 48, 278,                 # nose
}), dtype=np.int64)


@dataclasses.dataclass(frozen=True)
class TrackerSettings:
    """How :class:`MeshTracker` tracks and when it gives up (see the module docstring)."""

    track_fb_max_px: float = 1.0     # forward-backward error above which a point is dropped
    track_min_points: float = 0.5    # fewer surviving points than this fraction → loss
    track_max_residual: float = 0.02  # median fit residual / face size above this → drift
    win: int = 9                    # LK window (pixels, odd)
    levels: int = 2                 # LK pyramid levels above the base
    crop_margin: float = 0.3        # tracked region: stable points' box grown by this × its size per side
    max_face_px: float = 0.0        # > 0: track on a copy downscaled so the face diagonal is at most this
    still_frac: float = 0.001       # motion shrinkage: this fraction of the face size is taken as "no motion"


def similarity_apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a ``2x3`` affine matrix to ``[n, 2]`` points (float32 result)."""
    m = np.asarray(matrix, dtype=np.float64)
    return (np.asarray(points, dtype=np.float64) @ m[:, :2].T + m[:, 2]).astype(np.float32)


@dataclasses.dataclass
class _Track:
    mesh: np.ndarray      # [468, 2] keyframe mesh (pixels)
    local: np.ndarray     # [468, 2] the same in crop coordinates ((mesh - crop origin) * scale)
    anchor: np.ndarray    # [P, 2] keyframe positions of the stable points (rows of local)
    points: np.ndarray    # [P, 2] their positions in the previous frame
    alive: np.ndarray     # [P] bool, still tracked
    size: float           # face diagonal at the keyframe (pixels)


class MeshTracker:
    """Carries face meshes from a keyframe through the following frames.

    ``start(frame_rgb, meshes)`` at a mesh run, then ``track(frame_rgb)`` on each later
    frame: it returns one ``[468, 2]`` float32 mesh per face, or ``None`` when any face is
    lost or drifted (then run the mesh and ``start`` again).  ``clear()`` forgets all.
    """

    def __init__(self, settings: Optional[TrackerSettings] = None) -> None:
        self.settings = settings or TrackerSettings()
        self._tracks: List[_Track] = []
        self._rect: Tuple[int, int, int, int] = (0, 0, 0, 0)
        self._scale = 1.0
        #: mean mesh displacement since the keyframe, as a fraction of the face size (largest face)
        self.motion = 0.0
        self._prev: Optional[np.ndarray] = None   # gray tracked region of the previous frame
        self._frame_size: Optional[Tuple[int, int]] = None   # (h, w) of the keyframe
        s = self.settings
        self._lk = dict(winSize=(int(s.win), int(s.win)), maxLevel=int(s.levels),
                        criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03))

    @property
    def active(self) -> bool:
        """True while there are faces being tracked."""
        return bool(self._tracks)

    def clear(self) -> None:
        """Forget every track (no face, new clip)."""
        self._tracks, self._prev, self.motion = [], None, 0.0
        self._frame_size = None

    def _gray(self, frame: np.ndarray) -> np.ndarray:
        """Grayscale tracked region of ``frame`` (downscaled by ``max_face_px``)."""
        x0, y0, x1, y1 = self._rect
        crop = frame[y0:y1, x0:x1]
        if crop.strides[1:] != (crop.shape[2] * crop.itemsize, crop.itemsize):  # OpenCV reads a row-strided
            crop = np.ascontiguousarray(crop)                                  # crop as is: copy only others
        gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
        if self._scale != 1.0:
            gray = cv2.resize(gray, None, fx=self._scale, fy=self._scale, interpolation=cv2.INTER_AREA)
        return gray

    def start(self, frame_rgb: np.ndarray, meshes: Sequence[np.ndarray]) -> None:
        """New keyframe: remember ``meshes`` (each ``[468, 2]`` pixels) seen in ``frame_rgb``."""
        self.clear()
        if not meshes:
            return
        h, w = frame_rgb.shape[:2]
        lo = np.min([np.asarray(m)[STABLE_POINTS].min(axis=0) for m in meshes], axis=0)
        hi = np.max([np.asarray(m)[STABLE_POINTS].max(axis=0) for m in meshes], axis=0)
        pad = self.settings.crop_margin * (hi - lo) + self.settings.win
        x0, y0 = np.floor(np.maximum(lo - pad, 0)).astype(int)
        x1, y1 = np.ceil(np.minimum(hi + pad, [w, h])).astype(int)
        if x1 - x0 < 8 or y1 - y0 < 8:
            return
        self._rect = (int(x0), int(y0), int(x1), int(y1))
        sizes = [float(np.hypot(*(np.ptp(np.asarray(m), axis=0)))) or 1.0 for m in meshes]
        cap = self.settings.max_face_px
        self._scale = min(1.0, cap / max(sizes)) if cap > 0 else 1.0
        origin = np.array([x0, y0], dtype=np.float32)
        for m, size in zip(meshes, sizes):
            mesh = np.asarray(m, dtype=np.float32)
            local = (mesh - origin) * self._scale
            anchor = local[STABLE_POINTS]
            self._tracks.append(_Track(mesh=mesh.copy(), local=local, anchor=anchor, points=anchor.copy(),
                                       alive=np.ones(len(anchor), dtype=bool), size=size * self._scale))
        self._prev = self._gray(frame_rgb)
        self._frame_size = (h, w)

    def _shrink(self, matrix: np.ndarray, points: np.ndarray, size: float) -> np.ndarray:
        """Soft-threshold the motion ``matrix`` (keyframe → now): a transform that moves
        ``points`` by ``d`` (mean) becomes ``I + f·(matrix − I)`` with
        ``f = max(0, 1 − still_frac·size / d)`` — no motion below the threshold, continuous
        above it.  Why: a brightness change biases Lucas–Kanade slightly, and the pulse is a
        brightness change, so a still face would otherwise wobble in step with the pulse and
        move the ROI borders with it."""
        band = self.settings.still_frac * size
        if band <= 0:
            return matrix
        eye = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
        d = float(np.linalg.norm(similarity_apply(matrix, points) - points, axis=1).mean())
        f = max(0.0, 1.0 - band / d) if d > 0 else 0.0
        return eye + f * (np.asarray(matrix, dtype=np.float64) - eye)

    def track(self, frame_rgb: np.ndarray) -> Optional[List[np.ndarray]]:
        """Meshes moved to ``frame_rgb`` (one per face, keyframe order), or ``None`` on a loss."""
        if not self._tracks or self._prev is None:
            return None
        if tuple(frame_rgb.shape[:2]) != self._frame_size:  # the camera changed its frame size: a loss
            self.clear()
            return None
        s = self.settings
        cur = self._gray(frame_rgb)
        if cur.shape != self._prev.shape:
            self.clear()
            return None
        p0 = np.concatenate([t.points for t in self._tracks]).reshape(-1, 1, 2)
        p1, st1, _ = cv2.calcOpticalFlowPyrLK(self._prev, cur, p0, None, **self._lk)
        back, st2, _ = cv2.calcOpticalFlowPyrLK(cur, self._prev, p1, None, **self._lk)
        fb = np.linalg.norm((back - p0).reshape(-1, 2), axis=1)
        ok = (st1.reshape(-1) == 1) & (st2.reshape(-1) == 1) & (fb < s.track_fb_max_px * self._scale)
        h, w = cur.shape[:2]
        p1 = p1.reshape(-1, 2)
        ok &= (p1[:, 0] >= 0) & (p1[:, 1] >= 0) & (p1[:, 0] < w) & (p1[:, 1] < h)
        out: List[np.ndarray] = []
        motion = 0.0
        origin = np.array(self._rect[:2], dtype=np.float32)
        start = 0
        for t in self._tracks:
            n = len(t.points)
            t.alive &= ok[start:start + n]
            t.points = p1[start:start + n].astype(np.float32)
            start += n
            if t.alive.sum() < max(s.track_min_points * n, 3):
                self.clear()
                return None
            src, dst = t.anchor[t.alive], t.points[t.alive]
            matrix, inliers = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC,
                                                          ransacReprojThreshold=max(1.0, 0.01 * t.size))
            if matrix is None:
                self.clear()
                return None
            resid = np.linalg.norm(similarity_apply(matrix, src) - dst, axis=1)
            if float(np.median(resid)) > s.track_max_residual * t.size:
                self.clear()
                return None
            matrix = self._shrink(matrix, t.anchor, t.size)
            mesh = similarity_apply(matrix, t.local) / self._scale + origin
            motion = max(motion, float(np.linalg.norm(mesh - t.mesh, axis=1).mean()) * self._scale / t.size)
            out.append(mesh)
        self._prev = cur
        self.motion = motion
        return out
