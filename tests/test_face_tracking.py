"""Landmark schedule: Lucas–Kanade mesh tracking between FaceMesh runs (edge_rppg.face.tracking)
and its use inside both landmarkers, the ONNX default and the mediapipe reference
(LandmarkerOptions.mesh_rate_hz and track_* fields)."""
from __future__ import annotations

from typing import List, Tuple

import cv2
import numpy as np
import pytest
import skimage.data

from edge_rppg.face.tracking import STABLE_POINTS, MeshTracker, TrackerSettings, similarity_apply
from edge_rppg.face.registry import LANDMARKERS
from edge_rppg.face.options import LandmarkerOptions

BACKENDS = ["onnx", pytest.param("mediapipe", marks=pytest.mark.skipif(
    __import__("importlib").util.find_spec("mediapipe") is None, reason="mediapipe is not installed"))]
from edge_rppg.skin.roi import META_ROI_POLYGONS


def _similarity(angle_deg: float, scale: float, tx: float, ty: float, centre: Tuple[float, float]) -> np.ndarray:
    m = cv2.getRotationMatrix2D(centre, angle_deg, scale)
    m[:, 2] += (tx, ty)
    return m


@pytest.fixture(scope="module")
def moving_clip() -> Tuple[List[np.ndarray], List[np.ndarray]]:
    """30 frames (640x480) of the astronaut's face moving by known similarity transforms,
    and the transform of each frame relative to frame 0."""
    img = skimage.data.astronaut()
    canvas = np.full((480, 640, 3), 90, np.uint8)
    canvas[:, 64:576] = cv2.resize(img, (512, 480), interpolation=cv2.INTER_AREA)
    frames, mats = [], []
    for i in range(30):
        m = _similarity(0.15 * i, 1.0 + 0.002 * i, 1.2 * i, -0.6 * i, (320.0, 200.0))
        frames.append(cv2.warpAffine(canvas, m, (640, 480), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))
        mats.append(m)
    return frames, mats


@pytest.fixture(scope="module")
def first_mesh(moving_clip) -> np.ndarray:
    with LANDMARKERS.get("onnx")(LandmarkerOptions(static_image_mode=True)) as lmk:
        faces = lmk.detect(moving_clip[0][0], 0)
    assert len(faces) == 1
    return faces[0].landmarks


def test_stable_points_are_rigid_skin_not_mouth_or_eyes() -> None:
    lips_and_eyes = {0, 13, 14, 17, 61, 291, 33, 133, 159, 145, 263, 362, 386, 374}
    assert not set(STABLE_POINTS.tolist()) & lips_and_eyes
    assert set(META_ROI_POLYGONS["forehead"]) <= set(STABLE_POINTS.tolist())
    assert len(STABLE_POINTS) == len(set(STABLE_POINTS.tolist())) >= 30


def test_tracker_follows_a_known_similarity_motion(moving_clip, first_mesh) -> None:
    frames, mats = moving_clip
    tracker = MeshTracker()
    tracker.start(frames[0], [first_mesh])
    for i in range(1, 12):
        moved = tracker.track(frames[i])
        assert moved is not None and len(moved) == 1
        want = similarity_apply(mats[i] @ np.vstack([np.linalg.inv(np.vstack([mats[0], [0, 0, 1]]))[:2], [0, 0, 1]]),
                                first_mesh)
        err = np.linalg.norm(moved[0] - want, axis=1)
        assert float(np.median(err)) < 0.5, (i, float(np.median(err)))
    assert tracker.motion > 0.01      # it moved ~15 px on a ~200 px face


def test_tracker_reports_loss_when_the_face_disappears(moving_clip, first_mesh) -> None:
    frames, _ = moving_clip
    tracker = MeshTracker()
    tracker.start(frames[0], [first_mesh])
    assert tracker.track(frames[1]) is not None
    noise = np.random.default_rng(0).integers(0, 256, size=frames[0].shape, dtype=np.uint8)
    assert tracker.track(noise) is None
    assert not tracker.active and tracker.track(frames[2]) is None   # needs a new keyframe


def test_tracker_reports_drift_when_the_fit_residual_is_large(moving_clip, first_mesh) -> None:
    frames, _ = moving_clip
    strict = MeshTracker(TrackerSettings(track_max_residual=1e-9))   # any residual is "drift"
    strict.start(frames[0], [first_mesh])
    assert strict.track(frames[3]) is None


def test_tracker_start_with_no_face_is_inactive(moving_clip) -> None:
    tracker = MeshTracker()
    tracker.start(moving_clip[0][0], [])
    assert not tracker.active and tracker.track(moving_clip[0][1]) is None


@pytest.mark.parametrize("backend", BACKENDS)
def test_schedule_runs_the_mesh_at_its_rate_and_tracks_in_between(moving_clip, backend: str) -> None:
    frames, _ = moving_clip
    # the rate alone: this clip moves fast enough to trigger motion refreshes
    # (test_fast_motion_refreshes_the_mesh_before_its_time), so they are off here
    every = LANDMARKERS.get(backend)(LandmarkerOptions(mesh_rate_hz=0))
    sched = LANDMARKERS.get(backend)(LandmarkerOptions(mesh_rate_hz=5.0, refresh_motion=0))
    ref = [every.detect(f, 1000.0 * i / 30) for i, f in enumerate(frames)]
    got = [sched.detect(f, 1000.0 * i / 30) for i, f in enumerate(frames)]
    assert every.mesh_runs == 30 and every.tracked_frames == 0
    # 30 frames = 1 s at 30 fps: mesh at t = 0, 0.2, ... 0.8 s (5 runs), the rest tracked
    assert sched.mesh_runs == 5 and sched.tracked_frames == 25
    assert all(len(a) == len(b) == 1 for a, b in zip(ref, got))
    err = [float(np.median(np.linalg.norm(a[0].landmarks - b[0].landmarks, axis=1))) for a, b in zip(ref, got)]
    assert max(err) < 1.5
    every.close(), sched.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_fast_motion_refreshes_the_mesh_before_its_time(moving_clip, backend: str) -> None:
    """refresh_motion: a tracked face that moved more than that fraction of its size since
    the last mesh run gets a mesh run now; with 0 the mesh keeps its rate (5 runs in 1 s)."""
    frames, _ = moving_clip
    seen = {}
    for frac in (0.0, 0.01):
        opts = LandmarkerOptions(mesh_rate_hz=5.0, refresh_motion=frac)
        with LANDMARKERS.get(backend)(opts) as lmk:
            motions = []
            for i, f in enumerate(frames):
                before = lmk.mesh_runs
                assert len(lmk.detect(f, 1000.0 * i / 30)) == 1
                if lmk.mesh_runs == before:          # a tracked frame: what the tracker measured
                    motions.append(lmk._tracker.motion)
            seen[frac] = (lmk.mesh_runs, max(motions))
    runs_off, motion_off = seen[0.0]
    runs_on, motion_on = seen[0.01]
    assert runs_off == 5 and motion_off > 0.01        # the clip does move the face past the threshold
    assert runs_on > runs_off                         # ... so the refresh adds mesh runs
    assert motion_on <= 0.01                          # and no tracked frame moved further than asked
    with pytest.raises(ValueError, match="refresh_motion"):
        LandmarkerOptions(refresh_motion=-0.1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_schedule_with_two_faces_allowed_does_not_run_the_mesh_every_frame(moving_clip, backend: str) -> None:
    """max_num_faces=2 with one visible face: FaceMesh would run its detector on every call;
    the schedule calls FaceMesh (the only place the detector can run) at the mesh rate."""
    frames, _ = moving_clip
    with LANDMARKERS.get(backend)(LandmarkerOptions(max_num_faces=2, mesh_rate_hz=5.0, refresh_motion=0)) as lmk:
        found = [len(lmk.detect(f, 1000.0 * i / 30)) for i, f in enumerate(frames)]
        assert found == [1] * 30
        assert lmk.mesh_runs <= 6 and lmk.tracked_frames >= 24


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_faces_allowed_searches_at_the_detect_rate_and_matches_one_face(moving_clip, backend: str) -> None:
    """max_num_faces=2, one visible face, 2 s: the mesh runs at 5 Hz but searches for more
    faces (where FaceMesh's detector runs) at detect_rate_hz = 1 Hz; the faces it returns
    agree with the max_num_faces=1 schedule (the refresh graph is that graph)."""
    frames, _ = moving_clip
    clip = frames + frames[::-1]                       # 60 frames = 2 s, smooth motion
    one = LANDMARKERS.get(backend)(LandmarkerOptions(max_num_faces=1, mesh_rate_hz=5.0, refresh_motion=0))
    two = LANDMARKERS.get(backend)(LandmarkerOptions(max_num_faces=2, mesh_rate_hz=5.0, refresh_motion=0, detect_rate_hz=1.0))
    every = LANDMARKERS.get(backend)(LandmarkerOptions(max_num_faces=2, mesh_rate_hz=5.0, refresh_motion=0, detect_rate_hz=0.0))
    got = {k: [m.detect(f, 1000.0 * i / 30) for i, f in enumerate(clip)] for k, m in
           (("one", one), ("two", two), ("every", every))}
    assert all(len(r) == 1 for r in got["two"])
    assert two.mesh_runs == every.mesh_runs == 10
    assert two.search_runs == 2          # t = 0 and 1 s; the other 8 runs refresh without the detector
    assert every.search_runs == 10       # detect_rate_hz=0: every mesh run searches (the old behaviour)
    err = [float(np.median(np.linalg.norm(a[0].landmarks - b[0].landmarks, axis=1)))
           for a, b in zip(got["one"], got["two"])]
    assert max(err) < 0.5
    for m in (one, two, every):
        m.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_second_face_is_found_at_the_next_search(moving_clip, backend: str) -> None:
    """One face for 0.5 s, then a second one appears: the search 1 s after the first finds
    it and from then on both are returned (tracked and refreshed)."""
    frames, _ = moving_clip
    face = frames[0][:, 160:480]                       # the astronaut's head, 320 px wide
    single = np.full((480, 640, 3), 90, np.uint8)
    single[:, :320] = face
    double = single.copy()
    double[:, 320:] = face[:, ::-1]
    with LANDMARKERS.get(backend)(LandmarkerOptions(max_num_faces=2, mesh_rate_hz=5.0, detect_rate_hz=1.0)) as lmk:
        counts = [len(lmk.detect(single if i < 15 else double, 1000.0 * i / 30)) for i in range(45)]
    assert counts[:15] == [1] * 15
    assert counts[30:] == [2] * 15       # search at t = 1 s (frame 30) found the second face
    assert lmk.search_runs <= 4


@pytest.mark.parametrize("backend", BACKENDS)
def test_loss_reruns_the_mesh_and_no_face_gives_empty(moving_clip, backend: str) -> None:
    frames, _ = moving_clip
    blank = np.full_like(frames[0], 120)
    with LANDMARKERS.get(backend)(LandmarkerOptions(mesh_rate_hz=2.0)) as lmk:
        assert len(lmk.detect(frames[0], 0.0)) == 1
        assert len(lmk.detect(frames[1], 33.3)) == 1 and lmk.tracked_frames == 1
        assert lmk.detect(blank, 66.7) == []           # tracking lost → mesh ran → no face
        assert lmk.mesh_runs == 2
        assert len(lmk.detect(frames[3], 100.0)) == 1  # re-acquired by the mesh (detector)
        assert lmk.mesh_runs == 3


@pytest.mark.parametrize("backend", BACKENDS)
def test_timestamp_going_back_restarts_schedule(moving_clip, backend: str) -> None:
    frames, _ = moving_clip
    with LANDMARKERS.get(backend)(LandmarkerOptions(mesh_rate_hz=5.0)) as lmk:
        for i in range(4):
            lmk.detect(frames[i], 1000.0 * i / 30)
        runs = lmk.mesh_runs
        assert len(lmk.detect(frames[0], 0.0)) == 1    # new clip: mesh again, not a stale track
        assert lmk.mesh_runs == runs + 1


def test_schedule_options_validate_and_round_trip() -> None:
    opts = LandmarkerOptions(mesh_rate_hz=7.5, track_fb_max_px=0.8, track_min_points=0.6, track_max_residual=0.03)
    assert LandmarkerOptions.from_json(opts.to_json()) == opts
    assert opts.tracking_enabled and not LandmarkerOptions(mesh_rate_hz=0).tracking_enabled
    assert not LandmarkerOptions(static_image_mode=True).tracking_enabled
    s = opts.tracker_settings()
    assert (s.track_fb_max_px, s.track_min_points, s.track_max_residual) == (0.8, 0.6, 0.03)
    with pytest.raises(ValueError, match="mesh_rate_hz"):
        LandmarkerOptions(mesh_rate_hz=-1)
    with pytest.raises(ValueError, match="track_min_points"):
        LandmarkerOptions(track_min_points=0.0)
    with pytest.raises(ValueError, match="detect_rate_hz"):
        LandmarkerOptions(detect_rate_hz=-1.0)
    with LANDMARKERS.get("mediapipe").create_from_options(opts) as lmk:
        assert lmk.options.mesh_rate_hz == 7.5


def test_still_face_does_not_wobble_with_a_brightness_pulse(moving_clip, first_mesh) -> None:
    """A uniform brightness change (what the pulse is) biases Lucas–Kanade slightly; the
    soft motion threshold keeps a still face's mesh exactly where the keyframe put it."""
    frame0 = moving_clip[0][0].astype(np.float64)
    rng = np.random.default_rng(4)
    frames = [np.clip(np.round(frame0 + 1.5 * np.sin(2 * np.pi * 1.2 * i / 30) + rng.uniform(-0.5, 0.5, frame0.shape)),
                      0, 255).astype(np.uint8) for i in range(20)]
    tracker = MeshTracker()
    tracker.start(frames[0], [first_mesh])
    loose = MeshTracker(TrackerSettings(still_frac=0.0))
    loose.start(frames[0], [first_mesh])
    wobble = 0.0
    for f in frames[1:]:
        moved = tracker.track(f)
        assert moved is not None
        np.testing.assert_allclose(moved[0], first_mesh, atol=1e-4)
        raw = loose.track(f)
        assert raw is not None
        wobble = max(wobble, float(np.abs(raw[0] - first_mesh).max()))
    assert wobble > 1e-3     # without the threshold the mesh does move (what it suppresses)
