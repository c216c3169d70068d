"""MONO: the classic baseline for one-channel (near-infrared) cameras.

With one channel there is no colour, so POS, CHROM and the other projections do not apply:
the pulse is only a small relative intensity change of the skin (at 940 nm several times
weaker, relative to the DC, than in green light). What is left to exploit is space: the 63
ROI combinations of the MSTmap see the same pulse but different noise (a glint on one
cheek, sunlight on one side of the face, the chin moving while talking). So each row is
made a relative change (``x / mean - 1``), detrended and band-passed to the pulse band,
and the rows are summed with weights from their own spectral SNR (rows whose spectrum has
no clear peak get no weight); the whole-face row is used when no row has one. The sum
falls with blood volume (more blood absorbs more light), so it is negated to follow the
SDK's convention (rises with blood volume, like a contact PPG).

``mono(intensity [T, 63], fs) -> [T]``; registered in :data:`MONO_METHODS` (with
``mono_face``, the whole-face row alone, to measure what the row weighting buys) and run by
:class:`~edge_rppg.pulse.engines.classic.ClassicEngine` on the rows of a gray MSTmap.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ...errors import ShapeError
from ...registry import Registry
from ...vitals.dsp.hr import psd
from ._common import PULSE_BAND_HZ, inband, normalise

__all__ = ["MONO_METHODS", "MonoMethodFn", "mono", "mono_face", "row_snr_db", "linear_detrend", "WHOLE_FACE_ROW"]

MonoMethodFn = Callable[[np.ndarray, float], np.ndarray]

#: Row of the MSTmap that is the whole face (all six ROIs).
WHOLE_FACE_ROW = 62
#: Rows within this many dB of the best row's SNR share the weight (a weaker row adds noise).
SNR_SPAN_DB = 6.0
#: Half-width (Hz) of the peak (and of its harmonic) when a row's SNR is measured.
PEAK_HALFWIDTH_HZ = 0.1
#: Frequency grid (bpm) of the rows' spectra: fine enough for a ±0.1 Hz peak.
ROW_RES_BPM = 1.0
_EPS = 1e-30


def _as_rows(intensity: np.ndarray) -> np.ndarray:
    """Validate ``intensity [T, R]`` (finite, T ≥ 2) and return it as float64."""
    x = np.asarray(intensity)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ShapeError(f"mono: expected intensity traces of shape [T, R] with T >= 2, got {x.shape}")
    x = x.astype(np.float64)
    if not np.isfinite(x).all():
        raise ShapeError("mono: intensity traces contain NaN or inf; fill invalid frames first")
    return x


def linear_detrend(x: np.ndarray) -> np.ndarray:
    """``x [T, R]`` minus each column's least-squares line (closed form: the same result as
    ``scipy.signal.detrend(type="linear")`` at a twentieth of its cost on 63 rows)."""
    t = np.arange(x.shape[0], dtype=np.float64)
    t -= t.mean()
    xc = x - x.mean(axis=0)
    return xc - t[:, None] * ((t @ xc) / float(t @ t))


def row_snr_db(y: np.ndarray, fs: float) -> np.ndarray:
    """Spectral SNR (dB) of each band-passed row of ``y [T, R]`` at its own strongest in-band
    peak: power within :data:`PEAK_HALFWIDTH_HZ` of the peak and of its second harmonic
    against the rest of the band (as :func:`edge_rppg.vitals.dsp.hr.spectral_snr_db`), all
    rows in one FFT on a 1 bpm grid (the engine runs every hop: 63 fine spectra cost ~50 ms)."""
    f, p = psd(y, fs, res_bpm=ROW_RES_BPM, axis=0)
    band = (f >= PULSE_BAND_HZ[0]) & (f <= PULSE_BAND_HZ[1])
    fb, pb = f[band], p[band]
    f0 = fb[np.argmax(pb, axis=0)]                                     # [R]
    near = (np.abs(fb[:, None] - f0[None, :]) <= PEAK_HALFWIDTH_HZ) | \
        (np.abs(fb[:, None] - 2.0 * f0[None, :]) <= PEAK_HALFWIDTH_HZ)  # [F, R]
    sig = np.where(near, pb, 0.0).sum(axis=0)
    noise = np.where(near, 0.0, pb).sum(axis=0)
    return 10.0 * np.log10((sig + _EPS) / (noise + _EPS))


def mono(intensity: np.ndarray, fs: float) -> np.ndarray:
    """The mono pulse of ``intensity [T, R]`` ROI-row traces (module docstring): rows within
    :data:`SNR_SPAN_DB` of the best row, weighted by their linear SNR, summed; negated so
    that it rises with blood volume."""
    x = _as_rows(intensity)
    y = inband(linear_detrend(normalise(x)), fs)
    sd = y.std(axis=0)
    y = y / np.where(sd > 1e-12, sd, 1.0)
    if y.shape[0] < 8:
        return -y[:, min(WHOLE_FACE_ROW, y.shape[1] - 1)]
    snr = row_snr_db(y, fs)
    keep = (snr >= snr.max() - SNR_SPAN_DB) & (sd > 1e-12)
    if not keep.any():
        return -y[:, min(WHOLE_FACE_ROW, y.shape[1] - 1)]
    w = np.where(keep, 10.0 ** (snr / 10.0), 0.0)
    return -(y @ w) / w.sum()


def mono_face(intensity: np.ndarray, fs: float) -> np.ndarray:
    """The plainest mono pulse, for comparison: the whole-face row's relative intensity
    change, detrended and band-passed, negated (no use of the other 62 rows)."""
    x = _as_rows(intensity)
    row = x[:, min(WHOLE_FACE_ROW, x.shape[1] - 1):][:, :1]
    return -inband(linear_detrend(normalise(row)), fs)[:, 0]


#: Classic methods of gray streams, by name (the colour ones are :data:`edge_rppg.pulse.methods.METHODS`).
MONO_METHODS: Registry[MonoMethodFn] = Registry("mono classic method")
MONO_METHODS.add("mono", mono)
MONO_METHODS.add("mono_face", mono_face)
