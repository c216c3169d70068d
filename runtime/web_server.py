"""The HTTP side of the ``web`` sink: a small standard-library server with a fixed route table.

Routes (nothing else; no path from the URL ever reaches the file system):

=================  ==============================================================================
``/``              the page (``runtime/web/index.html``), with ``/app.js`` and ``/app.css``
``/events``        server-sent events: ``vitals`` (the JSON-lines sink's object for each frame),
                   ``pulse`` (last seconds of the pulse wave), ``health`` (pipeline health, 1 Hz),
                   ``history`` (HR history, once on connect); ``id:`` is the frame index
``/stream.mjpg``   the annotated frame as MJPEG (``multipart/x-mixed-replace``), at a capped rate
=================  ==============================================================================

Safety: after a stream's headers the socket goes to the :class:`~edge_rppg.runtime.web_streams.Streamer`
(one thread for every stream, bounded per-client queues that drop their oldest message, only
the newest frame for video: a slow or vanished client never blocks the pipeline or grows
memory); streaming clients are capped (503 beyond) and so are connections; every socket read
times out; with a loopback address only loopback ``Host`` headers are served (DNS
rebinding); bad requests (garbage, huge headers, unknown paths, other methods) get the error
status that :mod:`http.server` gives them. :meth:`WebServer.stop` ends every connection and
returns once its threads are done.
"""
from __future__ import annotations

import errno
import http.server
import ipaddress
import socket
import threading
from importlib import resources
from typing import Callable, Dict, Optional, Set, Tuple
from urllib.parse import urlsplit

from edge_rppg.errors import ConfigError, UnavailableError

from .web_streams import BOUNDARY, Hub, Streamer

__all__ = ["WebServer", "PAGES"]

#: The page's files: route → (file in ``runtime/web``, content type).
PAGES: Dict[str, Tuple[str, str]] = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/app.css": ("app.css", "text/css; charset=utf-8"),
}
#: Only the page's own origin: scripts, styles, images and connections (kiosks are often offline).
CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'"
SEND_BUFFER = 64 * 1024  # bytes of kernel send buffer per connection (Linux doubles it)


def _read_pages() -> Dict[str, bytes]:
    root = resources.files("edge_rppg.runtime") / "web"
    return {name: (root / name).read_bytes() for name in {f for f, _ in PAGES.values()}}


class Handler(http.server.BaseHTTPRequestHandler):
    """The fixed routes of :data:`PAGES`, ``/events`` and ``/stream.mjpg``; anything else is 404
    (methods other than GET/HEAD: 501, malformed requests: 400/414/431, from http.server)."""

    server: "WebServer"
    server_version = "edge-rppg"
    sys_version = ""
    timeout = 10.0  # seconds a request may take to arrive (slowloris); a stream that takes nothing this long ends
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
            self._stream(body, "text/event-stream", "events")
        elif path == "/stream.mjpg":
            self._stream(body, f"multipart/x-mixed-replace; boundary={BOUNDARY}", "video")
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

    def _stream(self, body: bool, ctype: str, kind: str) -> None:
        """Answer the headers here, then hand the socket to the server's :class:`Streamer`."""
        if not self.server.stream_slot(True):
            self.send_error(503, "Too many clients")
            return
        handed = False
        try:
            self.send_response(200)
            self._headers(ctype)
            self.end_headers()
            self.wfile.flush()
            if body:
                self.server.hand_over(self.connection, kind)
                handed = True
        except OSError:  # the client went away
            pass
        finally:
            if not handed:
                self.server.stream_slot(False)


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

    def __init__(self, host: str, port: int, hub: Hub, max_clients: int = 64,
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
        self.streamer = Streamer(hub, stall_s=Handler.timeout)
        self._handed: Set[socket.socket] = set()

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

    def hand_over(self, conn: socket.socket, kind: str) -> None:
        """Give a stream's socket (headers sent) to the streamer; its slot is freed when it ends."""
        with self._lock:
            self._handed.add(conn)
        self.streamer.add(conn, kind, release=lambda: self.stream_slot(False))

    def shutdown_request(self, request: socket.socket) -> None:  # type: ignore[override]
        with self._lock:
            if request in self._handed:  # the streamer owns it now
                self._handed.discard(request)
                return
        super().shutdown_request(request)

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
        """Stop accepting; send each stream what is queued for it and close it; give requests
        still being answered ``grace_s``, then end their connections and wait up to ``timeout``
        s for their threads (idempotent)."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout)
            self._thread = None
        self.streamer.stop(timeout)
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
