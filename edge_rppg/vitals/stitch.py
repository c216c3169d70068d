"""Window pulses → one pulse signal: :class:`OverlapAdd` (streaming, bounded history).

Each window pulse is standardised (:func:`edge_rppg.vitals.dsp.filters.standardise`) and
overlap-added with a Hann taper (:func:`hann_taper`), so windows of different brightness
and engines of different output scale stitch together evenly. A stream pushes each window
as it comes (:class:`edge_rppg.vitals.stage.VitalsStage`); a whole clip pushes all of them
in order (:func:`edge_rppg.pulse.windows.infer_clip`), so the two stitch bit-identically.
"""
from __future__ import annotations

from collections import deque
from typing import Deque, Optional, Tuple

import numpy as np

from .dsp.filters import standardise

__all__ = ["hann_taper", "OverlapAdd"]


def hann_taper(T: int) -> np.ndarray:
    """The ``T``-sample Hann taper without its zero end points (every sample weighs > 0)."""
    return np.hanning(T + 2)[1:-1]


class OverlapAdd:
    """Hann-tapered overlap-add of standardised window pulses into one signal.

    :meth:`push` adds a window ``y [T]`` that ends at grid sample ``end``; samples that no
    later window can reach (before the newest window's start) move into the history
    (``history`` samples at most; None keeps all). :meth:`signal` is the history plus the
    pending overlap, each sample divided by its summed taper weight. Validity per sample
    follows the newest window covering it.
    """

    def __init__(self, history: Optional[int] = None) -> None:
        self.history = history
        self.reset()

    def reset(self) -> None:
        """Forget everything (a new stream)."""
        self._hist: Deque[float] = deque(maxlen=self.history)
        self._hist_valid: Deque[bool] = deque(maxlen=self.history)
        self._acc: Optional[np.ndarray] = None
        self._wacc = np.zeros(0)
        self._acc_valid = np.zeros(0, dtype=bool)
        self._acc_start = 0

    @property
    def empty(self) -> bool:
        """No window pushed since the last reset."""
        return self._acc is None

    def push(self, y: np.ndarray, valid: np.ndarray, end: int) -> None:
        """Add window pulse ``y [T]`` (validity ``valid [T]``) covering samples ``[end - T, end)``."""
        T = int(y.shape[0])
        start = int(end) - T
        taper = hann_taper(T)
        if self._acc is None or self._acc.shape[0] != T:
            self._acc, self._wacc = np.zeros(T), np.zeros(T)
            self._acc_valid = np.ones(T, dtype=bool)
            self._acc_start = start
        shift = start - self._acc_start
        if shift > 0:
            k = min(shift, T)
            done = self._acc[:k] / np.maximum(self._wacc[:k], 1e-12)
            self._hist.extend(done.tolist())
            self._hist_valid.extend(self._acc_valid[:k].tolist())
            self._acc = np.concatenate([self._acc[k:], np.zeros(k)])
            self._wacc = np.concatenate([self._wacc[k:], np.zeros(k)])
            self._acc_valid = np.concatenate([self._acc_valid[k:], np.ones(k, dtype=bool)])
            self._acc_start = start
        self._acc += standardise(np.asarray(y, dtype=np.float64)) * taper
        self._wacc += taper
        self._acc_valid = np.asarray(valid, dtype=bool).copy()

    def signal(self) -> Tuple[np.ndarray, np.ndarray]:
        """``(pulse float64, valid bool)``: history plus the pending overlap (bounded by ``history``)."""
        if self._acc is None:
            return np.zeros(0), np.zeros(0, dtype=bool)
        tail = self._acc / np.maximum(self._wacc, 1e-12)
        x = np.concatenate([np.fromiter(self._hist, dtype=np.float64, count=len(self._hist)), tail])
        v = np.concatenate([np.fromiter(self._hist_valid, dtype=bool, count=len(self._hist_valid)),
                            self._acc_valid])
        if self.history is not None:
            return x[-self.history:], v[-self.history:]
        return x, v
