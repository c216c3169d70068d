"""Video → MSTmap: the processor's per-frame front run over a whole file, recorded.

Per frame: decode (+ frame check) → landmarks (optional One-Euro smoothing) → ROI sums
(label map over the face box, one ``bincount``) — the front of
:func:`edge_rppg.processor.front.build_front`, the same stages a stream runs. A
:class:`ClipRecorder` keeps each frame's six ROI sums; at the end they are combined into
``[T, 63, 6]`` by one matmul. Frames without a face are NaN rows with ``valid=False``
(never averaged as zeros); :func:`edge_rppg.skin.mstmap.fill_invalid` interpolates across them.
"""
from __future__ import annotations

import dataclasses
import itertools
import os
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Tuple, Union

import numpy as np

from ..errors import ConfigError, NoFaceError, VideoReadError
from ..face.smoothing import LandmarkSmoother
from ..face.stage import FaceObservation
from ..face.types import N_LANDMARKS, Landmarker
from ..frames.video import check_fps, iter_frames_checked, open_video
from ..skin.mstmap import combine_roi_sums
from ..skin.roi import META_ROI_NAMES
from ..skin.stage import SkinSample
from ..stage import timed
from .front import Front, build_front
from .options import EdgeRPPGOptions, video_options

__all__ = ["Source", "EXTRACTOR_VERSION", "PROGRESS_MIN_FRAMES", "Extraction", "ClipRecorder", "open_frames",
           "run_front", "extract_mstmap"]

Source = Union[str, os.PathLike, Iterable[np.ndarray]]
#: Bump when landmarks, ROI polygons or MSTmap maths change: cached MSTmaps keyed on it go stale.
EXTRACTOR_VERSION = "3"  # 2: frames timed by their own timestamps, off-face light (artefact gate); 3: ONNX face models
#: Show a progress bar only for sources longer than this many frames (or of unknown length).
PROGRESS_MIN_FRAMES = 300
_N_ROI = len(META_ROI_NAMES)
_NAN_BOX = (np.nan,) * 4
_NAN_RGB = np.full(3, np.nan)


@dataclasses.dataclass
class Extraction:
    """Result of :func:`extract_mstmap`.

    mstmap: ``[T, 63, 6]`` float32 raw 0..255 means, ``[T, 63, 1]`` sensor-unit intensity means
    for a gray stream (NaN rows where ``valid`` is False;
    a valid frame can still have NaN in the rows made only of ROIs that lie outside the
    frame — :func:`edge_rppg.skin.mstmap.fill_invalid` interpolates both).
    valid: ``[T]`` bool, True where a face was found and at least one ROI pixel was inside the frame.
    fps: frame rate of the source.  timestamps_s: ``[T]`` float64 frame times.
    landmarks: ``[T, 468, 2]`` float32 (smoothed if smoothing was on; NaN when invalid), or
    None with ``keep_landmarks=False``.  boxes: ``[T, 4]`` float32 face boxes (x0, y0, x1, y1).
    timing_ms: mean milliseconds per frame of each stage (decode, landmarks, roi, mstmap)
    plus their sum (total).
    light: ``[T, 3]`` float64 mean RGB (``[T, 1]`` intensity for gray) of each frame outside the face box
    (:func:`edge_rppg.skin.light.off_face_light`; NaN where not measured), or None; the
    artefact gate of :mod:`edge_rppg.vitals.validity` compares it, and the face boxes, with the pulse.
    source: what was read (a path, or a display name).  frames_promised: the frame count its
    header promised (a video file), or the length of a frame list; None when unknown.
    """

    mstmap: np.ndarray
    valid: np.ndarray
    fps: float
    timestamps_s: np.ndarray
    landmarks: Optional[np.ndarray]
    boxes: np.ndarray
    timing_ms: Dict[str, float]
    light: Optional[np.ndarray] = None
    source: str = ""
    frames_promised: Optional[int] = None

    def __len__(self) -> int:
        return int(self.mstmap.shape[0])


class ClipRecorder:
    """Keeps what the front stages found in each frame (ROI sums, face, time) so a whole
    clip can be analysed at the end; :meth:`extraction` combines it into an :class:`Extraction`."""

    def __init__(self, keep_landmarks: bool = True) -> None:
        self.keep_landmarks = bool(keep_landmarks)
        self.reset()

    def reset(self) -> None:
        """Forget the recorded frames."""
        self._sums: List[np.ndarray] = []
        self._counts: List[np.ndarray] = []
        self._lms: List[Optional[np.ndarray]] = []
        self._boxes: List[Tuple[float, ...]] = []
        self._times: List[float] = []
        self._light: List[np.ndarray] = []

    def __len__(self) -> int:
        return len(self._times)

    @property
    def timestamps(self) -> np.ndarray:
        """Times (s) of the recorded frames."""
        return np.asarray(self._times, dtype=np.float64)

    def add(self, timestamp: float, face: FaceObservation, skin: SkinSample) -> None:
        """Record one frame's face and skin signal (a frame without a usable face is a NaN row)."""
        ok = skin.sums is not None and skin.counts is not None and face.face is not None
        ch = 3 if skin.light is None else int(np.size(skin.light))  # 3 colour, 1 gray
        self._sums.append(skin.sums if ok else np.full((_N_ROI, ch), np.nan))  # type: ignore[arg-type]
        self._counts.append(skin.counts if ok else np.zeros(_N_ROI, dtype=np.int64))  # type: ignore[arg-type]
        self._lms.append(face.landmarks if ok and self.keep_landmarks else None)
        self._boxes.append(face.box if ok else _NAN_BOX)  # type: ignore[arg-type]
        self._times.append(float(timestamp))
        self._light.append(skin.light if skin.light is not None else _NAN_RGB)

    def extraction(self, fps: float, name: str = "source", timing_ms: Optional[Dict[str, float]] = None,
                   frames_promised: Optional[int] = None, source: Optional[str] = None) -> Extraction:
        """The recorded clip as an :class:`Extraction` at frame rate ``fps`` (``name``: a short
        name for messages; ``source``: the path read, default ``name``; ``frames_promised``:
        what the source said it holds).

        Raises ``VideoReadError`` (no frames) or ``NoFaceError`` (no face in any frame)."""
        T = len(self._times)
        if T == 0:
            raise VideoReadError(f"{name}: the source produced zero frames")
        t0 = time.perf_counter()
        mstmap = combine_roi_sums(np.stack(self._sums), np.stack(self._counts))
        timing = dict(timing_ms or {})
        timing["mstmap"] = 1e3 * (time.perf_counter() - t0) / T
        valid = np.array([c.any() for c in self._counts], dtype=bool)
        if not valid.any():
            raise NoFaceError(f"{name}: no face found in any of its {T} frames")
        landmarks: Optional[np.ndarray] = None
        if self.keep_landmarks:
            landmarks = np.full((T, N_LANDMARKS, 2), np.nan, dtype=np.float32)
            for k, lm in enumerate(self._lms):
                if lm is not None:
                    landmarks[k] = lm
        timing["total"] = sum(v for k, v in timing.items() if k != "total")
        return Extraction(mstmap=mstmap, valid=valid, fps=float(fps),
                          timestamps_s=np.asarray(self._times, dtype=np.float64), landmarks=landmarks,
                          boxes=np.asarray(self._boxes, dtype=np.float32).reshape(T, 4), timing_ms=timing,
                          light=np.asarray(self._light, dtype=np.float64).reshape(T, -1), source=source or name,
                          frames_promised=frames_promised)


def open_frames(source: Source, fps: Optional[float], stack: ExitStack, color_space: str = "rgb"
                ) -> Tuple[Iterator[Tuple[float, np.ndarray]], float, Optional[int], str]:
    """``(t_s, frame)`` iterator (frames checked), nominal fps, expected length (or None)
    and a display name of a video path, an image folder or an iterable of frames (then
    ``fps`` is required). A video file opened without ``fps`` is timed by its own frame
    timestamps (:meth:`edge_rppg.frames.video.VideoReader.iter_timed`); otherwise frame ``i`` is
    at ``i / fps``. Rates outside :data:`edge_rppg.frames.video.FPS_RANGE` are refused.
    Frames are checked for ``color_space`` (a gray file: a GRAY8 video, 8/16-bit images)."""
    if isinstance(source, (str, os.PathLike)):
        reader = stack.enter_context(open_video(source, fps=fps))
        if reader.fps is None:
            raise ConfigError(f"{source}: an image folder has no frame rate; pass fps= (CLI: --fps)")
        return (_checked_timed(reader.iter_timed(), color_space), float(reader.fps), reader.frame_count,
                Path(source).name)
    if isinstance(source, np.ndarray) and source.ndim == 3:
        raise ConfigError("source is a single frame; pass a list/array of frames [T, H, W, 3]")
    if fps is None:
        raise ConfigError("fps is required when source is an iterable of frames")
    rate = check_fps(fps)
    total = len(source) if hasattr(source, "__len__") else None  # type: ignore[arg-type]
    frames = iter_frames_checked(iter(source), color_space)
    return ((i / rate, f) for i, f in enumerate(frames)), rate, total, "frames"


def _checked_timed(timed: Iterator[Tuple[float, np.ndarray]], color_space: str = "rgb"
                   ) -> Iterator[Tuple[float, np.ndarray]]:
    """``(t, frame)`` with each frame through :func:`edge_rppg.frames.video.iter_frames_checked`."""
    now = [0.0]

    def frames() -> Iterator[np.ndarray]:
        for t, f in timed:
            now[0] = t
            yield f

    for f in iter_frames_checked(frames(), color_space):
        yield now[0], f


def run_front(front: Front, source: Source, recorder: ClipRecorder, *, fps: Optional[float] = None,
              progress: bool = True) -> Extraction:
    """Run the front (``input``, ``landmarks``, ``roi``) over every frame of ``source`` at
    the times :func:`open_frames` gives (a file's own frame timestamps, else ``i / fps``)
    and return the recorded clip. Frame errors propagate (a file with one bad frame is a
    bad file); ``progress`` shows a tqdm bar for sources longer than
    :data:`PROGRESS_MIN_FRAMES`."""
    t_decode_ms = 0.0
    start_ms = [stage.timer.total_ms for stage in front.stages]  # the stages may have run before: time this run only
    with ExitStack() as stack:
        frames, rate, total, name = open_frames(source, fps, stack, front.input.color_space)
        first = next(frames, None)  # checked before a progress bar shows: a wrong frame is one error line
        frames = itertools.chain([] if first is None else [first], frames)
        bar = None
        if progress and (total is None or total > PROGRESS_MIN_FRAMES):
            from tqdm import tqdm  # only when a bar is shown

            bar = stack.enter_context(tqdm(total=total, desc=f"MSTmap {name}", unit="frame", leave=False))
        for i, ((t_frame, image), ms) in enumerate(timed(frames)):
            t_decode_ms += ms
            out = front.run(image, t_frame, i)
            recorder.add(out.frame.timestamp, out.face, out.skin)
            if bar is not None:
                bar.update(1)
    n = max(len(recorder), 1)
    timing = {"decode": t_decode_ms / n}
    for stage, ms0 in zip(front.stages, start_ms):
        key = "decode" if stage.name == "input" else stage.name
        timing[key] = timing.get(key, 0.0) + (stage.timer.total_ms - ms0) / n
    path = str(source) if isinstance(source, (str, os.PathLike)) else None
    return recorder.extraction(rate, name, timing, frames_promised=total, source=path)


def extract_mstmap(source: Source, landmarker: Optional[Landmarker] = None, *, fps: Optional[float] = None,
                   progress: bool = True, smoother: Union[bool, LandmarkSmoother] = True,
                   keep_landmarks: bool = True, options: Optional[EdgeRPPGOptions] = None) -> Extraction:
    """Extract the ``[T, 63, 6]`` MSTmap of a video file, an image folder or RGB frames.

    ``options``: the front's settings (default :func:`~edge_rppg.processor.options.video_options`:
    the default landmarker with its default options, the first face, CPU ROI sums).
    ``landmarker``: a ready one instead (left open; the one built from ``options`` is
    closed at the end).  ``fps``: required for an iterable of frames and an image folder,
    optional override for a video file.  ``progress``: tqdm bar (stderr) for sources
    longer than :data:`PROGRESS_MIN_FRAMES` frames; ``False`` silences it.  ``smoother``:
    True for the default :class:`~edge_rppg.face.smoothing.LandmarkSmoother`, or your own,
    or False.

    Raises ``VideoReadError`` (unreadable/empty source), ``FrameFormatError`` (a frame is
    not HxWx3 uint8) and ``NoFaceError`` (no face in any frame).
    """
    front = build_front(options or video_options(), landmarker=landmarker, smoother=smoother)
    try:
        return run_front(front, source, ClipRecorder(keep_landmarks), fps=fps, progress=progress)
    finally:
        front.close()
