"""Benchmark: 63 MSTmap rows per frame by label map (per-ROI rectangles) vs. bincount vs. 63 masks + cv2.mean.

Both paths run in ONE process on the SAME 640x480 frames (the skimage astronaut's head
scaled 2x into the frame, face ~210 px tall, per-frame sensor noise and a small drift of the landmarks so no
path can cache anything).  Timed per path, per frame:

* label map: ``roi_box`` + ``rasterize_label_map`` (cropped to the face box) +
  ``roi_sums`` (one ``np.bincount``) + ``combine_roi_sums`` (one matmul) → ``[63, 6]``;
* naive:     ``roi_sums_naive_63`` (63 full-frame masks, one ``cv2.mean`` each) → ``[63, 3]``
  (it does not even compute YUV);
* bincount:  the label map as a plain array, so ``roi_sums`` takes its one-``np.bincount``
  whole-map path (the default before the per-ROI rectangles);
* and two cheaper variants that are NOT used, with how far they move the six ROI colour
  means (relative to each mean, worst over frames and channels; the gate is 1e-3):
  a stride-2 grid (label map and pixels subsampled 2x in x and y), and reusing the label
  map while every ROI vertex moved less than ``--reuse-px`` since it was drawn.

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

from edge_rppg.face.options import LandmarkerOptions
from edge_rppg.face.mediapipe_landmarker import MediaPipeLandmarker
from edge_rppg.skin.mstmap import combine_roi_sums
from edge_rppg.skin.roi import _ALL_INDEX, rasterize_label_map, roi_box, roi_polygons, roi_sums, roi_sums_naive_63

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


def bincount_path(frame: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """The previous default: cropped label map as a plain array → one whole-map bincount."""
    h, w = frame.shape[:2]
    box = roi_box(lm, h, w)
    label = np.asarray(rasterize_label_map(lm, h, w, box=box)).copy()
    sums, counts = roi_sums(frame, label, box=box)
    return combine_roi_sums(sums, counts)


def _means(sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    return sums / np.maximum(counts, 1)[:, None]


def grid_means(frame: np.ndarray, lm: np.ndarray, stride: int = 2) -> np.ndarray:
    """Rejected variant: six ROI means on a ``stride``-subsampled grid of the face box."""
    h, w = frame.shape[:2]
    x0, y0, x1, y1 = roi_box(lm, h, w)
    lab = np.zeros(((y1 - y0 + stride - 1) // stride, (x1 - x0 + stride - 1) // stride), np.uint8)
    for j, pts in enumerate(roi_polygons(lm)):
        p = np.round((pts - np.array([x0, y0])) / stride * 16).astype(np.int32)
        cv2.fillPoly(lab, [p], color=j + 1, lineType=cv2.LINE_8, shift=4)
    return _means(*roi_sums(np.ascontiguousarray(frame[y0:y1:stride, x0:x1:stride]), lab))


def reuse_errors(frames: List[np.ndarray], lms: List[np.ndarray], tol_px: float) -> Tuple[int, float]:
    """Rejected variant: reuse the label map while all ROI vertices moved < ``tol_px``;
    (frames reused, worst relative change of the six ROI means vs a fresh label map)."""
    h, w = frames[0].shape[:2]
    cached, reused, worst = None, 0, 0.0
    for f, lm in zip(frames, lms):
        box = roi_box(lm, h, w)
        want = _means(*roi_sums(f, rasterize_label_map(lm, h, w, box=box), box=box))
        v = lm[_ALL_INDEX]
        if cached is not None and np.abs(v - cached[0]).max() < tol_px:
            reused += 1
            got = _means(*roi_sums(f, cached[1], box=cached[2]))
            worst = max(worst, float(np.max(np.abs(got - want) / want)))
        else:
            cached = (v, rasterize_label_map(lm, h, w, box=box), box)
    return reused, worst


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
    ap.add_argument("--reuse-px", type=float, default=0.02, help="label-map reuse tolerance to report")
    ap.add_argument("--no-record", action="store_true", help="do not write bench/RESULTS.md")
    args = ap.parse_args()
    frames, lms = make_scene(args.frames, args.seed)
    cv2.setNumThreads(1)  # fair comparison on a shared machine; both paths single-threaded
    ms_fast, cpu_fast, fast = _time(label_map_path, frames, lms)
    ms_full, cpu_full, full = _time(label_map_full_frame, frames, lms)
    ms_naive, cpu_naive, naive = _time(lambda f, lm: roi_sums_naive_63(f, lm)[0], frames, lms)
    ms_binc, cpu_binc, binc = _time(bincount_path, frames, lms)
    ms_fast2, cpu_fast2, _ = _time(label_map_path, frames, lms)   # again, after, for load drift
    ms_fast, cpu_fast = min(ms_fast, ms_fast2), min(cpu_fast, cpu_fast2)
    boxed_equal = bool(np.array_equal(np.stack(fast), np.stack(binc)))
    ms_grid, cpu_grid, grid = _time(grid_means, frames, lms)
    h, w = frames[0].shape[:2]
    ref6 = [_means(*roi_sums(f, rasterize_label_map(lm, h, w, box=roi_box(lm, h, w)), box=roi_box(lm, h, w)))
            for f, lm in zip(frames, lms)]
    grid_err = float(max(np.max(np.abs(g - r) / r) for g, r in zip(grid, ref6)))
    reuse = {tol: reuse_errors(frames, lms, tol) for tol in (args.reuse_px, 0.05, 0.25)}
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
    print(f"  label map (face-box crop) + per-ROI rects     : {ms_fast:10.3f} {cpu_fast:14.3f}")
    print(f"  label map (full frame)    + per-ROI rects     : {ms_full:10.3f} {cpu_full:14.3f}")
    print(f"  naive 63 masks + cv2.mean                     : {ms_naive:10.3f} {cpu_naive:14.3f}")
    print(f"  speed-up (wall): {ms_naive / ms_fast:.1f}x cropped, {ms_naive / ms_full:.1f}x full frame; "
          f"(CPU): {cpu_naive / cpu_fast:.1f}x cropped; goal >= 20x")
    print(f"  results agree: {agree} (max relative difference of the 63x3 RGB means {rel:.2e})")
    print(f"  previous whole-map bincount path               : {ms_binc:10.3f} {cpu_binc:14.3f}  "
          f"(per-ROI rectangles are {cpu_binc / cpu_fast:.2f}x faster by CPU time; bit-identical: {boxed_equal})")
    print(f"  rejected: stride-2 grid {cpu_grid:.3f} CPU ms/frame, ROI means off by {grid_err:.1e} relative")
    for tol, (n_re, err) in reuse.items():
        print(f"  rejected: label-map reuse below {tol:g} px: {n_re}/{len(frames)} frames reused, means off by "
              f"{err:.1e} relative")
    result.update({"bincount_ms_per_frame": round(ms_binc, 4), "bincount_cpu_ms_per_frame": round(cpu_binc, 4),
                   "boxed_vs_bincount_cpu": round(cpu_binc / cpu_fast, 2), "boxed_bit_identical": boxed_equal,
                   "grid2_cpu_ms_per_frame": round(cpu_grid, 4), "grid2_max_rel_err": grid_err,
                   "reuse": {str(t): {"reused": n_re, "max_rel_err": e} for t, (n_re, e) in reuse.items()}})
    if not args.no_record:
        import sys
        from pathlib import Path

        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from results import markdown_table, record

        rows = [["label map, face-box crop, per-ROI rectangles (default)", ms_fast, cpu_fast, "1.00x", "0 (bit-identical)"],
                ["label map, face-box crop, one whole-map bincount (before)", ms_binc, cpu_binc,
                 f"{cpu_binc / cpu_fast:.2f}x", "0 (bit-identical)" if boxed_equal else "DIFFERS"],
                ["label map, full frame, per-ROI rectangles", ms_full, cpu_full, f"{cpu_full / cpu_fast:.2f}x", "0"],
                ["naive 63 masks + cv2.mean", ms_naive, cpu_naive, f"{cpu_naive / cpu_fast:.2f}x", f"{rel:.1e}"],
                ["rejected: stride-2 grid", ms_grid, cpu_grid, f"{cpu_grid / cpu_fast:.2f}x", f"{grid_err:.1e}"]]
        rows += [[f"rejected: label-map reuse < {t:g} px ({n_re}/{len(frames)} frames reused)", "-", "-", "-",
                  f"{e:.1e}"] for t, (n_re, e) in reuse.items()]
        record("ROI averaging (640x480)",
               f"{args.frames} frames, one process, same frames, cv2 single-threaded; load average "
               f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs.\n\n"
               + markdown_table(["path", "wall ms/frame", "CPU ms/frame", "CPU x default", "ROI-mean change (rel.)"],
                                rows)
               + "\n\nGate for a cheaper variant: ROI colour means within 1e-3 relative of the full-resolution "
                 "path. Only the per-ROI rectangles (exact) pass; the grid and label-map reuse do not.")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)
    return result


if __name__ == "__main__":
    main()
