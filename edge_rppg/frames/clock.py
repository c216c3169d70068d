"""The stream clock: which frames are analysed at all, and when a stream restarts.

A live frame whose timestamp is not after the last analysed one (a repeated frame, a
frame delivered out of order) is *skipped* before any work is done on it: the landmarker
and the ROI stage never see it, and the caller counts it as dropped. A clock that jumps
back by more than the bridge (``bridge_s``) is a new stream: the processor restarts with
the reason ``timestamp_backwards``. Timestamps must be finite seconds with
``|t| <= MAX_ABS_TIMESTAMP_S`` (a larger one is a unit mistake: milli- or nanoseconds).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from ..errors import ConfigError
from ..stage import RESET_TIME_BACKWARDS

__all__ = ["MAX_ABS_TIMESTAMP_S", "Tick", "StreamClock"]

#: Largest |timestamp| in seconds (~317 years): beyond it a float64 second no longer resolves a
#: model-rate sample reliably, and such a value is a unit mistake (milli-/nanoseconds).
MAX_ABS_TIMESTAMP_S = 1e10


@dataclass(frozen=True)
class Tick:
    """What the clock says of one frame: ``skip`` it (not after the last one), or analyse
    it, after a restart when ``reset_reason`` is set."""

    timestamp: float
    skip: bool = False
    reset_reason: Optional[str] = None


class StreamClock:
    """Orders a live stream's frames by their timestamps (see the module docstring)."""

    def __init__(self, bridge_s: float) -> None:
        self.bridge_s = float(bridge_s)
        self.reset()

    def reset(self) -> None:
        """Forget the last time (a new stream)."""
        self._last: Optional[float] = None

    def admit(self, timestamp: float) -> Tick:
        """The :class:`Tick` of a frame at ``timestamp`` seconds."""
        t = float(timestamp)
        if not (math.isfinite(t) and abs(t) <= MAX_ABS_TIMESTAMP_S):
            raise ConfigError(f"timestamp must be a finite number of seconds with |t| <= {MAX_ABS_TIMESTAMP_S:g} "
                              f"(milli- or nanoseconds?), got {timestamp!r}")
        last = self._last
        if last is not None and t <= last:
            if last - t <= self.bridge_s:
                return Tick(t, skip=True)
            self._last = t
            return Tick(t, reset_reason=RESET_TIME_BACKWARDS)
        self._last = t
        return Tick(t)
