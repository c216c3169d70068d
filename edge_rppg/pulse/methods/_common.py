"""Helpers shared by the classic methods: input checks, temporal normalisation,
windowed overlap-add, and the output polarity convention.

Polarity: every method returns a signal that *rises with blood volume* (the skin
darkens, mostly in green, as blood volume rises), like a contact PPG. The projection
methods have a fixed sign derived from the blood-absorption signature; ICA, whose
components have arbitrary sign, is aligned with the inverted green channel.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ...vitals.dsp.filters import bandpass
from ...errors import ShapeError
from ...vitals.colour import PBV_SIGNATURE

__all__ = ["PULSE_BAND_HZ", "PBV_SIGNATURE", "as_rgb", "normalise", "window_len", "overlap_add", "inband"]

PULSE_BAND_HZ = (0.67, 3.0)


def as_rgb(rgb: np.ndarray, name: str) -> np.ndarray:
    """Validate ``rgb [T, 3]`` (finite, T ≥ 2) and return it as float64."""
    x = np.asarray(rgb)
    if x.ndim != 2 or x.shape[1] != 3:
        raise ShapeError(f"{name}: expected RGB traces of shape [T, 3], got {x.shape}")
    if x.shape[0] < 2:
        raise ShapeError(f"{name}: need at least 2 frames, got {x.shape[0]}")
    x = x.astype(np.float64)
    if not np.isfinite(x).all():
        raise ShapeError(f"{name}: RGB traces contain NaN or inf; fill invalid frames first")
    return x


def normalise(x: np.ndarray) -> np.ndarray:
    """Temporal normalisation ``C / mean(C) - 1`` per channel (zero-safe)."""
    m = x.mean(axis=0, keepdims=True)
    m = np.where(np.abs(m) > 1e-9, m, 1.0)
    return x / m - 1.0


def window_len(fs: float, win_s: float) -> int:
    """Samples in a method window (at least 4)."""
    return max(4, int(np.ceil(win_s * fs)))


def overlap_add(x: np.ndarray, win: int, fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Apply ``fn`` (``[L, ..., 3] → [L, ...]``) to Hann-tapered half-overlapping windows
    along axis 0 and overlap-add.

    With Hann windows at 50 % overlap the tapers sum to a constant, so the output has
    no window-rate ripple; the first and last half windows are normalised by the
    summed taper. A signal shorter than ``win`` is processed as one window. Trailing
    axes between time and colour (e.g. the 63 ROI rows of an MSTmap) ride along, so one
    call processes every row at once.
    """
    n = x.shape[0]
    if n <= win:
        return fn(x)
    hop = max(1, win // 2)
    starts = list(range(0, n - win + 1, hop))
    if starts[-1] != n - win:
        starts.append(n - win)
    taper = np.hanning(win + 2)[1:-1]
    out: np.ndarray = np.zeros(0)
    wsum = np.zeros(n)
    for s in starts:
        seg = fn(x[s:s + win])
        if out.size == 0:
            out = np.zeros((n,) + seg.shape[1:])
            taper = taper.reshape((-1,) + (1,) * (seg.ndim - 1))
        out[s:s + win] += (seg - seg.mean(axis=0)) * taper
        wsum[s:s + win] += taper.reshape(-1)
    return out / np.maximum(wsum, 1e-12).reshape((-1,) + (1,) * (out.ndim - 1))


def inband(x: np.ndarray, fs: float) -> np.ndarray:
    """Band-pass to the pulse band along time (axis 0)."""
    return bandpass(x, fs, PULSE_BAND_HZ, order=2, axis=0)
