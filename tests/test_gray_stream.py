"""A monochrome near-infrared camera end to end: a rendered NIR clip (edge_rppg.synth, 10-bit)
as a 16-bit PNG folder and as a GRAY8 video gives the same windows, bit for bit, through
``estimate()`` (the file), ``EdgeRPPG.process()`` (a live stream, ``keep_clip``) and the
``run`` pipeline (source thread → queue → processor); the CLI takes ``--color-space gray``
and turns every colour-space mismatch into one line and exit code 2. Real face models,
real files; nothing replaced."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edge_rppg import EdgeRPPG
from edge_rppg.errors import ColorSpaceError, FrameColorSpaceError
from edge_rppg.face.options import LandmarkerOptions
from edge_rppg.frames.video import open_video, write_video
from edge_rppg.processor.estimation import estimate
from edge_rppg.processor.options import BaseOptions, EstimateConfig
from edge_rppg.runtime.pipeline import Pipeline
from edge_rppg.runtime.source_base import IterSource
from edge_rppg.synth.video_gen import VideoSynthConfig, synth_video

FPS = 30.0
CLI = [sys.executable, "-m", "edge_rppg.cli.main"]


@pytest.fixture(scope="module")
def nir(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A 12 s 320x240 NIR clip (940 nm camera, 10-bit): a 16-bit PNG folder, a GRAY8 video of
    the same frames shifted to 8 bits, both frame lists and the truth."""
    out = tmp_path_factory.mktemp("nir")
    cfg = VideoSynthConfig(duration_s=12.0, fps=FPS, width=320, height=240, hr_bpm=74.0, motion="still",
                           camera="nir940", noise_sigma=2.0)
    gt = synth_video(out / "nir16", cfg, seed=21)
    with open_video(out / "nir16", fps=FPS) as reader:
        frames16 = list(reader)
    frames8 = [(f >> 2).astype(np.uint8) for f in frames16]
    write_video(out / "nir8.avi", frames8, FPS, color_space="gray")
    return {"16": (out / "nir16", frames16), "8": (out / "nir8.avi", frames8), "gt": gt, "dir": out}


def _same_windows(a, b) -> None:
    assert [(w.t_start, w.t_end) for w in a.windows] == [(w.t_start, w.t_end) for w in b.windows]
    assert [w.hr_bpm for w in a.windows] == [w.hr_bpm for w in b.windows]
    assert [w.quality for w in a.windows] == [w.quality for w in b.windows]
    assert [w.valid for w in a.windows] == [w.valid for w in b.windows]
    np.testing.assert_array_equal(a.bvp, b.bvp)


@pytest.mark.parametrize("depth", ["8", "16"])
def test_file_stream_and_run_give_identical_gray_windows(nir: dict, depth: str) -> None:
    path, frames = nir[depth]
    assert frames[0].dtype == (np.uint16 if depth == "16" else np.uint8) and frames[0].ndim == 2
    fps = FPS if depth == "16" else None    # a PNG folder has no rate; the video has its own
    est = estimate(path, engine="mono", config=EstimateConfig(progress=False), fps=fps, color_space="gray")
    assert est.engine.color_space == "gray" and est.frames == len(frames)
    with EdgeRPPG("mono", color_space="gray", keep_clip=True, input_fps=FPS, face_select="first",
                  landmarks=LandmarkerOptions(), roi_backend="cpu") as rppg:
        for i, f in enumerate(frames):
            rppg.process(f, timestamp=i / FPS)
        live = rppg.clip_estimate()
    pipe = Pipeline.create(IterSource(frames, fps=FPS), base_options=BaseOptions(model="mono"), color_space="gray",
                           landmarks=LandmarkerOptions(), face_select="first", roi_backend="cpu", keep_clip=True)
    report = pipe.run()
    pipe.close()
    assert report.processed == len(frames) and report.dropped_bad == 0 and report.estimate is not None
    _same_windows(live, est)
    _same_windows(report.estimate, est)
    assert est.valid and abs(est.hr_bpm - nir["gt"]["hr_bpm"]) < 3.0


def test_the_16bit_file_is_measured_at_16_bits(nir: dict) -> None:
    """The MSTmap of the 16-bit folder carries the 10-bit samples (not the 8-bit ones): its
    means are ~4x those of the GRAY8 video of the same frames, and not exactly 4x."""
    from edge_rppg.processor.extract import extract_mstmap
    from edge_rppg.processor.options import video_options

    opts = video_options("mono", EstimateConfig(color_space="gray"))
    m16 = extract_mstmap(nir["16"][0], fps=FPS, progress=False, options=opts)
    m8 = extract_mstmap(nir["8"][0], progress=False, options=opts)
    assert m16.mstmap.shape[1:] == (63, 1) and m16.light.shape == (len(m16), 1)
    ok = m16.valid & m8.valid
    ratio = m16.mstmap[ok] / m8.mstmap[ok]
    assert 3.9 < float(np.nanmedian(ratio)) < 4.2
    assert not np.allclose(m16.mstmap[ok], 4.0 * m8.mstmap[ok], rtol=1e-4)


def test_api_mismatches_are_specific_errors(nir: dict) -> None:
    frames = nir["8"][1]
    with pytest.raises(ColorSpaceError, match="takes rgb input"):
        EdgeRPPG("pos", color_space="gray")
    with EdgeRPPG(color_space="gray", roi_backend="cpu") as rppg:
        assert rppg.engine.info.color_space == "gray"
        with pytest.raises(FrameColorSpaceError):
            rppg.process(np.dstack([frames[0]] * 3), timestamp=0.0)
        assert rppg.bad_frames == 1
    with pytest.raises(FrameColorSpaceError, match="grayscale"):
        estimate(nir["8"][0], engine="pos", config=EstimateConfig(progress=False))


def _cli(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=300)


def test_cli_estimate_and_run_take_color_space_gray(nir: dict) -> None:
    est = _cli("estimate", nir["16"][0], "--fps", FPS, "--color-space", "gray", "--json")
    assert est.returncode == 0, est.stderr
    data = json.loads(est.stdout)
    assert data["engine"]["color_space"] == "gray" and data["valid"]
    assert abs(data["hr_bpm"] - nir["gt"]["hr_bpm"]) < 3.0
    out = nir["dir"] / "run.jsonl"
    run = _cli("run", "--source", nir["8"][0], "--color-space", "gray", "--sink", f"json:{out}", "--quiet")
    assert run.returncode == 0, run.stderr
    lines = [json.loads(s) for s in out.read_text().splitlines()]
    assert len(lines) == len(nir["8"][1]) and lines[-1]["hr_bpm"] is not None


@pytest.mark.parametrize("args, words", [
    (("estimate", "{8}"), ("grayscale", "--color-space gray")),
    (("estimate", "{8}", "--color-space", "gray", "--model", "chrom"), ("chrom", "rgb input")),
    (("run", "--source", "{8}", "--sink", "null"), ("grayscale",)),
    (("run", "--source", "{8}", "--color-space", "gray", "--model", "pos", "--sink", "null"), ("rgb input",)),
    (("run", "--source", "synth:?frames=20&width=160&height=120", "--color-space", "gray", "--sink", "null"),
     ("no frame", "colour", "color_space='gray'")),
])
def test_cli_mismatch_is_one_line_exit_2(nir: dict, args: tuple, words: tuple) -> None:
    proc = _cli(*[str(nir["8"][0]) if a == "{8}" else a for a in args])
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert all(w.lower() in lines[0].lower() for w in words), lines[0]
