"""Streaming-runtime benchmarks: throughput, soak (memory + latency), window → HR latency.

``throughput``
    a 30 s 640x480 synthetic face video (``moderate_motion`` preset, lossless HuffYUV,
    cached under ``.cache/bench_runtime/``) through the full streaming pipeline
    (reader thread decoding → bounded queue → input → landmarks → ROI → window → engine
    → vitals → null sink) with the default engine: end-to-end fps, per-stage ms per
    frame (``source`` = decode in the reader thread, overlapping the stages), process CPU
    time and load average (the machine may be shared). Goal: >= 150 fps (5x real time)
    on 2 CPU cores.
``soak``
    ``--frames N`` frames from a synthetic source (a short clip rendered once and looped,
    ``edge_rppg.runtime.sources.SynthSource``) through the same pipeline: RSS after warm-up and at
    the end (growth %; goal < 5 %), an RSS trace, and per-frame latency p50/p99.
``latency`` (reported by both)
    time from the arrival of the frame that completes a window to its HR being available
    (the whole stage chain of that frame: engine + vitals included), p50/p99/max.

Usage::

    .venv/bin/python bench/bench_runtime.py throughput [--duration 30] [--engine default] [--json out.json]
    .venv/bin/python bench/bench_runtime.py soak --frames 100000 [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

import numpy as np

from edge_rppg.model_file import MODEL_FPS

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runtime/ lives next to edge_rppg/ in the repository
    sys.path.insert(0, str(ROOT))

CACHE = ROOT / ".cache" / "bench_runtime"


def rss_mb() -> float:
    """Resident set size of this process in MiB (Linux /proc)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _pct(a: np.ndarray, q: float) -> float:
    return float(np.percentile(a, q)) if a.size else float("nan")


def _env() -> Dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "machine": platform.machine(),
            "loadavg_1m": round(os.getloadavg()[0], 2)}


def bench_video(duration: float, width: int, height: int) -> Path:
    """The cached synthetic benchmark video (rendered on first use)."""
    from edge_rppg.synth.video_gen import PRESETS, synth_video

    path = CACHE / f"synth_{duration:g}s_{width}x{height}.avi"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        cfg = PRESETS["moderate_motion"]
        cfg = type(cfg).from_dict({**cfg.to_dict(), "duration_s": duration, "width": width, "height": height})
        synth_video(path, cfg, seed=1234)
    return path


def _stage_table(stage_ms: Dict[str, Dict[str, float]]) -> Dict[str, Dict[str, float]]:
    return {k: {"mean_ms": round(v["mean_ms"], 3), "p50_ms": round(v["p50_ms"], 3), "p99_ms": round(v["p99_ms"], 3)}
            for k, v in stage_ms.items()}


def _options(args: argparse.Namespace, engine: str) -> Any:
    """The processor options of one run (``EdgeRPPG`` defaults apart from the flags)."""
    from edge_rppg.face.options import LandmarkerOptions
    from edge_rppg.processor.options import BaseOptions, EdgeRPPGOptions

    return EdgeRPPGOptions(base_options=BaseOptions(model=engine), roi_backend=args.roi_backend,
                           landmarks=LandmarkerOptions(max_num_faces=args.max_num_faces))


def _record(out: Dict[str, Any]) -> None:
    """Write the run's headline numbers into bench/RESULTS.md (one section per mode)."""
    from results import markdown_table, record

    keys = ("frames", "engine", "fps", "dropped", "frame_latency_ms", "window_to_hr_latency_ms", "rss_growth_pct",
            "hr_bpm_mean", "truth_bpm", "max_num_faces")
    rows = [(k, json.dumps(out[k])) for k in keys if k in out]
    stages = [(k, v["mean_ms"], v["p99_ms"]) for k, v in out["stage_ms"].items()]
    record(f"Streaming runtime ({out['mode']})",
           markdown_table(("metric", "value"), rows) + "\n\n" + markdown_table(("stage", "mean ms", "p99 ms"), stages))


def throughput(args: argparse.Namespace) -> Dict[str, Any]:
    """End-to-end fps of the streaming pipeline on the synthetic video."""
    from edge_rppg.pulse.engines.registry import default_engine_spec
    from edge_rppg.runtime.pipeline import Pipeline
    from edge_rppg.runtime.sinks import NullSink
    from edge_rppg.runtime.sources import open_source

    video = bench_video(args.duration, args.width, args.height)
    gt = json.loads(video.with_suffix(".json").read_text())
    engine = default_engine_spec() if args.engine == "default" else args.engine

    latencies: List[float] = []
    window_lat: List[float] = []

    def on_result(r: Any) -> None:
        latencies.append(r.latency_ms["total"])
        if r.hr_updated:
            window_lat.append(r.latency_ms["total"])

    pipe = Pipeline.create(open_source(str(video), backend=args.source_backend), _options(args, engine),
                           sinks=[NullSink()])
    c0 = time.process_time()
    report = pipe.run(on_result=on_result)
    cpu_s = time.process_time() - c0
    pipe.close()
    hrs = [h for _t, h, ok in report.hr_history if ok and h is not None]
    lat = np.asarray(latencies)
    wl = np.asarray(window_lat)
    return {
        "mode": "throughput", "video": video.name, "frames": report.processed, "engine": Path(engine).name,
        "source": type(pipe.source).__name__, "max_num_faces": args.max_num_faces,
        "end_reason": report.end_reason, "dropped": report.dropped,
        "fps": round(report.fps, 1), "realtime_x": round(report.fps / MODEL_FPS, 2), "wall_s": round(report.elapsed_s, 2),
        "cpu_s": round(cpu_s, 2), "cpu_ms_per_frame": round(cpu_s * 1e3 / max(report.processed, 1), 2),
        "cpu_cores_used": round(cpu_s / max(report.elapsed_s, 1e-9), 2),
        "stage_ms": _stage_table(report.stage_ms),
        "frame_latency_ms": {"p50": round(_pct(lat, 50), 2), "p99": round(_pct(lat, 99), 2)},
        "window_to_hr_latency_ms": {"n": int(wl.size), "p50": round(_pct(wl, 50), 2), "p99": round(_pct(wl, 99), 2),
                                    "max": round(float(wl.max()), 2) if wl.size else None},
        "hr_bpm_mean": round(float(np.mean(hrs)), 2) if hrs else None, "truth_bpm": round(gt["hr_bpm"], 2),
        "goal_fps": 150, **_env(),
    }


def soak(args: argparse.Namespace) -> Dict[str, Any]:
    """RSS and latency over ``args.frames`` frames of a looped synthetic clip."""
    from edge_rppg.pulse.engines.registry import default_engine_spec
    from edge_rppg.runtime.pipeline import Pipeline
    from edge_rppg.runtime.sinks import NullSink
    from edge_rppg.runtime.sources import SynthSource

    engine = default_engine_spec() if args.engine == "default" else args.engine
    src = SynthSource(frames=args.frames, duration_s=args.clip_s, width=args.width, height=args.height, seed=7)
    src.clip()  # render before measuring
    pipe = Pipeline.create(src, _options(args, engine), sinks=[NullSink()])
    n_total = args.frames
    lat = np.zeros(n_total, dtype=np.float32)
    win: List[float] = []
    trace: List[List[float]] = []
    warm = min(max(2 * 300, 1000), max(n_total // 10, 1))
    state: Dict[str, Any] = {"i": 0, "rss0": None, "rss_last": None}
    rss_before = rss_mb()

    def on_result(r: Any) -> None:
        i = state["i"]
        if i < n_total:
            lat[i] = r.latency_ms["total"]
        if r.hr_updated:
            win.append(r.latency_ms["total"])
        if i == warm:
            state["rss0"] = rss_mb()
        if i % args.trace_every == 0:
            trace.append([i, round(rss_mb(), 1)])
        if i == n_total - 1:
            state["rss_last"] = rss_mb()  # with everything still open
        state["i"] = i + 1

    t0 = time.perf_counter()
    report = pipe.run(on_result=on_result)
    wall = time.perf_counter() - t0
    rss_end = state["rss_last"] if state["rss_last"] is not None else rss_mb()
    pipe.close()
    rss0 = state["rss0"] if state["rss0"] is not None else rss_before
    lat = lat[: min(report.processed, n_total)]
    wl = np.asarray(win)
    return {
        "mode": "soak", "frames": report.processed, "engine": Path(engine).name, "end_reason": report.end_reason,
        "dropped": report.dropped, "fps": round(report.fps, 1), "wall_s": round(wall, 1),
        "clip": f"{args.clip_s:g} s {args.width}x{args.height} looped",
        "rss_mb_before_pipeline": round(rss_before, 1), "rss_mb_after_warmup": round(rss0, 1),
        "warmup_frames": warm, "rss_mb_end": round(rss_end, 1),
        "rss_growth_mb": round(rss_end - rss0, 1), "rss_growth_pct": round(100.0 * (rss_end - rss0) / rss0, 2),
        "frame_latency_ms": {"p50": round(_pct(lat, 50), 2), "p99": round(_pct(lat, 99), 2),
                             "max": round(float(lat.max()), 2) if lat.size else None},
        "window_to_hr_latency_ms": {"n": int(wl.size), "p50": round(_pct(wl, 50), 2), "p99": round(_pct(wl, 99), 2)},
        "stage_ms": _stage_table(report.stage_ms), "rss_trace": trace, "goal_rss_growth_pct": 5.0, **_env(),
    }


def main() -> int:
    """Parse arguments, run the chosen benchmark, print (and optionally save) JSON."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=("throughput", "soak"))
    ap.add_argument("--engine", default="default", help="pos, chrom, MODEL.onnx, ... or default")
    ap.add_argument("--duration", type=float, default=30.0, help="throughput video length (s)")
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--frames", type=int, default=100_000, help="soak: frames to push through")
    ap.add_argument("--clip-s", type=float, default=4.0, help="soak: length of the looped clip (s)")
    ap.add_argument("--trace-every", type=int, default=5000, help="soak: RSS sample interval (frames)")
    ap.add_argument("--max-num-faces", type=int, default=2, help="faces tracked by FaceMesh (API default 2)")
    ap.add_argument("--roi-backend", default="auto")
    ap.add_argument("--source-backend", default="auto", choices=("auto", "gst", "opencv"))
    ap.add_argument("--json", default=None, help="also write the result to this file")
    args = ap.parse_args()
    out = throughput(args) if args.mode == "throughput" else soak(args)
    _record(out)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
