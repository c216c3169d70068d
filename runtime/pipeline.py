"""The camera runtime: source thread → bounded queue → stream processor → sinks.

A reader thread pulls ``(frame, timestamp)`` pairs from a :class:`~edge_rppg.runtime.sources.Source`
into a bounded :class:`FrameQueue`; the calling thread takes them out, hands each to the
core's :class:`~edge_rppg.processor.stream.StreamProcessor` (the same object
:class:`edge_rppg.EdgeRPPG` wraps: input check → landmarks → ROI → window → engine →
vitals, with its frame index, drop counting and resets) and gives each
:class:`~edge_rppg.processor.results.VitalsResult` to the sinks. Backpressure: for live sources
(cameras, RTSP) a full queue drops its oldest frame and counts it, so memory stays bounded
and processing always works on recent frames; files and iterators block instead (nothing
is lost). A bad frame (``FrameFormatError``) is counted as dropped and the stream goes on.
The run ends on the source's EOS/error/stall, ``max_frames``, :meth:`Pipeline.stop` or
Ctrl-C, and returns a :class:`RunReport` with the reason, counts and per-stage timing.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Dict, List, Optional, Sequence, Tuple


from edge_rppg.processor.clip import Estimate
from edge_rppg.errors import ConfigError, EdgeRPPGError, FrameFormatError
from edge_rppg.face.types import Landmarker
from edge_rppg.processor.options import EdgeRPPGOptions
from edge_rppg.processor.stream import StreamProcessor
from edge_rppg.processor.results import VitalsResult
from edge_rppg.stage import StageTimer, timed

from .sinks import Sink
from .sources import Source, open_source

__all__ = ["FrameQueue", "RunReport", "Pipeline", "DROP_POLICIES"]

_END = object()
#: ``Pipeline(drop=...)``: drop under backpressure only for live sources, always, or never.
DROP_POLICIES = ("auto", "always", "never")  # cli_run repeats this tuple to keep `--help` light


class FrameQueue:
    """Bounded FIFO between the source thread and the processing thread.

    ``leaky=True``: a put into a full queue drops the oldest frame (counted in
    ``dropped``); ``leaky=False``: the put waits for room (or for ``stop``).
    """

    def __init__(self, maxsize: int = 4, leaky: bool = True) -> None:
        if maxsize < 1:
            raise ConfigError(f"queue size must be >= 1, got {maxsize}")
        self.maxsize = int(maxsize)
        self.leaky = bool(leaky)
        self.dropped = 0
        self.high_water = 0
        self._q: Deque[Any] = deque()
        self._cv = threading.Condition()

    def put(self, item: Any, stop: Optional[threading.Event] = None) -> None:
        """Enqueue ``item`` following the drop policy."""
        with self._cv:
            if self.leaky:
                while len(self._q) >= self.maxsize:
                    self._q.popleft()
                    self.dropped += 1
            else:
                while len(self._q) >= self.maxsize and not (stop is not None and stop.is_set()):
                    self._cv.wait(0.05)
            self._q.append(item)
            self.high_water = max(self.high_water, len(self._q))
            self._cv.notify_all()

    def put_end(self) -> None:
        """Enqueue the end marker (never dropped, never blocks)."""
        with self._cv:
            self._q.append(_END)
            self._cv.notify_all()

    def get(self) -> Any:
        """Next item (blocks); the end marker once the source is done."""
        with self._cv:
            while not self._q:
                self._cv.wait(0.1)
            item = self._q.popleft()
            self._cv.notify_all()
            return item

    def __len__(self) -> int:
        with self._cv:
            return len(self._q)


@dataclass
class RunReport:
    """Outcome of :meth:`Pipeline.run`.

    end_reason: ``eos``, ``max_frames``, ``stopped``, ``interrupted``, ``stalled: ...`` or
    ``error: ...``; ok: False for errors and stalls. frames_in: frames the source
    delivered; processed: frames that went through the stages; dropped_queue /
    dropped_bad / dropped_skipped: frames dropped by backpressure, as ill-formed, or for
    a non-increasing timestamp; dropped_source: frames the source itself lost (a live
    GStreamer appsink, counted from PTS gaps). stage_ms: per-stage timing summaries.
    estimate: with ``keep_clip=True``, the whole-clip :class:`~edge_rppg.estimate.Estimate`
    of every frame processed (the same as ``estimate()`` on those frames), or None when the
    clip could not be measured (``last_error`` says why).
    """

    end_reason: str
    ok: bool
    frames_in: int
    processed: int
    dropped_queue: int
    dropped_bad: int
    dropped_skipped: int
    elapsed_s: float
    stage_ms: Dict[str, Dict[str, float]]
    last_result: Optional[VitalsResult] = None
    last_error: Optional[str] = None
    reconnects: int = 0
    queue_high_water: int = 0
    dropped_source: int = 0
    hr_history: List[Tuple[float, Optional[float], bool]] = field(default_factory=list)  # last 10k (t, HR, valid)
    estimate: Optional[Estimate] = None  # whole-clip estimate of a finite source (keep_clip), else None

    @property
    def opened(self) -> bool:
        """False when the source failed before delivering a single frame (a camera, stream or
        file that never opened, or a reconnecting source that gave up without one)."""
        return self.ok or self.frames_in > 0

    @property
    def dropped(self) -> int:
        """All dropped frames."""
        return self.dropped_queue + self.dropped_bad + self.dropped_skipped + self.dropped_source

    @property
    def fps(self) -> float:
        """Processed frames per second of wall time."""
        return self.processed / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def to_dict(self) -> Dict[str, Any]:
        """JSON-able summary (no per-frame data)."""
        return {"end_reason": self.end_reason, "ok": self.ok, "frames_in": self.frames_in,
                "processed": self.processed, "dropped": self.dropped, "dropped_queue": self.dropped_queue,
                "dropped_bad": self.dropped_bad, "dropped_skipped": self.dropped_skipped,
                "dropped_source": self.dropped_source,
                "elapsed_s": round(self.elapsed_s, 3), "fps": round(self.fps, 2), "reconnects": self.reconnects,
                "queue_high_water": self.queue_high_water,
                "last_hr_bpm": None if self.last_result is None or self.last_result.hr_bpm is None
                else round(self.last_result.hr_bpm, 2),
                "stage_ms": {k: {m: round(v, 3) for m, v in d.items()} for k, d in self.stage_ms.items()}}


class Pipeline:
    """Source → bounded queue → :class:`~edge_rppg.processor.stream.StreamProcessor` → sinks.

    ``processor``: a live-stream processor (this pipeline owns it: :meth:`close` closes it).
    ``source``: a :class:`Source`, a URI for :func:`open_source`, or an iterable of frames.
    ``drop``: one of :data:`DROP_POLICIES`. One :meth:`run` per pipeline; the processor
    keeps its state across runs unless reset.
    """

    def __init__(self, processor: StreamProcessor, source: Any = None, sinks: Sequence[Sink] = (),
                 queue_size: int = 4, drop: str = "auto", log: Optional[Callable[[str], None]] = None) -> None:
        if drop not in DROP_POLICIES:
            raise ConfigError(f"drop must be one of {', '.join(DROP_POLICIES)}; got {drop!r}")
        self.processor = processor
        self.source: Optional[Source] = None if source is None else open_source(source)
        self.sinks: List[Sink] = list(sinks)
        self.queue_size = int(queue_size)
        self.drop = drop
        self.log = log or (lambda _msg: None)
        self._stop = threading.Event()
        self.source_timer = StageTimer()  # time inside the source per frame (decode), reader thread

    @classmethod
    def create(cls, source: Any, options: Optional[EdgeRPPGOptions] = None, *, landmarker: Optional[Landmarker] = None,
               sinks: Sequence[Sink] = (), queue_size: int = 4, drop: str = "auto", **overrides: Any) -> "Pipeline":
        """A pipeline around a new processor built from ``options`` with ``overrides``
        (:class:`~edge_rppg.processor.options.EdgeRPPGOptions` fields), exactly as ``EdgeRPPG`` builds one."""
        import dataclasses

        opts = dataclasses.replace(options or EdgeRPPGOptions(), **overrides)
        return cls(StreamProcessor(opts, landmarker=landmarker), source=source, sinks=sinks,
                   queue_size=queue_size, drop=drop)

    # -- running
    def stop(self) -> None:
        """End the run soon (thread-safe); the report says ``stopped``."""
        self._stop.set()
        if self.source is not None:
            self.source.stop()

    def _reader(self, src: Source, q: FrameQueue, max_frames: Optional[int], state: Dict[str, Any]) -> None:
        """The source thread: frames into the queue until EOS, stop, ``max_frames`` or an error."""
        try:
            for (frame, ts), ms in timed(src.frames()):
                self.source_timer.add(ms)
                q.put((frame, ts), self._stop)
                state["frames_in"] += 1
                if self._stop.is_set():
                    src.stop()
                    break
                if max_frames is not None and state["frames_in"] >= max_frames:
                    state["max_hit"] = True
                    src.stop()
                    break
        except Exception as exc:  # the source failed: end the stream cleanly, with the reason
            state["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            q.put_end()

    def run(self, max_frames: Optional[int] = None,
            on_result: Optional[Callable[[VitalsResult], None]] = None) -> RunReport:
        """Run until the source ends, ``max_frames`` frames were read, or :meth:`stop`."""
        src = self.source
        if src is None:
            raise ConfigError("Pipeline has no source")
        proc = self.processor
        q = FrameQueue(self.queue_size, leaky=self.drop == "always" or (self.drop == "auto" and src.live))
        state: Dict[str, Any] = {"frames_in": 0, "max_hit": False, "error": None}
        bad0, skipped0 = proc.bad_frames, proc.skipped_frames
        processed = seen_drops = 0
        last: Optional[VitalsResult] = None
        last_error: Optional[str] = None
        history: Deque[Tuple[float, Optional[float], bool]] = deque(maxlen=10_000)  # bounded for days-long runs
        interrupted = False
        t0 = time.perf_counter()
        thread = threading.Thread(target=self._reader, args=(src, q, max_frames, state), name="edge-rppg-source",
                                  daemon=True)
        thread.start()
        try:
            while True:
                item = q.get()
                if item is _END:
                    break
                frame, ts = item
                drops = q.dropped + src.dropped
                try:
                    last = proc.process(frame, float(ts), dropped_before=drops - seen_drops)
                except FrameFormatError as exc:
                    last_error = str(exc)
                    continue
                finally:
                    seen_drops = drops
                processed += 1
                if last.hr_updated:
                    history.append((last.timestamp, last.hr_bpm, last.valid))
                rgb = proc.last_frame  # converted once, by the input stage
                for sink in self.sinks:
                    sink.write(last, rgb)
                    if getattr(sink, "closed_by_user", False):
                        self.stop()
                if on_result is not None:
                    on_result(last)
        except KeyboardInterrupt:
            interrupted = True
            self.stop()
        finally:
            self._stop.set()
            src.stop()
            thread.join(timeout=5.0)
            for sink in self.sinks:
                sink.close()
        elapsed = time.perf_counter() - t0
        if interrupted:
            reason = "interrupted"
        elif state["error"] is not None:
            reason = f"error: {state['error']}"
        elif state["max_hit"]:
            reason = "max_frames"
        else:
            reason = src.end_reason or "eos"
        estimate = None
        if proc.recorder is not None and len(proc.recorder):
            try:
                estimate = proc.clip_estimate()
            except EdgeRPPGError as exc:
                last_error = f"clip estimate: {exc}"
        ok = not (reason.startswith("error") or reason.startswith("stalled"))
        return RunReport(end_reason=reason, ok=ok, frames_in=state["frames_in"], processed=processed,
                         dropped_queue=q.dropped, dropped_bad=proc.bad_frames - bad0,
                         dropped_skipped=proc.skipped_frames - skipped0, elapsed_s=elapsed,
                         stage_ms=self.stage_timing(), last_result=last, last_error=last_error,
                         reconnects=int(getattr(src, "reconnects", 0)), queue_high_water=q.high_water,
                         dropped_source=int(src.dropped), hr_history=list(history), estimate=estimate)

    def stage_timing(self) -> Dict[str, Dict[str, float]]:
        """Per-stage timing summaries (ms); ``source`` is the time spent reading/decoding a
        frame in the reader thread (it overlaps with the stages)."""
        return {"source": self.source_timer.summary(), **self.processor.stage_timing()}

    def close(self) -> None:
        """Close the processor and the source (idempotent)."""
        self.processor.close()
        if self.source is not None:
            self.source.close()

    def __enter__(self) -> "Pipeline":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
