"""Does the pulse show on separate patches of skin? The region check.

Every beat reaches all facial skin within a few tens of milliseconds, so the pulse rate is
the same on the forehead, on each cheek and on the chin; its strength differs (perfusion, how
the light falls on each patch), but wherever it is strong enough to stand out, it stands out
*at the same frequency*. Much of what fools a spectral SNR is local: a glint or a shadow edge
that moves over one cheek, a jaw that works the chin, the 1/d² fall-off of a near-infrared
unit's illuminator on the part of the face that moves most, a noise peak on a patch that
carries little pulse, or the sub-pixel sway of a still head against the ROI edges (each
patch's edge mixes in skin of another shade, differently on each patch: summed over the whole
face the mixture can be periodic and even blood-coloured, which the colour check of
:mod:`edge_rppg.vitals.colour` cannot tell from a pulse). An HR that only one patch shows is
not a pulse reading.

The check reads the six meta-ROIs (the MSTmap rows of one ROI each,
:data:`edge_rppg.skin.mstmap.SINGLE_ROI_ROWS`, disjoint skin) one by one:

- a gray (one-channel) stream, ``[n, 6]``: each ROI's mean intensity made a relative change;
- a colour stream, ``[n, 6, 3]``: each ROI's own POS pulse (:func:`edge_rppg.pulse.methods.pos.pos_rows`,
  the same engine-independent projection for every engine, so the check asks the skin and
  not the engine's output).

Each ROI series loses its linear trend, is band-passed, and gives its strongest in-band
spectral peak with the same Welch settings as the HR itself (:func:`region_peaks_bpm`).
:func:`replicating_regions` counts the ROIs whose peak lies within a tolerance of the window's
HR and measures the ROIs' mean share of in-band power near it; the validity gate
(:func:`edge_rppg.vitals.validity.region_match`) calls a window valid only when at least
``ValidityConfig.region_min_count`` of them peak there *and* that mean share reaches the floor
of the stream's kind (``region_min_share`` gray, ``region_min_share_colour`` colour;
``pulse_regions`` otherwise). The share rule exists because two patches can share an artefact
(head motion through the illuminator's fall-off moved the forehead and one upper cheek
together at 49 bpm in a rendered NIR clip whose pulse, 78 bpm, was the peak of the three other
patches). ``python bench/bench_nir.py`` (gray) and ``python bench/region_check.py`` (colour)
measure it on rendered clips with and without a pulse.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Tuple

import numpy as np
from scipy.signal import detrend as linear_trend_removed

from ..pulse.methods.pos import pos_rows
from .dsp.filters import bandpass
from .dsp.hr import psd

__all__ = ["RegionSupport", "region_peaks_bpm", "replicating_regions", "REGION_RES_BPM"]

#: The frequency grid of the region spectra (bpm). A 10 s Welch segment resolves 6 bpm; the HR's
#: 0.1 bpm grid only interpolates it, and six such spectra per reading cost a live stream about
#: 0.2 ms a frame. The check's tolerance is 3 bpm and its share window ±6 bpm, so a 0.5 bpm grid
#: gives the same verdicts at a fifth of the FFT length.
REGION_RES_BPM = 0.5


def _region_pulses(regions: np.ndarray, fs: float) -> Tuple[np.ndarray, np.ndarray]:
    """``(relative pulse [n, k], readable [k])`` of ``regions``: ``[n, k]`` raw intensities (each
    made ``x / mean - 1``) or ``[n, k, 3]`` raw R, G, B means (each ROI's POS pulse); a region
    with a non-finite sample or a dark channel is not readable (its column stays 0)."""
    x = np.asarray(regions, dtype=np.float64)
    mean = x.mean(axis=0)
    ok = np.isfinite(x).all(axis=0) & (mean > 1e-6)
    if x.ndim == 3:
        ok = ok.all(axis=1)
    y = np.zeros(x.shape[:2])
    if ok.any():
        y[:, ok] = pos_rows(x[:, ok], fs) if x.ndim == 3 else x[:, ok] / mean[ok] - 1.0
    return y, ok


def _region_spectra(regions: np.ndarray, fs: float, band_hz: Tuple[float, float], order: int, seg_s: float,
                    res_bpm: float) -> Tuple[np.ndarray, np.ndarray]:
    """``(in-band frequencies [F] in Hz, in-band Welch power [F, k])`` of each region's relative
    pulse (:func:`_region_pulses` of ``regions [n, k]`` or ``[n, k, 3]``), linearly detrended
    and band-passed; a region that cannot be read (non-finite, dark, flat) is all NaN."""
    x = np.asarray(regions, dtype=np.float64)
    k = x.shape[1] if x.ndim in (2, 3) else 0
    if x.ndim not in (2, 3) or (x.ndim == 3 and x.shape[2] != 3) or x.shape[0] < 8 or fs <= 0:
        return np.zeros(0), np.full((0, k), np.nan)
    y, ok = _region_pulses(x, fs)
    if ok.any():
        y[:, ok] = bandpass(linear_trend_removed(y[:, ok], axis=0), fs, band_hz, order, axis=0)
    f, p = psd(y, fs, nperseg=min(y.shape[0], int(round(seg_s * fs))), res_bpm=res_bpm, axis=0)
    band = (f >= band_hz[0]) & (f <= band_hz[1])
    pb = p[band]
    dead = ~ok | ~(pb.sum(axis=0) > 1e-30)
    pb[:, dead] = np.nan
    return f[band], pb


def region_peaks_bpm(regions: np.ndarray, fs: float, band_hz: Tuple[float, float] = (0.67, 3.0),
                     order: int = 2, seg_s: float = 10.0, res_bpm: float = REGION_RES_BPM) -> np.ndarray:
    """The strongest in-band spectral peak (bpm) of each of ``k`` disjoint skin regions over one
    window at ``fs`` Hz (``regions``: their raw mean intensities ``[n, k]``, or raw R, G, B
    means ``[n, k, 3]``): ``[k]``, NaN for a region that cannot be read (non-finite samples, a
    dark or flat region).

    Each region becomes a relative pulse (``x / mean(x) - 1``, or its POS pulse in colour),
    loses its least-squares line, is band-passed (``band_hz``, Butterworth ``order``) and goes
    through the Welch estimator of the HR (``seg_s`` segments, a ≤ ``res_bpm`` grid:
    :func:`edge_rppg.vitals.dsp.hr.psd`)."""
    f, p = _region_spectra(regions, fs, band_hz, order, seg_s, res_bpm)
    out = np.full(p.shape[1], np.nan)
    readable = np.isfinite(p).all(axis=0) & (p.shape[0] > 0)
    if readable.any():
        out[readable] = 60.0 * f[np.argmax(p[:, readable], axis=0)]
    return out


@dataclass(frozen=True)
class RegionSupport:
    """How far one window's HR shows on the skin regions: ``near`` regions whose own peak lies
    within the tolerance of it, of ``readable`` regions; ``share``: the readable regions' mean
    share of their in-band power within ``halfwidth_hz`` of the HR (blood puts its power there
    on every patch: a local artefact's rate has a small share on most of them)."""

    near: int
    readable: int
    share: float


def replicating_regions(regions: np.ndarray, fs: float, f0_hz: float, tol_bpm: float,
                        band_hz: Tuple[float, float] = (0.67, 3.0), order: int = 2, seg_s: float = 10.0,
                        res_bpm: float = REGION_RES_BPM, halfwidth_hz: float = 0.1) -> RegionSupport:
    """The :class:`RegionSupport` of the HR ``f0_hz`` on the regions ``regions`` (``[n, k]``
    or ``[n, k, 3]``) of one window (peaks as :func:`region_peaks_bpm`); nothing readable (``0, 0, NaN``) when
    ``f0_hz`` is not a finite positive rate."""
    none = RegionSupport(0, 0, math.nan)
    if not (math.isfinite(f0_hz) and f0_hz > 0):
        return none
    f, p = _region_spectra(regions, fs, band_hz, order, seg_s, res_bpm)
    readable = np.isfinite(p).all(axis=0) & (p.shape[0] > 0)
    if not readable.any():
        return none
    pr = p[:, readable]
    peaks = 60.0 * f[np.argmax(pr, axis=0)]
    near_f0 = np.abs(f - f0_hz) <= halfwidth_hz
    share = pr[near_f0].sum(axis=0) / pr.sum(axis=0)
    return RegionSupport(int((np.abs(peaks - 60.0 * f0_hz) <= tol_bpm).sum()), int(readable.sum()),
                         float(share.mean()))
