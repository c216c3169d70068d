"""``edge-rppg train CONFIG``: train Cluster-Phys from a YAML/JSON recipe.

Single process by default; under ``torchrun --nproc_per_node N -m edge_rppg.training.cli_train
CONFIG`` it trains with DistributedDataParallel (only rank 0 prints and writes).
"""
from __future__ import annotations

import argparse
import sys
from typing import Any, Dict, List, Optional

from edge_rppg.errors import ConfigError

HELP = "train the Cluster-Phys model from a recipe (YAML/JSON TrainConfig)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``train``."""
    p.add_argument("config", help="training recipe, e.g. configs/train_default.yaml")
    p.add_argument("--resume", metavar="CKPT", help="continue from a checkpoint written by a previous run (last.pt)")
    p.add_argument("--output-dir", help="override output_dir of the recipe")
    p.add_argument("--steps", type=int, help="override steps of the recipe")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override any recipe field (dotted keys, YAML values), e.g. --set lr=5e-4 --set model.depth=2")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (log lines only)")


def parse_overrides(items: List[str]) -> Dict[str, Any]:
    """``["lr=1e-4", "model.dim=32"]`` → ``{"lr": 1e-4, "model.dim": 32}`` (values parsed as YAML)."""
    import yaml

    out: Dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set expects KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise ConfigError(f"--set {item!r}: not a YAML value: {' '.join(str(exc).split())[:200]}") from None
    return out


def load_recipe(path: str) -> Any:
    """Read a ``TrainConfig`` recipe; a file that is not valid YAML/JSON (syntax error, a
    ``!!python`` tag, which ``safe_load`` refuses) raises ``ConfigError`` naming the file."""
    import json

    import yaml

    from edge_rppg.training.config import TrainConfig

    try:
        return TrainConfig.load(path)
    except (yaml.YAMLError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a valid YAML/JSON training recipe: {' '.join(str(exc).split())[:300]}") from None


def run(args: argparse.Namespace) -> int:
    """Load the recipe, train, print where the checkpoint is."""
    from edge_rppg.training.distributed import cleanup, init_distributed
    from edge_rppg.training.trainer import Trainer

    cfg = load_recipe(args.config)
    overrides = parse_overrides(args.overrides)
    if args.output_dir:
        overrides["output_dir"] = args.output_dir
    if args.steps is not None:
        overrides["steps"] = args.steps
    if overrides:
        cfg = cfg.with_overrides(overrides)
    ctx = init_distributed()
    try:
        trainer = Trainer(cfg, resume=args.resume, ctx=ctx, progress=not args.no_progress)
        if ctx.is_main:
            print(f"training {cfg.model_preset} T={cfg.T} for {trainer.total_steps} steps "
                  f"({trainer.steps_per_epoch} per epoch, world size {ctx.world_size}, device {ctx.device}, "
                  f"amp {trainer.amp}) -> {cfg.output_dir}", flush=True)
        result = trainer.fit()
        if ctx.is_main:
            m = result["metrics"]
            print(f"done: {result['step']} steps in {result['seconds']:.0f} s; val HR MAE {m.get('mae', float('nan')):.2f} "
                  f"bpm; checkpoint {result['checkpoint']} (best: {cfg.output_dir}/best.pt)")
    finally:
        cleanup(ctx)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Stand-alone entry (``python -m edge_rppg.training.cli_train``, e.g. under ``torchrun``), with the CLI's error handling."""
    from edge_rppg.cli.main import standalone_main

    return standalone_main("train", sys.modules[__name__], argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
