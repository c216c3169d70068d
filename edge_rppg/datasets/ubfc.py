"""UBFC-rPPG reader (Bobbia et al., 2019).

Expected layout (DATASET_2, "realistic" set; one folder per subject, any folder name)::

    ROOT/
      subject1/
        vid.avi             # 640x480, ~30 fps, uncompressed
        ground_truth.txt    # 3 whitespace-separated lines of equal length:
                            #   1) PPG signal  2) HR (bpm)  3) timestamps (s, from video start)
      subject3/ ...

DATASET_1 ("simple" set) folders with ``vid.avi`` + ``gtdump.xmp`` (CSV rows
``timestamp_ms, HR, SpO2, PPG``) are read as well. The PPG rate comes from the
timestamps; the reference HR is the mean of the plausible HR-column values.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Tuple

import numpy as np

from ..errors import DatasetError
from .base import DatasetReader, PathLike, Recording, natural_key, rate_from_times, video_fps

VIDEO_NAME = "vid.avi"
GT_NAME = "ground_truth.txt"
GT_XMP_NAME = "gtdump.xmp"


def read_ground_truth_txt(path: Path) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ppg, hr, times_s)`` of a DATASET_2 ``ground_truth.txt``."""
    try:
        lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc}") from None
    if len(lines) < 3:
        raise DatasetError(f"{path}: expected 3 lines (PPG, HR, timestamps), found {len(lines)}")
    try:
        ppg, hr, t = (np.array([float(v) for v in ln.split()], np.float64) for ln in lines[:3])
    except ValueError:
        raise DatasetError(f"{path}: lines must hold whitespace-separated numbers (PPG, HR, timestamps)") from None
    if not (len(ppg) == len(hr) == len(t)) or len(ppg) < 2:
        raise DatasetError(f"{path}: the 3 lines must have the same length >= 2, got {len(ppg)}, {len(hr)}, {len(t)}")
    return ppg, hr, t


def read_gtdump_xmp(path: Path) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ppg, hr, times_s)`` of a DATASET_1 ``gtdump.xmp`` (CSV: ms, HR, SpO2, PPG)."""
    try:
        rows = [ln.split(",") for ln in path.read_text().splitlines() if ln.strip()]
        data = np.array([[float(v) for v in r[:4]] for r in rows], np.float64)
    except (OSError, ValueError, IndexError):
        raise DatasetError(f"{path}: expected CSV rows 'timestamp_ms,HR,SpO2,PPG'") from None
    if data.ndim != 2 or data.shape[1] != 4 or len(data) < 2:
        raise DatasetError(f"{path}: expected at least 2 CSV rows 'timestamp_ms,HR,SpO2,PPG'")
    return data[:, 3], data[:, 1], data[:, 0] / 1000.0


class UBFCReader(DatasetReader):
    """UBFC-rPPG: ``ROOT/<subject>/vid.avi`` + ``ground_truth.txt`` (or ``gtdump.xmp``)."""

    name = "ubfc"
    layout = ("  ROOT/<subject>/vid.avi\n"
              "  ROOT/<subject>/ground_truth.txt   (3 lines: PPG, HR, timestamps in s)\n"
              "  (or ROOT/<subject>/gtdump.xmp: CSV timestamp_ms,HR,SpO2,PPG)")

    def list_recordings(self, root: PathLike) -> List[Recording]:
        """One :class:`Recording` per subject folder holding ``vid.avi``."""
        root = self.check_root(root)
        recs = []
        for sub in sorted((d for d in root.iterdir() if d.is_dir()), key=lambda d: natural_key(d.name)):
            video = sub / VIDEO_NAME
            if not video.is_file():
                continue
            if (sub / GT_NAME).is_file():
                ppg, hr, t = read_ground_truth_txt(sub / GT_NAME)
            elif (sub / GT_XMP_NAME).is_file():
                ppg, hr, t = read_gtdump_xmp(sub / GT_XMP_NAME)
            else:
                raise DatasetError(f"ubfc: {sub} has {VIDEO_NAME} but neither {GT_NAME} nor {GT_XMP_NAME}")
            t = t - t[0]
            fs = rate_from_times(t, f"ubfc {sub.name} timestamps")
            recs.append(Recording(
                name=sub.name, video_path=video, ppg=ppg, ppg_fs=fs,
                hr_bpm=self.reference_hr(ppg, fs, hr, str(sub)), fps=video_fps(video, f"ubfc {sub.name}"),
                ppg_times_s=t, hr_trace_bpm=hr, hr_trace_times_s=t, dataset=self.name))
        if not recs:
            raise self.no_recordings(root)
        return recs
