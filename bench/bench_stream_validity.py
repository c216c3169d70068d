"""Live readings of rendered face videos streamed through ``EdgeRPPG``: shipped model vs POS.

Each clip (``edge_rppg.synth.video_gen``, the conditions and seeds of
``bench/bench_realistic.py``, 20 s) is pushed frame by frame through
``EdgeRPPG(engine).process(frame, timestamp=i / fps)`` (``live_stream`` mode, the path a
camera user runs); one reading per second is taken.  Per engine: readings with an HR, how
many of them are flagged valid, and the mean error of the valid ones against the clip's
nominal HR (HRV included, so about 1-2 bpm even for a perfect sensor).  Pulseless clips
should have no valid reading.

    python bench/bench_stream_validity.py [--seeds 2] [--duration 20]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from bench_realistic import SEED0, clip_config  # noqa: E402
from results import markdown_table, record  # noqa: E402

CONDITIONS = ["still", "motion", "street lamps (sodium, 1.25 Hz)", "low light", "pulseless, nodding"]
ENGINES = {"Cluster-Phys (default)": "default", "POS": "pos"}


def stream(engine: str, frames: Sequence[np.ndarray], fps: float, hr: float) -> Dict[str, float]:
    """Readings, valid readings and mean |error| of the valid ones, one reading per second."""
    from edge_rppg import EdgeRPPG

    n = v = 0
    errs: List[float] = []
    step = max(1, int(round(fps)))
    with EdgeRPPG(engine) as rppg:
        for i, frame in enumerate(frames):
            r = rppg.process(frame, timestamp=i / fps)
            if i % step == step - 1 and r.hr_bpm is not None:
                n += 1
                if r.valid:
                    v += 1
                    errs.append(abs(r.hr_bpm - hr))
    return {"readings": n, "valid": v, "err": float(np.mean(errs)) if errs else float("nan")}


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command line: see the module docstring."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=2, help="clips per condition")
    p.add_argument("--duration", type=float, default=20.0, help="seconds per clip")
    p.add_argument("--no-record", action="store_true", help="do not write bench/RESULTS.md")
    args = p.parse_args(argv)
    from edge_rppg.synth.video_gen import render_frames

    rows: List[List[object]] = []
    t0 = time.perf_counter()
    for name in CONDITIONS:
        for seed in range(SEED0, SEED0 + args.seeds):
            cfg = clip_config(name, seed, args.duration)
            frames = list(render_frames(cfg, seed))
            row: List[object] = [name, seed, f"{cfg.hr_bpm:.1f}"]
            for engine in ENGINES.values():
                r = stream(engine, frames, cfg.fps, cfg.hr_bpm)
                row.append(f"{r['valid']}/{r['readings']} · {r['err']:.2f}")
            rows.append(row)
            print(" | ".join(str(c) for c in row), flush=True)
    table = markdown_table(["condition", "seed", "HR"] + [f"{e}: valid/readings · err of valid" for e in ENGINES],
                           rows)
    print(table)
    print(f"({time.perf_counter() - t0:.0f} s)")
    if not args.no_record:
        record("Streaming validity (EdgeRPPG live_stream, rendered clips)",
               f"{args.seeds} clips per condition, {args.duration:g} s, 320x240 at 30 fps, seeds from {SEED0}; one "
               "reading per second; err = mean |HR − nominal HR| of the valid readings (bpm, HRV included).\n\n"
               + table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
