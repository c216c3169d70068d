"""The ``web`` sink's server without a browser (issue 27): its routes, bad requests (unknown paths,
``../``, huge headers, garbage, other methods, a foreign Host) get an error status and change nothing,
a port in use is a one-line CLI error, a client that stops reading neither blocks the pipeline nor
grows its queue, and the server stops with the pipeline. The browser test is ``test_web_browser.py``."""
from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from edge_rppg.errors import ConfigError, UnavailableError
from edge_rppg.runtime.pipeline import Pipeline
from edge_rppg.runtime.sinks import make_sink, sink_names
from edge_rppg.runtime.sources import SynthSource
from edge_rppg.runtime.web_sink import WebSink
from edge_rppg.runtime.web_server import PAGES
from edge_rppg.runtime.web_streams import BOUNDARY

ROOT = Path(__file__).resolve().parents[1]


def _raw(port: int, data: bytes, read: int = 65536) -> bytes:
    """Send raw bytes, return what the server answers before closing."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError:  # the server may answer and close before it has read everything
            pass
        out = b""
        while len(out) < read:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
        return out


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else -1


def _get(port: int, path: str, headers: Dict[str, str] | None = None) -> Tuple[int, Dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


@pytest.fixture()
def web() -> WebSink:
    sink = WebSink(port=0)
    yield sink
    sink.close()


def test_web_sink_is_registered_and_checks_its_arguments() -> None:
    assert "web" in sink_names()
    with pytest.raises(ConfigError, match="writes no file"):
        make_sink("web:out.json")
    with pytest.raises(ConfigError, match="max_fps"):
        WebSink(port=0, max_fps=0)
    with pytest.raises(ConfigError, match="port"):
        WebSink(port=70000)
    with pytest.raises(ConfigError, match="host"):
        WebSink(host="no-such-host.invalid", port=0)


def test_page_and_its_files_are_served_with_a_strict_policy(web: WebSink) -> None:
    for route, (name, ctype) in PAGES.items():
        status, headers, body = _get(web.server.port, route)
        assert status == 200 and headers["Content-Type"] == ctype, route
        assert body == (ROOT / "runtime" / "web" / name).read_bytes()
        assert "default-src 'none'" in headers["Content-Security-Policy"]
    _, _, page = _get(web.server.port, "/")
    assert b"http://" not in page and b"https://" not in page  # nothing from another host (kiosks are offline)


@pytest.mark.parametrize("request_bytes,expected", [
    (b"GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", {404}),
    (b"GET /../../etc/passwd HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", {404}),
    (b"GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", {404}),
    (b"GET /app.js/../../pyproject.toml HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", {404}),
    (b"GET //etc/passwd HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", {404}),
    (b"GET /web/index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", {404}),
    (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", {431}),
    (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-N: 1\r\n" * 150 + b"\r\n", {431}),
    (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", {414}),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n", {400}),
    (b"hello there\r\n\r\n", {400}),
    (b"POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n\r\nabc", {501}),
    (b"DELETE / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", {501}),
    (b"GET / HTTP/1.1\r\nHost: attacker.example:8080\r\n\r\n", {403}),  # DNS rebinding onto 127.0.0.1
])
def test_bad_requests_get_an_error_status_and_nothing_else_happens(web: WebSink, request_bytes: bytes,
                                                                   expected: set) -> None:
    port = web.server.port
    errors0 = web.server.errors
    answer = _raw(port, request_bytes)
    assert _status(answer) in expected, answer[:200]
    assert b"root:" not in answer and b"[project]" not in answer  # no file content leaked
    assert web.server.errors == errors0 + 1
    # nothing else happened: no client was left subscribed, and the server still serves the page
    assert web.hub.client_stats()["event_clients"] == 0 and web.hub.frame_clients == 0
    assert _get(port, "/")[0] == 200


def test_port_in_use_is_an_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(UnavailableError, match="in use"):
            WebSink(port=port)
        proc = subprocess.run([sys.executable, "-m", "edge_rppg.cli.main", "run", "--source", "synth:?frames=5",
                               "--model", "pos", "--sink", "web", "--port", str(port), "--sink",
                               f"json:{tmp_path / 'r.jsonl'}"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert len(lines) == 1 and "Traceback" not in proc.stderr and "in use" in lines[0], proc.stderr[-2000:]


class Reader(threading.Thread):
    """An event-stream client that reads everything until the server ends the stream."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.ids: List[int] = []
        self.events: Dict[str, int] = {}
        self.connected = threading.Event()

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request("GET", "/events")
        r = conn.getresponse()
        assert r.status == 200 and r.getheader("Content-Type") == "text/event-stream"
        self.connected.set()
        for line in r:
            if line.startswith(b"id: "):
                self.ids.append(int(line[4:]))
            elif line.startswith(b"event: "):
                name = line[7:].strip().decode()
                self.events[name] = self.events.get(name, 0) + 1
        conn.close()


def _stalled(port: int, path: str) -> socket.socket:
    """A client that asks for a stream and then never reads (tiny receive buffer)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    s.connect(("127.0.0.1", port))
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    return s


def test_stalled_client_neither_blocks_the_pipeline_nor_grows_and_the_server_stops_with_it() -> None:
    frames = 600
    web = WebSink(port=0, max_fps=60, queue_size=16)
    port = web.server.port
    stalled = [_stalled(port, "/events"), _stalled(port, "/stream.mjpg")]
    readers = [Reader(port) for _ in range(3)]
    for r in readers:
        r.start()
        assert r.connected.wait(10)
    for _ in range(500):  # every client has been handed to the streamer
        stats = web.hub.client_stats()
        if stats["event_clients"] == 4 and stats["video_clients"] == 1:
            break
        time.sleep(0.02)
    # 640x480 frames: the MJPEG of the stalled video client overflows its socket buffers at once
    source = SynthSource(frames=frames, duration_s=2.0, width=640, height=480, seed=2)
    pipe = Pipeline.create(source, sinks=[web], base_options=_pos())
    try:
        stats_before_close: Dict[str, int] = {}
        orig_close = web.close

        def close() -> None:  # what the clients look like when the stream ends, before the server stops
            stats_before_close.update(web.hub.client_stats())
            orig_close()

        web.close = close  # type: ignore[method-assign]
        report = pipe.run()
    finally:
        pipe.close()
    assert report.ok and report.end_reason == "eos" and report.processed == frames
    assert stats_before_close["event_clients"] == 4 and stats_before_close["video_clients"] == 1
    assert 0 < stats_before_close["max_queue"] <= 16    # bounded: no client's queue ever held more than 16 messages
    assert stats_before_close["dropped_messages"] > 0   # ... and lost its oldest ones, nobody waited for it
    for r in readers:                                   # the readers got the stream to its last frame
        r.join(10)
        assert not r.is_alive()
        assert r.ids and r.ids[-1] == frames - 1 and r.ids == sorted(r.ids)
        assert r.events.get("history") == 1  # (this run is too fast for its readers to keep every pulse or health)
    # the server is gone with the pipeline: the stalled sockets were ended and the port is closed
    for s in stalled:
        s.settimeout(10)
        while s.recv(1 << 20):
            pass
        s.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    assert web.frames_encoded > 0


def test_video_stream_sends_annotated_jpegs_and_vitals_match_the_json_sink(tmp_path: Path) -> None:
    """Every vitals event is the json sink's line for the same frame; the MJPEG parts are JPEGs."""
    out = tmp_path / "r.jsonl"
    web = WebSink(port=0, max_fps=30)
    reader = Reader(port=web.server.port)
    reader.start()
    assert reader.connected.wait(10)
    events: List[dict] = []
    conn = http.client.HTTPConnection("127.0.0.1", web.server.port, timeout=30)
    conn.request("GET", "/stream.mjpg")
    video = conn.getresponse()
    assert video.status == 200 and video.getheader("Content-Type") == f"multipart/x-mixed-replace; boundary={BOUNDARY}"
    got = {}

    def read_video() -> None:
        got["head"] = video.read(40_000)

    t = threading.Thread(target=read_video, daemon=True)
    t.start()
    sse = http.client.HTTPConnection("127.0.0.1", web.server.port, timeout=30)
    sse.request("GET", "/events")
    resp = sse.getresponse()

    def read_events() -> None:
        name = None
        for line in resp:
            if line.startswith(b"event: "):
                name = line[7:].strip()
            elif line.startswith(b"data: ") and name == b"vitals":
                events.append(json.loads(line[6:]))

    te = threading.Thread(target=read_events, daemon=True)
    te.start()
    source = SynthSource(frames=200, duration_s=2.0, width=320, height=240, seed=4)
    pipe = Pipeline.create(source, sinks=[make_sink("json", str(out)), web], base_options=_pos(), window=90)
    try:
        report = pipe.run()
    finally:
        pipe.close()
    te.join(10)
    t.join(10)
    assert report.ok and report.processed == 200
    lines = {d["frame_index"]: d for d in map(json.loads, out.read_text().splitlines())}
    assert events and all(lines[e["frame_index"]] == e for e in events)
    assert any(e["hr_bpm"] is not None for e in events)
    head = got["head"]
    assert head.startswith(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n".encode()) and b"\xff\xd8\xff" in head


def _pos():
    from edge_rppg import BaseOptions

    return BaseOptions(model="pos")


def test_stream_slots_are_capped_and_a_chattering_client_is_let_go() -> None:
    with WebSink(port=0, max_clients=2) as web:
        port = web.server.port
        first = _stalled(port, "/events")
        second = _stalled(port, "/stream.mjpg")
        for _ in range(500):  # both have taken their slot
            if web.server.streams == 2:
                break
            time.sleep(0.02)
        assert _status(_raw(port, b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")) == 503
        # a stream client that keeps sending is disconnected (it has nothing to say) and its slot comes back
        first.settimeout(10)
        try:
            first.sendall(b"x" * 200_000)
        except OSError:  # already disconnected
            pass
        try:
            while first.recv(65536):
                pass
            ended = True
        except socket.timeout:
            ended = False
        except OSError:  # reset: ended too
            ended = True
        assert ended, "the server kept a stream whose client floods it"
        first.close()
        for _ in range(200):
            if web.server.streams < 2:
                break
            time.sleep(0.02)
        assert web.server.streams == 1
        head = _raw(port, b"HEAD /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert _status(head) == 200 and b"text/event-stream" in head
        second.close()


def test_ctrl_c_stops_the_run_and_its_server_cleanly(tmp_path: Path) -> None:
    """``edge-rppg run --sink web`` on an endless source: Ctrl-C ends the run (exit 0, 'interrupted'),
    the open event stream ends and the port is free again."""
    import signal

    proc = subprocess.Popen([sys.executable, "-m", "edge_rppg.cli.main", "run", "--source",
                             "synth:?width=160&height=120&duration=2", "--realtime", "--model", "pos", "--sink", "web",
                             "--port", "0", "--sink", "null"], stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        line = ""
        while "web view on" not in line:
            line = proc.stderr.readline()  # type: ignore[union-attr]
            assert line, "the run ended before serving"
        port = int(line.split("web view on http://127.0.0.1:", 1)[1].split("/", 1)[0])
        reader = Reader(port)
        reader.start()
        assert reader.connected.wait(30)
        for _ in range(300):  # frames are flowing
            if reader.ids:
                break
            time.sleep(0.05)
        assert reader.ids, "no vitals event arrived"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
        rest = proc.stderr.read()  # type: ignore[union-attr]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "ended: interrupted" in rest and "Traceback" not in rest, rest[-2000:]
    reader.join(10)
    assert not reader.is_alive()  # the server ended the stream
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_a_new_clients_primed_history_survives_a_burst_before_its_first_read() -> None:
    """The snapshot a client is primed with (its HR history, the latest reading) is never
    dropped: a burst before the client's first read drops the burst's own oldest messages,
    the queue stays within its bound, and the client reads its history first."""
    from edge_rppg.runtime.web_streams import ClientQueue

    q = ClientQueue(8)
    q.prime(b"history", b"latest")
    q.put(*[b"v%d" % i for i in range(30)])
    assert len(q) == 8 and q.high == 8 and q.dropped == 24
    assert q.take() == [b"history", b"latest"] + [b"v%d" % i for i in range(24, 30)]
    q.put(*[b"w%d" % i for i in range(10)])  # after the first read the whole bound is the burst's again
    assert q.take() == [b"w%d" % i for i in range(2, 10)] and q.dropped == 26
