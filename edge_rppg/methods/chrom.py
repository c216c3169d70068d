"""CHROM (de Haan & Jeanne 2013): chrominance signals that cancel specular reflection
under a white-ish illuminant, combined with a ratio of standard deviations, in short
overlapping windows (overlap-add)."""
from __future__ import annotations

import numpy as np

from ..dsp.filters import bandpass
from ._common import PULSE_BAND_HZ, as_rgb, normalise, overlap_add, window_len


def chrom(rgb: np.ndarray, fs: float, win_s: float = 1.6) -> np.ndarray:
    """CHROM pulse. Per window: ``Xs = 3Rn − 2Gn``, ``Ys = 1.5Rn + Gn − 1.5Bn``, both
    band-passed over the whole clip first (as in the paper, the window is too short
    to filter on its own), ``S = Xf − (σ(Xf)/σ(Yf))·Yf``; Hann overlap-add.
    Positive with blood volume."""
    x = as_rgb(rgb, "chrom")
    win = window_len(fs, win_s)

    def xy(seg: np.ndarray) -> np.ndarray:
        n = normalise(seg)
        return np.stack([3 * n[:, 0] - 2 * n[:, 1], 1.5 * n[:, 0] + n[:, 1] - 1.5 * n[:, 2]], axis=1)

    # chrominance per window is obtained by overlap-adding the per-window normalised
    # X/Y (two channels); then the whole-clip band-pass; then alpha per window.
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
