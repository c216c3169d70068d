"""``edge-rppg evaluate --checkpoint CHECKPOINT``: HR MAE/RMSE/r of a trained model next to POS/CHROM.

(``edge-rppg eval CHECKPOINT`` is the deprecated old name, kept one release.)

By default on 128 held-out synthetic clips (seeds no recipe trains on, generator
settings of the checkpoint's training data); ``--dataset NAME --root DIR`` evaluates on a
dataset reader's recordings instead.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, List, Optional

from edge_rppg.errors import ConfigError

HELP = "evaluate a trained checkpoint (HR MAE/RMSE/r) next to POS and CHROM"
#: Most held-out synthetic clips ``--n-clips`` generates.
MAX_EVAL_CLIPS = 1_000_000


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of the deprecated ``eval`` (``evaluate --checkpoint`` takes the same)."""
    p.add_argument("checkpoint", help="checkpoint written by 'edge-rppg train' (.pt)")
    p.add_argument("--dataset", help="evaluate on a dataset reader (ubfc, pure, vipl, mmse) instead")
    p.add_argument("--root", help="dataset root folder (with --dataset)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_checkpoint_arguments(p)


def add_checkpoint_arguments(p: Any) -> None:
    """The checkpoint evaluation's own flags (``--dataset``, ``--root`` and ``--json`` are the command's)."""
    p.add_argument("--n-clips", type=int, default=128, help="held-out synthetic clips")
    p.add_argument("--seed-offset", type=int, default=50_000_000,  # = edge_rppg.training.evaluate.HELDOUT_SEED_OFFSET
                   help="first seed of the held-out synthetic clips")
    p.add_argument("--synth", action="append", default=[], metavar="KEY=VALUE",
                   help="SynthConfig override for the held-out clips (YAML value), repeatable")
    p.add_argument("--cache-dir", default="", help="MSTmap cache folder (with --dataset)")
    p.add_argument("--split", default="0,1", help="fraction range of the recordings (with --dataset), e.g. 0.8,1")
    p.add_argument("--classic", default="pos,chrom", help="classic methods to compare with ('' for none)")


def run(args: argparse.Namespace) -> int:
    """The deprecated ``eval``: says so on stderr, then :func:`evaluate_checkpoint_command`."""
    print("edge-rppg eval: deprecated: use `edge-rppg evaluate --checkpoint CKPT` (same flags)", file=sys.stderr)
    return evaluate_checkpoint_command(args)


def evaluate_checkpoint_command(args: argparse.Namespace) -> int:
    """Evaluate ``args.checkpoint`` and print a table (or JSON)."""
    from edge_rppg.cli.main import json_safe
    from edge_rppg.training.cli_train import parse_overrides
    from edge_rppg.training.config import DataSpec
    from edge_rppg.training.evaluate import evaluate_checkpoint

    specs = None
    if not 1 <= args.n_clips <= MAX_EVAL_CLIPS:
        raise ConfigError(f"--n-clips must be between 1 and {MAX_EVAL_CLIPS}, got {args.n_clips}")
    if args.dataset:
        if not args.root:
            raise ConfigError("--dataset needs --root DIR")
        try:
            lo, hi = (float(v) for v in args.split.split(","))
        except ValueError:
            raise ConfigError(f"--split expects START,END fractions such as 0.8,1; got {args.split!r}") from None
        specs = [DataSpec(source=args.dataset, root=args.root, cache_dir=args.cache_dir, split=(lo, hi))]
    classic = [c.strip() for c in args.classic.split(",") if c.strip()]
    res = evaluate_checkpoint(args.checkpoint, specs, classic, progress=not args.json, n_clips=args.n_clips,
                              seed_offset=args.seed_offset, synth=parse_overrides(args.synth))
    if args.json:
        print(json.dumps(json_safe(res), default=str, allow_nan=False))
        return 0
    print(f"{res['checkpoint']} (T={res['T']}, trained {res['train_step']} steps): {res['n_clips']} clips")
    print(f"{'method':<14} {'MAE':>7} {'RMSE':>7} {'r':>6} {'n':>5}")
    for name, m in res["metrics"].items():
        print(f"{name:<14} {m['mae']:7.2f} {m['rmse']:7.2f} {m['r']:6.3f} {m['n']:5d}")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Stand-alone entry (``python -m edge_rppg.training.cli_eval``, e.g. under ``torchrun``), with the CLI's error handling."""
    from edge_rppg.cli.main import standalone_main

    return standalone_main("eval", sys.modules[__name__], argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
