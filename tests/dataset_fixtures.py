"""Tiny datasets in the exact on-disk layouts of UBFC-rPPG, PURE, VIPL-HR and MMSE-HR,
built from synthetic face videos so that the reference PPG and HR are known exactly.

Each ``make_*`` writes into ``root`` and returns ``{recording name: Truth}``. Videos are
small (320x240, a few seconds) so that building all four takes about a second.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Dict, Sequence, Tuple

import cv2
import numpy as np

from edge_rppg.synth.video_gen import VideoSynthConfig, physiology, synth_video
from edge_rppg.frames.video import open_video

#: Small, fast clip settings shared by the fixtures.
BASE = VideoSynthConfig(duration_s=6.0, fps=30.0, width=320, height=240, motion="still", hrv=0.02)


@dataclasses.dataclass
class Truth:
    """What a fixture recording was made from."""

    hr_bpm: float          # mean HR of the synthetic clip
    frames: int
    fps: float
    ppg_samples: int       # samples written to the reference file
    ppg_fs: float          # nominal reference rate


def _clip(scratch: Path, name: str, hr: float, seed: int, fps: float = 30.0) -> Tuple[Path, dict, VideoSynthConfig]:
    """Render one synthetic clip into ``scratch``; returns (video, ground truth, config)."""
    cfg = dataclasses.replace(BASE, hr_bpm=hr, fps=fps)
    video = scratch / f"{name}.avi"
    gt = synth_video(video, cfg, seed=seed)
    return video, gt, cfg


def _frames(video: Path) -> list:
    with open_video(video) as r:
        return list(r)


def make_ubfc(root: Path, specs: Sequence[Tuple[str, float, int]] = (("subject1", 66.0, 1), ("subject3", 95.0, 2))
              ) -> Dict[str, Truth]:
    """``root/<subject>/vid.avi`` + ``ground_truth.txt`` (PPG, HR, timestamps; one sample per frame)."""
    out = {}
    scratch = root / "_scratch"
    for name, hr, seed in specs:
        video, gt, cfg = _clip(scratch, name, hr, seed)
        sub = root / name
        sub.mkdir(parents=True, exist_ok=True)
        shutil.move(str(video), sub / "vid.avi")
        t = np.arange(gt["frames"]) / cfg.fps
        bvp, inst = physiology(cfg, seed).at(t)
        ppg = 2.0 * bvp + 0.1 * np.sin(2 * np.pi * 0.05 * t)      # arbitrary units, slow baseline
        lines = [" ".join(f"{v:.7e}" for v in row) for row in (ppg, inst, t)]
        (sub / "ground_truth.txt").write_text("\n".join(lines) + "\n")
        out[name] = Truth(gt["hr_bpm"], gt["frames"], cfg.fps, len(t), cfg.fps)
    shutil.rmtree(scratch)
    return out


def make_pure(root: Path, specs: Sequence[Tuple[str, float, int]] = (("01-01", 72.0, 3),), nested: bool = False
              ) -> Dict[str, Truth]:
    """``root/NN-NN/Image<ns>.png`` + ``root/NN-NN.json`` (``nested``: the per-session
    archive form ``root/NN-NN/NN-NN/...`` + ``root/NN-NN/NN-NN.json``), 60 Hz oximeter."""
    out = {}
    scratch = root / "_scratch"
    t0_ns = 1392643993642815000
    for name, hr, seed in specs:
        video, gt, cfg = _clip(scratch, name, hr, seed)
        frame_dir = root / name / name if nested else root / name
        js = root / name / f"{name}.json" if nested else root / f"{name}.json"
        frame_dir.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(seed)
        frames = _frames(video)
        ft = np.arange(len(frames)) / cfg.fps + rng.uniform(-1e-3, 1e-3, len(frames))  # capture jitter
        ft[0] = 0.0
        ft_ns = t0_ns + np.round(ft * 1e9).astype(np.int64)
        for f, ns in zip(frames, ft_ns):
            cv2.imwrite(str(frame_dir / f"Image{ns}.png"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
        pt = np.arange(-0.2, len(frames) / cfg.fps + 0.2, 1 / 60.0)              # oximeter starts earlier
        bvp, inst = physiology(cfg, seed).at(np.clip(pt, 0, None))
        pkg = [{"Timestamp": int(t0_ns + round(t * 1e9)),
                "Value": {"waveform": int(round(60 + 40 * b)), "signalStrength": 4, "pulseRate": int(round(h)),
                          "o2saturation": 98}} for t, b, h in zip(pt, bvp, inst)]
        js.write_text(json.dumps({"/FullPackage": pkg, "/Image": [{"Timestamp": int(ns)} for ns in ft_ns]}))
        out[name] = Truth(gt["hr_bpm"], len(frames), cfg.fps, len(pt), 60.0)
    shutil.rmtree(scratch)
    return out


def make_vipl(root: Path, specs: Sequence[Tuple[str, float, int]] = (("p1/v1/source1", 78.0, 4),
                                                                    ("p1/v1-2/source2", 110.0, 5)),
              with_nir: bool = True) -> Dict[str, Truth]:
    """``root/pX/vY/sourceZ/{video.avi, wave.csv (60 Hz), gt_HR.csv (1 Hz), time.txt (ms)}``;
    ``with_nir`` adds a ``source4`` copy the reader must skip by default."""
    out = {}
    scratch = root / "_scratch"
    for rel, hr, seed in specs:
        name = rel.replace("/", "_")
        video, gt, cfg = _clip(scratch, name, hr, seed)
        src = root / rel
        src.mkdir(parents=True, exist_ok=True)
        shutil.move(str(video), src / "video.avi")
        dur = gt["frames"] / cfg.fps
        wt = np.arange(0.0, dur, 1 / 60.0)
        bvp, _ = physiology(cfg, seed).at(wt)
        (src / "wave.csv").write_text("Wave\n" + "\n".join(str(int(round(128 + 60 * b))) for b in bvp) + "\n")
        sec = np.arange(int(dur)) + 0.5
        _, inst = physiology(cfg, seed).at(sec)
        (src / "gt_HR.csv").write_text("HR\n" + "\n".join(str(int(round(h))) for h in inst) + "\n")
        ms = np.round(np.arange(gt["frames"]) * 1000.0 / cfg.fps).astype(int) + 1000
        (src / "time.txt").write_text("\n".join(str(m) for m in ms) + "\n")
        if with_nir:
            nir = src.parent / "source4"
            shutil.copytree(src, nir, dirs_exist_ok=True)
        out[name] = Truth(gt["hr_bpm"], gt["frames"], cfg.fps, len(wt), 60.0)
    shutil.rmtree(scratch)
    return out


def make_mmse(root: Path, specs: Sequence[Tuple[str, float, int]] = (("F013/T1", 70.0, 6), ("M002/T10", 88.0, 7)),
              parallel_tree: bool = True) -> Dict[str, Truth]:
    """JPEG frames at 25 fps in ``root/first 10 subjects 2D/<subject>/<task>/`` and
    ``BP_mmHg.txt`` + ``Pulse Rate_BPM.txt`` (1000 Hz) in the parallel
    ``root/first 10 subjects Phydata released/Phydata/<subject>/<task>/`` (or, without
    ``parallel_tree``, all in ``root/<subject>/<task>/``)."""
    out = {}
    scratch = root / "_scratch"
    for rel, hr, seed in specs:
        name = rel.replace("/", "_")
        video, gt, cfg = _clip(scratch, name, hr, seed, fps=25.0)
        frame_dir = root / "first 10 subjects 2D" / rel if parallel_tree else root / rel
        phys_dir = root / "first 10 subjects Phydata released" / "Phydata" / rel if parallel_tree else root / rel
        frame_dir.mkdir(parents=True, exist_ok=True)
        phys_dir.mkdir(parents=True, exist_ok=True)
        frames = _frames(video)
        for i, f in enumerate(frames):  # not zero-padded: the reader must sort numerically
            cv2.imwrite(str(frame_dir / f"{i}.jpg"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR),
                        [cv2.IMWRITE_JPEG_QUALITY, 98])
        pt = np.arange(0.0, len(frames) / cfg.fps, 1e-3)
        bvp, inst = physiology(cfg, seed).at(pt)
        (phys_dir / "BP_mmHg.txt").write_text("\n".join(f"{95 + 25 * b:.3f}" for b in bvp) + "\n")
        (phys_dir / "Pulse Rate_BPM.txt").write_text("\n".join(f"{h:.2f}" for h in inst) + "\n")
        out[name] = Truth(gt["hr_bpm"], len(frames), cfg.fps, len(pt), 1000.0)
    shutil.rmtree(scratch)
    return out


MAKERS = {"ubfc": make_ubfc, "pure": make_pure, "vipl": make_vipl, "mmse": make_mmse}
