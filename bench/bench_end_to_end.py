"""End-to-end throughput of ``estimate`` on a 30 s 640x480 synthetic face video.

Prints frames per second of the whole file path (decode → landmarks → ROI averaging
→ MSTmap → engine → vitals) and the milliseconds each stage costs per frame, for each
engine asked for, in one run. Usage::

    python bench/bench_end_to_end.py [--duration 30] [--engines pos,default] [--json]
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def main() -> None:
    """Synthesise the video once, then time ``estimate`` per engine."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=30.0, help="video length in seconds")
    ap.add_argument("--engines", default="pos,default", help="comma-separated engines")
    ap.add_argument("--json", action="store_true", help="print JSON")
    args = ap.parse_args()

    from edge_rppg.engines.registry import default_engine_spec
    from edge_rppg.estimate import EstimateConfig, estimate
    from edge_rppg.synth.video_gen import PRESETS, synth_video

    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "bench.avi"
        cfg = PRESETS["moderate_motion"]
        cfg = type(cfg).from_dict({**cfg.to_dict(), "duration_s": args.duration, "width": 640, "height": 480})
        gt = synth_video(video, cfg, seed=1234)
        rows = []
        for eng in dict.fromkeys(default_engine_spec() if e == "default" else e for e in args.engines.split(",")):
            t0 = time.perf_counter()
            est = estimate(video, engine=eng, config=EstimateConfig(progress=False))
            wall = time.perf_counter() - t0
            rows.append({"engine": Path(eng).name, "frames": est.frames, "wall_s": round(wall, 3),
                         "fps": round(est.frames / wall, 1), "realtime_x": round(est.frames / wall / est.fps, 2),
                         "hr_bpm": est.hr_bpm, "truth_bpm": gt["hr_bpm"],
                         "stage_ms_per_frame": {k: round(v, 3) for k, v in est.timing_ms.items()
                                                if k.endswith("per_frame")}})
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for r in rows:
        print(f"{r['engine']}: {r['frames']} frames in {r['wall_s']} s = {r['fps']} fps "
              f"({r['realtime_x']}x real time); HR {r['hr_bpm']:.1f} vs truth {r['truth_bpm']:.1f}")
        for k, v in r["stage_ms_per_frame"].items():
            print(f"    {k:<28} {v:8.3f} ms")


if __name__ == "__main__":
    main()
