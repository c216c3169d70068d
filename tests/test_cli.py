"""The ``edge-rppg`` command line: acceptance on synthetic videos and one-line errors
with exit code 2 for every kind of bad input the foundation issue names."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import ground_truth

CLI = [sys.executable, "-m", "edge_rppg.cli.main"]


def run_cli(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for w in words:
        assert w.lower() in lines[0].lower(), lines[0]


@pytest.mark.parametrize("name", ["still", "moderate_motion", "light_drift"])
def test_estimate_pos_within_2_bpm(synth_videos, name):
    video = synth_videos[name]
    proc = run_cli("estimate", video, "--engine", "pos", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    truth = ground_truth(video)["hr_bpm"]
    assert out["valid"] is True
    assert abs(out["hr_bpm"] - truth) <= 2.0, (name, out["hr_bpm"], truth)
    for key in ("hr_bpm", "windows", "hrv", "rf_hz", "frames", "fps", "timing_ms"):
        assert key in out
    assert out["windows"] and {"t_start", "t_end", "hr_bpm", "quality", "valid"} <= set(out["windows"][0])
    assert out["frames"] == ground_truth(video)["frames"]


def test_estimate_plot_and_table(synth_videos, tmp_path):
    png = tmp_path / "plot.png"
    proc = run_cli("estimate", synth_videos["still"], "--engine", "chrom", "--plot", png, "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert "heart rate" in proc.stdout
    assert png.is_file() and png.read_bytes()[:4] == b"\x89PNG"


def test_missing_file(tmp_path):
    assert_one_line_error(run_cli("estimate", tmp_path / "nope.avi", "--engine", "pos"), "nope.avi")


def test_not_a_video(tmp_path):
    bad = tmp_path / "notes.avi"
    bad.write_text("this is not a video\n" * 100)
    assert_one_line_error(run_cli("estimate", bad, "--engine", "pos"))


def test_zero_frame_video(tmp_path):
    empty = tmp_path / "empty.avi"
    w = cv2.VideoWriter(str(empty), cv2.VideoWriter_fourcc(*"MJPG"), 30, (64, 64))
    w.release()
    assert_one_line_error(run_cli("estimate", empty, "--engine", "pos"))


def test_no_face(tmp_path):
    from edge_rppg.frames.video import write_video

    rng = np.random.default_rng(0)
    frames = [np.full((240, 320, 3), 128, np.uint8) + rng.integers(0, 3, (240, 320, 3), dtype=np.uint8)
              for _ in range(60)]
    path = tmp_path / "noface.avi"
    write_video(path, frames, 30.0)
    assert_one_line_error(run_cli("estimate", path, "--engine", "pos"), "face")


def test_clip_shorter_than_window(synth_videos, tmp_path):
    from edge_rppg.frames.video import open_video, write_video

    with open_video(synth_videos["still"]) as r:
        frames = [f for _, f in zip(range(90), r)]
    short = tmp_path / "short.avi"
    write_video(short, frames, 30.0)
    assert_one_line_error(run_cli("estimate", short, "--engine", "pos"), "window")


@pytest.mark.parametrize("kind", ["gray", "rgba", "16bit"])
def test_bad_frame_formats(tmp_path, kind):
    from skimage import data

    face = data.astronaut()
    folder = tmp_path / kind
    folder.mkdir()
    for i in range(5):
        img = {"gray": cv2.cvtColor(face, cv2.COLOR_RGB2GRAY),
               "rgba": cv2.cvtColor(face, cv2.COLOR_RGB2BGRA),
               "16bit": (face.astype(np.uint16) * 257)[..., ::-1]}[kind]
        cv2.imwrite(str(folder / f"frame_{i:04d}.png"), img)
    assert_one_line_error(run_cli("estimate", folder, "--engine", "pos"), "frame")


def test_unknown_engine(synth_videos):
    assert_one_line_error(run_cli("estimate", synth_videos["still"], "--engine", "nonsense"), "nonsense")


def test_synth_and_evaluate(tmp_path):
    for i, hr in enumerate([70.0, 95.0]):
        proc = run_cli("synth", tmp_path / f"clip{i}.avi", "--hr", hr, "--duration", 12, "--seed", i, "--json")
        assert proc.returncode == 0, proc.stderr
        assert abs(json.loads(proc.stdout)["hr_bpm"] - hr) < 3
    ba = tmp_path / "ba.png"
    proc = run_cli("evaluate", tmp_path, "--engines", "pos", "--json", "--bland-altman", ba)
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)["engines"]["pos"]["metrics"]
    assert res["coverage"] == 1.0 and res["mae"] < 3.0
    assert ba.is_file()


def test_help_lists_commands():
    proc = run_cli("--help")
    assert proc.returncode == 0
    for cmd in ("estimate", "synth", "evaluate", "demo"):
        assert cmd in proc.stdout


def test_default_engine_is_the_shipped_cluster_phys_model(synth_videos):
    from edge_rppg.pulse.engines.registry import DEFAULT_MODEL, default_engine_spec

    assert DEFAULT_MODEL.is_file(), "the shipped ONNX model is missing from edge_rppg/assets"
    assert default_engine_spec() == str(DEFAULT_MODEL)
    video = synth_videos["moderate_motion"]
    proc = run_cli("estimate", video, "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["engine"]["provider"].lower().startswith("cpu")
    assert out["engine"]["T"] == 160
    assert out["valid"] is True
    assert abs(out["hr_bpm"] - ground_truth(video)["hr_bpm"]) <= 3.0
