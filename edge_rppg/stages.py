"""The streaming stage chain shared by :class:`edge_rppg.EdgeRPPG` and the camera runtime
(``edge_rppg.runtime.pipeline``, ``edge-rppg run``): small stage objects with one job each.

A :class:`Packet` carries one frame through the chain; each stage reads what earlier
stages wrote, adds its own fields and records its wall time in ``packet.latency_ms``
(and in its :class:`StageTimer`). The chain, in order:

- ``input`` (:class:`InputStage`): check the frame (``FrameFormatError``), BGR → RGB;
- ``landmarks`` (:class:`LandmarksStage`): FaceMesh landmarks, face choice, smoothing;
- ``roi`` (:class:`RoiAverageStage`): six ROI sums (CPU ``bincount`` or CUDA) → 63x6 row;
- ``window`` (:class:`MstmapWindowStage`): resample to the model rate, bridge or reset
  gaps, emit a ``T``-sample window every hop;
- ``engine`` (:class:`EngineStage`): one window → BVP ``[T]`` (classic, ONNX, TensorRT);
- ``vitals`` (:class:`VitalsStage`): overlap-add the BVP, HR + quality, HRV, respiration.

:class:`edge_rppg.EdgeRPPG` is exactly these stages run in-process
(:func:`build_stages`), and ``edge_rppg.runtime.pipeline`` runs the same objects behind a
bounded frame queue, so the API and the camera runtime cannot drift apart. The module
is part of the core and imports nothing from the runtime: GPU ROI backends reach the
``roi`` stage through the :data:`edge_rppg.roi_backends.ROI_BACKENDS` registry (filled
by ``edge_rppg.runtime.cuda_roi`` when the runtime imports it). The maths comes from the core
(``edge_rppg.roi``, ``edge_rppg.mstmap``, ``edge_rppg.dsp``, engines); the stages only
add streaming state. Every stage is O(1) amortised per frame
and its memory is bounded (fixed ring buffers, ``deque(maxlen=...)``).
"""
from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Dict, List, Optional, Sequence, Union

import numpy as np

from .dsp.config import SignalConfig
from .errors import ShapeError
from .registry import Registry
from .roi_backends import make_roi_summer
from .validation import check_frame

__all__ = ["RESET_FACE_LOST", "RESET_FRAME_GAP", "RESET_TIME_BACKWARDS", "RESET_MANUAL", "FaceSelector",
           "VitalsState", "Packet", "StageTimer", "Stage", "InputStage", "make_face_selector", "LandmarksStage",
           "RoiAverageStage", "MstmapWindowStage", "EngineStage", "VitalsStage", "STAGES", "DEFAULT_CLASSIC_T",
           "build_stages", "run_stages"]

#: Why a window was reset (``VitalsResult.reset_reason`` values).
RESET_FACE_LOST = "face_lost"          # no face for longer than the bridge
RESET_FRAME_GAP = "frame_gap"          # no frames (dropped / stalled source) for longer than the bridge
RESET_TIME_BACKWARDS = "timestamp_backwards"  # the clock jumped back (new stream, camera restart)
RESET_MANUAL = "reset"                 # reset() was called

FaceSelector = Union[str, int, Callable[[List[Any]], Optional[Any]]]


# --------------------------------------------------------------------------- packet & timing
@dataclass
class VitalsState:
    """What :class:`VitalsStage` knows after a packet (immutable snapshot, shared between
    packets until the next window).

    hr_bpm / quality: last window's HR (bpm) and spectral SNR (dB), None before the first
    window. valid: the reading passed the SNR and face-coverage checks. hrv: an
    ``edge_rppg.dsp.hrv.HRV`` or None (needs ~30 s of pulse). rf_hz: respiration rate or
    None. bvp: read-only float32 pulse samples so far at the model rate (bounded).
    updated: this packet completed a window and produced a new reading.
    """

    hr_bpm: Optional[float] = None
    quality: Optional[float] = None
    valid: bool = False
    hrv: Any = None
    rf_hz: Optional[float] = None
    bvp: np.ndarray = field(default_factory=lambda: _readonly(np.zeros(0, np.float32)))
    updated: bool = False
    windows: int = 0


@dataclass
class Packet:
    """One frame on its way through the stages (mutable; each stage fills its fields).

    ``frame`` is HxWx3 uint8 RGB after the input stage; ``timestamp`` in seconds;
    ``row`` the frame's ``[63, 6]`` raw MSTmap row (None: no usable face);
    ``window``/``window_valid`` a complete ``[T, 63, 6]`` window when one is due;
    ``reset_reason`` non-None when the window stage restarted on this frame;
    ``skipped`` True when the frame was not used (timestamp not after the last one).
    """

    frame: Any
    timestamp: float
    index: int = 0
    dropped_frames: int = 0
    faces: int = 0
    face: Any = None
    landmarks: Optional[np.ndarray] = None
    row: Optional[np.ndarray] = None
    window: Optional[np.ndarray] = None
    window_valid: Optional[np.ndarray] = None
    window_fill: float = 0.0
    samples: int = 0
    reset_reason: Optional[str] = None
    skipped: bool = False
    bvp_window: Optional[np.ndarray] = None
    vitals: Optional[VitalsState] = None
    latency_ms: Dict[str, float] = field(default_factory=dict)


class StageTimer:
    """Wall-time statistics of one stage: count, mean, last, max and p50/p99 over the
    last ``keep`` calls (bounded)."""

    def __init__(self, keep: int = 4096) -> None:
        self.count = 0
        self.total_ms = 0.0
        self.last_ms = 0.0
        self.max_ms = 0.0
        self._recent: Deque[float] = deque(maxlen=keep)

    def add(self, ms: float) -> None:
        """Record one call that took ``ms`` milliseconds."""
        self.count += 1
        self.total_ms += ms
        self.last_ms = ms
        self.max_ms = max(self.max_ms, ms)
        self._recent.append(ms)

    def summary(self) -> Dict[str, float]:
        """``{"count", "mean_ms", "p50_ms", "p99_ms", "max_ms"}``."""
        r = np.fromiter(self._recent, dtype=np.float64) if self._recent else np.zeros(1)
        return {"count": float(self.count), "mean_ms": self.total_ms / max(self.count, 1),
                "p50_ms": float(np.percentile(r, 50)), "p99_ms": float(np.percentile(r, 99)),
                "max_ms": self.max_ms}


class Stage:
    """Base class: ``stage(packet)`` runs :meth:`process` and times it.

    Subclasses set ``name`` and implement ``process``; ``reset`` forgets stream state
    (new stream), ``close`` releases resources (idempotent).
    """

    name = "stage"

    def __init__(self) -> None:
        self.timer = StageTimer()

    def __call__(self, packet: Packet) -> Packet:
        t0 = time.perf_counter()
        try:
            self.process(packet)
        finally:
            ms = (time.perf_counter() - t0) * 1e3
            packet.latency_ms[self.name] = ms
            self.timer.add(ms)
        return packet

    def process(self, packet: Packet) -> None:  # pragma: no cover - abstract
        """Do this stage's job on ``packet`` in place."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget per-stream state."""

    def close(self) -> None:
        """Release resources (idempotent)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


# --------------------------------------------------------------------------- input
class InputStage(Stage):
    """Validate the frame (``check_frame``: None, dtype, shape, channels → ``FrameFormatError``,
    a ``ValueError``) and convert BGR to RGB once, so every later stage sees RGB."""

    name = "input"

    def __init__(self, color_order: str = "rgb") -> None:
        super().__init__()
        order = color_order.lower()
        if order not in ("rgb", "bgr"):
            raise ValueError(f"color_order must be 'rgb' or 'bgr', got {color_order!r}")
        self.color_order = order

    def process(self, packet: Packet) -> None:
        frame = check_frame(packet.frame)
        if self.color_order == "bgr":
            import cv2

            frame = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        packet.frame = frame


# --------------------------------------------------------------------------- landmarks
def _largest(faces: List[Any]) -> Optional[Any]:
    return max(faces, key=lambda f: f.area) if faces else None


def make_face_selector(policy: FaceSelector) -> Callable[[List[Any]], Optional[Any]]:
    """``"largest"`` (default: the driver), ``"first"``, an index into the detections
    (sorted largest first; out of range → no face) or ``callable(faces) -> face | None``."""
    if callable(policy):
        return policy
    if isinstance(policy, bool):
        raise ValueError(f"face selection must be 'largest', 'first', an index or a callable; got {policy!r}")
    if isinstance(policy, int):
        k = int(policy)
        return lambda faces: sorted(faces, key=lambda f: -f.area)[k] if -len(faces) <= k < len(faces) else None
    table: Dict[str, Callable[[List[Any]], Optional[Any]]] = {
        "largest": _largest,
        "first": lambda faces: faces[0] if faces else None,
    }
    if isinstance(policy, str) and policy.lower() in table:
        return table[policy.lower()]
    if isinstance(policy, str) and policy.lstrip("-").isdigit():
        return make_face_selector(int(policy))
    raise ValueError(f"face selection must be 'largest', 'first', an index or a callable; got {policy!r}")


class LandmarksStage(Stage):
    """Find faces (``Landmarker.detect``), choose one, smooth its landmarks.

    ``landmarker`` defaults to a tracking :class:`~edge_rppg.landmarks.MediaPipeLandmarker`
    with ``max_faces`` faces (created here, closed by :meth:`close`; one passed in is
    left open). The One-Euro :class:`~edge_rppg.landmarks.LandmarkSmoother` (as in
    ``extract_mstmap``) is reset whenever the face is lost.
    """

    name = "landmarks"

    def __init__(self, landmarker: Any = None, select: FaceSelector = "largest", max_faces: int = 1,
                 smooth: bool = True) -> None:
        super().__init__()
        from .landmarks import LandmarkerOptions, LandmarkSmoother, MediaPipeLandmarker

        self._own = landmarker is None
        self.landmarker = landmarker if landmarker is not None else \
            MediaPipeLandmarker.create_from_options(LandmarkerOptions(max_num_faces=int(max_faces)))
        self.select = make_face_selector(select)
        self.smoother = LandmarkSmoother() if smooth else None
        self._last_ms = -math.inf

    def process(self, packet: Packet) -> None:
        if packet.skipped:
            return
        # MediaPipe wants increasing integer-ish milliseconds
        ts_ms = max(packet.timestamp * 1000.0, self._last_ms + 1e-3)
        self._last_ms = ts_ms
        faces = self.landmarker.detect(packet.frame, ts_ms)
        packet.faces = len(faces)
        face = self.select(list(faces))
        packet.face = face
        if face is None:
            if self.smoother is not None:
                self.smoother.reset()
            packet.landmarks = None
            return
        lm = face.landmarks
        packet.landmarks = self.smoother(lm, packet.timestamp) if self.smoother is not None else lm

    def reset(self) -> None:
        if self.smoother is not None:
            self.smoother.reset()
        self._last_ms = -math.inf
        if hasattr(self.landmarker, "reset"):
            self.landmarker.reset()

    def close(self) -> None:
        if self._own and self.landmarker is not None:
            self.landmarker.close()


# --------------------------------------------------------------------------- ROI averaging
class RoiAverageStage(Stage):
    """Six meta-ROI colour sums over the face box → the frame's ``[63, 6]`` MSTmap row.

    The label map is rasterised only inside the ROIs' bounding box
    (``edge_rppg.roi.roi_box``/``rasterize_label_map``), then summed by the backend of
    :func:`edge_rppg.roi_backends.make_roi_summer` (``"cpu"``: one ``np.bincount``;
    ``"cupy"`` / ``"pycuda"``: the CUDA kernel, registered by ``edge_rppg.runtime.cuda_roi``;
    ``"auto"``: best registered and available, else CPU), then combined with
    ``edge_rppg.mstmap.combine_roi_sums``. No face, or a face entirely outside the frame,
    gives ``row = None``.
    """

    name = "roi"

    def __init__(self, backend: str = "auto") -> None:
        super().__init__()
        self.summer = make_roi_summer(backend)

    @property
    def backend(self) -> str:
        """The backend actually used (``cpu``, ``cupy`` or ``pycuda``)."""
        return self.summer.backend

    def process(self, packet: Packet) -> None:
        from .mstmap import combine_roi_sums
        from .roi import rasterize_label_map, roi_box

        packet.row = None
        lm = packet.landmarks
        if lm is None or packet.skipped:
            return
        h, w = packet.frame.shape[:2]
        try:
            box = roi_box(lm, h, w)
            labels = rasterize_label_map(lm, h, w, box=box)
        except ShapeError:  # NaN landmarks: treat as no face
            return
        if labels.size == 0:
            return
        sums, counts = self.summer.sums(packet.frame, labels, (box[0], box[1]))
        if counts.sum() == 0:
            return
        packet.row = combine_roi_sums(sums, counts)


# --------------------------------------------------------------------------- MSTmap window
class MstmapWindowStage(Stage):
    """Resample per-frame rows to the model rate and cut ``T``-sample windows every ``hop``.

    Irregular input timestamps are linearly interpolated onto a uniform ``1/fps`` grid
    (streaming: each input emits the grid points up to its time, O(1) amortised).
    A face lost for at most ``bridge_s`` seconds, or a gap in the timestamps (dropped
    frames) of at most ``bridge_s``, is bridged by interpolating between the last row
    before and the first row after it (those samples are marked not valid); a longer
    loss or gap resets the window (``packet.reset_reason``: ``face_lost``,
    ``frame_gap``; a clock jumping back more than ``bridge_s`` gives
    ``timestamp_backwards``). A timestamp not after the previous one is skipped
    (``packet.skipped``; the caller counts it as dropped). Entries of a row that are NaN
    (an ROI with no pixels) are held at their last finite value.

    The first window is emitted when ``T`` samples have been collected, then one every
    ``hop`` samples (at most one per input frame). Memory: one ``[T, 63, 6]`` ring.
    """

    name = "window"

    def __init__(self, T: int = 300, hop: Optional[int] = None, fps: float = 30.0, hop_s: float = 1.0,
                 bridge_s: float = 0.5) -> None:
        super().__init__()
        if int(T) < 2:
            raise ValueError(f"window T must be >= 2 frames, got {T}")
        if not fps > 0:
            raise ValueError(f"model fps must be > 0, got {fps}")
        self.T = int(T)
        self.fps = float(fps)
        self.hop = int(hop) if hop is not None else max(1, int(round(hop_s * fps)))
        if not 1 <= self.hop <= self.T:
            raise ValueError(f"hop must be between 1 and T={self.T} samples, got {self.hop}")
        if bridge_s < 0:
            raise ValueError(f"bridge_s must be >= 0, got {bridge_s}")
        self.bridge_s = float(bridge_s)
        self._ring = np.zeros((self.T, 63, 6), dtype=np.float32)
        self._valid = np.zeros(self.T, dtype=bool)
        self.reset()

    def reset(self) -> None:
        self._n = 0                      # grid samples written since the last reset
        self._since = 0                  # samples since the last emitted window
        self._anchor_t: Optional[float] = None   # time of the last good row
        self._anchor: Optional[np.ndarray] = None  # last good row (float64)
        self._next_t = 0.0               # time of the next grid sample
        self._t0 = 0.0                   # time of grid sample 0
        self._last_t: Optional[float] = None     # time of the last input frame
        self._missing = False            # face missing since the anchor
        self._last_finite: Optional[np.ndarray] = None
        self._dt: Optional[float] = None   # typical input frame interval (EMA)

    # -- helpers
    def _push_sample(self, row: np.ndarray, valid: bool) -> None:
        i = self._n % self.T
        self._ring[i] = row
        self._valid[i] = valid
        self._n += 1
        self._since += 1

    def _ordered(self) -> tuple:
        i = self._n % self.T
        if i == 0:
            return self._ring.copy(), self._valid.copy()
        return (np.concatenate([self._ring[i:], self._ring[:i]]),
                np.concatenate([self._valid[i:], self._valid[:i]]))

    def _clean(self, row: np.ndarray) -> Optional[np.ndarray]:
        r = np.asarray(row, dtype=np.float64)
        finite = np.isfinite(r)
        if finite.all():
            self._last_finite = r
            return r
        if not finite.any():
            return None
        fill = self._last_finite if self._last_finite is not None else \
            np.broadcast_to(np.nanmean(np.where(finite, r, np.nan), axis=0), r.shape)
        r = np.where(finite, r, fill)
        self._last_finite = r
        return r

    def _restart(self, packet: Packet, reason: str) -> None:
        self.reset()
        packet.reset_reason = reason

    # -- main
    def process(self, packet: Packet) -> None:
        t = float(packet.timestamp)
        if not math.isfinite(t):
            raise ValueError(f"timestamp must be a finite number of seconds, got {packet.timestamp!r}")
        if self._last_t is not None and t <= self._last_t:
            if self._last_t - t > self.bridge_s:
                self._restart(packet, RESET_TIME_BACKWARDS)
            else:
                packet.skipped = True
                packet.row = None
                return
        prev_t = self._last_t
        self._last_t = t
        if prev_t is not None and t - prev_t <= self.bridge_s:
            step = t - prev_t
            self._dt = step if self._dt is None else 0.9 * self._dt + 0.1 * min(step, 2.0 * self._dt)
        row = None if packet.row is None else self._clean(packet.row)
        if row is None:
            if self._anchor_t is not None:
                self._missing = True
                if t - self._anchor_t > self.bridge_s:
                    self._restart(packet, RESET_FACE_LOST)
                    self._last_t = t
        elif self._anchor_t is not None and t - self._anchor_t > self.bridge_s:
            self._restart(packet, RESET_FACE_LOST if self._missing else RESET_FRAME_GAP)
            self._last_t = t
            self._start(t, row)
        elif self._anchor_t is None:
            self._start(t, row)
        else:
            gap = prev_t is not None and self._dt is not None and t - prev_t > 2.5 * self._dt
            self._emit_until(t, row, bridged=self._missing or gap)
            self._anchor, self._anchor_t, self._missing = row, t, False
        packet.samples = self._n
        packet.window_fill = min(1.0, self._n / self.T)
        if self._n >= self.T and self._since >= self.hop:
            packet.window, packet.window_valid = self._ordered()
            self._since = 0

    def _start(self, t: float, row: np.ndarray) -> None:
        """First good row after a (re)start: it is grid sample 0."""
        self._anchor, self._anchor_t, self._missing = row, t, False
        self._t0 = t
        self._next_t = t
        self._emit_until(t, row, bridged=False)

    def _emit_until(self, t: float, row: np.ndarray, bridged: bool) -> None:
        """Emit the grid samples with time <= ``t``, linearly interpolated between the
        anchor (last good row) and ``row``; ``bridged`` marks them not valid (except one
        within half a sample of ``t``)."""
        a_t, a = self._anchor_t, self._anchor
        dt = 1.0 / self.fps
        while self._next_t <= t + 1e-9:
            g = self._next_t
            if a_t is None or a is None or t - a_t <= 1e-12:
                value = row
            else:
                w = min(max((g - a_t) / (t - a_t), 0.0), 1.0)
                value = a + (row - a) * w
            # inside a bridged gap only the sample next to the new real row counts as valid
            self._push_sample(value, not bridged or t - g < 0.5 * dt)
            self._next_t = self._t0 + self._n * dt  # from the index: no drift over days


# --------------------------------------------------------------------------- engine
class EngineStage(Stage):
    """Run the engine on each complete window: ``[T, 63, 6]`` raw means → BVP ``[T]``.

    ``engine`` is anything :func:`edge_rppg.engines.registry.load_engine` accepts
    (``"pos"``, ``"model.onnx"``, ``"model.engine"``, an Engine object).
    """

    name = "engine"

    def __init__(self, engine: Any = "pos", fps: float = 30.0) -> None:
        super().__init__()
        from .engines.registry import load_engine

        self.engine = load_engine(engine, fps=fps)

    @property
    def T(self) -> Optional[int]:
        """The engine's fixed window length (None: any length)."""
        return self.engine.info.T

    def process(self, packet: Packet) -> None:
        packet.bvp_window = None
        if packet.window is None:
            return
        y = np.asarray(self.engine.infer(packet.window), dtype=np.float32).ravel()
        if y.shape[0] != packet.window.shape[0]:
            raise ShapeError(f"engine {self.engine.info.name} returned {y.shape[0]} samples "
                             f"for a window of {packet.window.shape[0]}")
        packet.bvp_window = y

    def close(self) -> None:
        close = getattr(self.engine, "close", None)
        if callable(close):
            close()


# --------------------------------------------------------------------------- vitals
def _standardise(x: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance (as ``edge_rppg.engines.windowing.infer_clip`` does per window)."""
    x = x - x.mean()
    sd = x.std()
    return x / sd if sd > 1e-12 else x


def _finite_or_none(v: Any) -> Optional[float]:
    return float(v) if v is not None and np.isfinite(v) else None


class VitalsStage(Stage):
    """Stitch window BVPs into one pulse signal and derive HR, quality, HRV and RF.

    Window outputs are standardised and overlap-added with a Hann taper (the same
    stitching as ``edge_rppg.engines.windowing.infer_clip`` for whole files); samples
    that no later window can reach move into a bounded history (``bvp_history_s``). On
    every new window the history plus the pending overlap is band-passed (as
    ``edge_rppg.estimate.analyse_bvp`` does for a clip) and the last
    ``signal.window_s`` seconds give the HR (``hr_from_psd``: Welch peak + SNR). The
    reading is valid when the SNR passes and at least ``signal.min_valid_fraction``
    of those samples had a real face (not bridged). HRV (``hrv_from_beats``, needs
    ~30 s) and RF (``respiration_rate_hz``) come from the whole history. All of it runs
    once per hop, not per frame; other frames reuse the last :class:`VitalsState`.
    """

    name = "vitals"

    def __init__(self, fps: float = 30.0, signal: Optional[SignalConfig] = None, bvp_history_s: float = 60.0,
                 hrv: bool = True, respiration: bool = True) -> None:
        super().__init__()
        self.fps = float(fps)
        self.cfg = signal or SignalConfig()
        self.want_hrv = bool(hrv)
        self.want_rf = bool(respiration)
        self.n_hist = max(int(round(bvp_history_s * self.fps)), 1)
        self.reset()

    def reset(self) -> None:
        self._hist: Deque[float] = deque(maxlen=self.n_hist)
        self._hist_valid: Deque[bool] = deque(maxlen=self.n_hist)
        self._acc: Optional[np.ndarray] = None
        self._wacc: Optional[np.ndarray] = None
        self._acc_valid: Optional[np.ndarray] = None
        self._acc_start = 0   # grid index of _acc[0]
        self._state = VitalsState()

    def _overlap_add(self, y: np.ndarray, valid: np.ndarray, end: int) -> None:
        T = y.shape[0]
        start = end - T
        taper = np.hanning(T + 2)[1:-1]
        if self._acc is None or self._acc.shape[0] != T:
            self._acc, self._wacc = np.zeros(T), np.zeros(T)
            self._acc_valid = np.ones(T, dtype=bool)
            self._acc_start = start
        shift = start - self._acc_start
        if shift > 0:
            k = min(shift, T)
            done = self._acc[:k] / np.maximum(self._wacc[:k], 1e-12)
            self._hist.extend(done.tolist())
            self._hist_valid.extend(self._acc_valid[:k].tolist())
            self._acc = np.concatenate([self._acc[k:], np.zeros(k)])
            self._wacc = np.concatenate([self._wacc[k:], np.zeros(k)])
            self._acc_valid = np.concatenate([self._acc_valid[k:], np.ones(k, dtype=bool)])
            self._acc_start = start
        self._acc += _standardise(y.astype(np.float64)) * taper
        self._wacc += taper
        self._acc_valid = valid.astype(bool).copy()

    def _signal(self) -> tuple:
        assert self._acc is not None and self._wacc is not None and self._acc_valid is not None
        tail = self._acc / np.maximum(self._wacc, 1e-12)
        x = np.concatenate([np.fromiter(self._hist, dtype=np.float64, count=len(self._hist)), tail])
        v = np.concatenate([np.fromiter(self._hist_valid, dtype=bool, count=len(self._hist_valid)),
                            self._acc_valid])
        return x[-self.n_hist:], v[-self.n_hist:]

    def _analyse(self) -> VitalsState:
        from .dsp.filters import bandpass
        from .dsp.hr import hr_from_psd

        cfg, fs = self.cfg, self.fps
        x, v = self._signal()
        filtered = bandpass(x, fs, cfg.band_hz, cfg.order)
        n_win = min(x.shape[0], max(int(round(cfg.window_s * fs)), 2))
        reading = hr_from_psd(filtered[-n_win:], fs, cfg)
        hr = _finite_or_none(reading.hr_bpm)
        coverage = float(v[-n_win:].mean()) if n_win else 0.0
        valid = bool(reading.valid and hr is not None and coverage >= cfg.min_valid_fraction)
        hrv = rf = None
        if (self.want_hrv or self.want_rf) and hr is not None:
            from .dsp.peaks import detect_beats

            beats = detect_beats(filtered, fs, hr_hint_bpm=hr)
            if self.want_hrv:
                from .dsp.hrv import hrv_from_beats

                h = hrv_from_beats(beats)
                hrv = h if getattr(h, "valid", True) else None
            if self.want_rf:
                from .dsp.respiration import respiration_rate_hz

                rf = _finite_or_none(respiration_rate_hz(x, fs, beats=beats)[0])
        bvp = _readonly(filtered.astype(np.float32))
        return VitalsState(hr_bpm=hr, quality=_finite_or_none(reading.quality), valid=valid, hrv=hrv,
                           rf_hz=rf, bvp=bvp, updated=True, windows=self._state.windows + 1)

    def process(self, packet: Packet) -> None:
        if packet.reset_reason is not None:
            self.reset()
        if packet.bvp_window is not None:
            valid = packet.window_valid if packet.window_valid is not None else \
                np.ones(packet.bvp_window.shape[0], dtype=bool)
            self._overlap_add(packet.bvp_window, valid, packet.samples)
            self._state = self._analyse()
            packet.vitals = self._state
            return
        s = self._state
        packet.vitals = s if not s.updated else VitalsState(
            hr_bpm=s.hr_bpm, quality=s.quality, valid=s.valid, hrv=s.hrv, rf_hz=s.rf_hz, bvp=s.bvp,
            updated=False, windows=s.windows)
        self._state = packet.vitals


# --------------------------------------------------------------------------- registry & default chain
#: Stage classes by launch-string name (``"landmarks ! roi ! window T=160 ! engine model=pos ! vitals"``).
STAGES: Registry[Callable[..., Stage]] = Registry("stage")
STAGES.add("input", InputStage)
STAGES.add("landmarks", LandmarksStage)
STAGES.add("roi", RoiAverageStage)
STAGES.add("window", MstmapWindowStage)
STAGES.add("engine", EngineStage)
STAGES.add("vitals", VitalsStage)

DEFAULT_CLASSIC_T = 300  # 10 s at 30 Hz: classic engines accept any length


def build_stages(engine: Any = "pos", *, color_order: str = "rgb", fps: float = 30.0, T: Optional[int] = None,
                 hop_s: float = 1.0, bridge_s: float = 0.5, face_select: FaceSelector = "largest",
                 max_faces: int = 1, smooth_landmarks: bool = True, landmarker: Any = None,
                 roi_backend: str = "auto", signal: Optional[SignalConfig] = None, bvp_history_s: float = 60.0,
                 hrv: bool = True, respiration: bool = True) -> List[Stage]:
    """The default chain ``input → landmarks → roi → window → engine → vitals``.

    ``T`` defaults to the engine's fixed window, else :data:`DEFAULT_CLASSIC_T`; a ``T``
    that contradicts a fixed-T engine raises ``ValueError``.
    """
    eng = EngineStage(engine, fps=fps)
    T_eng = eng.T
    if T is None:
        T = int(T_eng) if T_eng else DEFAULT_CLASSIC_T
    elif T_eng and int(T) != int(T_eng):
        raise ValueError(f"window T={T} but engine {eng.engine.info.name} needs T={T_eng}")
    return [InputStage(color_order),
            LandmarksStage(landmarker, select=face_select, max_faces=max_faces, smooth=smooth_landmarks),
            RoiAverageStage(roi_backend),
            MstmapWindowStage(T=int(T), fps=fps, hop_s=hop_s, bridge_s=bridge_s),
            eng,
            VitalsStage(fps=fps, signal=signal, bvp_history_s=bvp_history_s, hrv=hrv, respiration=respiration)]


def run_stages(stages: Sequence[Stage], packet: Packet) -> Packet:
    """Run ``packet`` through ``stages`` in order; total wall time goes to ``latency_ms["total"]``."""
    t0 = time.perf_counter()
    for stage in stages:
        stage(packet)
    packet.latency_ms["total"] = (time.perf_counter() - t0) * 1e3
    return packet
