"""Frame sources: GStreamer (PyGObject + appsink), OpenCV ``VideoCapture``, iterators.

Every source yields ``(frame_rgb, timestamp_s)`` pairs from :meth:`Source.frames` and,
when that iterator ends, says why in ``end_reason`` (``"eos"``, ``"stopped"``,
``"stalled: ..."``, ``"error: ..."``) with ``failed`` True for the ones a reconnect may
fix. Nothing raises mid-stream: an unplugged camera, a decode error or a stalled RTSP
feed end the iteration cleanly with a reason.

Source URIs (:func:`open_source`):

=============================  ==========================================================
``v4l2:///dev/video0``         USB camera: ``v4l2src device=... ! decodebin`` (OpenCV: V4L2)
``csi://0``                    Jetson CSI camera: ``nvarguscamerasrc sensor-id=0 ! nvvidconv``
``rtsp://host/path``           ``rtspsrc location=... ! decodebin`` (OpenCV: FFmpeg)
``gst:<launch string>``        any GStreamer pipeline producing raw video (appsink appended)
``test:`` / ``test:?...``      ``videotestsrc`` (numpy pattern without GStreamer); no face
``synth:`` / ``synth:?...``    synthetic face video with a known pulse, looped (soak tests)
a file path / ``file://...``   ``filesrc ! decodebin``; OpenCV when GStreamer cannot decode it
``0`` (a number)               camera index (OpenCV)
=============================  ==========================================================

Query parameters (``?width=640&height=480&fps=30&frames=300`` ...) set caps, frame
counts and synthetic-video options. GStreamer is used when ``gi`` with Gst 1.0 imports
(``backend="auto"``), else OpenCV. Every GStreamer pipeline ends in
``videoconvert ! video/x-raw,format=RGB ! appsink``, so frames arrive as RGB.
:class:`ReconnectingSource` (``--reconnect``) reopens a failed source with exponential
backoff.
"""
from __future__ import annotations

import functools
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple
from urllib.parse import parse_qsl

import numpy as np

from edge_rppg.errors import SourceError
from edge_rppg.registry import Registry

FrameTs = Tuple[Any, float]
APPSINK_NAME = "edge_rppg_sink"


class Source:
    """Base class of frame sources.

    ``name``: for messages. ``live``: a camera/stream whose frames keep coming whether
    or not we read them (the pipeline drops frames instead of blocking). ``fps``:
    nominal rate if known. After :meth:`frames` ends: ``end_reason`` and ``failed``.
    """

    name = "source"
    live = False
    fps: Optional[float] = None

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

    def close(self) -> None:
        """Release resources (idempotent)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


# --------------------------------------------------------------------------- iterator
class IterSource(Source):
    """A plain iterable of frames, or of ``(frame, timestamp_s)`` pairs.

    Frames without timestamps are placed at ``n / fps``. Items are passed on unchecked,
    so a bad frame reaches the pipeline, which counts it as dropped. ``live=True`` makes
    the pipeline drop frames under backpressure instead of waiting (a camera-like feed).
    """

    def __init__(self, frames: Iterable[Any], fps: float = 30.0, live: bool = False, name: str = "iterator") -> None:
        super().__init__()
        self._items = frames
        self.fps = float(fps)
        self.live = bool(live)
        self.name = name

    def frames(self) -> Iterator[FrameTs]:
        n = 0
        try:
            for item in self._items:
                if self.stopped:
                    self._end("stopped")
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


# --------------------------------------------------------------------------- GStreamer
def _preload_libgcc_s() -> None:
    """Load ``libgcc_s`` into the global symbol scope before GStreamer.

    Debian's libgstreamer links ``libunwind``; once it is loaded globally, C++ extensions
    imported later (matplotlib's ft2font via MediaPipe, pybind11 modules) can resolve
    ``_Unwind_Resume`` to libunwind's and crash with SIGSEGV on their first C++ exception
    (seen with GStreamer 1.22 + mediapipe 0.10.21). Binding libgcc_s first avoids it.
    """
    import ctypes
    import ctypes.util

    try:
        ctypes.CDLL(ctypes.util.find_library("gcc_s") or "libgcc_s.so.1", mode=ctypes.RTLD_GLOBAL)
    except OSError:  # not glibc/gcc (musl, macOS): nothing to do
        pass


@functools.lru_cache(maxsize=1)
def _gst() -> Any:
    """Import and initialise GStreamer (raises ImportError/ValueError when unavailable)."""
    _preload_libgcc_s()
    from edge_rppg.extras import require
    require("gi", "gstreamer")  # missing: one line naming the extra to install
    import gi

    gi.require_version("Gst", "1.0")
    from gi.repository import Gst

    Gst.init(None)
    return Gst


def gst_available() -> Optional[str]:
    """None when GStreamer through PyGObject works here, else the reason it does not."""
    try:
        _gst()
        return None
    except Exception as exc:  # ImportError, ValueError (typelib missing)
        return f"{type(exc).__name__}: {exc}"


def gst_has_element(name: str) -> bool:
    """True when the GStreamer element factory ``name`` is installed."""
    return gst_available() is None and _gst().ElementFactory.find(name) is not None


def _quote(value: str) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


class GstSource(Source):
    """Frames from a GStreamer launch string through an ``appsink``.

    The source part (``launch``) is completed with
    ``! videoconvert ! video/x-raw,format=RGB ! appsink`` (``drop=true`` and
    ``max-buffers`` for live sources, so GStreamer never queues more than a few frames).
    Timestamps are buffer PTS in seconds (``n / fps`` when a buffer has none). The bus is
    watched: EOS ends with ``"eos"``; an ERROR (camera unplugged, decode error, network)
    ends with ``"error: <message>"`` and ``failed=True``; no frame for
    ``stall_timeout_s`` ends with ``"stalled"`` and ``failed=True``.
    """

    def __init__(self, launch: str, *, live: bool = False, name: Optional[str] = None, fps: Optional[float] = None,
                 stall_timeout_s: float = 10.0, max_buffers: int = 4) -> None:
        super().__init__()
        self.launch = launch.strip()
        self.live = bool(live)
        self.name = name or self.launch.split(" ", 1)[0]
        self.fps = fps
        self.stall_timeout_s = float(stall_timeout_s)
        self.max_buffers = int(max_buffers)
        self.frames_out = 0
        self._last_ts: Optional[float] = None

    def description(self) -> str:
        """The full launch string that is run."""
        if APPSINK_NAME in self.launch:
            return self.launch
        drop = "true" if self.live else "false"
        return (f"{self.launch} ! videoconvert ! video/x-raw,format=RGB ! "
                f"appsink name={APPSINK_NAME} sync=false emit-signals=false "
                f"max-buffers={self.max_buffers} drop={drop}")

    @staticmethod
    def _error_text(msg: Any) -> str:
        err, debug = msg.parse_error()
        src = msg.src.get_name() if msg.src is not None else "?"
        return f"{src}: {err.message}"

    def _to_array(self, Gst: Any, sample: Any, n: int) -> FrameTs:
        caps = sample.get_caps().get_structure(0)
        w, h = int(caps.get_value("width")), int(caps.get_value("height"))
        buf = sample.get_buffer()
        data = buf.extract_dup(0, buf.get_size())
        stride = len(data) // h
        arr = np.frombuffer(data, dtype=np.uint8)[: stride * h].reshape(h, stride)
        frame = arr[:, : w * 3].reshape(h, w, 3)
        if stride != w * 3:
            frame = np.ascontiguousarray(frame)
        if self.fps is None:
            ok, num, den = caps.get_fraction("framerate")
            self.fps = float(num) / den if ok and den and num else 30.0
        pts = buf.pts
        ts = pts / Gst.SECOND if pts != Gst.CLOCK_TIME_NONE else n / float(self.fps or 30.0)
        if self.live and self._last_ts is not None and self.fps:
            # a live appsink (drop=true) discards frames silently: count them from the PTS gap
            self.dropped += max(0, int(round((ts - self._last_ts) * self.fps)) - 1)
        self._last_ts = ts
        return frame, float(ts)

    def frames(self) -> Iterator[FrameTs]:
        try:
            Gst = _gst()
        except Exception as exc:
            raise SourceError(f"GStreamer is not available ({exc}); install GStreamer and pygobject<3.51, "
                              f"or use the OpenCV backend") from None
        from gi.repository import GLib

        try:
            pipeline = Gst.parse_launch(self.description())
        except GLib.Error as exc:
            raise SourceError(f"bad GStreamer pipeline {self.launch!r}: {exc.message}") from None
        sink = pipeline.get_by_name(APPSINK_NAME)
        if sink is None:
            raise SourceError(f"GStreamer pipeline has no appsink named {APPSINK_NAME}: {self.launch!r}")
        bus = pipeline.get_bus()
        errors = Gst.MessageType.ERROR | Gst.MessageType.EOS
        try:
            if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
                msg = bus.timed_pop_filtered(2 * Gst.SECOND, Gst.MessageType.ERROR)
                why = self._error_text(msg) if msg is not None else "pipeline refused to start"
                self._end(f"error: {why}", failed=True)
                return
            last = time.monotonic()
            n = 0
            while True:
                if self.stopped:
                    self._end("stopped")
                    return
                sample = sink.emit("try-pull-sample", 100 * Gst.MSECOND)
                if sample is not None:
                    msg = bus.pop_filtered(Gst.MessageType.ERROR)
                    if msg is not None:
                        self._end(f"error: {self._error_text(msg)}", failed=True)
                        return
                    try:
                        item = self._to_array(Gst, sample, n)
                    except Exception as exc:  # a corrupt buffer ends the stream cleanly
                        self._end(f"error: bad buffer ({type(exc).__name__}: {exc})", failed=True)
                        return
                    n += 1
                    self.frames_out = n
                    last = time.monotonic()
                    yield item
                    continue
                msg = bus.pop_filtered(errors)
                if msg is not None:
                    if msg.type == Gst.MessageType.EOS:
                        self._end("eos")
                    else:
                        self._end(f"error: {self._error_text(msg)}", failed=True)
                    return
                if sink.get_property("eos"):
                    self._end("eos")
                    return
                if time.monotonic() - last > self.stall_timeout_s:
                    self._end(f"stalled: no frame for {self.stall_timeout_s:g} s", failed=True)
                    return
        finally:
            pipeline.set_state(Gst.State.NULL)


# --------------------------------------------------------------------------- OpenCV
class CvSource(Source):
    """Frames through ``cv2.VideoCapture`` (the fallback without PyGObject).

    Files get ``n / fps`` timestamps and end with ``"eos"``; live targets (cameras,
    RTSP) get monotonic-clock timestamps, and a failed read ends with ``"error: ..."``
    and ``failed=True`` (camera unplugged), so :class:`ReconnectingSource` can retry.
    """

    def __init__(self, target: Any, *, live: bool = False, name: Optional[str] = None, api: Optional[int] = None,
                 fps: Optional[float] = None, size: Optional[Tuple[int, int]] = None) -> None:
        super().__init__()
        self.target = target
        self.live = bool(live)
        self.name = name or str(target)
        self.api = api
        self.fps = fps
        self.size = size

    def frames(self) -> Iterator[FrameTs]:
        import cv2

        cap = cv2.VideoCapture(self.target, self.api) if self.api is not None else cv2.VideoCapture(self.target)
        try:
            if not cap.isOpened():
                self._end(f"error: OpenCV cannot open {self.name}", failed=True)
                return
            if self.size is not None:
                cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.size[0])
                cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.size[1])
            rate = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
            self.fps = self.fps or (rate if 0 < rate < 1000 else 30.0)
            t0 = time.monotonic()
            n = 0
            while True:
                if self.stopped:
                    self._end("stopped")
                    return
                ok, bgr = cap.read()
                if not ok or bgr is None:
                    if self.live or n == 0:
                        self._end(f"error: cannot read a frame from {self.name}" +
                                  (" (camera unplugged?)" if self.live else ""), failed=True)
                    else:
                        self._end("eos")
                    return
                ts = time.monotonic() - t0 if self.live else n / self.fps
                n += 1
                frame = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) if bgr.ndim == 3 and bgr.shape[2] == 3 else bgr
                yield frame, ts
        finally:
            cap.release()


# --------------------------------------------------------------------------- synthetic & test
class PatternSource(Source):
    """A moving colour pattern without GStreamer (``test:`` fallback); contains no face."""

    def __init__(self, frames: int = 300, width: int = 640, height: int = 480, fps: float = 30.0,
                 live: bool = False) -> None:
        super().__init__()
        self.n, self.width, self.height, self.fps, self.live = int(frames), int(width), int(height), float(fps), live
        self.name = "test-pattern"

    def frames(self) -> Iterator[FrameTs]:
        x = np.arange(self.width, dtype=np.uint16)[None, :, None]
        y = np.arange(self.height, dtype=np.uint16)[:, None, None]
        base = (x + y + np.array([0, 85, 170], dtype=np.uint16)) % 256
        for i in range(self.n if self.n >= 0 else 1 << 62):
            if self.stopped:
                self._end("stopped")
                return
            yield ((base + 3 * i) % 256).astype(np.uint8), i / self.fps
        self._end("eos")


class SynthSource(Source):
    """A synthetic face video (``edge_rppg.synth.video_gen``) rendered once into memory and
    looped: ``frames`` frames in total (-1: forever) with continuous ``n / fps``
    timestamps. Memory is the clip (``duration_s * fps`` frames), constant over time."""

    def __init__(self, frames: int = -1, duration_s: float = 6.0, width: int = 640, height: int = 480,
                 fps: float = 30.0, hr_bpm: float = 72.0, seed: int = 0, motion: str = "still",
                 live: bool = False) -> None:
        super().__init__()
        from edge_rppg.synth.video_gen import VideoSynthConfig

        self.cfg = VideoSynthConfig(duration_s=duration_s, fps=fps, width=width, height=height,
                                    hr_bpm=hr_bpm, motion=motion)
        self.n, self.seed, self.fps, self.live = int(frames), int(seed), float(fps), bool(live)
        self.name = f"synth({hr_bpm:g} bpm, {width}x{height})"
        self._clip: Optional[List[np.ndarray]] = None

    def clip(self) -> List[np.ndarray]:
        """The rendered frames of one loop (rendered on first use)."""
        if self._clip is None:
            from edge_rppg.synth.video_gen import render_frames

            self._clip = list(render_frames(self.cfg, self.seed))
        return self._clip

    def frames(self) -> Iterator[FrameTs]:
        clip = self.clip()
        i = 0
        while self.n < 0 or i < self.n:
            if self.stopped:
                self._end("stopped")
                return
            yield clip[i % len(clip)], i / self.fps
            i += 1
        self._end("eos")


# --------------------------------------------------------------------------- wrappers
class FallbackSource(Source):
    """Try sources in order; move to the next one only if the current one failed before
    delivering any frame (e.g. GStreamer lacks a decoder for the file → OpenCV)."""

    def __init__(self, sources: List[Source]) -> None:
        super().__init__()
        self.sources = sources
        self.name = sources[0].name
        self.live = sources[0].live
        self.used: Optional[Source] = None

    def frames(self) -> Iterator[FrameTs]:
        reasons = []
        for src in self.sources:
            self.used = src
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

    @property
    def dropped(self) -> int:  # type: ignore[override]
        """Frames the source in use lost."""
        return self.used.dropped if self.used is not None else 0

    @dropped.setter
    def dropped(self, _value: int) -> None:
        pass

    def stop(self) -> None:
        super().stop()
        if self.used is not None:
            self.used.stop()


class ReconnectingSource(Source):
    """Re-open a source after it failed (camera unplugged, RTSP dropped, stall) with
    exponential backoff (``backoff_s`` doubling up to ``max_backoff_s``); a clean EOS
    or :meth:`stop` ends it. ``max_retries`` consecutive failed openings (None: no
    limit) give up with ``"error: ... (gave up after N retries)"``. Timestamps of the
    new connection restart; the window stage notices the jump and resets."""

    def __init__(self, factory: Callable[[], Source], max_retries: Optional[int] = 10, backoff_s: float = 0.5,
                 max_backoff_s: float = 10.0, log: Optional[Callable[[str], None]] = None) -> None:
        super().__init__()
        self.factory = factory
        self.max_retries = max_retries
        self.backoff_s, self.max_backoff_s = float(backoff_s), float(max_backoff_s)
        self.reconnects = 0
        self._dropped_done = 0
        self.log = log or (lambda _msg: None)
        self._current: Optional[Source] = None
        first = factory()
        self._first: Optional[Source] = first
        self.name, self.live, self.fps = first.name, first.live, first.fps

    def frames(self) -> Iterator[FrameTs]:
        failures = 0
        delay = self.backoff_s
        while True:
            src = self._first or self.factory()
            self._first = None
            self._current = src
            got = False
            try:
                for item in src.frames():
                    got = True
                    yield item
            except SourceError as exc:
                src._end(f"error: {exc}", failed=True)
            self.fps = src.fps or self.fps
            self._dropped_done += src.dropped
            self._current = None
            if self.stopped:
                self._end("stopped")
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
            self.log(f"{src.name}: {src.end_reason}; reconnecting in {delay:.1f} s")
            if self._stop.wait(delay):
                self._end("stopped")
                return
            delay = min(delay * 2.0, self.max_backoff_s)
            self.reconnects += 1

    @property
    def dropped(self) -> int:  # type: ignore[override]
        """Frames lost by all connections so far."""
        cur = self._current
        return self._dropped_done + (cur.dropped if cur is not None else 0)

    @dropped.setter
    def dropped(self, _value: int) -> None:
        pass

    def stop(self) -> None:
        super().stop()
        if self._current is not None:
            self._current.stop()


# --------------------------------------------------------------------------- URIs
def _params(query: str) -> Dict[str, str]:
    return {k.replace("-", "_"): v for k, v in parse_qsl(query, keep_blank_values=True)}


def _caps(p: Dict[str, str], raw: bool = True) -> str:
    fields = []
    if "width" in p:
        fields.append(f"width={int(p['width'])}")
    if "height" in p:
        fields.append(f"height={int(p['height'])}")
    if "fps" in p:
        fields.append(f"framerate={int(float(p['fps']))}/1")
    return ("video/x-raw," + ",".join(fields)) if fields and raw else ""


def _with_caps(launch: str, p: Dict[str, str]) -> str:
    caps = _caps(p)
    return f"{launch} ! videoconvert ! videoscale ! {caps}" if caps else launch


def _choose(backend: str) -> str:
    if backend not in ("auto", "gst", "opencv"):
        raise ValueError(f"source backend must be auto, gst or opencv; got {backend!r}")
    if backend == "auto":
        return "gst" if gst_available() is None else "opencv"
    if backend == "gst" and gst_available() is not None:
        raise SourceError(f"GStreamer backend requested but not available ({gst_available()})")
    return backend


def _v4l2(rest: str, p: Dict[str, str], backend: str) -> Source:
    dev = rest[2:] if rest.startswith("//") else rest
    if dev.isdigit():
        dev = f"/dev/video{dev}"
    if _choose(backend) == "gst":
        return GstSource(_with_caps(f"v4l2src device={_quote(dev)} ! decodebin", p), live=True, name=dev)
    import cv2

    size = (int(p["width"]), int(p["height"])) if "width" in p and "height" in p else None
    return CvSource(dev, live=True, api=cv2.CAP_V4L2, name=dev, size=size)


def _csi(rest: str, p: Dict[str, str], backend: str) -> Source:
    sensor = int(rest.strip("/") or 0)
    w, h, fps = int(p.get("width", 1280)), int(p.get("height", 720)), int(float(p.get("fps", 30)))
    if _choose(backend) != "gst":
        raise SourceError("a Jetson CSI camera (nvarguscamerasrc) needs the GStreamer backend")
    launch = (f"nvarguscamerasrc sensor-id={sensor} ! video/x-raw(memory:NVMM),width={w},height={h},"
              f"framerate={fps}/1 ! nvvidconv ! video/x-raw,format=BGRx")
    return GstSource(launch, live=True, name=f"csi{sensor}", fps=float(fps))


def _rtsp(uri: str, p: Dict[str, str], backend: str) -> Source:
    if _choose(backend) == "gst":
        latency = int(p.get("latency", 200))
        return GstSource(f"rtspsrc location={_quote(uri)} latency={latency} ! decodebin", live=True, name=uri)
    return CvSource(uri, live=True, name=uri)


def _gst_launch(rest: str, p: Dict[str, str], backend: str) -> Source:
    if _choose("gst" if backend == "auto" else backend) != "gst":
        raise SourceError("a gst: source needs the GStreamer backend")
    live = any(k in rest for k in ("v4l2src", "nvarguscamerasrc", "rtspsrc", "is-live=true", "udpsrc"))
    return GstSource(rest, live=live, name="gst")


def _test(rest: str, p: Dict[str, str], backend: str) -> Source:
    frames = int(p.get("frames", p.get("num_buffers", 300)))
    w, h, fps = int(p.get("width", 640)), int(p.get("height", 480)), float(p.get("fps", 30))
    live = p.get("live", "false").lower() in ("1", "true", "yes")
    if backend != "opencv" and gst_available() is None:
        pattern = p.get("pattern", "ball")
        launch = (f"videotestsrc num-buffers={frames} pattern={pattern} is-live={'true' if live else 'false'} ! "
                  f"video/x-raw,width={w},height={h},framerate={int(fps)}/1")
        return GstSource(launch, live=live, name="videotestsrc", fps=fps)
    return PatternSource(frames, w, h, fps, live)


def _synth(rest: str, p: Dict[str, str], backend: str) -> Source:
    return SynthSource(frames=int(p.get("frames", -1)), duration_s=float(p.get("duration", 6.0)),
                       width=int(p.get("width", 640)), height=int(p.get("height", 480)),
                       fps=float(p.get("fps", 30)), hr_bpm=float(p.get("hr", 72.0)), seed=int(p.get("seed", 0)),
                       motion=p.get("motion", "still"),
                       live=p.get("live", "false").lower() in ("1", "true", "yes"))


def _file(path: str, p: Dict[str, str], backend: str) -> Source:
    if not Path(path).exists():
        raise SourceError(f"video file not found: {path}")
    cv = CvSource(path, live=False, name=Path(path).name)
    if _choose(backend) == "opencv":
        return cv
    gst = GstSource(f"filesrc location={_quote(os.path.abspath(path))} ! decodebin", live=False,
                    name=Path(path).name)
    return gst if backend == "gst" else FallbackSource([gst, cv])


#: URI scheme → builder ``(rest_of_uri, params, backend) -> Source``.
SOURCES: Registry[Callable[[str, Dict[str, str], str], Source]] = Registry("source scheme")
SOURCES.add("v4l2", _v4l2)
SOURCES.add("csi", _csi)
SOURCES.add("nvargus", _csi)
SOURCES.add("rtsp", lambda rest, p, b: _rtsp("rtsp:" + rest, p, b))
SOURCES.add("rtsps", lambda rest, p, b: _rtsp("rtsps:" + rest, p, b))
SOURCES.add("gst", _gst_launch)
SOURCES.add("test", _test)
SOURCES.add("synth", _synth)
SOURCES.add("file", lambda rest, p, b: _file(rest[2:] if rest.startswith("//") else rest, p, b))


def _parse(uri: str) -> Tuple[str, str, Dict[str, str]]:
    """``scheme:rest?query`` → (scheme, rest, params); a bare path → ("file", path, {})."""
    text = uri.strip()
    if text.isdigit():
        return "camera", text, {}
    if text.startswith("gst:"):
        return "gst", text[4:].strip(), {}
    scheme, sep, rest = text.partition(":")
    if not sep or len(scheme) < 2 or os.path.exists(text) or "/" in scheme or "\\" in scheme:
        return "file", text, {}
    scheme = scheme.lower()
    rest, _, query = rest.partition("?")
    if scheme in ("rtsp", "rtsps"):
        return scheme, rest + (f"?{query}" if query else ""), {}
    return scheme, rest, _params(query)


def open_source(uri: Any, backend: str = "auto", *, reconnect: bool = False, max_retries: Optional[int] = 10,
                backoff_s: float = 0.5, log: Optional[Callable[[str], None]] = None) -> Source:
    """Build the :class:`Source` for ``uri`` (see the module table); a Source is returned
    as is, an iterable becomes an :class:`IterSource`. ``reconnect`` wraps it in a
    :class:`ReconnectingSource`. Unknown schemes raise ``KeyError`` naming the known ones;
    a missing file raises ``SourceError``."""
    if isinstance(uri, Source):
        return uri
    if not isinstance(uri, (str, os.PathLike)):
        return IterSource(uri)
    scheme, rest, params = _parse(os.fspath(uri))

    def make() -> Source:
        if scheme == "camera":
            import cv2

            return CvSource(int(rest), live=True, name=f"camera {rest}", api=cv2.CAP_ANY)
        if scheme == "file":
            return _file(rest, params, backend)
        return SOURCES.get(scheme)(rest, params, backend)

    if reconnect:
        return ReconnectingSource(make, max_retries=max_retries, backoff_s=backoff_s, log=log)
    return make()
