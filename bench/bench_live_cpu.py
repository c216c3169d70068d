"""Live CPU budget: CPU ms per frame of a 30 fps stream through ``EdgeRPPG``.

One run decodes a synthetic 640x480 face clip (``moderate_motion``) frame by frame in the
caller's thread, *outside* the timed region (a camera delivers decoded frames), and feeds
each frame to ``EdgeRPPG.process(frame, timestamp=i/30)`` for every configuration side
by side (the configurations take turns, ``--repeat`` rounds; each row is its median run):

* ``before``: mediapipe's FaceMesh on every frame (``mesh_rate_hz=0``), the stream
  default of 2 tracked faces;
* the landmark schedule on mediapipe's FaceMesh (the default until the ONNX face models);
* ``previous defaults``: the ONNX face models and the schedule without motion refreshes
  (``refresh_motion=0``), the model on ONNX Runtime's default thread pool (before the
  engine default became one thread);
* ``now``: the defaults (the bundled ONNX face models, landmark schedule with motion
  refreshes, searches at 1 Hz, one engine thread), with the shipped ONNX model and with POS;
* ``now, gray``: the same frames in one channel (8-bit, and 16-bit with 10-bit values: the
  conversion is outside the timed region, as a mono camera delivers them) with
  ``color_space="gray"`` and the MONO engine (issue 24: the mono path may be no slower than
  the RGB path; its classic counterpart is the POS row).

``--configs now`` runs only the ``now`` rows (and records them in their own section).

CPU time is process time (all threads: MediaPipe's graph threads, ONNX Runtime, OpenCV)
around ``process()``, so it is what the stream costs the device; reported as ms per
frame and as a share of one core at 30 fps.  Goal (issue 13): ≤ 2 ms per frame (6 %).
Per-stage numbers are process time spent inside each stage, per frame (the engine and
vitals stages run once per hop, their cost is spread over the frames).

    python bench/bench_live_cpu.py --duration 30
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FPS = 30.0


#: the configuration whose number the verdict quotes, and the POS one next to it
NOW, NOW_POS, BEFORE, PREVIOUS = (
    "now: schedule, ONNX face models (defaults), ONNX model",
    "now: schedule, ONNX face models (defaults), POS",
    "before: mesh every frame (mediapipe), ONNX model",
    "previous defaults: schedule, ONNX face models, ONNX model on ORT's default pool")
NOW_GRAY, NOW_GRAY16 = ("now, gray 8-bit: schedule, ONNX face models (defaults), MONO",
                        "now, gray 16-bit (10-bit values): schedule, ONNX face models (defaults), MONO")


def _gray8(frame: Any) -> Any:
    import cv2

    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)


def _gray16(frame: Any) -> Any:
    import numpy as np

    return _gray8(frame).astype(np.uint16) * np.uint16(4)


def configs() -> Dict[str, Dict[str, Any]]:
    """Name → ``EdgeRPPG`` model (a spec, or a callable that builds the engine), landmarker
    and landmark options."""
    from edge_rppg.face.options import LandmarkerOptions

    old = dict(max_num_faces=2, refresh_motion=0.0)   # the schedule before motion refreshes
    return {
        BEFORE: {"model": _engine_on_default_threads, "landmark_model": "mediapipe",
                 "landmarks": LandmarkerOptions(max_num_faces=2, mesh_rate_hz=0, settle_passes=3)},
        "schedule, mediapipe FaceMesh, ONNX model on ORT's default pool": {
            "model": _engine_on_default_threads, "landmark_model": "mediapipe",
            "landmarks": LandmarkerOptions(**old)},
        PREVIOUS: {"model": _engine_on_default_threads, "landmark_model": "onnx",
                   "landmarks": LandmarkerOptions(**old)},
        NOW: {"model": None, "landmark_model": "onnx", "landmarks": LandmarkerOptions(max_num_faces=2)},
        NOW_POS: {"model": "pos", "landmark_model": "onnx", "landmarks": LandmarkerOptions(max_num_faces=2)},
        NOW_GRAY: {"model": "mono", "landmark_model": "onnx", "landmarks": LandmarkerOptions(max_num_faces=2),
                   "color_space": "gray", "convert": _gray8},
        NOW_GRAY16: {"model": "mono", "landmark_model": "onnx", "landmarks": LandmarkerOptions(max_num_faces=2),
                     "color_space": "gray", "convert": _gray16},
    }


def _engine_on_default_threads() -> Any:
    """The shipped ONNX model with ONNX Runtime's own thread-pool size (one thread per
    core): the engine default before it became one thread."""
    from edge_rppg.pulse.engines.onnx_engine import OnnxRuntimeEngine
    from edge_rppg.pulse.engines.registry import DEFAULT_MODEL

    return OnnxRuntimeEngine(DEFAULT_MODEL, intra_op_threads=None, inter_op_threads=None)


def run(path: Path, model: Any, landmark_model: str, landmarks: Any, color_space: str = "rgb",
        convert: Any = None) -> Dict[str, Any]:
    """Stream ``path`` through one ``EdgeRPPG``; CPU and wall time of ``process`` only.
    ``model``: an engine spec, or a callable that builds the engine; ``convert``: applied to
    each decoded frame outside the timed region (gray rows)."""
    from edge_rppg import EdgeRPPG
    from edge_rppg.frames.video import open_video

    model = model() if callable(model) else model

    cpu = wall = 0.0
    n = valid = 0
    stage_cpu: Dict[str, float] = {}

    def timed(stage: Any) -> None:
        """Wrap ``stage.run`` to add its process time to ``stage_cpu``."""
        inner = stage.run

        def run(*args: Any) -> Any:
            c = time.process_time()
            try:
                return inner(*args)
            finally:
                stage_cpu[stage.name] = stage_cpu.get(stage.name, 0.0) + time.process_time() - c
        stage.run = run

    with EdgeRPPG(model, landmark_model=landmark_model, landmarks=landmarks, color_space=color_space) as rppg, \
            open_video(path, prefetch=0) as reader:
        for stage in rppg.stages:
            timed(stage)
        for i, frame in enumerate(reader):
            frame = convert(frame) if convert is not None else frame
            c0, t0 = time.process_time(), time.perf_counter()
            r = rppg.process(frame, timestamp=i / FPS)
            cpu += time.process_time() - c0
            wall += time.perf_counter() - t0
            n += 1
            valid += int(bool(r.hr_bpm is not None and r.valid))
        timing = {k: v["mean_ms"] for k, v in rppg.stage_timing().items()}
        lmk = next((s.landmarker for s in rppg.stages if hasattr(s, "landmarker")), None)
        runs = getattr(lmk, "mesh_runs", None)
        searches = getattr(lmk, "search_runs", None)
    return {"frames": n, "cpu_ms": 1e3 * cpu / n, "wall_ms": 1e3 * wall / n, "valid_results": valid,
            "stage_wall_ms": timing, "stage_cpu_ms": {k: 1e3 * v / n for k, v in stage_cpu.items()},
            "mesh_runs": runs, "search_runs": searches}


def median_run(rs: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The run with the median CPU per frame, its per-stage CPU replaced by per-stage medians."""
    import statistics

    mid = sorted(rs, key=lambda r: r["cpu_ms"])[len(rs) // 2]
    stages = {k for r in rs for k in r["stage_cpu_ms"]}
    return {**mid, "stage_cpu_ms": {k: statistics.median(r["stage_cpu_ms"].get(k, float("nan")) for r in rs)
                                    for k in stages}, "cpu_ms_all": [r["cpu_ms"] for r in rs]}


def full_verdict(results: Dict[str, Dict[str, Any]]) -> str:
    """The verdict of a run of every configuration (the ≤ 2 ms goal, before/previous/now)."""
    best = min(r["cpu_ms"] for k, r in results.items() if k.startswith("now"))
    model_now = results[NOW]["cpu_ms"]
    before = results[BEFORE]["cpu_ms"]
    previous = results[PREVIOUS]["cpu_ms"]
    return (f"CPU per frame with the shipped model: {before:.2f} → **{model_now:.2f} ms** "
            f"({before / model_now:.2f}x less; {previous / model_now:.2f}x less than the previous defaults, "
            f"{previous:.2f} ms); best configuration {best:.2f} ms. Goal ≤ 2 ms/frame: "
            f"**{'met' if model_now <= 2.0 else 'NOT met'}** with the ONNX model, "
            f"**{'met' if results[NOW_POS]['cpu_ms'] <= 2.0 else 'NOT met'}** with POS.")


def gray_verdict(results: Dict[str, Dict[str, Any]]) -> str:
    """The mono path against the RGB path with its classic counterpart (POS)."""
    pos = results[NOW_POS]["cpu_ms"]
    parts = [f"{name.split(':')[0]} {results[name]['cpu_ms']:.2f} ms ({results[name]['cpu_ms'] / pos:.2f}x POS's "
             f"{pos:.2f})" for name in (NOW_GRAY, NOW_GRAY16) if name in results]
    slower = any(results[n]["cpu_ms"] > pos for n in (NOW_GRAY, NOW_GRAY16) if n in results)
    return "Gray path vs RGB path: " + "; ".join(parts) + \
        f". No slower per frame than the RGB path: **{'NOT met' if slower else 'met'}**."


def main(argv: Optional[List[str]] = None) -> int:
    """Run every configuration on the same clip; print and record the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3, help="runs per configuration, round robin; the median is reported")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-record", action="store_true")
    ap.add_argument("--configs", default="", help="run only the configurations whose name starts with this")
    args = ap.parse_args(argv)

    from edge_rppg.synth.video_gen import PRESETS, synth_video

    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench_live_"))
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"live_{int(args.duration)}s.avi"
    if not (path.exists() and path.with_suffix(".json").exists()):
        synth_video(path, dataclasses.replace(PRESETS["moderate_motion"], duration_s=args.duration), seed=args.seed)
    runs: Dict[str, List[Dict[str, Any]]] = {}
    for _ in range(args.repeat):   # round robin, so a busy spell of the machine hits every configuration
        for name, c in configs().items():
            if name.startswith(args.configs):
                runs.setdefault(name, []).append(run(path, c["model"], c["landmark_model"], c["landmarks"],
                                                     c.get("color_space", "rgb"), c.get("convert")))
    results = {name: median_run(rs) for name, rs in runs.items()}
    stages = sorted({k for r in results.values() for k in r["stage_cpu_ms"]})
    rows = [[name, r["cpu_ms"], f"{100 * r['cpu_ms'] * FPS / 1000:.1f} %", r["wall_ms"],
             f"{r['mesh_runs']}/{r['frames']}", r["search_runs"], r["valid_results"],
             *[f"{r['stage_cpu_ms'].get(s, float('nan')):.3f}" for s in stages]] for name, r in results.items()]
    verdict = gray_verdict(results) if args.configs else full_verdict(results)
    from results import markdown_table

    table = markdown_table(["configuration", "CPU ms/frame", "share of a core @30 fps", "wall ms/frame",
                            "mesh runs", "face searches", "frames with a valid HR", *[f"{s} CPU ms" for s in stages]], rows)
    print(table + "\n" + verdict)
    if args.json:
        print(json.dumps(results, indent=2))
    if not args.no_record:
        from results import record

        record("Live CPU budget (30 fps stream through EdgeRPPG)" + (", gray vs RGB" if args.configs else ""),
               f"{args.duration:g} s 640x480 `moderate_motion` synthetic clip fed frame by frame with timestamps "
               f"i/30 (decode outside the timed region); CPU = process time of all threads around `process()`; "
               f"median of {args.repeat} runs per configuration taken round robin, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs.\n\n{table}\n\n{verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
