"""The ``rendered`` training source: face videos rendered and run through the product's front end.

Each clip is a :mod:`edge_rppg.synth.video_gen` video whose conditions are drawn from
:class:`RenderDraws` (heart rate, pulse strength, skin tone, head motion, nodding,
talking, a second light in its own colour, low light, sensor noise, JPEG, beat shape,
pulseless clips), rendered once and put through the landmarker, meta-ROI polygons and
ROI averaging that ``estimate`` uses (:func:`edge_rppg.synth.rendered.rendered_extraction`,
cached). So the model sees what it will see in deployment: landmark jitter, polygon
edges, codec blocks, light that moves with the head — which the MSTmap generator only
models. Windows of ``source_len`` frames are cut every ``stride`` frames, as for a
dataset reader. Clip ``i`` uses seed ``seed_offset + i``; the draws come from
``default_rng([seed, 29])``, so a clip is a pure function of its seed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Dict, Sequence, Tuple

import numpy as np
from tqdm.auto import tqdm

from edge_rppg.config import Config
from edge_rppg.errors import DatasetError

from .config import DataSpec
from .data import MODEL_FPS, Clip, WindowedClipDataset

Range = Tuple[float, float]

#: Colours of the second light: sodium street lamp, warm screen, white LED, cool screen.
LAMP_COLOURS: Tuple[Tuple[float, float, float], ...] = (
    (1.0, 0.55, 0.08), (1.0, 0.72, 0.42), (1.0, 0.95, 0.9), (0.75, 0.85, 1.0))


@dataclass
class RenderDraws(Config):
    """What the rendered source draws per clip (ranges are uniform unless named log).

    Probabilities switch a condition on; the ranges set its strength. ``pulseless_prob``
    clips have no pulse and always one periodic artefact (a nod or the light), so that
    "no pulse" is learnt against something that looks like one. By default every clip is
    the photo's mirror image (``mirror_prob``), so that the realistic-conditions benchmark,
    which renders the photo as it is, tests a face layout, lighting side and lamp-sweep
    direction that training never saw.
    """

    duration_s: float = 20.0
    width: int = 320
    height: int = 240
    face_height_frac: Range = (0.3, 0.55)
    hr_bpm: Range = (45.0, 150.0)
    hrv: Range = (0.01, 0.08)
    rf_hz: Range = (0.1, 0.4)
    pulse_amplitude: Range = (0.004, 0.025)          # log-uniform
    skin_tone: Range = (0.0, 1.0)
    motion_weights: Tuple[float, float, float] = (0.5, 0.35, 0.15)  # still, moderate, large
    periodic_motion_prob: float = 0.25
    periodic_motion_hz: Range = (0.7, 2.5)
    periodic_motion_frac: Range = (0.003, 0.015)
    nod_shading: Range = (0.0, 0.2)
    talking_prob: float = 0.2
    talking_hz: Range = (3.0, 6.0)
    talking_amplitude: Range = (0.02, 0.07)
    lamp_prob: float = 0.3
    lamp_hz: Range = (0.6, 2.5)
    lamp_amplitude: Range = (0.02, 0.3)               # log-uniform
    light_drift_prob: float = 0.3
    light_drift: Range = (0.02, 0.2)
    low_light_prob: float = 0.25
    exposure: Range = (0.25, 0.7)
    noise_sigma: Range = (0.5, 4.0)
    jpeg_prob: float = 0.3
    jpeg_quality: Tuple[int, int] = (20, 70)
    real_morphology_prob: float = 0.5
    pulseless_prob: float = 0.15
    mirror_prob: float = 1.0   # the photo's mirror image: bench_realistic renders it unmirrored, a layout never trained on
    camera: str = "rgb"        # VideoSynthConfig.camera: "nir940"/"nir850" render gray NIR clips ([T, 63, 1] MSTmaps)


def _log_uniform(rng: np.random.Generator, r: Range) -> float:
    return float(math.exp(rng.uniform(math.log(r[0]), math.log(r[1]))))


def draw_video(draws: RenderDraws, seed: int) -> Tuple[Any, bool]:
    """``(VideoSynthConfig, has_pulse)`` of the rendered training clip with ``seed``."""
    from edge_rppg.synth.video_gen import LAMP_SHAPES, VideoSynthConfig

    rng = np.random.default_rng([int(seed), 29])
    d = draws
    u = lambda r: float(rng.uniform(*r))  # noqa: E731 - a short local helper
    pulseless = bool(rng.random() < d.pulseless_prob)
    p: Dict[str, Any] = {
        "duration_s": d.duration_s, "width": d.width, "height": d.height, "face_height_frac": u(d.face_height_frac),
        "hr_bpm": u(d.hr_bpm), "hrv": u(d.hrv), "rf_hz": u(d.rf_hz), "skin_tone": u(d.skin_tone),
        "pulse_amplitude": 0.0 if pulseless else _log_uniform(rng, d.pulse_amplitude),
        "motion": ("still", "moderate", "large")[int(rng.choice(3, p=np.asarray(d.motion_weights) /
                                                               sum(d.motion_weights)))],
        "morphology": "real" if rng.random() < d.real_morphology_prob else "template",
        "noise_sigma": u(d.noise_sigma),
    }
    forced = int(rng.integers(0, 2)) if pulseless else -1  # 0: a nod, 1: the light
    if forced == 0 or rng.random() < d.periodic_motion_prob:
        p.update(periodic_motion_hz=u(d.periodic_motion_hz), periodic_motion_frac=u(d.periodic_motion_frac),
                 nod_shading=u(d.nod_shading))
    if rng.random() < d.talking_prob:
        p.update(talking_hz=u(d.talking_hz), talking_amplitude=u(d.talking_amplitude))
    if forced == 1 or rng.random() < d.lamp_prob:
        shapes = sorted(LAMP_SHAPES)
        p.update(lamp_hz=u(d.lamp_hz), lamp_amplitude=_log_uniform(rng, d.lamp_amplitude),
                 lamp_shape=shapes[int(rng.integers(0, len(shapes)))],
                 lamp_color=LAMP_COLOURS[int(rng.integers(0, len(LAMP_COLOURS)))])
    if rng.random() < d.light_drift_prob:
        p["light_drift"] = u(d.light_drift)
    if rng.random() < d.low_light_prob:
        p["exposure"] = u(d.exposure)
    if rng.random() < d.jpeg_prob:
        p["jpeg_quality"] = int(rng.integers(d.jpeg_quality[0], d.jpeg_quality[1] + 1))
    p["mirror"] = bool(rng.random() < d.mirror_prob)
    p["camera"] = d.camera   # drawn last: an RGB clip of a seed is the same as before the field existed
    return VideoSynthConfig(**p), not pulseless


def rendered_clip(draws: RenderDraws, seed: int, cache: str) -> Clip:
    """The whole rendered clip of ``seed`` as a 30 Hz :class:`Clip` (MSTmap from the front
    end with invalid frames filled, ground-truth pulse and instantaneous HR per frame)."""
    from edge_rppg.skin.mstmap import fill_invalid
    from edge_rppg.synth.rendered import rendered_extraction
    from edge_rppg.synth.video_gen import physiology

    cfg, has_pulse = draw_video(draws, seed)
    if abs(cfg.fps - MODEL_FPS) > 1e-6:  # pragma: no cover - the draws render at 30 fps
        raise DatasetError(f"rendered clips are expected at {MODEL_FPS:g} fps, got {cfg.fps:g}")
    ex = rendered_extraction(cfg, seed, cache)
    phys = physiology(cfg, seed)
    n = min(len(ex.valid), phys.bvp.size)
    mst = np.asarray(fill_invalid(np.asarray(ex.mstmap[:n], np.float32), np.asarray(ex.valid[:n], bool)), np.float32)
    bvp = np.asarray(phys.bvp[:n], np.float32) * float(has_pulse)
    hr = np.asarray(phys.inst_hr_bpm[:n], np.float32) if has_pulse else np.full(n, np.nan, np.float32)
    return Clip(mst, bvp, hr, MODEL_FPS, has_pulse)


class RenderedClipDataset(WindowedClipDataset):
    """``spec.n_clips`` rendered clips (seeds ``spec.seed_offset + i``, draws
    :class:`RenderDraws` overridden by ``spec.synth``), rendered or loaded from
    ``spec.cache_dir`` at construction and cut into windows every ``stride`` frames."""

    def __init__(self, spec: DataSpec, T: int, stride: int, augment: Sequence[Dict[str, Any]] = (),
                 seed: int = 0, source_id: int = 0) -> None:
        super().__init__(T, augment, seed, source_id)
        if not spec.cache_dir:
            raise DatasetError("the rendered source needs cache_dir (where its extractions are kept)")
        self.spec = spec
        self.draws = RenderDraws.from_dict(dict(spec.synth))
        seeds = range(spec.seed_offset, spec.seed_offset + spec.n_clips)
        self.clips = [rendered_clip(self.draws, s, spec.cache_dir)
                      for s in tqdm(seeds, desc="rendered clips", unit="clip", leave=False)]
        self.index_windows(stride, f"no rendered clip has the {self.T} frames a window needs; raise duration_s")

    def describe(self) -> Dict[str, Any]:
        """Source, draws, seed range and window count."""
        first = self.spec.seed_offset
        return {"source": "rendered", "draws": self.draws.to_dict(), "seeds": [first, first + self.spec.n_clips],
                "n_clips": len(self.index), "stride": self.stride, "source_frames": self.source_len,
                "pulseless_clips": int(sum(not c.has_pulse for c in self.clips))}
