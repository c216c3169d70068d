"""Tests of the streaming API ``EdgeRPPG`` on synthetic face videos with a known pulse.

Ground truth comes from ``edge_rppg.synth.video_gen``. The end-to-end tests use a real
face mesh (conftest.FACE_MESH); the face-loss, timestamp and bookkeeping tests replace it with
a scripted landmarker (the real landmarks of the clip's first frame, returned or withheld
by timestamp) so that they are fast and exactly controllable.
"""
from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import List, Optional

import numpy as np
import pytest

from edge_rppg import EdgeRPPG
from edge_rppg.api import BaseOptions, EdgeRPPGOptions, VitalsResult
from edge_rppg.errors import ConfigError, EdgeRPPGError, FrameFormatError, UnknownNameError
from edge_rppg.face.types import Face
from edge_rppg.synth.video_gen import VideoSynthConfig, synth_video
from edge_rppg.frames.video import open_video
from conftest import face_mesh
from fake_landmarkers import FakeLandmarker

FPS = 30.0
HR_BPM = 84.0
SEED = 3


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A 14 s 320x240 synthetic face video (lossless), its frames, ground truth and the
    real FaceMesh landmarks of its first frame."""
    path = tmp_path_factory.mktemp("api") / "face.avi"
    cfg = VideoSynthConfig(duration_s=14.0, fps=FPS, width=320, height=240, hr_bpm=HR_BPM, motion="still")
    gt = synth_video(path, cfg, seed=SEED)
    with open_video(path) as reader:
        frames = list(reader)
    with face_mesh() as lm:
        faces = lm.detect(frames[0], 0.0)
    assert faces, "the face mesh must find the synthetic face"
    return {"path": path, "frames": frames, "gt": gt, "face": faces[0]}


class ScriptedLandmarker(FakeLandmarker):
    """Returns fixed faces, except at timestamps inside ``gaps`` (seconds) where it
    returns no face. Implements the ``Landmarker`` protocol."""

    def __init__(self, faces: List[Face], gaps: tuple = ()) -> None:
        super().__init__()
        self.faces = faces
        self.gaps = gaps

    def detect(self, frame_rgb: np.ndarray, timestamp_ms: float) -> List[Face]:
        t = timestamp_ms / 1000.0
        if any(a <= t < b for a, b in self.gaps):
            return []
        return list(self.faces)


def _scaled_face(face: Face, scale: float, shift: tuple = (0.0, 0.0)) -> Face:
    lm = face.landmarks.copy()
    c = lm.mean(axis=0)
    lm = (lm - c) * scale + c + np.asarray(shift, np.float32)
    box = (float(lm[:, 0].min()), float(lm[:, 1].min()), float(lm[:, 0].max()), float(lm[:, 1].max()))
    return Face(landmarks=lm.astype(np.float32), box=box, score=1.0)


def _run(rppg: EdgeRPPG, frames: List[np.ndarray], times: Optional[List[float]] = None) -> List[VitalsResult]:
    """Feed ``frames`` at ``times`` (default ``i / FPS``: frames without a timestamp are timed
    by the monotonic clock, which a test cannot control)."""
    out = []
    for i, f in enumerate(frames):
        out.append(rppg.process(f, timestamp=i / FPS if times is None else times[i]))
    return out


def _valid_hrs(results: List[VitalsResult]) -> List[float]:
    return [r.hr_bpm for r in results if r.hr_updated and r.valid and r.hr_bpm is not None]


# --------------------------------------------------------------------------- end to end
def test_stream_hr_matches_truth_and_estimate(clip: dict) -> None:
    """Real MediaPipe + POS: None until the 300-sample window fills, then an HR every
    second within 3 bpm of the truth and within 1 bpm of ``estimate`` on the same file."""
    from edge_rppg.processor.options import EstimateConfig
    from edge_rppg.processor.estimation import estimate

    with EdgeRPPG("pos", roi_backend="cpu") as rppg:
        results = _run(rppg, clip["frames"])
    assert rppg.closed
    first = next(i for i, r in enumerate(results) if r.hr_bpm is not None)
    assert first == 299, "the first HR comes exactly when T=300 samples have been collected"
    assert all(r.hr_bpm is None and r.window_fill < 1.0 for r in results[:first])
    updates = [r for r in results if r.hr_updated]
    assert len(updates) == 5  # t = 10, 11, 12, 13, 14 s
    # a reading is valid at the end of a steady run of stream_min_run (2) readings: the first waits
    assert updates[0].invalid_reason == "steady_run" and all(r.valid for r in updates[1:])
    hrs = _valid_hrs(results)
    assert len(hrs) == 4
    gt = float(clip["gt"]["hr_bpm"])
    stream_hr = float(np.mean(hrs))
    assert abs(stream_hr - gt) < 3.0, (stream_hr, gt)
    est = estimate(clip["path"], engine="pos", config=EstimateConfig(progress=False))
    assert est.hr_bpm is not None
    assert abs(stream_hr - est.hr_bpm) < 1.0, (stream_hr, est.hr_bpm)
    last = results[-1]
    assert last.face_found and last.landmarks.shape == (468, 2)
    assert last.bvp.size == len(clip["frames"]) and not last.bvp.flags.writeable
    assert set(last.latency_ms) >= {"input", "landmarks", "roi", "window", "engine", "vitals", "total"}
    assert last.dropped_frames == 0 and not any(r.window_reset for r in results)


def test_bgr_input_equals_rgb_input(clip: dict) -> None:
    """Declaring ``color_space="bgr"`` and feeding BGR frames gives the same BVP as RGB."""
    frames = clip["frames"][:320]
    outs = []
    for order in ("rgb", "bgr"):
        lm = ScriptedLandmarker([clip["face"]])
        with EdgeRPPG("pos", color_space=order, landmarker=lm, roi_backend="cpu") as rppg:
            feed = frames if order == "rgb" else [np.ascontiguousarray(f[..., ::-1]) for f in frames]
            outs.append(_run(rppg, feed)[-1])
    assert outs[0].hr_bpm is not None
    np.testing.assert_allclose(outs[0].bvp, outs[1].bvp, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("bad", [
    None,
    np.zeros((240, 320), np.uint8),            # grayscale
    np.zeros((240, 320, 4), np.uint8),         # RGBA
    np.zeros((240, 320, 3), np.float32),       # float
    np.zeros((240, 320, 3), np.uint16),        # 16-bit
    np.zeros((4, 4, 3), np.uint8),             # too small
    "not a frame",
])
def test_bad_frame_raises_value_error_and_counts(clip: dict, bad: object) -> None:
    with EdgeRPPG("pos", landmarker=ScriptedLandmarker([clip["face"]]), roi_backend="cpu") as rppg:
        rppg.process(clip["frames"][0], timestamp=0.0)
        with pytest.raises(ValueError) as info:
            rppg.process(bad, timestamp=1 / FPS)  # type: ignore[arg-type]
        assert isinstance(info.value, FrameFormatError)
        assert rppg.dropped_frames == 1
        r = rppg.process(clip["frames"][2], timestamp=2 / FPS)  # the stream goes on
        assert r.face_found and r.dropped_frames == 1 and r.frame_index == 2


def test_bad_frames_are_counted_and_streaming_loop_survives(clip: dict) -> None:
    """A loop that catches FrameFormatError keeps going: bad frames are dropped and counted,
    ``get_result`` keeps the latest good result, and the HR still comes."""
    frames = clip["frames"][:330]
    with EdgeRPPG("pos", landmarker=ScriptedLandmarker([clip["face"]]), roi_backend="cpu") as rppg:
        assert rppg.get_result() is None
        for i, f in enumerate(frames):
            item = None if i % 50 == 7 else f  # 7 bad frames sprinkled in
            try:
                rppg.process(item, timestamp=i / FPS)
            except FrameFormatError:
                assert item is None
        res = rppg.get_result()
    assert res is not None and res.dropped_frames == 7
    assert res.hr_bpm is not None and abs(res.hr_bpm - clip["gt"]["hr_bpm"]) < 5.0
    assert "None" in (rppg.last_error or "")


def test_repeated_timestamp_is_dropped(clip: dict) -> None:
    with EdgeRPPG("pos", landmarker=ScriptedLandmarker([clip["face"]]), roi_backend="cpu") as rppg:
        rppg.process(clip["frames"][0], 1.0)
        r = rppg.process(clip["frames"][1], 1.0)
        assert r.dropped_frames == 1 and not r.window_reset
        r = rppg.process(clip["frames"][2], 1.0 + 1 / FPS)
        assert r.dropped_frames == 1


# --------------------------------------------------------------------------- face loss
def test_short_face_loss_is_bridged(clip: dict) -> None:
    """0.3 s without a face (< bridge_s=0.5): no reset, HR keeps flowing and stays
    valid (the bridged samples are a small part of the window)."""
    lm = ScriptedLandmarker([clip["face"]], gaps=((5.0, 5.3),))
    with EdgeRPPG("pos", landmarker=lm, roi_backend="cpu", bridge_s=0.5) as rppg:
        results = _run(rppg, clip["frames"])
    lost = [r for r in results if not r.face_found]
    assert 8 <= len(lost) <= 10
    assert not any(r.window_reset for r in results)
    assert results[299].hr_bpm is not None  # the window still filled on time
    hrs = _valid_hrs(results)
    assert len(hrs) == 4 and abs(np.mean(hrs) - clip["gt"]["hr_bpm"]) < 3.0   # the first waits for a steady run


def test_long_face_loss_resets_window(clip: dict) -> None:
    """2 s without a face: reset with reason face_lost as soon as the loss exceeds the
    bridge, HR None until a new full window, which then gives a good HR again."""
    frames = clip["frames"]
    frames = frames + frames[::-1]  # 28 s, continuous at the seam
    lm = ScriptedLandmarker([clip["face"]], gaps=((11.0, 13.0),))
    with EdgeRPPG("pos", landmarker=lm, roi_backend="cpu", bridge_s=0.5) as rppg:
        results = _run(rppg, frames)
    resets = [r for r in results if r.window_reset]
    assert len(resets) == 1
    r0 = resets[0]
    assert r0.reset_reason == "face_lost"
    assert 11.4 < r0.timestamp < 11.55 and r0.hr_bpm is None
    k = r0.frame_index
    assert results[k - 1].hr_bpm is not None  # there was an HR before
    after = results[k:]
    back = next(i for i, r in enumerate(after) if r.hr_bpm is not None)
    assert abs(after[back].timestamp - (13.0 + 299 / FPS)) < 1.5 / FPS  # refilled from 13 s
    assert all(r.window_fill < 1.0 for r in after[:back])
    hrs = [r.hr_bpm for r in after if r.hr_updated and r.valid]
    assert hrs and abs(np.mean(hrs) - clip["gt"]["hr_bpm"]) < 4.0


def test_frame_gap_bridged_or_reset(clip: dict) -> None:
    """A jump in the timestamps: 0.3 s is bridged, 1 s resets with reason frame_gap."""
    frames = clip["frames"][:200]
    times = [i / FPS for i in range(200)]
    short = [t + (0.3 if t >= 3.0 else 0.0) for t in times]
    long_ = [t + (1.0 if t >= 3.0 else 0.0) for t in times]
    for ts, expect in ((short, None), (long_, "frame_gap")):
        with EdgeRPPG("pos", landmarker=ScriptedLandmarker([clip["face"]]), roi_backend="cpu") as rppg:
            results = _run(rppg, frames, ts)
        reasons = [r.reset_reason for r in results if r.window_reset]
        assert reasons == ([] if expect is None else [expect])


def test_clock_glitches_never_give_a_valid_reading_across_them(clip: dict) -> None:
    """Every frame present, but the clock glitches: a step back of 0.5 s every 50 frames
    restarts the stream each time (no valid reading: each segment is shorter than a window),
    and one forward jump of 0.3 s makes the readings whose window spans it invalid
    (``timestamp_jump``), while the same gap explained by frames the caller dropped is
    bridged and its readings stay valid and right."""
    frames = clip["frames"]
    n = len(frames)
    steps_back = [i / FPS - 0.5 * (i // 50) for i in range(n)]
    lm = ScriptedLandmarker([clip["face"]])
    with EdgeRPPG("pos", landmarker=lm, roi_backend="cpu") as rppg:
        results = _run(rppg, frames, steps_back)
    assert not any(r.valid for r in results)
    assert sum(r.reset_reason == "timestamp_backwards" for r in results) == (n - 1) // 50

    jump_at = 150
    jumped = [i / FPS + (0.3 if i >= jump_at else 0.0) for i in range(n)]
    with EdgeRPPG("pos", landmarker=ScriptedLandmarker([clip["face"]]), roi_backend="cpu") as rppg:
        results = _run(rppg, frames, jumped)
    updates = [r for r in results if r.hr_updated]
    assert updates and all(not r.valid and r.invalid_reason == "timestamp_jump" for r in updates)

    kept = [i for i in range(n) if not jump_at <= i < jump_at + 9]          # 9 frames (0.3 s) really dropped
    with EdgeRPPG("pos", landmarker=ScriptedLandmarker([clip["face"]]), roi_backend="cpu") as rppg:
        out = [rppg.process(frames[i], timestamp=i / FPS, dropped_before=9 if i == jump_at + 9 else 0)
               for i in kept]
    hrs = _valid_hrs(out)
    assert hrs and all(abs(h - clip["gt"]["hr_bpm"]) < 3.0 for h in hrs)
    assert not any(r.invalid_reason == "timestamp_jump" for r in out)


# --------------------------------------------------------------------------- timestamps
def test_irregular_timestamps_are_resampled_to_model_rate(clip: dict) -> None:
    """A ~24 fps camera with jitter (frames of the 30 fps clip kept irregularly, true
    timestamps): the window still holds 10 s (first HR at ~10 s) and the HR is right."""
    rng = np.random.default_rng(0)
    keep = [i for i in range(len(clip["frames"])) if i == 0 or rng.random() < 0.8]
    frames = [clip["frames"][i] for i in keep]
    times = [i / FPS for i in keep]
    gaps = np.diff(times)
    assert gaps.max() > 1.5 / FPS and gaps.min() < 1.5 / FPS  # really irregular
    with EdgeRPPG("pos", landmarker=ScriptedLandmarker([clip["face"]]), roi_backend="cpu") as rppg:
        # the frames left out are dropped frames, and the caller says so (else a long run of them
        # would look like a clock that jumped)
        results = [rppg.process(f, timestamp=t, dropped_before=int(round((t - prev) * FPS)) - 1)
                   for f, t, prev in zip(frames, times, [times[0] - 1 / FPS] + times[:-1])]
    first = next(r for r in results if r.hr_bpm is not None)
    assert 299 / FPS - 1e-6 <= first.timestamp < 299 / FPS + 3 / FPS
    assert not any(r.window_reset for r in results)
    hrs = _valid_hrs(results)
    assert len(hrs) >= 3 and abs(np.mean(hrs) - clip["gt"]["hr_bpm"]) < 3.0   # the first waits for a steady run


def test_default_timestamps_use_input_fps(clip: dict) -> None:
    with EdgeRPPG("pos", landmarker=ScriptedLandmarker([clip["face"]]), roi_backend="cpu", input_fps=15.0) as rppg:
        rs = [rppg.process(f) for f in clip["frames"][:4]]
    assert [r.timestamp for r in rs] == pytest.approx([0.0, 1 / 15, 2 / 15, 3 / 15])
    with pytest.raises(ValueError):
        EdgeRPPG("pos", landmarker=ScriptedLandmarker([clip["face"]])).process(clip["frames"][0], float("nan"))


# --------------------------------------------------------------------------- faces
def test_largest_face_by_default_and_selectable(clip: dict) -> None:
    big = _scaled_face(clip["face"], 1.0)
    small = _scaled_face(clip["face"], 0.5, shift=(-60.0, 0.0))
    lm = ScriptedLandmarker([small, big])  # detection order must not matter
    with EdgeRPPG("pos", landmarker=lm, roi_backend="cpu") as rppg:
        r = rppg.process(clip["frames"][0], 0.0)
    assert r.faces == 2 and r.face_box == pytest.approx(big.box)
    with EdgeRPPG("pos", landmarker=ScriptedLandmarker([small, big]), face_select=1, roi_backend="cpu") as rppg:
        assert rppg.process(clip["frames"][0], 0.0).face_box == pytest.approx(small.box)
    pick_left = lambda faces: min(faces, key=lambda f: f.box[0])  # noqa: E731
    with EdgeRPPG("pos", landmarker=ScriptedLandmarker([big, small]), face_select=pick_left,
                  roi_backend="cpu") as rppg:
        assert rppg.process(clip["frames"][0], 0.0).face_box == pytest.approx(small.box)
    with EdgeRPPG("pos", landmarker=ScriptedLandmarker([big]), face_select=5, roi_backend="cpu") as rppg:
        assert not rppg.process(clip["frames"][0], 0.0).face_found


# --------------------------------------------------------------------------- lifecycle & options
def test_reset_close_and_context_manager(clip: dict) -> None:
    lm = ScriptedLandmarker([clip["face"]])
    rppg = EdgeRPPG("pos", landmarker=lm, roi_backend="cpu")
    _run(rppg, clip["frames"][:310])
    assert rppg.get_result().hr_bpm is not None
    rppg.reset()
    assert rppg.get_result() is None
    r = rppg.process(clip["frames"][0], 100.0)
    assert r.window_reset and r.reset_reason == "reset" and r.hr_bpm is None and r.frame_index == 0
    assert r.bvp.size == 0
    rppg.close()
    rppg.close()  # idempotent
    assert not lm.closed  # a landmarker passed in belongs to the caller
    with pytest.raises(RuntimeError):
        rppg.process(clip["frames"][0], 101.0)
    with EdgeRPPG("pos", landmarker=ScriptedLandmarker([clip["face"]])) as ctx:
        assert not ctx.closed
    assert ctx.closed


def test_options_roundtrip_and_validation(tmp_path: Path, clip: dict) -> None:
    from edge_rppg.face.options import LandmarkerOptions

    opts = EdgeRPPGOptions(base_options=BaseOptions(model="chrom"), window=240, engine_hop_s=0.5, color_space="BGR",
                           landmarks=LandmarkerOptions(max_num_faces=1))
    assert opts.color_space == "bgr"
    with pytest.warns(DeprecationWarning, match="color_order is deprecated"):
        alias = EdgeRPPGOptions(color_order="GRAY")
    assert alias.color_space == "gray" and alias.color_order is None
    path = opts.save(tmp_path / "opts.json")
    back = EdgeRPPGOptions.load(path)
    assert back == opts and isinstance(back.landmarks, LandmarkerOptions)
    with EdgeRPPG.create_from_options(back, landmarker=ScriptedLandmarker([clip["face"]])) as rppg:
        assert rppg.window == 240 and rppg.engine.info.name == "chrom"
    for bad in ({"color_space": "yuv"}, {"engine_hop_s": 0}, {"bridge_s": -1},
                {"landmarks": {"max_num_faces": 0}}, {"window": 1}, {"landmarks": "onnx"},
                {"bvp_history_s": float("nan")}, {"bvp_history_s": 1e12}, {"engine_hop_s": "1"}, {"hrv": "yes"}):
        with pytest.raises(ConfigError):   # both an EdgeRPPGError and a ValueError
            EdgeRPPGOptions(**bad)
    for bad in ({"running_mode": "batch"}, {"landmark_model": "nope"}):
        with pytest.raises(UnknownNameError):   # both an EdgeRPPGError and a KeyError
            EdgeRPPGOptions(**bad)
    with pytest.raises(KeyError):
        BaseOptions(model="pos", delegate="npu")
    with pytest.raises(TypeError):
        EdgeRPPG("pos", no_such_option=1)


def test_delegate_picks_the_onnx_execution_provider(tmp_path: Path, clip: dict) -> None:
    """``BaseOptions.delegate`` reaches ONNX Runtime: cpu works; cuda on a build without the
    CUDA provider is a one-line EdgeRPPGError naming it."""
    import onnxruntime as ort

    model = _green_onnx(tmp_path / "green.onnx")
    lm = ScriptedLandmarker([clip["face"]])
    with EdgeRPPG(options=EdgeRPPGOptions(base_options=BaseOptions(str(model), "cpu")), landmarker=lm) as rppg:
        assert rppg.engine.info.provider == "cpu"
    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this ONNX Runtime has the CUDA provider: the unavailable-provider message is not reachable")
    with pytest.raises(EdgeRPPGError, match="CUDAExecutionProvider"):
        EdgeRPPG(options=EdgeRPPGOptions(base_options=BaseOptions(str(model), "cuda")), landmarker=lm)


def test_video_mode_entry_point_equals_estimate(clip: dict) -> None:
    """``running_mode="video"``: ``process_video`` is its entry point and gives what
    ``estimate`` gives; ``process`` belongs to the other mode."""
    from edge_rppg.processor.options import EstimateConfig
    from edge_rppg.processor.estimation import estimate
    from edge_rppg.face.options import LandmarkerOptions

    opts = EdgeRPPGOptions(base_options=BaseOptions("pos"), running_mode="video", face_select="first",
                           landmarks=LandmarkerOptions(), roi_backend="cpu")
    with EdgeRPPG(options=opts) as rppg:
        est = rppg.process_video(clip["path"])
        with pytest.raises(ConfigError, match="live_stream"):
            rppg.process(clip["frames"][0], 0.0)
    ref = estimate(clip["path"], engine="pos", config=EstimateConfig(progress=False))
    assert est.hr_bpm == ref.hr_bpm and [w.hr_bpm for w in est.windows] == [w.hr_bpm for w in ref.windows]


def test_video_mode_second_file_starts_fresh(clip: dict) -> None:
    """A second ``process_video`` on the same instance is a new clip: it gives exactly what
    the first gave on the same file (no smoother, tracker or timing left from the first)."""
    from edge_rppg.face.options import LandmarkerOptions

    opts = EdgeRPPGOptions(base_options=BaseOptions("pos"), running_mode="video", face_select="first",
                           landmarks=LandmarkerOptions(), roi_backend="cpu")
    with EdgeRPPG(options=opts) as rppg:
        first = rppg.process_video(clip["path"])
        timer = next(s for s in rppg.stages if s.name == "landmarks").timer
        before = timer.total_ms
        second = rppg.process_video(clip["path"])
        run_ms = timer.total_ms - before
    assert [w.hr_bpm for w in second.windows] == [w.hr_bpm for w in first.windows]
    assert np.array_equal(second.bvp, first.bvp)
    # the second run's timing is its own stage time, not both runs' total over one run's frames
    assert second.timing_ms["landmarks_ms_per_frame"] == pytest.approx(run_ms / second.frames, rel=1e-9)


def test_bvp_memory_is_bounded(clip: dict) -> None:
    with EdgeRPPG("pos", landmarker=ScriptedLandmarker([clip["face"]]), roi_backend="cpu",
                  bvp_history_s=11.0, window=150) as rppg:
        results = _run(rppg, clip["frames"])
    assert results[-1].bvp.size == 330
    assert results[149].hr_bpm is not None


def test_concurrent_calls_are_serialised(clip: dict) -> None:
    """Two threads sharing one instance (not recommended, but safe): every call returns a
    result and frame indices are unique."""
    frames = clip["frames"][:80]
    rppg = EdgeRPPG("pos", landmarker=ScriptedLandmarker([clip["face"]]), roi_backend="cpu")
    out: List[VitalsResult] = []

    def feed(offset: int) -> None:
        for f in frames[offset::2]:
            out.append(rppg.process(f))

    threads = [threading.Thread(target=feed, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rppg.close()
    assert sorted(r.frame_index for r in out) == list(range(80))


def test_result_to_dict_is_json_ready(clip: dict) -> None:
    import json

    with EdgeRPPG("pos", landmarker=ScriptedLandmarker([clip["face"]]), roi_backend="cpu") as rppg:
        r = _run(rppg, clip["frames"][:305])[-1]
    d = json.loads(json.dumps(r.to_dict(include_bvp=True)))
    assert d["hr_bpm"] == pytest.approx(r.hr_bpm, abs=0.01) and len(d["bvp"]) == r.bvp.size
    assert dataclasses.is_dataclass(r)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.hr_bpm = 1.0  # type: ignore[misc]


# --------------------------------------------------------------------------- model files
def _green_onnx(path: Path, T: int = 160) -> Path:
    """A tiny fixed-T ONNX 'model' (minus the whole-face green channel of the normalised
    window): enough to exercise the ``.onnx`` path of ``load_engine`` and its static T."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("mstmap", TensorProto.FLOAT, [1, T, 63, 6])
    y = helper.make_tensor_value_info("bvp", TensorProto.FLOAT, [1, T])
    nodes = [helper.make_node("Gather", ["mstmap", "row"], ["face"], axis=2),
             helper.make_node("Gather", ["face", "chan"], ["green"], axis=2),
             helper.make_node("Neg", ["green"], ["bvp"])]
    inits = [helper.make_tensor("row", TensorProto.INT64, [], [62]),
             helper.make_tensor("chan", TensorProto.INT64, [], [1])]
    model = helper.make_model(helper.make_graph(nodes, "green", [x], [y], inits),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, {"edge_rppg.T": str(T), "edge_rppg.precision": "fp32"})
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def test_onnx_model_file_sets_window_T(tmp_path: Path, clip: dict) -> None:
    model = _green_onnx(tmp_path / "green.onnx")
    with EdgeRPPG(str(model), landmarker=ScriptedLandmarker([clip["face"]]), roi_backend="cpu") as rppg:
        assert rppg.window == 160 and rppg.engine.info.T == 160
        results = _run(rppg, clip["frames"])
    first = next(i for i, r in enumerate(results) if r.hr_bpm is not None)
    assert first == 159
    hrs = _valid_hrs(results)
    assert len(hrs) >= 8 and abs(np.median(hrs) - clip["gt"]["hr_bpm"]) < 4.0
    with pytest.raises(ValueError, match="T=160"):
        EdgeRPPG(str(model), window=300, landmarker=ScriptedLandmarker([clip["face"]]))


# --------------------------------------------------------------------------- the chain's typed hand-offs
class CountingLandmarker:
    """The real default landmarker (the bundled ONNX face models), its ``detect`` calls counted."""

    def __init__(self) -> None:
        from edge_rppg.face.registry import create_landmarker

        self.inner = create_landmarker()
        self.calls = 0

    def detect(self, frame_rgb: np.ndarray, timestamp_ms: float) -> List[Face]:
        self.calls += 1
        return self.inner.detect(frame_rgb, timestamp_ms)

    def reset(self) -> None:
        self.inner.reset()

    def close(self) -> None:
        self.inner.close()

    def __enter__(self) -> "CountingLandmarker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def test_repeated_or_backwards_timestamps_run_neither_landmarks_nor_roi(clip: dict) -> None:
    """The stream clock skips a frame whose timestamp is not after the last analysed one
    before any work: the landmarker and the ROI stage are not called for it (the bug the
    old shared packet hid), it is counted as dropped, and it says so. A clock that jumps
    back by more than the bridge is a new stream: analysed, with its reason."""
    frames = clip["frames"]
    with CountingLandmarker() as lmk, EdgeRPPG("pos", landmarker=lmk, roi_backend="cpu") as rppg:
        for i in range(20):
            rppg.process(frames[i], timestamp=i / FPS)
        calls, rois = lmk.calls, rppg.front.roi.timer.count
        assert calls == 20 and rois == 20
        repeated = rppg.process(frames[20], timestamp=19 / FPS)
        backwards = rppg.process(frames[21], timestamp=18.5 / FPS)   # back, within the 0.5 s bridge
        assert repeated.skipped and backwards.skipped
        assert (lmk.calls, rppg.front.roi.timer.count) == (calls, rois)
        assert rppg.skipped_frames == 2 and backwards.dropped_frames == 2
        assert "landmarks" not in repeated.latency_ms and "roi" not in repeated.latency_ms
        assert repeated.face_found and not repeated.hr_updated  # the last analysed frame's face
        after = rppg.process(frames[22], timestamp=20 / FPS)
        assert not after.skipped and lmk.calls == calls + 1 and rppg.front.roi.timer.count == rois + 1
        jump = rppg.process(frames[23], timestamp=20 / FPS - 5.0)      # back by more than the bridge
        assert not jump.skipped and jump.reset_reason == "timestamp_backwards" and lmk.calls == calls + 2
        assert jump.to_dict()["skipped"] is False and repeated.to_dict()["skipped"] is True


class FlakyEngine:
    """POS, except that its ``bad``-th window comes out as NaN (an engine can fail on one input)."""

    def __init__(self, bad: int) -> None:
        from edge_rppg.pulse.engines.registry import load_engine

        self.inner = load_engine("pos")
        self.info = self.inner.info
        self.bad, self.calls = bad, 0

    def infer(self, mstmap: np.ndarray) -> np.ndarray:
        self.calls += 1
        y = self.inner.infer(mstmap)
        return np.full_like(y, np.nan) if self.calls == self.bad else y


def test_engine_nan_reaches_the_result_as_an_invalid_window_with_its_reason(clip: dict) -> None:
    with EdgeRPPG(FlakyEngine(bad=2), window=150, roi_backend="cpu") as rppg:
        results = _run(rppg, clip["frames"])
    updates = [r for r in results if r.hr_updated]
    assert len(updates) >= 5
    assert updates[0].invalid_reason != "engine_error"
    failed = updates[1]
    assert not failed.valid and failed.invalid_reason == "engine_error"
    assert failed.to_dict()["invalid_reason"] == "engine_error" and failed.hrv is None
    # the failed samples stay inside the 10 s analysis window for the rest of this 14 s clip
    assert all(not r.valid and r.invalid_reason == "engine_error" for r in updates[1:])


def test_a_failed_window_stops_counting_once_it_leaves_the_analysis_window() -> None:
    """Unit level, on a clean 72 bpm pulse: invalid with ``engine_error`` while the failed
    window's samples lie in the last ``window_s`` seconds, valid again from the second clean
    reading after (``stream_min_run`` = 2)."""
    from edge_rppg.face.stage import NO_FACE
    from edge_rppg.pulse.stage import PulseWindow
    from edge_rppg.skin.stage import SkinSample
    from edge_rppg.vitals.stage import VitalsStage

    T, fs = 150, 30.0
    t = np.arange(40 * int(fs)) / fs
    sig = np.sin(2 * np.pi * 1.2 * t).astype(np.float32)
    stage = VitalsStage(model_fps=fs, hrv=False, respiration=False)
    reasons = []
    for k, end in enumerate(range(T, sig.size + 1, 30)):
        ok = k != 3
        pulse = PulseWindow(bvp=sig[end - T:end] if ok else np.zeros(T, np.float32), valid=np.full(T, ok), end=end,
                            error=None if ok else "engine returned non-finite samples")
        v = stage(end / fs, NO_FACE, SkinSample(light=np.full(3, np.nan)), pulse).vitals
        reasons.append((end, v.valid, v.invalid_reason, v.hr_bpm))
    failed_end = 150 + 3 * 30
    for end, valid, reason, hr in reasons:
        if failed_end <= end < failed_end + 300:
            assert not valid and reason == "engine_error", (end, reason)
        elif end == failed_end + 300:   # the first clean reading starts a new steady run
            assert not valid and reason == "steady_run" and abs(hr - 72.0) < 1.0, (end, reason, hr)
        elif end > failed_end + 300:
            assert valid and reason is None and abs(hr - 72.0) < 1.0, (end, reason, hr)


def test_a_frame_of_another_size_starts_a_new_segment(clip: dict) -> None:
    """A camera that renegotiates its resolution mid-stream: each size change restarts the
    stream with the reason ``frame_size`` (no tracked landmark carries over to another
    geometry), and the stream goes on with the face found — nothing raises."""
    import cv2

    frames = clip["frames"]
    with EdgeRPPG("pos", roi_backend="cpu") as rppg:       # the real default landmarker and its tracker
        for i in range(30):
            rppg.process(frames[i], timestamp=i / FPS)
        big = rppg.process(cv2.resize(frames[30], (1280, 960)), timestamp=30 / FPS)
        back = [rppg.process(frames[i], timestamp=i / FPS) for i in range(31, 45)]
    assert big.reset_reason == "frame_size" and big.face_found
    assert back[0].reset_reason == "frame_size"
    assert all(r.reset_reason is None for r in back[1:]) and back[-1].face_found


@pytest.mark.parametrize("cls,field,bad", [
    ("LandmarkerOptions", "settle_passes", 10**9), ("LandmarkerOptions", "moved_passes", 10**7),
    ("LandmarkerOptions", "mesh_rate_hz", float("inf")), ("LandmarkerOptions", "max_num_faces", 10**9),
    ("LandmarkerOptions", "min_detection_confidence", 2.0), ("LandmarkerOptions", "min_detection_confidence", float("nan")),
    ("LandmarkerOptions", "settle_passes", -1), ("LandmarkerOptions", "settle_passes", "3"),
    ("LandmarkerOptions", "static_image_mode", "no"),
    ("EdgeRPPGOptions", "bvp_history_s", 1e12), ("EdgeRPPGOptions", "bvp_history_s", float("nan")),
    ("EdgeRPPGOptions", "input_fps", 0.0), ("EdgeRPPGOptions", "window", 2.5),
    ("SignalConfig", "window_s", float("inf")), ("SignalConfig", "band_hz", ("a", 3)), ("SignalConfig", "order", 10**6),
    ("ValidityConfig", "coincide_frac", 0.0), ("ValidityConfig", "max_clock_jump_s", -1.0),
    ("EstimateConfig", "signal", "fast"), ("EstimateConfig", "model_fps", float("nan")),
])
def test_every_option_checks_its_own_fields(cls: str, field: str, bad: object) -> None:
    """Each options dataclass checks its fields (type, finite, range) in one place and raises the
    project's ConfigError naming the class and the field — never a bare TypeError/ValueError,
    and never accepts a value that would hang a stream (``settle_passes=10**9``)."""
    import edge_rppg
    from edge_rppg.vitals.dsp.config import SignalConfig
    from edge_rppg.vitals.validity import ValidityConfig

    classes = {"LandmarkerOptions": edge_rppg.LandmarkerOptions, "EdgeRPPGOptions": EdgeRPPGOptions,
               "SignalConfig": SignalConfig, "ValidityConfig": ValidityConfig, "EstimateConfig": edge_rppg.EstimateConfig}
    with pytest.raises(ConfigError) as info:
        classes[cls](**{field: bad})
    assert field in str(info.value) and cls in str(info.value)
