"""Synthetic face videos (edge_rppg.synth.video_gen): determinism, file/ground-truth
consistency, beat times vs HR, and that the pulse is really in the pixels — at the
ground-truth HR, strongest in green, only on skin, and recoverable through MediaPipe."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from edge_rppg.vitals.dsp.filters import bandpass
from edge_rppg.vitals.dsp.hr import hr_from_psd
from edge_rppg.synth.video_gen import (MOTION_LEVELS, PRESETS, VideoSynthConfig, ground_truth, physiology,
                                       pulse_template, render_frames, skin_masks, synth_video)
from edge_rppg.frames.video import open_video

SMALL = dict(duration_s=10.0, width=320, height=240)


def small(preset: str, **kw: object) -> VideoSynthConfig:
    """A preset shrunk to 10 s at 320x240 (fast), with overrides."""
    return dataclasses.replace(PRESETS[preset], **{**SMALL, **kw})


def read_frames(path: Path) -> np.ndarray:
    with open_video(path) as r:
        return np.stack(list(r))


def skin_rgb_means(frames: np.ndarray, cfg: VideoSynthConfig, seed: int) -> np.ndarray:
    """[T, 3] mean colour of the generator's own (moving) skin mask, mask-weighted."""
    out = []
    for f, m in zip(frames, skin_masks(cfg, seed)):
        out.append(m.ravel() @ f.reshape(-1, 3).astype(np.float32) / m.sum())
    return np.array(out, np.float64)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Three 10 s 320x240 clips (still / moderate motion / light drift) written to disk."""
    out = tmp_path_factory.mktemp("video_gen")
    made = {}
    for i, (name, hr) in enumerate([("still", 63.0), ("moderate_motion", 84.0), ("light_drift", 112.0)]):
        cfg = small(name, hr_bpm=hr)
        path = out / f"{name}.avi"
        gt = synth_video(path, cfg, seed=10 + i)
        made[name] = (path, gt, cfg, 10 + i, skin_rgb_means(read_frames(path), cfg, 10 + i))
    return made


def test_presets_and_config_roundtrip():
    for name in ("still", "moderate_motion", "light_drift"):
        assert name in PRESETS
    cfg = PRESETS["moderate_motion"]
    back = VideoSynthConfig.from_dict(json.loads(cfg.to_json()))
    assert back == cfg
    with pytest.raises(ValueError, match="motion"):
        VideoSynthConfig(motion="wild")
    with pytest.raises(ValueError, match="hr_bpm"):
        VideoSynthConfig(hr_bpm=5.0)
    assert set(MOTION_LEVELS) >= {"still", "moderate", "large"}


def test_deterministic_for_a_seed(tmp_path):
    cfg = VideoSynthConfig(duration_s=2.0, width=160, height=120, motion="moderate", light_drift=0.1)
    gt_a = synth_video(tmp_path / "a.avi", cfg, seed=5)
    gt_b = synth_video(tmp_path / "b.avi", cfg, seed=5)
    gt_c = synth_video(tmp_path / "c.avi", cfg, seed=6)
    assert gt_a == gt_b
    assert (tmp_path / "a.json").read_text() == (tmp_path / "b.json").read_text()
    a, b, c = (read_frames(tmp_path / f"{x}.avi") for x in "abc")
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert gt_a["beat_times_s"] != gt_c["beat_times_s"]


def test_motion_does_not_change_the_pulse_of_a_seed():
    a = ground_truth(small("still"), 3)
    b = ground_truth(small("moderate_motion"), 3)
    assert a["beat_times_s"] == b["beat_times_s"] and a["bvp"] == b["bvp"]


def test_video_and_json_are_consistent(clips):
    for path, gt, cfg, _, _ in clips.values():
        on_disk = json.loads(path.with_suffix(".json").read_text())
        assert on_disk == gt
        assert gt["frames"] == cfg.n_frames == 300
        assert gt["fps"] == cfg.fps == 30.0
        assert len(gt["bvp"]) == len(gt["inst_hr_bpm"]) == gt["frames"]
        assert gt["config"] == cfg.to_dict()
        with open_video(path) as r:
            assert r.fps == pytest.approx(cfg.fps)
            assert r.size == (cfg.width, cfg.height)
            assert sum(1 for _ in r) == gt["frames"]


def test_beat_times_match_hr():
    cfg = dataclasses.replace(PRESETS["still"], duration_s=30.0, hr_bpm=75.0, hrv=0.05)
    gt = ground_truth(cfg, 21)
    beats = np.array(gt["beat_times_s"])
    ibi = np.diff(beats)
    assert np.all(beats >= 0) and np.all(beats <= 30.0) and np.all(ibi > 0)
    assert abs(gt["hr_bpm"] - 75.0) < 75.0 * 0.05          # mean near the requested HR
    assert 60.0 / ibi.mean() == pytest.approx(gt["hr_bpm"], abs=1.0)
    assert ibi.std() > 0.005                                # HR variability is present
    # 30 s, 10 s windows, 1 s hop → 21 windows; each window's HR equals the beats in it
    assert len(gt["windows"]) == 21
    for w in gt["windows"][::5]:
        inside = beats[(beats >= w["t_start"]) & (beats < w["t_end"])]
        assert 60.0 / np.diff(inside).mean() == pytest.approx(w["hr_bpm"], abs=2.5)
    # the waveform peaks at the beat times (systolic peak at integer phase)
    phys = physiology(cfg, 21)
    at_beats, _ = phys.at(beats)
    off_beats, _ = phys.at(beats + 0.25 * ibi.mean())
    assert np.all(at_beats > off_beats)


def test_template_shape():
    u = np.linspace(0, 1, 1000, endpoint=False)
    p = pulse_template(u)
    assert abs(p.mean()) < 1e-3 and np.ptp(p) == pytest.approx(1.0, abs=1e-3)
    assert np.argmax(p) == 0                                 # systolic peak at phase 0
    assert p[int(0.2 * 1000)] > p[int(0.8 * 1000)]           # slower decay than rise


@pytest.mark.parametrize("name", ["still", "moderate_motion", "light_drift"])
def test_skin_green_peaks_at_ground_truth_hr(clips, name):
    _, gt, cfg, _, rgb = clips[name]
    reading = hr_from_psd(rgb[:, 1], cfg.fps)
    assert reading.valid
    assert reading.hr_bpm == pytest.approx(gt["hr_bpm"], abs=2.0)
    # the skin green falls as the ground-truth BVP (blood volume) rises: sign convention of synth_video
    assert np.corrcoef(bandpass(rgb[:, 1], cfg.fps), gt["bvp"])[0, 1] < -0.7


def test_colour_signature_strongest_in_green(clips):
    _, gt, cfg, _, rgb = clips["still"]
    norm = rgb / rgb.mean(0) - 1.0
    bvp = np.asarray(gt["bvp"])
    slopes = -np.array([np.polyfit(bvp, norm[:, c], 1)[0] for c in range(3)])  # blood absorbs: darker
    assert slopes[1] > slopes[2] > slopes[0] > 0
    ratio = slopes / slopes[1]
    w = np.asarray(cfg.pulse_weights) / cfg.pulse_weights[1]
    np.testing.assert_allclose(ratio, w, atol=0.1)


def test_pulse_only_on_skin_and_only_when_asked():
    with_pulse = small("still", hr_bpm=90.0, duration_s=6.0)
    without = dataclasses.replace(with_pulse, pulse_amplitude=0.0)
    a = np.stack(list(render_frames(with_pulse, 4)))
    b = np.stack(list(render_frames(without, 4)))          # same seed: same noise, light, motion
    g_a = bandpass(skin_rgb_means(a, with_pulse, 4)[:, 1], 30.0)
    g_b = bandpass(skin_rgb_means(b, without, 4)[:, 1], 30.0)
    assert g_b.std() < 0.1 * g_a.std()                       # negative control: noise only
    bg_a = bandpass(a[:, :20, :20, 1].reshape(len(a), -1).mean(1), 30.0)   # top-left: background
    assert bg_a.std() < 0.1 * g_a.std()


def test_mirror_flips_frames_and_masks_left_right():
    cfg = small("nodding", duration_s=1.0, noise_sigma=0.0)
    flipped = dataclasses.replace(cfg, mirror=True)
    for a, b in zip(render_frames(cfg, 4), render_frames(flipped, 4)):
        assert np.array_equal(a[:, ::-1], b)
        assert not np.array_equal(a, b)  # the face is not symmetric: the mirror is another layout
    for a, b in zip(skin_masks(cfg, 4), skin_masks(flipped, 4)):
        assert np.array_equal(a[:, ::-1], b)


def test_motion_levels_move_the_face():
    def centroid_path(cfg: VideoSynthConfig) -> np.ndarray:
        pts = []
        for m in skin_masks(cfg, 8):
            ys, xs = np.nonzero(m > 0.5)
            pts.append((xs.mean(), ys.mean()))
        return np.array(pts)

    still = centroid_path(small("still", duration_s=4.0))
    moving = centroid_path(small("moderate_motion", duration_s=4.0))
    assert np.ptp(still, axis=0).max() < 2.0
    assert np.ptp(moving, axis=0).max() > 3.0


def test_light_drift_changes_brightness():
    def brightness(cfg: VideoSynthConfig) -> np.ndarray:
        return np.array([f.mean() for f in render_frames(cfg, 9)])

    still = brightness(small("still", duration_s=6.0))
    drift = brightness(small("light_drift", duration_s=6.0))
    assert np.ptp(drift) / drift.mean() > 3 * np.ptp(still) / still.mean()


def test_mediapipe_pipeline_recovers_hr(clips):
    """End to end through FaceMesh + meta-ROIs: the whole-face green row of the MSTmap."""
    from edge_rppg.processor.extract import extract_mstmap

    path, gt, cfg, _, _ = clips["moderate_motion"]
    ext = extract_mstmap(path, progress=False)
    assert ext.valid.mean() > 0.95
    green = ext.mstmap[ext.valid, 62, 1].astype(np.float64)
    assert hr_from_psd(green, ext.fps).hr_bpm == pytest.approx(gt["hr_bpm"], abs=2.5)
