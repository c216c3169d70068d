"""Zero-phase Butterworth band-pass and detrending of pulse signals.

rPPG signals carry slow drift (illumination, head pose) and high-frequency noise
(sensor, compression) around the pulse band; a zero-phase filter keeps beat timing
intact, which matters for beat detection and HRV.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Optional, Tuple

import numpy as np
from scipy import signal as sps
from scipy import sparse
from scipy.sparse.linalg import spsolve

from ...errors import ConfigError, ShapeError


@lru_cache(maxsize=64)
def _butter_sos(order: int, lo: float, hi: float, fs: float) -> np.ndarray:
    return sps.butter(order, [lo, hi], btype="bandpass", fs=fs, output="sos")


def _check_band(fs: float, band_hz: Tuple[float, float]) -> Tuple[float, float]:
    if not fs > 0:
        raise ConfigError(f"sampling rate must be > 0 Hz, got {fs}")
    lo, hi = float(band_hz[0]), float(band_hz[1])
    nyq = fs / 2.0
    if not 0.0 < lo < hi:
        raise ConfigError(f"band must be (low, high) with 0 < low < high, got {band_hz}")
    if lo >= nyq:
        raise ConfigError(f"band low edge {lo} Hz is above the Nyquist frequency {nyq} Hz (fs={fs})")
    return lo, min(hi, 0.95 * nyq)


def bandpass(x: np.ndarray, fs: float, band_hz: Tuple[float, float] = (0.67, 3.0), order: int = 2,
             axis: int = -1) -> np.ndarray:
    """Zero-phase Butterworth band-pass (``sosfiltfilt``) of ``x`` along ``axis``.

    The mean is removed first and the signal is padded by odd reflection over up to
    one period of the low cut-off (clipped to the signal length), so short inputs
    (a 1.6 s method window, a 10 s analysis window) get small edge transients rather
    than an exception. Inputs with fewer than 3 samples are returned mean-removed.
    A high edge above 0.95 × Nyquist is clipped. Raises ``ShapeError`` on NaN/inf.
    """
    x = np.asarray(x, dtype=np.float64)
    if not np.isfinite(x).all():
        raise ShapeError("bandpass: input contains NaN or inf; fill or mask invalid samples first")
    lo, hi = _check_band(fs, band_hz)
    x = x - x.mean(axis=axis, keepdims=True)
    n = x.shape[axis]
    if n < 3:
        return x
    sos = _butter_sos(int(order), lo, hi, float(fs))
    padlen = int(min(n - 1, max(3 * (2 * len(sos) + 1), round(fs / lo))))
    return sps.sosfiltfilt(sos, x, axis=axis, padtype="odd", padlen=padlen)


def detrend(x: np.ndarray, lam: Optional[float] = None, axis: int = -1) -> np.ndarray:
    """Remove slow trends from ``x`` along ``axis``.

    ``lam=None``: least-squares linear detrend. ``lam`` given: smoothness-priors
    detrend (Tarvainen et al. 2002), a high-pass whose -3 dB cut-off is about
    ``0.19·fs/√lam`` (measured at 30 Hz: λ = 100 → 0.57 Hz, λ = 300 → 0.33 Hz); it is
    the customary rPPG detrender because it does not ring like an IIR high-pass.
    Raises ``ShapeError`` on NaN/inf.
    """
    x = np.asarray(x, dtype=np.float64)
    if not np.isfinite(x).all():
        raise ShapeError("detrend: input contains NaN or inf; fill or mask invalid samples first")
    if lam is None or x.shape[axis] < 3:
        return sps.detrend(x, axis=axis, type="linear") if x.shape[axis] >= 2 else x - x.mean(axis=axis, keepdims=True)
    n = x.shape[axis]
    d2 = sparse.diags([np.ones(n - 2), -2 * np.ones(n - 2), np.ones(n - 2)], [0, 1, 2], shape=(n - 2, n))
    a = (sparse.identity(n) + float(lam) ** 2 * (d2.T @ d2)).tocsc()
    xm = np.moveaxis(x, axis, 0).reshape(n, -1)
    trend = spsolve(a, xm)
    trend = np.asarray(trend).reshape(xm.shape)
    out = (xm - trend).reshape(np.moveaxis(x, axis, 0).shape)
    return np.moveaxis(out, 0, axis)


def standardise(x: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance (a flat signal is only centred): windows of different
    brightness and engines of different output scale stitch together evenly."""
    x = x - x.mean()
    sd = x.std()
    return x / sd if sd > 1e-12 else x
