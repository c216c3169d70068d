"""The one stream processor: every frame of every path goes through this chain.

::

    frame ─ input ─ clock ─ landmarks ─ roi ─┬─ window ─ engine ─ vitals ─▶ VitalsResult   (live_stream)
      Frame    Tick   FaceObservation  SkinSample  WindowStep  PulseWindow  VitalsUpdate
                                             └─ ClipRecorder ─ clip back end ─▶ Estimate   (video / keep_clip)

Each stage takes what it needs and returns a small frozen record (named under each
arrow); :meth:`StreamProcessor.process` is that chain, written once. The front (``input``,
``landmarks``, ``roi``) comes from :func:`edge_rppg.processor.front.build_front`; the back
is the ``window`` (:mod:`edge_rppg.skin.window`), ``engine`` (:mod:`edge_rppg.pulse.stage`)
and ``vitals`` (:mod:`edge_rppg.vitals.stage`) stages. The processor also owns the frame
index, drop counting (``dropped_frames``: bad frames, repeated timestamps, frames the
caller dropped) and restarts. :class:`edge_rppg.EdgeRPPG` is a thread-safe facade over it;
``edge_rppg.runtime.pipeline`` feeds it from a source thread through a bounded queue;
``estimate()`` runs it in ``video`` mode. One instance = one stream, single-threaded.
"""
from __future__ import annotations

import math
import numbers
import time
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Dict, List, Optional

import numpy as np

from ..errors import ConfigError, FrameFormatError
from ..face.stage import NO_FACE, FaceObservation
from ..face.types import Landmarker
from ..frames.clock import StreamClock
from ..frames.input import Frame
from ..pulse.engines.base import Engine
from ..frames.color import COLOR_SPACES, MSTMAP_CHANNELS
from ..pulse.engines.registry import check_engine_color_space, load_engine
from ..pulse.stage import EngineStage
from ..pulse.windows import aligned_hop, input_grid
from ..skin.window import DEFAULT_CLASSIC_WINDOW, WindowStage, WindowStep
from ..stage import RESET_FRAME_SIZE, RESET_MANUAL, Stage
from ..vitals.stage import VitalsStage, VitalsUpdate
from .clip import Estimate, estimate_extraction
from .extract import ClipRecorder, Source, run_front
from .front import build_front
from .options import LIVE_STREAM, VIDEO, EdgeRPPGOptions, EstimateConfig
from .results import VitalsResult

__all__ = ["StreamProcessor", "resolve_window"]

#: The clock that times frames given without a timestamp (monotonic seconds; tests replace it).
clock: Callable[[], float] = time.monotonic


def resolve_window(window: Optional[int], engine: Engine) -> int:
    """The window length for ``engine``: its fixed T, else ``window``, else
    :data:`~edge_rppg.skin.window.DEFAULT_CLASSIC_WINDOW`; a ``window`` that contradicts a
    fixed T is a ``ConfigError``."""
    T = engine.info.T
    if window is None:
        return int(T) if T else DEFAULT_CLASSIC_WINDOW
    if T and int(window) != int(T):
        raise ConfigError(f"window={window} but engine {engine.info.name} needs T={T}")
    return int(window)


class StreamProcessor:
    """The fixed chain ``input → clock → landmarks → roi → window → engine → vitals`` of one stream.

    ``options``: :class:`~edge_rppg.processor.options.EdgeRPPGOptions` (used whole).
    ``landmarker``: a ready :class:`~edge_rppg.face.types.Landmarker` instead of the one
    ``options.landmark_model`` names (left open by :meth:`close`).

    Entry point per running mode: :meth:`process` (``live_stream``, one frame) and
    :meth:`process_video` (``video``, a whole file or list of frames).
    """

    def __init__(self, options: Optional[EdgeRPPGOptions] = None, *, landmarker: Optional[Landmarker] = None) -> None:
        opts = options or EdgeRPPGOptions()
        self.options = opts
        base = opts.base_options
        given = not isinstance(base.model, (str, Path)) and base.model is not None
        engine = load_engine(base.model, fps=opts.model_fps, delegate=base.delegate, color_space=opts.color_space)
        try:
            check_engine_color_space(engine, opts.color_space)
        except Exception:
            if not given:
                getattr(engine, "close", lambda: None)()
            raise
        self.engine_stage = EngineStage(engine, own=not given)
        self.window = resolve_window(opts.window, self.engine_stage.engine)
        self.front = build_front(opts, landmarker=landmarker)
        self.clock = StreamClock(opts.bridge_s, opts.validity.max_clock_jump_s)
        hop = aligned_hop(round(opts.engine_hop_s * opts.model_fps), input_grid(self.engine_stage.engine))
        self.window_stage = WindowStage(self.window, hop=hop, model_fps=opts.model_fps,
                                        bridge_s=opts.bridge_s,
                                        channels=len(MSTMAP_CHANNELS[COLOR_SPACES[opts.color_space].family]))
        self.vitals_stage = VitalsStage(opts.model_fps, opts.signal, opts.bvp_history_s, opts.hrv,
                                        opts.respiration, validity=opts.validity)
        self.recorder: Optional[ClipRecorder] = ClipRecorder(keep_landmarks=False) if opts.keep_clip else None
        self.index = 0
        self.dropped_frames = 0   # all frames dropped so far (the sum of the three below)
        self.bad_frames = 0       # ill-formed frames (FrameFormatError)
        self.skipped_frames = 0   # timestamps not after the previous one
        self.last_error: Optional[str] = None
        self.last_frame: Optional[np.ndarray] = None  # the last frame's 8-bit RGB view (checked; a gray frame replicated)
        self._pending_reset: Optional[str] = None
        self._last_face: FaceObservation = NO_FACE   # of the last analysed frame (repeated on skipped ones)
        self._last_step = WindowStep(samples=0, fill=0.0)
        self._last_vitals = VitalsUpdate(None)
        self._clock_origin: Optional[float] = None  # monotonic time of frame 0 (timestamp-less streams)
        self._videos = 0  # files run through process_video so far
        self._closed = False

    # -- what it is
    @property
    def stages(self) -> List[Stage]:
        """The stage objects in chain order (each has ``name`` and a ``timer``)."""
        return [*self.front.stages, self.window_stage, self.engine_stage, self.vitals_stage]

    @property
    def engine(self) -> Engine:
        """The engine in use (``engine.info`` says which)."""
        return self.engine_stage.engine

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    def stage_timing(self) -> Dict[str, Dict[str, float]]:
        """Per-stage timing statistics (count, mean, p50, p99, max in ms)."""
        return {s.name: s.timer.summary() for s in self.stages}

    def _check(self, mode: str, entry: str) -> None:
        if self._closed:
            raise RuntimeError("the stream processor is closed; create a new one")
        if self.options.running_mode != mode:
            raise ConfigError(f"{entry}() is the entry point of running_mode={mode!r}; this processor runs "
                              f"{self.options.running_mode!r}")

    # -- live_stream
    def _timestamp(self, timestamp: Optional[float], index: int) -> float:
        """The frame's time (s): the caller's, else ``index / input_fps``, else its arrival
        on ``time.monotonic()`` (measured from the first frame of the stream)."""
        if timestamp is None:
            if self.options.input_fps is not None:
                return index / float(self.options.input_fps)
            now = clock()
            if index == 0 or self._clock_origin is None:
                self._clock_origin = now
            return now - self._clock_origin
        if isinstance(timestamp, bool) or not isinstance(timestamp, numbers.Real):
            raise ConfigError(f"timestamp must be seconds as a number, got {timestamp!r}")
        t = float(timestamp)
        if not math.isfinite(t):
            raise ConfigError(f"timestamp must be finite seconds, got {timestamp!r}")
        return t

    def process(self, frame: np.ndarray, timestamp: Optional[float] = None, *,
                dropped_before: int = 0) -> VitalsResult:
        """Analyse one frame of a live stream; returns its :class:`~edge_rppg.processor.results.VitalsResult`.

        ``timestamp``: seconds (None: ``index / input_fps`` when ``input_fps`` is set, else
        the arrival time on ``time.monotonic()``; never an assumed rate). ``dropped_before``: frames the
        caller dropped before this one (a pipeline's queue, the camera). A None/ill-formed
        frame raises ``FrameFormatError`` (a ``ValueError``) after counting it as dropped;
        the stream state is unchanged. A frame whose timestamp is not after the last
        analysed one is skipped before any work (``VitalsResult.skipped``).
        """
        self._check(LIVE_STREAM, "process")
        if isinstance(dropped_before, bool) or not isinstance(dropped_before, numbers.Integral) or dropped_before < 0:
            raise ConfigError(f"dropped_before must be a count of frames (an integer >= 0), got {dropped_before!r}")
        index = self.index
        self.index += 1
        self.dropped_frames += int(dropped_before)
        t0 = time.perf_counter()
        latency: Dict[str, float] = {}
        try:
            frame_in = self._timed(self.front.input, latency, frame, self._timestamp(timestamp, index), index)
        except FrameFormatError as exc:
            self.dropped_frames += 1
            self.bad_frames += 1
            self.last_error = str(exc)
            raise
        tick = self.clock.admit(frame_in.timestamp, dropped_before)
        self.last_frame = frame_in.view
        if tick.skip:
            self.dropped_frames += 1
            self.skipped_frames += 1
            return self._result(frame_in, self._last_face, self._last_step, self._last_vitals, None, latency, t0,
                                skipped=True)
        restart = tick.reset_reason or (RESET_FRAME_SIZE if self.front.resized(frame_in) else None)
        reset_reason = self._pending_reset or restart
        self._pending_reset = None
        if restart is not None:  # the clock went back, or the frames changed size: a new segment
            self._restart_stream()
        face = self._timed(self.front.face, latency, frame_in)
        skin = self._timed(self.front.roi, latency, frame_in, face)
        step = self._timed(self.window_stage, latency, frame_in.timestamp, skin.row)
        if step.reset_reason is not None:  # the window restarted: so does the pulse
            self.vitals_stage.reset()
            reset_reason = reset_reason or step.reset_reason
        if tick.jump:  # the clock may have jumped: the readings across this sample are not trusted
            self.vitals_stage.distrust(step.samples, "timestamp_jump")
        pulse = self._timed(self.engine_stage, latency, step)
        update = self._timed(self.vitals_stage, latency, frame_in.timestamp, face, skin, pulse)
        if self.recorder is not None:
            self.recorder.add(frame_in.timestamp, face, skin)
        self._last_face, self._last_step, self._last_vitals = face, step, update
        return self._result(frame_in, face, step, update, reset_reason, latency, t0)

    @staticmethod
    def _timed(stage: Stage, latency: Dict[str, float], *args: object) -> object:
        """Call ``stage`` with ``args`` and note its time in ``latency``."""
        out = stage(*args)
        latency[stage.name] = stage.timer.last_ms
        return out

    def _restart_stream(self) -> None:
        """A new segment within this stream (the clock went back, the frames changed size):
        forget face, window and pulse."""
        self.front.reset()
        self.window_stage.reset()
        self.vitals_stage.reset()

    def _result(self, frame: Frame, face: FaceObservation, step: WindowStep, update: VitalsUpdate,
                reset_reason: Optional[str], latency: Dict[str, float], t0: float,
                skipped: bool = False) -> VitalsResult:
        latency["total"] = (time.perf_counter() - t0) * 1e3
        found = face.landmarks is not None
        return VitalsResult(
            timestamp=frame.timestamp, frame_index=frame.index, vitals=update.vitals,
            hr_updated=update.updated and not skipped, face_found=found, face_box=face.box if found else None,
            landmarks=face.landmarks if found else None, faces=face.faces, window_fill=step.fill,
            window_reset=reset_reason is not None, reset_reason=reset_reason, dropped_frames=self.dropped_frames,
            latency_ms=MappingProxyType(latency), skipped=skipped)

    def clip_estimate(self) -> Estimate:
        """The whole-clip :class:`~edge_rppg.processor.clip.Estimate` of the frames recorded so far
        (needs ``keep_clip=True``): the same back end as :meth:`process_video`, so a stream
        and a file of the same frames give the same windows and HR. The frames are taken
        as evenly spaced at ``input_fps`` (else the median frame interval)."""
        if self.recorder is None:
            raise ConfigError("clip_estimate() needs EdgeRPPGOptions(keep_clip=True)")
        times = self.recorder.timestamps
        fps = self.options.input_fps
        if fps is None:
            step = float(np.median(np.diff(times))) if times.size > 1 else 1.0 / self.options.model_fps
            fps = round(1.0 / step, 6)
        ex = self.recorder.extraction(float(fps), "stream")
        return estimate_extraction(ex, self.engine, self._estimate_config())

    # -- video
    def _estimate_config(self, progress: bool = False) -> EstimateConfig:
        o = self.options
        return EstimateConfig(signal=o.signal, model_fps=o.model_fps, progress=progress, validity=o.validity,
                              landmark_model=o.landmark_model, landmarks=o.landmarks, color_space=o.color_space)

    def process_video(self, source: Source, *, fps: Optional[float] = None, progress: bool = False) -> Estimate:
        """The whole-file entry point (``running_mode="video"``): every frame of ``source`` (a
        video path, a folder of frames, or an iterable of RGB frames with ``fps``) through
        the front stages at ``i / fps``, then the clip back end (:mod:`edge_rppg.processor.clip`) in
        one batch. Raises ``VideoReadError``, ``FrameFormatError``, ``NoFaceError`` or
        ``ClipTooShortError``."""
        self._check(VIDEO, "process_video")
        if self._videos:  # each file is a new clip: no tracker, smoother or face state from the last one
            self.front.reset()
        self._videos += 1
        ex = run_front(self.front, source, ClipRecorder(keep_landmarks=False), fps=fps, progress=progress)
        return estimate_extraction(ex, self.engine, self._estimate_config(progress))

    # -- lifecycle
    def reset(self) -> None:
        """Start a new stream: forget the tracker, window, pulse, counters and recorded clip."""
        if self._closed:
            raise RuntimeError("the stream processor is closed; create a new one")
        for s in self.stages:
            s.reset()
        self.clock.reset()
        if self.recorder is not None:
            self.recorder.reset()
        self.index = self.dropped_frames = self.bad_frames = self.skipped_frames = 0
        self._pending_reset = RESET_MANUAL
        self.last_error = None
        self.last_frame = None
        self._last_face, self._last_step, self._last_vitals = NO_FACE, WindowStep(samples=0, fill=0.0), VitalsUpdate(None)

    def close(self) -> None:
        """Release the landmarker (if this processor made it) and the engine (idempotent)."""
        if self._closed:
            return
        self._closed = True
        for s in self.stages:
            try:
                s.close()
            except Exception:  # closing must not raise half-way
                pass

    def __enter__(self) -> "StreamProcessor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
