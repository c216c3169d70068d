"""Does a one-channel pulse show on separate patches of skin? The monochrome check.

A near-infrared (gray) stream has no colour, so :mod:`edge_rppg.vitals.colour` cannot tell
blood from anything else that changes the face's brightness periodically. What is left is
space. Every beat reaches all facial skin within a few tens of milliseconds, so the pulse
rate is the same on the forehead, on each cheek and on the chin; its strength differs
(perfusion, how the illuminator lights each patch), but wherever it is strong enough to
stand out, it stands out *at the same frequency*. Most of what fools a spectral SNR is
local: a glint or a shadow edge that moves over one cheek, a jaw that works the chin, the
1/d² fall-off of the unit's illuminator on the part of the face that moves most, or a noise
peak on a patch that carries little pulse. An HR that only one patch shows is not a pulse
reading.

:func:`region_peaks_bpm` takes the six meta-ROIs' own mean intensities (the MSTmap rows of
one ROI each, :data:`edge_rppg.skin.mstmap.SINGLE_ROI_ROWS`, disjoint skin), makes each a
relative change, removes its linear trend, band-passes it and reads its strongest in-band
spectral peak with the same Welch settings as the HR itself. :func:`replicating_regions`
counts the ROIs whose peak lies within a tolerance of the window's HR; the validity gate
(:func:`edge_rppg.vitals.validity.region_match`) calls a gray window valid only when at
least ``ValidityConfig.region_min_count`` of them do (``pulse_regions`` otherwise).
``python bench/bench_nir.py`` shows the effect on rendered NIR clips with and without a pulse.
"""
from __future__ import annotations

import math
from typing import Tuple

import numpy as np
from scipy.signal import detrend as linear_trend_removed

from .dsp.filters import bandpass
from .dsp.hr import psd

__all__ = ["region_peaks_bpm", "replicating_regions"]


def region_peaks_bpm(intensity: np.ndarray, fs: float, band_hz: Tuple[float, float] = (0.67, 3.0),
                     order: int = 2, seg_s: float = 10.0, res_bpm: float = 0.1) -> np.ndarray:
    """The strongest in-band spectral peak (bpm) of each column of ``intensity [n, k]`` (raw
    mean intensities of ``k`` disjoint skin regions over one window at ``fs`` Hz): ``[k]``,
    NaN for a column that cannot be read (non-finite samples, a dark or flat region).

    Each column becomes ``x / mean(x) - 1``, loses its least-squares line, is band-passed
    (``band_hz``, Butterworth ``order``) and goes through the Welch estimator of the HR
    (``seg_s`` segments, a ≤ ``res_bpm`` grid: :func:`edge_rppg.vitals.dsp.hr.psd`)."""
    x = np.asarray(intensity, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 8 or fs <= 0:
        return np.full(x.shape[1] if x.ndim == 2 else 0, np.nan)
    out = np.full(x.shape[1], np.nan)
    mean = x.mean(axis=0)
    ok = np.isfinite(x).all(axis=0) & (mean > 1e-6)
    if not ok.any():
        return out
    rel = linear_trend_removed(x[:, ok] / mean[ok] - 1.0, axis=0)
    y = bandpass(rel, fs, band_hz, order, axis=0)
    live = np.std(y, axis=0) > 1e-12
    if not live.any():
        return out
    f, p = psd(y[:, live], fs, nperseg=min(x.shape[0], int(round(seg_s * fs))), res_bpm=res_bpm, axis=0)
    band = (f >= band_hz[0]) & (f <= band_hz[1])
    peaks = np.full(int(ok.sum()), np.nan)
    peaks[live] = 60.0 * f[band][np.argmax(p[band], axis=0)]
    out[ok] = peaks
    return out


def replicating_regions(intensity: np.ndarray, fs: float, f0_hz: float, tol_bpm: float,
                        band_hz: Tuple[float, float] = (0.67, 3.0), order: int = 2, seg_s: float = 10.0,
                        res_bpm: float = 0.1) -> Tuple[int, int]:
    """``(regions whose own peak lies within tol_bpm of f0_hz, regions that could be read)``
    for the ``intensity [n, k]`` of one window (:func:`region_peaks_bpm`); ``(0, 0)`` when
    ``f0_hz`` is not a finite positive rate."""
    if not (math.isfinite(f0_hz) and f0_hz > 0):
        return 0, 0
    peaks = region_peaks_bpm(intensity, fs, band_hz, order, seg_s, res_bpm)
    readable = np.isfinite(peaks)
    near = readable & (np.abs(peaks - 60.0 * f0_hz) <= tol_bpm)
    return int(near.sum()), int(readable.sum())
