"""The streaming side of the ``web`` sink: what is published (:class:`Hub`) and the one thread
that writes it to every viewer (:class:`Streamer`).

After :mod:`edge_rppg.runtime.web_server` has answered a stream request's headers, it hands
the socket to the :class:`Streamer`: one thread, non-blocking sockets and a selector, so
twenty viewers cost twenty ``send`` calls per batch rather than forty threads waking up.

Bounds, per client: an event client has a :class:`ClientQueue` of at most ``queue_size``
messages (a full queue drops its oldest) plus one batch being sent; a video client has at most
one frame being sent and then gets the newest one (older frames are skipped). A client whose
socket takes nothing for ``stall_s`` seconds is disconnected. The messages themselves are made on
the streamer thread too (:attr:`Hub.render`, once per batch), so the pipeline thread never waits
for a client.
"""
from __future__ import annotations

import selectors
import socket
import threading
import time
from collections import deque
from typing import Callable, Deque, Dict, List, Optional

from edge_rppg.errors import ConfigError

__all__ = ["ClientQueue", "Hub", "Streamer", "BOUNDARY", "sse", "BATCH_S", "KEEPALIVE_S"]

BOUNDARY = "edge-rppg-frame"
BATCH_S = 0.2  # events go out in batches at most this often (30 events/s cost 5 sends per client, not 30)
KEEPALIVE_S = 15.0  # an idle event stream gets a comment this often (and so notices a vanished client)
MAX_CHATTER = 64 * 1024  # bytes a streaming client may send before it is disconnected
FLUSH_S, FLUSH_WAIT_S = 1.0, 0.1  # at stop: longest flush, and longest wait for some client to take bytes


def sse(event: str, data: str, event_id: Optional[int] = None) -> bytes:
    """One server-sent event (``data`` must be one line, as compact JSON is)."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {data}\n\n".encode()


class ClientQueue:
    """Bounded FIFO of encoded messages for one client: a full queue drops its oldest
    message (counted in ``dropped``), so a client that stops reading costs at most
    ``maxlen`` messages; ``high`` is the most it has held.

    What :meth:`prime` queues (a new client's first messages: its HR history, the latest
    reading) is never dropped: it waits at the head until the client's first :meth:`take`,
    and the messages behind it make room by dropping their own oldest, so a burst that
    arrives before a new client has read anything (a fast source, a busy machine) cannot
    cost it its history. Primed messages count towards ``maxlen`` (a snapshot larger than
    ``maxlen`` is kept whole all the same)."""

    def __init__(self, maxlen: int) -> None:
        self.maxlen = int(maxlen)
        self.dropped = 0
        self.high = 0
        self._primed: List[bytes] = []
        self._q: Deque[bytes] = deque()
        self._lock = threading.Lock()

    def prime(self, *msgs: bytes) -> None:
        """Queue ``msgs`` ahead of everything else, never to be dropped."""
        with self._lock:
            self._primed.extend(msgs)
            self._trim()

    def put(self, *msgs: bytes) -> None:
        """Append ``msgs`` (never blocks)."""
        with self._lock:
            self._q.extend(msgs)
            self._trim()

    def _trim(self) -> None:
        over = len(self._q) - max(0, self.maxlen - len(self._primed))
        for _ in range(over):
            self._q.popleft()
        self.dropped += max(0, over)
        self.high = max(self.high, len(self._primed) + len(self._q))

    def take(self) -> List[bytes]:
        """Everything queued, primed messages first (may be empty)."""
        with self._lock:
            items = self._primed + list(self._q)
            self._primed = []
            self._q.clear()
            return items

    def __len__(self) -> int:
        with self._lock:
            return len(self._primed) + len(self._q)


class Hub:
    """What the sink publishes: event messages fanned out to one :class:`ClientQueue` per event
    client, and the newest video frame (one ``multipart`` part, built once for every client)
    with a sequence number. Set by the sink: ``snapshot`` returns the messages a new event
    client gets first (HR history, the latest reading, pulse and health); ``render(batch)`` is
    called on the streamer thread before it writes (on a ``batch``, then events are due) and
    publishes what the sink has kept for it. Set by the :class:`Streamer`: ``wake`` makes it
    run (and so ``render``) now, e.g. for a new frame."""

    def __init__(self, queue_size: int = 64) -> None:
        if not 1 <= queue_size <= 10_000:
            raise ConfigError(f"web client queue size must be 1..10000, got {queue_size}")
        self.queue_size = int(queue_size)
        self.snapshot: Callable[[], List[bytes]] = list
        self.render: Callable[[bool], None] = lambda batch: None
        self.wake: Callable[[], None] = lambda: None  # the streamer's wake-up
        self.frame_part: Optional[bytes] = None
        self.frame_seq = 0
        self.frame_clients = 0
        self.dropped_done = 0  # messages dropped for clients that have left
        self.high_done = 0  # the largest queue of a client that has left
        self._queues: List[ClientQueue] = []
        self._lock = threading.Lock()

    def subscribe(self) -> ClientQueue:
        """A new event client's queue, primed with :attr:`snapshot`."""
        q = ClientQueue(self.queue_size)
        q.prime(*self.snapshot())
        with self._lock:
            self._queues = [*self._queues, q]
        return q

    def unsubscribe(self, q: ClientQueue) -> None:
        with self._lock:
            if q in self._queues:
                self._queues = [x for x in self._queues if x is not q]
                self.dropped_done += q.dropped
                self.high_done = max(self.high_done, q.high)

    def publish(self, *msgs: bytes) -> None:
        """Queue ``msgs`` for every event client (never blocks on a client)."""
        for q in self._queues:  # a copy-on-write list: no lock needed to read it
            q.put(*msgs)

    def publish_frame(self, jpeg: bytes) -> None:
        """Make ``jpeg`` the newest frame (older unsent ones are skipped)."""
        part = b"Content-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n%s\r\n--%s\r\n" % (
            len(jpeg), jpeg, BOUNDARY.encode())  # the closing boundary lets the browser show it at once
        with self._lock:
            self.frame_part, self.frame_seq = part, self.frame_seq + 1

    def client_stats(self) -> Dict[str, int]:
        """Clients connected, messages dropped for slow clients, the largest any client's queue
        has been (messages are queued and taken in one go on the streamer thread, so a queue
        seen at any other moment is empty unless its client has stopped reading)."""
        queues = self._queues
        return {"event_clients": len(queues), "video_clients": self.frame_clients,
                "dropped_messages": self.dropped_done + sum(q.dropped for q in queues),
                "max_queue": max([self.high_done, *(q.high for q in queues)])}


class _Client:
    """One streaming connection: what is being sent (``out``) and what it reads from the hub."""

    def __init__(self, sock: socket.socket, queue: Optional[ClientQueue], release: Callable[[], None]) -> None:
        self.sock, self.queue, self.release = sock, queue, release
        self.out = memoryview(b"")
        self.seq = 0
        self.received = 0
        self.last_sent = self.last_progress = time.monotonic()


class Streamer:
    """The thread that writes every stream (see the module doc). ``add`` takes over a socket
    whose response headers are sent; ``stop`` flushes what is queued and closes every stream."""

    def __init__(self, hub: Hub, stall_s: float = 10.0) -> None:
        self.hub, self.stall_s = hub, float(stall_s)
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        for s in (self._wake_r, self._wake_w):
            s.setblocking(False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, None)
        self._clients: Dict[socket.socket, _Client] = {}
        self._new: List[_Client] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._closed = False  # set by the thread as it finishes; add() then refuses
        hub.wake = self.wake
        self._thread = threading.Thread(target=self._loop, name="edge-rppg-web-streams", daemon=True)
        self._thread.start()

    def add(self, sock: socket.socket, kind: str, release: Callable[[], None]) -> None:
        """Stream ``kind`` (``"events"`` or ``"video"``) to ``sock``; ``release`` is called when it ends."""
        with self._lock:
            if self._closed:  # the streamer has finished: no new stream
                sock.close()
                release()
                return
            queue = self.hub.subscribe() if kind == "events" else None
            if queue is None:
                self.hub.frame_clients += 1
            sock.setblocking(False)
            client = _Client(sock, queue, release)
            if queue is None:
                client.out = memoryview(f"--{BOUNDARY}\r\n".encode())
            self._new.append(client)
        self.wake()

    def wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except OSError:  # the wake-up pipe is full (the thread will run anyway) or closed
            pass

    def __len__(self) -> int:
        return len(self._clients)

    # -- the streamer thread
    def _loop(self) -> None:
        next_batch = time.monotonic()
        while not self._stopping.is_set():
            woken = False
            # while frames come, a batch rides on a frame's wake-up; the timer only runs late,
            # for when none comes (the thread then wakes once per frame, not once more per batch)
            wait = next_batch + (BATCH_S / 4 if self.hub.frame_clients else 0.0) - time.monotonic()
            for key, mask in self._sel.select(timeout=max(0.0, wait)):
                if key.data is None:
                    self._drain_wake()
                    woken = True
                elif mask & selectors.EVENT_READ:
                    self._read(key.data)
            with self._lock:
                new, self._new = self._new, []
            for c in new:
                self._clients[c.sock] = c
                self._sel.register(c.sock, selectors.EVENT_READ, c)
            now = time.monotonic()
            batch = now >= next_batch - (BATCH_S / 4 if woken else 0.0)  # a frame due about when the batch is
            if batch:
                next_batch = now + BATCH_S
            self.hub.render(batch)
            for c in list(self._clients.values()):
                self._serve(c, now, batch)
        self._finish()

    def _drain_wake(self) -> None:
        try:  # one read: bytes left over (more than 4096 wake-ups) only wake the loop once more
            self._wake_r.recv(4096)
        except OSError:
            pass

    def _read(self, c: _Client) -> None:
        """A streaming client has nothing to say: its bytes are discarded, end of file ends it, and
        so do more than ``MAX_CHATTER`` bytes (a client flooding its stream must not spin this loop)."""
        try:
            data = c.sock.recv(4096)
            c.received += len(data)
            if not data or c.received > MAX_CHATTER:
                self._drop(c)
        except BlockingIOError:
            pass
        except OSError:
            self._drop(c)

    def _serve(self, c: _Client, now: float, batch: bool) -> None:
        if not c.out:
            if c.queue is not None and batch:
                msgs = c.queue.take()
                if not msgs and now - c.last_sent >= KEEPALIVE_S:
                    msgs = [b": keep-alive\n\n"]
                if msgs:
                    c.out = memoryview(b"".join(msgs))
            elif c.queue is None and c.seq != self.hub.frame_seq and self.hub.frame_part is not None:
                with self._lock:
                    c.seq, part = self.hub.frame_seq, self.hub.frame_part
                c.out = memoryview(part)  # type: ignore[arg-type]
            if not c.out:
                return
            c.last_sent = now
        try:
            sent = c.sock.send(c.out)
        except BlockingIOError:
            sent = 0
        except OSError:  # reset, broken pipe: the client has gone
            self._drop(c)
            return
        if sent:
            c.out, c.last_progress = c.out[sent:], now
        elif now - c.last_progress > self.stall_s:  # it takes nothing: let it go
            self._drop(c)

    def _drop(self, c: _Client) -> None:
        if self._clients.pop(c.sock, None) is None:
            return
        try:
            self._sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        self._close(c)

    def _close(self, c: _Client) -> None:
        if c.queue is not None:
            self.hub.unsubscribe(c.queue)
        else:
            with self._lock:
                self.hub.frame_clients -= 1
        try:
            c.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        c.sock.close()
        c.release()

    def _flush(self) -> None:
        """Send every client what is being sent and what is queued for it, for as long as some
        client takes bytes within ``FLUSH_WAIT_S`` (and ``FLUSH_S`` at most): a reader that is
        a little behind gets the end of the stream, one that has stopped reading delays no one."""
        deadline = time.monotonic() + FLUSH_S
        pending = list(self._clients.values())
        with selectors.DefaultSelector() as sel:
            while pending:
                now = time.monotonic()
                for c in pending:
                    self._serve(c, now, batch=True)
                pending = [c for c in pending if c.sock in self._clients
                           and (c.out or (c.queue is not None and len(c.queue) > 0))]
                wait = min(FLUSH_WAIT_S, deadline - now)
                if not pending or wait <= 0:
                    return
                for c in pending:
                    sel.register(c.sock, selectors.EVENT_WRITE)
                ready = sel.select(wait)
                for c in pending:
                    sel.unregister(c.sock)
                if not ready:
                    return

    def _finish(self) -> None:
        """Last batch (:meth:`_flush`), then end every stream with a clean close."""
        with self._lock:
            self._closed = True
            new, self._new = self._new, []
        for c in new:
            self._clients[c.sock] = c
        self.hub.render(True)
        self._flush()
        for c in list(self._clients.values()):
            try:
                self._sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass
            try:
                c.sock.setblocking(True)
                c.sock.shutdown(socket.SHUT_WR)  # the kernel still delivers what it holds, then FIN
            except OSError:
                pass
            self._clients.pop(c.sock, None)
            if c.queue is not None:
                self.hub.unsubscribe(c.queue)
            else:
                with self._lock:
                    self.hub.frame_clients -= 1
            c.sock.close()
            c.release()
        self._sel.close()
        self._wake_r.close()
        self._wake_w.close()

    def stop(self, timeout: float = 3.0) -> None:
        """Flush, close every stream and end the thread (idempotent)."""
        self._stopping.set()
        self.wake()
        self._thread.join(timeout)
