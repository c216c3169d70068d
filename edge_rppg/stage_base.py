"""What the stream processor's stages share: the per-frame :class:`Packet`, the
:class:`Stage` base class with its :class:`StageTimer`, and the window-reset reasons.

A packet carries one frame through the fixed chain of :class:`edge_rppg.processor.StreamProcessor`
(input → landmarks → roi → window → engine → vitals). Each field is written by exactly one
stage (named in its comment) and read only by later ones, so the order is the contract.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Deque, Dict, Iterable, Iterator, Optional, Tuple, TypeVar

import numpy as np

from .landmarks import Face
from .vitals import Vitals

__all__ = ["timed", "RESET_FACE_LOST", "RESET_FRAME_GAP", "RESET_TIME_BACKWARDS", "RESET_MANUAL", "RESET_REASONS",
           "Packet", "StageTimer", "Stage"]

#: Why a window was reset (``VitalsResult.reset_reason`` values).
RESET_FACE_LOST = "face_lost"          # no face for longer than the bridge
RESET_FRAME_GAP = "frame_gap"          # no frames (dropped / stalled source) for longer than the bridge
RESET_TIME_BACKWARDS = "timestamp_backwards"  # the clock jumped back (new stream, camera restart)
RESET_MANUAL = "reset"                 # reset() was called
RESET_REASONS = (RESET_FACE_LOST, RESET_FRAME_GAP, RESET_TIME_BACKWARDS, RESET_MANUAL)


@dataclass
class Packet:
    """One frame on its way through the stages (each field names the stage that writes it)."""

    frame: np.ndarray                                  # caller; input: checked, RGB
    timestamp: float                                   # caller: seconds
    index: int = 0                                     # processor: 0-based frame count
    dropped_frames: int = 0                            # processor: dropped so far
    faces: int = 0                                     # landmarks: faces seen
    face: Optional[Face] = None                        # landmarks: the chosen face
    landmarks: Optional[np.ndarray] = None             # landmarks: its smoothed [468, 2] points
    sums: Optional[np.ndarray] = None                  # roi: [6, 3] colour sums (None: no usable face)
    counts: Optional[np.ndarray] = None                # roi: [6] pixel counts
    row: Optional[np.ndarray] = None                   # roi: [63, 6] MSTmap row
    light: Optional[np.ndarray] = None                 # roi: [3] mean RGB outside the face box
    skipped: bool = False                              # window: timestamp not after the last one
    reset_reason: Optional[str] = None                 # processor (manual) or window: why it restarted
    samples: int = 0                                   # window: grid samples since the last reset
    window_fill: float = 0.0                           # window: fraction of the first window
    window: Optional[np.ndarray] = None                # window: [T, 63, 6] when one is due
    window_valid: Optional[np.ndarray] = None          # window: [T] real-face samples
    bvp_window: Optional[np.ndarray] = None            # engine: [T] pulse of that window
    engine_error: Optional[str] = None                 # engine: why its output was unusable (NaN, ...)
    vitals: Optional[Vitals] = None                    # vitals: latest reading (None before the first)
    hr_updated: bool = False                           # vitals: this frame produced a new reading
    latency_ms: Dict[str, float] = field(default_factory=dict)  # every stage: its wall time


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
    """Base class: ``stage(packet)`` runs :meth:`process` and times it.

    Subclasses set ``name`` and implement ``process``; ``reset`` forgets stream state
    (new stream), ``close`` releases resources (idempotent).
    """

    name = "stage"

    def __init__(self) -> None:
        self.timer = StageTimer()

    def __call__(self, packet: Packet) -> Packet:
        t0 = time.perf_counter()
        try:
            self.process(packet)
        finally:
            ms = (time.perf_counter() - t0) * 1e3
            packet.latency_ms[self.name] = ms
            self.timer.add(ms)
        return packet

    def process(self, packet: Packet) -> None:  # pragma: no cover - abstract
        """Do this stage's job on ``packet`` in place."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget per-stream state."""

    def close(self) -> None:
        """Release resources (idempotent)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
