"""``edge-rppg evaluate``: HR MAE, RMSE and Pearson r against ground truth.

Two subjects, one command: engines (``--engines``) on a folder of videos with ground-truth
JSON or on a dataset reader's recordings, through the product's front; or a trained
checkpoint (``--checkpoint CKPT``, the training stage's evaluation) on held-out synthetic
clips or a dataset, next to POS and CHROM. (``edge-rppg eval CKPT`` is the deprecated old
name of the second.)
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..face.options import LandmarkerOptions
from .flags import add_landmark_flags, landmark_options

HELP = "evaluate engines on videos with ground truth (a folder or a dataset), or a trained --checkpoint"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``evaluate``."""
    p.add_argument("folder", nargs="?", help="folder of videos each with a .json ground truth (from 'edge-rppg synth')")
    p.add_argument("--dataset", help="dataset reader instead of a folder: ubfc, pure, vipl, mmse")
    p.add_argument("--root", help="dataset root folder (with --dataset)")
    p.add_argument("--engines", default="pos,chrom", help="comma-separated engines (classic names or model files)")
    p.add_argument("--bland-altman", metavar="OUT.png", help="Bland-Altman plot of the first engine")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_landmark_flags(p, LandmarkerOptions())
    g = p.add_argument_group("a trained checkpoint (--checkpoint)")
    g.add_argument("--checkpoint", metavar="CKPT.pt", help="evaluate this checkpoint written by 'edge-rppg train' "
                                                         "(held-out synthetic clips, or --dataset) instead of --engines")
    try:  # the training stage's own flags (--n-clips, --synth, --classic, ...)
        from ..training.cli_eval import add_checkpoint_arguments
    except ModuleNotFoundError:  # the training stage is not installed
        return
    add_checkpoint_arguments(g)


def run(args: argparse.Namespace) -> int:
    """Evaluate and print a table (or JSON)."""
    from ..errors import ConfigError
    from ..evaluation.evaluate import evaluate, items_from_dataset, items_from_folder, paired
    from ..processor.options import EstimateConfig
    from .main import strict_json

    if args.checkpoint:
        if args.folder:
            raise ConfigError("give a FOLDER (engines) or --checkpoint CKPT, not both")
        from ..training.cli_eval import evaluate_checkpoint_command

        return evaluate_checkpoint_command(args)
    config = EstimateConfig(progress=False, landmark_model=args.landmark_model, landmarks=landmark_options(args))
    if args.dataset:
        if not args.root:
            raise ConfigError("--dataset needs --root DIR")
        items = items_from_dataset(args.dataset, Path(args.root))
    elif args.folder:
        items = items_from_folder(Path(args.folder))
    else:
        raise ConfigError("give a FOLDER or --dataset NAME --root DIR")
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    reports = evaluate(items, engines, config, progress=not args.json)
    if args.bland_altman and reports:
        from ..evaluation.metrics import bland_altman_plot

        p, t = paired(items, reports[0])
        if len(p) >= 2:
            bland_altman_plot(p, t, args.bland_altman, title=f"{reports[0].engine}: estimate vs truth")
    if args.json:
        print(strict_json({"items": [{"name": i.name, "hr_true": i.hr_true} for i in items],
                          "engines": {r.engine: {"metrics": r.metrics, "pred": r.pred, "errors": r.errors}
                                      for r in reports}}))
        return 0
    print(f"{len(items)} clips")
    print(f"{'engine':<28} {'MAE':>7} {'RMSE':>7} {'r':>6} {'coverage':>9}")
    for r in reports:
        m = r.metrics
        print(f"{Path(r.engine).name:<28} {m.get('mae', float('nan')):7.2f} {m.get('rmse', float('nan')):7.2f} "
              f"{m.get('pearson', float('nan')):6.3f} {m.get('coverage', 0):9.0%}")
    return 0
