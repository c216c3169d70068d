"""Does the skin's colour change that moves with a pulse look like blood?

An engine's pulse is a number per frame; nothing in it says that it came from blood. A
weak noise peak, the shading of a talking jaw, sub-pixel sway against the ROI edges can all
make a periodic signal that passes a spectral-SNR floor. Blood leaves a fingerprint they do
not: as blood volume rises, skin darkens in every channel, most in green (haemoglobin
absorbs green far more than red), the *blood-volume-pulse signature*
:data:`PBV_SIGNATURE` (de Haan & van Leest 2014: relative pulsatile strength in R, G, B).

:func:`pulse_colour` regresses the face's normalised colour (``C / mean(C) - 1``) on the
engine's pulse over one window, near the window's heart rate and over the whole pulse
band; the coefficient vector is the colour change that goes with one unit of pulse. Two cosines
describe it:

- ``cos``: with ``-PBV`` (darker, green-led, as the pulse rises: every engine returns a
  pulse that rises with blood volume, like a contact PPG). A component that brightens the
  skin, or changes mostly blue, has a negative or small ``cos``.
- ``chroma_cos``: the same for the parts orthogonal to the intensity axis ``[1, 1, 1]``.
  Shading, a nod or a jaw that opens changes all channels alike (pure intensity, 18° from
  PBV), so ``cos`` alone cannot tell it from blood; what is left of it after intensity is
  removed points anywhere, where blood's points to "greener": green down, red and blue up
  relative to the mean. A change within a few degrees of the intensity axis
  (``chroma_share``, the length of its part off that axis, under the floor) has no chroma
  to judge, and is not confirmed as blood.

The validity gate (:func:`edge_rppg.vitals.validity.colour_match`) calls a window whose
cosines are below :attr:`~edge_rppg.vitals.validity.ValidityConfig.colour_min_cos` and
``colour_min_chroma_cos`` invalid (``pulse_colour``). Monochrome input (one channel) has no
colour to check and is not checked.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

__all__ = ["PBV_SIGNATURE", "PulseColour", "pulse_colour"]

#: Relative pulsatile strength in R, G, B of skin (de Haan & van Leest 2014 order of magnitude).
PBV_SIGNATURE = np.array([0.33, 0.77, 0.53])
PBV_SIGNATURE.setflags(write=False)

_ONE = np.ones(3) / math.sqrt(3.0)


def _unit(v: np.ndarray) -> Optional[np.ndarray]:
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-15 and math.isfinite(n) else None


def _chroma(v: np.ndarray) -> np.ndarray:
    """``v`` with its component along the intensity axis ``[1, 1, 1]`` removed."""
    return v - float(v @ _ONE) * _ONE


_DARKEN: np.ndarray = -PBV_SIGNATURE / np.linalg.norm(PBV_SIGNATURE)
_DARKEN_CHROMA: np.ndarray = _chroma(_DARKEN) / np.linalg.norm(_chroma(_DARKEN))


@dataclass(frozen=True)
class PulseColour:
    """The colour change that goes with one window's pulse.

    direction: unit ``[3]`` R, G, B coefficient of the normalised face colour on the
    standardised pulse. cos, chroma_cos: its cosines with blood's darkening and with
    blood's darkening after the intensity axis is removed (module docstring); NaN when the
    window carries no colour change that moves with the pulse. chroma_share: the length of
    the unit direction's part off the intensity axis (0: all intensity; blood's is 0.31).
    band: where the fit was taken (``"heart_rate"``: near the HR and its harmonic;
    ``"pulse_band"``: the whole band).
    """

    direction: np.ndarray
    cos: float
    chroma_cos: float
    chroma_share: float = math.nan
    band: str = ""

    def looks_like_blood(self, min_cos: float, min_chroma_cos: float, min_chroma_share: float) -> bool:
        """Both cosines and the chroma share reach their floors (False when any is NaN)."""
        return bool(self.cos >= min_cos and self.chroma_cos >= min_chroma_cos
                    and self.chroma_share >= min_chroma_share)


_UNKNOWN = PulseColour(direction=np.full(3, np.nan), cos=math.nan, chroma_cos=math.nan)


def _describe(coef: np.ndarray, band: str) -> PulseColour:
    """The :class:`PulseColour` of a colour coefficient (NaN fields when it is zero)."""
    d = _unit(coef)
    if d is None:
        return _UNKNOWN
    ch = _chroma(d)
    share = float(np.linalg.norm(ch))
    chu = _unit(ch)
    return PulseColour(direction=d, cos=float(d @ _DARKEN), chroma_cos=float(chu @ _DARKEN_CHROMA) if chu is not None
                       else math.nan, chroma_share=share, band=band)


def pulse_colour(colour: np.ndarray, pulse: np.ndarray, fs: float, f0_hz: float,
                 band_hz: Tuple[float, float] = (0.67, 3.0), halfwidth_hz: float = 0.3,
                 res_bpm: float = 0.1) -> Tuple[PulseColour, PulseColour]:
    """The colour change of ``colour [n, 3]`` (raw R, G, B face means of one window) that
    moves with ``pulse [n]`` (the engine's pulse over the same samples, at ``fs`` Hz) whose
    heart rate is ``f0_hz``: ``(near the heart rate, over the whole band)``.

    The coefficient of each normalised colour channel on the pulse is the real part of their
    cross-spectrum over the pulse's power (Hann-tapered, zero-padded to ≤ ``res_bpm``
    bins: a zero-lag least-squares fit restricted to some frequencies), taken twice: near
    the heart rate (± ``halfwidth_hz`` of ``f0_hz`` and of its harmonic), where head motion
    or light at other in-band rates cannot blur the colour of the pulse itself, and over
    the whole ``band_hz``, which averages more data when the pulse is weak against noise
    near its own rate. Non-finite samples, a flat pulse, a dark face or a window shorter
    than two periods of ``f0_hz`` give NaN fields (not checkable).
    """
    c = np.asarray(colour, dtype=np.float64)
    p = np.asarray(pulse, dtype=np.float64).ravel()
    n = p.size
    unknown = (_UNKNOWN, _UNKNOWN)
    if not (math.isfinite(f0_hz) and f0_hz > 0 and fs > 0) or c.ndim != 2 or c.shape != (n, 3) or n < 2 * fs / f0_hz:
        return unknown
    if not (np.isfinite(c).all() and np.isfinite(p).all()):
        return unknown
    mean = c.mean(axis=0)
    if np.any(mean <= 1e-6):
        return unknown
    x = c / mean - 1.0
    taper = np.hanning(n)
    nfft = max(n, 1 << (int(math.ceil(fs * 60.0 / res_bpm)) - 1).bit_length())
    xs = np.fft.rfft((x - x.mean(axis=0)) * taper[:, None], n=nfft, axis=0)
    ps = np.fft.rfft((p - p.mean()) * taper, n=nfft)
    f = np.fft.rfftfreq(nfft, 1.0 / fs)
    inband = (f >= band_hz[0]) & (f <= band_hz[1])
    near = inband & ((np.abs(f - f0_hz) <= halfwidth_hz) | (np.abs(f - 2.0 * f0_hz) <= halfwidth_hz))
    out = []
    for band, m in (("heart_rate", near), ("pulse_band", inband)):
        power = float(np.sum(np.abs(ps[m]) ** 2))
        out.append(_describe(np.real(xs[m].T @ np.conj(ps[m])) / power, band) if power > 0 else _UNKNOWN)
    return out[0], out[1]
