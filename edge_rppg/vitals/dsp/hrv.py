"""Heart-rate variability from beat times: LF/HF in normalised units and SDNN/RMSSD.

Table 2 of the Cluster-Phys paper reports LF (n.u.), HF (n.u.) and LF/HF. As there,
LF n.u. = LF / (LF + HF) and HF n.u. = HF / (LF + HF) (so LF n.u. + HF n.u. = 1,
which is why the paper's LF and HF errors are identical), with LF = power of the
IBI series in 0.04–0.15 Hz and HF in 0.15–0.4 Hz (Task Force 1996). The IBI series
is cleaned of artefacts, resampled evenly at 4 Hz (cubic), detrended, and its PSD
is taken with Welch on a zero-padded grid.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Tuple

import numpy as np
from scipy import signal as sps
from scipy.interpolate import CubicSpline

from .peaks import ibi_ms, plausible_ibi_mask

LF_BAND_HZ: Tuple[float, float] = (0.04, 0.15)
HF_BAND_HZ: Tuple[float, float] = (0.15, 0.40)


@dataclass(frozen=True)
class HRV:
    """HRV of one recording; all fields NaN and ``valid=False`` when there were too
    few clean beats or too short a recording for the LF band."""

    lf_nu: float
    hf_nu: float
    lf_hf: float
    sdnn_ms: float
    rmssd_ms: float
    n_beats: int
    valid: bool


def _invalid(n: int) -> HRV:
    nan = math.nan
    return HRV(nan, nan, nan, nan, nan, int(n), False)


def ibi_series(beats_s: np.ndarray, fs_resample: float = 4.0) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cleaned IBIs and their even resampling: ``(ibi_ms_clean, t_grid_s, ibi_grid_ms)``.

    Each IBI is placed at the time of the beat that ends it; implausible IBIs are
    dropped (not interpolated over at the beat level, the spline bridges them).
    """
    b = np.sort(np.asarray(beats_s, dtype=np.float64).ravel())
    ibi = ibi_ms(b)
    keep = plausible_ibi_mask(ibi)
    t, v = b[1:][keep], ibi[keep]
    if v.size < 4:
        return v, np.zeros(0), np.zeros(0)
    grid = np.arange(t[0], t[-1], 1.0 / fs_resample)
    return v, grid, CubicSpline(t, v)(grid)


def hrv_from_beats(beats_s: np.ndarray, fs_resample: float = 4.0, min_beats: int = 20,
                   min_duration_s: float = 30.0) -> HRV:
    """LF/HF (n.u.), SDNN and RMSSD from beat times in seconds.

    min_beats: fewest clean IBIs accepted.
    min_duration_s: shortest IBI series accepted (30 s holds at least one cycle of the
        lowest LF frequency, 0.04 Hz → 25 s; 2–5 min is the clinical standard, so short
        clips give rough LF values).
    SDNN and RMSSD use only plausible IBIs; RMSSD uses successive differences of
    adjacent plausible IBIs only.
    """
    b = np.asarray(beats_s, dtype=np.float64).ravel()
    if b.size < 2:
        return _invalid(b.size)
    ibi_clean, grid, series = ibi_series(b, fs_resample)
    if ibi_clean.size < min_beats or grid.size < 2 or grid[-1] - grid[0] < min_duration_s - 1.0 / fs_resample:
        return _invalid(b.size)
    ibi = ibi_ms(np.sort(b))
    keep = plausible_ibi_mask(ibi)
    both = keep[1:] & keep[:-1]
    d = np.diff(ibi)[both]
    rmssd = float(np.sqrt(np.mean(d ** 2))) if d.size else math.nan
    sdnn = float(np.std(ibi[keep], ddof=1))
    x = sps.detrend(series, type="linear")
    n = x.size
    nperseg = min(n, int(round(120 * fs_resample)))  # 2 min segments, or the whole series
    nfft = max(nperseg, 4096)
    f, p = sps.welch(x, fs=fs_resample, window="hann", nperseg=nperseg, noverlap=nperseg // 2,
                     nfft=nfft, detrend="constant")
    df = f[1] - f[0]
    lf = float(p[(f >= LF_BAND_HZ[0]) & (f < LF_BAND_HZ[1])].sum() * df)
    hf = float(p[(f >= HF_BAND_HZ[0]) & (f < HF_BAND_HZ[1])].sum() * df)
    tot = lf + hf
    if tot <= 0:
        return _invalid(b.size)
    return HRV(lf_nu=lf / tot, hf_nu=hf / tot, lf_hf=lf / hf if hf > 0 else math.inf,
               sdnn_ms=sdnn, rmssd_ms=rmssd, n_beats=int(b.size), valid=True)
