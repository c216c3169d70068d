"""Do the bundled ONNX face models give mediapipe's FaceMesh landmarks, and at what cost?

Why: the default landmarker (``"onnx"``, :mod:`edge_rppg.face.onnx_landmarker`) runs MediaPipe's
face detector and face mesh converted to ONNX (``tools/convert_face_models.py``) with the
project's own crop and tracking logic; mediapipe's FaceMesh stays the reference backend.
This runs both on the project's synthetic 640x480 videos, side by side in one run:

* **agreement**: both with the mesh on every frame (``mesh_rate_hz=0``); per clip the mean
  and largest distance between the two 468-point meshes over every frame (goal: < 0.5 px);
* **cost**: process (CPU) time of ``detect()`` per frame, with the mesh on every frame and
  with the default landmark schedule (mesh at 5 Hz, Lucas–Kanade in between), for one face
  (``max_num_faces=1``) and the stream default of two; the backends alternate frame by frame
  so machine noise hits both alike.

    python bench/compare_face_models.py --duration 10
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PRESETS = ("still", "moderate_motion", "large_motion", "talking", "periodic_motion")
BACKENDS = ("mediapipe", "onnx")
TOLERANCE_PX = 0.5


def clip(preset: str, seconds: float, seed: int) -> List[np.ndarray]:
    """The preset's RGB frames (640x480, 30 fps) in memory."""
    from edge_rppg.synth.video_gen import PRESETS as CONFIGS, render_frames

    return list(render_frames(dataclasses.replace(CONFIGS[preset], duration_s=seconds), seed))


def agreement(frames: List[np.ndarray]) -> Dict[str, float]:
    """Mean and max landmark distance (px) between the backends, mesh on every frame."""
    from edge_rppg.face.registry import LANDMARKERS
    from edge_rppg.face.options import LandmarkerOptions

    opts = LandmarkerOptions(mesh_rate_hz=0)
    with LANDMARKERS.get("onnx")(opts) as ours, LANDMARKERS.get("mediapipe")(opts) as ref:
        errs, missing = [], 0
        for i, f in enumerate(frames):
            a, b = ours.detect(f, 1000.0 * i / 30), ref.detect(f, 1000.0 * i / 30)
            if len(a) != 1 or len(b) != 1:
                missing += 1
                continue
            errs.append(np.linalg.norm(a[0].landmarks - b[0].landmarks, axis=1))
    e = np.stack(errs) if errs else np.full((1, 468), np.nan)
    return {"mean_px": float(e.mean()), "p99_px": float(np.percentile(e, 99)), "max_px": float(e.max()),
            "frames_missing": missing}


def cost(frames: List[np.ndarray], **options: float) -> Dict[str, float]:
    """CPU ms of ``detect()`` per frame for each backend (interleaved frame by frame)."""
    from edge_rppg.face.registry import LANDMARKERS
    from edge_rppg.face.options import LandmarkerOptions

    lmks = {b: LANDMARKERS.get(b)(LandmarkerOptions(**options)) for b in BACKENDS}  # type: ignore[arg-type]
    cpu = {b: 0.0 for b in BACKENDS}
    try:
        for i, f in enumerate(frames):
            for b, lmk in lmks.items():
                c = time.process_time()
                lmk.detect(f, 1000.0 * i / 30)
                cpu[b] += time.process_time() - c
    finally:
        for lmk in lmks.values():
            lmk.close()
    return {b: 1e3 * v / len(frames) for b, v in cpu.items()}


def main(argv: Optional[List[str]] = None) -> int:
    """Measure, print and record; exit 1 when a clip's max distance exceeds the tolerance."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per clip (default 10)")
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--no-record", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = ap.parse_args(argv)
    from results import markdown_table, record

    rows, worst = [], 0.0
    for preset in PRESETS:
        frames = clip(preset, args.duration, args.seed)
        agree = agreement(frames)
        every = cost(frames, mesh_rate_hz=0, max_num_faces=1)
        sched1 = cost(frames, max_num_faces=1)
        sched2 = cost(frames, max_num_faces=2)
        worst = max(worst, agree["max_px"])
        rows.append([preset, f"{agree['mean_px']:.3f}", f"{agree['p99_px']:.3f}", f"{agree['max_px']:.3f}",
                     agree["frames_missing"],
                     *[f"{c['mediapipe']:.2f} / {c['onnx']:.2f} ({c['mediapipe'] / c['onnx']:.2f}x)"
                       for c in (every, sched1, sched2)]])
        print(rows[-1], flush=True)
    table = markdown_table(["clip", "mean px", "p99 px", "max px", "frames without a face in one backend",
                            "CPU ms/frame, mesh every frame, 1 face: mediapipe / onnx",
                            "schedule, 1 face", "schedule, 2 faces allowed"], rows)
    verdict = (f"largest distance to mediapipe's FaceMesh over every landmark of every frame: **{worst:.3f} px** "
               f"(goal < {TOLERANCE_PX} px): **{'met' if worst < TOLERANCE_PX else 'NOT met'}**")
    print(table + "\n" + verdict)
    if not args.no_record:
        import mediapipe
        import onnxruntime

        record("ONNX face models vs mediapipe FaceMesh",
               f"{args.duration:g} s 640x480 synthetic clips at 30 fps, seed {args.seed}; mediapipe "
               f"{mediapipe.__version__}, ONNX Runtime {onnxruntime.__version__}, one thread each; agreement with the "
               f"mesh on every frame; CPU = process time of `detect()`, backends alternating frame by frame, one run."
               f"\n\n{table}\n\n{verdict}")
    return 0 if worst < TOLERANCE_PX else 1


if __name__ == "__main__":
    sys.exit(main())
