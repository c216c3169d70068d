"""What the stream processor returns per frame: :class:`VitalsResult` (immutable).

It carries the same typed :class:`~edge_rppg.vitals.readings.Vitals` as a whole-file
:class:`~edge_rppg.estimate.Estimate`, plus what only a stream has (frame index, face,
window fill and resets, drops, per-stage latency). :meth:`VitalsResult.to_dict` is the
record the JSON-lines and CSV sinks write; its keys are the field names.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np

from ..vitals.dsp.hrv import HRV
from ..vitals.readings import Vitals, VitalsView

__all__ = ["VitalsResult"]

@dataclass(frozen=True)
class VitalsResult(VitalsView):
    """What :meth:`edge_rppg.EdgeRPPG.process` returns for one frame.

    timestamp: the frame's time in seconds (as given, or ``index / input_fps``).
    frame_index: 0-based count of frames given to this stream (bad ones included).
    vitals: the latest reading (:class:`~edge_rppg.vitals.readings.Vitals`), None until the first
        window has filled (and again after a window reset); ``hr_bpm``, ``quality``,
        ``valid``, ``rf_hz``, ``bvp`` and ``bvp_fs`` read from it
        (:class:`~edge_rppg.vitals.readings.VitalsView`), ``hrv`` too but None until it is valid.
    hr_updated: this frame completed a window (a fresh reading); otherwise the reading is
        that of the last window.
    face_found: a face was chosen in this frame; face_box ``(x0, y0, x1, y1)`` pixels and
        landmarks ``[468, 2]`` float32 (smoothed) of it, else None. faces: how many were seen.
    window_fill: fraction of the first window collected (1.0 once HR can flow).
    window_reset, reset_reason: the window was restarted on this frame, and why
        (``face_lost``, ``frame_gap``, ``timestamp_backwards``, ``reset``).
    dropped_frames: frames dropped so far (bad frames, repeated/out-of-order timestamps,
        frames a pipeline dropped under backpressure).
    latency_ms: wall time of each stage that ran on this frame, plus ``total``.
    skipped: the frame was not analysed, because its timestamp was not after the last
        analysed frame's (a repeated or out-of-order frame; counted in ``dropped_frames``);
        its face fields repeat the last analysed frame's.
    """

    timestamp: float
    frame_index: int
    vitals: Optional[Vitals]
    hr_updated: bool
    face_found: bool
    face_box: Optional[Tuple[float, float, float, float]]
    landmarks: Optional[np.ndarray]
    faces: int
    window_fill: float
    window_reset: bool
    reset_reason: Optional[str]
    dropped_frames: int
    latency_ms: Mapping[str, float]
    skipped: bool = False

    @property
    def invalid_reason(self) -> Optional[str]:
        """Why there is no valid reading now: None when ``valid``; ``no_face`` or ``warming_up``
        before the first reading (no face in this frame / the first window is filling),
        else the reading's own reason (:data:`edge_rppg.vitals.readings.INVALID_REASONS`)."""
        if self.vitals is None:
            return "warming_up" if self.face_found else "no_face"
        return self.vitals.invalid_reason

    @property
    def hrv(self) -> Optional[HRV]:
        """LF/HF, SDNN, RMSSD once ~30 s of clean beats exist, else None."""
        return self.vitals.hrv if self.vitals is not None and self.vitals.hrv.valid else None

    def to_dict(self, include_bvp: bool = False, include_landmarks: bool = False) -> Dict[str, Any]:
        """JSON-able dict (what the JSON-lines sink writes); BVP and landmarks on request."""
        def num(v: Optional[float], nd: int = 3) -> Optional[float]:
            return None if v is None or not math.isfinite(v) else round(float(v), nd)

        hrv = None
        if self.hrv is not None:
            hrv = {k: (num(v) if isinstance(v, float) else v) for k, v in dataclasses.asdict(self.hrv).items()}
        bvp = self.bvp
        out: Dict[str, Any] = {
            "timestamp": round(float(self.timestamp), 6), "frame_index": self.frame_index,
            "hr_bpm": num(self.hr_bpm, 2), "quality": num(self.quality, 2), "valid": self.valid,
            "invalid_reason": self.invalid_reason,
            "artefact": None if self.vitals is None else self.vitals.artefact,
            "hr_updated": self.hr_updated, "face_found": self.face_found,
            "face_box": None if self.face_box is None else [round(float(v), 1) for v in self.face_box],
            "faces": self.faces, "hrv": hrv, "rf_hz": num(self.rf_hz, 4), "rf_valid": self.rf_valid,
            "bvp_last": num(float(bvp[-1]), 5) if bvp.size else None,
            "window_fill": round(self.window_fill, 3), "window_reset": self.window_reset,
            "reset_reason": self.reset_reason, "dropped_frames": self.dropped_frames,
            "latency_ms": {k: round(float(v), 3) for k, v in self.latency_ms.items()},
            "skipped": self.skipped,
        }
        if include_bvp:
            out["bvp"] = [round(float(v), 5) for v in bvp]
            out["bvp_fs"] = self.bvp_fs
        if include_landmarks and self.landmarks is not None:
            out["landmarks"] = np.round(self.landmarks, 2).tolist()
        return out
