"""The public API: :class:`EdgeRPPG`, a thread-safe facade over one
:class:`~edge_rppg.processor.stream.StreamProcessor`.

This is what in-car units and kiosks embed: frames in, one small result out per frame,
for days::

    from edge_rppg import EdgeRPPG
    with EdgeRPPG("model.onnx", color_space="bgr") as rppg:   # or ".engine", an Engine, "pos"
        for frame, ts in camera:                                # HxWx3 uint8 (HxW 8/16-bit: "gray"), ts in seconds
            r = rppg.process(frame, timestamp=ts)
            if r.hr_bpm is not None and r.valid:
                show(r.hr_bpm)

MediaPipe-Tasks shape: :class:`~edge_rppg.processor.options.EdgeRPPGOptions` with
:class:`~edge_rppg.processor.options.BaseOptions` (model + delegate ``cpu``/``cuda``/``tensorrt``)
and a running mode with one entry point each: ``live_stream`` → :meth:`EdgeRPPG.process`
(a frame and its timestamp), ``video`` → :meth:`EdgeRPPG.process_video` (a whole file).

Timestamps are seconds (any origin, e.g. ``time.monotonic()`` or the camera's PTS);
without them frame ``n`` is placed at ``n / input_fps``. Irregular timestamps are
resampled; frames missing from the stream (a gap in the timestamps) or a face lost for
at most ``bridge_s`` are bridged by interpolation; a longer gap resets the window, and
that result says so (``window_reset``, ``reset_reason``) and has ``hr_bpm=None`` until
the window has filled again. Per-frame cost is O(1) amortised and memory is bounded.

Thread safety: an instance holds the state of ONE stream (tracker, window, pulse). Its
methods take an internal lock, so calling them from several threads is safe (calls are
serialised), but frames of two cameras must never be interleaved into one instance:
use one instance per stream. ``close()`` is idempotent; after it every call raises
``RuntimeError``.
"""
from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from .processor.clip import Estimate
from .pulse.engines.base import Engine
from .processor.extract import Source
from .face.types import Landmarker
from .processor.options import BaseOptions, EdgeRPPGOptions
from .processor.stream import StreamProcessor
from .processor.results import VitalsResult

__all__ = ["EdgeRPPG", "EdgeRPPGOptions", "BaseOptions", "VitalsResult"]

ModelSpec = Union[str, Path, Engine]
#: Options renamed since the last release: old name → new name (an old name is refused, naming the new one).
RENAMED_OPTIONS = {"hop_s": "engine_hop_s"}


class EdgeRPPG(StreamProcessor):
    """Streaming heart rate, HRV and respiration from camera frames: a
    :class:`~edge_rppg.processor.stream.StreamProcessor` whose calls are serialised by a lock.

    ``EdgeRPPG(model=None, options=None, *, landmarker=None, **overrides)``: ``model`` is
    a classic method name, a model path (``.onnx``, ``.engine``/``.plan``, ``.pt``) or an
    Engine object (it replaces ``options.base_options.model``); ``overrides`` are
    :class:`EdgeRPPGOptions` fields (``color_space``, ``window``, ``engine_hop_s``,
    ``face_select``...); ``landmarker`` replaces the built-in landmarker (anything with
    ``detect(frame_rgb, timestamp_ms) -> list[Face]``). Everything else (``engine``,
    ``window``, ``stages``, ``dropped_frames``, ``last_error``, ``stage_timing()``, ``closed``)
    is the processor's.

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, model: Optional[ModelSpec] = None, options: Optional[EdgeRPPGOptions] = None, *,
                 landmarker: Optional[Landmarker] = None, **overrides: Any) -> None:
        opts = options if options is not None else EdgeRPPGOptions()
        unknown = sorted(set(overrides) - {f.name for f in dataclasses.fields(EdgeRPPGOptions)})
        if unknown:
            renamed = [f"{k} is now {RENAMED_OPTIONS[k]}" for k in unknown if k in RENAMED_OPTIONS]
            raise TypeError(f"EdgeRPPG: unknown option(s) {unknown}" + (f" ({'; '.join(renamed)})" if renamed else ""))
        if model is not None:
            overrides["base_options"] = dataclasses.replace(overrides.get("base_options", opts.base_options),
                                                            model=model)
        super().__init__(dataclasses.replace(opts, **overrides) if overrides else opts, landmarker=landmarker)
        self._lock = threading.Lock()
        self._last: Optional[VitalsResult] = None

    @classmethod
    def create_from_options(cls, options: EdgeRPPGOptions, *, landmarker: Optional[Landmarker] = None) -> "EdgeRPPG":
        """Build from an :class:`EdgeRPPGOptions` (MediaPipe Tasks naming)."""
        return cls(None, options, landmarker=landmarker)

    def process(self, frame: np.ndarray, timestamp: Optional[float] = None, *,
                dropped_before: int = 0) -> VitalsResult:
        """``live_stream`` mode: analyse one frame, return its :class:`VitalsResult`.

        ``frame``: in the declared ``color_space`` (HxWx3 uint8 RGB/BGR; HxW or HxWx1 uint8/uint16
        gray). ``timestamp``: seconds.
        ``dropped_before``: frames the caller dropped before this one. A None/ill-formed
        frame raises ``FrameFormatError`` (a ``ValueError``) and is counted as dropped;
        the stream state is unchanged.
        """
        with self._lock:
            self._last = super().process(frame, timestamp, dropped_before=dropped_before)
            return self._last

    def process_video(self, source: Source, *, fps: Optional[float] = None, progress: bool = False) -> Estimate:
        """``video`` mode: the whole-clip :class:`~edge_rppg.estimate.Estimate` of a video
        path, a folder of frames or a list of RGB frames (with ``fps``)."""
        with self._lock:
            return super().process_video(source, fps=fps, progress=progress)

    def clip_estimate(self) -> Estimate:
        """``live_stream`` with ``keep_clip=True``: the whole-clip estimate of the frames seen
        so far, computed exactly as :meth:`process_video` would on the same frames."""
        with self._lock:
            return super().clip_estimate()

    def get_result(self) -> Optional[VitalsResult]:
        """The latest :class:`VitalsResult` (None before the first good frame or after :meth:`reset`)."""
        with self._lock:
            return self._last

    def reset(self) -> None:
        """Start a new stream: forget the tracker, window, pulse and counters."""
        with self._lock:
            super().reset()
            self._last = None

    def close(self) -> None:
        """Release the landmarker and engine (idempotent)."""
        with self._lock:
            super().close()

    def __enter__(self) -> "EdgeRPPG":
        return self

    def __repr__(self) -> str:
        return (f"EdgeRPPG(model={self.engine.info.name!r}, window={self.window}, "
                f"engine_hop_s={self.options.engine_hop_s}, closed={self.closed})")
