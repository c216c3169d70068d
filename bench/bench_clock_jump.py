"""What a clock that jumps forward does to a heart rate: the basis of
``ValidityConfig.max_clock_jump_s``.

A stream whose timestamps jump ahead by ``g`` seconds while no frame was dropped places
every later sample ``g`` seconds too late: the pulse's phase jumps inside the analysis
window. This draws 10 s windows at 30 Hz of a noisy pulse (fundamental + second harmonic,
white noise of half the fundamental's amplitude, HR uniform in 50–120 bpm), puts the jump
at a random point, reads the HR with the product's :func:`edge_rppg.vitals.readings.window_hr`
and reports, per jump size, the windows still called valid by their SNR and their errors.

    python bench/bench_clock_jump.py --draws 500
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from results import add_output_flags, finish, markdown_table  # noqa: E402

FS = 30.0
N = 300


def errors(jump_s: float, draws: int, seed: int) -> Dict[str, float]:
    """Error statistics of ``draws`` windows with a clock jump of ``jump_s``."""
    from edge_rppg.vitals.readings import window_hr

    rng = np.random.default_rng(seed)
    t = np.arange(N) / FS
    errs: List[float] = []
    for _ in range(draws):
        f = rng.uniform(50, 120) / 60.0
        cut = rng.integers(30, N - 30)
        real = np.where(np.arange(N) >= cut, t - jump_s, t)   # labelled t, taken at t - jump after the jump
        x = np.sin(2 * np.pi * f * real) + 0.3 * np.sin(4 * np.pi * f * real + 1) + 0.5 * rng.standard_normal(N)
        r = window_hr(x, FS)
        if r.valid:
            errs.append(abs(r.hr_bpm - 60.0 * f))
    e = np.asarray(errs)
    return {"jump_s": jump_s, "valid": len(e) / draws, "mean_bpm": float(e.mean()),
            "p95_bpm": float(np.percentile(e, 95)), "over_3bpm": float(np.mean(e > 3.0))}


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jumps", default="0,0.05,0.1,0.15,0.2,0.3,0.4")
    add_output_flags(ap, json_path=True)
    args = ap.parse_args(argv)
    rows = [errors(float(j), args.draws, args.seed) for j in args.jumps.split(",")]
    table = markdown_table(["jump (s)", "valid by SNR", "mean error (bpm)", "p95 error (bpm)", "over 3 bpm"],
                           [[r["jump_s"], f"{r['valid']:.1%}", r["mean_bpm"], r["p95_bpm"], f"{r['over_3bpm']:.1%}"]
                            for r in rows])
    finish(args, table, rows, "A clock that jumps forward: HR error by jump size",
           f"{args.draws} draws per jump: 10 s windows at 30 Hz of a noisy pulse (50–120 bpm), a phase jump at a "
           f"random point, read by `window_hr`.\n\n{table}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
