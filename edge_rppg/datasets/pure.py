"""PURE reader (Stricker et al., 2014: 10 subjects x 6 head-motion setups, 1 min each).

Expected layout (both forms seen in the wild are accepted)::

    ROOT/
      01-01/                          # session <subject>-<setup>: frame folder
        Image1392643993642815000.png  # 640x480 PNG, name = capture time in ns (~30 Hz)
        ...
      01-01.json                      # reference next to the folder
      ...
    or, as unpacked from the per-session archives:
    ROOT/01-01/01-01/Image<ns>.png  +  ROOT/01-01/01-01.json

The JSON holds ``"/FullPackage"``: a list of ``{"Timestamp": ns, "Value": {"waveform",
"pulseRate", "o2saturation", "signalStrength"}}`` (pulse oximeter, ~60 Hz) and
``"/Image"``: a list of ``{"Timestamp": ns}`` (one per frame). Frame times come from the
file names (the ``/Image`` list where names carry no timestamp); PPG and frame times
share the camera clock, with the first frame at 0 s.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from ..errors import DatasetError
from .base import DatasetReader, PathLike, Recording, natural_key, rate_from_times

_FRAME_RE = re.compile(r"^Image(\d+)\.png$", re.IGNORECASE)
_SESSION_RE = re.compile(r"^\d+-\d+$")


def read_pure_json(path: Path) -> Tuple[np.ndarray, np.ndarray, np.ndarray, Optional[np.ndarray]]:
    """``(ppg_times_ns, waveform, pulse_rate, image_times_ns or None)`` of a session JSON."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DatasetError(f"pure: cannot parse {path}: {exc}") from None
    pkg = data.get("/FullPackage") if isinstance(data, dict) else None
    if not isinstance(pkg, list) or len(pkg) < 2:
        raise DatasetError(f"pure: {path} has no '/FullPackage' list of samples")
    try:
        t = np.array([float(s["Timestamp"]) for s in pkg], np.float64)
        wave = np.array([float(s["Value"]["waveform"]) for s in pkg], np.float64)
        hr = np.array([float(s["Value"].get("pulseRate", np.nan)) for s in pkg], np.float64)
    except (KeyError, TypeError, ValueError):
        raise DatasetError(f"pure: {path}: each '/FullPackage' entry needs 'Timestamp' and "
                           f"'Value': {{'waveform', 'pulseRate'}}") from None
    images = data.get("/Image")
    img_t = None
    if isinstance(images, list) and images:
        try:
            img_t = np.array([float(s["Timestamp"]) for s in images], np.float64)
        except (KeyError, TypeError, ValueError):
            raise DatasetError(f"pure: {path}: '/Image' entries need a 'Timestamp'") from None
    return t, wave, hr, img_t


class PUREReader(DatasetReader):
    """PURE: PNG frame folders named ``Image<ns>.png`` + ``<session>.json``."""

    name = "pure"
    layout = ("  ROOT/<NN-NN>/Image<timestamp_ns>.png ...  +  ROOT/<NN-NN>.json\n"
              "  (or ROOT/<NN-NN>/<NN-NN>/Image<ns>.png  +  ROOT/<NN-NN>/<NN-NN>.json)\n"
              "  JSON: {'/FullPackage': [{'Timestamp': ns, 'Value': {'waveform', 'pulseRate', ...}}],"
              " '/Image': [{'Timestamp': ns}]}")

    def _sessions(self, root: Path) -> List[Tuple[str, Path, Path]]:
        """``(name, frame_dir, json)`` of every session under ``root`` (both layouts)."""
        out = []
        for d in sorted((d for d in root.iterdir() if d.is_dir()), key=lambda d: natural_key(d.name)):
            if (root / f"{d.name}.json").is_file():
                out.append((d.name, d, root / f"{d.name}.json"))
            elif (d / d.name).is_dir() and (d / f"{d.name}.json").is_file():
                out.append((d.name, d / d.name, d / f"{d.name}.json"))
            elif _SESSION_RE.match(d.name) and any(_FRAME_RE.match(p.name) for p in d.iterdir()):
                raise DatasetError(f"pure: session folder {d} has frames but no {d.name}.json beside it")
        return out

    def list_recordings(self, root: PathLike) -> List[Recording]:
        """One :class:`Recording` per session (frame folder + JSON)."""
        root = self.check_root(root)
        recs = []
        for name, frame_dir, js in self._sessions(root):
            frames = [(int(m.group(1)), p) for p in frame_dir.iterdir() if (m := _FRAME_RE.match(p.name))]
            if not frames:
                raise DatasetError(f"pure: {frame_dir} has no Image<timestamp_ns>.png frames")
            frames.sort()
            ppg_t, wave, hr, _ = read_pure_json(js)
            frame_t = np.array([ts for ts, _ in frames], np.float64)
            t0 = frame_t[0]
            frame_s = (frame_t - t0) / 1e9
            ppg_s = (ppg_t - t0) / 1e9
            fs = rate_from_times(ppg_s, f"pure {name} /FullPackage timestamps")
            recs.append(Recording(
                name=name, video_path=frame_dir, ppg=wave, ppg_fs=fs,
                hr_bpm=self.reference_hr(wave, fs, hr, str(js)),
                fps=rate_from_times(frame_s, f"pure {name} frame timestamps"),
                ppg_times_s=ppg_s, frame_times_s=frame_s, frame_files=[p for _, p in frames],
                hr_trace_bpm=hr, hr_trace_times_s=ppg_s, dataset=self.name))
        if not recs:
            raise self.no_recordings(root)
        return recs
