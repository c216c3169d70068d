"""CHROM (de Haan & Jeanne 2013): chrominance signals that cancel specular reflection
under a white-ish illuminant, combined with a ratio of standard deviations, in short
overlapping windows (overlap-add)."""
from __future__ import annotations

import numpy as np

from ...vitals.dsp.filters import bandpass
from ._common import PULSE_BAND_HZ, as_rgb, normalise, overlap_add, window_len


def chrom(rgb: np.ndarray, fs: float, win_s: float = 1.6) -> np.ndarray:
    """CHROM pulse (positive with blood volume).

    ``Xs = 3Rn − 2Gn`` and ``Ys = 1.5Rn + Gn − 1.5Bn`` from colour normalised by its
    mean in each ``win_s`` window (Hann overlap-add), band-passed over the whole clip
    (a 1.6 s window is too short to filter on its own), then per window
    ``S = Xf − (σ(Xf)/σ(Yf))·Yf``, overlap-added again.
    """
    x = as_rgb(rgb, "chrom")
    win = window_len(fs, win_s)

    def xy(seg: np.ndarray) -> np.ndarray:
        n = normalise(seg)
        return np.stack([3 * n[:, 0] - 2 * n[:, 1], 1.5 * n[:, 0] + n[:, 1] - 1.5 * n[:, 2]], axis=1)

    xs = overlap_add(x, win, lambda s: xy(s)[:, 0])
    ys = overlap_add(x, win, lambda s: xy(s)[:, 1])
    xf = bandpass(xs, fs, PULSE_BAND_HZ, order=2)
    yf = bandpass(ys, fs, PULSE_BAND_HZ, order=2)
    xyf = np.stack([xf, yf, np.zeros_like(xf)], axis=1)

    def combine(seg: np.ndarray) -> np.ndarray:
        sy = seg[:, 1].std()
        alpha = seg[:, 0].std() / sy if sy > 1e-12 else 0.0
        return seg[:, 0] - alpha * seg[:, 1]

    return overlap_add(xyf, win, combine)
