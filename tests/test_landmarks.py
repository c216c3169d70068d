"""The landmarkers (ONNX face models, the default, and mediapipe FaceMesh, the reference), options/registry,
and One-Euro smoothing."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data

from edge_rppg.errors import FrameFormatError
from edge_rppg.face.registry import LANDMARKERS
from edge_rppg.face.types import Face, Landmarker
from edge_rppg.face.options import LandmarkerOptions
from edge_rppg.face.smoothing import LandmarkSmoother, OneEuroFilter

BACKENDS = ["onnx", pytest.param("mediapipe", marks=pytest.mark.skipif(
    __import__("importlib").util.find_spec("mediapipe") is None, reason="mediapipe is not installed"))]


@pytest.fixture(scope="module", params=BACKENDS)
def landmarker(request):
    with LANDMARKERS.get(request.param)(LandmarkerOptions(static_image_mode=True, max_num_faces=2)) as lmk:
        yield lmk


def test_finds_astronaut_face(landmarker):
    img = skimage.data.astronaut()
    faces = landmarker.detect(img, 0)
    assert len(faces) == 1
    f = faces[0]
    assert isinstance(f, Face)
    assert f.landmarks.shape == (468, 2) and f.landmarks.dtype == np.float32
    x0, y0, x1, y1 = f.box
    assert 0 <= x0 < x1 <= 512 and 0 <= y0 < y1 <= 512
    assert 60 < x1 - x0 < 250 and 60 < y1 - y0 < 250       # her face is ~120 px wide
    # forehead top (10) above nose tip (1) above chin (152); nose tip inside the box
    assert f.landmarks[10, 1] < f.landmarks[1, 1] < f.landmarks[152, 1]
    assert x0 < f.landmarks[1, 0] < x1
    # subject's right eye outer corner (33) is on the image left of her left one (263)
    assert f.landmarks[33, 0] < f.landmarks[263, 0]
    assert 0.0 <= f.score <= 1.0


def test_non_square_frame_gives_pixel_coordinates(landmarker):
    img = skimage.data.astronaut()
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[:, 80:560] = cv2.resize(img, (480, 480), interpolation=cv2.INTER_AREA)
    ref = landmarker.detect(img, 0)[0].landmarks * (480 / 512) + np.array([80, 0], np.float32)
    got = landmarker.detect(frame, 1)[0].landmarks
    assert np.median(np.abs(got - ref)) < 3.0


def test_no_face_gives_empty_list(landmarker):
    assert landmarker.detect(np.full((240, 320, 3), 128, np.uint8), 2) == []


def test_faces_sorted_largest_first(landmarker):
    face = skimage.data.astronaut()[20:260, 110:340]            # 240x230 head crop
    big = cv2.resize(face, (288, 300), interpolation=cv2.INTER_AREA)
    small = cv2.resize(face, (192, 200), interpolation=cv2.INTER_AREA)
    frame = np.full((480, 640, 3), 200, np.uint8)
    frame[280:, 448:] = small                                    # small one first in raster order
    frame[:300, :288] = big
    faces = landmarker.detect(frame, 3)
    assert len(faces) == 2
    assert faces[0].area > 1.5 * faces[1].area
    assert faces[0].landmarks[1, 0] < 288 < 448 < faces[1].landmarks[1, 0]


@pytest.mark.parametrize("bad", [None, np.zeros((64, 64), np.uint8), np.zeros((64, 64, 4), np.uint8),
                                 np.zeros((64, 64, 3), np.uint16)])
def test_bad_frames_raise(landmarker, bad):
    with pytest.raises(FrameFormatError):
        landmarker.detect(bad, 4)


@pytest.mark.parametrize("backend", BACKENDS)
def test_options_registry_and_protocol(backend):
    opts = LandmarkerOptions(max_num_faces=3, min_detection_confidence=0.6)
    assert LandmarkerOptions.from_json(opts.to_json()) == opts
    cls = LANDMARKERS.get(backend)
    with cls.create_from_options(opts) as lmk:
        assert isinstance(lmk, Landmarker)
        assert lmk.options.max_num_faces == 3
    with pytest.raises(RuntimeError, match="closed"):
        lmk.detect(np.zeros((64, 64, 3), np.uint8), 0)
    with pytest.raises(ValueError):
        cls(LandmarkerOptions(max_num_faces=0))
    with pytest.raises(ValueError, match="delegate"):
        LandmarkerOptions(delegate="tpu")


@pytest.mark.parametrize("backend", BACKENDS)
def test_tracking_mode_over_a_short_clip_and_restart(backend):
    img = skimage.data.astronaut()
    with LANDMARKERS.get(backend)() as lmk:           # tracking mode (default)
        assert lmk.options.static_image_mode is False
        pts = [lmk.detect(img, 1000 * i / 30)[0].landmarks for i in range(5)]
        again = lmk.detect(img, 0)               # timestamp went back: new clip, still works
    assert len(again) == 1
    # a static face stays put (tracking re-crops from the last landmarks, so a little jitter)
    assert max(float(np.median(np.abs(p - pts[0]))) for p in pts) < 1.5


def test_one_euro_smooths_jitter_and_follows_steps():
    rng = np.random.default_rng(0)
    f = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    t = np.arange(300) / 30.0
    noisy = 5.0 + rng.normal(0, 1.0, size=(300, 2))
    out = np.array([f(x, ti) for x, ti in zip(noisy, t)])
    assert out[0].tolist() == noisy[0].tolist()                       # first sample passes through
    assert out[100:].std(0).max() < 0.5 * noisy[100:].std(0).min()   # jitter reduced >2x
    g = OneEuroFilter(min_cutoff=1.0, beta=1.0)
    step = [g(np.array([0.0 if ti < 1.0 else 100.0]), ti)[0] for ti in t[:90]]
    assert abs(step[-1] - 100.0) < 1.0                                 # follows a step within 2 s
    g.reset()
    assert g(np.array([7.0]), 5.0)[0] == 7.0


def test_landmark_smoother_resets_on_face_loss():
    rng = np.random.default_rng(1)
    base = rng.uniform(100, 300, size=(468, 2)).astype(np.float32)
    sm = LandmarkSmoother()
    a = sm(base, 0.0)
    np.testing.assert_array_equal(a, base)
    jitter = base + rng.normal(0, 1.0, size=base.shape).astype(np.float32)
    b = sm(jitter, 1 / 30)
    assert np.abs(b - base).mean() < np.abs(jitter - base).mean()
    sm.reset()
    moved = base + 50.0
    np.testing.assert_array_equal(sm(moved, 2 / 30), moved)          # no drag from before the loss
