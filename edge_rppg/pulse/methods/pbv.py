"""PBV (de Haan & van Leest 2014, "Improved motion robustness of remote-PPG by using
the blood volume pulse signature"): the linear combination of the normalised,
band-passed colour traces whose weights ``w ∝ Pbv^T Q^{-1}`` (Q the colour
covariance) reproduce the known blood-volume signature ``Pbv`` with least energy,
which suppresses any variation that does not share that colour signature.
"""
from __future__ import annotations

import numpy as np

from ._common import PBV_SIGNATURE, as_rgb, inband, normalise, overlap_add, window_len


def _pbv_window(seg: np.ndarray) -> np.ndarray:
    """``seg`` is already normalised and band-passed ``[L, 3]``."""
    q = seg.T @ seg
    q = q + 1e-9 * np.trace(q) * np.eye(3) + 1e-30 * np.eye(3)
    w = np.linalg.solve(q, PBV_SIGNATURE)
    den = float(w @ PBV_SIGNATURE)
    w = w / den if abs(den) > 1e-30 else w
    return -(seg @ w)  # normalised colour falls with blood volume


def pbv(rgb: np.ndarray, fs: float, win_s: float = 1.6) -> np.ndarray:
    """PBV pulse (positive with blood volume), 1.6 s windows, Hann overlap-add."""
    x = as_rgb(rgb, "pbv")
    n = normalise(x)
    n = inband(n, fs) if n.shape[0] >= 3 else n - n.mean(axis=0)
    return overlap_add(n, window_len(fs, win_s), _pbv_window)
