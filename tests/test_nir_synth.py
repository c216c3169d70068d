"""Rendered near-infrared in-car camera clips (edge_rppg.synth.nir): 10-bit mono frames, a
pulse several times weaker than green's, the illuminator's 1/d² fall-off, the CLI's
``synth --camera``, and no valid window on a pulseless NIR clip."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edge_rppg.frames.video import open_video
from edge_rppg.processor.estimation import estimate
from edge_rppg.processor.options import EstimateConfig
from edge_rppg.synth.nir import NIR_CAMERAS
from edge_rppg.synth.video_gen import PULSE_WEIGHTS, VideoSynthConfig, _plan, face_photo, render_frames

SMALL = dict(duration_s=1.0, fps=30.0, width=160, height=120, noise_sigma=0.0)


def test_nir_frames_are_10bit_mono() -> None:
    frames = list(render_frames(VideoSynthConfig(**SMALL, camera="nir940"), 1))
    assert len(frames) == 30 and frames[0].shape == (120, 160) and frames[0].dtype == np.uint16
    top = max(int(f.max()) for f in frames)
    assert 255 < top <= (1 << NIR_CAMERAS["nir940"].bit_depth) - 1


@pytest.mark.parametrize("camera", ["nir940", "nir850"])
def test_nir_pulse_is_several_times_weaker_than_green(camera: str) -> None:
    """The same seed with and without a pulse: on the skin, the NIR intensity changes by a
    few times less (relative to its DC) than the RGB render's green channel."""
    def rel_change(cam: str, channel: int) -> float:
        on = np.stack([f.astype(np.float64) for f in render_frames(VideoSynthConfig(**SMALL, camera=cam), 2)])
        off = np.stack([f.astype(np.float64) for f in render_frames(
            VideoSynthConfig(**SMALL, camera=cam, pulse_amplitude=0.0), 2)])
        if on.ndim == 4:
            on, off = on[..., channel], off[..., channel]
        skin = off.mean(axis=0) > 0.3 * off.max()
        return float(np.abs((on - off)[:, skin] / np.maximum(off[:, skin], 1.0)).max())
    nir, green = rel_change(camera, 0), rel_change("rgb", 1)
    assert nir > 0
    assert 1.5 < green / nir < 10.0
    assert abs(green / nir - PULSE_WEIGHTS[1] / NIR_CAMERAS[camera].pulse_weight) < 2.5


def test_illuminator_falls_off_with_distance() -> None:
    """A head moving to and from the camera: the NIR frame's brightness, relative to the RGB
    render of the same seed (same head path, ambient light), follows the face's scale squared."""
    rgb = VideoSynthConfig(**{**SMALL, "duration_s": 3.0}, motion="large")
    nir = VideoSynthConfig(**{**rgb.to_dict(), "camera": "nir940"})
    ratio = np.array([n.mean() / c[..., 0].mean() for n, c in zip(render_frames(nir, 4), render_frames(rgb, 4))])
    scale2 = np.abs(np.linalg.det(_plan(nir, 4).affines[:, :, :2]))
    assert np.ptp(scale2) / scale2.mean() > 0.03
    assert np.corrcoef(scale2, ratio)[0, 1] > 0.9


def test_photo_in_nir_has_brighter_smoother_skin() -> None:
    from edge_rppg.synth.nir import nir_photo

    photo, mask = face_photo()
    img, _ = nir_photo("nir940")
    skin = mask > 0.5
    rgb_skin = photo[..., 1][skin] / 255.0
    assert img[skin].mean() > rgb_skin.mean()
    assert img[skin].std() / img[skin].mean() < rgb_skin.std() / rgb_skin.mean()
    dark, _ = nir_photo("nir940", 0.9)
    assert dark[skin].mean() > 0.8 * img[skin].mean()    # little melanin dependence


def test_cli_synth_camera_writes_16bit_frames_at_60fps(tmp_path: Path) -> None:
    out = tmp_path / "nir"
    proc = subprocess.run([sys.executable, "-m", "edge_rppg.cli.main", "synth", str(out), "--camera", "nir940",
                           "--duration", "1", "--set", "width=160", "--set", "height=120", "--json"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["fps"] == NIR_CAMERAS["nir940"].fps and summary["frames"] == 60
    with open_video(out, fps=60.0) as reader:
        frame = next(iter(reader))
    assert frame.dtype == np.uint16 and frame.ndim == 2 and frame.max() > 255


@pytest.mark.parametrize("over", [
    {"periodic_motion_hz": 1.6, "periodic_motion_frac": 0.01, "nod_shading": 0.15},
    {"lamp_hz": 1.2, "lamp_amplitude": 1.5, "lamp_shape": "sweep"},
    {"lamp_hz": 1.3, "lamp_amplitude": 0.3, "lamp_shape": "flicker"},
])
def test_no_pulseless_nir_window_is_valid(over: dict) -> None:
    cfg = VideoSynthConfig(duration_s=14.0, fps=30.0, width=320, height=240, camera="nir940", pulse_amplitude=0.0,
                           noise_sigma=2.0, **over)
    est = estimate(list(render_frames(cfg, 9)), engine="default", config=EstimateConfig(progress=False),
                   fps=cfg.fps, color_space="gray")
    assert est.engine.color_space == "gray" and len(est.windows) >= 5
    assert not any(w.valid for w in est.windows) and not est.valid
