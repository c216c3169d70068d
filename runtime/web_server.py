"""The HTTP side of the ``web`` sink: a small standard-library server with a fixed route table.

Routes (nothing else; no path from the URL ever reaches the file system):

=================  ==============================================================================
``/``              the page (``runtime/web/index.html``), with ``/app.js`` and ``/app.css``
``/events``        server-sent events: ``vitals`` (the JSON-lines sink's object for each frame),
                   ``pulse`` (last seconds of the pulse wave), ``health`` (pipeline health, 1 Hz),
                   ``history`` (HR history, once on connect); ``id:`` is the frame index
``/stream.mjpg``   the annotated frame as MJPEG (``multipart/x-mixed-replace``), at a capped rate
=================  ==============================================================================

Safety: :class:`Hub` gives every event client its own bounded queue that drops its oldest
message when full (a slow or vanished client never blocks the pipeline or grows memory) and
every video client only the newest frame; streaming clients are capped (503 beyond); every
socket read or write times out; with a loopback address only loopback ``Host`` headers are
served (DNS rebinding); bad requests (garbage, huge headers, unknown paths, other methods)
get the error status that :mod:`http.server` gives them. :meth:`WebServer.stop` ends every
connection and returns once its threads are done.
"""
from __future__ import annotations

import errno
import http.server
import ipaddress
import socket
import threading
from collections import deque
from importlib import resources
from typing import Callable, Deque, Dict, List, Optional, Set, Tuple
from urllib.parse import urlsplit

from edge_rppg.errors import ConfigError, UnavailableError

__all__ = ["ClientQueue", "Hub", "WebServer", "PAGES", "BOUNDARY"]

#: The page's files: route → (file in ``runtime/web``, content type).
PAGES: Dict[str, Tuple[str, str]] = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/app.css": ("app.css", "text/css; charset=utf-8"),
}
BOUNDARY = "edge-rppg-frame"
#: Only the page's own origin: scripts, styles, images and connections (kiosks are often offline).
CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'"
SEND_BUFFER = 64 * 1024  # bytes of kernel send buffer per connection (Linux doubles it)
KEEPALIVE_S = 15.0  # an idle event stream sends a comment this often (and so notices a vanished client)


class ClientQueue:
    """Bounded FIFO of encoded messages for one client: a full queue drops its oldest
    message (counted in ``dropped``), so a client that stops reading costs at most
    ``maxlen`` messages."""

    def __init__(self, maxlen: int) -> None:
        self.maxlen = int(maxlen)
        self.dropped = 0
        self.closed = False
        self._q: Deque[bytes] = deque()
        self._cv = threading.Condition()

    def put(self, msg: bytes) -> None:
        """Append ``msg`` (never blocks)."""
        with self._cv:
            if len(self._q) >= self.maxlen:
                self._q.popleft()
                self.dropped += 1
            self._q.append(msg)
            self._cv.notify()

    def take(self, timeout: float) -> List[bytes]:
        """Everything queued, waiting up to ``timeout`` s for something (empty: nothing came)."""
        with self._cv:
            if not self._q and not self.closed:
                self._cv.wait(timeout)
            items = list(self._q)
            self._q.clear()
            return items

    def close(self) -> None:
        with self._cv:
            self.closed = True
            self._cv.notify_all()

    def __len__(self) -> int:
        with self._cv:
            return len(self._q)


class Hub:
    """What the sink publishes and the clients read: event messages fanned out to one
    :class:`ClientQueue` per client, and the newest JPEG frame with a sequence number.

    ``snapshot`` (set by the sink) returns the messages a new event client gets first
    (HR history, the latest reading, pulse and health)."""

    def __init__(self, queue_size: int = 64) -> None:
        if not 1 <= queue_size <= 10_000:
            raise ConfigError(f"web client queue size must be 1..10000, got {queue_size}")
        self.queue_size = int(queue_size)
        self.snapshot: Callable[[], List[bytes]] = list
        self.closed = threading.Event()
        self.frame: Optional[bytes] = None
        self.frame_seq = 0
        self.frame_clients = 0
        self.dropped_done = 0  # messages dropped by clients that have left
        self._clients: Set[ClientQueue] = set()
        self._lock = threading.Lock()
        self._frame_cv = threading.Condition()

    # events
    def subscribe(self) -> ClientQueue:
        """A new client's queue, primed with :attr:`snapshot`."""
        q = ClientQueue(self.queue_size)
        for msg in self.snapshot():
            q.put(msg)
        with self._lock:
            self._clients.add(q)
        return q

    def unsubscribe(self, q: ClientQueue) -> None:
        with self._lock:
            if q in self._clients:
                self._clients.discard(q)
                self.dropped_done += q.dropped

    def publish(self, msg: bytes) -> None:
        """Queue ``msg`` for every event client (never blocks on a client)."""
        with self._lock:
            clients = list(self._clients)
        for q in clients:
            q.put(msg)

    @property
    def event_clients(self) -> int:
        with self._lock:
            return len(self._clients)

    def client_stats(self) -> Dict[str, int]:
        """Clients connected, messages dropped for slow clients, largest queue now."""
        with self._lock:
            clients = list(self._clients)
            dropped = self.dropped_done + sum(q.dropped for q in clients)
        return {"event_clients": len(clients), "video_clients": self.frame_clients, "dropped_messages": dropped,
                "max_queue": max((len(q) for q in clients), default=0)}

    # frames
    def publish_frame(self, jpeg: bytes) -> None:
        with self._frame_cv:
            self.frame = jpeg
            self.frame_seq += 1
            self._frame_cv.notify_all()

    def next_frame(self, seen: int, timeout: float) -> Tuple[int, Optional[bytes]]:
        """The newest frame once its sequence number differs from ``seen`` (older ones are
        skipped: one frame of queue per video client); ``(seen, None)`` on timeout or close."""
        with self._frame_cv:
            self._frame_cv.wait_for(lambda: self.frame_seq != seen or self.closed.is_set(), timeout)
            if self.frame_seq == seen or self.closed.is_set():
                return seen, None
            return self.frame_seq, self.frame

    def frame_client(self, delta: int) -> None:
        with self._frame_cv:
            self.frame_clients += delta

    def close(self) -> None:
        """Wake every client so that it ends."""
        self.closed.set()
        with self._lock:
            clients = list(self._clients)
        for q in clients:
            q.close()
        with self._frame_cv:
            self._frame_cv.notify_all()


def sse(event: str, data: str, event_id: Optional[int] = None) -> bytes:
    """One server-sent event (``data`` must be one line, as compact JSON is)."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {data}\n\n".encode()


def _read_pages() -> Dict[str, bytes]:
    root = resources.files("edge_rppg.runtime") / "web"
    return {name: (root / name).read_bytes() for name in {f for f, _ in PAGES.values()}}


class Handler(http.server.BaseHTTPRequestHandler):
    """The fixed routes of :data:`PAGES`, ``/events`` and ``/stream.mjpg``; anything else is 404
    (methods other than GET/HEAD: 501, malformed requests: 400/414/431, from http.server)."""

    server: "WebServer"
    server_version = "edge-rppg"
    sys_version = ""
    timeout = 10.0  # seconds a read or write may block (slowloris, stalled readers)
    default_request_version = "HTTP/1.0"  # garbage gets a status line too (HTTP/0.9 answers have none)

    def setup(self) -> None:
        super().setup()
        # a small kernel send buffer: a slow client gets fresh frames rather than seconds-old ones,
        # and its backlog stays in its own bounded queue, where it is dropped oldest first
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's name
        self.server.log(f"{self.address_string()} {format % args}")

    def log_request(self, code: object = "-", size: object = "-") -> None:
        pass  # successful requests are not logged (a kiosk runs for days); errors go to log_message

    def send_error(self, code: int, message: Optional[str] = None, explain: Optional[str] = None) -> None:
        self.server.errors += 1
        super().send_error(code, message, explain)

    def do_GET(self) -> None:
        self._route(body=True)

    def do_HEAD(self) -> None:
        self._route(body=False)

    def _route(self, body: bool) -> None:
        if not self.server.host_allowed(self.headers.get("Host", "")):
            self.send_error(403, "Host not allowed")
            return
        path = urlsplit(self.path).path
        if path in PAGES:
            name, ctype = PAGES[path]
            self._send_bytes(self.server.pages[name], ctype, body)
        elif path == "/favicon.ico":  # browsers ask for it; there is none (and no 404 line in the log)
            self.send_response(204)
            self.end_headers()
        elif path == "/events":
            self._stream(body, "text/event-stream", self._events)
        elif path == "/stream.mjpg":
            self._stream(body, f"multipart/x-mixed-replace; boundary={BOUNDARY}", self._mjpeg)
        else:
            self.send_error(404)

    def _headers(self, ctype: str) -> None:
        self.send_header("Content-Type", ctype)
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", CSP)

    def _send_bytes(self, data: bytes, ctype: str, body: bool) -> None:
        self.send_response(200)
        self._headers(ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _stream(self, body: bool, ctype: str, loop: Callable[[], None]) -> None:
        if not self.server.stream_slot(True):
            self.send_error(503, "Too many clients")
            return
        try:
            self.send_response(200)
            self._headers(ctype)
            self.end_headers()
            if body:
                loop()
        except (OSError, ValueError):  # the client went away or stalled past the timeout
            pass
        finally:
            self.server.stream_slot(False)

    def _events(self) -> None:
        hub = self.server.hub
        q = hub.subscribe()
        try:
            idle = 0.0
            while True:
                msgs = q.take(0.5)  # returns at once when closed: what is left goes out, then the end
                if msgs:
                    self.wfile.write(b"".join(msgs))
                    idle = 0.0
                elif hub.closed.is_set():
                    break
                else:
                    idle += 0.5
                    if idle >= KEEPALIVE_S:
                        self.wfile.write(b": keep-alive\n\n")
                        idle = 0.0
        finally:
            hub.unsubscribe(q)

    def _mjpeg(self) -> None:
        hub = self.server.hub
        hub.frame_client(+1)
        try:
            seq = 0
            self.wfile.write(f"--{BOUNDARY}\r\n".encode())
            while not hub.closed.is_set():
                seq, jpeg = hub.next_frame(seq, 0.5)
                if jpeg is not None:
                    # the closing boundary right after the image lets the browser show it at once
                    self.wfile.write(b"Content-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n%s\r\n--%s\r\n"
                                     % (len(jpeg), jpeg, BOUNDARY.encode()))
        finally:
            hub.frame_client(-1)


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


class WebServer(http.server.ThreadingHTTPServer):
    """A :class:`~http.server.ThreadingHTTPServer` serving :class:`Handler` for one :class:`Hub`.

    ``max_clients``: streaming connections at once (more get 503); connections of any kind
    are capped at ``2 * max_clients + 16`` (more are closed unanswered). Binding errors are
    one-line :class:`~edge_rppg.errors.UnavailableError` (port in use, address not on this
    machine) or :class:`~edge_rppg.errors.ConfigError` (unknown host name)."""

    daemon_threads = True

    def __init__(self, host: str, port: int, hub: Hub, max_clients: int = 32,
                 log: Optional[Callable[[str], None]] = None) -> None:
        if not 0 <= int(port) <= 65535:
            raise ConfigError(f"--port must be 0..65535, got {port}")
        if not 1 <= int(max_clients) <= 1000:
            raise ConfigError(f"web max clients must be 1..1000, got {max_clients}")
        self.hub = hub
        self.max_clients = int(max_clients)
        self.log = log or (lambda _msg: None)
        self.pages = _read_pages()
        self.errors = 0
        self.streams = 0
        self._conns: Set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None
        self._local_only = _loopback(host)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise ConfigError(f"--host {host!r}: {exc.strerror}") from None
        self.address_family = infos[0][0]
        try:
            super().__init__(infos[0][4][:2], Handler)
        except OSError as exc:
            why = "the port is in use (choose another with --port)" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise UnavailableError(f"cannot serve on {host}:{port}: {why}") from None
        self.host = host
        self.port = int(self.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def host_allowed(self, host_header: str) -> bool:
        """With a loopback address, only loopback names (a page on another site that rebinds
        its DNS name to 127.0.0.1 must not read the camera); otherwise any."""
        if not self._local_only or not host_header:  # no Host header: not a browser, so no rebinding
            return True
        name = host_header.rsplit(":", 1)[0] if not host_header.endswith("]") else host_header
        return _loopback(name)

    def track(self, conn: socket.socket, alive: bool) -> None:
        with self._lock:
            (self._conns.add if alive else self._conns.discard)(conn)

    def stream_slot(self, take: bool) -> bool:
        """Take (or give back) one of the ``max_clients`` streaming slots."""
        with self._lock:
            if not take:
                self.streams -= 1
                return True
            if self.streams >= self.max_clients:
                return False
            self.streams += 1
            return True

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._conns)

    def process_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        if self.connections >= 2 * self.max_clients + 16:
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def handle_error(self, request: object, client_address: object) -> None:
        self.log(f"error serving {client_address}")  # a handler bug must not print a traceback per request

    def start(self) -> "WebServer":
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="edge-rppg-web", daemon=True)
        self._thread.start()
        return self

    def stop(self, grace_s: float = 1.0, timeout: float = 3.0) -> None:
        """Stop accepting; give event clients up to ``grace_s`` to receive what is queued for
        them, then end every connection (also one blocked writing to a stalled client) and
        wait up to ``timeout`` s for the handler threads (idempotent)."""
        self.hub.close()
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout)
            self._thread = None
        self._wait_idle(grace_s)
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._wait_idle(timeout)
        self.server_close()

    def _wait_idle(self, seconds: float) -> None:
        pause = threading.Event()
        for _ in range(max(1, int(seconds / 0.02))):
            if not self.connections:
                return
            pause.wait(0.02)
