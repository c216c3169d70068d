"""HR MAE of a trained Cluster-Phys checkpoint next to POS and CHROM on held-out synthetic clips.

Every condition draws its own seeds (far from any training recipe's seed range) and
the conditions include ones the default recipe never trains on: in-band periodic head
motion and light flicker at 0.7–3 Hz (where a spectral peak picker mistakes them for a
pulse), strong illumination drift, and everything at once. Each clip is ``--clip-s``
seconds; the model runs through the SDK's own path (``load_engine`` → ``TorchEngine``,
overlapping T-frame windows stitched by ``infer_clip``), the classic methods on the whole
clip; HR of every BVP (and of the ground-truth BVP) comes from ``hr_from_psd``.

    python bench/bench_model_vs_classic.py out/train_default/best.pt [--n-clips 32] [--json]
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from typing import Any, Dict, List

import numpy as np

SEED_OFFSET = 90_000_000
# condition -> SynthConfig overrides (everything else at the generator's defaults)
CALM = dict(motion_prob=0.0, periodic_motion_prob=0.0, flicker_prob=0.0, jerk_prob=0.0)
CONDITIONS: Dict[str, Dict[str, Any]] = {
    "still": dict(CALM),
    "motion": dict(CALM, motion_prob=1.0, jerk_prob=0.5),
    "in-band motion": dict(CALM, motion_prob=1.0, periodic_motion_prob=1.0, periodic_motion_hz=(0.7, 3.0)),
    "light flicker": dict(CALM, flicker_prob=1.0, flicker_hz=(0.7, 3.0), flicker_amp=(0.001, 0.004)),
    "drift + noise": dict(CALM, illum_drift=(0.08, 0.2), pixel_noise=(4.0, 8.0), roi_noise=(0.2, 0.5)),
    "everything": dict(motion_prob=1.0, periodic_motion_prob=1.0, flicker_prob=1.0, jerk_prob=0.5,
                       flicker_hz=(0.7, 3.0), illum_drift=(0.04, 0.12)),
    "coloured lamps 0.6-3 Hz": dict(CALM, lamp_prob=1.0),
    "talking": dict(CALM, talking_prob=1.0),
    "codec": dict(CALM, compression_prob=1.0),
    "dark skin": dict(CALM, melanin=(0.7, 1.0)),
}
#: pulseless conditions: only the fraction of clips whose HR reading is valid counts (should be 0)
NULL_CONDITIONS: Dict[str, Dict[str, Any]] = {
    "pulseless, in-band motion": dict(CALM, pulseless_prob=1.0, motion_prob=1.0, periodic_motion_prob=1.0),
    "pulseless, lamp": dict(CALM, pulseless_prob=1.0, lamp_prob=1.0),
}


def hr_metrics(pred: List[float], true: List[float]) -> Dict[str, float]:
    """MAE, RMSE, Pearson r and count over finite pairs."""
    from edge_rppg.evaluation import metrics

    return {"mae": metrics.mae(pred, true), "rmse": metrics.rmse(pred, true), "r": metrics.pearson(pred, true),
            "n": int(np.sum(np.isfinite(np.asarray(pred, float)) & np.isfinite(np.asarray(true, float))))}


def run(checkpoint: str, n_clips: int, clip_s: float, methods: List[str], seed_offset: int,
        progress: bool) -> Dict[str, Any]:
    """Evaluate every condition; returns ``{"conditions": {cond: {method: metrics}}, ...}``."""
    from edge_rppg.vitals.dsp.hr import hr_from_psd
    from edge_rppg.pulse.engines.registry import load_engine
    from edge_rppg.pulse.windows import infer_clip
    from edge_rppg.synth.mstmap_gen import SynthConfig, synth_mstmap

    fps = 30.0
    n_frames = int(round(clip_s * fps))
    engines = {"cluster_phys": load_engine(checkpoint, threads=None)}
    engines.update({m: load_engine(m, fps=fps) for m in methods})
    T = engines["cluster_phys"].info.T
    if n_frames < T:
        raise SystemExit(f"--clip-s {clip_s} gives {n_frames} frames; the model needs at least T={T}")
    out: Dict[str, Any] = {"checkpoint": checkpoint, "T": T, "clip_s": clip_s, "n_clips": n_clips,
                           "seed_offset": seed_offset, "conditions": {}, "seconds": {}}
    pooled: Dict[str, List[float]] = {name: [] for name in engines}
    pooled_gt: List[float] = []
    for ci, (cond, overrides) in enumerate(CONDITIONS.items()):
        cfg = SynthConfig(T=n_frames, fps=fps, **overrides)
        hr: Dict[str, List[float]] = {name: [] for name in engines}
        gt: List[float] = []
        secs = {name: 0.0 for name in engines}
        for i in range(n_clips):
            s = synth_mstmap(cfg, seed=seed_offset + 100_000 * ci + i)
            gt.append(hr_from_psd(s.bvp, fps).hr_bpm)
            for name, eng in engines.items():
                t0 = time.perf_counter()
                bvp = infer_clip(eng, s.mstmap)
                secs[name] += time.perf_counter() - t0
                hr[name].append(hr_from_psd(bvp, fps).hr_bpm)
        out["conditions"][cond] = {name: hr_metrics(v, gt) for name, v in hr.items()}
        out["seconds"][cond] = secs
        for name in engines:
            pooled[name].extend(hr[name])
        pooled_gt.extend(gt)
        if progress:
            row = "  ".join(f"{n} {out['conditions'][cond][n]['mae']:.2f}" for n in engines)
            print(f"[{cond}] {row}", file=sys.stderr, flush=True)
    out["conditions"]["all"] = {name: hr_metrics(v, pooled_gt) for name, v in pooled.items()}
    out["null_valid"] = {}
    for ci, (cond, overrides) in enumerate(NULL_CONDITIONS.items()):
        cfg = SynthConfig(T=n_frames, fps=fps, **overrides)
        valid = {name: [] for name in engines}
        for i in range(n_clips):
            s = synth_mstmap(cfg, seed=seed_offset + 100_000 * (50 + ci) + i)
            for name, eng in engines.items():
                valid[name].append(bool(hr_from_psd(infer_clip(eng, s.mstmap), fps).valid))
        out["null_valid"][cond] = {name: float(np.mean(v)) for name, v in valid.items()}
        if progress:
            row = "  ".join(f"{n} {out['null_valid'][cond][n]:.2f}" for n in engines)
            print(f"[{cond}] valid fraction {row}", file=sys.stderr, flush=True)
    return out


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


def main(argv: List[str] | None = None) -> int:
    """Parse arguments, run, print a table (or JSON)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint", help="Cluster-Phys checkpoint (.pt) from 'edge-rppg train'")
    p.add_argument("--n-clips", type=int, default=32, help="clips per condition")
    p.add_argument("--clip-s", type=float, default=10.0, help="clip length in seconds")
    p.add_argument("--methods", default="pos,chrom", help="classic methods to compare with")
    p.add_argument("--seed-offset", type=int, default=SEED_OFFSET, help="first seed (held out from training)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--record", action="store_true", help="write the table to bench/RESULTS.md")
    args = p.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    res = run(args.checkpoint, args.n_clips, args.clip_s, methods, args.seed_offset, progress=not args.json)
    if args.json:
        print(json.dumps(_finite(res)))
        return 0
    names = ["cluster_phys"] + methods
    print(f"HR MAE (bpm) on {args.n_clips} held-out synthetic clips of {args.clip_s:g} s per condition; "
          f"checkpoint {args.checkpoint} (T={res['T']})")
    print(f"{'condition':<16}" + "".join(f"{n:>14}" for n in names))
    for cond, row in res["conditions"].items():
        print(f"{cond:<16}" + "".join(f"{row[n]['mae']:14.2f}" for n in names))
    print(f"{'RMSE (all)':<16}" + "".join(f"{res['conditions']['all'][n]['rmse']:14.2f}" for n in names))
    print(f"{'r (all)':<16}" + "".join(f"{res['conditions']['all'][n]['r']:14.3f}" for n in names))
    for cond, row in res["null_valid"].items():
        print(f"{cond + ' (valid fraction)':<16}" + "".join(f"{row[n]:14.2f}" for n in names))
    if args.record:
        from pathlib import Path

        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from results import markdown_table, record

        rows = [[c] + [f"{r[n]['mae']:.2f}" for n in names] for c, r in res["conditions"].items()]
        rows.append(["RMSE (all)"] + [f"{res['conditions']['all'][n]['rmse']:.2f}" for n in names])
        rows.append(["Pearson r (all)"] + [f"{res['conditions']['all'][n]['r']:.3f}" for n in names])
        rows += [[c + ": valid fraction"] + [f"{r[n]:.2f}" for n in names] for c, r in res["null_valid"].items()]
        record("Cluster-Phys vs classic methods on held-out synthetic MSTmaps",
               f"HR MAE (bpm), {args.n_clips} clips of {args.clip_s:g} s per condition, checkpoint "
               f"`{args.checkpoint}`; pulseless rows: fraction of clips with a valid HR (should be 0).\n\n"
               + markdown_table(["condition"] + names, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
