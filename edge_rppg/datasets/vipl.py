"""VIPL-HR reader (Niu et al., 2018: 107 subjects, 9 scenarios, 3 RGB cameras + NIR).

Expected layout::

    ROOT/
      p1/                      # subject
        v1/                    # scenario (v1..v9, some repeated as v1-2 ...)
          source1/             # camera: 1 Logitech C310, 2 HUAWEI P9, 3 RealSense F200, 4 NIR
            video.avi
            wave.csv           # header "Wave", contact BVP at ~60 Hz
            gt_HR.csv          # header "HR", one value per second
            time.txt           # optional: one timestamp (ms) per frame
            gt_SpO2.csv        # (not used)

``source4`` (near infrared) is skipped unless ``sources`` includes 4. Frame times come
from ``time.txt`` where present (the phone videos have irregular frame rates), else from
the container frame rate; the BVP is taken to start with the first frame at
``wave_fs`` Hz. The reference HR is the mean of ``gt_HR.csv``.
"""
from __future__ import annotations

import re
from typing import List, Sequence

import numpy as np

from ..errors import DatasetError
from .base import DatasetReader, PathLike, Recording, csv_column, natural_key, numbers_in_file, rate_from_times, \
    video_fps

_SUBJECT_RE = re.compile(r"^p\d+$", re.IGNORECASE)
_SCENARIO_RE = re.compile(r"^v\d+(-\d+)?$", re.IGNORECASE)
_SOURCE_RE = re.compile(r"^source(\d+)$", re.IGNORECASE)


class VIPLReader(DatasetReader):
    """VIPL-HR: ``ROOT/pX/vY/sourceZ/{video.avi, wave.csv, gt_HR.csv, time.txt}``."""

    name = "vipl"
    layout = ("  ROOT/p<N>/v<M>/source<K>/video.avi\n"
              "  ROOT/p<N>/v<M>/source<K>/wave.csv    (header 'Wave', ~60 Hz)\n"
              "  ROOT/p<N>/v<M>/source<K>/gt_HR.csv   (header 'HR', 1 Hz)\n"
              "  ROOT/p<N>/v<M>/source<K>/time.txt    (optional, ms per frame)")

    def __init__(self, hr_source: str = "file", sources: Sequence[int] = (1, 2, 3), wave_fs: float = 60.0) -> None:
        super().__init__(hr_source)
        self.sources = tuple(int(s) for s in sources)
        if not wave_fs > 0:
            raise ValueError(f"wave_fs must be > 0, got {wave_fs}")
        self.wave_fs = float(wave_fs)

    def list_recordings(self, root: PathLike) -> List[Recording]:
        """One :class:`Recording` per ``sourceZ`` folder holding ``video.avi``."""
        root = self.check_root(root)
        recs = []
        for video in sorted(root.glob("*/*/*/video.avi"), key=lambda p: tuple(natural_key(part) for part in p.relative_to(root).parts)):
            src, scen, subj = video.parent, video.parent.parent, video.parent.parent.parent
            m = _SOURCE_RE.match(src.name)
            if not (m and _SCENARIO_RE.match(scen.name) and _SUBJECT_RE.match(subj.name)):
                continue
            if int(m.group(1)) not in self.sources:
                continue
            name = f"{subj.name}_{scen.name}_{src.name}"
            for needed in ("wave.csv", "gt_HR.csv"):
                if not (src / needed).is_file():
                    raise DatasetError(f"vipl: {src} has video.avi but no {needed}")
            wave = csv_column(src / "wave.csv", "Wave")
            hr = csv_column(src / "gt_HR.csv", "HR")
            if wave.size < 2:
                raise DatasetError(f"vipl: {src / 'wave.csv'} has fewer than 2 samples")
            frame_s = None
            if (src / "time.txt").is_file():
                ms = numbers_in_file(src / "time.txt", "vipl frame times")
                frame_s = (ms - ms[0]) / 1000.0
                fps = rate_from_times(frame_s, f"vipl {name} time.txt")
            else:
                fps = video_fps(video, f"vipl {name}")
            recs.append(Recording(
                name=name, video_path=video, ppg=wave, ppg_fs=self.wave_fs,
                hr_bpm=self.reference_hr(wave, self.wave_fs, hr, str(src)), fps=fps,
                frame_times_s=frame_s, hr_trace_bpm=hr, hr_trace_times_s=np.arange(hr.size, dtype=np.float64),
                dataset=self.name))
        if not recs:
            raise self.no_recordings(root)
        return recs
