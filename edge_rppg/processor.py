"""The one stream processor: every frame of every path goes through this chain.

::

    frame ─ input ─ landmarks ─ roi ─┬─ window ─ engine ─ vitals ─▶ VitalsResult   (live_stream)
                                     └─ ClipRecorder ─ clip back end ─▶ Estimate   (video / keep_clip)

:class:`StreamProcessor` owns the stage objects (:mod:`edge_rppg.frame_stages`,
:mod:`edge_rppg.window_stage`, :mod:`edge_rppg.signal_stages`), the frame index, drop
counting (``dropped_frames``: bad frames, repeated timestamps, frames the caller dropped), resets and
face-loss handling. :class:`edge_rppg.EdgeRPPG` is a thread-safe facade over it;
``edge_rppg.runtime.pipeline`` feeds it from a source thread through a bounded queue;
``estimate()`` runs it in ``video`` mode. One instance = one stream, single-threaded.
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np

from .clip import Estimate, EstimateConfig, estimate_extraction
from .engines.base import Engine
from .engines.registry import load_engine
from .errors import ConfigError, FrameFormatError
from .extract import ClipRecorder, Source, run_front
from .frame_stages import InputStage, LandmarksStage, RoiAverageStage
from .landmarks import LANDMARKERS, Landmarker
from .options import LIVE_STREAM, VIDEO, EdgeRPPGOptions
from .results import VitalsResult, result_from_packet
from .signal_stages import EngineStage, VitalsStage
from .stage_base import RESET_MANUAL, Packet, Stage
from .window_stage import DEFAULT_CLASSIC_WINDOW, MstmapWindowStage

__all__ = ["StreamProcessor", "resolve_window"]

#: The clock that times frames given without a timestamp (monotonic seconds; tests replace it).
clock: Callable[[], float] = time.monotonic


def resolve_window(window: Optional[int], engine: Engine) -> int:
    """The window length for ``engine``: its fixed T, else ``window``, else
    :data:`DEFAULT_CLASSIC_WINDOW`; a ``window`` that contradicts a fixed T is a ``ConfigError``."""
    T = engine.info.T
    if window is None:
        return int(T) if T else DEFAULT_CLASSIC_WINDOW
    if T and int(window) != int(T):
        raise ConfigError(f"window={window} but engine {engine.info.name} needs T={T}")
    return int(window)


class StreamProcessor:
    """The fixed chain ``input → landmarks → roi → window → engine → vitals`` of one stream.

    ``options``: :class:`~edge_rppg.options.EdgeRPPGOptions` (used whole). ``landmarker``:
    a ready :class:`~edge_rppg.landmarks.Landmarker` instead of the one
    ``options.landmark_model`` names (left open by :meth:`close`).

    Entry point per running mode: :meth:`process` (``live_stream``, one frame) and
    :meth:`process_video` (``video``, a whole file or list of frames).
    """

    def __init__(self, options: Optional[EdgeRPPGOptions] = None, *, landmarker: Optional[Landmarker] = None) -> None:
        opts = options or EdgeRPPGOptions()
        self.options = opts
        base = opts.base_options
        given = not isinstance(base.model, (str, Path)) and base.model is not None
        self.engine_stage = EngineStage(load_engine(base.model, fps=opts.model_fps, delegate=base.delegate),
                                        own=not given)
        self.window = resolve_window(opts.window, self.engine_stage.engine)
        own = landmarker is None
        lmk = LANDMARKERS.get(opts.landmark_model).create_from_options(opts.landmarks) if own else landmarker
        self.front: List[Stage] = [InputStage(opts.color_order),
                                   LandmarksStage(lmk, select=opts.face_select, smoother=opts.smooth_landmarks,
                                                  own=own),
                                   RoiAverageStage(opts.roi_backend)]
        self.back: List[Stage] = [MstmapWindowStage(self.window, model_fps=opts.model_fps, hop_s=opts.hop_s,
                                                    bridge_s=opts.bridge_s),
                                  self.engine_stage,
                                  VitalsStage(opts.model_fps, opts.signal, opts.bvp_history_s, opts.hrv,
                                              opts.respiration, validity=opts.validity)]
        self.recorder: Optional[ClipRecorder] = ClipRecorder(keep_landmarks=False) if opts.keep_clip else None
        self.index = 0
        self.dropped_frames = 0   # all frames dropped so far (the sum of the three below)
        self.bad_frames = 0       # ill-formed frames (FrameFormatError)
        self.skipped_frames = 0   # timestamps not after the previous one
        self.last_error: Optional[str] = None
        self.last_frame: Optional[np.ndarray] = None  # the last frame as the stages saw it (checked, RGB)
        self._pending_reset: Optional[str] = None
        self._clock_origin: Optional[float] = None  # monotonic time of frame 0 (timestamp-less streams)
        self._videos = 0  # files run through process_video so far
        self._closed = False

    # -- what it is
    @property
    def stages(self) -> List[Stage]:
        """The stage objects in chain order (each has ``name`` and a ``timer``)."""
        return [*self.front, *self.back]

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
        try:
            t = float(timestamp)
        except (TypeError, ValueError):
            raise ConfigError(f"timestamp must be seconds as a number, got {timestamp!r}") from None
        if not math.isfinite(t):
            raise ConfigError(f"timestamp must be finite seconds, got {timestamp!r}")
        return t

    def process(self, frame: np.ndarray, timestamp: Optional[float] = None, *,
                dropped_before: int = 0) -> VitalsResult:
        """Analyse one frame of a live stream; returns its :class:`~edge_rppg.results.VitalsResult`.

        ``timestamp``: seconds (None: ``index / input_fps`` when ``input_fps`` is set, else
        the arrival time on ``time.monotonic()``; never an assumed rate). ``dropped_before``: frames the
        caller dropped before this one (a pipeline's queue, the camera). A None/ill-formed
        frame raises ``FrameFormatError`` (a ``ValueError``) after counting it as dropped;
        the stream state is unchanged.
        """
        self._check(LIVE_STREAM, "process")
        index = self.index
        self.index += 1
        self.dropped_frames += int(dropped_before)
        packet = Packet(frame=frame, timestamp=self._timestamp(timestamp, index), index=index,
                        reset_reason=self._pending_reset)
        t0 = time.perf_counter()
        try:
            for stage in self.front:
                stage(packet)
        except FrameFormatError as exc:
            self.dropped_frames += 1
            self.bad_frames += 1
            self.last_error = str(exc)
            raise
        self.last_frame = packet.frame
        for stage in self.back:
            stage(packet)
        packet.latency_ms["total"] = (time.perf_counter() - t0) * 1e3
        self._pending_reset = None
        if packet.skipped:
            self.dropped_frames += 1
            self.skipped_frames += 1
        elif self.recorder is not None:
            self.recorder.add(packet)
        packet.dropped_frames = self.dropped_frames
        return result_from_packet(packet)

    def clip_estimate(self) -> Estimate:
        """The whole-clip :class:`~edge_rppg.estimate.Estimate` of the frames recorded so far
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
        return EstimateConfig(signal=self.options.signal, model_fps=self.options.model_fps, progress=progress,
                              validity=self.options.validity)

    def process_video(self, source: Source, *, fps: Optional[float] = None, progress: bool = False) -> Estimate:
        """The whole-file entry point (``running_mode="video"``): every frame of ``source`` (a
        video path, a folder of frames, or an iterable of RGB frames with ``fps``) through
        the front stages at ``i / fps``, then the clip back end (:mod:`edge_rppg.clip`) in
        one batch. Raises ``VideoReadError``, ``FrameFormatError``, ``NoFaceError`` or
        ``ClipTooShortError``."""
        self._check(VIDEO, "process_video")
        if self._videos:  # each file is a new clip: no tracker, smoother or face state from the last one
            for s in self.front:
                s.reset()
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
        if self.recorder is not None:
            self.recorder.reset()
        self.index = self.dropped_frames = self.bad_frames = self.skipped_frames = 0
        self._pending_reset = RESET_MANUAL
        self.last_error = None
        self.last_frame = None

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
