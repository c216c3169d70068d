"""Pulseless clips through every registered engine: how many windows and clips each calls
valid (the answer must be none: a valid reading of a face without a pulse is a wrong number).

Every ``edge-rppg synth`` preset with ``pulse_amplitude=0``, ``--seeds`` seeds each (20 s,
320x240 by default), is rendered and run through the product's front once (the extraction
is cached in ``--workdir``), then through the clip back end of every engine: the default
model (ONNX, and its INT8 file), and every classic method. Reported per engine: valid
windows / windows, valid clips / clips, and the presets where anything was valid.

With ``--live`` the same clips' frames go through the live path instead, as a camera user
runs it (``EdgeRPPG(engine).process(frame, timestamp=i / fps)``, one reading per engine hop,
each checked with the stream's own rules: its stitched pulse, the steady run of readings);
reported per engine: valid readings / readings, and the clips with any.

    python bench/bench_pulseless.py --seeds 3
    python bench/bench_pulseless.py --seeds 3 --live
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from results import add_output_flags, finish, markdown_table  # noqa: E402


def engines() -> List[str]:
    """Every registered engine: the shipped model and its INT8 file, and the classic methods."""
    from edge_rppg.pulse.engines.registry import DEFAULT_MODEL
    from edge_rppg.pulse.methods import METHODS

    model = [str(DEFAULT_MODEL), str(DEFAULT_MODEL.with_suffix("").with_suffix(".int8.onnx"))]
    return [m for m in model if Path(m).is_file()] + METHODS.names()


def extraction(preset: str, seed: int, duration: float, size: tuple, work: Path) -> Any:
    """The cached front-end extraction of one pulseless clip."""
    from edge_rppg.synth.rendered import rendered_extraction
    from edge_rppg.synth.video_gen import PRESETS

    return rendered_extraction(clip_config(preset, duration, size), seed, work)


def clip_config(preset: str, duration: float, size: tuple) -> Any:
    """The ``synth`` preset ``preset`` at ``size`` for ``duration`` seconds, without a pulse."""
    from edge_rppg.synth.video_gen import PRESETS

    return dataclasses.replace(PRESETS[preset], duration_s=duration, width=size[0], height=size[1],
                               pulse_amplitude=0.0)


def live_readings(frames: List[Any], fps: float, engine: str) -> Tuple[int, int, List[float]]:
    """``(readings, valid readings, their HRs)`` of ``frames`` streamed through
    ``EdgeRPPG(engine).process`` at ``fps``."""
    from edge_rppg import EdgeRPPG

    with EdgeRPPG(engine) as rppg:
        out = [rppg.process(f, timestamp=i / fps) for i, f in enumerate(frames)]
    fresh = [r for r in out if r.hr_updated]
    return len(fresh), sum(r.valid for r in fresh), [r.hr_bpm for r in fresh if r.valid]


def main_live(args: argparse.Namespace, presets: List[str], names: List[str]) -> int:
    """``--live``: every clip's frames through every engine's live path."""
    from tqdm import tqdm

    from edge_rppg.synth.video_gen import render_frames

    size = tuple(int(v) for v in args.size.split("x"))
    table: Dict[str, Dict[str, Any]] = {Path(n).name: {"valid_readings": 0, "readings": 0, "clips_with_valid": 0,
                                                       "clips": 0, "where": []} for n in names}
    jobs = [(p, args.seed0 + 97 * i + s) for i, p in enumerate(presets) for s in range(args.seeds)]
    for preset, seed in tqdm(jobs, desc="pulseless streams", file=sys.stderr):
        cfg = clip_config(preset, args.duration, size)
        frames = list(render_frames(cfg, seed))
        for name in names:
            n, v, hrs = live_readings(frames, cfg.fps, name)
            row = table[Path(name).name]
            row["readings"] += n
            row["valid_readings"] += v
            row["clips"] += 1
            row["clips_with_valid"] += int(v > 0)
            if v:
                row["where"].append(f"{preset}/{seed}: {v} readings ({min(hrs):.1f}-{max(hrs):.1f} bpm)")
    head = (f"{len(jobs)} pulseless clips ({len(presets)} presets x {args.seeds} seeds from {args.seed0}, "
            f"{args.duration:g} s, {args.size}) streamed frame by frame through `EdgeRPPG(engine).process` "
            "(the live path: one reading per engine hop, every rule of the stream's gate on); where = the clips "
            "with any valid reading.")
    rows = [[name, f"**{r['valid_readings']}** / {r['readings']}", f"**{r['clips_with_valid']}** / {r['clips']}",
             "; ".join(r["where"][:4]) or "–"] for name, r in table.items()]
    body = head + "\n\n" + markdown_table(["engine", "valid readings", "clips with a valid reading", "where"], rows)
    finish(args, body, table, "Pulseless streams (live path), every engine (issue 25)", body)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--seed0", type=int, default=7000)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--size", default="320x240")
    ap.add_argument("--presets", default="", help="comma-separated subset (default: every preset)")
    ap.add_argument("--engines", default="", help="comma-separated subset (default: every registered engine)")
    ap.add_argument("--workdir", default=None, help="extraction cache (default: a temp dir)")
    ap.add_argument("--live", action="store_true", help="stream each clip through EdgeRPPG.process instead")
    add_output_flags(ap)
    args = ap.parse_args(argv)
    from tqdm import tqdm

    from edge_rppg.processor.clip import estimate_extraction
    from edge_rppg.processor.options import EstimateConfig
    from edge_rppg.pulse.engines.registry import load_engine
    from edge_rppg.synth.video_gen import PRESETS

    presets = [p for p in args.presets.split(",") if p] or list(PRESETS)
    names = [e for e in args.engines.split(",") if e] or engines()
    if args.live:
        return main_live(args, presets, names)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench_pulseless_"))
    size = tuple(int(v) for v in args.size.split("x"))
    loaded = {n: load_engine(n) for n in names}
    cfg = EstimateConfig(progress=False)
    table: Dict[str, Dict[str, Any]] = {Path(n).name: {"valid_windows": 0, "windows": 0, "valid_clips": 0,
                                                       "clips": 0, "where": []} for n in names}
    jobs = [(p, args.seed0 + 97 * i + s) for i, p in enumerate(presets) for s in range(args.seeds)]
    for preset, seed in tqdm(jobs, desc="pulseless clips", file=sys.stderr):
        ex = extraction(preset, seed, args.duration, size, work)
        for name, eng in loaded.items():
            est = estimate_extraction(ex, eng, cfg)
            row = table[Path(name).name]
            v = sum(w.valid for w in est.windows)
            row["valid_windows"] += v
            row["windows"] += len(est.windows)
            row["valid_clips"] += int(est.valid)
            row["clips"] += 1
            if v or est.valid:
                row["where"].append(f"{preset}/{seed}: {v} windows" + (f", clip {est.hr_bpm:.1f} bpm" if est.valid else ""))
    head = (f"{len(jobs)} pulseless clips ({len(presets)} presets x {args.seeds} seeds from {args.seed0}, "
            f"{args.duration:g} s, {args.size}), every rule of the validity gate on; where = the clips with anything valid.")
    rows = [[name, f"**{r['valid_windows']}** / {r['windows']}", f"**{r['valid_clips']}** / {r['clips']}",
             "; ".join(r["where"][:4]) or "–"] for name, r in table.items()]
    body = head + "\n\n" + markdown_table(["engine", "valid windows", "valid clips", "where"], rows)
    finish(args, body, table, "Pulseless clips, every engine (issue 25)", body)
    if args.json:
        print(json.dumps(table, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
