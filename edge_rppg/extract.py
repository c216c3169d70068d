"""Video → MSTmap: decode, find landmarks, sum the six ROIs, combine into 63x6 rows.

Per frame: decode (+ frame check) → landmarks (largest face, optional One-Euro
smoothing) → ROI sums (label map over the face box, one ``bincount``).  After the last
frame, all ``[T, 6]`` sums are combined into ``[T, 63, 6]`` by one matmul.  Frames without
a face are kept as NaN rows with ``valid=False`` (never averaged as zeros); use
:func:`edge_rppg.mstmap.fill_invalid` to interpolate across them.
"""
from __future__ import annotations

import dataclasses
import os
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Tuple, Union

import numpy as np

from .errors import NoFaceError, VideoReadError
from .landmarks import N_LANDMARKS, Landmarker, LandmarkSmoother, MediaPipeLandmarker
from .mstmap import combine_roi_sums
from .roi import META_ROI_NAMES, frame_roi_sums
from .video import iter_frames_checked, open_video

Source = Union[str, os.PathLike, Iterable[np.ndarray]]
#: Bump when landmarks, ROI polygons or MSTmap maths change: cached MSTmaps keyed on it go stale.
EXTRACTOR_VERSION = "1"
#: Show a progress bar only for sources longer than this many frames (or of unknown length).
PROGRESS_MIN_FRAMES = 300


@dataclasses.dataclass
class Extraction:
    """Result of :func:`extract_mstmap`.

    mstmap: ``[T, 63, 6]`` float32 raw 0..255 means (NaN rows where ``valid`` is False;
    a valid frame can still have NaN in the rows made only of ROIs that lie outside the
    frame — :func:`edge_rppg.mstmap.fill_invalid` interpolates both).
    valid: ``[T]`` bool, True where a face was found and at least one ROI pixel was inside the frame.
    fps: frame rate of the source.  timestamps_s: ``[T]`` float64, ``i / fps``.
    landmarks: ``[T, 468, 2]`` float32 (smoothed if smoothing was on; NaN when invalid), or
    None with ``keep_landmarks=False``.  boxes: ``[T, 4]`` float32 face boxes (x0, y0, x1, y1).
    timing_ms: mean milliseconds per frame of each stage (decode, landmarks, roi, mstmap)
    plus their sum (total).
    """

    mstmap: np.ndarray
    valid: np.ndarray
    fps: float
    timestamps_s: np.ndarray
    landmarks: Optional[np.ndarray]
    boxes: np.ndarray
    timing_ms: Dict[str, float]

    def __len__(self) -> int:
        return int(self.mstmap.shape[0])


def _open_source(source: Source, fps: Optional[float], stack: ExitStack
                 ) -> Tuple[Iterator[np.ndarray], float, Optional[int], str]:
    """Frames iterator (checked), fps, expected length (or None) and a display name."""
    if isinstance(source, (str, os.PathLike)):
        reader = stack.enter_context(open_video(source, fps=fps))
        if reader.fps is None or not reader.fps > 0:
            raise ValueError(f"{source}: the source has no frame rate; pass fps=")
        return iter_frames_checked(reader), float(reader.fps), reader.frame_count, Path(source).name
    if isinstance(source, np.ndarray) and source.ndim == 3:
        raise ValueError("source is a single frame; pass a list/array of frames [T, H, W, 3]")
    if fps is None or not fps > 0:
        raise ValueError("fps is required (> 0) when source is an iterable of frames")
    total = len(source) if hasattr(source, "__len__") else None  # type: ignore[arg-type]
    return iter_frames_checked(iter(source)), float(fps), total, "frames"


def extract_mstmap(source: Source, landmarker: Optional[Landmarker] = None, *, fps: Optional[float] = None,
                   progress: bool = True, smoother: Union[bool, LandmarkSmoother] = True,
                   keep_landmarks: bool = True) -> Extraction:
    """Extract the ``[T, 63, 6]`` MSTmap of a video file, an image folder or RGB frames.

    ``landmarker``: defaults to a new tracking :class:`MediaPipeLandmarker` (closed at the
    end; one you pass in is left open).  ``fps``: required for an iterable of frames and an
    image folder, optional override for a video file.  ``progress``: tqdm bar (stderr)
    for sources longer than :data:`PROGRESS_MIN_FRAMES` frames; ``False`` silences it.
    ``smoother``: True for the default :class:`LandmarkSmoother`, or your own, or False.

    Raises ``VideoReadError`` (unreadable/empty source), ``FrameFormatError`` (a frame is
    not HxWx3 uint8) and ``NoFaceError`` (no face in any frame).
    """
    smooth: Optional[LandmarkSmoother]
    smooth = LandmarkSmoother() if smoother is True else (smoother or None)  # type: ignore[assignment]
    sums_list: List[np.ndarray] = []
    counts_list: List[np.ndarray] = []
    lms: List[Optional[np.ndarray]] = []
    valid_list: List[bool] = []
    boxes: List[Tuple[float, float, float, float]] = []
    t_decode = t_lm = t_roi = 0.0
    nan_box = (np.nan,) * 4
    n_roi = len(META_ROI_NAMES)
    with ExitStack() as stack:
        frames, rate, total, name = _open_source(source, fps, stack)
        if landmarker is None:
            landmarker = stack.enter_context(MediaPipeLandmarker())
        show = progress and (total is None or total > PROGRESS_MIN_FRAMES)
        bar = None
        if show:
            from tqdm import tqdm

            bar = stack.enter_context(tqdm(total=total, desc=f"MSTmap {name}", unit="frame", leave=False))
        i = 0
        while True:
            t0 = time.perf_counter()
            try:
                frame = next(frames)
            except StopIteration:
                break
            t1 = time.perf_counter()
            t_s = i / rate
            faces = landmarker.detect(frame, t_s * 1000.0)
            if faces:
                lm = faces[0].landmarks
                if smooth is not None:
                    lm = smooth(lm, t_s)
                box = faces[0].box
            else:
                lm = None
                box = nan_box
                if smooth is not None:
                    smooth.reset()
            t2 = time.perf_counter()
            if lm is not None:
                s, c = frame_roi_sums(frame, lm)
                if not c.any():          # face entirely outside the frame: nothing to average
                    lm, box = None, nan_box
            if lm is None:
                s, c = np.full((n_roi, 3), np.nan), np.zeros(n_roi, dtype=np.int64)
            t3 = time.perf_counter()
            sums_list.append(s)
            counts_list.append(c)
            lms.append(lm if keep_landmarks else None)
            valid_list.append(lm is not None)
            boxes.append(box)
            t_decode += t1 - t0
            t_lm += t2 - t1
            t_roi += t3 - t2
            i += 1
            if bar is not None:
                bar.update(1)
    T = len(sums_list)
    if T == 0:
        raise VideoReadError(f"{name}: the source produced zero frames")
    t4 = time.perf_counter()
    mstmap = combine_roi_sums(np.stack(sums_list), np.stack(counts_list))
    t_mst = time.perf_counter() - t4
    valid = np.array(valid_list, dtype=bool)
    if not valid.any():
        raise NoFaceError(f"{name}: no face found in any of its {T} frames")
    landmarks_arr: Optional[np.ndarray] = None
    if keep_landmarks:
        landmarks_arr = np.full((T, N_LANDMARKS, 2), np.nan, dtype=np.float32)
        for k, lm_ in enumerate(lms):
            if lm_ is not None:
                landmarks_arr[k] = lm_
    timing = {"decode": 1e3 * t_decode / T, "landmarks": 1e3 * t_lm / T,
              "roi": 1e3 * t_roi / T, "mstmap": 1e3 * t_mst / T}
    timing["total"] = sum(timing.values())
    return Extraction(mstmap=mstmap, valid=valid, fps=rate,
                      timestamps_s=np.arange(T, dtype=np.float64) / rate,
                      landmarks=landmarks_arr, boxes=np.asarray(boxes, dtype=np.float32).reshape(T, 4),
                      timing_ms=timing)
