"""What the stream processor returns per frame: :class:`VitalsResult` (immutable).

It carries the same typed :class:`~edge_rppg.vitals.Vitals` as a whole-file
:class:`~edge_rppg.estimate.Estimate`, plus what only a stream has (frame index, face,
window fill and resets, drops, per-stage latency). :meth:`VitalsResult.to_dict` is the
record the JSON-lines and CSV sinks write; its keys are the field names.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np

from .dsp.hrv import HRV
from .stage_base import Packet
from .vitals import Vitals, VitalsView

__all__ = ["VitalsResult", "result_from_packet"]

@dataclass(frozen=True)
class VitalsResult(VitalsView):
    """What :meth:`edge_rppg.EdgeRPPG.process` returns for one frame.

    timestamp: the frame's time in seconds (as given, or ``index / input_fps``).
    frame_index: 0-based count of frames given to this stream (bad ones included).
    vitals: the latest reading (:class:`~edge_rppg.vitals.Vitals`), None until the first
        window has filled (and again after a window reset); ``hr_bpm``, ``quality``,
        ``valid``, ``rf_hz``, ``bvp`` and ``bvp_fs`` read from it
        (:class:`~edge_rppg.vitals.VitalsView`), ``hrv`` too but None until it is valid.
    hr_updated: this frame completed a window (a fresh reading); otherwise the reading is
        that of the last window.
    face_found: a face was chosen in this frame; face_box ``(x0, y0, x1, y1)`` pixels and
        landmarks ``[468, 2]`` float32 (smoothed) of it, else None. faces: how many were seen.
    window_fill: fraction of the first window collected (1.0 once HR can flow).
    window_reset, reset_reason: the window was restarted on this frame, and why
        (``face_lost``, ``frame_gap``, ``timestamp_backwards``, ``reset``).
    dropped_frames: frames dropped so far (bad frames, repeated/out-of-order timestamps,
        frames a pipeline dropped under backpressure).
    latency_ms: wall time of each stage for this frame plus ``total``.
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
            "hr_updated": self.hr_updated, "face_found": self.face_found,
            "face_box": None if self.face_box is None else [round(float(v), 1) for v in self.face_box],
            "faces": self.faces, "hrv": hrv, "rf_hz": num(self.rf_hz, 4), "rf_valid": self.rf_valid,
            "artefact": None if self.vitals is None else self.vitals.artefact,
            "bvp_last": num(float(bvp[-1]), 5) if bvp.size else None,
            "window_fill": round(self.window_fill, 3), "window_reset": self.window_reset,
            "reset_reason": self.reset_reason, "dropped_frames": self.dropped_frames,
            "latency_ms": {k: round(float(v), 3) for k, v in self.latency_ms.items()},
        }
        if include_bvp:
            out["bvp"] = [round(float(v), 5) for v in bvp]
            out["bvp_fs"] = self.bvp_fs
        if include_landmarks and self.landmarks is not None:
            out["landmarks"] = np.round(self.landmarks, 2).tolist()
        return out


def result_from_packet(packet: Packet) -> VitalsResult:
    """The :class:`VitalsResult` of a packet that went through the processor's stages."""
    face = packet.face if packet.landmarks is not None else None
    return VitalsResult(
        timestamp=float(packet.timestamp), frame_index=int(packet.index), vitals=packet.vitals,
        hr_updated=bool(packet.hr_updated), face_found=face is not None,
        face_box=None if face is None else tuple(float(b) for b in face.box),  # type: ignore[arg-type]
        landmarks=packet.landmarks if face is not None else None, faces=int(packet.faces),
        window_fill=float(packet.window_fill), window_reset=packet.reset_reason is not None,
        reset_reason=packet.reset_reason, dropped_frames=int(packet.dropped_frames),
        latency_ms=MappingProxyType(dict(packet.latency_ms)))
