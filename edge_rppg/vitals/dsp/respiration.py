"""Respiration rate from the respiratory modulation of the pulse signal.

Breathing modulates the pulse three ways (Charlton et al. 2016): the baseline
(respiratory-induced intensity variation, RIIV), the beat amplitude (RIAV) and the
beat intervals (respiratory sinus arrhythmia, RIFV). Each is turned into an evenly
sampled 4 Hz series, its normalised power spectrum in the respiration band
(0.1–0.5 Hz, 6–30 breaths/min) is computed, and the spectra are averaged (spectral
fusion), so that whichever modulation is strongest in a given recording dominates.
The peak of the fused spectrum is the respiration frequency.
"""
from __future__ import annotations

import math
from typing import Dict, Optional, Tuple

import numpy as np
from scipy import signal as sps
from scipy.interpolate import interp1d

from .filters import bandpass
from .hr import psd
from .peaks import _fill_nonfinite, detect_beats, ibi_ms, plausible_ibi_mask

RESP_BAND_HZ: Tuple[float, float] = (0.1, 0.5)
_FS_R = 4.0


def _lowpass(x: np.ndarray, fs: float, fc: float) -> np.ndarray:
    sos = sps.butter(2, fc, btype="lowpass", fs=fs, output="sos")
    return sps.sosfiltfilt(sos, x - x.mean(), padlen=min(x.size - 1, int(fs / fc)))


def _on_grid(t: np.ndarray, v: np.ndarray, grid: np.ndarray) -> Optional[np.ndarray]:
    if t.size < 4:
        return None
    return interp1d(t, v, kind="cubic", bounds_error=False, fill_value=(v[0], v[-1]))(grid)


def modulation_series(bvp: np.ndarray, fs: float, beats: np.ndarray) -> Tuple[np.ndarray, Dict[str, np.ndarray]]:
    """The three respiratory modulation series on a 4 Hz grid spanning the beats:
    ``(grid_s, {"riiv": ..., "riav": ..., "rifv": ...})`` (a series is left out when
    fewer than 4 usable beats support it)."""
    x = np.asarray(bvp, dtype=np.float64)
    beats = np.sort(np.asarray(beats, dtype=np.float64))
    grid = np.arange(beats[0], beats[-1], 1.0 / _FS_R)
    out: Dict[str, np.ndarray] = {}
    t = np.arange(x.size) / fs
    if x.size > 3 * int(fs / 0.6):
        out["riiv"] = np.interp(grid, t, _lowpass(x, fs, 0.6))
    y = bandpass(x, fs, (0.6, min(4.0, 0.45 * fs)), order=2)
    idx = np.clip(np.round(beats * fs).astype(int), 0, x.size - 1)
    amp = np.array([y[b] - y[a:b + 1].min() for a, b in zip(idx[:-1], idx[1:])])
    s = _on_grid(beats[1:], amp, grid)
    if s is not None:
        out["riav"] = s
    ibi = ibi_ms(beats)
    keep = plausible_ibi_mask(ibi)
    s = _on_grid(beats[1:][keep], ibi[keep], grid)
    if s is not None:
        out["rifv"] = s
    return grid, out


def respiration_rate_hz(bvp: np.ndarray, fs: float, beats: Optional[np.ndarray] = None,
                        band_hz: Tuple[float, float] = RESP_BAND_HZ) -> Tuple[float, float]:
    """Respiration frequency (Hz) and its quality (SNR in dB of the fused spectrum:
    power within ±0.05 Hz of the peak against the rest of ``band_hz``).

    ``bvp`` should be the pulse signal before band-pass filtering (the baseline
    carries RIIV); ``beats`` (s) are detected when not given. Returns ``(nan, nan)``
    when fewer than 5 beats or less than one period of the lowest band frequency
    (10 s at 0.1 Hz) is available. Short clips get rough values: the spectral
    resolution is about 1/duration (0.08 Hz for a 12 s clip), so expect errors of
    several hundredths of a Hz there; 30 s or more is needed for ±0.02 Hz.
    """
    x = _fill_nonfinite(np.asarray(bvp, dtype=np.float64).ravel())
    nan = (math.nan, math.nan)
    if x.size < 8 or np.ptp(x) <= 0:
        return nan
    b = detect_beats(x, fs) if beats is None else np.asarray(beats, dtype=np.float64).ravel()
    if b.size < 5 or b.max() - b.min() < 1.0 / band_hz[0]:
        return nan
    grid, series = modulation_series(x, fs, b)
    if not series or grid.size < 8:
        return nan
    fused = None
    for s in series.values():
        s = sps.detrend(s, type="linear")
        if np.ptp(s) <= 0:
            continue
        f, p = psd(s, _FS_R, res_bpm=0.1)
        m = (f >= band_hz[0]) & (f <= band_hz[1])
        tot = p[m].sum()
        if tot <= 0:
            continue
        pn = p / tot
        fused = pn if fused is None else fused + pn
    if fused is None:
        return nan
    idx = np.flatnonzero((f >= band_hz[0]) & (f <= band_hz[1]))
    k = int(idx[np.argmax(fused[idx])])
    rf = float(f[k])
    return rf, _peak_snr_db(f, fused, rf, band_hz)


def _peak_snr_db(f: np.ndarray, p: np.ndarray, f0: float, band_hz: Tuple[float, float], hw: float = 0.05) -> float:
    """Power within ± ``hw`` Hz of ``f0`` against the rest of ``band_hz`` (dB); respiration
    has no useful harmonic inside its band, so unlike the HR SNR none is counted."""
    m = (f >= band_hz[0]) & (f <= band_hz[1])
    sig = m & (np.abs(f - f0) <= hw)
    return 10.0 * math.log10((p[sig].sum() + 1e-30) / (p[m & ~sig].sum() + 1e-30))
