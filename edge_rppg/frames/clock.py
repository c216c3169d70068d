"""The stream clock: which frames are analysed at all, when a stream restarts, and which
timestamp jumps cannot be trusted.

- A live frame whose timestamp repeats the last analysed one, or lies at most
  ``LATE_INTERVALS`` frame intervals before it (a frame delivered late, out of order), is
  *skipped* before any work is done on it: the landmarker and the ROI stage never see it,
  and the caller counts it as dropped.
- A clock that steps back further is a clock that cannot be trusted (a camera restart, a
  clock reset, a glitch): the processor restarts the stream with the reason
  ``timestamp_backwards``. (Splicing the frames after such a step onto the ones before it
  would cut the pulse and give a wrong heart rate.)
- A step forward longer than the frame interval is frames that were dropped, or a clock
  that jumped. The frames the caller says it dropped (``dropped_before``) explain a gap;
  what is left, when it exceeds ``max_jump_s``, is an unexplained *jump* (``Tick.jump``):
  the signal is bridged as for dropped frames, but the readings whose window spans it are
  invalid (``timestamp_jump``), since a clock that jumped shifts the pulse's phase.

Timestamps must be finite seconds with ``|t| <= MAX_ABS_TIMESTAMP_S`` (a larger one is a
unit mistake: milli- or nanoseconds).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from ..errors import ConfigError
from ..stage import RESET_TIME_BACKWARDS

__all__ = ["MAX_ABS_TIMESTAMP_S", "LATE_INTERVALS", "Tick", "StreamClock"]

#: Largest |timestamp| in seconds (~317 years): beyond it a float64 second no longer resolves a
#: model-rate sample reliably, and such a value is a unit mistake (milli-/nanoseconds).
MAX_ABS_TIMESTAMP_S = 1e10
#: A frame at most this many frame intervals before the last analysed one is a late frame
#: (skipped); further back, the clock stepped back (a restart).
LATE_INTERVALS = 1.5


@dataclass(frozen=True)
class Tick:
    """What the clock says of one frame: ``skip`` it (not after the last one), or analyse
    it, after a restart when ``reset_reason`` is set; ``jump``: the time since the last
    frame holds an unexplained forward jump (see the module docstring)."""

    timestamp: float
    skip: bool = False
    reset_reason: Optional[str] = None
    jump: bool = False


class StreamClock:
    """Orders a live stream's frames by their timestamps (see the module docstring).

    ``bridge_s``: the longest step back tolerated before the frame interval is known;
    ``max_jump_s``: the longest unexplained forward jump trusted (None: every jump is)."""

    def __init__(self, bridge_s: float, max_jump_s: Optional[float] = None) -> None:
        self.bridge_s = float(bridge_s)
        self.max_jump_s = None if max_jump_s is None else float(max_jump_s)
        self.reset()

    def reset(self) -> None:
        """Forget the last time and the frame interval (a new stream)."""
        self._last: Optional[float] = None
        self._dt: Optional[float] = None   # typical frame interval (EMA of analysed steps)

    def admit(self, timestamp: float, dropped_before: int = 0) -> Tick:
        """The :class:`Tick` of a frame at ``timestamp`` seconds, after ``dropped_before``
        frames the caller dropped."""
        t = float(timestamp)
        if not (math.isfinite(t) and abs(t) <= MAX_ABS_TIMESTAMP_S):
            raise ConfigError(f"timestamp must be a finite number of seconds with |t| <= {MAX_ABS_TIMESTAMP_S:g} "
                              f"(milli- or nanoseconds?), got {timestamp!r}")
        last = self._last
        if last is not None and t <= last:
            late = LATE_INTERVALS * self._dt if self._dt is not None else self.bridge_s
            if last - t <= late:
                return Tick(t, skip=True)
            self.reset()
            self._last = t
            return Tick(t, reset_reason=RESET_TIME_BACKWARDS)
        jump = False
        if last is not None:
            step, dt = t - last, self._dt
            if dt is not None:
                expected = dt * (1 + max(int(dropped_before), 0))
                jump = self.max_jump_s is not None and step - expected > self.max_jump_s
                if step <= 2.5 * dt:   # a regular step: it teaches the interval (jumps and gaps do not)
                    self._dt = 0.9 * dt + 0.1 * step
            elif step <= self.bridge_s:
                self._dt = step
        self._last = t
        return Tick(t, jump=jump)
