"""The real clips streamed frame by frame through ``EdgeRPPG(engine).process``: the live path.

``bench/bench_real.py`` measures what ``edge-rppg estimate`` reports for a whole file (10 s
windows every 1 s, the clip's steady-run rule). A kiosk or a car reads the live path
instead: one reading every engine step, valid when it passes every rule and its
neighbour agrees (``ValidityConfig.stream_min_run``). Per clip and engine: how many readings,
how many valid, and each valid reading's error against the contact PPG's HR over the same
10 s (the reading's analysis window). Frames are fed at the video's own timestamps
(``frames_timestamp.csv``), in RGB.

    python bench/bench_real_live.py                      # default model, its INT8 file, POS
    python bench/bench_real_live.py --engines default,pos,chrom --json out/real_live.json

Validation data only: nothing trains or sets a threshold on it.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from results import add_output_flags, finish, markdown_table  # noqa: E402

#: the largest error a valid reading may have and still count as right (bpm)
RIGHT_BPM = 3.0


def decode(video: Path) -> List[np.ndarray]:
    """Every frame of ``video`` as HxWx3 uint8 RGB."""
    import cv2

    cap = cv2.VideoCapture(str(video))
    frames: List[np.ndarray] = []
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    finally:
        cap.release()
    return frames


def live_readings(frames: Sequence[np.ndarray], times: np.ndarray, engine: str) -> List[Dict[str, Any]]:
    """The readings (one per engine step) of ``engine`` over ``frames`` at ``times``."""
    from edge_rppg import EdgeRPPG

    out: List[Dict[str, Any]] = []
    with EdgeRPPG(engine) as rppg:
        for frame, t in zip(frames, times):
            r = rppg.process(frame, float(t))
            if r.hr_updated and r.hr_bpm is not None:
                out.append({"t": float(t), "hr_bpm": float(r.hr_bpm), "quality": float(r.quality),
                            "valid": bool(r.valid), "reason": getattr(r.vitals, "invalid_reason", None)})
    return out


def run_clip(clip: Path, engines: Dict[str, str], window_s: float) -> Dict[str, Any]:
    """Every engine's live readings on one clip, each with its reference HR."""
    from bench_real import load_reference, video_of, window_references

    video = video_of(clip)
    assert video is not None
    ref = load_reference(clip)
    frames = decode(video)
    n = min(len(frames), ref.frame_times.size)
    frames, times = frames[:n], np.asarray(ref.frame_times[:n], dtype=np.float64) - float(ref.frame_times[0])
    res: Dict[str, Any] = {"clip": clip.name, "frames": len(frames), "engines": {}}
    for label, spec in engines.items():
        readings = live_readings(frames, times, spec)
        refs = window_references(ref, times, [(max(0.0, r["t"] - window_s), r["t"]) for r in readings])
        for r, rr in zip(readings, refs):
            r["ref_bpm"] = float(rr)
            r["error_bpm"] = r["hr_bpm"] - float(rr)
        res["engines"][label] = readings
    return res


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command line: see the module docstring."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--engines", default="default,int8,pos",
                   help="comma-separated: default, int8, classic names, model paths (as bench_real.py)")
    add_output_flags(p, json_path=True)
    p.add_argument("--section", default="Real video with a contact PPG, live path (EdgeRPPG.process)")
    args = p.parse_args(argv)

    from bench_real import discover, engine_specs

    from edge_rppg.vitals.dsp.config import SignalConfig

    clips = discover()
    if not clips:
        print("no real clip under ../shared/data/real: skipped")
        return 0
    engines = engine_specs(args.engines)
    window_s = SignalConfig().window_s
    results = [run_clip(c, engines, window_s) for c in clips]
    rows = []
    for res in results:
        for label, readings in res["engines"].items():
            valid = [r for r in readings if r["valid"]]
            right = [r for r in valid if abs(r["error_bpm"]) <= RIGHT_BPM]
            rows.append([res["clip"], label, len(readings), len(valid), f"{len(right)} / {len(valid)}",
                         " ".join(f"{r['t']:.1f}s {r['error_bpm']:+.1f}" for r in valid) or "–"])
    table = markdown_table(["clip", "engine", "readings", "valid", f"valid within {RIGHT_BPM:g} bpm",
                            "valid readings: time, error vs contact PPG (bpm)"], rows)
    body = (f"Each clip's frames fed one by one to `EdgeRPPG(engine).process` at the video's timestamps; a "
            f"reading per engine step; error = reading − the contact PPG's HR over the reading's {window_s:g} s "
            f"analysis window. Validation data only.\n\n{table}\n")
    finish(args, table, results, args.section, body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
