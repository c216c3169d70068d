"""Beat detection on a pulse signal and inter-beat intervals (IBI).

HR variability and the interval-based respiration estimate need individual beats.
Peaks are searched in a band-passed copy around the heart rate (0.5× to 2.5× the
HR, robust against noise and dicrotic waves), with a minimum distance derived from
the HR and an adaptive prominence; each is then moved to the maximum of a wide-band
copy (up to the 4th harmonic, so the sharp systolic peak is less delayed by
smoothing) and refined to sub-sample timing by parabolic interpolation (at 30 fps
one frame is 33 ms, too coarse for RMSSD). The refinement band trades bias for
jitter: measured on synthetic 60 s clips, beats of the clean pulse come out
~19 ms late (3× HR: 31 ms, 8×: 10 ms) while beats of a noisy POS signal jitter by
~32 ms (3×: 25 ms, 8×: 40 ms). A constant delay does not affect IBIs or HRV.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from scipy import signal as sps
from scipy.ndimage import median_filter

from .config import SignalConfig
from .filters import bandpass
from .hr import hr_from_psd

IBI_MIN_MS = 333.0  # 180 bpm
IBI_MAX_MS = 1500.0  # 40 bpm
REFINE_HARMONICS = 4.0  # upper edge of the peak-refinement band, in multiples of the HR (see detect_beats)


def _fill_nonfinite(x: np.ndarray) -> np.ndarray:
    ok = np.isfinite(x)
    if ok.all() or ok.sum() < 2:
        return x if ok.all() else np.zeros(0)
    t = np.arange(x.size)
    return np.interp(t, t[ok], x[ok])


def detect_beats(bvp: np.ndarray, fs: float, hr_hint_bpm: Optional[float] = None,
                 min_distance_frac: float = 0.6, prominence_frac: float = 0.3) -> np.ndarray:
    """Times (s) of the systolic peaks of ``bvp``, sorted, sub-sample refined.

    hr_hint_bpm: expected HR; estimated with :func:`hr_from_psd` when None. Without a
        usable HR (flat or too short signal) the result is empty.
    min_distance_frac: peaks closer than this fraction of the mean period are merged
        (0.6 tolerates 40 % shorter beats than average and rejects dicrotic waves).
    prominence_frac: a peak needs at least this fraction of the median prominence of
        all candidate peaks (rejects small noise bumps while adapting to amplitude).
    NaN samples are interpolated.
    """
    x = _fill_nonfinite(np.asarray(bvp, dtype=np.float64).ravel())
    if x.size < 8 or np.ptp(x) <= 0:
        return np.zeros(0)
    hr = hr_hint_bpm
    if hr is None or not np.isfinite(hr) or hr <= 0:
        hr = hr_from_psd(x, fs, SignalConfig()).hr_bpm
        if not np.isfinite(hr):
            return np.zeros(0)
    f_hr = float(hr) / 60.0
    band = (max(0.3, 0.5 * f_hr), min(0.45 * fs, 2.5 * f_hr))
    y = bandpass(x, fs, band, order=2)
    dist = max(1, int(min_distance_frac * fs / f_hr))
    idx, props = sps.find_peaks(y, distance=dist, prominence=0.0)
    if idx.size == 0:
        return np.zeros(0)
    prom = props["prominences"]
    idx = idx[prom >= prominence_frac * np.median(prom)]
    # The narrow band that makes detection robust also rounds the asymmetric pulse and
    # delays its peak (~30 ms); move each peak to the maximum of a wider-band copy
    # within ±15 % of a period, then refine it parabolically.
    z = bandpass(x, fs, (band[0], min(0.45 * fs, REFINE_HARMONICS * f_hr)), order=2)
    half = max(1, int(0.15 * fs / f_hr))
    n = z.size
    lo = np.clip(idx - half, 1, n - 2)
    hi = np.clip(idx + half, 1, n - 2)
    idx = np.array([a + int(np.argmax(z[a:b + 1])) for a, b in zip(lo, hi)], dtype=int)
    idx = np.unique(idx)
    a, b, c = z[idx - 1], z[idx], z[idx + 1]
    den = a - 2 * b + c
    off = np.where(den < 0, 0.5 * (a - c) / np.where(den < 0, den, -1.0), 0.0)
    return (idx + np.clip(off, -0.5, 0.5)) / fs


def ibi_ms(beats: np.ndarray) -> np.ndarray:
    """Inter-beat intervals in milliseconds (``len(beats) - 1`` values)."""
    b = np.asarray(beats, dtype=np.float64).ravel()
    return np.diff(b) * 1000.0 if b.size > 1 else np.zeros(0)


def plausible_ibi_mask(ibi: np.ndarray, lo_ms: float = IBI_MIN_MS, hi_ms: float = IBI_MAX_MS,
                       max_rel_dev: float = 0.3, context: int = 5) -> np.ndarray:
    """Boolean mask of IBIs that are physiologically plausible.

    An IBI is rejected when outside ``[lo_ms, hi_ms]`` or when it deviates by more
    than ``max_rel_dev`` from the median of its ``2·context+1`` neighbours (a missed
    beat doubles an interval, a false beat splits one).
    """
    ibi = np.asarray(ibi, dtype=np.float64).ravel()
    if ibi.size == 0:
        return np.zeros(0, dtype=bool)
    in_range = (ibi >= lo_ms) & (ibi <= hi_ms)
    ref = median_filter(ibi, size=min(2 * context + 1, max(1, ibi.size)), mode="nearest")
    return in_range & (np.abs(ibi - ref) <= max_rel_dev * ref)


def hr_from_beats(beats: np.ndarray) -> float:
    """HR (bpm) by beat counting: 60 000 / mean of the plausible IBIs (NaN if none)."""
    ibi = ibi_ms(beats)
    keep = plausible_ibi_mask(ibi)
    return float(60000.0 / ibi[keep].mean()) if keep.any() else float("nan")
