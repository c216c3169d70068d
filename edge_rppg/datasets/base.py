"""Common part of the dataset readers: the :class:`Recording` record, the
:class:`DatasetReader` base (listing, MSTmap extraction with caching, reference BVP on
the frame times) and small parsing helpers shared by the four readers.

A reader only knows its dataset's on-disk layout: ``list_recordings(root)`` turns a
folder into :class:`Recording` objects (video or frame folder, contact PPG with its
rate and times, reference HR, frame rate). Everything after that — MSTmap extraction,
cache, resampling of the reference onto the frames — is shared here.
"""
from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from ..errors import DatasetError
from .cache import cached_extraction

PathLike = Union[str, Path]

#: Plausible heart rates (bpm); HR-column values outside are oximeter dropouts.
HR_RANGE_BPM = (30.0, 220.0)


@dataclasses.dataclass
class Recording:
    """One recording of a dataset.

    name: unique within the dataset (e.g. ``subject1``, ``01-01``, ``p1_v1_source2``).
    video_path: a video file or a folder of image frames.
    ppg: contact reference waveform (PPG, or continuous blood pressure for MMSE-HR).
    ppg_fs: its (nominal) sampling rate in Hz.
    hr_bpm: reference mean HR (the dataset's HR column where it has one, else from ``ppg``).
    fps: video frame rate.
    ppg_times_s / frame_times_s: sample and frame times in seconds on a common clock
        whose origin is the first frame, where the dataset records them; otherwise
        ``None`` and the times are ``i / ppg_fs`` and ``i / fps``.
    frame_files: the frames in order, for frame-folder recordings.
    hr_trace_bpm / hr_trace_times_s: the dataset's HR column over time, if any.
    """

    name: str
    video_path: Path
    ppg: np.ndarray
    ppg_fs: float
    hr_bpm: float
    fps: float
    ppg_times_s: Optional[np.ndarray] = None
    frame_times_s: Optional[np.ndarray] = None
    frame_files: Optional[List[Path]] = None
    hr_trace_bpm: Optional[np.ndarray] = None
    hr_trace_times_s: Optional[np.ndarray] = None
    dataset: str = ""

    def ppg_time_axis(self) -> np.ndarray:
        """Times (s) of the PPG samples: ``ppg_times_s`` or ``i / ppg_fs``."""
        if self.ppg_times_s is not None:
            return np.asarray(self.ppg_times_s, np.float64)
        return np.arange(len(self.ppg)) / float(self.ppg_fs)

    def frame_time_axis(self, n: int) -> np.ndarray:
        """Times (s) of the first ``n`` frames: ``frame_times_s`` (extended at ``fps`` if it
        is shorter than ``n``) or ``i / fps``."""
        if self.frame_times_s is None or len(self.frame_times_s) == 0:
            return np.arange(n) / float(self.fps)
        t = np.asarray(self.frame_times_s, np.float64)[:n]
        if len(t) < n:
            t = np.concatenate([t, t[-1] + np.arange(1, n - len(t) + 1) / float(self.fps)])
        return t


@dataclasses.dataclass
class MSTmapRecord:
    """A recording's MSTmap with its reference aligned frame by frame.

    mstmap ``[T, 63, 6]`` float32 raw means (NaN where ``valid`` is False), valid ``[T]``,
    fps, timestamps_s ``[T]`` (the frame times used for the alignment), bvp ``[T]``
    float32 reference resampled onto those times and standardised (zero mean, unit std),
    hr_bpm (the recording's reference), from_cache (True when read from the cache).
    """

    name: str
    mstmap: np.ndarray
    valid: np.ndarray
    fps: float
    timestamps_s: np.ndarray
    bvp: np.ndarray
    hr_bpm: float
    from_cache: bool


class DatasetReader:
    """Base of the dataset readers (registered in ``edge_rppg.datasets.DATASETS``).

    Subclasses implement :meth:`list_recordings`; :meth:`load_mstmap` is shared.
    ``hr_source``: ``"file"`` takes the reference HR from the dataset's HR column where
    it has one (falling back to the PPG), ``"ppg"`` always computes it from the PPG
    spectrum (as many papers do).
    """

    name: str = "base"
    layout: str = ""

    def __init__(self, hr_source: str = "file") -> None:
        if hr_source not in ("file", "ppg"):
            raise ValueError(f"hr_source={hr_source!r}; expected 'file' or 'ppg'")
        self.hr_source = hr_source

    # -- to implement ----------------------------------------------------------------
    def list_recordings(self, root: PathLike) -> List[Recording]:
        """Every recording under ``root``, sorted by name; ``DatasetError`` when the
        folder does not match the layout of this dataset."""
        raise NotImplementedError

    # -- shared ------------------------------------------------------------------------
    def check_root(self, root: PathLike) -> Path:
        """``root`` as a Path, or ``DatasetError`` when it is not an existing folder."""
        root = Path(root)
        if not root.is_dir():
            raise DatasetError(f"{self.name}: dataset root is not a folder: {root}\nexpected layout:\n{self.layout}")
        return root

    def no_recordings(self, root: Path) -> DatasetError:
        """The error for a root without any recording of this dataset's layout."""
        return DatasetError(f"{self.name}: no recordings found under {root}; expected layout:\n{self.layout}")

    def reference_hr(self, ppg: np.ndarray, fs: float, hr_column: Optional[np.ndarray], where: str) -> float:
        """Reference HR: the mean of the plausible values of ``hr_column`` (when
        ``hr_source == "file"`` and it has any), else the PPG's spectral peak."""
        if self.hr_source == "file" and hr_column is not None:
            h = np.asarray(hr_column, np.float64)
            h = h[np.isfinite(h) & (h >= HR_RANGE_BPM[0]) & (h <= HR_RANGE_BPM[1])]
            if h.size:
                return float(h.mean())
        hr = hr_from_ppg(ppg, fs)
        if not math.isfinite(hr):
            raise DatasetError(f"{self.name}: cannot compute a reference HR from the PPG of {where}")
        return hr

    def frame_source(self, rec: Recording) -> Tuple[object, Optional[float]]:
        """What :func:`edge_rppg.processor.extract.extract_mstmap` reads for ``rec``: the video path
        (fps from its container) or, for a frame folder, the frames in order and the fps."""
        if rec.frame_files:
            return _iter_images(rec.frame_files), float(rec.fps)
        return rec.video_path, None

    def load_mstmap(self, rec: Recording, cache_dir: Optional[PathLike] = None, *, landmarker: object = None,
                    progress: bool = False) -> MSTmapRecord:
        """MSTmap of ``rec`` (extracted once, then read from ``cache_dir``; ``None`` = no
        cache) with the reference PPG resampled onto its frame times."""
        from ..processor.extract import extract_mstmap

        def compute() -> object:
            source, fps = self.frame_source(rec)
            return extract_mstmap(source, landmarker, fps=fps, progress=progress, keep_landmarks=False)

        entry, hit = cached_extraction(rec.video_path, cache_dir, compute, frame_files=rec.frame_files)
        t = rec.frame_time_axis(len(entry.valid))
        bvp = resample_reference(rec.ppg, rec.ppg_time_axis(), t)
        return MSTmapRecord(name=rec.name, mstmap=entry.mstmap, valid=entry.valid, fps=entry.fps, timestamps_s=t,
                            bvp=bvp, hr_bpm=float(rec.hr_bpm), from_cache=hit)


# --------------------------------------------------------------------------- helpers
def hr_from_ppg(ppg: np.ndarray, fs: float) -> float:
    """HR (bpm) of a contact PPG: spectral peak of :func:`edge_rppg.vitals.dsp.hr.hr_from_psd`
    (NaN when the signal is too short or flat)."""
    from ..vitals.dsp.hr import hr_from_psd

    return float(hr_from_psd(np.asarray(ppg, np.float64), float(fs)).hr_bpm)


def resample_reference(ppg: np.ndarray, ppg_t: np.ndarray, frame_t: np.ndarray) -> np.ndarray:
    """Reference waveform linearly interpolated at the frame times (held constant beyond
    its ends), standardised to zero mean and unit std; float32 ``[T]``."""
    ppg = np.asarray(ppg, np.float64)
    ppg_t = np.asarray(ppg_t, np.float64)
    n = min(len(ppg), len(ppg_t))
    if n < 2:
        raise DatasetError(f"reference has {n} samples; need at least 2 to resample it")
    order = np.argsort(ppg_t[:n], kind="stable")
    y = np.interp(frame_t, ppg_t[:n][order], ppg[:n][order])
    sd = float(y.std())
    return ((y - y.mean()) / (sd if sd > 0 else 1.0)).astype(np.float32)


def rate_from_times(t: np.ndarray, what: str) -> float:
    """Sampling rate (Hz) from sample times in seconds: 1 / mean interval, ignoring
    intervals outside 0.5..1.5x the median (dropped samples, clock jumps) so that both
    gaps and timestamps rounded to whole milliseconds give the true rate."""
    t = np.asarray(t, np.float64)
    d = np.diff(t)
    d = d[d > 0]
    if d.size == 0:
        raise DatasetError(f"{what}: need at least two increasing timestamps to get a rate")
    med = float(np.median(d))
    d = d[(d >= 0.5 * med) & (d <= 1.5 * med)]
    return float(1.0 / d.mean())


def natural_key(text: str) -> Tuple[object, ...]:
    """Sort key that orders embedded numbers numerically (``p2`` before ``p10``)."""
    return tuple(int(tok) if tok.isdigit() else tok.lower() for tok in re.split(r"(\d+)", text))


def numbers_in_file(path: Path, what: str) -> np.ndarray:
    """All numbers in a text file of one value per line (or whitespace separated)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise DatasetError(f"cannot read {what} {path}: {exc}") from None
    try:
        values = np.array([float(tok) for tok in text.split()], np.float64)
    except ValueError:
        raise DatasetError(f"{what} {path} is not a list of numbers") from None
    if values.size == 0:
        raise DatasetError(f"{what} {path} is empty")
    return values


def csv_column(path: Path, column: str) -> np.ndarray:
    """The numeric column named ``column`` (header row) of a small CSV file."""
    import csv

    try:
        with open(path, newline="") as fh:
            rows = [r for r in csv.reader(fh) if r and any(c.strip() for c in r)]
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc}") from None
    if not rows:
        raise DatasetError(f"{path} is empty; expected a header with column {column!r}")
    header = [c.strip() for c in rows[0]]
    if column not in header:
        raise DatasetError(f"{path}: no column {column!r} in header {header}")
    j = header.index(column)
    try:
        return np.array([float(r[j]) for r in rows[1:] if len(r) > j and r[j].strip()], np.float64)
    except ValueError:
        raise DatasetError(f"{path}: column {column!r} has non-numeric values") from None


def _iter_images(files: Sequence[Path]) -> Iterator[np.ndarray]:
    """Decode image files in order, BGR → RGB only (depth and channel count are kept, so
    the extractor's frame check rejects 16-bit or grayscale frames instead of this
    function converting them silently); ``DatasetError`` for an unreadable file."""
    for f in files:
        img = cv2.imread(str(f), cv2.IMREAD_UNCHANGED)
        if img is None:
            raise DatasetError(f"not a readable image frame: {f}")
        yield cv2.cvtColor(img, cv2.COLOR_BGR2RGB) if img.ndim == 3 and img.shape[2] == 3 else img


def video_fps(path: Path, what: str) -> float:
    """Frame rate in the container of a video file (``DatasetError`` if unreadable/none)."""
    from ..errors import VideoReadError
    from ..frames.video import open_video

    try:
        with open_video(path) as reader:
            fps = reader.fps
    except VideoReadError as exc:
        raise DatasetError(f"{what}: {exc}") from None
    if not fps or not fps > 0:
        raise DatasetError(f"{what}: video {path} has no frame rate in its header")
    return float(fps)
