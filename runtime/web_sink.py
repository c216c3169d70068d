"""The ``web`` sink: the pipeline's live view in a browser, for kiosks and bench-top tuning.

``edge-rppg run --source ... --sink web [--host 127.0.0.1 --port 8080]``, or from Python::

    from edge_rppg.runtime.pipeline import Pipeline
    from edge_rppg.runtime.web_sink import WebSink
    Pipeline.create("v4l2:///dev/video0", sinks=[WebSink(port=8080)]).run()

serves one page (bundled in the package: no CDN, kiosks are often offline) with the
annotated frame (:func:`overlay`: meta-ROIs, face box, HR; MJPEG at most ``max_fps`` a second
and ``video_width`` pixels wide),
the HR with its validity and, when invalid, why (no face, warming up, the artefact, low
quality), quality, HRV and respiration when valid, plots of the pulse wave and the HR
history, and the pipeline's health. The server is :mod:`edge_rppg.runtime.web_server`.

The event stream ``GET /events`` (server-sent events) is for any client, e.g.
``curl -N http://127.0.0.1:8080/events``:

- ``event: vitals``: exactly the object the ``json`` sink writes for a frame
  (:meth:`~edge_rppg.processor.results.VitalsResult.to_dict`), every frame (``every="window"``: only
  frames with a new HR); ``id:`` is its ``frame_index``.
- ``event: pulse``: ``{"frame_index", "timestamp", "bvp_fs", "bvp"}``, the last ``pulse_s``
  seconds of the band-passed pulse, on every new HR.
- ``event: health``: once a second, ``{"fps_in", "fps_processed", "dropped_frames",
  "latency_ms": {stage: {"mean", "max"}}, "clients": {...}, "http_errors", "max_fps"}`` over
  the last ``HEALTH_SPAN_S`` seconds.
- ``event: history``: once, first: ``{"history": [[timestamp, hr_bpm, valid], ...]}``, every
  new HR of the last ``history_s`` seconds; a new client then gets the latest ``vitals``,
  ``pulse`` and ``health``.

The pipeline thread only keeps each result (bounded) and, while a video client is connected
and at most ``max_fps`` a second, a copy of the frame scaled down to ``video_width``. The
server's streamer thread does the rest in bursts (an event batch five times a second, riding
on a new frame's wake-up when one comes): each result serialised once for every client, the
small frame drawn on and encoded, the writes. ``close()`` (the pipeline
calls it on end of stream, Ctrl-C or stop) ends every connection and the server.
"""
from __future__ import annotations

import json
import threading
import time
from collections import deque
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

import numpy as np

from edge_rppg.errors import ConfigError

from .sinks import Sink
from .web_server import WebServer
from .web_streams import Hub, sse

__all__ = ["WebSink", "PipelineHealth", "HEALTH_SPAN_S"]

HEALTH_SPAN_S = 2.0
RESULTS_KEPT = 1024  # results waiting for the streamer's next batch (it takes them every BATCH_S, 0.2 s)


GOOD, WEAK, ROI_COLOR = (60, 200, 60), (0, 170, 255), (255, 200, 0)  # BGR: valid, not valid, meta-ROIs


def overlay(frame_rgb: np.ndarray, result: Any, scale: float = 1.0) -> np.ndarray:
    """A BGR copy of the frame with the meta-ROIs, the face box (green: valid, amber: not) and
    the HR drawn on it: what the page's video shows. ``scale``: the frame's size over the one
    the result's coordinates refer to (:meth:`WebSink.shrink` gives both). Lighter than the video
    sink's :func:`~edge_rppg.runtime.sinks.annotate` (no antialiasing, no pulse trace: the page plots it)."""
    import cv2

    from edge_rppg.skin.roi import roi_polygons

    img = cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR)
    color = GOOD if result.valid else WEAK
    if result.landmarks is not None:
        points = np.round(np.asarray(result.landmarks) * scale)  # one array op, not one per polygon
        cv2.polylines(img, [p.astype(np.int32) for p in roi_polygons(points)], True, ROI_COLOR, 1)
    if result.face_box is not None:
        x0, y0, x1, y1 = (int(round(v * scale)) for v in result.face_box)
        cv2.rectangle(img, (x0, y0), (x1, y1), color, 2)
    text = "HR --" if result.hr_bpm is None else f"HR {result.hr_bpm:.1f}" + ("" if result.valid else " not valid")
    size = max(0.5, img.shape[0] / 480.0)
    org = (8, int(26 * size))
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.8 * size, (0, 0, 0), int(4 * size))
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.8 * size, color, max(1, int(2 * size)))
    return img


#: ``json.dumps(obj, separators=(",", ":"))``, without building an encoder for every call
_json = json.JSONEncoder(separators=(",", ":")).encode


class PipelineHealth:
    """Rolling health figures from the results a sink sees over the last ``span_s`` s of wall time:
    processed fps, input fps (processed + dropped), drops so far, per-stage latency."""

    def __init__(self, span_s: float = HEALTH_SPAN_S) -> None:
        self.span_s = float(span_s)
        self._rows: Deque[Tuple[float, int, Dict[str, float]]] = deque()

    def add(self, result: Any, now: float) -> None:
        self._rows.append((now, int(result.dropped_frames), dict(result.latency_ms)))
        while now - self._rows[0][0] > self.span_s:
            self._rows.popleft()

    def summary(self) -> Dict[str, Any]:
        rows = self._rows
        if not rows:
            return {"fps_in": 0.0, "fps_processed": 0.0, "dropped_frames": 0, "latency_ms": {}}
        dt = rows[-1][0] - rows[0][0]
        frames = len(rows) - 1
        dropped = rows[-1][1] - rows[0][1]
        latency: Dict[str, Dict[str, float]] = {}
        for stage in rows[-1][2]:
            vals = [r[2][stage] for r in rows if stage in r[2]]
            latency[stage] = {"mean": round(float(np.mean(vals)), 3), "max": round(float(np.max(vals)), 3)}
        return {"fps_in": round((frames + dropped) / dt, 2) if dt > 0 else 0.0,
                "fps_processed": round(frames / dt, 2) if dt > 0 else 0.0,
                "dropped_frames": rows[-1][1], "latency_ms": latency}


class WebSink(Sink):
    """Serves the live page and the event stream while the pipeline runs (see the module doc).

    host, port: where to listen (127.0.0.1 by default: this machine only; ``0.0.0.0`` for the
    network; port 0 picks a free one, see :attr:`url`). max_fps: cap of the video stream (5: a
    preview to aim the camera by; every video frame is one write to every viewer, the sink's
    main cost, so 10 fps costs about 0.15 ms a frame more with 20 viewers,
    ``bench/bench_web_sink.py``).
    video_width: its width in pixels at most (wider frames are scaled down, keeping their
    aspect, before they are drawn on and encoded: the page shows a preview, and a 640x480
    frame costs about four times the CPU of a 320x240 one). jpeg_quality: 1..100.
    max_clients: streaming connections at once. queue_size: messages a client may fall behind
    before its oldest are dropped. pulse_s, history_s: seconds of pulse wave and HR history sent.
    Raises :class:`~edge_rppg.errors.UnavailableError` when the port is in use,
    :class:`~edge_rppg.errors.ConfigError` for values out of range.
    """

    name = "web"

    def __init__(self, path: Optional[str] = None, host: str = "127.0.0.1", port: int = 8080, every: str = "frame",
                 max_fps: float = 5.0, video_width: int = 320, jpeg_quality: int = 80, max_clients: int = 64,
                 queue_size: int = 64, pulse_s: float = 10.0, history_s: float = 300.0,
                 log: Optional[Callable[[str], None]] = None) -> None:
        super().__init__(every)
        if path not in (None, "", "-"):
            raise ConfigError(f"the web sink writes no file (got {path!r}); it serves on --host/--port")
        checks = {"max_fps": (max_fps, 0.1, 60.0), "video_width": (video_width, 16, 7680),
                  "jpeg_quality": (jpeg_quality, 1, 100),
                  "pulse_s": (pulse_s, 1.0, 120.0), "history_s": (history_s, 10.0, 86_400.0)}
        for name, (value, low, high) in checks.items():
            if not low <= value <= high:
                raise ConfigError(f"web sink {name} must be {low}..{high}, got {value}")
        self.max_fps, self.video_width, self.jpeg_quality = float(max_fps), int(video_width), int(jpeg_quality)
        self.pulse_s, self.history_s = float(pulse_s), float(history_s)
        self.health = PipelineHealth()
        self.frames_encoded = 0
        self.write_cpu_s = 0.0  # CPU time of write() on the pipeline thread (the sink's own cost there)
        self._lock = threading.Lock()
        self._latest: Dict[str, bytes] = {}
        self._history: Deque[List[Any]] = deque(maxlen=int(history_s * 4) + 16)  # bounded even at 4 HR/s
        self._next_health = self._next_frame = 0.0
        self._results: Deque[Tuple[Any, float]] = deque(maxlen=RESULTS_KEPT)
        self._pending: Optional[Tuple[np.ndarray, float, Any]] = None
        self._closed = False
        self.hub = Hub(queue_size)
        self.hub.snapshot = self._snapshot
        self.server = WebServer(host, port, self.hub, max_clients, log=log).start()
        self.hub.render = self._render  # once there is a server to log to

    @property
    def url(self) -> str:
        """The page's address, e.g. ``http://127.0.0.1:8080/``."""
        return self.server.url

    # -- the pipeline thread
    def write(self, result: Any, frame: Optional[np.ndarray] = None) -> None:
        """Keep ``result`` for the streamer thread's next batch and, while a video client is connected
        and at most ``max_fps`` a second, a copy of ``frame`` scaled down to ``video_width``."""
        if self._closed:
            return
        cpu0 = time.thread_time()
        now = time.monotonic()
        self._results.append((result, now))
        if frame is not None and self.hub.frame_clients > 0 and now >= self._next_frame:
            period = 1.0 / self.max_fps
            self._next_frame = max(self._next_frame + period, now - period)
            small, scale = self.shrink(frame)
            with self._lock:
                self._pending = (small, scale, result)
            self.hub.wake()
        self.write_cpu_s += time.thread_time() - cpu0

    def shrink(self, frame: np.ndarray) -> Tuple[np.ndarray, float]:
        """A new array (the source may reuse its buffer) of ``frame`` at most :attr:`video_width`
        wide, and its scale (new width / old)."""
        import cv2

        height, width = frame.shape[:2]
        if width <= self.video_width:
            return np.array(frame, copy=True), 1.0
        scale = self.video_width / width
        size = (self.video_width, max(1, int(round(height * scale))))
        return cv2.resize(frame, size, interpolation=cv2.INTER_AREA), scale

    # -- the streamer thread
    def _render(self, batch: bool) -> None:
        """The streamer thread's hook (:attr:`Hub.render`): on a ``batch``, the results kept since
        the last one become messages (serialised once for every client, and in one go: a burst
        costs less CPU than the same work spread over the frames); a pending frame becomes a JPEG.
        An error is logged, not raised: it must not end every stream."""
        try:
            if batch:
                self._publish_results()
            with self._lock:
                pending, self._pending = self._pending, None
            if pending is not None:
                self._encode(*pending)
        except Exception as exc:  # a bug here must not end every stream (the streamer thread serves them all)
            self.server.log(f"web sink: {type(exc).__name__}: {exc}")

    def _publish_results(self) -> None:
        """The kept results as ``vitals`` (and ``pulse``, ``health`` when due), to every client at once."""
        messages: List[bytes] = []
        while self._results:
            result, now = self._results.popleft()
            self.health.add(result, now)
            record = result.to_dict()
            vitals = sse("vitals", _json(record), result.frame_index)
            extra = []
            with self._lock:
                self._latest["vitals"] = vitals
                if result.hr_updated:
                    self._history.append([record["timestamp"], record["hr_bpm"], result.valid])
                    while self._history and record["timestamp"] - self._history[0][0] > self.history_s:
                        self._history.popleft()
                    extra.append(self._remember("pulse", self._pulse(result)))
                if now >= self._next_health:
                    self._next_health = now + 1.0
                    extra.append(self._remember("health", self._health()))
            if self.wants(result):
                messages.append(vitals)
                self.written += 1
            messages += extra
        self.hub.publish(*messages)

    def _remember(self, event: str, payload: Dict[str, Any]) -> bytes:
        msg = sse(event, _json(payload))
        self._latest[event] = msg
        return msg

    def _pulse(self, result: Any) -> Dict[str, Any]:
        n = int(round(self.pulse_s * result.bvp_fs))
        bvp = np.asarray(result.bvp[-n:], dtype=np.float64)
        return {"frame_index": result.frame_index, "timestamp": round(float(result.timestamp), 6),
                "bvp_fs": result.bvp_fs, "bvp": [round(float(v), 4) for v in bvp]}

    def _health(self) -> Dict[str, Any]:
        return {**self.health.summary(), "clients": self.hub.client_stats(), "http_errors": self.server.errors,
                "max_fps": self.max_fps}

    def _snapshot(self) -> List[bytes]:
        with self._lock:
            first = sse("history", _json({"history": list(self._history)}))
            return [first, *(self._latest[k] for k in ("vitals", "pulse", "health") if k in self._latest)]

    def _encode(self, frame: np.ndarray, scale: float, result: Any) -> None:
        """:func:`overlay` on the small frame, as a JPEG, made the newest video frame."""
        import cv2

        try:
            img = overlay(frame, result, scale)
            ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        except cv2.error as exc:  # a frame OpenCV cannot draw or encode: skip it, keep serving
            self.server.log(f"cannot encode frame {result.frame_index}: {exc}")
            return
        if ok:
            self.hub.publish_frame(buf.tobytes())
            self.frames_encoded += 1

    def close(self) -> None:
        """Stop the server and end every connection (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.server.stop()  # the streamer's last batch takes the results still kept

    def __enter__(self) -> "WebSink":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
