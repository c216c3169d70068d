"""The ``window`` stage: per-frame MSTmap rows → model-rate windows (:class:`WindowStep`).

It resamples rows at arbitrary (increasing) timestamps onto the ``model_fps`` grid, bridges
short face losses and frame gaps, resets on long ones (with the reason), and cuts a
``window``-sample MSTmap every ``hop`` samples for the engine. O(1) amortised per frame,
one fixed ring. Frames whose timestamps do not increase never reach it: the stream clock
(:mod:`edge_rppg.frames.clock`) skips them first.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from ..errors import ConfigError
from ..frames.validation import N_CHANNELS
from ..model_file import MODEL_FPS
from ..stage import RESET_FACE_LOST, RESET_FRAME_GAP, Stage
from .mstmap import N_SUBSETS

__all__ = ["WindowStep", "WindowStage", "DEFAULT_CLASSIC_WINDOW", "MAX_WINDOW"]

#: Window (samples) for engines without a fixed T (classic methods): 10 s at 30 Hz.
DEFAULT_CLASSIC_WINDOW = 300
#: Largest window the stage allocates a ring for (10 min at 30 Hz, ~27 MB): a bigger one is a unit mistake.
MAX_WINDOW = 18_000
#: Largest model rate (samples/s) the grid accepts.
MAX_MODEL_FPS = 1000.0
#: Largest bridge (s); together with ``MAX_MODEL_FPS`` it bounds the samples one frame can emit.
MAX_BRIDGE_S = 60.0


@dataclass(frozen=True)
class WindowStep:
    """What the ``window`` stage did with one frame.

    samples: grid samples since the last restart (the end of ``window``, when there is one).
    fill: fraction of the first window collected (1.0 once windows can flow).
    reset_reason: the window restarted on this frame, and why (``face_lost``, ``frame_gap``).
    window: ``[T, 63, 6]`` float32 MSTmap when one is due, else None; valid: its ``[T]``
        real-face samples (False where bridged).
    """

    samples: int
    fill: float
    reset_reason: Optional[str] = None
    window: Optional[np.ndarray] = None
    valid: Optional[np.ndarray] = None


class WindowStage(Stage):
    """Resample per-frame rows to the model rate and cut ``window``-sample windows every ``hop``.

    Irregular input timestamps are linearly interpolated onto a uniform ``1/fps`` grid
    (streaming: each input emits the grid points up to its time, O(1) amortised).
    A face lost for at most ``bridge_s`` seconds, or a gap in the timestamps (dropped
    frames) of at most ``bridge_s``, is bridged by interpolating between the last row
    before and the first row after it (those samples are marked not valid); a longer
    loss or gap resets the window (:attr:`WindowStep.reset_reason`: ``face_lost``,
    ``frame_gap``). Entries of a row that are NaN (an ROI with no pixels) are held at their
    last finite value. ``window(timestamp, row) -> WindowStep``; ``row`` None = no face.

    The first window is emitted when ``window`` samples have been collected, then one every
    ``hop`` samples (at most one per input frame). Memory: one ``[window, 63, channels]``
    ring (``channels``: 6 for colour, 1 for a gray stream).
    """

    name = "window"

    def __init__(self, window: int = DEFAULT_CLASSIC_WINDOW, hop: Optional[int] = None,
                 model_fps: float = MODEL_FPS, engine_hop_s: float = 1.0, bridge_s: float = 0.5,
                 channels: int = N_CHANNELS) -> None:
        super().__init__()
        if not 2 <= int(window) <= MAX_WINDOW:
            raise ConfigError(f"window must be between 2 and {MAX_WINDOW} samples, got {window}")
        if not 0 < model_fps <= MAX_MODEL_FPS:
            raise ConfigError(f"model_fps must be in (0, {MAX_MODEL_FPS:g}] Hz, got {model_fps}")
        if hop is None and not 0 < engine_hop_s <= MAX_WINDOW / model_fps:
            raise ConfigError(f"engine_hop_s must be in (0, {MAX_WINDOW / model_fps:g}] s, got {engine_hop_s}")
        self.window = int(window)
        self.model_fps = float(model_fps)
        self.hop = int(hop) if hop is not None else max(1, int(round(engine_hop_s * model_fps)))
        if not 1 <= self.hop <= self.window:
            raise ConfigError(f"hop must be between 1 and window={self.window} samples, got {self.hop}")
        if not 0 <= bridge_s <= MAX_BRIDGE_S:
            raise ConfigError(f"bridge_s must be between 0 and {MAX_BRIDGE_S:g} s, got {bridge_s}")
        self.bridge_s = float(bridge_s)
        self._ring = np.zeros((self.window, N_SUBSETS, int(channels)), dtype=np.float32)
        self._valid = np.zeros(self.window, dtype=bool)
        self.reset()

    def reset(self) -> None:
        self._n = 0                      # grid samples written since the last reset
        self._since = 0                  # samples since the last emitted window
        self._anchor_t: Optional[float] = None   # time of the last good row
        self._anchor: Optional[np.ndarray] = None  # last good row (float64)
        self._next_t = 0.0               # time of the next grid sample
        self._t0 = 0.0                   # time of grid sample 0
        self._last_t: Optional[float] = None     # time of the last input frame
        self._missing = False            # face missing since the anchor
        self._last_finite: Optional[np.ndarray] = None
        self._dt: Optional[float] = None   # typical input frame interval (EMA)

    # -- helpers
    def _push_sample(self, row: np.ndarray, valid: bool) -> None:
        i = self._n % self.window
        self._ring[i] = row
        self._valid[i] = valid
        self._n += 1
        self._since += 1

    def _ordered(self) -> Tuple[np.ndarray, np.ndarray]:
        i = self._n % self.window
        if i == 0:
            return self._ring.copy(), self._valid.copy()
        return (np.concatenate([self._ring[i:], self._ring[:i]]),
                np.concatenate([self._valid[i:], self._valid[:i]]))

    def _clean(self, row: np.ndarray) -> Optional[np.ndarray]:
        r = np.asarray(row, dtype=np.float64)
        finite = np.isfinite(r)
        if finite.all():
            self._last_finite = r
            return r
        if not finite.any():
            return None
        fill = self._last_finite if self._last_finite is not None else \
            np.broadcast_to(np.nanmean(np.where(finite, r, np.nan), axis=0), r.shape)
        r = np.where(finite, r, fill)
        self._last_finite = r
        return r

    # -- main
    def run(self, timestamp: float, row: Optional[np.ndarray]) -> WindowStep:  # type: ignore[override]
        t = float(timestamp)
        if self._last_t is not None and not t > self._last_t:
            raise ConfigError(f"the window stage needs increasing timestamps (got {t} after {self._last_t}); "
                              f"the stream clock skips the others")
        prev_t = self._last_t
        self._last_t = t
        if prev_t is not None and t - prev_t <= self.bridge_s:
            step = t - prev_t
            self._dt = step if self._dt is None else 0.9 * self._dt + 0.1 * min(step, 2.0 * self._dt)
        reason: Optional[str] = None
        clean = None if row is None else self._clean(row)
        if clean is None:
            if self._anchor_t is not None:
                self._missing = True
                if t - self._anchor_t > self.bridge_s:
                    reason = RESET_FACE_LOST
                    self.reset()
                    self._last_t = t
        elif self._anchor_t is not None and t - self._anchor_t > self.bridge_s:
            reason = RESET_FACE_LOST if self._missing else RESET_FRAME_GAP
            self.reset()
            self._last_t = t
            self._start(t, clean)
        elif self._anchor_t is None:
            self._start(t, clean)
        else:
            gap = prev_t is not None and self._dt is not None and t - prev_t > 2.5 * self._dt
            self._emit_until(t, clean, bridged=self._missing or gap)
            self._anchor, self._anchor_t, self._missing = clean, t, False
        window = valid = None
        if self._n >= self.window and self._since >= self.hop:
            window, valid = self._ordered()
            self._since = 0
        return WindowStep(samples=self._n, fill=min(1.0, self._n / self.window), reset_reason=reason,
                          window=window, valid=valid)

    def _start(self, t: float, row: np.ndarray) -> None:
        """First good row after a (re)start: it is grid sample 0."""
        self._anchor, self._anchor_t, self._missing = row, t, False
        self._t0 = t
        self._next_t = t
        self._emit_until(t, row, bridged=False)

    def _emit_until(self, t: float, row: np.ndarray, bridged: bool) -> None:
        """Emit the grid samples with time <= ``t``, linearly interpolated between the
        anchor (last good row) and ``row``; ``bridged`` marks them not valid (except one
        within half a sample of ``t``)."""
        a_t, a = self._anchor_t, self._anchor
        dt = 1.0 / self.model_fps
        # a counted loop, so it provably ends: the grid samples up to t (with the 1e-9 s slack
        # of the former ``while next_t <= t``), at most one bridge plus one window of them
        due = math.floor((t + 1e-9 - self._t0) * self.model_fps) + 2 - self._n  # +1 spare for rounding
        cap = int(math.ceil(self.bridge_s * self.model_fps)) + self.window + 2
        for _ in range(max(0, min(due, cap))):
            g = self._next_t
            if g > t + 1e-9:
                break
            if a_t is None or a is None or t - a_t <= 1e-12:
                value = row
            else:
                w = min(max((g - a_t) / (t - a_t), 0.0), 1.0)
                value = a + (row - a) * w
            # inside a bridged gap only the sample next to the new real row counts as valid
            self._push_sample(value, not bridged or t - g < 0.5 * dt)
            self._next_t = self._t0 + self._n * dt  # from the index: no drift over days
