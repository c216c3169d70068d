"""Rendered near-infrared (NIR) in-car camera clips: the face photo as a monochrome
global-shutter sensor behind a 940 nm (or 850 nm) band-pass filter sees it.

Why its own renderer: a driver-monitoring camera is not an RGB webcam. It is lit mainly by
its own infrared LEDs next to the lens, has one channel, and sees the pulse as a small
intensity change. The frames of :func:`render_nir_frames` keep the RGB renderer's random
plan (physiology, head motion, talking jaw, nodding, light drift and flicker, the second
light's sweeps) for a seed, so a NIR clip has the same pulse and the same motion as the
RGB clip of that seed, and change what the optics change:

* **the photo in NIR** (:func:`nir_photo`): skin reflects near-infrared strongly and
  evenly (light penetrates deeper and scatters: brighter, smoother skin, blurred
  texture) with little dependence on melanin (``melanin_effect`` of the visible one);
  the rest of the scene is the photo's luminance;
* **the pulse at NIR amplitude**: skin intensity × ``1 - a · pulse_weight · bvp`` with
  ``pulse_weight`` several times below green's 0.77 (940 nm: 0.15, 850 nm: 0.22);
* **the on-axis illuminator**: intensity ∝ 1/d², so ∝ the square of the face's scale
  relative to its mean (a head moving towards the camera brightens), over a cone that
  falls off from the image centre; specular **glints** (eyes, nose tip, forehead) whose
  strength follows the head's rotation (a specular lobe);
* **sunlight leak**: the ambient part (``ambient`` of the illuminator) carries the RGB
  plan's slow drift and flicker, and the second light (``lamp_hz``, ``lamp_shape``:
  ``sweep`` = shadows and lamp posts crossing the face, ``flicker`` = tree shade) adds to
  it without colour;
* **the sensor**: 10-bit (0..1023) samples in uint16 with Gaussian read noise
  (``noise_sigma`` in 10-bit levels), 60 fps by default.

Frames are ``HxW`` uint16 (``bit_depth`` bits used); :func:`edge_rppg.synth.video_gen.synth_video`
writes them as 16-bit PNG frames (a path without suffix) or, shifted to 8 bits, a GRAY8
video (``.mkv``/``.avi``).
"""
from __future__ import annotations

import dataclasses
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterator, Tuple

import cv2
import numpy as np

__all__ = ["NirCamera", "NIR_CAMERAS", "NIR940", "NIR850", "nir_photo", "render_nir_frames", "GLINTS"]


@dataclasses.dataclass(frozen=True)
class NirCamera:
    """Optics of one NIR camera model (see the module docstring).

    pulse_weight: relative pulse modulation of skin intensity per unit ``pulse_amplitude``
        (green light's is 0.77 in :data:`edge_rppg.synth.video_gen.PULSE_WEIGHTS`).
    skin_gain: skin brightness relative to the photo's red channel (NIR skin is bright).
    melanin_effect: share of the visible melanin darkening that remains.
    ambient: sunlight through the filter, relative to the illuminator (940 nm: water
        vapour absorbs most of the sun's 940 nm light; 850 nm lets more in).
    glint: peak brightness of the specular glints (relative to full scale).
    bit_depth: bits of the sensor's samples; fps: its default frame rate.
    """

    name: str
    pulse_weight: float
    skin_gain: float
    melanin_effect: float
    ambient: float
    glint: float = 0.35
    bit_depth: int = 10
    fps: float = 60.0

    def frames(self, cfg: "VideoSynthConfig", seed: int) -> Iterator[np.ndarray]:  # noqa: F821
        """The clip's ``HxW`` uint16 frames (:func:`render_nir_frames`)."""
        return render_nir_frames(cfg, seed)

    def write(self, path: Path, cfg: "VideoSynthConfig", seed: int) -> None:  # noqa: F821
        """16-bit PNG frames for a ``path`` without suffix, else its top 8 bits as a GRAY8 video."""
        from ..frames.video import write_video

        shift = self.bit_depth - 8
        frames = render_nir_frames(cfg, seed)
        if path.suffix:
            frames = ((f >> shift).astype(np.uint8) for f in frames)
        write_video(path, frames, cfg.fps, codec=cfg.codec or None, color_space="gray")


#: The 940 nm and 850 nm cameras (``VideoSynthConfig.camera`` ``"nir940"``, ``"nir850"``;
#: :data:`edge_rppg.synth.video_gen.CAMERAS` names them).
NIR940 = NirCamera("nir940", pulse_weight=0.15, skin_gain=1.25, melanin_effect=0.1, ambient=0.15)
NIR850 = NirCamera("nir850", pulse_weight=0.22, skin_gain=1.2, melanin_effect=0.2, ambient=0.3)
NIR_CAMERAS: Dict[str, NirCamera] = {c.name: c for c in (NIR940, NIR850)}

#: Specular glints in photo pixels: (x, y, radius) of the eyes (corneal reflections), the nose
#: tip and the forehead (FaceMesh eye, nose-tip and forehead landmarks of the photo).
GLINTS: Tuple[Tuple[float, float, float], ...] = ((203.0, 102.0, 1.5), (247.0, 104.0, 1.5),
                                                  (222.5, 130.0, 2.5), (226.0, 82.0, 3.5))
#: Fraction of full scale that a fully lit face's skin reaches (headroom for glints and the sun).
SKIN_LEVEL = 0.55


@lru_cache(maxsize=8)
def nir_photo(camera: str, tone: float = 0.0) -> Tuple[np.ndarray, np.ndarray]:
    """The photo as ``camera`` sees it, float32 ``[512, 512]`` in 0..1 of the illuminated
    level, and its pulse layer (NIR skin × the RGB renderer's pulse mask), both cached."""
    from .video_gen import face_photo, skin_tone_factors

    cam = NIR_CAMERAS[camera]
    photo, mask = face_photo()
    lum = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY) / 255.0
    skin = cv2.GaussianBlur(photo[..., 0] / 255.0, (0, 0), 2.0) * cam.skin_gain   # deeper, smoother scattering
    if tone > 0:
        skin = skin * (1.0 - cam.melanin_effect * (1.0 - float(skin_tone_factors(tone)[0])))
    weight = np.clip(mask / 0.6, 0.0, 1.0)
    img = (lum * (1.0 - weight) + np.clip(skin, 0.0, 1.0) * weight).astype(np.float32)
    return img, (img * mask).astype(np.float32)


@lru_cache(maxsize=1)
def _glint_layer() -> np.ndarray:
    """``[512, 512]`` float32 Gaussian spots at :data:`GLINTS` (peak 1)."""
    y, x = np.mgrid[0:512, 0:512].astype(np.float32)
    out = np.zeros((512, 512), np.float32)
    for gx, gy, r in GLINTS:
        out = np.maximum(out, np.exp(-((x - gx) ** 2 + (y - gy) ** 2) / (2.0 * r * r)))
    return out


def _cone(width: int, height: int) -> np.ndarray:
    """The illuminator's cone over the frame, ``[H, W]`` float32, 1 at the centre, ~0.55 at the corners."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r2 = ((x - width / 2.0) / width) ** 2 + ((y - height / 2.0) / height) ** 2
    return (1.0 / (1.0 + 1.6 * r2)).astype(np.float32)


def render_nir_frames(cfg: "VideoSynthConfig", seed: int) -> Iterator[np.ndarray]:  # noqa: F821
    """Yield the NIR clip's ``HxW`` uint16 frames (module docstring), one at a time."""
    from .video_gen import _face_geometry, _open_jaw, _plan, _warp, face_layers, nod_profile

    cam = NIR_CAMERAS[cfg.camera]
    plan = _plan(cfg, seed)
    photo, layer_full = nir_photo(cfg.camera, float(cfg.skin_tone))
    ys, xs = np.nonzero(layer_full > 1e-4)
    box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    layer = np.ascontiguousarray(layer_full[box[1]:box[3], box[0]:box[2]])
    glints = _glint_layer()
    size = (cfg.width, cfg.height)
    cone = _cone(cfg.width, cfg.height)
    full = float((1 << cam.bit_depth) - 1)
    scale = SKIN_LEVEL * full * float(cfg.exposure)
    k_pulse = cam.pulse_weight * float(cfg.pulse_amplitude)
    det = np.sqrt(np.abs(np.linalg.det(plan.affines[:, :, :2])))
    illum = (det / float(np.mean(det))) ** 2                      # 1/d²: the face's scale squared
    rot = np.arctan2(plan.affines[:, 1, 0], plan.affines[:, 0, 0])
    lobe = np.exp(-(rot / np.deg2rad(4.0)) ** 2)                   # the glints' specular lobe
    _, face_h = _face_geometry()
    rows = np.arange(cfg.height, dtype=np.float32)
    rng = plan.noise_rng
    for i in range(cfg.n_frames):
        affine = plan.affines[i]
        drop = float(cfg.talking_amplitude * face_h * plan.jaw[i])
        refl, fbox, pulse = face_layers(photo, layer, box, affine, drop, size)
        if fbox is not None and pulse is not None:
            fx0, fy0, fx1, fy1 = fbox
            refl[fy0:fy1, fx0:fx1] -= pulse * np.float32(k_pulse * float(plan.physiology.bvp[i]))
        light = cone * np.float32(illum[i]) + np.float32(cam.ambient * float(plan.light[i]))
        if plan.lamp is not None:
            light = light + np.float32(cam.ambient) * plan.lamp[i][None, :, 0] / max(float(cfg.lamp_color[0]), 1e-6)
        prof = nod_profile(cfg, affine, float(plan.nod[i]), rows)
        if prof is not None:
            light = light * prof[:, None]
        frame = refl * light * np.float32(scale)
        spots = _warp(_open_jaw(glints, drop), affine, size, cv2.BORDER_CONSTANT)
        frame += spots * np.float32(cam.glint * full * lobe[i] * illum[i])
        if cfg.noise_sigma > 0:
            frame += rng.standard_normal(frame.shape, dtype=np.float32) * np.float32(cfg.noise_sigma)
        out = np.clip(np.rint(frame), 0.0, full).astype(np.uint16)
        yield cv2.flip(out, 1) if cfg.mirror else out
