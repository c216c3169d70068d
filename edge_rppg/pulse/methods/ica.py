"""ICA (Poh et al. 2010): blind source separation of the three colour traces; the
pulse is the independent component with the strongest in-band spectral peak.

The unmixing is a symmetric FastICA (log-cosh contrast) on whitened, detrended and
normalised traces, started from a fixed seed so results are deterministic.
"""
from __future__ import annotations

import numpy as np

from ...vitals.dsp.filters import detrend
from ._common import PULSE_BAND_HZ, as_rgb, inband, normalise

_SEED = 0


def _sym_decorrelate(w: np.ndarray) -> np.ndarray:
    s, u = np.linalg.eigh(w @ w.T)
    s = np.clip(s, 1e-12, None)
    return (u * (1.0 / np.sqrt(s))) @ u.T @ w


def fastica(x: np.ndarray, seed: int = _SEED, max_iter: int = 200, tol: float = 1e-6) -> np.ndarray:
    """Independent components ``[T, k]`` of ``x [T, k]`` (symmetric FastICA, log-cosh)."""
    xc = x - x.mean(axis=0)
    cov = np.cov(xc, rowvar=False)
    d, e = np.linalg.eigh(cov)
    keep = d > 1e-12 * max(d.max(), 1e-300)
    if not keep.any():
        return np.zeros_like(xc)
    wht = (e[:, keep] / np.sqrt(d[keep])).T  # whitening [k', k]
    z = xc @ wht.T  # [T, k']
    k = z.shape[1]
    w = _sym_decorrelate(np.random.default_rng(seed).standard_normal((k, k)))
    for _ in range(max_iter):
        y = z @ w.T
        g = np.tanh(y)
        gp = 1.0 - g ** 2
        w_new = _sym_decorrelate((g.T @ z) / z.shape[0] - gp.mean(axis=0)[:, None] * w)
        converged = np.max(np.abs(np.abs(np.einsum("ij,ij->i", w_new, w)) - 1.0)) < tol
        w = w_new
        if converged:
            break
    return z @ w.T


def _peak_ratio(s: np.ndarray, fs: float) -> float:
    """Fraction of total power in the strongest in-band spectral bin."""
    p = np.abs(np.fft.rfft(s - s.mean(), n=max(1024, 4 * s.size))) ** 2
    f = np.fft.rfftfreq(max(1024, 4 * s.size), 1.0 / fs)
    m = (f >= PULSE_BAND_HZ[0]) & (f <= PULSE_BAND_HZ[1])
    tot = p.sum()
    return float(p[m].max() / tot) if tot > 0 and m.any() else 0.0


def ica(rgb: np.ndarray, fs: float) -> np.ndarray:
    """ICA pulse: the component with the strongest in-band peak, signed to correlate
    with the inverted green channel in the pulse band (positive with blood volume)."""
    x = as_rgb(rgb, "ica")
    n = normalise(x)
    n = detrend(n, axis=0) if n.shape[0] >= 3 else n
    sd = n.std(axis=0)
    n = n / np.where(sd > 1e-12, sd, 1.0)
    comps = fastica(n)
    if comps.shape[0] > 8:
        comps_f = inband(comps, fs)
    else:
        comps_f = comps
    best = int(np.argmax([_peak_ratio(comps_f[:, i], fs) for i in range(comps_f.shape[1])]))
    s = comps[:, best]
    # the sign is set in the pulse band: a slow drift shared with green would otherwise decide it
    sf, ref = (comps_f[:, best], -inband(n[:, 1:2], fs)[:, 0]) if comps.shape[0] > 8 else (s, -n[:, 1])
    return s if np.dot(sf - sf.mean(), ref - ref.mean()) >= 0 else -s
