"""End to end against decode-only: ``estimate`` on an H.264 640x480 clip vs decoding it alone.

One run, one clip (a ``moderate_motion`` synthetic face video of ``--duration`` s,
re-encoded to H.264 with libx264 through an ``ffmpeg`` binary — ``$FFMPEG``, ``ffmpeg`` on
the PATH, or the one the ``imageio-ffmpeg`` package ships — else OpenCV's ``mp4v``
MPEG-4 Part 2, which the record then names), timed side by side:

* ``decode only``: OpenCV decode + BGR→RGB of every frame in the caller's thread (the
  ceiling the issue compares with);
* ``estimate, before``: mediapipe's FaceMesh on every frame (``mesh_rate_hz=0``) and decode
  in the caller's thread (``prefetch=0``) — the pipeline as it was;
* ``estimate, mediapipe FaceMesh, schedule``: the landmark schedule and the decode thread on
  the reference landmarker (the default until the ONNX face models);
* the defaults, but the clip's engine windows inferred on one thread (before
  ``EngineInfo.concurrent`` let ``infer_clip`` spread them over the cores);
* ``estimate, now``: the defaults (the bundled ONNX face models, landmark schedule, decode
  thread, engine windows on up to ``vitals.MAX_CLIP_WORKERS`` threads).

For each: wall seconds, CPU seconds (process time, all threads), the ratio to decode
only (goal: estimate ≤ 1.5× decode alone) and the stage ms per frame.  Usage::

    python bench/bench_end_to_end.py --duration 60 --engine default
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def find_ffmpeg() -> Optional[str]:
    """An ffmpeg executable: ``$FFMPEG``, ``ffmpeg`` on the PATH, or imageio-ffmpeg's."""
    exe = os.environ.get("FFMPEG") or shutil.which("ffmpeg")
    if exe:
        return exe
    try:
        import imageio_ffmpeg  # type: ignore[import-not-found]

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except Exception:
        return None


def make_clip(work: Path, duration: float, seed: int) -> Tuple[Path, str, Dict[str, Any]]:
    """Synthesise the lossless clip, re-encode it to H.264 (or mp4v); (path, codec, truth)."""
    from edge_rppg.synth.video_gen import PRESETS, synth_video
    from edge_rppg.frames.video import open_video, write_video

    src = work / f"clip_{int(duration)}s.avi"
    truth_path = src.with_suffix(".json")
    if not src.exists():
        cfg = dataclasses.replace(PRESETS["moderate_motion"], duration_s=duration, width=640, height=480)
        synth_video(src, cfg, seed=seed)
    truth = json.loads(truth_path.read_text())
    ffmpeg = find_ffmpeg()
    if ffmpeg:
        out = work / f"clip_{int(duration)}s_h264.mp4"
        if not out.exists():
            subprocess.run([ffmpeg, "-y", "-loglevel", "error", "-i", str(src), "-c:v", "libx264", "-preset", "medium",
                            "-crf", "18", "-pix_fmt", "yuv420p", str(out)], check=True)
        return out, "H.264 (libx264 crf 18, yuv420p, via ffmpeg)", truth
    out = work / f"clip_{int(duration)}s_mp4v.mp4"
    if not out.exists():
        import warnings

        with open_video(src, prefetch=0) as r, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            write_video(out, r, fps=float(r.fps or 30.0), codec="mp4v")
    return out, "MPEG-4 Part 2 (OpenCV mp4v; no H.264 encoder found)", truth


def decode_only(path: Path) -> Dict[str, Any]:
    """Decode (+ RGB conversion) every frame in the caller's thread."""
    from edge_rppg.frames.video import open_video

    t0, c0 = time.perf_counter(), time.process_time()
    n = 0
    with open_video(path, prefetch=0) as r:
        for _ in r:
            n += 1
    return {"frames": n, "wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}


def run_estimate(path: Path, engine: str, every_frame: bool, landmark_model: str = "onnx") -> Dict[str, Any]:
    """``estimate`` through the stream processor (video mode), before or now, on one landmarker."""
    from edge_rppg.processor.options import EstimateConfig
    from edge_rppg.processor.options import video_options
    from edge_rppg.face.options import LandmarkerOptions
    from edge_rppg.processor.stream import StreamProcessor
    from edge_rppg.frames.video import open_video

    opts = video_options(engine, EstimateConfig(progress=False, landmark_model=landmark_model))
    if every_frame:
        opts.landmarks = LandmarkerOptions(mesh_rate_hz=0, settle_passes=3)
    t0, c0 = time.perf_counter(), time.process_time()
    with StreamProcessor(opts) as proc:
        if every_frame:
            with open_video(path, prefetch=0) as r:
                est = proc.process_video(iter(r), fps=r.fps)
        else:
            est = proc.process_video(path)
    return {"frames": est.frames, "wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
            "hr_bpm": est.hr_bpm, "stage_ms": {k.replace("_ms_per_frame", ""): float(v)
                                               for k, v in est.timing_ms.items() if k.endswith("per_frame")}}


def main(argv: Optional[List[str]] = None) -> int:
    """Make the clip, time the three paths in one run, print and record the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=60.0, help="clip length in seconds (issue: >= 60)")
    ap.add_argument("--engine", default="default", help="engine (default = shipped ONNX model; or pos)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--workdir", default=None, help="keep the clips here (default: a temp dir)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args(argv)

    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench_e2e_"))
    work.mkdir(parents=True, exist_ok=True)
    clip, codec, truth = make_clip(work, args.duration, args.seed)
    dec = decode_only(clip)
    before = run_estimate(clip, args.engine, every_frame=True, landmark_model="mediapipe")
    mp_sched = run_estimate(clip, args.engine, every_frame=False, landmark_model="mediapipe")
    from edge_rppg.pulse import windows

    cap, windows.MAX_CLIP_WORKERS = windows.MAX_CLIP_WORKERS, 1   # the clip's engine windows on one thread, as before
    try:
        one_thread = run_estimate(clip, args.engine, every_frame=False)
    finally:
        windows.MAX_CLIP_WORKERS = cap
    now = run_estimate(clip, args.engine, every_frame=False)
    dec2 = decode_only(clip)   # decode again after, so load drift shows
    res = {"clip": str(clip), "codec": codec, "truth_hr": truth["hr_bpm"], "decode_only": dec,
           "decode_only_again": dec2, "estimate_before": before, "estimate_mediapipe_schedule": mp_sched,
           "estimate_engine_one_thread": one_thread, "estimate_now": now}
    dec_wall = min(dec["wall_s"], dec2["wall_s"])
    ratio_before, ratio_now = before["wall_s"] / dec_wall, now["wall_s"] / dec_wall
    stages = sorted(set(before["stage_ms"]) | set(now["stage_ms"]))
    header = ["path", "wall s", "CPU s", "x decode-only (wall)", "fps", "HR (truth %.1f)" % truth["hr_bpm"],
              *[f"{s} ms/frame" for s in stages]]
    rows: List[List[Any]] = []
    for name, r in (("decode only (1st)", dec), ("decode only (2nd)", dec2)):
        rows.append([name, r["wall_s"], r["cpu_s"], f"{r['wall_s'] / dec_wall:.2f}x", f"{r['frames'] / r['wall_s']:.0f}",
                     "-", *["-" for _ in stages]])
    for name, r in (("estimate, before (mediapipe FaceMesh every frame, decode inline)", before),
                    ("estimate, mediapipe FaceMesh, schedule + decode thread", mp_sched),
                    ("estimate, ONNX face models, schedule + decode thread, engine windows on one thread (before)",
                     one_thread),
                    ("estimate, now (ONNX face models, schedule + decode thread)", now)):
        rows.append([name, r["wall_s"], r["cpu_s"], f"{r['wall_s'] / dec_wall:.2f}x", f"{r['frames'] / r['wall_s']:.0f}",
                     f"{r['hr_bpm']:.2f}" if r["hr_bpm"] is not None else "-",
                     *[f"{r['stage_ms'].get(s, float('nan')):.3f}" for s in stages]])
    verdict = (f"estimate now / decode only = **{ratio_now:.2f}x** (before: {ratio_before:.2f}x; mediapipe with the "
               f"schedule: {mp_sched['wall_s'] / dec_wall:.2f}x; engine windows on one thread: "
               f"{one_thread['wall_s'] / dec_wall:.2f}x; goal ≤ 1.5x): "
               f"**{'met' if ratio_now <= 1.5 else 'NOT met'}**; speed-up of estimate {before['wall_s'] / now['wall_s']:.2f}x.")
    if args.json:
        print(json.dumps(res, indent=2))
    from results import markdown_table

    table = markdown_table(header, rows)
    print(f"{int(args.duration)} s 640x480 clip, {codec}, {dec['frames']} frames, engine {args.engine}\n{table}\n{verdict}")
    if not args.no_record:
        from results import record

        record("End to end vs decode-only",
               f"{args.duration:g} s 640x480 `moderate_motion` synthetic clip, {dec['frames']} frames, {codec}; "
               f"engine `{args.engine}`; one run, side by side. `decode` in the estimate rows is the time the "
               "analysis waited for frames (with the decode thread, decoding overlaps it). CPU s = process time "
               f"of all threads.\n\n{table}\n\n{verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
