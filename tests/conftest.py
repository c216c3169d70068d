"""Shared fixtures: synthetic face videos with exact ground truth (made once per
session), and the path to the real contact-PPG recordings in ../shared."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any, Dict, Optional

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"

#: The real face mesh the tests take their landmarks from: mediapipe's FaceMesh (the reference) where the
#: [mediapipe] extra is installed (the oldest stack, numpy 1.x), else the bundled ONNX face mesh, the
#: default landmarker (the newest stack, numpy 2: mediapipe 0.10.x pins numpy<2). Both give the same
#: landmarks within 0.31 px (bench/compare_face_models.py).
FACE_MESH = "mediapipe" if importlib.util.find_spec("mediapipe") is not None else "onnx"


def face_mesh(options: Optional[Any] = None) -> Any:
    """A :data:`FACE_MESH` landmarker built from ``options`` (default ``LandmarkerOptions()``)."""
    from edge_rppg.landmarks import LANDMARKERS, LandmarkerOptions

    return LANDMARKERS.get(FACE_MESH)(options or LandmarkerOptions())


@pytest.fixture(scope="session")
def shared_ppg_dir() -> Path:
    """../shared/data/ppg, or skip when the shared folder is absent (a user's clone)."""
    d = SHARED / "data" / "ppg"
    if not d.is_dir():
        pytest.skip("../shared/data/ppg is absent (only CI and developer machines have it)")
    return d


@pytest.fixture(scope="session")
def synth_videos(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    """Three 20 s synthetic videos (still, moderate motion, light drift) with GT JSON.

    320x240 keeps the suite fast (lossless 640x480 video is ~13 MB/s); the demo and
    the benchmarks use 640x480."""
    from edge_rppg.synth.video_gen import PRESETS, synth_video

    out = tmp_path_factory.mktemp("synth_videos")
    videos = {}
    for i, (name, hr) in enumerate([("still", 64.0), ("moderate_motion", 82.0), ("light_drift", 101.0)]):
        cfg = PRESETS[name]
        cfg = type(cfg).from_dict({**cfg.to_dict(), "duration_s": 20.0, "hr_bpm": hr,
                                   "width": 320, "height": 240})
        path = out / f"{name}.avi"
        synth_video(path, cfg, seed=100 + i)
        videos[name] = path
    return videos


def ground_truth(video: Path) -> dict:
    """The JSON ground truth written next to a synthetic video."""
    return json.loads(Path(video).with_suffix(".json").read_text())
