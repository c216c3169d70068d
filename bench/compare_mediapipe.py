"""Do mediapipe 0.10.18 (the last 0.10.x with linux-aarch64 wheels) and 0.10.21 (x86-64 pin) agree?

Why: ``pyproject.toml`` selects the landmarker by platform marker, so a Jetson runs FaceMesh from
0.10.18 while the x86-64 development and CI machines run 0.10.21. This proves the two give the
same 468 landmarks (within 0.5 px) on the project's synthetic videos, so the MSTmap and the HR do
not depend on the platform.

How: makes a throw-away venv in ``--venv`` with ``mediapipe==0.10.18`` (its x86-64 wheel exists),
synthesises ``still``, ``moderate_motion`` and ``large_motion`` clips with ``edge-rppg synth``,
runs FaceMesh exactly as ``edge_rppg.face.landmarks.MediaPipeLandmarker`` configures it (tracking
mode, one face, 0.5/0.5 confidences, three settle passes on acquisition) in both interpreters
(the worker below, run by each), and compares the landmarks frame by frame. The numbers go to
``bench/RESULTS.md``; exit 1 when any clip's max error exceeds ``--tolerance``.

    nice -n 10 python bench/compare_mediapipe.py
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

REPO = Path(__file__).resolve().parents[1]
PRESETS = ("still", "moderate_motion", "large_motion")

WORKER = r'''
import json, sys
import cv2, numpy as np
import mediapipe as mp
from mediapipe.python.solutions import face_mesh
clip, out, settle = sys.argv[1], sys.argv[2], int(sys.argv[3])
mesh = face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1, refine_landmarks=False,
                          min_detection_confidence=0.5, min_tracking_confidence=0.5)
cap = cv2.VideoCapture(clip)
pts, tracking = [], False
while True:
    ok, bgr = cap.read()
    if not ok:
        break
    rgb = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    h, w = rgb.shape[:2]
    found = mesh.process(rgb).multi_face_landmarks or []
    if found and not tracking:
        for _ in range(settle):
            found = mesh.process(rgb).multi_face_landmarks or found
    tracking = bool(found)
    if found:
        pts.append(np.array([(p.x * w, p.y * h) for p in found[0].landmark], np.float32))
    else:
        pts.append(np.full((468, 2), np.nan, np.float32))
np.save(out, np.stack(pts))
print(json.dumps({"mediapipe": mp.__version__, "numpy": np.__version__, "frames": len(pts)}))
'''


def sh(cmd: Sequence[str], **kw: object) -> subprocess.CompletedProcess:
    """Run a command, failing loudly with its output."""
    proc = subprocess.run(list(cmd), text=True, capture_output=True, **kw)  # type: ignore[call-overload]
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return proc


def make_venv(venv: Path, version: str) -> Path:
    """A venv with only ``mediapipe==version`` (and what it pulls in); reused when it already has it."""
    py = venv / "bin/python"
    if py.exists():
        probe = subprocess.run([str(py), "-c", "import mediapipe; print(mediapipe.__version__)"],
                               text=True, capture_output=True)
        if probe.stdout.strip() == version:
            return py
    sh([sys.executable, "-m", "venv", "--clear", str(venv)])
    sh([str(py), "-m", "pip", "install", "-q", f"mediapipe=={version}"])
    return py


def landmarks(py: Path, clip: Path, out: Path, settle: int) -> Dict[str, object]:
    """Run the FaceMesh worker under interpreter ``py``; landmarks land in ``out`` (.npy)."""
    proc = sh([str(py), "-c", WORKER, str(clip), str(out), str(settle)])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def compare(a, b) -> Dict[str, float]:  # type: ignore[no-untyped-def]
    """Per-landmark Euclidean pixel error between two [N, 468, 2] arrays (frames seen by both)."""
    import numpy as np

    both = ~(np.isnan(a).any(axis=(1, 2)) | np.isnan(b).any(axis=(1, 2)))
    err = np.linalg.norm(a[both] - b[both], axis=-1)
    return {"frames": int(len(a)), "both_detected": int(both.sum()),
            "only_one_detected": int((np.isnan(a).any(axis=(1, 2)) != np.isnan(b).any(axis=(1, 2))).sum()),
            "max_px": float(err.max()) if err.size else float("nan"),
            "mean_px": float(err.mean()) if err.size else float("nan"),
            "p99_px": float(np.percentile(err, 99)) if err.size else float("nan")}


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Compare on the three presets, print and record the table."""
    import numpy as np

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from results import markdown_table, record

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--venv", type=Path, default=Path("/tmp/venv-mediapipe-0.10.18"))
    ap.add_argument("--old", default="0.10.18")
    ap.add_argument("--duration", type=float, default=8.0)
    ap.add_argument("--hr", type=float, default=75.0)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--tolerance", type=float, default=0.5, help="max allowed landmark error, px")
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    old_py = make_venv(args.venv, args.old)
    new_py = Path(sys.executable)
    rows: List[List[object]] = []
    versions: Dict[str, object] = {}
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for preset in PRESETS:
            clip = Path(tmp) / f"{preset}.avi"
            sh([str(REPO / ".venv/bin/edge-rppg"), "synth", str(clip), "--preset", preset, "--hr", str(args.hr),
                "--duration", str(args.duration), "--seed", str(args.seed)])
            a_info = landmarks(new_py, clip, Path(tmp) / f"{preset}.new.npy", 3)
            b_info = landmarks(old_py, clip, Path(tmp) / f"{preset}.old.npy", 3)
            versions = {"new": a_info, "old": b_info}
            c = compare(np.load(Path(tmp) / f"{preset}.new.npy"), np.load(Path(tmp) / f"{preset}.old.npy"))
            worst = max(worst, c["max_px"]) if c["both_detected"] else float("inf")
            rows.append([preset, c["frames"], c["both_detected"], c["only_one_detected"], c["mean_px"], c["p99_px"],
                         c["max_px"]])
            print(preset, json.dumps(c), flush=True)
    ok = worst <= args.tolerance and all(r[3] == 0 for r in rows)
    new_v, old_v = versions["new"], versions["old"]  # type: ignore[index]
    body = (f"FaceMesh (tracking mode, as `MediaPipeLandmarker` runs it) from mediapipe {new_v['mediapipe']} "  # type: ignore[index]
            f"(numpy {new_v['numpy']}) vs {old_v['mediapipe']} (numpy {old_v['numpy']}), "  # type: ignore[index]
            f"same frames of `edge-rppg synth --preset P --hr {args.hr} --duration {args.duration} "
            f"--seed {args.seed}` (640x480). Error = Euclidean distance per landmark, pixels.\n\n"
            + markdown_table(["preset", "frames", "both found", "found by one only", "mean px", "p99 px", "max px"],
                             rows)
            + f"\n\n**{'PASS' if ok else 'FAIL'}**: max error {worst:.4f} px (tolerance {args.tolerance} px); "
              f"{time.perf_counter() - t0:.0f} s including the venv.")
    print(body)
    if not args.no_record:
        record("mediapipe 0.10.18 vs 0.10.21 landmarks", body)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
