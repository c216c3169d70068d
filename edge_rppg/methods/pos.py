"""POS (Wang et al. 2016, "Algorithmic principles of remote PPG"): project the
normalised colour onto the plane orthogonal to the skin tone, then alpha-tune the
two projections, in 1.6 s windows with overlap-add."""
from __future__ import annotations

import numpy as np

from ._common import as_rgb, normalise, overlap_add, window_len

_P = np.array([[0.0, 1.0, -1.0], [-2.0, 1.0, 1.0]])


def _pos_window(seg: np.ndarray) -> np.ndarray:
    s = (normalise(seg) + 1.0) @ _P.T  # Cn = C / mean(C)
    s1, s2 = s[:, 0], s[:, 1]
    sd2 = s2.std()
    h = s1 + (s1.std() / sd2 if sd2 > 1e-12 else 0.0) * s2
    return -(h - h.mean())  # POS's h falls with blood volume; flip to the SDK convention


def pos(rgb: np.ndarray, fs: float, win_s: float = 1.6) -> np.ndarray:
    """POS pulse (positive with blood volume), 1.6 s windows, Hann overlap-add."""
    x = as_rgb(rgb, "pos")
    return overlap_add(x, window_len(fs, win_s), _pos_window)
