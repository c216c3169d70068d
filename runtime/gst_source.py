"""GStreamer frames through PyGObject and an ``appsink``: bootstrapping (``libgcc_s``
preload, ``Gst.init``), availability checks, and :class:`GstSource`."""
from __future__ import annotations

import functools
import time
from typing import Any, Iterator, Optional

import numpy as np

from edge_rppg.errors import SourceError

from .source_base import DEFAULT_SOURCE_FPS, FrameTs, Source

__all__ = ["APPSINK_NAME", "gst_available", "gst_has_element", "quote", "GstSource"]

APPSINK_NAME = "edge_rppg_sink"


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


def quote(value: str) -> str:
    """A GStreamer property value in double quotes (backslashes and quotes escaped)."""
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


#: appsink caps per ``color_space`` (GStreamer format names; a list lets the source pick).
APPSINK_FORMATS = {"rgb": "RGB", "bgr": "BGR", "gray": "{ GRAY16_LE, GRAY8 }"}
#: appsink format → (sample dtype, channels) of the numpy frame made from a buffer.
SAMPLE_LAYOUTS = {"RGB": (np.dtype(np.uint8), 3), "BGR": (np.dtype(np.uint8), 3), "GRAY8": (np.dtype(np.uint8), 1),
                  "GRAY16_LE": (np.dtype("<u2"), 1)}


class GstSource(Source):
    """Frames from a GStreamer launch string through an ``appsink``.

    The source part (``launch``) is completed with
    ``! videoconvert ! video/x-raw,format=RGB ! appsink`` (GRAY16_LE/GRAY8 for a gray
    stream: :data:`APPSINK_FORMATS`) (``drop=true`` and
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
        """The full launch string that is run: the appsink takes RGB, or for a gray stream
        (``color_space="gray"``) GRAY16_LE or GRAY8, whichever the source gives (a 10/12/16-bit
        mono camera stays 16-bit; ``videoconvert`` passes the format through)."""
        if APPSINK_NAME in self.launch:
            return self.launch
        drop = "true" if self.live else "false"
        return (f"{self.launch} ! videoconvert ! video/x-raw,format={APPSINK_FORMATS[self.color_space]} ! "
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
        dtype, channels = SAMPLE_LAYOUTS.get(str(caps.get_value("format")), SAMPLE_LAYOUTS["RGB"])
        buf = sample.get_buffer()
        data = buf.extract_dup(0, buf.get_size())
        stride = len(data) // h // dtype.itemsize  # in samples
        arr = np.frombuffer(data, dtype=dtype)[: stride * h].reshape(h, stride)
        frame = arr[:, : w * channels].reshape((h, w, channels) if channels > 1 else (h, w))
        if stride != w * channels:
            frame = np.ascontiguousarray(frame)
        if self.fps is None:
            ok, num, den = caps.get_fraction("framerate")
            self.fps = float(num) / den if ok and den and num else DEFAULT_SOURCE_FPS
        pts = buf.pts
        ts = pts / Gst.SECOND if pts != Gst.CLOCK_TIME_NONE else n / float(self.fps or DEFAULT_SOURCE_FPS)
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
                if self._halted():
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
