"""``PacedSource`` (``edge-rppg run --realtime``): a file's frames at the pace of their timestamps."""
from __future__ import annotations

import threading
import time

import numpy as np

from edge_rppg.runtime.sources import IterSource, PacedSource


def _frames(timestamps):
    return [(np.full((4, 4, 3), i, np.uint8), t) for i, t in enumerate(timestamps)]


def test_paced_source_keeps_frames_and_timestamps_and_never_runs_ahead() -> None:
    ts = [i / 50 for i in range(10)]
    src = PacedSource(IterSource(_frames(ts)))
    assert src.live  # a paced file behaves like a camera: the pipeline drops rather than waits
    t0 = time.monotonic()
    got = [(int(f[0, 0, 0]), t) for f, t in src.frames()]
    elapsed = time.monotonic() - t0
    assert got == list(enumerate(ts)) and src.end_reason == "eos"
    assert elapsed >= ts[-1] - ts[0] - 1e-3  # frame n is not delivered before its timestamp is due


def test_paced_source_passes_timestamps_that_go_back_and_stops_at_once() -> None:
    ts = [0.0, 0.02, 0.04, 0.0, 0.02]  # a reconnect restarts the timestamps
    src = PacedSource(IterSource(_frames(ts)))
    assert [t for _f, t in src.frames()] == ts
    slow = PacedSource(IterSource(_frames([0.0, 100.0])))  # the second frame is due in 100 s
    it = slow.frames()
    next(it)
    threading.Timer(0.2, slow.stop).start()
    assert list(it) == [] and slow.end_reason == "stopped"
