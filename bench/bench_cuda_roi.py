"""CUDA ROI-averaging kernel: throughput against the memory-bandwidth floor, and agreement.

For 640x480 and 1920x1080 frames already in GPU memory (CuPy), with a face occupying the
usual ~45 % of the frame height, times (CUDA events, median of ``--repeat`` launches):

* ``kernel_face_us``  — ``roi_sums_kernel`` over the face box (what the runtime launches);
* ``kernel_full_us``  — the same kernel over a full-frame label map (worst case);
* ``copy_us``         — a device-to-device copy of the same frame (``cupy.copyto``): reading
  and writing every byte once, the floor any one-pass kernel over the frame is compared to;
* ``row_us``          — sums plus ``subset_means_kernel`` (the 63x6 MSTmap row on the device);

and checks the sums and the 63x6 row against the CPU path (``edge_rppg.skin.roi.roi_sums`` +
``combine_roi_sums``; goal: equal within 1e-4 relative). Without CuPy and a GPU it prints
why and exits 0 (nothing to measure). Usage::

    .venv/bin/python bench/bench_cuda_roi.py [--repeat 200] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable, Dict

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SIZES = {"640x480": (480, 640), "1920x1080": (1080, 1920)}


def scene(h: int, w: int, seed: int = 0) -> tuple:
    """Noisy frame and a six-ROI label map inside a face box 45 % of the frame height."""
    rng = np.random.default_rng(seed)
    frame = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    fh = int(0.45 * h)
    fw = int(0.8 * fh)
    y0, x0 = (h - fh) // 2, (w - fw) // 2
    labels = np.zeros((h, w), np.uint8)
    yy, xx = np.mgrid[0:fh, 0:fw]
    labels[y0:y0 + fh, x0:x0 + fw] = np.where((yy // 9 + xx // 13) % 4 == 0, 0, 1 + (yy * 6 // fh)).astype(np.uint8)
    return frame, labels, (x0, y0, x0 + fw, y0 + fh)


def _time_us(cp: Any, fn: Callable[[], Any], repeat: int) -> float:
    for _ in range(5):
        fn()
    cp.cuda.Device().synchronize()
    start, stop = cp.cuda.Event(), cp.cuda.Event()
    times = []
    for _ in range(repeat):
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(cp.cuda.get_elapsed_time(start, stop) * 1e3)
    return float(np.median(times))


def run(repeat: int) -> Dict[str, Any]:
    """Measure every size; returns the JSON-able result."""
    from edge_rppg.runtime.cuda_roi import available_backends, make_roi_summer, unavailable_reasons

    if "cupy" not in available_backends():
        return {"skipped": f"needs CuPy and a CUDA GPU: {unavailable_reasons().get('cupy', 'unavailable')}"}
    import cupy as cp

    from edge_rppg.skin.mstmap import combine_roi_sums
    from edge_rppg.skin.roi import roi_sums

    summer = make_roi_summer("cupy")
    props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
    out: Dict[str, Any] = {"gpu": props["name"].decode() if isinstance(props["name"], bytes) else props["name"],
                           "cupy": cp.__version__, "repeat": repeat, "sizes": {}}
    for name, (h, w) in SIZES.items():
        frame, labels, (x0, y0, x1, y1) = scene(h, w, seed=h)
        d_frame = cp.asarray(frame)
        d_dst = cp.empty_like(d_frame)
        d_face = cp.asarray(np.ascontiguousarray(labels[y0:y1, x0:x1]))
        d_full = cp.asarray(labels)
        t_face = _time_us(cp, lambda: summer.device_sums(d_frame, d_face, (x0, y0)), repeat)
        t_full = _time_us(cp, lambda: summer.device_sums(d_frame, d_full), repeat)
        t_copy = _time_us(cp, lambda: cp.copyto(d_dst, d_frame), repeat)
        t_row = _time_us(cp, lambda: summer.device_row(d_frame, d_face, (x0, y0)), repeat)
        cpu_s, cpu_c = roi_sums(frame, labels)
        gpu_s, gpu_c = summer.sums(d_frame, d_face, (x0, y0))
        row_cpu = combine_roi_sums(cpu_s, cpu_c)
        row_gpu = cp.asnumpy(summer.device_row(d_frame, d_face, (x0, y0)))
        rel = np.abs(row_gpu - row_cpu) / np.maximum(np.abs(row_cpu), 1e-12)
        frame_bytes = frame.nbytes
        out["sizes"][name] = {
            "kernel_face_us": round(t_face, 2), "kernel_full_us": round(t_full, 2), "copy_us": round(t_copy, 2),
            "row_us": round(t_row, 2),
            "full_vs_copy": round(t_full / t_copy, 2),
            "kernel_full_GBps_read": round((frame_bytes + labels.nbytes) / (t_full * 1e-6) / 1e9, 1),
            "copy_GBps_read_plus_write": round(2 * frame_bytes / (t_copy * 1e-6) / 1e9, 1),
            "sums_equal": bool(np.array_equal(gpu_c, cpu_c) and np.array_equal(gpu_s, cpu_s)),
            "row_max_rel_err": float(np.nanmax(rel)), "row_within_1e-4": bool(np.nanmax(rel) <= 1e-4),
        }
    return out


def main() -> int:
    """Run, print JSON, optionally save it."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    out = run(args.repeat)
    text = json.dumps(out, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
