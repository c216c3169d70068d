"""The streaming API: ``EdgeRPPG(engine).process(frame, timestamp)`` → :class:`VitalsResult`.

This is what in-car units and kiosks embed: frames in, one small result out per frame,
for days::

    from edge_rppg import EdgeRPPG
    with EdgeRPPG("model.onnx", color_order="bgr") as rppg:   # or ".engine", an Engine, "pos"
        for frame, ts in camera:                                # HxWx3 uint8, ts in seconds
            r = rppg.process(frame, timestamp=ts)
            if r.hr_bpm is not None and r.valid:
                show(r.hr_bpm)

Per frame: check the frame → face landmarks (largest face by default) → six ROI sums →
the frame's 63x6 MSTmap row → resample onto the model's 30 Hz grid → a window of ``T``
samples every ``hop_s`` → engine → overlap-added BVP → HR (Welch peak + SNR quality),
HRV, respiration. The work is done by the stages of :mod:`edge_rppg.stages` (part of
the core, like this module), which the camera runtime (``edge_rppg.runtime.pipeline``,
``edge-rppg run``) runs too, so the API and the runtime are the same code. Per-frame
cost is O(1) amortised and memory is bounded (fixed rings; the BVP history is
``bvp_history_s`` long).

Timestamps are seconds (any origin, e.g. ``time.monotonic()`` or the camera's PTS);
without them frame ``n`` is placed at ``n / input_fps``. Irregular timestamps are
resampled; frames missing from the stream (a gap in the timestamps) or a face lost for
at most ``face_gap_bridge_s`` are bridged by interpolation; a longer gap resets the
window, and that result says so (``window_reset``, ``reset_reason``) and has
``hr_bpm=None`` until the window has filled again.

Thread safety: an instance holds the state of ONE stream (tracker, window, BVP). Its
methods take an internal lock, so calling them from several threads is safe (calls are
serialised), but frames of two cameras must never be interleaved into one instance:
use one instance per stream (typically one per thread). ``close()`` is idempotent;
after it every call raises ``RuntimeError``.
"""
from __future__ import annotations

import dataclasses
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

import numpy as np

from .config import Config
from .dsp.config import SignalConfig
from .errors import FrameFormatError
from .stages import Packet, build_stages, run_stages

EngineSpec = Union[str, Path, Any]
FacePolicy = Union[str, int, Callable[[List[Any]], Any]]

#: ``reset_reason`` values (see :class:`VitalsResult`).
RESET_REASONS = ("face_lost", "frame_gap", "timestamp_backwards", "reset")


@dataclass
class EdgeRPPGOptions(Config):
    """Settings of an :class:`EdgeRPPG` stream (MediaPipe-Tasks-style options object).

    engine: ``"pos"``/``"chrom"``/... (classic), a ``.onnx``/``.engine``/``.plan``/``.pt``
        model path, or ``"default"`` (the bundled model if present, else POS).
    color_order: ``"rgb"`` or ``"bgr"`` — declared once for every frame of the stream.
    fps: model rate (Hz) the per-frame colour signals are resampled to.
    window: samples per engine window ``T``; None = the engine's fixed ``T``, else 300
        (10 s) for classic engines.
    hop_s: seconds between engine windows (a new HR every ``hop_s``).
    face_gap_bridge_s: face loss or frame gap bridged by interpolation up to this long;
        longer resets the window.
    face_select: ``"largest"`` (the driver), ``"first"``, an index into the detections
        sorted largest first, or ``callable(faces) -> face | None`` (a callable cannot be
        saved to JSON).
    max_faces: faces the landmarker tracks (>1 so that ``"largest"`` can choose among
        several; each extra face costs detector time on every frame).
    smooth_landmarks: One-Euro smoothing of the landmarks (as in ``estimate``).
    roi_backend: ``"auto"`` (the best registered ROI backend that works here, else the
        CPU), ``"cpu"``, ``"cupy"`` or ``"pycuda"``; the CUDA backends (CuPy/PyCUDA) are
        registered in :data:`edge_rppg.roi_backends.ROI_BACKENDS` by importing
        ``edge_rppg.runtime.cuda_roi`` (the camera runtime does; the core never imports it).
    input_fps: frame rate assumed when ``process`` gets no timestamp (None = ``fps``).
    bvp_history_s: seconds of BVP kept (and returned in ``VitalsResult.bvp``); HRV needs
        about 30 s.
    hrv, respiration: compute HRV / respiration rate on every new window.
    signal: band-pass, Welch and validity settings (:class:`SignalConfig`).
    """

    engine: Any = "default"
    color_order: str = "rgb"
    fps: float = 30.0
    window: Optional[int] = None
    hop_s: float = 1.0
    face_gap_bridge_s: float = 0.5
    face_select: Any = "largest"
    max_faces: int = 2
    smooth_landmarks: bool = True
    roi_backend: str = "auto"
    input_fps: Optional[float] = None
    bvp_history_s: float = 60.0
    hrv: bool = True
    respiration: bool = True
    signal: SignalConfig = field(default_factory=SignalConfig)

    def __post_init__(self) -> None:
        if isinstance(self.signal, dict):
            self.signal = SignalConfig.from_dict(self.signal)
        if str(self.color_order).lower() not in ("rgb", "bgr"):
            raise ValueError(f"EdgeRPPGOptions.color_order must be 'rgb' or 'bgr', got {self.color_order!r}")
        self.color_order = str(self.color_order).lower()
        if not self.fps > 0 or not self.hop_s > 0:
            raise ValueError(f"EdgeRPPGOptions.fps and hop_s must be > 0, got {self.fps}, {self.hop_s}")
        if self.face_gap_bridge_s < 0:
            raise ValueError(f"EdgeRPPGOptions.face_gap_bridge_s must be >= 0, got {self.face_gap_bridge_s}")
        if int(self.max_faces) < 1:
            raise ValueError(f"EdgeRPPGOptions.max_faces must be >= 1, got {self.max_faces}")
        if self.input_fps is not None and not self.input_fps > 0:
            raise ValueError(f"EdgeRPPGOptions.input_fps must be > 0 or None, got {self.input_fps}")


@dataclass(frozen=True)
class VitalsResult:
    """What :meth:`EdgeRPPG.process` returns for one frame (immutable).

    timestamp: the frame's time in seconds (as given, or ``index / input_fps``).
    frame_index: 0-based count of frames given to this instance (bad ones included).
    hr_bpm: heart rate of the latest window; None until the first window has filled
        (and again after a window reset).
    quality: spectral SNR (dB) of that HR; higher is cleaner, ≥ ``signal.min_snr_db``
        needed for ``valid``.
    valid: the HR passed the quality check and its window was mostly real face samples.
    hr_updated: this frame completed a window (a fresh HR); otherwise the values are
        those of the last window.
    face_found: a face was chosen in this frame; face_box ``(x0, y0, x1, y1)`` pixels and
        landmarks ``[468, 2]`` float32 (smoothed) of it, else None. faces: how many were seen.
    bvp: pulse samples so far at ``bvp_fs`` Hz (band-passed, read-only, at most
        ``bvp_history_s`` long; empty before the first window).
    hrv: ``edge_rppg.dsp.hrv.HRV`` (LF/HF, SDNN, RMSSD) once ~30 s of clean beats exist.
    rf_hz: respiration rate (Hz) or None.
    window_fill: fraction of the first window collected (1.0 once HR can flow).
    window_reset, reset_reason: the window was restarted on this frame, and why
        (``face_lost``, ``frame_gap``, ``timestamp_backwards``, ``reset``).
    dropped_frames: frames dropped so far (bad frames, repeated/out-of-order timestamps,
        frames a pipeline dropped under backpressure).
    latency_ms: wall time of each stage for this frame plus ``total``.
    """

    timestamp: float
    frame_index: int
    hr_bpm: Optional[float]
    quality: Optional[float]
    valid: bool
    hr_updated: bool
    face_found: bool
    face_box: Optional[Tuple[float, float, float, float]]
    landmarks: Optional[np.ndarray]
    faces: int
    bvp: np.ndarray
    bvp_fs: float
    hrv: Any
    rf_hz: Optional[float]
    window_fill: float
    window_reset: bool
    reset_reason: Optional[str]
    dropped_frames: int
    latency_ms: Mapping[str, float]

    def to_dict(self, include_bvp: bool = False, include_landmarks: bool = False) -> Dict[str, Any]:
        """JSON-able dict (what the JSON-lines sink writes); BVP and landmarks on request."""
        def num(v: Optional[float], nd: int = 3) -> Optional[float]:
            return None if v is None or not math.isfinite(v) else round(float(v), nd)

        hrv = None
        if self.hrv is not None:
            hrv = {k: (num(v) if isinstance(v, float) else v) for k, v in dataclasses.asdict(self.hrv).items()}
        out: Dict[str, Any] = {
            "timestamp": round(float(self.timestamp), 6), "frame_index": self.frame_index,
            "hr_bpm": num(self.hr_bpm, 2), "quality": num(self.quality, 2), "valid": self.valid,
            "hr_updated": self.hr_updated, "face_found": self.face_found,
            "face_box": None if self.face_box is None else [round(float(v), 1) for v in self.face_box],
            "faces": self.faces, "hrv": hrv, "rf_hz": num(self.rf_hz, 4),
            "bvp_last": num(float(self.bvp[-1]), 5) if self.bvp.size else None,
            "window_fill": round(self.window_fill, 3), "window_reset": self.window_reset,
            "reset_reason": self.reset_reason, "dropped_frames": self.dropped_frames,
            "latency_ms": {k: round(float(v), 3) for k, v in self.latency_ms.items()},
        }
        if include_bvp:
            out["bvp"] = [round(float(v), 5) for v in self.bvp]
            out["bvp_fs"] = self.bvp_fs
        if include_landmarks and self.landmarks is not None:
            out["landmarks"] = np.round(self.landmarks, 2).tolist()
        return out


_EMPTY_BVP = np.zeros(0, dtype=np.float32)
_EMPTY_BVP.setflags(write=False)


def result_from_packet(packet: Packet, bvp_fs: float = 30.0) -> VitalsResult:
    """Build the :class:`VitalsResult` of a packet that went through the stages
    (:class:`edge_rppg.stages.Packet`); shared by :class:`EdgeRPPG` and ``edge_rppg.runtime.pipeline``."""
    v = packet.vitals
    face = packet.face if packet.landmarks is not None else None
    return VitalsResult(
        timestamp=float(packet.timestamp), frame_index=int(packet.index),
        hr_bpm=None if v is None else v.hr_bpm, quality=None if v is None else v.quality,
        valid=bool(v is not None and v.valid), hr_updated=bool(v is not None and v.updated),
        face_found=face is not None,
        face_box=None if face is None else tuple(float(b) for b in face.box),
        landmarks=packet.landmarks if face is not None else None, faces=int(packet.faces),
        bvp=_EMPTY_BVP if v is None else v.bvp, bvp_fs=float(bvp_fs),
        hrv=None if v is None else v.hrv, rf_hz=None if v is None else v.rf_hz,
        window_fill=float(packet.window_fill), window_reset=packet.reset_reason is not None,
        reset_reason=packet.reset_reason, dropped_frames=int(packet.dropped_frames),
        latency_ms=MappingProxyType(dict(packet.latency_ms)))


class EdgeRPPG:
    """Streaming heart rate, HRV and respiration from camera frames.

    ``EdgeRPPG(engine="pos", options=None, *, landmarker=None, **overrides)``: ``engine``
    is a classic method name, a model path (``.onnx``, ``.engine``/``.plan``, ``.pt``) or
    an Engine object; ``overrides`` are :class:`EdgeRPPGOptions` fields (``color_order``,
    ``window``, ``hop_s``, ``face_select``...); ``landmarker`` replaces the built-in
    MediaPipe FaceMesh (anything with ``detect(frame_rgb, timestamp_ms) -> list[Face]``).

    Use as a context manager, or call :meth:`close`. See the module docstring for
    timestamps and gaps.

    Thread safety: one instance = one stream. ``process``/``push``/``get_result``/
    ``reset``/``close`` hold an internal lock (concurrent calls are serialised, never
    corrupt state), but interleaving frames of different cameras into one instance mixes
    their signals: create one instance per stream, typically one per thread.
    """

    def __init__(self, engine: EngineSpec = None, options: Optional[EdgeRPPGOptions] = None, *,
                 landmarker: Any = None, **overrides: Any) -> None:
        opts = options if options is not None else EdgeRPPGOptions()
        if engine is not None:
            overrides["engine"] = engine
        if overrides:
            unknown = sorted(set(overrides) - {f.name for f in dataclasses.fields(EdgeRPPGOptions)})
            if unknown:
                raise TypeError(f"EdgeRPPG: unknown option(s) {unknown}")
            opts = dataclasses.replace(opts, **overrides)
        self.options = opts
        self._stages = build_stages(
            opts.engine, color_order=opts.color_order, fps=opts.fps, T=opts.window, hop_s=opts.hop_s,
            bridge_s=opts.face_gap_bridge_s, face_select=opts.face_select, max_faces=opts.max_faces,
            smooth_landmarks=opts.smooth_landmarks, landmarker=landmarker, roi_backend=opts.roi_backend,
            signal=opts.signal, bvp_history_s=opts.bvp_history_s, hrv=opts.hrv, respiration=opts.respiration)
        self._lock = threading.Lock()
        self._closed = False
        self._index = 0
        self._dropped = 0
        self._last: Optional[VitalsResult] = None
        self._pending_reset: Optional[str] = None
        self.last_error: Optional[str] = None

    @classmethod
    def create_from_options(cls, options: EdgeRPPGOptions, *, landmarker: Any = None) -> "EdgeRPPG":
        """Build from an :class:`EdgeRPPGOptions` (MediaPipe Tasks naming)."""
        return cls(None, options, landmarker=landmarker)

    # -- properties
    @property
    def stages(self) -> List[Any]:
        """The stage objects in order (each has ``name`` and a ``timer``)."""
        return list(self._stages)

    @property
    def engine(self) -> Any:
        """The engine in use (``engine.info`` says which)."""
        return next(s.engine for s in self._stages if s.name == "engine")

    @property
    def window_size(self) -> int:
        """Samples per engine window ``T`` at the model rate."""
        return next(s.T for s in self._stages if s.name == "window")

    @property
    def dropped_frames(self) -> int:
        """Frames dropped so far."""
        return self._dropped

    def stage_timing(self) -> Dict[str, Dict[str, float]]:
        """Per-stage timing statistics (count, mean, p50, p99, max in ms)."""
        return {s.name: s.timer.summary() for s in self._stages}

    # -- processing
    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("EdgeRPPG is closed; create a new instance")

    def _timestamp(self, timestamp: Optional[float], index: int) -> float:
        if timestamp is None:
            return index / float(self.options.input_fps or self.options.fps)
        try:
            t = float(timestamp)
        except (TypeError, ValueError):
            raise ValueError(f"timestamp must be seconds as a number, got {timestamp!r}") from None
        if not math.isfinite(t):
            raise ValueError(f"timestamp must be finite seconds, got {timestamp!r}")
        return t

    def process(self, frame: np.ndarray, timestamp: Optional[float] = None, *,
                dropped_before: int = 0) -> VitalsResult:
        """Analyse one frame; returns its :class:`VitalsResult`.

        ``frame``: HxWx3 uint8 in the declared ``color_order``. ``timestamp``: seconds.
        ``dropped_before``: frames the caller dropped before this one (added to
        ``dropped_frames``). A None/ill-formed frame raises ``FrameFormatError`` (a
        ``ValueError``) and is counted as dropped; the stream state is unchanged.
        """
        with self._lock:
            self._check_open()
            index = self._index
            self._index += 1
            self._dropped += int(dropped_before)
            ts = self._timestamp(timestamp, index)
            packet = Packet(frame=frame, timestamp=ts, index=index, dropped_frames=self._dropped)
            packet.reset_reason = self._pending_reset
            try:
                run_stages(self._stages, packet)
            except FrameFormatError as exc:
                self._dropped += 1
                self.last_error = str(exc)
                raise
            self._pending_reset = None
            if packet.skipped:
                self._dropped += 1
            packet.dropped_frames = self._dropped
            result = result_from_packet(packet, self.options.fps)
            self._last = result
            return result

    def push(self, frame: Any, timestamp: Optional[float] = None) -> Optional[VitalsResult]:
        """vitallens-style feeding that never raises on a bad frame: like :meth:`process`,
        but a None/ill-formed frame is counted as dropped (``last_error`` says why) and
        None is returned. Read the latest result with :meth:`get_result`."""
        try:
            return self.process(frame, timestamp)
        except FrameFormatError:
            return None

    def get_result(self) -> Optional[VitalsResult]:
        """The latest :class:`VitalsResult` (None before the first good frame)."""
        with self._lock:
            return self._last

    def reset(self) -> None:
        """Start a new stream: forget the tracker, window, BVP and counters."""
        with self._lock:
            self._check_open()
            for s in self._stages:
                s.reset()
            self._index = 0
            self._dropped = 0
            self._last = None
            self._pending_reset = "reset"
            self.last_error = None

    def close(self) -> None:
        """Release the landmarker and engine (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for s in self._stages:
                try:
                    s.close()
                except Exception:  # closing must not raise half-way
                    pass

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    def __enter__(self) -> "EdgeRPPG":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        info = getattr(self.engine, "info", None)
        return (f"EdgeRPPG(engine={getattr(info, 'name', '?')!r}, T={self.window_size}, "
                f"hop_s={self.options.hop_s}, closed={self._closed})")
