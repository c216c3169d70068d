"""Benchmark: 63 MSTmap rows per frame by label map + one bincount vs. 63 masks + cv2.mean.

Both paths run in ONE process on the SAME 640x480 frames (the skimage astronaut's head
scaled 2x into the frame, face ~210 px tall, per-frame sensor noise and a small drift of the landmarks so no
path can cache anything).  Timed per path, per frame:

* label map: ``roi_box`` + ``rasterize_label_map`` (cropped to the face box) +
  ``roi_sums`` (one ``np.bincount``) + ``combine_roi_sums`` (one matmul) → ``[63, 6]``;
* naive:     ``roi_sums_naive_63`` (63 full-frame masks, one ``cv2.mean`` each) → ``[63, 3]``
  (it does not even compute YUV).

Prints ms/frame of each, the speed-up (goal >= 20x) and whether the 63 RGB means agree.

    .venv/bin/python bench/bench_roi_averaging.py --frames 200 [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from typing import Dict, List, Tuple

import cv2
import numpy as np
import skimage.data

from edge_rppg.landmarks import LandmarkerOptions, MediaPipeLandmarker
from edge_rppg.mstmap import combine_roi_sums
from edge_rppg.roi import rasterize_label_map, roi_box, roi_sums, roi_sums_naive_63

WIDTH, HEIGHT = 640, 480


def make_scene(n: int, seed: int) -> Tuple[List[np.ndarray], List[np.ndarray]]:
    """``n`` noisy 640x480 frames with the astronaut's face and slightly drifting landmarks.

    Her head (a 220x220 crop) is scaled 2x into the frame centre, so the face is ~210 px
    tall (~45 % of the frame height, a typical rPPG framing).
    """
    head = skimage.data.astronaut()[30:250, 115:335]
    frame = np.full((HEIGHT, WIDTH, 3), 90, np.uint8)
    frame[20:460, 100:540] = cv2.resize(head, (440, 440), interpolation=cv2.INTER_CUBIC)
    with MediaPipeLandmarker(LandmarkerOptions(static_image_mode=True)) as lmk:
        faces = lmk.detect(frame, 0)
    if not faces:
        raise SystemExit("MediaPipe found no face in the benchmark frame")
    rng = np.random.default_rng(seed)
    frames, lms = [], []
    for i in range(n):
        noise = rng.integers(-2, 3, size=frame.shape, dtype=np.int16)
        frames.append(np.clip(frame.astype(np.int16) + noise, 0, 255).astype(np.uint8))
        lms.append(faces[0].landmarks + np.float32(0.5 * np.sin(i / 7.0)))
    return frames, lms


def label_map_path(frame: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """Fast path: cropped label map, one bincount, one matmul → ``[63, 6]``."""
    h, w = frame.shape[:2]
    box = roi_box(lm, h, w)
    label = rasterize_label_map(lm, h, w, box=box)
    sums, counts = roi_sums(frame, label, box=box)
    return combine_roi_sums(sums, counts)


def label_map_full_frame(frame: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """Same without the crop (label map and bincount over the whole frame)."""
    h, w = frame.shape[:2]
    sums, counts = roi_sums(frame, rasterize_label_map(lm, h, w))
    return combine_roi_sums(sums, counts)


def _time(fn, frames, lms) -> Tuple[float, float, List[np.ndarray]]:
    """Wall and process-CPU milliseconds per frame (CPU time is steadier on a shared machine)."""
    fn(frames[0], lms[0])                # warm-up (not timed)
    out = []
    t0, c0 = time.perf_counter(), time.process_time()
    for f, lm in zip(frames, lms):
        out.append(fn(f, lm))
    n = len(frames)
    return 1e3 * (time.perf_counter() - t0) / n, 1e3 * (time.process_time() - c0) / n, out


def main() -> Dict[str, object]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=200, help="frames per path (default 200)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="also write the results to this JSON file")
    args = ap.parse_args()
    frames, lms = make_scene(args.frames, args.seed)
    cv2.setNumThreads(1)  # fair comparison on a shared machine; both paths single-threaded
    ms_fast, cpu_fast, fast = _time(label_map_path, frames, lms)
    ms_full, cpu_full, full = _time(label_map_full_frame, frames, lms)
    ms_naive, cpu_naive, naive = _time(lambda f, lm: roi_sums_naive_63(f, lm)[0], frames, lms)
    fast_rgb = np.stack(fast)[..., :3].astype(np.float64)
    naive_rgb = np.stack(naive)
    rel = float(np.max(np.abs(fast_rgb - naive_rgb) / np.abs(naive_rgb)))
    agree = bool(rel < 1e-6 and np.array_equal(np.stack(fast), np.stack(full)))
    result = {
        "frames": args.frames, "size": f"{WIDTH}x{HEIGHT}",
        "label_map_ms_per_frame": round(ms_fast, 4),
        "label_map_full_frame_ms_per_frame": round(ms_full, 4),
        "naive_63_masks_ms_per_frame": round(ms_naive, 4),
        "label_map_cpu_ms_per_frame": round(cpu_fast, 4),
        "label_map_full_frame_cpu_ms_per_frame": round(cpu_full, 4),
        "naive_63_masks_cpu_ms_per_frame": round(cpu_naive, 4),
        "speedup": round(ms_naive / ms_fast, 1),
        "speedup_full_frame": round(ms_naive / ms_full, 1),
        "speedup_cpu": round(cpu_naive / cpu_fast, 1),
        "load_average_1min": round(os.getloadavg()[0], 2), "cpu_count": os.cpu_count(),
        "max_rel_diff": rel, "agree": agree,
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "opencv": cv2.__version__, "numpy": np.__version__,
    }
    print(f"ROI averaging at {WIDTH}x{HEIGHT}, {args.frames} frames, one process, same frames "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    print("                                                   wall ms/frame   CPU ms/frame")
    print(f"  label map (face-box crop) + bincount + matmul : {ms_fast:10.3f} {cpu_fast:14.3f}")
    print(f"  label map (full frame)    + bincount + matmul : {ms_full:10.3f} {cpu_full:14.3f}")
    print(f"  naive 63 masks + cv2.mean                     : {ms_naive:10.3f} {cpu_naive:14.3f}")
    print(f"  speed-up (wall): {ms_naive / ms_fast:.1f}x cropped, {ms_naive / ms_full:.1f}x full frame; "
          f"(CPU): {cpu_naive / cpu_fast:.1f}x cropped; goal >= 20x")
    print(f"  results agree: {agree} (max relative difference of the 63x3 RGB means {rel:.2e})")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)
    return result


if __name__ == "__main__":
    main()
