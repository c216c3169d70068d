"""Face landmarks on monochrome frames: the bundled face models (trained on RGB) fed a gray
frame replicated to 3 channels (the ``input`` stage's view), against the RGB path.

For each condition one clip is rendered twice from the same seed, so the head follows the
same path frame by frame: as RGB (:mod:`edge_rppg.synth.video_gen`) and as a 940 nm NIR
camera (:mod:`edge_rppg.synth.nir`, 10-bit); the RGB clip is also converted to one channel
(``cv2.COLOR_RGB2GRAY``). All three go through the product's front end (face detector,
face mesh at 5 Hz with tracking in between, One-Euro smoothing). Per path: the fraction of
frames with a face, and the distance of its 468 landmarks from the RGB path's (mean per
frame, in % of the face-box height; median and 95th percentile over frames). The real clip of
``../shared/data/real/physrecorder_v01`` (skipped when absent) is compared the same way,
RGB against its one-channel conversion.

    python bench/bench_mono_landmarks.py
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import bench_real  # noqa: E402
from results import finish, markdown_table  # noqa: E402

#: condition -> VideoSynthConfig overrides (30 fps for both cameras: the same frames' geometry)
CONDITIONS: Dict[str, Dict[str, Any]] = {
    "still": {"motion": "still"},
    "motion": {"motion": "moderate"},
    "large motion": {"motion": "large"},
    "talking": {"motion": "still", "talking_hz": 4.5, "talking_amplitude": 0.05},
    "nodding": {"motion": "still", "periodic_motion_hz": 1.4, "periodic_motion_frac": 0.012, "nod_shading": 0.15},
}


def landmarks(frames: Iterable[np.ndarray], fps: float, color_space: str) -> Tuple[np.ndarray, np.ndarray]:
    """``(landmarks [T, 468, 2], boxes [T, 4])`` of the product's front end on ``frames``."""
    from edge_rppg.processor.extract import extract_mstmap
    from edge_rppg.processor.options import EstimateConfig, video_options

    opts = video_options(None, EstimateConfig(progress=False, color_space=color_space))
    ex = extract_mstmap(frames, fps=fps, progress=False, keep_landmarks=True, options=opts)
    return ex.landmarks, ex.boxes


def agreement(ref: Tuple[np.ndarray, np.ndarray], other: Tuple[np.ndarray, np.ndarray]) -> Dict[str, float]:
    """Face-found fraction of ``other`` and its landmarks' distance from ``ref``'s (% of face height)."""
    lm_ref, box_ref = ref
    lm, _ = other
    found = np.isfinite(lm).all(axis=(1, 2))
    both = found & np.isfinite(lm_ref).all(axis=(1, 2))
    h = box_ref[both, 3] - box_ref[both, 1]
    d = np.linalg.norm(lm[both] - lm_ref[both], axis=2).mean(axis=1) / h * 100.0
    return {"found": float(found.mean()), "median_pct": float(np.median(d)) if d.size else float("nan"),
            "p95_pct": float(np.percentile(d, 95)) if d.size else float("nan")}


def rendered_rows(seed: int, duration_s: float, size: Tuple[int, int]) -> List[List[object]]:
    """One row per condition and mono path (NIR render, RGB converted to gray)."""
    import cv2

    from edge_rppg.synth.video_gen import VideoSynthConfig, render_frames

    rows: List[List[object]] = []
    for name, over in CONDITIONS.items():
        base = dict(duration_s=duration_s, fps=30.0, width=size[0], height=size[1], **over)
        rgb_frames = list(render_frames(VideoSynthConfig(**base), seed))
        ref = landmarks(rgb_frames, 30.0, "rgb")
        gray = landmarks([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in rgb_frames], 30.0, "gray")
        nir = landmarks(render_frames(VideoSynthConfig(**base, camera="nir940"), seed), 30.0, "gray")
        found_rgb = float(np.isfinite(ref[0]).all(axis=(1, 2)).mean())
        for label, got in (("RGB → gray", gray), ("NIR 940 nm render", nir)):
            a = agreement(ref, got)
            rows.append([name, label, f"{found_rgb:.3f}", f"{a['found']:.3f}", f"{a['median_pct']:.2f}",
                         f"{a['p95_pct']:.2f}"])
    return rows


def real_rows() -> List[List[object]]:
    """The real clip(s), RGB against their one-channel conversion (empty when absent)."""
    import cv2

    from edge_rppg.frames.video import open_video

    rows: List[List[object]] = []
    for clip in bench_real.discover():
        with open_video(bench_real.video_of(clip)) as reader:
            fps = float(reader.fps)
            rgb = list(reader)
        ref = landmarks(rgb, fps, "rgb")
        a = agreement(ref, landmarks([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in rgb], fps, "gray"))
        found_rgb = float(np.isfinite(ref[0]).all(axis=(1, 2)).mean())
        rows.append([f"real: {clip.name}", "RGB → gray", f"{found_rgb:.3f}", f"{a['found']:.3f}",
                     f"{a['median_pct']:.2f}", f"{a['p95_pct']:.2f}"])
    return rows


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command line: see the module docstring."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=171_000)
    p.add_argument("--duration", type=float, default=8.0, help="seconds per rendered clip")
    p.add_argument("--size", default="320x240")
    p.add_argument("--json", default="", help="also write the numbers here")
    p.add_argument("--no-record", action="store_true", help="do not write bench/RESULTS.md")
    p.add_argument("--section", default="Face landmarks on monochrome frames vs the RGB path")
    args = p.parse_args(argv)
    size = tuple(int(v) for v in args.size.lower().split("x"))
    rows = rendered_rows(args.seed, args.duration, size) + real_rows()  # type: ignore[arg-type]
    header = ["clip", "mono path", "face found (RGB)", "face found (mono)", "landmarks vs RGB, median (% face)",
              "95th pct (% face)"]
    table = markdown_table(header, rows)
    body = (f"Rendered clips of {args.duration:g} s, {args.size} at 30 fps, seed {args.seed}: each rendered as RGB "
            "and as a 940 nm NIR camera from the same seed (same head path), and the RGB frames converted to one "
            "channel; the product's front end on each (ONNX face models, mesh at 5 Hz, tracking, smoothing). "
            "Landmark distance = mean over the 468 points of the distance to the RGB path's landmarks in the same "
            "frame, in % of the face-box height.\n\n" + table)
    finish(args, table, rows, args.section, body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
