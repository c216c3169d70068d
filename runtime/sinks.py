"""Result sinks: JSON lines, CSV, and an annotated video or window.

A sink gets every processed frame's :class:`~edge_rppg.api.VitalsResult` and the RGB
frame (``write(result, frame)``) and is closed at the end of the stream. JSON lines go
to stdout (``path`` None or ``"-"``) or a file; CSV has one row per frame with the
scalar fields; the video sink draws the face box, the HR (green when valid, amber
otherwise) and the last seconds of the BVP trace onto each frame with OpenCV and
writes a video file (``"video"``) or shows a window (``"window"``). ``"web"`` serves a live
page and an event stream (:mod:`edge_rppg.runtime.web_sink`).
``every="window"`` writes only frames that produced a new HR (one line per hop).
"""
from __future__ import annotations

import csv
import json
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable, List, Mapping, Optional

import numpy as np

from edge_rppg.errors import ConfigError, UnavailableError
from edge_rppg.registry import Registry


class Sink:
    """Base class: ``write(result, frame)`` per frame, ``close()`` once (idempotent)."""

    name = "sink"

    def __init__(self, every: str = "frame") -> None:
        if every not in ("frame", "window"):
            raise ConfigError(f"sink 'every' must be 'frame' or 'window', got {every!r}")
        self.every = every
        self.written = 0

    def wants(self, result: Any) -> bool:
        """Whether this result should be written (``every="window"``: new HR only)."""
        return self.every == "frame" or bool(result.hr_updated)

    def write(self, result: Any, frame: Optional[np.ndarray] = None) -> None:  # pragma: no cover
        """Consume one frame's result."""
        raise NotImplementedError

    def close(self) -> None:
        """Flush and release."""


class TextSink(Sink):
    """A sink that writes text lines to stdout (``path`` None or ``-``) or a file it owns.

    Subclasses format a line in :meth:`write` and call :meth:`_emit`, which writes it,
    flushes when the stream is stdout (usually a pipe to a consumer that should not wait),
    and counts it."""

    def __init__(self, path: Optional[str] = None, every: str = "frame") -> None:
        super().__init__(every)
        self.path = path
        if path in (None, "", "-"):
            self._fh, self._own = sys.stdout, False
        else:
            p = Path(path)  # type: ignore[arg-type]
            p.parent.mkdir(parents=True, exist_ok=True)
            self._fh, self._own = open(p, "w", newline="", encoding="utf-8"), True

    def _emit(self, text: str) -> None:
        self._fh.write(text)
        self._after_write()

    def _after_write(self) -> None:
        if not self._own:
            self._fh.flush()
        self.written += 1

    def close(self) -> None:
        if self._fh is None:
            return
        self._fh.flush()
        if self._own:
            self._fh.close()
        self._fh = None  # type: ignore[assignment]


class JsonLinesSink(TextSink):
    """One JSON object per line (:meth:`VitalsResult.to_dict`) to stdout or ``path``."""

    name = "json"

    def __init__(self, path: Optional[str] = None, every: str = "frame", include_bvp: bool = False) -> None:
        super().__init__(path, every)
        self.include_bvp = include_bvp

    def write(self, result: Any, frame: Optional[np.ndarray] = None) -> None:
        if not self.wants(result):
            return
        self._emit(json.dumps(result.to_dict(include_bvp=self.include_bvp), separators=(",", ":")) + "\n")


CSV_FIELDS = ["timestamp", "frame_index", "hr_bpm", "quality", "valid", "hr_updated", "face_found",
              "faces", "rf_hz", "sdnn_ms", "rmssd_ms", "lf_hf", "bvp_last", "window_fill", "window_reset",
              "reset_reason", "dropped_frames", "latency_total_ms"]


class CsvSink(TextSink):
    """CSV with a header and one row of scalar fields (:data:`CSV_FIELDS`) per frame."""

    name = "csv"

    def __init__(self, path: Optional[str] = None, every: str = "frame") -> None:
        super().__init__(path, every)
        self._w = csv.DictWriter(self._fh, fieldnames=CSV_FIELDS)
        self._w.writeheader()

    def write(self, result: Any, frame: Optional[np.ndarray] = None) -> None:
        if not self.wants(result):
            return
        d = result.to_dict()
        hrv = d.get("hrv") or {}
        row = {k: d.get(k) for k in CSV_FIELDS}
        row.update(sdnn_ms=hrv.get("sdnn_ms"), rmssd_ms=hrv.get("rmssd_ms"), lf_hf=hrv.get("lf_hf"),
                   latency_total_ms=d["latency_ms"].get("total"))
        self._w.writerow({k: ("" if v is None else v) for k, v in row.items()})
        self._after_write()


def annotate(frame_rgb: np.ndarray, result: Any, trace_s: float = 8.0) -> np.ndarray:
    """A BGR copy of the frame with the face box, HR text and BVP trace drawn on it."""
    import cv2

    img = cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR)
    h, w = img.shape[:2]
    good = (60, 200, 60)
    weak = (0, 170, 255)
    color = good if result.valid else weak
    if result.face_box is not None:
        x0, y0, x1, y1 = (int(round(v)) for v in result.face_box)
        cv2.rectangle(img, (x0, y0), (x1, y1), color, 2)
    if result.hr_bpm is None:
        text = f"HR --  ({100 * result.window_fill:.0f}% of window)"
    else:
        q = "" if result.quality is None else f"  SNR {result.quality:.1f} dB"
        text = f"HR {result.hr_bpm:5.1f} bpm{q}"
    scale = max(0.5, h / 720.0)
    cv2.putText(img, text, (10, int(30 * scale)), cv2.FONT_HERSHEY_SIMPLEX, scale, color, 2, cv2.LINE_AA)
    extra = []
    if result.rf_hz is not None:
        extra.append(f"RF {60 * result.rf_hz:.1f}/min")
    if result.hrv is not None:
        extra.append(f"RMSSD {result.hrv.rmssd_ms:.0f} ms")
    if result.dropped_frames:
        extra.append(f"dropped {result.dropped_frames}")
    if result.reset_reason:
        extra.append(f"reset: {result.reset_reason}")
    if extra:
        cv2.putText(img, "  ".join(extra), (10, int(60 * scale)), cv2.FONT_HERSHEY_SIMPLEX, 0.7 * scale,
                    (230, 230, 230), 1, cv2.LINE_AA)
    n = int(trace_s * result.bvp_fs)
    bvp = np.asarray(result.bvp[-n:], dtype=np.float64)
    if bvp.size > 2 and np.ptp(bvp) > 0:
        band_h = max(30, h // 6)
        top = h - band_h - 5
        xs = np.linspace(5, w - 5, bvp.size)
        ys = top + band_h * (1.0 - (bvp - bvp.min()) / np.ptp(bvp))
        pts = np.stack([xs, ys], axis=1).astype(np.int32)
        cv2.polylines(img, [pts], False, (60, 60, 255), 2, cv2.LINE_AA)
    return img


class VideoSink(Sink):
    """Annotated video file (:func:`annotate`): MJPG for ``.avi``, ``mp4v`` for ``.mp4``."""

    name = "video"
    CODECS = {".avi": "MJPG", ".mp4": "mp4v", ".mkv": "MJPG"}

    def __init__(self, path: Optional[str] = None, fps: float = 30.0, every: str = "frame") -> None:
        super().__init__(every)
        if not path or path == "-":
            raise ConfigError("the video sink needs --out PATH (.avi or .mp4)")
        self.path = Path(path)
        if self.path.suffix.lower() not in self.CODECS:
            raise ConfigError(f"video sink path must end in {sorted(self.CODECS)}, got {self.path.name}")
        self.fps = float(fps)
        self._writer: Any = None

    def write(self, result: Any, frame: Optional[np.ndarray] = None) -> None:
        import cv2

        if frame is None or not isinstance(frame, np.ndarray) or frame.ndim != 3 or not self.wants(result):
            return
        img = annotate(frame, result)
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fourcc = cv2.VideoWriter_fourcc(*self.CODECS[self.path.suffix.lower()])
            self._writer = cv2.VideoWriter(str(self.path), fourcc, self.fps, (img.shape[1], img.shape[0]))
            if not self._writer.isOpened():
                raise OSError(f"OpenCV cannot write video {self.path}")
        self._writer.write(img)
        self.written += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None


#: Qt platform plugins that draw without a display server.
_HEADLESS_QT = ("offscreen", "minimal", "vnc", "eglfs", "linuxfb")


def display_problem(env: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """Why a ``cv2.imshow`` window cannot open here, or None when it can (as far as can be told
    without opening one): OpenCV built without a GUI (opencv-python-headless), or on Linux no
    ``DISPLAY`` / ``WAYLAND_DISPLAY``, or a local X display whose socket does not exist. A Qt
    platform that needs no display (``QT_QPA_PLATFORM=offscreen``...) is accepted."""
    env = os.environ if env is None else env
    import cv2

    gui = re.search(r"^\s*GUI:\s*(\S+)", cv2.getBuildInformation(), re.M)
    if gui is not None and gui.group(1).upper() == "NONE":
        return "this OpenCV build has no GUI (opencv-python-headless?)"
    if not sys.platform.startswith("linux"):
        return None
    if env.get("QT_QPA_PLATFORM", "").split(":")[0] in _HEADLESS_QT:
        return None
    display, wayland = env.get("DISPLAY", ""), env.get("WAYLAND_DISPLAY", "")
    if not display and not wayland:
        return "neither DISPLAY nor WAYLAND_DISPLAY is set (a headless unit, or ssh without -X)"
    local = re.fullmatch(r"(?:unix)?:(\d+)(?:\.\d+)?", display)
    if local and not wayland and not os.path.exists(f"/tmp/.X11-unix/X{local.group(1)}"):
        return f"no X server on DISPLAY={display} (/tmp/.X11-unix/X{local.group(1)} does not exist)"
    return None


class WindowSink(Sink):
    """Live window (``cv2.imshow``) with the annotated frames; needs a display."""

    name = "window"

    def __init__(self, path: Optional[str] = None, title: str = "edge-rppg", every: str = "frame") -> None:
        super().__init__(every)
        why = display_problem()
        if why:  # refuse up front: Qt would abort the process (exit 134) on the first frame
            raise UnavailableError(f"the window sink needs a display: {why}; use --sink video --out FILE.avi "
                                   f"or --sink json instead")
        self.title = title if not path or path == "-" else str(path)
        self.closed_by_user = False

    def write(self, result: Any, frame: Optional[np.ndarray] = None) -> None:
        import cv2

        if frame is None or not self.wants(result):
            return
        cv2.imshow(self.title, annotate(frame, result))
        if (cv2.waitKey(1) & 0xFF) in (ord("q"), 27):
            self.closed_by_user = True
        self.written += 1

    def close(self) -> None:
        import cv2

        try:
            cv2.destroyWindow(self.title)
        except cv2.error:
            pass


class NullSink(Sink):
    """Discards results (benchmarks)."""

    name = "null"

    def __init__(self, path: Optional[str] = None, every: str = "frame") -> None:
        super().__init__(every)

    def write(self, result: Any, frame: Optional[np.ndarray] = None) -> None:
        self.written += 1


#: Sink classes by name; each takes ``(path=None, **options)``.
SINKS: Registry[Callable[..., Sink]] = Registry("sink")
SINKS.add("json", JsonLinesSink)
SINKS.add("jsonl", JsonLinesSink)
SINKS.add("csv", CsvSink)
SINKS.add("video", VideoSink)
SINKS.add("window", WindowSink)
SINKS.add("null", NullSink)


def _web_sink(path: Optional[str] = None, **options: Any) -> Sink:
    """The ``web`` sink (:mod:`edge_rppg.runtime.web_sink`), imported when asked for."""
    from .web_sink import WebSink

    return WebSink(path, **options)


SINKS.add("web", _web_sink)


def make_sink(spec: str, path: Optional[str] = None, **options: Any) -> Sink:
    """Sink from ``"kind"`` or ``"kind:path"`` (e.g. ``"csv:out.csv"``); ``path`` is used
    when the spec names none. Unknown kinds raise ``KeyError`` listing the known ones."""
    kind, _, spec_path = spec.partition(":")
    return SINKS.get(kind.strip())(spec_path or path, **options)


def sink_names() -> List[str]:
    """Registered sink names."""
    return SINKS.names()
