"""Heart rate from the power spectrum of a pulse signal, per window and per video.

Following §4.1 of the Cluster-Phys paper: band-pass (Butterworth), Welch PSD, the
peak frequency inside the band is the HR of a segment, and the video HR is the mean
of the segment HRs. Each reading carries a spectral SNR (de Haan & Jeanne 2013:
power at the fundamental ± 0.1 Hz and its first harmonic against the rest of the
band) so that noise is reported as "not valid" instead of as a number. A harmonic
guard (:attr:`SignalConfig.harmonic_ratio`) reads the pulse at half the highest peak's
rate when a real peak sits there: a second harmonic that outgrows its fundamental in one
window would otherwise read as twice the heart rate.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np
from scipy import signal as sps

from ...errors import ClipTooShortError, ShapeError
from .config import SignalConfig
from .filters import bandpass

_EPS = 1e-30


@dataclass(frozen=True)
class HRReading:
    """One heart-rate estimate.

    hr_bpm: peak frequency × 60 (NaN when nothing could be computed).
    quality: spectral SNR of the peak in dB (NaN when nothing could be computed).
    valid: quality ≥ ``SignalConfig.min_snr_db`` and the peak is a real local maximum
        inside the band (not the band edge).
    peak_hz: peak frequency in Hz (interpolated).
    """

    hr_bpm: float
    quality: float
    valid: bool
    peak_hz: float

    @property
    def quality_snr_db(self) -> float:
        """Alias of ``quality`` (the SNR in dB)."""
        return self.quality


@dataclass(frozen=True)
class WindowHR:
    """HR of one analysis window ``[t_start, t_end)`` in seconds; ``hr_bpm`` is NaN when
    the window had too many invalid frames, otherwise the HR whether valid or not.
    ``invalid_reason``: None when ``valid``, else why not (``coverage``, ``no_peak``,
    ``low_quality`` here; the clip path adds ``artefact`` and ``steady_run``)."""

    t_start: float
    t_end: float
    hr_bpm: float
    quality: float
    valid: bool
    invalid_reason: Optional[str] = None


_INVALID = HRReading(hr_bpm=math.nan, quality=math.nan, valid=False, peak_hz=math.nan)


def psd(x: np.ndarray, fs: float, nperseg: Optional[int] = None, res_bpm: float = 0.1,
        overlap: float = 0.5, window: str = "hann", axis: int = -1) -> Tuple[np.ndarray, np.ndarray]:
    """Welch power spectral density of ``x`` on a zero-padded grid of ≤ ``res_bpm``.

    ``nperseg`` defaults to the whole signal (one Hann-windowed periodogram). The FFT
    length is the next power of two ≥ ``fs·60/res_bpm`` so that neighbouring bins are
    at most ``res_bpm`` apart (zero padding interpolates the spectrum; it does not add
    resolution, the segment length sets that). ``x`` is one signal ``[T]`` or several
    along ``axis`` (one FFT call for all of them: the artefact gate reads six series per
    window). Returns ``(freqs_hz, power)``, ``power`` with ``axis`` replaced by frequency.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim < 1:
        raise ShapeError(f"psd: expected a signal [T] (or several along `axis`), got shape {x.shape}")
    n = x.shape[axis]
    if n < 2:
        raise ShapeError(f"psd: need at least 2 samples, got {n}")
    seg = n if nperseg is None else int(max(2, min(nperseg, n)))
    need = int(math.ceil(fs * 60.0 / res_bpm))
    nfft = max(seg, 1 << (need - 1).bit_length())
    f, p = sps.welch(x, fs=fs, window=window, nperseg=seg, noverlap=int(overlap * seg), nfft=nfft,
                     detrend="constant", scaling="density", axis=axis)
    return f, p


def _parabolic(p: np.ndarray, i: int) -> float:
    """Offset (in bins, within ±0.5) of the vertex of the parabola through p[i-1..i+1]."""
    if i <= 0 or i >= len(p) - 1:
        return 0.0
    a, b, c = p[i - 1], p[i], p[i + 1]
    den = a - 2 * b + c
    if den >= 0:
        return 0.0
    return float(np.clip(0.5 * (a - c) / den, -0.5, 0.5))


def spectral_snr_db(f: np.ndarray, p: np.ndarray, f0: float, band_hz: Tuple[float, float],
                    halfwidth_hz: float = 0.1) -> float:
    """SNR (dB) of the pulse at ``f0``: power within ± ``halfwidth_hz`` of ``f0`` and of
    ``2·f0`` against the remaining power inside ``band_hz`` (harmonic bins count only
    where they fall inside the band)."""
    inband = (f >= band_hz[0]) & (f <= band_hz[1])
    sig = inband & ((np.abs(f - f0) <= halfwidth_hz) | (np.abs(f - 2 * f0) <= halfwidth_hz))
    s = float(p[sig].sum())
    nz = float(p[inband & ~sig].sum())
    return 10.0 * math.log10((s + _EPS) / (nz + _EPS))


def _fundamental(f: np.ndarray, p: np.ndarray, k: int, ratio: float, halfwidth_hz: float) -> int:
    """Index of the pulse's fundamental given the highest in-band bin ``k`` of the in-band
    spectrum ``(f, p)``: the highest bin within ± ``halfwidth_hz`` of ``f[k]/2`` when it is
    a local maximum (not the band edge) with at least ``ratio`` of ``p[k]``, else ``k``
    (:attr:`SignalConfig.harmonic_ratio`)."""
    near = np.flatnonzero(np.abs(f - 0.5 * f[k]) <= halfwidth_hz)
    if near.size == 0:
        return k
    j = int(near[np.argmax(p[near])])
    if 0 < j < p.size - 1 and p[j] >= p[j - 1] and p[j] >= p[j + 1] and p[j] >= ratio * p[k]:
        return j
    return k


def hr_from_psd(bvp: np.ndarray, fs: float, cfg: Optional[SignalConfig] = None) -> HRReading:
    """HR of a whole signal: band-pass, Welch PSD, interpolated in-band peak, SNR.

    Non-finite input, a flat signal, or fewer than two periods of the low band edge
    give an invalid reading (NaN fields) rather than an exception.
    """
    cfg = cfg or SignalConfig()
    x = np.asarray(bvp, dtype=np.float64).ravel()
    lo, hi = cfg.band_hz
    if x.size < max(8, int(2 * fs / lo)) or not np.isfinite(x).all() or np.ptp(x) <= 0:
        return _INVALID
    y = bandpass(x, fs, cfg.band_hz, cfg.order)
    if not np.any(y):
        return _INVALID
    f, p = psd(y, fs, nperseg=int(round(cfg.welch_seg_s * fs)), res_bpm=cfg.freq_res_bpm,
               overlap=cfg.welch_overlap)
    idx = np.flatnonzero((f >= lo) & (f <= hi))
    if idx.size < 3:
        return _INVALID
    k = int(np.argmax(p[idx]))
    if cfg.harmonic_ratio > 0:
        k = _fundamental(f[idx], p[idx], k, cfg.harmonic_ratio, cfg.snr_halfwidth_hz)
    i = int(idx[k])
    f0 = float(f[i] + _parabolic(p, i) * (f[1] - f[0]))
    edge = k == 0 or k == idx.size - 1
    snr = spectral_snr_db(f, p, f0, cfg.band_hz, cfg.snr_halfwidth_hz)
    valid = bool(not edge and snr >= cfg.min_snr_db)
    return HRReading(hr_bpm=60.0 * f0, quality=snr, valid=valid, peak_hz=f0)


def _window_starts(n: int, win: int, hop: int) -> List[int]:
    starts = list(range(0, n - win + 1, hop))
    if starts[-1] != n - win:
        starts.append(n - win)  # last window ends exactly at the end of the signal
    return starts


def _fill_gaps(x: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Linear interpolation of the samples where ``ok`` is False (edges held)."""
    if ok.all():
        return x
    t = np.arange(x.size)
    return np.interp(t, t[ok], x[ok])


def reading_fault(reading: HRReading) -> Optional[str]:
    """Why an :class:`HRReading` is not valid: ``no_peak`` (no finite HR), ``low_quality``
    (its SNR is below the floor), or None when it is valid."""
    if reading.valid:
        return None
    return "no_peak" if not math.isfinite(reading.hr_bpm) else "low_quality"


def windowed_hr(bvp: np.ndarray, fs: float, cfg: Optional[SignalConfig] = None,
                valid_mask: Optional[np.ndarray] = None,
                min_coverage: Optional[float] = None) -> List[WindowHR]:
    """HR per analysis window (``cfg.window_s`` long, every ``cfg.hop_s``).

    A sample is usable if it is finite and ``valid_mask`` (per frame, e.g. "face
    found") is True. A window with less than ``min_coverage`` (default
    ``cfg.min_coverage``) usable samples gets ``valid=False`` and NaN HR and
    quality: its HR is never presented as valid. Otherwise its few unusable samples
    are linearly interpolated and it is analysed with :func:`hr_from_psd`.
    The last window is aligned to the end of the signal; a signal shorter than one
    window is analysed as a single window; one shorter than ``cfg.min_duration_s``
    raises ``ClipTooShortError``.
    """
    cfg = cfg or SignalConfig()
    x = np.asarray(bvp, dtype=np.float64).ravel()
    n = x.size
    if n < cfg.min_duration_s * fs:
        raise ClipTooShortError(f"signal is {n / fs:.2f} s ({n} samples at {fs:g} Hz); "
                                f"heart rate needs at least {cfg.min_duration_s:g} s")
    ok = np.isfinite(x)
    if valid_mask is not None:
        vm = np.asarray(valid_mask, dtype=bool).ravel()
        if vm.size != n:
            raise ShapeError(f"valid_mask has {vm.size} entries; expected one per sample ({n})")
        ok &= vm
    need = cfg.min_coverage if min_coverage is None else float(min_coverage)
    win = min(n, int(round(cfg.window_s * fs)))
    hop = max(1, int(round(cfg.hop_s * fs)))
    out: List[WindowHR] = []
    for s in _window_starts(n, win, hop):
        seg_ok = ok[s:s + win]
        t0, t1 = s / fs, (s + win) / fs
        if seg_ok.mean() < need or seg_ok.sum() < 2:
            out.append(WindowHR(t0, t1, math.nan, math.nan, False, "coverage"))
            continue
        r = hr_from_psd(_fill_gaps(x[s:s + win], seg_ok), fs, cfg)
        out.append(WindowHR(t0, t1, r.hr_bpm, r.quality, r.valid, reading_fault(r)))
    return out


def video_hr(windows: Sequence[WindowHR]) -> Tuple[Optional[float], bool]:
    """Video-level HR = mean of the valid window HRs (paper §4.1); ``(None, False)`` if none is valid."""
    hrs = [w.hr_bpm for w in windows if w.valid and np.isfinite(w.hr_bpm)]
    if not hrs:
        return None, False
    return float(np.mean(hrs)), True
