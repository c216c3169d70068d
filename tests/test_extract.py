"""End-to-end MSTmap extraction: a known colour pulse is recovered, no-face frames are invalid,
bad inputs raise the documented errors."""
from __future__ import annotations

from typing import List

import cv2
import numpy as np
import pytest
import skimage.data

from edge_rppg.errors import FrameFormatError, NoFaceError, VideoReadError
from edge_rppg.processor.extract import Extraction, extract_mstmap
from edge_rppg.face.types import Face
from edge_rppg.face.options import LandmarkerOptions
from edge_rppg.face.mediapipe_landmarker import MediaPipeLandmarker
from edge_rppg.frames.video import write_video
from fake_landmarkers import FakeLandmarker

FPS = 30.0
HR_HZ = 1.2


@pytest.fixture(scope="module")
def scene():
    """A 640x480 frame with the astronaut's face, and its FaceMesh landmarks."""
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[:, 80:560] = cv2.resize(skimage.data.astronaut(), (480, 480), interpolation=cv2.INTER_AREA)
    with MediaPipeLandmarker(LandmarkerOptions(static_image_mode=True)) as lmk:
        faces = lmk.detect(frame, 0)
    assert faces
    return frame, faces[0]


class FixedLandmarker(FakeLandmarker):
    """Test double: returns one fixed face unless the frame is flat (then no face)."""

    def __init__(self, face: Face) -> None:
        super().__init__()
        self.face = face

    def detect(self, frame_rgb: np.ndarray, timestamp_ms: float) -> List[Face]:
        return [] if frame_rgb[::8, ::8].std() < 1.0 else [self.face]


def _pulse_frames(base: np.ndarray, n: int, amp: float = 1.5, seed: int = 0):
    """Frames whose colour rises and falls by ``amp`` levels at HR_HZ (dithered, so the
    ROI mean follows the sub-level sine), plus the sine itself."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / FPS
    s = amp * np.sin(2 * np.pi * HR_HZ * t)
    frames = [np.clip(np.round(base + s[i] + rng.uniform(-0.5, 0.5, base.shape)), 0, 255).astype(np.uint8)
              for i in range(n)]
    return frames, s


def test_recovers_pulse_with_mediapipe_tracking(scene):
    base, _ = scene
    frames, s = _pulse_frames(base.astype(np.float64), 90)
    ex = extract_mstmap(frames, fps=FPS, progress=False)
    assert isinstance(ex, Extraction)
    assert ex.mstmap.shape == (90, 63, 6) and ex.mstmap.dtype == np.float32
    assert ex.valid.all() and ex.fps == FPS
    np.testing.assert_allclose(ex.timestamps_s, np.arange(90) / FPS)
    assert ex.landmarks.shape == (90, 468, 2) and ex.boxes.shape == (90, 4)
    g = ex.mstmap[:, 62, 1].astype(np.float64)
    r = np.corrcoef(g, s)[0, 1]
    assert r > 0.95, r               # real tracking adds sub-pixel ROI-border noise (~0.2 levels)
    slope = np.polyfit(s, g, 1)[0]
    assert 0.85 < slope < 1.15, slope                # the face mean moves by the added amount
    y = ex.mstmap[:, 62, 3].astype(np.float64)        # Y = .299R + .587G + .114B follows too
    assert np.corrcoef(y, s)[0, 1] > 0.95
    assert set(ex.timing_ms) >= {"decode", "landmarks", "roi", "mstmap"}
    assert all(v >= 0 for v in ex.timing_ms.values())


def test_no_face_frames_are_invalid_nan(scene):
    base, _ = scene
    gray = np.full_like(base, 128)
    frames = [base] * 4 + [gray] * 2 + [base] * 4
    ex = extract_mstmap(frames, fps=FPS, progress=False)
    np.testing.assert_array_equal(ex.valid, [True] * 4 + [False] * 2 + [True] * 4)
    assert np.isnan(ex.mstmap[4:6]).all()
    assert np.isnan(ex.landmarks[4:6]).all() and np.isnan(ex.boxes[4:6]).all()
    assert np.isfinite(ex.mstmap[ex.valid][:, 62]).all()
    # skin, not zeros: the whole-face mean is skin coloured on valid frames
    r, g, b = ex.mstmap[0, 62, :3]
    assert r > g > b and r > 120


def test_all_flat_raises_no_face():
    with pytest.raises(NoFaceError, match="no face"):
        extract_mstmap([np.full((240, 320, 3), 128, np.uint8)] * 3, fps=FPS, progress=False)


@pytest.mark.parametrize("bad", [None, np.zeros((480, 640), np.uint8), np.zeros((480, 640, 4), np.uint8),
                                 np.zeros((480, 640, 3), np.uint16)])
def test_bad_frame_raises(scene, bad):
    base, face = scene
    with pytest.raises(FrameFormatError):
        extract_mstmap([base, bad, base], FixedLandmarker(face), fps=FPS, progress=False)


def test_iterable_needs_fps_and_frames(scene):
    base, face = scene
    with pytest.raises(ValueError, match="fps"):
        extract_mstmap([base], FixedLandmarker(face), progress=False)
    with pytest.raises(VideoReadError):
        extract_mstmap([], FixedLandmarker(face), fps=FPS, progress=False)
    with pytest.raises(ValueError, match="single frame"):
        extract_mstmap(base, FixedLandmarker(face), fps=FPS, progress=False)


def test_video_file_equals_in_memory_frames(tmp_path, scene):
    base, face = scene
    frames, _ = _pulse_frames(base.astype(np.float64), 12, seed=1)
    path = tmp_path / "clip.avi"
    write_video(path, frames, fps=25.0)
    lmk = FixedLandmarker(face)
    from_file = extract_mstmap(path, lmk, progress=False, smoother=False)
    from_mem = extract_mstmap(frames, lmk, fps=25.0, progress=False, smoother=False)
    assert not lmk.closed                              # a caller's landmarker is left open
    assert from_file.fps == pytest.approx(25.0)
    np.testing.assert_array_equal(from_file.mstmap, from_mem.mstmap)
    # image folder: fps must be given
    write_video(tmp_path / "frames", frames, fps=25.0)
    with pytest.raises(ValueError, match="fps"):
        extract_mstmap(tmp_path / "frames", lmk, progress=False)
    from_dir = extract_mstmap(tmp_path / "frames", lmk, fps=25.0, progress=False, smoother=False,
                              keep_landmarks=False)
    np.testing.assert_array_equal(from_dir.mstmap, from_mem.mstmap)
    assert from_dir.landmarks is None


def test_missing_and_non_video_paths(tmp_path):
    with pytest.raises(VideoReadError, match="missing.avi"):
        extract_mstmap(tmp_path / "missing.avi", progress=False)
    txt = tmp_path / "readme.avi"
    txt.write_text("hello")
    with pytest.raises(VideoReadError, match="readme.avi"):
        extract_mstmap(str(txt), progress=False)


def test_progress_flag(scene, capsys):
    base, face = scene
    frames = [base] * 301
    extract_mstmap(frames, FixedLandmarker(face), fps=FPS, progress=False)
    assert capsys.readouterr().err == ""
    extract_mstmap(frames, FixedLandmarker(face), fps=FPS, progress=True)
    assert "MSTmap" in capsys.readouterr().err
    extract_mstmap(frames[:10], FixedLandmarker(face), fps=FPS, progress=True)   # short: no bar
    assert capsys.readouterr().err == ""


def test_face_outside_frame_is_invalid(scene):
    base, face = scene
    off = Face(landmarks=face.landmarks + np.float32(2000.0), box=face.box, score=1.0)

    class Alternating(FixedLandmarker):
        def detect(self, frame_rgb, timestamp_ms):
            return [self.face if int(timestamp_ms) % 2 == 0 else off]

    ex = extract_mstmap([base] * 4, Alternating(face), fps=1000.0, progress=False, smoother=False)
    np.testing.assert_array_equal(ex.valid, [True, False, True, False])
    assert np.isnan(ex.mstmap[1]).all() and np.isfinite(ex.mstmap[0, 62]).all()
