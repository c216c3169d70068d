"""Synthetic MSTmaps with exact physiological ground truth.

The generator models what the spatial colour means of six facial regions (meta ROIs)
look like to a camera, then forms the 63 subset rows of an MSTmap exactly as the
extractor does (pixel-count-weighted means of the ROI means) and adds YUV (BT.601).

Per meta ROI ``j`` and channel ``c`` (R, G, B)::

    I[t,j,c] = DC[j,c] · L[t,c] · (1 + m[t,j]·(1 + ε[j,c])) · (1 − sig[c] · b[t,j])
               + S[t,j] · L[t,c] · DCg + noise[t,j,c]

* ``b[t,j]`` blood volume: the pulse waveform (asymmetric systolic wave, dicrotic
  notch and diastolic wave) at an ROI-specific delay (pulse transit) and amplitude
  (log-normal spread; an ROI can be nearly pulseless, e.g. hair or beard), amplitude-
  modulated by respiration, plus respiratory baseline wander.
* ``sig`` blood-absorption signature, strongest in green (R 0.33, G 0.77, B 0.53,
  normalised to G): the cue that separates pulse from everything else.
* ``m[t,j]`` head motion: three global sources (yaw, pitch, approach) mixed into each
  ROI with geometric gains (yaw brightens one cheek and darkens the other) plus random
  gains; smooth random motion, sudden jerks, and optional *in-band periodic* motion
  (0.7–3 Hz, talking/nodding/walking) that a spectral peak picker would take for a
  pulse. Nearly colour-neutral (small per-channel deviation ``ε``).
* ``S[t,j]`` specular reflection: white light added when a region turns towards the
  lamp (colour-neutral in absolute terms, so it shifts chromaticity).
* ``L[t,c]`` illumination: slow drift (per-channel tint) and optional in-band flicker.
* noise: sensor noise averaged over the ROI's pixels (``σ/√count``) plus a spatially
  correlated floor (compression); ROI pixel counts also change with motion.

Ground truth: ``bvp`` (the reference-site pulse with its respiratory amplitude
modulation, without baseline wander, z-scored), the instantaneous HR per frame, the
systolic-peak beat times and the respiration frequency. Pure numpy; about 3 ms of CPU
for 300 frames (single thread, measured on a busy 2-core machine).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, Tuple

import numpy as np

from ..config import Config
from . import physiology as _phys

N_ROI = 6
#: bit j of subset row r (bitmask r + 1) says whether meta ROI j is in that row.
SUBSET_BITS = ((np.arange(1, 64)[:, None] >> np.arange(N_ROI)[None, :]) & 1).astype(np.float64)
#: typical share of face-skin pixels per meta ROI: forehead, L upper/lower cheek, R upper/lower cheek, chin.
ROI_PIXEL_SHARE = np.array([0.30, 0.14, 0.11, 0.14, 0.11, 0.20])
#: typical relative pulse strength per meta ROI (cheeks and forehead strongest, chin weakest).
ROI_PULSE_PRIOR = np.array([1.0, 1.15, 0.9, 1.15, 0.9, 0.6])
#: geometric gains of the motion sources (yaw, pitch, approach) per meta ROI.
ROI_MOTION_GEOMETRY = np.array([
    [0.0, 1.0, 1.0],    # forehead
    [-1.0, 0.3, 1.0],   # left upper cheek
    [-1.0, -0.3, 1.0],  # left lower cheek
    [1.0, 0.3, 1.0],    # right upper cheek
    [1.0, -0.3, 1.0],   # right lower cheek
    [0.0, -1.0, 1.0],   # chin
])
#: relative pulsatile strength in R, G, B, normalised to G.
BLOOD_SIGNATURE = np.array([0.33, 0.77, 0.53]) / 0.77
_YUV = np.array([[0.299, 0.587, 0.114],
                 [-0.168736, -0.331264, 0.5],
                 [0.5, -0.418688, -0.081312]])
_YUV_OFFSET = np.array([0.0, 128.0, 128.0])
_LUT_N = 1024

Range = Tuple[float, float]


@dataclass
class SynthConfig(Config):
    """Knobs of :func:`synth_mstmap`. Each ``(lo, hi)`` pair is a uniform range sampled per clip.

    Timing: T frames at fps.
    Heart: hr_range_bpm (mean HR), hr_drift_bpm (std of a slow HR trend over the clip),
        hrv_lf_bpm (amplitude of the ~0.1 Hz Mayer-wave HR oscillation), rsa_bpm
        (respiratory sinus arrhythmia amplitude).
    Pulse: pulse_amp (peak-to-peak as a fraction of the green DC; camera rPPG is
        ~0.2–1 %), dicrotic_amp (diastolic wave height / systolic), systolic_rise
        (rise time as a fraction of the beat), roi_amp_sd (log-normal spread of pulse
        amplitude between ROIs), roi_delay_ms (max pulse-transit difference between
        ROIs), roi_no_pulse_prob (chance an ROI carries ~no pulse: hair, beard, glasses).
    Respiration: rf_range_hz, resp_baseline (baseline wander, relative to the pulse
        peak-to-peak), resp_am (depth of pulse amplitude modulation).
    Skin and camera: skin_r (red-channel DC, dark to light skin), face_pixels (skin
        pixels of the whole face), pixel_noise (per-pixel sensor noise std, levels),
        roi_noise (spatially correlated noise std of an ROI mean, levels).
    Motion: motion_prob (chance the clip has head motion; otherwise micro-motion at
        10 %), motion_amp (std of the motion intensity change as a fraction of DC),
        motion_hz (upper frequency of smooth random motion), motion_chroma (per-channel
        deviation from colour-neutral), periodic_motion_prob / periodic_motion_hz
        (in-band periodic motion), jerk_prob (sudden pose changes), specular_amp
        (peak specular reflection as a fraction of the green DC), count_motion (how much
        ROI pixel counts follow motion).
    Illumination: illum_drift (std of slow global brightness change), flicker_prob,
        flicker_amp, flicker_hz (in-band light flicker, relative amplitude, in the
        colour of the ambient light).
    Realism (all off by default; the training recipe turns them on):
        melanin (0 light .. 1 dark skin: lower, redder DC and a weaker pulse),
        real_morphology_prob (chance the beat is a real contact-PPG beat from
        ``../shared/data/ppg``, see :mod:`edge_rppg.synth.physiology`),
        lamp_prob / lamp_amp / lamp_hz (a second light with its own spectrum — sodium
        orange, warm or random-RGB screen, white LED — that sweeps across the face
        (lamps passing), glows or flickers at an in-band rate; amplitude relative to the
        ambient light; each ROI sees it with its own gain and delay, and it adds a
        specular highlight in its own colour),
        talking_prob / talking_amp (jaw motion at syllable rate with an in-band envelope,
        shading and pixel counts of chin and lower cheeks),
        compression_prob / compression_atten / compression_gop_amp (codec: the pulse
        attenuated, per-ROI quantisation of the colour means, and brightness steps at
        every key frame, a group-of-pictures period of 8-60 frames),
        pulseless_prob (chance the clip has no pulse at all — ``has_pulse`` False, a zero
        ``bvp`` — and then a periodic motion, talking or lamp in 85 % of cases, so a
        model can learn not to invent a pulse).
    """

    T: int = 300
    fps: float = 30.0
    hr_range_bpm: Range = (40.0, 170.0)
    hr_drift_bpm: float = 3.0
    hrv_lf_bpm: Range = (0.0, 3.0)
    rsa_bpm: Range = (0.0, 4.0)
    pulse_amp: Range = (0.002, 0.01)
    dicrotic_amp: Range = (0.1, 0.5)
    systolic_rise: Range = (0.12, 0.2)
    roi_amp_sd: float = 0.35
    roi_delay_ms: float = 40.0
    roi_no_pulse_prob: float = 0.05
    rf_range_hz: Range = (0.12, 0.45)
    resp_baseline: Range = (0.0, 0.8)
    resp_am: Range = (0.0, 0.3)
    skin_r: Range = (70.0, 220.0)
    face_pixels: Range = (1500.0, 40000.0)
    pixel_noise: Range = (1.0, 6.0)
    roi_noise: Range = (0.02, 0.3)
    motion_prob: float = 0.7
    motion_amp: Range = (0.002, 0.03)
    motion_hz: Range = (0.3, 2.5)
    motion_chroma: float = 0.1
    periodic_motion_prob: float = 0.3
    periodic_motion_hz: Range = (0.7, 3.0)
    jerk_prob: float = 0.3
    specular_amp: Range = (0.0, 0.02)
    count_motion: float = 2.0
    illum_drift: Range = (0.0, 0.08)
    flicker_prob: float = 0.1
    flicker_amp: Range = (0.0005, 0.003)
    flicker_hz: Range = (0.7, 3.0)
    melanin: Range = (0.0, 0.0)
    real_morphology_prob: float = 0.0
    lamp_prob: float = 0.0
    lamp_amp: Range = (0.02, 0.3)
    lamp_hz: Range = (0.6, 3.0)
    talking_prob: float = 0.0
    talking_amp: Range = (0.005, 0.04)
    compression_prob: float = 0.0
    compression_atten: Range = (0.5, 1.0)
    compression_gop_amp: Range = (0.02, 0.3)
    pulseless_prob: float = 0.0

    def __post_init__(self) -> None:
        if int(self.T) < 2:
            raise ValueError(f"SynthConfig.T must be >= 2 frames, got {self.T}")
        if not self.fps > 0:
            raise ValueError(f"SynthConfig.fps must be > 0, got {self.fps}")
        for f in ("hr_range_bpm", "hrv_lf_bpm", "rsa_bpm", "pulse_amp", "dicrotic_amp", "systolic_rise",
                  "rf_range_hz", "resp_baseline", "resp_am", "skin_r", "face_pixels", "pixel_noise", "roi_noise",
                  "motion_amp", "motion_hz", "periodic_motion_hz", "specular_amp", "illum_drift", "flicker_amp",
                  "flicker_hz", "melanin", "lamp_amp", "lamp_hz", "talking_amp", "compression_atten",
                  "compression_gop_amp"):
            lo, hi = (float(v) for v in getattr(self, f))
            if lo > hi:
                raise ValueError(f"SynthConfig.{f} must be (low, high) with low <= high, got {(lo, hi)}")
            setattr(self, f, (lo, hi))
        if self.hr_range_bpm[0] <= 0 or self.rf_range_hz[0] <= 0:
            raise ValueError("SynthConfig.hr_range_bpm and rf_range_hz must be positive")

    @classmethod
    def still(cls, **overrides: Any) -> "SynthConfig":
        """No head motion, no flicker, mild noise: the easy case (overrides allowed)."""
        base: Dict[str, Any] = dict(motion_prob=0.0, flicker_prob=0.0, jerk_prob=0.0, periodic_motion_prob=0.0,
                                    specular_amp=(0.0, 0.0), illum_drift=(0.0, 0.02), roi_noise=(0.02, 0.1))
        base.update(overrides)
        return cls(**base)


@dataclass
class SynthSample:
    """One synthetic clip.

    mstmap: ``[T, 63, 6]`` float32 raw colour means (R, G, B, Y, U, V; 0..255).
    bvp: ``[T]`` float32 ground-truth pulse (z-scored, rises with blood volume).
    hr_bpm: mean HR over the clip; hr_per_frame: ``[T]`` instantaneous HR (bpm).
    rf_hz: respiration frequency. beat_times_s: systolic peaks of ``bvp`` (s).
    fps: frame rate. info: the sampled nuisance parameters (for analysis/debugging).
    has_pulse: False for a pulseless clip (``bvp`` is then all zeros, beats empty, and
    ``hr_bpm`` the HR the heart would have had).
    """

    mstmap: np.ndarray
    bvp: np.ndarray
    hr_bpm: float
    hr_per_frame: np.ndarray
    rf_hz: float
    beat_times_s: np.ndarray
    fps: float
    info: Dict[str, Any] = field(default_factory=dict)
    has_pulse: bool = True

    @property
    def hr_bpm_per_frame(self) -> np.ndarray:
        """Alias of ``hr_per_frame`` (the name used in docs/ARCHITECTURE.md)."""
        return self.hr_per_frame


def _u(rng: np.random.Generator, r: Range) -> float:
    return float(rng.uniform(r[0], r[1])) if r[1] > r[0] else float(r[0])


def _band_noise(rng: np.random.Generator, k: int, T: int, fps: float, f_lo: float, f_hi: float) -> np.ndarray:
    """``k`` band-limited Gaussian noises ``[k, T]`` with spectra flat in ``[f_lo, f_hi]``,
    each scaled to unit std over a support of at least four periods of ``f_lo`` (so
    short clips keep slow content) and cropped at a random offset. Slow bands are
    synthesised at a low rate and linearly interpolated, which keeps this cheap."""
    rate = min(fps, 8.0 * f_hi)
    dur = max(T / fps, 4.0 / max(f_lo, f_hi / 64.0, 1e-3))
    n = int(math.ceil(dur * rate)) + 2
    f = np.fft.rfftfreq(n, 1.0 / rate)
    mask = (f >= f_lo) & (f <= f_hi)
    if not mask.any():  # band narrower than the grid: take the nearest bin
        mask[int(np.argmin(np.abs(f - 0.5 * (f_lo + f_hi))))] = True
    m = int(mask.sum())
    spec = np.zeros((k, f.size), dtype=np.complex128)
    spec[:, mask] = rng.standard_normal((k, m)) + 1j * rng.standard_normal((k, m))
    x = np.fft.irfft(spec, n=n, axis=1)
    x /= np.maximum(x.std(axis=1, keepdims=True), 1e-12)
    t_src = np.arange(n) / rate
    start = rng.uniform(0.0, max(t_src[-1] - (T - 1) / fps, 0.0))
    tt = start + np.arange(T) / fps
    if rate == fps and abs(start * rate - round(start * rate)) < 1e-9:
        s0 = int(round(start * rate))
        return x[:, s0:s0 + T]
    return np.stack([np.interp(tt, t_src, xi) for xi in x])


#: relative radiance (R, G, B) of the second light sources, as the camera sees them
#: (white-balanced to the ambient light); "screen_rgb" draws a random colour per clip.
LAMP_SPECTRA: Dict[str, Tuple[float, float, float]] = {
    "sodium": (1.0, 0.55, 0.08),
    "warm_screen": (1.0, 0.72, 0.42),
    "white_led": (0.95, 1.0, 1.05),
    "cool_screen": (0.7, 0.85, 1.0),
    "screen_rgb": (1.0, 1.0, 1.0),
}
#: how a lamp's brightness evolves in time (unit peak, never negative: a light only adds)
LAMP_SHAPES = _phys.LAMP_SHAPES
#: horizontal position of each meta ROI (left -1 .. right +1): a lamp sweeping across the
#: face reaches the ROIs at different times
ROI_X = np.array([0.0, -0.8, -0.7, 0.8, 0.7, 0.0])
#: how much each meta ROI follows the jaw when talking (chin and lower cheeks most)
ROI_TALK_GAIN = np.array([0.05, 0.2, 0.8, 0.2, 0.8, 1.0])


def _lamp_shape(rng: np.random.Generator, kind: str, f: float, t: np.ndarray) -> np.ndarray:
    """Brightness of a lamp over ``t`` (peak 1, >= 0) at repetition rate ``f`` Hz."""
    if kind == "sweep":  # lamps passing: one bump per period, with timing jitter
        period = 1.0 / f
        width = period * rng.uniform(0.08, 0.3)
        t0 = rng.uniform(0.0, period)
        k = np.arange(-1, int(np.ceil((t[-1] + 2 * period) / period)) + 1)
        centres = t0 + k * period + rng.normal(0.0, 0.03 * period, k.size)
        heights = rng.uniform(0.7, 1.0, k.size)
        out = (heights[:, None] * np.exp(-0.5 * ((t[None, :] - centres[:, None]) / width) ** 2)).sum(0)
        return out / max(float(out.max()), 1e-9)
    ph = rng.uniform(0.0, 2 * np.pi)
    wave = np.sin(2 * np.pi * f * t + ph)
    if kind == "glow":
        wave = wave + rng.uniform(0.0, 0.4) * np.sin(4 * np.pi * f * t + 2 * ph + rng.uniform(0, 2 * np.pi))
    wave = wave - wave.min()
    return wave / max(float(wave.max()), 1e-9)


def _sticky(x: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Codec-like dead zone along time: each trace of ``x [T, ...]`` keeps its previous
    value until it has moved by more than ``q`` (broadcast to ``x[0]``)."""
    out = np.empty_like(x)
    held = x[0].copy()
    for i in range(x.shape[0]):
        move = np.abs(x[i] - held) > q
        held = np.where(move, x[i], held)
        out[i] = held
    return out


def synth_mstmap(cfg: SynthConfig, seed: int) -> SynthSample:
    """Generate one synthetic MSTmap clip with ground truth (deterministic in ``seed``).

    Skin-reflection model per meta ROI ``j`` and channel ``c``: the diffuse term
    ``DC[j,c] · L[t,j,c] · (1 + m[t,j]·(1 + ε[j,c])) · (1 − sig[c]·b[t,j])`` (illumination
    ``L`` in the colour of each light, intensity/shading change ``m`` from head motion
    and talking nearly colour-neutral, pulse ``b`` along the blood-absorption direction
    ``sig``) plus a specular term ``S[t,j] · L[t,j,c] · DCg`` in the light's own colour,
    then sensor/ROI noise and, optionally, codec effects.
    """
    rng = np.random.default_rng(seed)
    T, fps = int(cfg.T), float(cfg.fps)
    t = np.arange(T) / fps
    info: Dict[str, Any] = {}
    pulseless = bool(rng.random() < cfg.pulseless_prob)

    # --- respiration and heart rate -------------------------------------------------
    rf = _u(rng, cfg.rf_range_hz)
    ph_r = rng.uniform(0, 2 * np.pi)
    resp = np.sin(2 * np.pi * rf * t + ph_r)
    hr0 = _u(rng, cfg.hr_range_bpm)
    slow = _band_noise(rng, 1, T, fps, 0.005, 0.05)
    slow -= slow.mean()  # the trend changes HR within the clip; hr_range_bpm bounds the mean
    lf_amp, f_lf = _u(rng, cfg.hrv_lf_bpm), rng.uniform(0.07, 0.13)
    rsa = _u(rng, cfg.rsa_bpm)
    hr = (hr0 + cfg.hr_drift_bpm * slow[0]
          + lf_amp * np.sin(2 * np.pi * f_lf * t + rng.uniform(0, 2 * np.pi))
          + rsa * np.sin(2 * np.pi * rf * t + ph_r - 0.3))
    hr = np.clip(hr, 30.0, 220.0)
    fhz = hr / 60.0
    theta = _phys.beat_phase(t, hr, start=rng.uniform(0, 1))

    morph = _phys.draw_morphology(rng, cfg.real_morphology_prob, cfg.systolic_rise, cfg.dicrotic_amp)
    beats = _phys.beat_times(t, theta, morph.peak)

    am = _u(rng, cfg.resp_am)
    amod = 1.0 + am * resp
    ref = morph.at(theta) * amod
    bvp = (ref - ref.mean()) / max(ref.std(), 1e-12)

    # --- skin tone ---------------------------------------------------------------------
    mel = _u(rng, cfg.melanin)

    # --- per-ROI pulse -----------------------------------------------------------------
    amp = _u(rng, cfg.pulse_amp) * ROI_PULSE_PRIOR * rng.lognormal(0.0, cfg.roi_amp_sd, N_ROI)
    amp *= np.where(rng.random(N_ROI) < cfg.roi_no_pulse_prob, 0.05, 1.0)
    amp *= 1.0 - _phys.MELANIN_PULSE_LOSS * mel  # melanin absorbs before the light reaches the blood
    delay = rng.uniform(0.0, cfg.roi_delay_ms / 1000.0, N_ROI)
    th_roi = theta[:, None] - delay[None, :] * fhz[:, None]  # [T, 6]
    p_roi = morph.at(th_roi)
    p_roi -= p_roi.mean(axis=0, keepdims=True)
    bw = _u(rng, cfg.resp_baseline)
    resp_roi = np.sin(2 * np.pi * rf * t[:, None] + ph_r + rng.uniform(-0.3, 0.3, N_ROI)[None, :])
    blood = amp[None, :] * (p_roi * amod[:, None] + bw * resp_roi)  # [T, 6] relative darkening
    signature = BLOOD_SIGNATURE * (1.0 + 0.08 * rng.standard_normal(3))

    # --- skin, illumination ------------------------------------------------------------
    dark_r, dark_g, dark_b = _phys.MELANIN_DARKENING
    r_dc = _u(rng, cfg.skin_r) * (1.0 - dark_r * mel)
    skin = np.array([r_dc, r_dc * rng.uniform(0.62, 0.82) * (1.0 - dark_g * mel),
                     r_dc * rng.uniform(0.45, 0.72) * (1.0 - dark_b * mel)])
    illum_tint = np.array([1.0, rng.uniform(0.92, 1.08), rng.uniform(0.85, 1.15)])
    dc = (skin * illum_tint)[None, :] * (1.0 + 0.08 * rng.standard_normal((N_ROI, 1))) \
        * (1.0 + 0.02 * rng.standard_normal((N_ROI, 3)))
    dc_g = float(skin[1])
    drift = _u(rng, cfg.illum_drift) * _band_noise(rng, 1, T, fps, 0.005, 0.1)[0]
    light = 1.0 + drift[:, None] * (1.0 + 0.1 * rng.standard_normal(3))[None, :]  # [T, 3]
    info["flicker_hz"] = None
    want_flicker = rng.random() < cfg.flicker_prob
    f_fl = _u(rng, cfg.flicker_hz)
    fl_amp = _u(rng, cfg.flicker_amp)
    fl_ph = rng.uniform(0, 2 * np.pi)
    fl_col = rng.uniform(0.8, 1.2, 3)

    # nuisances a pulseless clip is given (so that "no pulse" is learnt against a periodic artefact)
    force = rng.integers(0, 4) if pulseless and rng.random() < 0.85 else -1
    if want_flicker or force == 3:
        fl = fl_amp * np.sin(2 * np.pi * f_fl * t + fl_ph)
        light = light + fl[:, None] * fl_col[None, :]
        info["flicker_hz"] = f_fl
    light = np.repeat(light[:, None, :], N_ROI, axis=1)  # [T, 6, 3]: each ROI its own light

    info["lamp"] = None
    want_lamp = rng.random() < cfg.lamp_prob
    lamp_kind = list(LAMP_SPECTRA)[int(rng.integers(0, len(LAMP_SPECTRA)))]
    lamp_shape = LAMP_SHAPES[int(rng.integers(0, len(LAMP_SHAPES)))]
    lamp_f = _u(rng, cfg.lamp_hz)
    lamp_a = _u(rng, cfg.lamp_amp)
    lamp_col = np.array(LAMP_SPECTRA[lamp_kind]) if lamp_kind != "screen_rgb" else rng.dirichlet((1, 1, 1)) * 2.0
    lamp_gain = np.clip(1.0 + 0.3 * rng.standard_normal(N_ROI) + rng.uniform(-0.5, 0.5) * ROI_X, 0.1, None)
    lamp_delay = ROI_X * rng.uniform(-0.12, 0.12)
    lamp_rng = np.random.default_rng(rng.integers(0, 2**63 - 1))
    if want_lamp or force == 2:
        shapes = np.stack([_lamp_shape(np.random.default_rng(lamp_rng.bit_generator.seed_seq), lamp_shape, lamp_f,
                                       t - lamp_delay[j]) for j in range(N_ROI)], axis=1)  # [T, 6]
        light = light + lamp_a * (lamp_gain * shapes)[:, :, None] * lamp_col[None, None, :]
        info["lamp"] = {"kind": lamp_kind, "shape": lamp_shape, "hz": lamp_f, "amp": lamp_a}

    # --- motion ------------------------------------------------------------------------------
    moving = rng.random() < cfg.motion_prob or force == 0
    m_amp = _u(rng, cfg.motion_amp) * (1.0 if moving else 0.1)
    src = _band_noise(rng, 3, T, fps, 0.05, _u(rng, cfg.motion_hz))
    info["periodic_motion_hz"] = None
    want_periodic = rng.random() < cfg.periodic_motion_prob
    if moving and (want_periodic or force == 0):
        f_m = _u(rng, cfg.periodic_motion_hz)
        env = 1.0 + 0.3 * _band_noise(rng, 1, T, fps, 0.02, 0.2)[0]
        # each source (yaw, pitch, approach) oscillates at f_m with its own phase and
        # amplitude (nodding, circling, bobbing), so ROIs see different phases of it
        ph = rng.uniform(0, 2 * np.pi, (3, 1))
        wob = np.sin(2 * np.pi * f_m * t[None, :] + ph)
        wob += rng.uniform(0.0, 0.5) * np.sin(4 * np.pi * f_m * t[None, :] + 2 * ph + rng.uniform(0, 2 * np.pi))
        src += rng.uniform(0.7, 2.0, (3, 1)) * rng.choice([-1.0, 1.0], (3, 1)) * env[None, :] * wob
        info["periodic_motion_hz"] = f_m
    info["jerks"] = 0
    if moving and rng.random() < cfg.jerk_prob:
        n_j = int(rng.integers(1, 4))
        for _ in range(n_j):
            t0, width = rng.uniform(0, t[-1] + 1e-9), rng.uniform(0.05, 0.4)
            step = 1.0 / (1.0 + np.exp(-(t - t0) / width))
            src += rng.uniform(1.0, 3.0) * rng.standard_normal((3, 1)) * step[None, :]
        info["jerks"] = n_j
    src *= m_amp
    gains = ROI_MOTION_GEOMETRY * rng.uniform(0.5, 1.5, (1, 3)) + 0.3 * rng.standard_normal((N_ROI, 3))
    motion = src.T @ gains.T  # [T, 6]

    info["talking"] = False
    want_talk = rng.random() < cfg.talking_prob
    talk_amp = _u(rng, cfg.talking_amp)
    f_syl = rng.uniform(3.0, 6.0)
    talk_env = _band_noise(rng, 1, T, fps, 0.3, 2.0)[0]
    talk_jit = _band_noise(rng, 1, T, fps, 0.1, 1.0)[0]
    talk_sign = rng.choice([-1.0, 1.0], N_ROI) * rng.uniform(0.6, 1.4, N_ROI)
    if want_talk or force == 1:
        jaw = 1.0 / (1.0 + np.exp(-3.0 * talk_env)) * 0.5 * (1.0 - np.cos(2 * np.pi * f_syl * t + 2.0 * talk_jit))
        motion = motion + talk_amp * jaw[:, None] * (ROI_TALK_GAIN * talk_sign)[None, :]
        info["talking"] = True

    chroma = 1.0 + cfg.motion_chroma * rng.standard_normal((N_ROI, 3))
    spec_gain = rng.standard_normal((N_ROI, 3))
    spec_drive = src.T @ spec_gain.T / max(m_amp, 1e-12)  # unitless, ~N(0, few)
    spec = _u(rng, cfg.specular_amp) * (1.0 if moving else 0.1) * np.maximum(spec_drive - 1.0, 0.0) / 3.0
    spec = spec + 0.3 * _u(rng, cfg.specular_amp) * rng.random(N_ROI)[None, :]  # a steady gloss
    if pulseless:
        blood = np.zeros_like(blood)
        bvp = np.zeros_like(bvp)
        beats = np.zeros(0)
    info.update(moving=bool(moving), motion_amp=m_amp, resp_baseline=bw, resp_am=am, hrv_lf_bpm=lf_amp,
                rsa_bpm=rsa, pulse_amp=(amp * (not pulseless)).tolist(), delay_s=delay.tolist(),
                morphology=morph.source, melanin=mel, pulseless=pulseless,
                blood_signature=signature.tolist())

    # --- intensities per ROI ---------------------------------------------------------------
    info["compression"] = None
    want_codec = rng.random() < cfg.compression_prob or force == 3 and rng.random() < 0.5
    atten = _u(rng, cfg.compression_atten)
    gop = int(rng.integers(8, 61))
    gop_amp = _u(rng, cfg.compression_gop_amp)
    q = rng.uniform(0.02, 0.25)
    if want_codec:
        blood = blood * atten
    inten = (dc[None, :, :] * light
             * (1.0 + motion[:, :, None] * chroma[None, :, :])
             * (1.0 - signature[None, None, :] * blood[:, :, None])
             + (spec * dc_g)[:, :, None] * light)  # [T, 6, 3]
    face = _u(rng, cfg.face_pixels)
    share = ROI_PIXEL_SHARE * rng.uniform(0.7, 1.3, N_ROI)
    counts = face * share / share.sum()
    counts_t = counts[None, :] * np.clip(1.0 + cfg.count_motion * motion, 0.2, None)  # [T, 6]
    sd = np.sqrt(_u(rng, cfg.pixel_noise) ** 2 / counts_t + _u(rng, cfg.roi_noise) ** 2)
    inten += sd[:, :, None] * rng.standard_normal((T, N_ROI, 3))
    if want_codec:
        seg = (np.arange(T) + int(rng.integers(0, gop))) // gop
        jumps = rng.standard_normal((int(seg.max()) + 1, N_ROI)) * gop_amp
        inten = inten + jumps[seg][:, :, None] * (1.0 + 0.1 * rng.standard_normal(3))[None, None, :]
        inten = _sticky(inten, q)
        info["compression"] = {"atten": atten, "gop": gop, "gop_amp": gop_amp, "deadzone": q}

    # --- subset rows, YUV ----------------------------------------------------------------------
    # YUV is affine in RGB and the subset weights sum to 1, so it is computed per ROI
    # and then combined with the RGB in one batched matmul.
    roi6 = np.concatenate([inten, inten @ _YUV.T + _YUV_OFFSET], axis=2)  # [T, 6, 6]
    num = np.matmul(SUBSET_BITS, roi6 * counts_t[:, :, None])  # [T, 63, 6]
    den = counts_t @ SUBSET_BITS.T  # [T, 63]
    mst = (num / den[:, :, None]).astype(np.float32)
    np.clip(mst, 0.0, 255.0, out=mst)

    return SynthSample(mstmap=mst, bvp=bvp.astype(np.float32), hr_bpm=float(hr.mean()),
                       hr_per_frame=hr.astype(np.float32), rf_hz=float(rf), beat_times_s=beats, fps=fps,
                       info=info, has_pulse=not pulseless)
