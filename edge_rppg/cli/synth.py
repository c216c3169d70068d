"""``edge-rppg synth OUT.avi``: write a synthetic face video and its ground-truth JSON."""
from __future__ import annotations

import argparse
import json
import math
from typing import Any, Dict

HELP = "write a synthetic face video with exact ground truth (HR, beats, RF)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``synth``."""
    p.add_argument("out", help="output video path (.avi); the ground truth goes to the same name with .json")
    p.add_argument("--preset", default="still", help="starting configuration (see edge_rppg.synth.video_gen.PRESETS)")
    p.add_argument("--hr", type=float, default=None, help="mean heart rate in bpm")
    p.add_argument("--duration", type=float, default=None, help="seconds")
    p.add_argument("--seed", type=int, default=0, help="random seed (the output is deterministic for a seed)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="override any VideoSynthConfig field (JSON value), e.g. --set rf_hz=0.3")
    p.add_argument("--json", action="store_true", help="print the ground truth summary as JSON")


#: Bounds of the settings that size the output (checked before anything is generated):
#: field -> (low exclusive, high inclusive, integer?)
SIZE_BOUNDS = {"duration_s": (0.0, 3600.0, False), "fps": (0.0, 240.0, False), "width": (0, 4096, True),
               "height": (0, 4096, True)}


def check_sizes(changes: Dict[str, Any]) -> None:
    """Refuse a size setting that is not a finite number in its :data:`SIZE_BOUNDS` range
    (``--duration inf`` crashed, ``--set width=1e9`` asked for terabytes) with a ``ConfigError``."""
    from ..errors import ConfigError

    for key, (low, high, integral) in SIZE_BOUNDS.items():
        if key not in changes:
            continue
        value = changes[key]
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or not math.isfinite(value) or not low < value <= high or \
                (integral and value != int(value)):
            kind = "an integer" if integral else "a number"
            raise ConfigError(f"bad synthetic-video setting: {key} must be {kind} in ({low:g}, {high:g}], got {value!r}")
        if integral:
            changes[key] = int(value)


def run(args: argparse.Namespace) -> int:
    """Generate the video."""
    from ..errors import ConfigError, UnknownNameError
    from ..synth.video_gen import PRESETS, synth_video

    cfg = PRESETS[args.preset] if args.preset in PRESETS else None
    if cfg is None:
        raise UnknownNameError(f"unknown preset {args.preset!r}; known: {', '.join(sorted(PRESETS))}")
    changes = {}
    if args.hr is not None:
        changes["hr_bpm"] = args.hr
    if args.duration is not None:
        changes["duration_s"] = args.duration
    for item in args.set:
        key, _, value = item.partition("=")
        try:
            changes[key] = json.loads(value)
        except json.JSONDecodeError:
            changes[key] = value
    check_sizes(changes)
    try:  # the generator's config checks raise plain ValueErrors: here they are the user's settings
        cfg = type(cfg).from_dict({**cfg.to_dict(), **changes})
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"bad synthetic-video setting: {exc}") from exc
    gt = synth_video(args.out, cfg, seed=args.seed)
    summary = {"video": str(args.out), "hr_bpm": gt["hr_bpm"], "rf_hz": gt.get("rf_hz"), "frames": gt["frames"],
               "fps": gt["fps"], "seed": args.seed}
    print(json.dumps(summary) if args.json else
          f"wrote {args.out} ({gt['frames']} frames at {gt['fps']} fps), HR {gt['hr_bpm']:.1f} bpm")
    return 0
