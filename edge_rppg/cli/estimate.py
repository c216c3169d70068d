"""``edge-rppg estimate VIDEO``: whole-clip HR, per-window HR with quality, HRV and RF."""
from __future__ import annotations

import argparse
import sys
import warnings

from ..face.options import LandmarkerOptions
from ..frames.color import COLOR_SPACES
from ..vitals.dsp.config import SignalConfig
from .flags import Flag, add_flags, add_landmark_flags, landmark_options

HELP = "estimate heart rate, HRV and respiration from a face video"
DESCRIPTION = ("Reads a face video (or a folder of frames), builds the MSTmap, runs an engine and reports the "
               "whole-clip HR (mean of the valid window HRs), each window's HR with its quality and validity, "
               "HRV and respiration. The default engine is the shipped Cluster-Phys model via ONNX Runtime when "
               "it is bundled, else POS.")

#: Longest analysis window (s) ``--window-s`` accepts.
MAX_WINDOW_S = 600.0
#: The analysis windows, as :class:`~edge_rppg.vitals.dsp.config.SignalConfig` names them.
SIGNAL_FLAGS = (Flag("window_s", "analysis window in seconds"), Flag("hop_s", "seconds between analysis windows"))


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``estimate``."""
    p.add_argument("video", help="video file or folder of frames")
    p.add_argument("--model", "--engine", dest="engine", metavar="MODEL", default="default",
                   help="classic method (pos, chrom, green, ica, lgi, pbv, omit), a model file (.onnx, .engine, .pt) "
                        "or 'default' (the same name as `run --model` and BaseOptions.model; --engine is an alias)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--plot", metavar="OUT.png", help="write BVP, spectrum and HR-over-time plot")
    add_flags(p, SignalConfig(), SIGNAL_FLAGS)
    p.add_argument("--fps", type=float, default=None,
                   help="frame rate (1..1000) of a folder of frames, or of a video whose header gives none or an "
                        "absurd one (a video's own frame timestamps are used otherwise)")
    add_landmark_flags(p, LandmarkerOptions())
    p.add_argument("--color-space", choices=tuple(COLOR_SPACES), default="rgb",
                   help="the video's frames (EstimateConfig.color_space): rgb, or gray for a mono / near-infrared "
                        "camera (a GRAY8 video or a folder of 8/16-bit one-channel images; default model: the mono one)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run(args: argparse.Namespace) -> int:
    """Run the estimate and print it."""
    from ..processor.clip import TruncatedVideoWarning
    from ..processor.estimation import estimate
    from ..processor.options import EstimateConfig
    from .main import checked_number, strict_json

    window = checked_number("--window-s", args.window_s, 0.0, MAX_WINDOW_S)
    hop = checked_number("--hop-s", args.hop_s, 0.0, window)
    cfg = EstimateConfig(progress=not args.no_progress and not args.json, landmark_model=args.landmark_model,
                         landmarks=landmark_options(args), signal=SignalConfig(window_s=window, hop_s=hop),
                         color_space=args.color_space)
    with warnings.catch_warnings():  # the result carries them; printed here as one line each
        warnings.simplefilter("ignore", TruncatedVideoWarning)
        est = estimate(args.video, engine=args.engine, config=cfg, fps=args.fps)
    notes = list(est.warnings)
    for note in notes:
        print(f"edge-rppg estimate: warning: {note}", file=sys.stderr)
    if args.plot:
        from ..evaluation.plots import plot_estimate

        plot_estimate(est, args.plot)
    if args.json:
        print(strict_json({**est.to_dict(), "warnings": notes}))
        return 0
    hr = "n/a (no valid window)" if est.hr_bpm is None else f"{est.hr_bpm:.1f} bpm"
    print(f"engine      {est.engine.name} ({est.engine.provider}, {est.engine.precision})")
    print(f"frames      {est.frames} at {est.fps:.2f} fps")
    print(f"heart rate  {hr}   valid={est.valid}")
    h = est.hrv
    if h.valid:
        print(f"HRV         LF {h.lf_nu:.3f} n.u.  HF {h.hf_nu:.3f} n.u.  LF/HF {h.lf_hf:.2f}  SDNN {h.sdnn_ms:.0f} ms")
    else:
        print("HRV         n/a (too few clean beats)")
    rf = est.rf_hz if est.rf_valid else None
    print(f"respiration {'n/a (not valid)' if rf is None else f'{rf:.3f} Hz ({rf * 60:.1f} /min)'}")
    print("windows     t_start  t_end   HR     quality(dB) valid")
    for w in est.windows:
        hrw = "  n/a" if w.hr_bpm is None else f"{w.hr_bpm:5.1f}"
        print(f"            {w.t_start:6.1f} {w.t_end:6.1f} {hrw}  {w.quality:8.1f}   {w.valid}")
    if args.plot:
        print(f"plot        {args.plot}", file=sys.stderr)
    return 0
