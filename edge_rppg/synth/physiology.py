"""One physiology model for both synthetic generators (MSTmaps and face videos).

What a heart does to the skin, independent of any camera: the integrated beat phase of an
instantaneous heart rate (each generator builds that HR track from its own config: mean,
drift, Mayer wave, respiratory sinus arrhythmia, trend), the systolic beat times, and a
pulse waveform evaluated on that phase.  The waveform (one beat over phase 0..1, systolic peak at :attr:`Morphology.peak`)
is either

* parametric — asymmetric systolic wave, dicrotic notch and diastolic wave with random
  rise time and dicrotic height (:func:`parametric_morphology`), or
* real — single beats cut from the contact-PPG recordings in ``../shared/data/ppg/``
  (:func:`real_morphologies`; an empty list when that folder is absent, e.g. a fresh
  clone, and the generators then fall back to parametric beats).

``edge_rppg.synth.mstmap_gen`` and ``edge_rppg.synth.video_gen`` both take their beat phase,
beat times and waveforms from here, so a pulse shape added here reaches both.
Sign convention: the waveform rises with blood volume; skin *reflectance* falls with it
(blood absorbs), which is how the generators apply it.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

#: samples of one beat in a morphology table
LUT_N = 1024

#: what melanin does to skin, for both generators: at tone 1 the reflectance falls by these
#: fractions (R overall; G and B by a further fraction, so dark skin is redder) ...
MELANIN_DARKENING: Tuple[float, float, float] = (0.55, 0.15, 0.25)
#: ... and the pulse amplitude by this fraction (melanin absorbs before light reaches the blood)
MELANIN_PULSE_LOSS = 0.6
#: in-band light artefacts both generators draw: lamps passing, a screen's glow, flicker
LAMP_SHAPES: Tuple[str, ...] = ("sweep", "glow", "flicker")


@dataclass(frozen=True)
class Morphology:
    """One beat: ``wave`` over phase ``[0, 1)`` (``LUT_N`` samples, range 0..1) with its
    systolic maximum at phase ``peak``; ``source`` says where it came from."""

    wave: np.ndarray
    peak: float
    source: str = "parametric"

    def at(self, phase: np.ndarray) -> np.ndarray:
        """The waveform at beat phases ``phase`` (cycles; any shape, wraps)."""
        ph = np.asarray(phase, np.float64)
        return np.interp((ph % 1.0) * LUT_N, np.arange(LUT_N + 1), np.append(self.wave, self.wave[0]))


def parametric_morphology(rng: np.random.Generator, systolic_rise: Tuple[float, float] = (0.12, 0.2),
                          dicrotic_amp: Tuple[float, float] = (0.1, 0.5)) -> Morphology:
    """A random PPG-like beat: asymmetric systolic wave (rise ``systolic_rise`` of the
    cycle, fall 1.6-2.4x slower) plus a diastolic wave of relative height ``dicrotic_amp``
    0.25-0.35 of a cycle later."""
    ph = np.arange(LUT_N) / LUT_N
    rise = float(rng.uniform(*systolic_rise)) if systolic_rise[1] > systolic_rise[0] else float(systolic_rise[0])
    mu_s = 0.25
    fall = rise * rng.uniform(1.6, 2.4)
    d = ph - mu_s
    sys_w = np.exp(-0.5 * (d / np.where(d < 0, rise / 2.0, fall / 2.0)) ** 2)
    sys_w = (sys_w + np.exp(-0.5 * ((d + 1.0) / (fall / 2.0)) ** 2)   # tail of the previous beat
             + np.exp(-0.5 * ((d - 1.0) / (rise / 2.0)) ** 2))        # upstroke of the next beat
    dic = float(rng.uniform(*dicrotic_amp)) if dicrotic_amp[1] > dicrotic_amp[0] else float(dicrotic_amp[0])
    mu_d = mu_s + rng.uniform(0.25, 0.35)
    sd_d = rng.uniform(0.05, 0.08)
    dd = ((ph - mu_d + 0.5) % 1.0) - 0.5
    wave = sys_w + dic * np.exp(-0.5 * (dd / sd_d) ** 2)
    wave = (wave - wave.min()) / (wave.max() - wave.min())
    return Morphology(wave, float(ph[int(np.argmax(wave))]), f"parametric(rise={rise:.3f},dicrotic={dic:.3f})")


def shared_ppg_dir() -> Path:
    """Where the real contact-PPG recordings live: ``$EDGE_RPPG_PPG_DIR`` or
    ``<repo>/../shared/data/ppg`` (absent on a fresh clone)."""
    env = os.environ.get("EDGE_RPPG_PPG_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ppg"


def _beats_of(ppg: np.ndarray, fs: float) -> List[np.ndarray]:
    """Single beats (peak to next peak, resampled to ``LUT_N`` phase samples, 0..1) of a
    contact-PPG trace, oriented so the fast edge (systolic upstroke) rises."""
    from scipy.signal import butter, filtfilt, find_peaks

    x = np.asarray(ppg, np.float64)
    x = x[np.isfinite(x)]
    if x.size < 4 * fs:
        return []
    b, a = butter(2, [0.5 / (fs / 2), 8.0 / (fs / 2)], btype="band")
    y = filtfilt(b, a, x)
    dy = np.diff(y)
    skew = float(np.mean((dy - dy.mean()) ** 3) / max(dy.std() ** 3, 1e-12))
    if skew < 0:  # the upstroke is the short, steep edge: make it positive
        y = -y
    peaks, _ = find_peaks(y, distance=max(1, int(0.33 * fs)), prominence=0.3 * np.std(y))
    out: List[np.ndarray] = []
    for p0, p1 in zip(peaks[:-1], peaks[1:]):
        n = p1 - p0
        if not (0.33 * fs <= n <= 1.5 * fs):
            continue
        seg = y[p0:p1 + 1]
        w = np.interp(np.linspace(0, n, LUT_N, endpoint=False), np.arange(n + 1), seg)
        w = w - np.linspace(w[0], seg[-1], LUT_N, endpoint=False)  # remove the baseline step across the beat
        span = np.ptp(w)
        if span <= 0:
            continue
        out.append((w - w.min()) / span)
    return out


@lru_cache(maxsize=4)
def _real_beats(folder: str) -> Tuple[Morphology, ...]:
    path = Path(folder)
    beats: List[Morphology] = []
    if not path.is_dir():
        return ()
    for csv in sorted(path.glob("*.csv")):
        try:
            import csv as _csv

            with open(csv, newline="") as fh:
                rows = list(_csv.DictReader(fh))
            ppg = np.array([float(r["ppg"]) for r in rows if r.get("ppg") not in (None, "")])
        except (OSError, KeyError, ValueError):
            continue
        fs = 30.0
        for i, w in enumerate(_beats_of(ppg, fs)):
            beats.append(Morphology(w, 0.0, f"real:{csv.name}#{i}"))
    return tuple(beats)


def real_morphologies(folder: Optional[Path] = None) -> Sequence[Morphology]:
    """Single beats of the real contact-PPG recordings (cached); empty when the folder
    (:func:`shared_ppg_dir`) is absent or holds no readable ``ppg`` column."""
    return _real_beats(str(folder or shared_ppg_dir()))


def draw_morphology(rng: np.random.Generator, real_prob: float = 0.0,
                    systolic_rise: Tuple[float, float] = (0.12, 0.2),
                    dicrotic_amp: Tuple[float, float] = (0.1, 0.5)) -> Morphology:
    """A beat for one clip: with probability ``real_prob`` one of :func:`real_morphologies`
    (lightly smoothed), else (or when none are available) a parametric one.  Always draws
    the same number of random numbers, so the rest of a clip does not depend on whether
    ``../shared`` exists."""
    u = rng.random()
    pick = rng.random()
    para = parametric_morphology(rng, systolic_rise, dicrotic_amp)
    bank = real_morphologies() if real_prob > 0 else ()
    if bank and u < real_prob:
        return bank[int(pick * len(bank)) % len(bank)]
    return para


def beat_phase(t: np.ndarray, hr_bpm: np.ndarray, start: float = 0.0) -> np.ndarray:
    """Cumulative beat phase (cycles) of an HR track sampled at ``t`` (trapezoid rule)."""
    t = np.asarray(t, np.float64)
    f = np.asarray(hr_bpm, np.float64) / 60.0
    return start + np.concatenate([[0.0], np.cumsum(0.5 * (f[1:] + f[:-1]) * np.diff(t))])


def beat_times(t: np.ndarray, phase: np.ndarray, peak: float = 0.0) -> np.ndarray:
    """Times at which ``phase`` crosses ``k + peak`` (the systolic maxima), inside ``t``."""
    ks = np.arange(math.ceil(phase[0] - peak), math.floor(phase[-1] - peak) + 1)
    bt = np.interp(ks + peak, phase, t)
    return bt[(bt >= t[0]) & (bt <= t[-1])]


# ----------------------------------------------------------------------------- fixed template
def _raw_template(u: np.ndarray) -> np.ndarray:
    """Unnormalised beat shape: asymmetric systolic wave at 0 plus a dicrotic wave at 0.38."""
    d = (u + 0.5) % 1.0 - 0.5                      # wrapped distance to the systolic peak
    wave = np.exp(-0.5 * (d / np.where(d < 0, 0.07, 0.16)) ** 2)
    d2 = (u - 0.38 + 0.5) % 1.0 - 0.5
    return wave + 0.35 * np.exp(-0.5 * (d2 / 0.09) ** 2)


@lru_cache(maxsize=1)
def _template_stats() -> Tuple[float, float]:
    """Mean and peak-to-peak of the raw template over one cycle (for normalisation)."""
    wave = _raw_template(np.linspace(0.0, 1.0, 4000, endpoint=False))
    return float(wave.mean()), float(np.ptp(wave))


def pulse_template(u: np.ndarray) -> np.ndarray:
    """The fixed PPG-like waveform over the beat phase ``u`` (cycles; systolic peak at
    integers): steep upstroke and slower decay of the systolic wave plus a dicrotic wave
    at 0.38 of the cycle; zero mean over a cycle, peak-to-peak 1."""
    mean, ptp = _template_stats()
    return (_raw_template(np.asarray(u, np.float64)) - mean) / ptp


def zero_mean_unit_ptp(morph: Morphology, phase: np.ndarray) -> np.ndarray:
    """``morph`` at ``phase`` rescaled to zero mean over a cycle and peak-to-peak 1 (the
    convention of :func:`pulse_template`)."""
    w = morph.wave
    return (morph.at(phase) - float(w.mean())) / max(float(np.ptp(w)), 1e-12)
