"""POS (Wang et al. 2016, "Algorithmic principles of remote PPG"): project the
normalised colour onto the plane orthogonal to the skin tone, then alpha-tune the
two projections, in 1.6 s windows with overlap-add."""
from __future__ import annotations

import numpy as np

from ...errors import ShapeError
from ._common import as_rgb, normalise, overlap_add, window_len

_P = np.array([[0.0, 1.0, -1.0], [-2.0, 1.0, 1.0]])


def _pos_window(seg: np.ndarray) -> np.ndarray:
    """POS on one window ``[L, ..., 3]`` → ``[L, ...]`` (every trailing row at once)."""
    s = (normalise(seg) + 1.0) @ _P.T  # Cn = C / mean(C)
    s1, s2 = s[..., 0], s[..., 1]
    sd2 = s2.std(axis=0)
    alpha = np.where(sd2 > 1e-12, s1.std(axis=0) / np.where(sd2 > 1e-12, sd2, 1.0), 0.0)
    h = s1 + alpha * s2
    return -(h - h.mean(axis=0))  # POS's h falls with blood volume; flip to the SDK convention


def pos(rgb: np.ndarray, fs: float, win_s: float = 1.6) -> np.ndarray:
    """POS pulse (positive with blood volume), 1.6 s windows, Hann overlap-add."""
    x = as_rgb(rgb, "pos")
    return overlap_add(x, window_len(fs, win_s), _pos_window)


def pos_rows(rgb: np.ndarray, fs: float, win_s: float = 1.6) -> np.ndarray:
    """POS on many traces at once: ``rgb [T, R, 3]`` (finite) → ``[T, R]``, row ``r`` equal
    to ``pos(rgb[:, r], fs)``. Used by the ``acdc_pos`` window normalisation, which gives a
    model the POS pulse of every ROI row."""
    x = np.asarray(rgb, dtype=np.float64)
    if x.ndim != 3 or x.shape[2] != 3 or x.shape[0] < 2:
        raise ShapeError(f"pos_rows: expected RGB traces of shape [T, R, 3] with T >= 2, got {x.shape}")
    return overlap_add(x, window_len(fs, win_s), _pos_window)
