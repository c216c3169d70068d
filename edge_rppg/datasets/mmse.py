"""MMSE-HR reader (Tulyakov et al., 2016; a subset of BP4D+: 40 subjects, 102 tasks).

Expected layout: every ``<subject>/<task>`` folder (``F013/T1``) holding JPEG frames, and
the physiology of the same ``<subject>/<task>`` either in that folder or in a parallel
tree, as the dataset is distributed::

    ROOT/
      first 10 subjects 2D/
        F013/
          T1/
            0000.jpg 0001.jpg ...      # 1040x1392 JPEG frames at 25 fps (numeric order)
      first 10 subjects Phydata released/
        Phydata/
          F013/
            T1/
              BP_mmHg.txt              # continuous blood pressure, 1000 Hz, one value per line
              Pulse Rate_BPM.txt       # pulse rate, 1000 Hz, one value per line
    or simply  ROOT/F013/T1/{*.jpg, BP_mmHg.txt, Pulse Rate_BPM.txt}

Both physiology files start with the first frame. The blood-pressure waveform serves
as the reference pulse (its beats are the heart beats); the reference HR is the mean
of ``Pulse Rate_BPM.txt`` where present, else the BP spectrum's peak.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

from ..errors import DatasetError
from .base import DatasetReader, PathLike, Recording, natural_key, numbers_in_file

FRAME_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
BP_NAME = "bp_mmhg.txt"
PR_NAME = "pulse rate_bpm.txt"


class MMSEReader(DatasetReader):
    """MMSE-HR: ``<subject>/<task>/`` JPEG frames + ``BP_mmHg.txt`` / ``Pulse Rate_BPM.txt``."""

    name = "mmse"
    layout = ("  ROOT/.../<subject>/<task>/*.jpg                 (frames, 25 fps)\n"
              "  ROOT/.../<subject>/<task>/BP_mmHg.txt         (1000 Hz; same folder or a parallel Phydata tree)\n"
              "  ROOT/.../<subject>/<task>/Pulse Rate_BPM.txt  (1000 Hz, optional)")

    def __init__(self, hr_source: str = "file", fps: float = 25.0, phys_fs: float = 1000.0) -> None:
        super().__init__(hr_source)
        if not (fps > 0 and phys_fs > 0):
            raise ValueError(f"fps and phys_fs must be > 0, got {fps}, {phys_fs}")
        self.fps = float(fps)
        self.phys_fs = float(phys_fs)

    def _scan(self, root: Path) -> Tuple[Dict[Tuple[str, str], Path], Dict[Tuple[str, str], Dict[str, Path]]]:
        """Frame folders and physiology files keyed by ``(subject, task)``."""
        frames: Dict[Tuple[str, str], Path] = {}
        phys: Dict[Tuple[str, str], Dict[str, Path]] = {}
        for dirpath, _, files in os.walk(root):
            d = Path(dirpath)
            key = (d.parent.name, d.name)
            lower = {f.lower(): d / f for f in files}
            if any(f.endswith(FRAME_SUFFIXES) for f in lower):
                if key in frames:
                    raise DatasetError(f"mmse: two frame folders for {key[0]}/{key[1]}: {frames[key]} and {d}")
                frames[key] = d
            if BP_NAME in lower:
                if key in phys:
                    raise DatasetError(f"mmse: two physiology folders for {key[0]}/{key[1]}: "
                                       f"{phys[key][BP_NAME].parent} and {d}")
                phys[key] = {n: lower[n] for n in (BP_NAME, PR_NAME) if n in lower}
        return frames, phys

    def list_recordings(self, root: PathLike) -> List[Recording]:
        """One :class:`Recording` per ``<subject>/<task>`` frame folder."""
        root = self.check_root(root)
        frames, phys = self._scan(root)
        recs = []
        for key in sorted(frames, key=lambda k: natural_key("/".join(k))):
            d = frames[key]
            if key not in phys:
                raise DatasetError(f"mmse: frames in {d} but no {key[0]}/{key[1]}/BP_mmHg.txt anywhere under {root}")
            files = sorted((p for p in d.iterdir() if p.suffix.lower() in FRAME_SUFFIXES),
                           key=lambda p: natural_key(p.name))
            bp = numbers_in_file(phys[key][BP_NAME], "mmse blood pressure")
            pr = numbers_in_file(phys[key][PR_NAME], "mmse pulse rate") if PR_NAME in phys[key] else None
            name = f"{key[0]}_{key[1]}"
            recs.append(Recording(
                name=name, video_path=d, ppg=bp, ppg_fs=self.phys_fs,
                hr_bpm=self.reference_hr(bp, self.phys_fs, pr, str(d)), fps=self.fps, frame_files=files,
                hr_trace_bpm=pr, hr_trace_times_s=None if pr is None else np.arange(pr.size) / self.phys_fs,
                dataset=self.name))
        if not recs:
            raise self.no_recordings(root)
        return recs
