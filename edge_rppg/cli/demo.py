"""``edge-rppg demo``: the README's main job. Synthesises face videos from the bundled
photo (still, moderate motion, light drift), estimates their heart rate with the
default engine and POS, and prints estimate against truth."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..config import Range
from .flags import field_flag, flag

HELP = "synthesise face videos with known HR and estimate them (the README demo)"
DEMO_PRESETS = ("still", "moderate_motion", "light_drift")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``demo``."""
    p.add_argument("--out", default="out/demo", help="folder for the videos, ground truth and plots")
    p.add_argument("--duration", type=field_flag("edge_rppg.synth.video_gen:VideoSynthConfig.duration_s"),
                   default=20.0, help="seconds per video (0..3600, VideoSynthConfig.duration_s)")
    p.add_argument("--engines", default="default,pos", help="comma-separated engines to compare")
    p.add_argument("--seed", type=flag(Range(0, 2**32 - 1 - len(DEMO_PRESETS), integer=True)), default=7,
                   help="random seed (one per video: SEED, SEED+1, SEED+2)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    """Synthesise, estimate, compare."""
    from ..pulse.engines.registry import default_engine_spec, load_engine
    from ..processor.estimation import estimate
    from ..processor.options import EstimateConfig
    from ..evaluation.plots import plot_estimate
    from ..synth.video_gen import PRESETS, synth_video

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    engines = [default_engine_spec() if e.strip() == "default" else e.strip() for e in args.engines.split(",")]
    engines = list(dict.fromkeys(engines))
    rows = []
    for i, name in enumerate(DEMO_PRESETS):
        cfg = PRESETS[name]
        cfg = type(cfg).from_dict({**cfg.to_dict(), "duration_s": args.duration,
                                   "hr_bpm": [66.0, 84.0, 105.0][i % 3]})
        video = out / f"{name}.avi"
        gt = synth_video(video, cfg, seed=args.seed + i)
        for eng in engines:
            est = estimate(video, engine=load_engine(eng), config=EstimateConfig(progress=False))
            label = Path(eng).name
            plot_estimate(est, out / f"{name}__{Path(eng).stem}.png", truth_bpm=gt["hr_bpm"])
            err = None if est.hr_bpm is None else est.hr_bpm - gt["hr_bpm"]
            rows.append({"video": name, "engine": label, "truth_bpm": round(gt["hr_bpm"], 2),
                         "estimate_bpm": None if est.hr_bpm is None else round(est.hr_bpm, 2),
                         "error_bpm": None if err is None else round(err, 2), "valid": est.valid})
    if args.json:
        print(json.dumps({"rows": rows, "out": str(out)}))
        return 0
    print(f"{'video':<17} {'engine':<28} {'truth':>7} {'estimate':>9} {'error':>7}  valid")
    for r in rows:
        est_s = "n/a" if r["estimate_bpm"] is None else f"{r['estimate_bpm']:.1f}"
        err_s = "n/a" if r["error_bpm"] is None else f"{r['error_bpm']:+.1f}"
        print(f"{r['video']:<17} {r['engine']:<28} {r['truth_bpm']:7.1f} {est_s:>9} {err_s:>7}  {r['valid']}")
    print(f"videos, ground truth and plots in {out}/")
    return 0
