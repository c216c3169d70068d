"""Same numbers on both supported stacks (issue 26): numpy 1.x + OpenCV 4.x vs numpy 2.x + OpenCV 5.x.

Run ``dump`` once in each venv on the *same* clip files, then ``compare`` the two dumps:

    .venv/bin/python tools/compare_stacks.py dump out/stacks/clips out/stacks/oldest          # synthesises the clips
    .venv-newest/bin/python tools/compare_stacks.py dump out/stacks/clips out/stacks/newest   # reuses them
    python tools/compare_stacks.py compare out/stacks/oldest out/stacks/newest --tol-bpm 0.01

``dump`` synthesises the demo's three clips into CLIPS where they are missing (the demo's presets, HR and
seeds: ``edge-rppg demo`` makes the same videos), and also synthesises them again into OUT/own so that
``compare`` can say whether the two stacks' synthesiser writes the same video. On every clip of CLIPS it
records, at full precision, what the public API returns (``edge_rppg.estimate``: clip HR, per-window HR
and validity, RF, the pulse signal) for the default engine and POS, and the MSTmap
(``extract_mstmap``) with its dtype, so that a difference can be traced to the stage that made it.
``compare`` prints one table and exits 1 when a clip HR differs by more than ``--tol-bpm``.

``dump --landmarks-from OTHER`` replays OTHER's smoothed landmarks instead of running the face models
(``extract_mstmap`` with a replaying landmarker, then ``estimate_extraction``): everything after the
landmarks (ROI masks and means, MSTmap, resampling, the ONNX engine, DSP) then sees the same input on
both stacks, which isolates numpy's dtype promotion (NEP 50) and OpenCV's raster ops from OpenCV's
image warps (the face crops), whose bilinear interpolation changed in OpenCV 5.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

#: the demo's clips (edge_rppg.cli.demo): preset, truth HR, seed offset from --seed
CLIPS = (("still", 66.0), ("moderate_motion", 84.0), ("light_drift", 105.0))


def versions() -> Dict[str, str]:
    """What pip chose in this venv, as the code sees it."""
    import importlib.metadata as md

    import cv2
    import onnxruntime
    import scipy

    out = {"python": sys.version.split()[0], "numpy": np.__version__, "opencv": cv2.__version__,
           "scipy": scipy.__version__, "onnxruntime": onnxruntime.__version__}
    for dist in ("opencv-contrib-python", "mediapipe", "torch", "scikit-image"):
        try:
            out[dist] = md.version(dist)
        except md.PackageNotFoundError:
            out[dist] = None
    return out


def synthesise(folder: Path, duration: float, seed: int) -> List[Path]:
    """The demo's clips in ``folder`` (kept where they exist already)."""
    from edge_rppg.synth.video_gen import PRESETS, synth_video

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, (name, hr) in enumerate(CLIPS):
        path = folder / f"{name}.avi"
        if not path.exists():
            cfg = PRESETS[name]
            cfg = type(cfg).from_dict({**cfg.to_dict(), "duration_s": duration, "hr_bpm": hr})
            synth_video(path, cfg, seed=seed + i)
        paths.append(path)
    return paths


def frames_digest(path: Path) -> str:
    """SHA-256 of the decoded RGB frames (the container's bytes may differ where the pixels do not)."""
    from edge_rppg.frames.video import open_video

    h = hashlib.sha256()
    with open_video(path) as reader:
        for frame in reader:
            h.update(np.ascontiguousarray(frame).tobytes())
    return h.hexdigest()


class ReplayLandmarker:
    """The ``Landmarker`` protocol replaying recorded landmarks frame by frame (NaN rows: no face)."""

    def __init__(self, landmarks: np.ndarray) -> None:
        self.landmarks, self.i = landmarks, 0

    def detect(self, frame_rgb: np.ndarray, timestamp_ms: float) -> list:
        from edge_rppg.face.types import Face

        lm = self.landmarks[self.i]
        self.i += 1
        if not np.isfinite(lm).all():
            return []
        lo, hi = lm.min(axis=0), lm.max(axis=0)
        return [Face(landmarks=lm.astype(np.float32), box=(float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])),
                     score=1.0)]

    def close(self) -> None:
        pass


def _f(v: Any) -> Optional[float]:
    return None if v is None or not np.isfinite(v) else float(v)


def dump(clips_dir: Path, out: Path, duration: float, seed: int, engines: Sequence[str],
         landmarks_from: Optional[Path] = None) -> Dict[str, Any]:
    """Estimate every clip with every engine; write OUT/summary.json and the arrays as OUT/<clip>.npz."""
    from edge_rppg import EstimateConfig, estimate, load_engine
    from edge_rppg.processor.clip import estimate_extraction
    from edge_rppg.processor.extract import extract_mstmap
    from edge_rppg.pulse.engines.registry import default_engine_spec

    out.mkdir(parents=True, exist_ok=True)
    clips = synthesise(clips_dir, duration, seed)
    own = synthesise(out / "own", duration, seed)
    summary: Dict[str, Any] = {"versions": versions(), "clips": {},
                               "landmarks_from": None if landmarks_from is None else str(landmarks_from)}
    for clip, mine in zip(clips, own):
        if landmarks_from is None:
            ex = extract_mstmap(clip, progress=False)
        else:
            replay = ReplayLandmarker(np.load(landmarks_from / f"{clip.stem}.npz")["landmarks"])
            ex = extract_mstmap(clip, replay, progress=False, smoother=False)
        arrays = {"mstmap": ex.mstmap, "valid": ex.valid, "landmarks": ex.landmarks}
        row: Dict[str, Any] = {"frames_sha256": frames_digest(clip), "own_frames_sha256": frames_digest(mine),
                               "mstmap_dtype": str(ex.mstmap.dtype), "engines": {}}
        for spec in engines:
            eng = default_engine_spec() if spec == "default" else spec
            cfg = EstimateConfig(progress=False)
            est = (estimate(clip, engine=load_engine(eng), config=cfg) if landmarks_from is None
                   else estimate_extraction(ex, load_engine(eng), cfg))
            label = Path(eng).name
            arrays[f"bvp__{label}"] = np.asarray(est.bvp)
            row["engines"][label] = {
                "hr_bpm": _f(est.hr_bpm), "valid": bool(est.valid), "rf_hz": _f(est.rf_hz),
                "bvp_dtype": str(np.asarray(est.bvp).dtype),
                "windows": [[_f(w.hr_bpm), bool(w.valid)] for w in est.windows]}
        np.savez_compressed(out / f"{clip.stem}.npz", **arrays)
        summary["clips"][clip.stem] = row
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def _diff(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return None if a is None or b is None else b - a


def compare(a_dir: Path, b_dir: Path, tol_bpm: float) -> int:
    """Print the side-by-side table of two dumps; 1 when a clip HR (or its validity) differs beyond ``tol_bpm``."""
    a = json.loads((a_dir / "summary.json").read_text())
    b = json.loads((b_dir / "summary.json").read_text())
    fmt = lambda v: ", ".join(f"{k} {v[k]}" for k in ("python", "numpy", "opencv", "scipy", "onnxruntime", "mediapipe"))
    print(f"A ({a_dir}): {fmt(a['versions'])}\nB ({b_dir}): {fmt(b['versions'])}")
    bad = 0
    print(f"{'clip':<16} {'engine':<26} {'HR A':>10} {'HR B':>10} {'dHR':>9} {'max|dHR| win':>12} "
          f"{'valid A/B':>10} {'max|dMSTmap|':>12} {'max|dBVP|':>10}  same frames / same synth")
    for clip, ra in a["clips"].items():
        rb = b["clips"][clip]
        za, zb = np.load(a_dir / f"{clip}.npz"), np.load(b_dir / f"{clip}.npz")
        same = ra["frames_sha256"] == rb["frames_sha256"]
        if same and za["landmarks"].shape == zb["landmarks"].shape:
            print(f"{clip}: max |d landmark| {float(np.nanmax(np.abs(za['landmarks'] - zb['landmarks']))):.4f} px")
        mst = float(np.nanmax(np.abs(za["mstmap"].astype(np.float64) - zb["mstmap"]))) if same else float("nan")
        synth = ra["own_frames_sha256"] == rb["own_frames_sha256"]
        for eng, ea in ra["engines"].items():
            eb = rb["engines"][eng]
            d = _diff(ea["hr_bpm"], eb["hr_bpm"])
            wins = [abs(y[0] - x[0]) for x, y in zip(ea["windows"], eb["windows"]) if x[0] is not None and y[0] is not None]
            va, vb = za[f"bvp__{eng}"], zb[f"bvp__{eng}"]
            dbvp = float(np.max(np.abs(va.astype(np.float64) - vb))) if va.shape == vb.shape else float("nan")
            ok = (d is not None and abs(d) <= tol_bpm and ea["valid"] == eb["valid"]) or (ea["hr_bpm"] is None and eb["hr_bpm"] is None)
            bad += not ok
            print(f"{clip:<16} {eng:<26} {ea['hr_bpm'] or float('nan'):10.4f} {eb['hr_bpm'] or float('nan'):10.4f} "
                  f"{(d if d is not None else float('nan')):+9.4f} {max(wins, default=float('nan')):12.4f} "
                  f"{str(ea['valid'])[0]}/{str(eb['valid'])[0]:>8} {mst:12.2e} {dbvp:10.2e}  {same} / {synth}"
                  + ("" if ok else "   <-- beyond tolerance"))
            if ea["bvp_dtype"] != eb["bvp_dtype"] or ra["mstmap_dtype"] != rb["mstmap_dtype"]:
                print(f"  dtype differs: MSTmap {ra['mstmap_dtype']}/{rb['mstmap_dtype']}, "
                      f"BVP {ea['bvp_dtype']}/{eb['bvp_dtype']}")
                bad += 1
    print(f"{'PASSED' if not bad else 'FAILED'}: clip HR within {tol_bpm} bpm on every clip and engine"
          + ("" if not bad else f" ({bad} beyond)"))
    return 1 if bad else 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``dump`` in each venv, then ``compare``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump", help="estimate the clips in this venv and write OUT/summary.json + arrays")
    d.add_argument("clips", type=Path, help="folder of the shared clips (synthesised where missing)")
    d.add_argument("out", type=Path, help="folder for this stack's results")
    d.add_argument("--duration", type=float, default=20.0, help="seconds per clip (the demo's 20)")
    d.add_argument("--seed", type=int, default=7, help="the demo's seed")
    d.add_argument("--engines", default="default,pos", help="comma-separated engines (the demo's)")
    d.add_argument("--landmarks-from", type=Path, help="replay the landmarks of this dump (isolates the stages after them)")
    c = sub.add_parser("compare", help="compare two dumps")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    c.add_argument("--tol-bpm", type=float, default=0.01, help="largest clip-HR difference accepted")
    args = ap.parse_args(argv)
    if args.cmd == "dump":
        s = dump(args.clips, args.out, args.duration, args.seed, [e.strip() for e in args.engines.split(",")],
                 args.landmarks_from)
        print(json.dumps(s["versions"]))
        return 0
    return compare(args.a, args.b, args.tol_bpm)


if __name__ == "__main__":
    raise SystemExit(main())
