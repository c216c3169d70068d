"""What every stage of the chain shares: the :class:`Stage` base class with its
:class:`StageTimer`, and why a stream restarts (the ``RESET_*`` reasons).

A stage is a small object with one job. It is called with exactly what it needs and
returns a small frozen record of what it found (``Frame``, ``FaceObservation``,
``SkinSample``, ``WindowStep``, ``PulseWindow``, ``VitalsUpdate``); the chain that passes
those records from one stage to the next is written out once, in
:meth:`edge_rppg.processor.stream.StreamProcessor.process`.
"""
from __future__ import annotations

import time
from collections import deque
from typing import Any, Deque, Dict, Iterable, Iterator, Tuple, TypeVar

import numpy as np

__all__ = ["timed", "RESET_FACE_LOST", "RESET_FRAME_GAP", "RESET_TIME_BACKWARDS", "RESET_FRAME_SIZE", "RESET_MANUAL",
           "StageTimer", "Stage"]

#: Why a stream restarted (``VitalsResult.reset_reason`` values).
RESET_FACE_LOST = "face_lost"          # no face for longer than the bridge (window stage)
RESET_FRAME_GAP = "frame_gap"          # no frames (dropped / stalled source) for longer than the bridge (window stage)
RESET_TIME_BACKWARDS = "timestamp_backwards"  # the clock jumped back (new stream, camera restart) (clock)
RESET_FRAME_SIZE = "frame_size"        # the frames changed size (the camera renegotiated its format) (front)
RESET_MANUAL = "reset"                 # reset() was called

T = TypeVar("T")


def timed(items: Iterable[T]) -> Iterator[Tuple[T, float]]:
    """``(item, ms)`` for each item of ``items``: how long fetching it took (decoding a
    frame, waiting for a camera), for the ``decode``/``source`` timings."""
    it = iter(items)
    while True:
        t0 = time.perf_counter()
        try:
            item = next(it)
        except StopIteration:
            return
        yield item, (time.perf_counter() - t0) * 1e3


class StageTimer:
    """Wall-time statistics of one stage: count, mean, last, max and p50/p99 over the
    last ``keep`` calls (bounded)."""

    def __init__(self, keep: int = 4096) -> None:
        self.count = 0
        self.total_ms = 0.0
        self.last_ms = 0.0
        self.max_ms = 0.0
        self._recent: Deque[float] = deque(maxlen=keep)

    def add(self, ms: float) -> None:
        """Record one call that took ``ms`` milliseconds."""
        self.count += 1
        self.total_ms += ms
        self.last_ms = ms
        self.max_ms = max(self.max_ms, ms)
        self._recent.append(ms)

    def summary(self) -> Dict[str, float]:
        """``{"count", "mean_ms", "p50_ms", "p99_ms", "max_ms"}``."""
        r = np.fromiter(self._recent, dtype=np.float64) if self._recent else np.zeros(1)
        return {"count": float(self.count), "mean_ms": self.total_ms / max(self.count, 1),
                "p50_ms": float(np.percentile(r, 50)), "p99_ms": float(np.percentile(r, 99)),
                "max_ms": self.max_ms}


class Stage:
    """Base class: ``stage(*args)`` runs :meth:`run` and times it (``timer``).

    Subclasses set ``name`` (the key of its time in ``VitalsResult.latency_ms``) and
    implement ``run``, taking what the stage needs and returning what it found; ``reset``
    forgets stream state (new stream), ``close`` releases resources (idempotent).
    """

    name = "stage"

    def __init__(self) -> None:
        self.timer = StageTimer()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return self.run(*args, **kwargs)
        finally:
            self.timer.add((time.perf_counter() - t0) * 1e3)

    def run(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - abstract
        """Do this stage's job; return its typed output."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget per-stream state."""

    def close(self) -> None:
        """Release resources (idempotent)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
