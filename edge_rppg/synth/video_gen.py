"""Synthetic face videos with a known pulse, for end-to-end tests and demos.

A real face photo (``skimage.data.astronaut()``, on which MediaPipe FaceMesh finds a
face) is animated frame by frame:

* **pulse** — skin pixels only (YCrCb skin thresholds inside the face hull, feathered,
  with a smooth spatial gain) are multiplied by ``1 + a * w_c * p(t)`` per channel, with
  the blood-absorption colour signature ``w = (0.33, 0.77, 0.53)`` (strongest in green),
  so that POS/CHROM and the MSTmap pipeline recover it;
* **waveform** — a PPG-shaped template (steep systolic upstroke, dicrotic wave) driven by
  a time-varying instantaneous heart rate (RSA at the respiration rate, a 0.1 Hz LF
  wave, a slow random drift, an optional linear trend), with the exact beat (systolic
  peak) times known, and respiratory amplitude modulation;
* **head motion** — translation, rotation and scale on smooth random paths (level from
  :data:`MOTION_LEVELS`), optional in-band periodic motion (nodding), a small
  respiratory bob; applied as one affine warp of the photo and its skin mask per frame;
* **light** — slow global drift and optional flicker, multiplicative;
* **sensor noise** — Gaussian, independent per pixel and frame.

The video is written losslessly with :func:`edge_rppg.frames.video.write_video` and the ground
truth next to it as JSON (``path.with_suffix(".json")``). Everything is deterministic
for a seed: independent child streams of ``np.random.SeedSequence(seed)`` drive the
physiology, the motion, the light and the noise, so that changing e.g. the motion level
leaves the pulse of a seed unchanged.
"""
from __future__ import annotations

import dataclasses
import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Protocol, Tuple, Union

import cv2
import numpy as np

from ..config import Config, Range
from ..errors import ConfigError
from ..registry import Registry
from . import physiology as _phys
from .physiology import pulse_template  # noqa: F401  (re-exported: the waveform lives in physiology)

#: FaceMesh (468 landmarks) convex hull of the face in ``skimage.data.astronaut()``
#: (512x512 pixels), measured once with MediaPipe FaceMesh 0.10.21, static mode.
ASTRONAUT_FACE_HULL: Tuple[Tuple[int, int], ...] = (
    (271, 107), (270, 124), (269, 133), (266, 141), (264, 144), (260, 152), (255, 158),
    (248, 164), (243, 168), (237, 172), (230, 174), (221, 175), (212, 173), (205, 170),
    (200, 166), (195, 161), (189, 155), (185, 148), (181, 139), (180, 136), (178, 128),
    (178, 119), (179, 102), (180, 93), (182, 86), (186, 80), (193, 75), (203, 72),
    (214, 71), (227, 72), (240, 73), (251, 75), (260, 79), (266, 84), (269, 91), (271, 98),
)

#: Relative pulse modulation per channel (R, G, B): blood absorption is strongest in green.
PULSE_WEIGHTS: Tuple[float, float, float] = (0.33, 0.77, 0.53)

#: Temporal shapes of the second light source (``lamp_shape``).
LAMP_SHAPES = _phys.LAMP_SHAPES
#: Beat shapes (``morphology``); "real" falls back to "template" without ``../shared``.
MORPHOLOGIES = ("template", "parametric", "real")

#: Seeds a clip may have (``np.random.SeedSequence`` refuses negatives).
SEED_RANGE = Range(0, 2**32 - 1, integer=True)

#: Fine time step (s) on which the heart-rate phase is integrated (beat times to < 1 ms).
_FINE_DT = 0.001
#: Ground-truth HR windows: length and hop in seconds.
GT_WINDOW_S = 10.0
GT_HOP_S = 1.0


#: ``VideoSynthConfig.camera`` → its :class:`Camera` (``frames``, ``write``): RGB here, the
#: near-infrared ones in :mod:`edge_rppg.synth.nir` (each loaded when a clip of it is rendered).
CAMERAS: Registry["Camera"] = Registry("camera")
CAMERAS.add_lazy("rgb", "edge_rppg.synth.video_gen:RGB_CAMERA")
CAMERAS.add_lazy("nir940", "edge_rppg.synth.nir:NIR940")
CAMERAS.add_lazy("nir850", "edge_rppg.synth.nir:NIR850")


@dataclasses.dataclass(frozen=True)
class MotionLevel:
    """Peak amplitudes of the smooth random head motion of one level.

    ``translate_frac`` is a fraction of the frame height, ``rotate_deg`` degrees of
    in-plane rotation, ``scale_frac`` a relative scale change (towards/away from camera).
    """

    translate_frac: float
    rotate_deg: float
    scale_frac: float


#: Named head-motion levels for :attr:`VideoSynthConfig.motion`.
MOTION_LEVELS: Dict[str, MotionLevel] = {
    "none": MotionLevel(0.0, 0.0, 0.0),
    "still": MotionLevel(0.002, 0.3, 0.003),
    "moderate": MotionLevel(0.03, 4.0, 0.03),
    "large": MotionLevel(0.08, 12.0, 0.08),
}


@dataclasses.dataclass
class VideoSynthConfig(Config):
    """Parameters of one synthetic face video (see the module docstring).

    Amplitudes are relative (fractions) unless a unit is named; motion amplitudes scale
    with the frame height so that small test videos behave like full-size ones.
    """

    duration_s: float = 20.0
    fps: float = 30.0
    width: int = 640
    height: int = 480
    face_height_frac: float = 0.45      # face (FaceMesh hull) height / frame height
    # physiology
    hr_bpm: float = 72.0                # mean heart rate
    hrv: float = 0.04                   # relative std of the instantaneous HR
    hr_trend_bpm: float = 0.0           # linear HR change from start to end of the clip
    rf_hz: float = 0.25                 # respiration frequency
    resp_pulse_mod: float = 0.15        # respiratory amplitude modulation of the pulse
    pulse_amplitude: float = 0.015      # a: peak-to-peak relative modulation before w_c
    pulse_weights: Tuple[float, float, float] = PULSE_WEIGHTS
    # motion
    motion: str = "still"               # key of MOTION_LEVELS
    periodic_motion_hz: float = 0.0     # in-band periodic (nodding) motion; 0 = off
    periodic_motion_frac: float = 0.01  # its vertical amplitude / frame height
    resp_motion_frac: float = 0.001     # respiratory head bob / frame height
    # light and sensor
    light_drift: float = 0.0            # peak relative change of global brightness (slow)
    flicker_hz: float = 0.0             # light flicker frequency (aliased by the frame rate)
    flicker_amplitude: float = 0.0      # relative flicker amplitude
    noise_sigma: float = 1.0            # sensor noise std, 8-bit grey levels
    codec: Optional[str] = None         # FourCC for write_video; None = by suffix (.avi HFYU, .mkv FFV1)
    # realism (defaults off)
    morphology: str = "template"        # beat shape: "template", "parametric" or "real" (../shared PPG beats)
    skin_tone: float = 0.0              # melanin 0 (light) .. 1 (dark): darker, redder skin and a weaker pulse
    lamp_hz: float = 0.0                # a second light with its own colour, repeating at this rate; 0 = off
    lamp_amplitude: float = 0.3         # its peak brightness relative to the ambient light
    lamp_color: Tuple[float, float, float] = (1.0, 0.55, 0.08)   # its RGB (default: sodium orange)
    lamp_shape: str = "sweep"           # key of LAMP_SHAPES: "sweep" (lamps passing), "glow" (screen), "flicker"
    talking_hz: float = 0.0             # syllable rate of jaw motion (3-6 Hz); 0 = off
    talking_amplitude: float = 0.05     # peak jaw drop / face height
    nod_shading: float = 0.0            # shading change over the face height per unit of periodic nod
    exposure: float = 1.0               # global brightness factor (< 1: low light)
    jpeg_quality: int = 0               # per-frame JPEG quality, 1..100 (0 = no compression)
    mirror: bool = False                # flip each frame left-right: the photo's mirror image, another face layout
    camera: str = "rgb"                 # "rgb", or a NIR camera of edge_rppg.synth.nir.NIR_CAMERAS ("nir940", "nir850")

    #: Allowed values of every numeric field (checked first, in ``__post_init__``; ``edge-rppg synth``
    #: and ``demo`` inherit them). The sizes bound what a clip allocates and writes: at most an
    #: hour, 240 fps, 4096x4096.
    RANGES = {
        "duration_s": Range(0.0, 3600.0, low_open=True, unit="s"), "fps": Range(0.0, 240.0, low_open=True),
        "width": Range(64, 4096, integer=True), "height": Range(64, 4096, integer=True),
        "face_height_frac": Range(0.05, 1.0), "hr_bpm": Range(30.0, 220.0), "hrv": Range(0.0, 0.5),
        "hr_trend_bpm": Range(-150.0, 150.0), "rf_hz": Range(0.0, 2.0), "resp_pulse_mod": Range(0.0, 1.0),
        "pulse_amplitude": Range(0.0, 1.0), "periodic_motion_hz": Range(0.0, 30.0),
        "periodic_motion_frac": Range(0.0, 0.5), "resp_motion_frac": Range(0.0, 0.5), "light_drift": Range(0.0, 1.0),
        "flicker_hz": Range(0.0, 1000.0), "flicker_amplitude": Range(0.0, 1.0), "noise_sigma": Range(0.0, 255.0),
        "skin_tone": Range(0.0, 1.0), "lamp_hz": Range(0.0, 100.0), "lamp_amplitude": Range(0.0, 10.0),
        "talking_hz": Range(0.0, 20.0), "talking_amplitude": Range(0.0, 1.0), "nod_shading": Range(-10.0, 10.0),
        "exposure": Range(0.0, 10.0, low_open=True), "jpeg_quality": Range(0, 100, integer=True),
    }

    def __post_init__(self) -> None:
        self.check_ranges()
        if self.motion not in MOTION_LEVELS:
            raise ConfigError(f"VideoSynthConfig.motion={self.motion!r}; expected one of {sorted(MOTION_LEVELS)}")
        self.pulse_weights = self._rgb("pulse_weights", self.pulse_weights)  # type: ignore[assignment]
        self.lamp_color = self._rgb("lamp_color", self.lamp_color)  # type: ignore[assignment]
        if self.lamp_shape not in LAMP_SHAPES:
            raise ConfigError(f"VideoSynthConfig.lamp_shape={self.lamp_shape!r}; expected one of {sorted(LAMP_SHAPES)}")
        if self.morphology not in MORPHOLOGIES:
            raise ConfigError(f"VideoSynthConfig.morphology={self.morphology!r}; expected one of {MORPHOLOGIES}")
        if self.codec not in (None, "") and (not isinstance(self.codec, str) or len(self.codec) != 4):
            raise ConfigError(f"VideoSynthConfig.codec must be None or a 4-letter FourCC, got {self.codec!r}")
        if self.camera not in CAMERAS:
            raise ConfigError(f"VideoSynthConfig.camera={self.camera!r}; expected one of {', '.join(CAMERAS.names())}")
        if not isinstance(self.mirror, (bool, np.bool_)):
            raise ConfigError(f"VideoSynthConfig.mirror must be true or false, got {self.mirror!r}")
        self.mirror = bool(self.mirror)

    @staticmethod
    def _rgb(name: str, value: object) -> Tuple[float, float, float]:
        """Three finite weights (R, G, B) in [0, 10], else ``ConfigError`` naming the field."""
        rng = Range(0.0, 10.0)
        items = tuple(value) if isinstance(value, (tuple, list)) else ()
        if len(items) != 3 or any(rng.problem(v) for v in items):
            raise ConfigError(f"VideoSynthConfig.{name} must be 3 numbers (R, G, B) in [0, 10], got {value!r}")
        return tuple(float(v) for v in items)  # type: ignore[return-value]

    @property
    def n_frames(self) -> int:
        """Number of frames: ``round(duration_s * fps)``."""
        return int(round(self.duration_s * self.fps))


#: Named configurations used by tests, benchmarks and the demo.
PRESETS: Dict[str, VideoSynthConfig] = {
    "still": VideoSynthConfig(motion="still"),
    "moderate_motion": VideoSynthConfig(motion="moderate"),
    "large_motion": VideoSynthConfig(motion="large"),
    "periodic_motion": VideoSynthConfig(motion="still", periodic_motion_hz=1.6, periodic_motion_frac=0.01),
    "light_drift": VideoSynthConfig(motion="still", light_drift=0.15, flicker_hz=100.0, flicker_amplitude=0.005),
    # realistic conditions (bench/bench_realistic.py)
    "talking": VideoSynthConfig(motion="still", talking_hz=4.5, talking_amplitude=0.05),
    "nodding": VideoSynthConfig(motion="still", periodic_motion_hz=1.3, periodic_motion_frac=0.012, nod_shading=0.15),
    "street_lamps": VideoSynthConfig(motion="still", lamp_hz=1.25, lamp_amplitude=0.35, lamp_shape="sweep",
                                     lamp_color=(1.0, 0.55, 0.08)),
    "screen_glow": VideoSynthConfig(motion="still", lamp_hz=1.1, lamp_amplitude=0.12, lamp_shape="glow",
                                    lamp_color=(1.0, 0.72, 0.42)),
    "low_light": VideoSynthConfig(motion="still", exposure=0.3, noise_sigma=3.0),
    "compressed": VideoSynthConfig(motion="still", jpeg_quality=40),
    "dark_skin": VideoSynthConfig(motion="still", skin_tone=0.8),
}


# --------------------------------------------------------------------------- photo
@lru_cache(maxsize=1)
def face_photo() -> Tuple[np.ndarray, np.ndarray]:
    """The source photo as float32 RGB ``[512,512,3]`` and its pulse gain mask ``[512,512]``.

    The mask is 1 on facial skin (YCrCb thresholds inside the FaceMesh hull, so hair,
    eyes, teeth, suit and background are excluded), feathered at the edges and scaled
    by a smooth spatial gain (0.6..1.0) so the pulse is not uniform over the face.
    Fixed (seed-independent) and cached.
    """
    from edge_rppg.extras import require
    require("skimage", "synth")  # missing: one line naming the extra to install
    from skimage import data

    rgb = data.astronaut()
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    y, cr, cb = ycc[..., 0], ycc[..., 1], ycc[..., 2]
    skin = (cr >= 135) & (cr <= 175) & (cb >= 80) & (cb <= 130) & (y > 60)
    hull = np.zeros(rgb.shape[:2], np.uint8)
    cv2.fillPoly(hull, [np.array(ASTRONAUT_FACE_HULL, np.int32)], 1)
    hull = cv2.erode(hull, np.ones((5, 5), np.uint8))
    mask = (skin & (hull > 0)).astype(np.float32)
    mask = cv2.GaussianBlur(mask, (0, 0), 1.5)
    field = np.random.default_rng(0).standard_normal(rgb.shape[:2]).astype(np.float32)
    field = cv2.GaussianBlur(field, (0, 0), 20.0)
    field = (field - field.min()) / max(float(np.ptp(field)), 1e-6)
    mask *= 0.6 + 0.4 * field
    return rgb.astype(np.float32), mask


def _face_geometry() -> Tuple[np.ndarray, float]:
    """Centre (x, y) and height of the face hull in photo pixels."""
    hull = np.array(ASTRONAUT_FACE_HULL, np.float64)
    lo, hi = hull.min(0), hull.max(0)
    return (lo + hi) / 2.0, float(hi[1] - lo[1])


# --------------------------------------------------------------------------- physiology
def _smooth_path(rng: np.random.Generator, t: np.ndarray, f_lo: float, f_hi: float, k: int = 3) -> np.ndarray:
    """Smooth random path in [-1, 1]: ``k`` sinusoids with random frequencies in
    ``[f_lo, f_hi]`` Hz, phases and weights, normalised by the sum of weights."""
    freqs = rng.uniform(f_lo, f_hi, k)
    phases = rng.uniform(0.0, 2 * np.pi, k)
    weights = rng.uniform(0.5, 1.0, k)
    path = (weights[:, None] * np.sin(2 * np.pi * freqs[:, None] * t[None, :] + phases[:, None])).sum(0)
    return path / weights.sum()


@dataclasses.dataclass
class Physiology:
    """Pulse and heart-rate ground truth of one clip.

    Per frame: ``frame_times_s``, ``bvp`` (pulse waveform incl. respiratory modulation),
    ``inst_hr_bpm``, ``resp`` (respiration in [-1, 1]). Per clip: ``beat_times_s``
    (systolic peaks), ``mean_hr_bpm`` (phase advance over the clip), ``windows`` (HR per
    :data:`GT_WINDOW_S` window, :data:`GT_HOP_S` hop). ``fine_t``, ``fine_phase`` (beat
    cycles), ``fine_hr`` and ``fine_resp`` are the 1 kHz grid everything derives from;
    :meth:`at` evaluates the signals at any times (e.g. a contact sensor's rate).
    """

    frame_times_s: np.ndarray
    bvp: np.ndarray
    inst_hr_bpm: np.ndarray
    beat_times_s: np.ndarray
    mean_hr_bpm: float
    windows: List[Dict[str, float]]
    resp: np.ndarray
    fine_t: np.ndarray
    fine_phase: np.ndarray
    fine_hr: np.ndarray
    fine_resp: np.ndarray
    resp_pulse_mod: float
    morphology: Optional[_phys.Morphology] = None

    def at(self, times_s: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """``(bvp, inst_hr_bpm)`` at ``times_s`` (clamped to the clip)."""
        t = np.asarray(times_s, np.float64)
        ph = np.interp(t, self.fine_t, self.fine_phase)
        resp = np.interp(t, self.fine_t, self.fine_resp)
        m = self.morphology
        wave = pulse_template(ph) if m is None else _phys.zero_mean_unit_ptp(m, ph + m.peak)
        return wave * (1.0 + self.resp_pulse_mod * resp), np.interp(t, self.fine_t, self.fine_hr)

    def rate_bpm(self, t0: float, t1: float) -> float:
        """Mean HR over ``[t0, t1]``: beat cycles elapsed x 60 / duration."""
        return float(60.0 * (np.interp(t1, self.fine_t, self.fine_phase)
                             - np.interp(t0, self.fine_t, self.fine_phase)) / (t1 - t0))


def simulate_physiology(cfg: VideoSynthConfig, rng: np.random.Generator) -> Physiology:
    """Instantaneous HR (RSA + LF + drift + trend), its phase, beats and the pulse."""
    n = cfg.n_frames
    duration = n / cfg.fps
    tf = np.arange(0.0, duration + 2 * _FINE_DT, _FINE_DT)
    resp_phase = rng.uniform(0.0, 2 * np.pi)
    resp = np.sin(2 * np.pi * cfg.rf_hz * tf + resp_phase)
    lf = np.sin(2 * np.pi * rng.uniform(0.08, 0.12) * tf + rng.uniform(0.0, 2 * np.pi))
    drift = _smooth_path(rng, tf, 0.005, 0.03)
    # unit-variance mix: sin has variance 1/2; the drift path roughly 1/6
    rel = (0.8 * resp + 0.6 * lf + 0.8 * drift) / math.sqrt(0.5 * 0.64 + 0.5 * 0.36 + 0.64 / 6.0)
    hr = cfg.hr_bpm * (1.0 + cfg.hrv * rel) + cfg.hr_trend_bpm * (tf / max(duration, 1e-9) - 0.5)
    hr = np.clip(hr, 35.0, 230.0)
    # cumulative phase in cycles (trapezoid), random start phase
    phase = _phys.beat_phase(tf, hr, start=rng.uniform(0.0, 1.0))
    beats = _phys.beat_times(tf, phase)
    beats = beats[(beats >= 0.0) & (beats <= duration)]
    morph: Optional[_phys.Morphology] = None
    if cfg.morphology == "parametric":
        morph = _phys.parametric_morphology(rng)
    elif cfg.morphology == "real":
        bank = _phys.real_morphologies()
        pick = int(rng.integers(0, 1 << 30))
        morph = bank[pick % len(bank)] if bank else None
    t = np.arange(n) / cfg.fps
    phys = Physiology(frame_times_s=t, bvp=np.zeros(0), inst_hr_bpm=np.zeros(0), beat_times_s=beats,
                      mean_hr_bpm=0.0, windows=[], resp=np.interp(t, tf, resp), fine_t=tf, fine_phase=phase,
                      fine_hr=hr, fine_resp=resp, resp_pulse_mod=float(cfg.resp_pulse_mod), morphology=morph)
    phys.bvp, phys.inst_hr_bpm = phys.at(t)
    phys.mean_hr_bpm = phys.rate_bpm(0.0, duration)
    if duration < GT_WINDOW_S:
        phys.windows.append({"t_start": 0.0, "t_end": round(duration, 6), "hr_bpm": phys.rate_bpm(0.0, duration)})
    else:
        n_win = int(math.floor((duration - GT_WINDOW_S) / GT_HOP_S + 1e-9)) + 1
        for i in range(n_win):
            t0 = i * GT_HOP_S
            phys.windows.append({"t_start": t0, "t_end": t0 + GT_WINDOW_S,
                                 "hr_bpm": phys.rate_bpm(t0, t0 + GT_WINDOW_S)})
    return phys


def physiology(cfg: VideoSynthConfig, seed: int) -> Physiology:
    """The :class:`Physiology` of the clip rendered with ``cfg`` and ``seed`` (e.g. to write
    a contact-sensor reference at another rate with :meth:`Physiology.at`)."""
    return simulate_physiology(cfg, np.random.default_rng(_streams(seed)[0]))


# --------------------------------------------------------------------------- motion, light
def simulate_motion(cfg: VideoSynthConfig, rng: np.random.Generator, resp: np.ndarray
                    ) -> Tuple[np.ndarray, np.ndarray]:
    """Affine maps photo → frame, ``[T, 2, 3]`` float64, one per frame, and the periodic
    nod ``[T]`` in [-1, 1] (zeros without ``periodic_motion_hz``; drives ``nod_shading``).

    The face (hull centre) sits at (W/2, 0.45 H) scaled to ``face_height_frac`` of the
    frame height, then moves by the level's smooth random paths (0.05..0.5 Hz), the
    optional periodic nod and the respiratory bob.
    """
    n = cfg.n_frames
    t = np.arange(n) / cfg.fps
    level = MOTION_LEVELS[cfg.motion]
    h = float(cfg.height)
    paths = [_smooth_path(rng, t, 0.05, 0.5) for _ in range(4)]
    tx = level.translate_frac * h * paths[0]
    ty = level.translate_frac * h * paths[1] + cfg.resp_motion_frac * h * resp
    rot = np.deg2rad(level.rotate_deg) * paths[2]
    scale = 1.0 + level.scale_frac * paths[3]
    nod = np.zeros(n)
    if cfg.periodic_motion_hz > 0:
        ph = rng.uniform(0.0, 2 * np.pi)
        nod = np.sin(2 * np.pi * cfg.periodic_motion_hz * t + ph)
        ty = ty + cfg.periodic_motion_frac * h * nod
        tx = tx + 0.3 * cfg.periodic_motion_frac * h * np.sin(2 * np.pi * cfg.periodic_motion_hz * t + ph + 1.0)
    centre, face_h = _face_geometry()
    s = scale * cfg.face_height_frac * h / face_h
    cos, sin = s * np.cos(rot), s * np.sin(rot)
    dst_x = cfg.width / 2.0 + tx
    dst_y = 0.45 * h + ty
    mats = np.empty((n, 2, 3))
    mats[:, 0, 0], mats[:, 0, 1] = cos, -sin
    mats[:, 1, 0], mats[:, 1, 1] = sin, cos
    mats[:, 0, 2] = dst_x - (cos * centre[0] - sin * centre[1])
    mats[:, 1, 2] = dst_y - (sin * centre[0] + cos * centre[1])
    return mats, nod


def simulate_jaw(cfg: VideoSynthConfig, rng: np.random.Generator) -> np.ndarray:
    """Jaw opening ``[T]`` in [0, 1] while talking: syllables at ``talking_hz`` (with
    tempo jitter) gated by a speech on/off envelope at 0.3-1.5 Hz, so part of its
    energy falls in the pulse band.  Zeros when ``talking_hz`` is 0."""
    n = cfg.n_frames
    t = np.arange(n) / cfg.fps
    jitter = _smooth_path(rng, t, 0.1, 0.8)
    env = _smooth_path(rng, t, 0.3, 1.5)
    if cfg.talking_hz <= 0:
        return np.zeros(n)
    syll = 0.5 * (1.0 - np.cos(2 * np.pi * cfg.talking_hz * t + 2.5 * jitter))
    return syll / (1.0 + np.exp(-4.0 * (env + 0.2)))


def simulate_lamp(cfg: VideoSynthConfig, rng: np.random.Generator) -> Optional[np.ndarray]:
    """Extra light of the second source per frame and image column, ``[T, W, 3]`` float32
    (relative to the ambient light, in ``lamp_color``), or None when ``lamp_hz`` is 0.

    "sweep": a bright band (a quarter of the frame wide) crosses the frame once per
    period with timing jitter, as street lamps do past a car window, so each face region
    is lit at its own time; "glow": a screen's sinusoidal glow (with a harmonic) over the
    whole frame with a left-right gradient; "flicker": a uniform sinusoid."""
    n, w = cfg.n_frames, cfg.width
    t = np.arange(n) / cfg.fps
    x = np.arange(w, dtype=np.float64) / w
    ph = rng.uniform(0.0, 1.0)
    jit = 0.03 * _smooth_path(rng, t, 0.2, 1.0)
    harm, harm_ph = rng.uniform(0.1, 0.4), rng.uniform(0.0, 2 * np.pi)
    grad = rng.uniform(-0.3, 0.3)
    if cfg.lamp_hz <= 0 or cfg.lamp_amplitude <= 0:
        return None
    if cfg.lamp_shape == "sweep":
        pos = ((cfg.lamp_hz * t + ph + jit) % 1.0) * 1.8 - 0.4          # band centre, -0.4 .. 1.4 of the width
        prof = np.exp(-0.5 * ((x[None, :] - pos[:, None]) / 0.12) ** 2)
    else:
        arg = 2 * np.pi * (cfg.lamp_hz * t + ph)
        wave = np.sin(arg)
        if cfg.lamp_shape == "glow":
            wave = wave + harm * np.sin(2 * arg + harm_ph)
        wave = (wave - wave.min()) / max(float(np.ptp(wave)), 1e-9)
        prof = wave[:, None] * (1.0 + (grad if cfg.lamp_shape == "glow" else 0.0) * (x[None, :] - 0.5))
    col = np.asarray(cfg.lamp_color, np.float64)
    return (cfg.lamp_amplitude * prof[:, :, None] * col[None, None, :]).astype(np.float32)


def simulate_light(cfg: VideoSynthConfig, rng: np.random.Generator) -> np.ndarray:
    """Global brightness multiplier per frame ``[T]``: slow drift (< 0.05 Hz plus a
    ramp) and flicker sampled at the frame times (so it aliases as a real one does)."""
    n = cfg.n_frames
    t = np.arange(n) / cfg.fps
    duration = max(n / cfg.fps, 1e-9)
    slow = 0.5 * _smooth_path(rng, t, 0.01, 0.05, k=2) + 0.5 * (2.0 * t / duration - 1.0) * rng.choice([-1.0, 1.0])
    light = 1.0 + cfg.light_drift * slow
    flick_phase = rng.uniform(0.0, 2 * np.pi)
    if cfg.flicker_amplitude > 0 and cfg.flicker_hz > 0:
        light = light * (1.0 + cfg.flicker_amplitude * np.sin(2 * np.pi * cfg.flicker_hz * t + flick_phase))
    return light


# --------------------------------------------------------------------------- rendering
@lru_cache(maxsize=1)
def _noise_lut() -> np.ndarray:
    """256-entry table mapping uniform bytes to standard-normal quantiles (fast noise)."""
    from scipy.special import ndtri

    return ndtri((np.arange(256) + 0.5) / 256.0).astype(np.float32)


@dataclasses.dataclass
class _Plan:
    """Everything random about a clip, drawn once up front (deterministic per seed)."""

    physiology: Physiology
    affines: np.ndarray  # [T, 2, 3]
    light: np.ndarray    # [T]
    noise_rng: np.random.Generator
    nod: np.ndarray      # [T] periodic nod in [-1, 1]
    jaw: np.ndarray      # [T] jaw opening in [0, 1]
    lamp: Optional[np.ndarray]  # [T, W, 3] extra light, or None


def _streams(seed: int) -> List[np.random.SeedSequence]:
    """Independent child seeds: physiology, motion, light, noise, jaw, lamp (the first
    four are those of older versions, so their clips are unchanged)."""
    why = SEED_RANGE.problem(seed)
    if why:
        raise ConfigError(f"seed {why}")
    return np.random.SeedSequence(int(seed)).spawn(6)


def _plan(cfg: VideoSynthConfig, seed: int) -> _Plan:
    """Draw the physiology, motion, light, noise, jaw and lamp streams of ``seed``."""
    phys_ss, motion_ss, light_ss, noise_ss, jaw_ss, lamp_ss = _streams(seed)
    phys = simulate_physiology(cfg, np.random.default_rng(phys_ss))
    affines, nod = simulate_motion(cfg, np.random.default_rng(motion_ss), phys.resp)
    light = simulate_light(cfg, np.random.default_rng(light_ss))
    jaw = simulate_jaw(cfg, np.random.default_rng(jaw_ss))
    lamp = simulate_lamp(cfg, np.random.default_rng(lamp_ss))
    return _Plan(phys, affines, light, np.random.default_rng(noise_ss), nod, jaw, lamp)


def _warp(img: np.ndarray, affine: np.ndarray, size: Tuple[int, int], border: int) -> np.ndarray:
    """Bilinear affine warp of ``img`` into an image of ``size`` = (width, height)."""
    return cv2.warpAffine(img, affine, size, flags=cv2.INTER_LINEAR, borderMode=border)


def skin_tone_factors(tone: float) -> np.ndarray:
    """Per-channel (R, G, B) reflectance factor of skin with melanin ``tone`` (0..1):
    darker overall and redder (green and blue fall faster), as in the MSTmap generator."""
    r, g, b = _phys.MELANIN_DARKENING
    dark = 1.0 - r * tone
    return np.array([dark, dark * (1.0 - g * tone), dark * (1.0 - b * tone)], np.float32)


@lru_cache(maxsize=4)
def toned_photo(tone: float = 0.0) -> np.ndarray:
    """The photo with its facial skin recoloured to melanin ``tone`` (float32 RGB)."""
    photo, mask = face_photo()
    if tone <= 0:
        return photo
    weight = np.clip(mask / 0.6, 0.0, 1.0)[..., None]
    f = skin_tone_factors(tone)[None, None, :]
    return (photo * (1.0 - weight * (1.0 - f))).astype(np.float32)


@lru_cache(maxsize=4)
def _pulse_layer(tone: float = 0.0) -> Tuple[np.ndarray, Tuple[int, int, int, int]]:
    """Photo x mask cropped to the mask's bounding box (float32 ``[h, w, 3]``) and that box
    ``(x0, y0, x1, y1)`` in photo pixels: only this part of the frame carries the pulse.
    With a skin ``tone`` the photo is recoloured and the pulse weakened (x(1 - 0.6 tone):
    melanin absorbs light before it reaches the blood)."""
    _, mask = face_photo()
    photo = toned_photo(tone)
    ys, xs = np.nonzero(mask > 1e-4)
    x0, y0, x1, y1 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
    layer = np.ascontiguousarray(photo[y0:y1, x0:x1] * mask[y0:y1, x0:x1, None] * (1.0 - _phys.MELANIN_PULSE_LOSS * tone))
    return layer, (x0, y0, x1, y1)


#: jaw region of the photo (rows): the mouth line, where the chin ends, where the neck stops following
_JAW_ROWS = (145.0, 168.0, 182.0, 215.0)


@lru_cache(maxsize=1)
def _jaw_weight() -> np.ndarray:
    """``[512, 512]`` float32 share of the jaw drop each photo pixel follows (0 above the
    mouth, 1 over the chin, fading along the neck; centred on the face horizontally)."""
    m, c, n0, n1 = _JAW_ROWS
    y = np.arange(512, dtype=np.float64)[:, None]
    x = np.arange(512, dtype=np.float64)[None, :]
    wy = np.clip((y - m) / (c - m), 0, 1) * np.clip(1.0 - (y - n0) / (n1 - n0), 0, 1)
    centre, _ = _face_geometry()
    wx = np.exp(-((x - centre[0]) / 42.0) ** 4)
    return (wy * wx).astype(np.float32)


def _open_jaw(img: np.ndarray, drop_px: float, offset: Tuple[int, int] = (0, 0)) -> np.ndarray:
    """Move the lower face of ``img`` (photo pixels, or a crop starting at ``offset``)
    down by ``drop_px`` times :func:`_jaw_weight`, and shade it slightly (open mouth)."""
    if drop_px <= 0:
        return img
    h, w = img.shape[:2]
    ox, oy = offset
    wgt = _jaw_weight()[oy:oy + h, ox:ox + w]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    out = cv2.remap(img, gx, gy - np.float32(drop_px) * wgt, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
    shade = 1.0 - 0.06 * (drop_px / 6.0) * wgt
    return out * (shade[..., None] if out.ndim == 3 else shade)


def _frame_box(affine: np.ndarray, box: Tuple[int, int, int, int], width: int, height: int
               ) -> Tuple[int, int, int, int]:
    """Integer frame-pixel box (clamped) that contains the photo box ``box`` after ``affine``."""
    x0, y0, x1, y1 = box
    corners = np.array([[x0, y0, 1.0], [x1, y0, 1.0], [x0, y1, 1.0], [x1, y1, 1.0]])
    pts = corners @ affine.T
    fx0 = int(np.clip(np.floor(pts[:, 0].min()) - 2, 0, width))
    fy0 = int(np.clip(np.floor(pts[:, 1].min()) - 2, 0, height))
    fx1 = int(np.clip(np.ceil(pts[:, 0].max()) + 3, 0, width))
    fy1 = int(np.clip(np.ceil(pts[:, 1].max()) + 3, 0, height))
    return fx0, fy0, fx1, fy1


def face_layers(photo: np.ndarray, layer: np.ndarray, box: Tuple[int, int, int, int], affine: np.ndarray,
                drop: float, size: Tuple[int, int]
                ) -> Tuple[np.ndarray, Optional[Tuple[int, int, int, int]], Optional[np.ndarray]]:
    """One frame's geometry, shared by the RGB and NIR renderers: ``photo`` with the jaw
    opened by ``drop`` pixels, warped by ``affine`` into a frame of ``size`` = (width, height),
    and the pulse ``layer`` (cropped at the photo box ``box``) warped only into the face's
    frame box. Returns ``(frame, frame box (x0, y0, x1, y1), pulse)``; the last two are None
    when the face is outside the frame."""
    src = _open_jaw(photo, drop)
    lay = _open_jaw(layer, drop, box[:2]) if drop > 0 else layer
    frame = _warp(src, affine, size, cv2.BORDER_REFLECT101)
    fx0, fy0, fx1, fy1 = _frame_box(affine, box, size[0], size[1])
    if fx1 <= fx0 or fy1 <= fy0:
        return frame, None, None
    # photo-box coordinates -> frame-box coordinates: shift both origins
    local = affine.copy()
    local[:, 2] += affine[:, :2] @ np.array(box[:2], np.float64) - np.array([fx0, fy0], np.float64)
    return frame, (fx0, fy0, fx1, fy1), _warp(lay, local, (fx1 - fx0, fy1 - fy0), cv2.BORDER_CONSTANT)


def nod_profile(cfg: VideoSynthConfig, affine: np.ndarray, nod: float, rows: np.ndarray) -> Optional[np.ndarray]:
    """Per-row light factor ``[H]`` of a nod (``nod_shading`` over the face height, around the
    face centre that ``affine`` puts in the frame), or None without one."""
    if not cfg.nod_shading or not nod:
        return None
    centre, face_h = _face_geometry()
    yc = float(affine[1, 0] * centre[0] + affine[1, 1] * centre[1] + affine[1, 2])
    fh = float(np.hypot(affine[1, 0], affine[1, 1]) * face_h)
    return 1.0 + cfg.nod_shading * float(nod) * np.clip((rows - yc) / fh, -1.0, 1.0)


def render_frames(cfg: VideoSynthConfig, seed: int) -> Iterator[np.ndarray]:
    """Yield the clip's frames one at a time (streamed, so long clips never sit in memory):
    RGB uint8 ``[H, W, 3]`` (:func:`render_rgb_frames`), or for a NIR ``camera`` ``HxW``
    uint16 (:func:`edge_rppg.synth.nir.render_nir_frames`)."""
    return CAMERAS.get(cfg.camera).frames(cfg, seed)


def render_rgb_frames(cfg: VideoSynthConfig, seed: int) -> Iterator[np.ndarray]:
    """Yield the clip's RGB uint8 frames ``[H, W, 3]`` one at a time.

    Per frame: open the jaw (talking) in photo space, warp the photo (float32) and
    subtract the pulsatile layer (photo x skin mask, warped only into the face's bounding
    box) times ``a * w_c * p(t)`` (blood absorbs: skin darkens as ``bvp`` rises), then
    apply the light — global drift/flicker, the second light source per column in its
    own colour, the nod's shading over the face height, the exposure — add noise
    (uniform bytes mapped through a normal quantile table), round and saturate to
    uint8, optionally mirror left-right (``mirror``: the face, its lighting and the
    lamps' sweep direction all flip, before the codec sees the frame) and JPEG-compress.
    """
    plan = _plan(cfg, seed)
    tone = float(cfg.skin_tone)
    photo = toned_photo(tone)
    layer, box = _pulse_layer(tone)
    weights = np.asarray(cfg.pulse_weights, np.float64) * cfg.pulse_amplitude
    lut = _noise_lut()
    size = (cfg.width, cfg.height)
    shape = (cfg.height, cfg.width, 3)
    nbytes = cfg.height * cfg.width * 3
    _, face_h = _face_geometry()
    rows = np.arange(cfg.height, dtype=np.float32)
    for i in range(cfg.n_frames):
        affine = plan.affines[i]
        light = float(plan.light[i]) * float(cfg.exposure)
        drop = float(cfg.talking_amplitude * face_h * plan.jaw[i])
        frame, fbox, pulse = face_layers(photo, layer, box, affine, drop, size)
        if fbox is not None and pulse is not None:
            fx0, fy0, fx1, fy1 = fbox
            k = -float(plan.physiology.bvp[i]) * weights
            frame[fy0:fy1, fx0:fx1] += cv2.multiply(pulse, (float(k[0]), float(k[1]), float(k[2]), 0.0))
        frame = cv2.multiply(frame, light)
        if plan.lamp is not None:
            frame *= (1.0 + plan.lamp[i])[None, :, :]
        prof = nod_profile(cfg, affine, float(plan.nod[i]), rows)
        if prof is not None:
            frame *= prof[:, None, None]
        if cfg.noise_sigma > 0:
            noise = cv2.LUT(np.frombuffer(plan.noise_rng.bytes(nbytes), np.uint8).reshape(shape), lut)
            frame = cv2.scaleAdd(noise, float(cfg.noise_sigma), frame)
        # clamp negatives, then round + saturate to uint8 (convertScaleAbs rounds half away)
        out = cv2.convertScaleAbs(cv2.max(frame, 0.0))
        if cfg.mirror:
            out = cv2.flip(out, 1)
        if cfg.jpeg_quality:
            ok, buf = cv2.imencode(".jpg", cv2.cvtColor(out, cv2.COLOR_RGB2BGR),
                                   [cv2.IMWRITE_JPEG_QUALITY, int(cfg.jpeg_quality)])
            out = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        yield out


def skin_masks(cfg: VideoSynthConfig, seed: int) -> Iterator[np.ndarray]:
    """Yield the per-frame pulse gain mask ``[H, W]`` float32 (0 = no pulse) of the clip
    rendered by :func:`render_frames` with the same ``cfg`` and ``seed``; for tests."""
    plan = _plan(cfg, seed)
    _, mask = face_photo()
    _, face_h = _face_geometry()
    for i in range(cfg.n_frames):
        m = _open_jaw(mask, float(cfg.talking_amplitude * face_h * plan.jaw[i]))
        m = _warp(m, plan.affines[i], (cfg.width, cfg.height), cv2.BORDER_CONSTANT)
        yield cv2.flip(m, 1) if cfg.mirror else m


def ground_truth(cfg: VideoSynthConfig, seed: int) -> Dict[str, object]:
    """The ground-truth record of the clip (what :func:`synth_video` writes as JSON)."""
    phys = _plan(cfg, seed).physiology
    return {
        "hr_bpm": phys.mean_hr_bpm,
        "beat_times_s": [round(float(b), 6) for b in phys.beat_times_s],
        "windows": phys.windows,
        "rf_hz": float(cfg.rf_hz),
        "fps": float(cfg.fps),
        "frames": int(cfg.n_frames),
        "bvp": [round(float(v), 6) for v in phys.bvp],
        "inst_hr_bpm": [round(float(v), 4) for v in phys.inst_hr_bpm],
        "config": cfg.to_dict(),
        "seed": int(seed),
    }


def synth_video(path: Union[str, Path], cfg: VideoSynthConfig = VideoSynthConfig(), seed: int = 0) -> Dict[str, object]:
    """Write a synthetic face video to ``path`` and its ground truth to
    ``path.with_suffix(".json")``; return the ground-truth dict. A NIR ``camera`` writes
    gray frames: 16-bit PNGs for a path without suffix, else a GRAY8 video.

    Keys: ``hr_bpm`` (mean), ``beat_times_s`` (systolic peaks), ``windows`` (HR per
    10 s window, 1 s hop; one window over the clip if it is shorter), ``rf_hz``,
    ``fps``, ``frames``, ``bvp`` and ``inst_hr_bpm`` (per frame; the skin's relative
    colour change is ``-pulse_amplitude * pulse_weights * bvp``: blood absorbs, so skin
    green falls as ``bvp`` — the blood volume — rises), ``config`` and ``seed``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    gt = ground_truth(cfg, seed)
    CAMERAS.get(cfg.camera).write(path, cfg, seed)
    path.with_suffix(".json").write_text(json.dumps(gt, indent=1))
    return gt


class Camera(Protocol):
    """How a camera's clip is rendered (``frames``) and written to a path (``write``)."""

    def frames(self, cfg: VideoSynthConfig, seed: int) -> Iterator[np.ndarray]:
        ...  # pragma: no cover - protocol

    def write(self, path: Path, cfg: VideoSynthConfig, seed: int) -> None:
        ...  # pragma: no cover - protocol


class RgbCamera:
    """The colour camera: :func:`render_rgb_frames`, written by :func:`~edge_rppg.frames.video.write_video`."""

    frames = staticmethod(render_rgb_frames)

    @staticmethod
    def write(path: Path, cfg: VideoSynthConfig, seed: int) -> None:
        """Write the clip as RGB (codec from the suffix, or ``cfg.codec``)."""
        from ..frames.video import write_video

        write_video(path, render_rgb_frames(cfg, seed), cfg.fps, codec=cfg.codec or None)


#: The colour camera of :data:`CAMERAS`.
RGB_CAMERA = RgbCamera()
