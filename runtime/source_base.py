"""The frame-source contract of the runtime and the sources that need no library:
:class:`Source` (``frames()`` yields ``(frame_rgb, timestamp_s)``, then ``end_reason``),
:class:`IterSource` (an iterable), and the wrappers :class:`FallbackSource` (try backends
in order), :class:`ReconnectingSource` (re-open a failed source with backoff) and
:class:`PacedSource` (deliver frames at the pace of their timestamps, as a camera does).
Nothing raises mid-stream: a failing source ends with a reason.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable, Iterable, Iterator, List, Optional, Tuple

from edge_rppg.errors import SourceError

__all__ = ["FrameTs", "DEFAULT_SOURCE_FPS", "Source", "IterSource", "FallbackSource", "ReconnectingSource",
           "PacedSource"]

FrameTs = Tuple[Any, float]
#: Frame rate assumed for a source that does not say (camera nominal rate; not the model rate).
DEFAULT_SOURCE_FPS = 30.0


def reason_text(end_reason: Optional[str]) -> str:
    """``"error: no such device"`` → ``"no such device"`` (for one-line messages)."""
    text = end_reason or "ended"
    return text[len("error: "):] if text.startswith("error: ") else text


class Source:
    """Base class of frame sources.

    ``name``: for messages. ``live``: a camera/stream whose frames keep coming whether
    or not we read them (the pipeline drops frames instead of blocking). ``fps``:
    nominal rate if known. ``color_space``: what frames to deliver (``"rgb"``; ``"gray"``:
    ``HxW`` uint8/uint16 from a mono camera or a GRAY8 file, for sources that can).
    After :meth:`frames` ends: ``end_reason`` and ``failed``.
    """

    name = "source"
    live = False
    fps: Optional[float] = None
    color_space = "rgb"

    def __init__(self) -> None:
        self.end_reason: Optional[str] = None
        self.failed = False
        self.dropped = 0  # frames lost before reaching us (e.g. a live appsink), if known
        self._stop = threading.Event()

    def frames(self) -> Iterator[FrameTs]:  # pragma: no cover - abstract
        """Yield ``(frame_rgb, timestamp_s)`` until the end of the stream."""
        raise NotImplementedError

    def stop(self) -> None:
        """Ask :meth:`frames` to end soon (thread-safe); ``end_reason`` becomes ``stopped``."""
        self._stop.set()

    @property
    def stopped(self) -> bool:
        """True once :meth:`stop` was called."""
        return self._stop.is_set()

    def _end(self, reason: str, failed: bool = False) -> None:
        self.end_reason, self.failed = reason, failed

    def _halted(self) -> bool:
        """True (with ``end_reason="stopped"``) once :meth:`stop` was called: ``frames()`` returns."""
        if self._stop.is_set():
            self._end("stopped")
            return True
        return False

    def close(self) -> None:
        """Release resources (idempotent)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class IterSource(Source):
    """A plain iterable of frames, or of ``(frame, timestamp_s)`` pairs.

    Frames without timestamps are placed at ``n / fps``. Items are passed on unchecked,
    so a bad frame reaches the pipeline, which counts it as dropped. ``live=True`` makes
    the pipeline drop frames under backpressure instead of waiting (a camera-like feed).
    """

    def __init__(self, frames: Iterable[Any], fps: float = DEFAULT_SOURCE_FPS, live: bool = False, name: str = "iterator") -> None:
        super().__init__()
        self._items = frames
        self.fps = float(fps)
        self.live = bool(live)
        self.name = name

    def frames(self) -> Iterator[FrameTs]:
        n = 0
        try:
            for item in self._items:
                if self._halted():
                    return
                if isinstance(item, tuple) and len(item) == 2:
                    yield item[0], float(item[1])
                else:
                    yield item, n / self.fps
                n += 1
        except Exception as exc:  # a generator that fails is a failed source, not a crash
            self._end(f"error: {type(exc).__name__}: {exc}", failed=True)
            return
        self._end("eos")


class _WrapperSource(Source):
    """A source that reads through other sources one at a time (``current``): ``stop``
    reaches the current one, ``dropped`` adds what finished ones lost (``_dropped_done``)."""

    def __init__(self) -> None:
        super().__init__()
        self.current: Optional[Source] = None
        self._dropped_done = 0

    @property
    def dropped(self) -> int:  # type: ignore[override]
        """Frames lost by the sources read so far."""
        cur = self.current
        return self._dropped_done + (cur.dropped if cur is not None else 0)

    @dropped.setter
    def dropped(self, _value: int) -> None:
        pass

    def stop(self) -> None:
        super().stop()
        if self.current is not None:
            self.current.stop()


class FallbackSource(_WrapperSource):
    """Try sources in order; move to the next one only if the current one failed before
    delivering any frame (e.g. GStreamer lacks a decoder for the file → OpenCV)."""

    def __init__(self, sources: List[Source]) -> None:
        super().__init__()
        self.sources = sources
        self.name = sources[0].name
        self.live = sources[0].live

    def frames(self) -> Iterator[FrameTs]:
        reasons = []
        for src in self.sources:
            self.current = src
            got = False
            try:
                for item in src.frames():
                    got = True
                    if self.stopped:
                        src.stop()
                    yield item
            except SourceError as exc:
                src._end(f"error: {exc}", failed=True)
            self.fps = src.fps
            if got or not src.failed or self.stopped:
                self._end(src.end_reason or "eos", src.failed)
                return
            reasons.append(f"{type(src).__name__}: {src.end_reason}")
        self._end("error: no backend could read it (" + "; ".join(reasons) + ")", failed=True)


class ReconnectingSource(_WrapperSource):
    """Re-open a source after it failed (camera unplugged, RTSP dropped, stall) with
    exponential backoff (``backoff_s`` doubling up to ``max_backoff_s``); a clean EOS
    or :meth:`stop` ends it. ``max_retries`` consecutive failed openings (None: no
    limit) give up with ``"error: ... (gave up after N retries)"``. Each retry is logged
    through ``log`` as one line (``retry 1/2 in 0.5 s: /dev/video9: no such device ...``, or
    ``lost NAME (...); reconnecting in ...`` after a source that ran). Timestamps of the
    new connection restart; the window stage notices the jump and resets."""

    def __init__(self, factory: Callable[[], Source], max_retries: Optional[int] = 10, backoff_s: float = 0.5,
                 max_backoff_s: float = 10.0, log: Optional[Callable[[str], None]] = None) -> None:
        super().__init__()
        self.factory = factory
        self.max_retries = max_retries
        self.backoff_s, self.max_backoff_s = float(backoff_s), float(max_backoff_s)
        self.reconnects = 0
        self.log = log or (lambda _msg: None)
        first = factory()
        self._first: Optional[Source] = first
        self.name, self.live, self.fps = first.name, first.live, first.fps

    def frames(self) -> Iterator[FrameTs]:
        failures = 0
        delay = self.backoff_s
        while True:
            src = self._first or self.factory()
            self._first = None
            self.current = src
            got = False
            try:
                for item in src.frames():
                    got = True
                    yield item
            except SourceError as exc:
                src._end(f"error: {exc}", failed=True)
            self.fps = src.fps or self.fps
            self._dropped_done += src.dropped
            self.current = None
            if self._halted():
                return
            if not src.failed:
                self._end(src.end_reason or "eos")
                return
            failures = 0 if got else failures + 1
            if got:
                delay = self.backoff_s
            if self.max_retries is not None and failures > self.max_retries:
                self._end(f"{src.end_reason} (gave up after {self.max_retries} retries)", failed=True)
                return
            if got:  # it ran, then failed: the retry count starts again
                self.log(f"lost {src.name} ({reason_text(src.end_reason)}); reconnecting in {delay:.1f} s")
            else:
                limit = "unlimited" if self.max_retries is None else str(self.max_retries)
                self.log(f"retry {failures}/{limit} in {delay:.1f} s: {src.name}: {reason_text(src.end_reason)}")
            if self._stop.wait(delay):
                self._end("stopped")
                return
            delay = min(delay * 2.0, self.max_backoff_s)
            self.reconnects += 1


class PacedSource(_WrapperSource):
    """Another source's frames delivered at the pace of their timestamps, as a camera
    delivers them (``edge-rppg run --realtime``: a file or ``synth:`` played live into the
    web view, or a steady 30 fps stream for a benchmark).

    The first frame sets the clock; each later frame waits until its timestamp is due. A
    source that falls more than ``max_lag_s`` behind, or whose timestamps go back, sets the
    clock again (no burst to catch up). ``live`` is True: a pipeline that cannot keep up
    drops frames, as it does with a camera."""

    live = True

    def __init__(self, source: Source, max_lag_s: float = 0.5) -> None:
        super().__init__()
        self.source = source
        self.max_lag_s = float(max_lag_s)
        self.name, self.fps = source.name, source.fps

    def frames(self) -> Iterator[FrameTs]:
        src = self.current = self.source
        anchor: Optional[Tuple[float, float]] = None  # (monotonic time, timestamp) of the clock
        last_ts = None
        for frame, ts in src.frames():
            now = time.monotonic()
            if anchor is not None and last_ts is not None and ts >= last_ts:
                wait = anchor[0] + (ts - anchor[1]) - now
                if wait > 0 and self._stop.wait(wait):
                    break
                if wait < -self.max_lag_s:
                    anchor = (now, ts)
            else:
                anchor = (now, ts)
            last_ts = ts
            yield frame, ts
            if self._stop.is_set():
                break
        if self._halted():
            return
        self._end(src.end_reason or "eos", src.failed)

    def close(self) -> None:
        self.source.close()
