"""The bundled ONNX face models (edge_rppg.face.nets) and the default "onnx" landmarker:
agreement with mediapipe's own FaceMesh, the crop geometry, the detector's decoding, errors."""
from __future__ import annotations

import dataclasses
import importlib.util
from typing import List

import cv2
import numpy as np
import onnx
import pytest
import skimage.data

from edge_rppg.errors import ConfigError, ModelFileError
from edge_rppg.face.nets import (DETECTOR_FILE, FACE_MODEL_DIR, MESH_FILE, FaceDetectorNet, FaceMeshNet, FaceRect,
                                   rect_from_points, ssd_anchors, weighted_nms)
from edge_rppg.face.registry import DEFAULT_LANDMARKER, LANDMARKERS
from edge_rppg.face.options import LandmarkerOptions

HAS_MEDIAPIPE = importlib.util.find_spec("mediapipe") is not None


@pytest.fixture(scope="module")
def nets():
    return FaceDetectorNet(), FaceMeshNet()


def test_bundled_files_name_their_source_and_licence() -> None:
    notice = (FACE_MODEL_DIR / "NOTICE").read_text()
    assert "Apache License, Version 2.0" in notice and "MediaPipe" in notice
    for path, source in ((DETECTOR_FILE, "face_detection_short_range.tflite"), (MESH_FILE, "face_landmark.tflite")):
        meta = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
        assert meta["edge_rppg.source"].endswith(source) and len(meta["edge_rppg.source_sha256"]) == 64
        assert meta["edge_rppg.license"] == "Apache-2.0"
        assert not any(n.op_type == "PRelu" for n in onnx.load(str(path)).graph.node)  # rewritten (slow on ORT 1.32)


def test_default_landmarker_is_the_onnx_one() -> None:
    assert DEFAULT_LANDMARKER == "onnx" and "onnx" in LANDMARKERS


def test_anchors_are_the_short_range_grid() -> None:
    a = ssd_anchors()
    assert a.shape == (896, 2) and (a > 0).all() and (a < 1).all()
    assert np.allclose(a[0], [0.5 / 16, 0.5 / 16]) and np.allclose(a[1], a[0])      # 2 per cell at stride 8
    assert np.allclose(a[512], [0.5 / 8, 0.5 / 8]) and np.allclose(a[512:518], a[512])  # 6 per cell at 16


def test_weighted_nms_merges_overlaps_by_score_and_keeps_separate_faces() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], np.float32)
    kps = np.zeros((3, 6, 2), np.float32)
    kps[1] += 3.0
    out = weighted_nms(boxes, kps, np.array([0.9, 0.3, 0.6], np.float32))
    assert len(out) == 2 and out[0][2] == pytest.approx(0.9) and out[1][2] == pytest.approx(0.6)
    assert out[0][0][0] == pytest.approx(0.25, abs=1e-5)          # (0*0.9 + 1*0.3) / 1.2
    assert out[0][1][0, 0] == pytest.approx(0.75, abs=1e-5)       # keypoints averaged the same way


def test_rect_levels_the_eyes_and_squares_the_long_side() -> None:
    level = rect_from_points((10, 20, 110, 70), np.array([30, 40]), np.array([90, 40]))
    assert (level.cx, level.cy, level.side, level.rotation) == (60, 45, 150, 0)
    tilted = rect_from_points((0, 0, 100, 100), np.array([0, 0]), np.array([10, 10]))   # right eye lower: +45°
    assert tilted.rotation == pytest.approx(np.pi / 4)
    assert FaceRect(0, 0, 10, 0).iou(FaceRect(0, 0, 10, 0.3)) == pytest.approx(1.0)
    assert FaceRect(0, 0, 10, 0).iou(FaceRect(20, 0, 10, 0)) == 0.0


def test_detector_finds_the_face_and_nothing_in_a_blank_frame(nets) -> None:
    det, mesh = nets
    img = skimage.data.astronaut()
    faces = det(img)
    assert len(faces) == 1 and faces[0].score > 0.8
    x0, y0, x1, y1 = faces[0].box
    lm, presence = mesh(img, faces[0].rect())
    assert presence > 0.9
    nose = lm[1]
    assert x0 < nose[0] < x1 and y0 < nose[1] < y1
    assert det(np.full((240, 320, 3), 128, np.uint8)) == []
    _, none = mesh(np.full((240, 320, 3), 128, np.uint8), faces[0].rect())
    assert none < 0.5


@pytest.mark.parametrize("angle", [-25.0, 20.0])
def test_a_rotated_face_gives_rotated_landmarks(nets, angle: float) -> None:
    """Rotating the frame rotates the landmarks with it: the crop follows the eye line in
    both directions (a sign error in the rotation would put them tens of pixels off)."""
    img = skimage.data.astronaut()
    with LANDMARKERS.get("onnx")(LandmarkerOptions(static_image_mode=True)) as lmk:
        ref = lmk.detect(img, 0)[0].landmarks
        m = cv2.getRotationMatrix2D((256.0, 200.0), angle, 1.0)
        rotated = cv2.warpAffine(img, m, (512, 512), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        got = lmk.detect(rotated, 1)[0].landmarks
    expect = ref @ m[:, :2].T + m[:, 2]
    assert float(np.median(np.linalg.norm(got - expect, axis=1))) < 3.0


def _clip(preset: str, seconds: float = 3.0) -> List[np.ndarray]:
    from edge_rppg.synth.video_gen import PRESETS, render_frames

    return list(render_frames(dataclasses.replace(PRESETS[preset], duration_s=seconds), 11))


@pytest.mark.skipif(not HAS_MEDIAPIPE, reason="mediapipe (the reference) is not installed")
@pytest.mark.parametrize("preset", ["still", "large_motion", "talking"])
def test_landmarks_agree_with_mediapipe_facemesh_within_half_a_pixel(preset: str) -> None:
    """Both landmarkers with the mesh on every frame (mesh_rate_hz=0) on the project's 640x480
    synthetic videos: every landmark of every frame within 0.5 px of mediapipe's FaceMesh."""
    frames = _clip(preset)
    opts = LandmarkerOptions(mesh_rate_hz=0)
    with LANDMARKERS.get("onnx")(opts) as ours, LANDMARKERS.get("mediapipe")(opts) as ref:
        errors = []
        for i, f in enumerate(frames):
            a, b = ours.detect(f, 1000.0 * i / 30), ref.detect(f, 1000.0 * i / 30)
            assert len(a) == len(b) == 1
            errors.append(np.linalg.norm(a[0].landmarks - b[0].landmarks, axis=1))
    err = np.stack(errors)
    assert err.max() < 0.5, f"max {err.max():.3f} px, mean {err.mean():.3f} px"
    assert err.mean() < 0.1


def test_missing_model_file_and_unavailable_delegate_are_clear_errors(tmp_path) -> None:
    with pytest.raises(ModelFileError, match="face model not found"):
        FaceMeshNet(tmp_path / "nope.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match="not a loadable ONNX model"):
        FaceDetectorNet(bad)
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this ONNX Runtime has the CUDA provider")
    with pytest.raises(ConfigError, match="not available"):
        LANDMARKERS.get("onnx")(LandmarkerOptions(delegate="cuda"))
