"""``edge-rppg synth OUT.avi``: write a synthetic face video and its ground-truth JSON."""
from __future__ import annotations

import argparse
import json

from .flags import SEED, field_flag, flag

HELP = "write a synthetic face video with exact ground truth (HR, beats, RF)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``synth``."""
    p.add_argument("out", help="output video path (.avi); the ground truth goes to the same name with .json")
    p.add_argument("--preset", default="still", help="starting configuration (see edge_rppg.synth.video_gen.PRESETS)")
    p.add_argument("--hr", type=field_flag(CONFIG + ".hr_bpm"), default=None, help="mean heart rate in bpm (30..220)")
    p.add_argument("--duration", type=field_flag(CONFIG + ".duration_s"), default=None, help="seconds (0..3600)")
    p.add_argument("--seed", type=flag(SEED), default=0,
                   help="random seed, 0..2^32-1 (the output is deterministic for a seed)")
    p.add_argument("--camera", choices=("rgb", "nir940", "nir850"), default=None,
                   help="VideoSynthConfig.camera: rgb, or a monochrome near-infrared in-car camera (nir940, nir850: "
                        "10-bit, 60 fps unless --set fps=..., its own illuminator, sunlight leak via lamp_*); "
                        "NIR frames go to 16-bit PNGs for an OUT without suffix, else a GRAY8 video")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="override any VideoSynthConfig field (JSON value), e.g. --set rf_hz=0.3")
    p.add_argument("--json", action="store_true", help="print the ground truth summary as JSON")


#: The config whose fields ``--hr``, ``--duration`` and ``--set`` set (and whose ranges they inherit).
CONFIG = "edge_rppg.synth.video_gen:VideoSynthConfig"


def run(args: argparse.Namespace) -> int:
    """Generate the video."""
    from ..errors import UnknownNameError
    from ..synth.video_gen import PRESETS, synth_video

    cfg = PRESETS[args.preset] if args.preset in PRESETS else None
    if cfg is None:
        raise UnknownNameError(f"unknown preset {args.preset!r}; known: {', '.join(sorted(PRESETS))}")
    changes = {}
    if args.camera is not None:
        from ..synth.nir import NIR_CAMERAS

        changes["camera"] = args.camera
        if args.camera in NIR_CAMERAS:
            changes["fps"] = NIR_CAMERAS[args.camera].fps
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
    cfg = type(cfg).from_dict({**cfg.to_dict(), **changes})  # ConfigError naming a bad field and its range
    gt = synth_video(args.out, cfg, seed=args.seed)
    summary = {"video": str(args.out), "hr_bpm": gt["hr_bpm"], "rf_hz": gt.get("rf_hz"), "frames": gt["frames"],
               "fps": gt["fps"], "seed": args.seed}
    print(json.dumps(summary) if args.json else
          f"wrote {args.out} ({gt['frames']} frames at {gt['fps']} fps), HR {gt['hr_bpm']:.1f} bpm")
    return 0
