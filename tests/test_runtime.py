"""Tests of the camera runtime: stages, the processor behind the pipeline, backpressure,
sources (a real GStreamer pipeline where PyGObject is installed), sinks, reconnects and
``edge-rppg run``; and that a file and a stream of the same frames give bit-identical windows.

Synthetic face videos with a known pulse come from ``edge_rppg.synth.video_gen``; they are
written as PNG-in-AVI (``MPNG``), lossless and decodable by both OpenCV and stock
GStreamer (``avidemux ! pngdec``), so the GStreamer and OpenCV paths see the same pixels.
"""
from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path
from typing import Any, List

import numpy as np
import pytest

from edge_rppg.errors import SourceError
from edge_rppg.face.types import Face
from edge_rppg.errors import ConfigError
from edge_rppg.processor.options import BaseOptions, EdgeRPPGOptions
from edge_rppg.processor.stream import StreamProcessor
from edge_rppg.face.stage import NO_FACE
from edge_rppg.frames.clock import StreamClock
from edge_rppg.pulse.stage import PulseWindow
from edge_rppg.skin.stage import SkinSample
from edge_rppg.vitals.stage import VitalsStage
from edge_rppg.skin.window import WindowStage
from edge_rppg.synth.video_gen import VideoSynthConfig, synth_video
from edge_rppg.frames.video import open_video
from conftest import face_mesh
from fake_landmarkers import FakeLandmarker
from edge_rppg.runtime import sinks as sinks_mod
from edge_rppg.runtime.pipeline import FrameQueue, Pipeline
from edge_rppg.runtime.sources import (CvSource, FallbackSource, GstSource, IterSource, ReconnectingSource, Source,
                             gst_available, gst_has_element, open_source)

FPS = 30.0
GST_WHY = gst_available()
needs_gst = pytest.mark.skipif(GST_WHY is not None, reason=f"GStreamer via PyGObject not importable: {GST_WHY}")
needs_gst_png_avi = pytest.mark.skipif(
    GST_WHY is not None or not (gst_has_element("avidemux") and gst_has_element("pngdec")),
    reason=f"needs GStreamer with avidemux and pngdec (gst-plugins-good): {GST_WHY or 'elements missing'}")


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """12 s 320x240 synthetic face video (PNG-in-AVI), frames, truth, first-frame face."""
    path = tmp_path_factory.mktemp("runtime") / "face.avi"
    cfg = VideoSynthConfig(duration_s=12.0, fps=FPS, width=320, height=240, hr_bpm=78.0, motion="still",
                           codec="MPNG")
    gt = synth_video(path, cfg, seed=11)
    with open_video(path) as reader:
        frames = list(reader)
    with face_mesh() as lm:
        face = lm.detect(frames[0], 0.0)[0]
    return {"path": path, "frames": frames, "gt": gt, "face": face}


@pytest.mark.parametrize("reconnect", [False, True])
def test_user_fps_times_a_file_source_also_when_reconnecting(clip: dict, reconnect: bool) -> None:
    """``--fps`` (open_source(fps=)) times the frames of a file, also through a
    ReconnectingSource, whose source is only made when it starts (it was lost there)."""
    from edge_rppg.runtime.uri import open_source

    src = open_source(str(clip["path"]), backend="opencv", reconnect=reconnect, fps=15.0)
    times = []
    for _, ts in src.frames():
        times.append(ts)
        if len(times) == 5:
            break
    src.stop()
    assert np.allclose(np.diff(times), 1.0 / 15.0)


class FixedLandmarker(FakeLandmarker):
    """Always returns the same face (fast stand-in for FaceMesh)."""

    def __init__(self, face: Face) -> None:
        super().__init__()
        self.face = face

    def detect(self, frame_rgb: np.ndarray, timestamp_ms: float) -> List[Face]:
        return [self.face]


class SlowLandmarker(FakeLandmarker):
    """Finds no face, slowly, to create backpressure."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def detect(self, frame: np.ndarray, ts_ms: float) -> List[Face]:
        time.sleep(self.seconds)
        return []


def _proc(landmarker: Any, window: int = 150, **options: Any) -> StreamProcessor:
    options.setdefault("base_options", BaseOptions(model="pos"))
    opts = EdgeRPPGOptions(window=window, roi_backend="cpu", **options)
    return StreamProcessor(opts, landmarker=landmarker)


def _fast_proc(face: Face, window: int = 150, **options: Any) -> StreamProcessor:
    return _proc(FixedLandmarker(face), window, **options)


# --------------------------------------------------------------------------- window stage
def _row(value: float) -> np.ndarray:
    return np.full((63, 6), value, dtype=np.float32)


def test_window_resamples_irregular_timestamps_exactly() -> None:
    """Rows that are a linear function of time, sampled at jittered times, come out on the
    exact 1/fps grid (linear interpolation is exact for linear signals)."""
    rng = np.random.default_rng(1)
    times = np.cumsum(rng.uniform(0.02, 0.06, size=200)) + 5.0
    st = WindowStage(window=60, hop=15, model_fps=FPS, bridge_s=0.5)
    windows = []
    for t in times:
        step = st(float(t), _row(2.0 * t + 1.0))
        if step.window is not None:
            windows.append((step.samples, step.window, step.valid))
    assert windows and windows[0][0] == 60
    assert all(b[0] - a[0] >= 15 for a, b in zip(windows, windows[1:]))
    n, win, valid = windows[-1]
    grid = times[0] + np.arange(n - 60, n) / FPS
    np.testing.assert_allclose(win[:, 0, 0], 2.0 * grid + 1.0, rtol=1e-5)
    assert valid.all()
    assert n == int(np.floor((times[-1] - times[0]) * FPS + 1e-9)) + 1


def test_window_bridge_and_reset_reasons() -> None:
    st = WindowStage(window=30, model_fps=FPS, bridge_s=0.5)

    def feed(t: float, value: Any) -> Any:
        return st(t, None if value is None else _row(value))

    for i in range(10):
        feed(i / FPS, 1.0)
    # 0.2 s of no face, then the face again: bridged by interpolation, marked not valid
    for i in range(10, 16):
        assert feed(i / FPS, None).reset_reason is None
    p = feed(16 / FPS, 3.0)
    assert p.reset_reason is None and p.samples == 17
    ordered, valid = st._ordered()
    assert not valid[-7:-1].any() and valid[-1]
    assert ordered[-4, 0, 0] == pytest.approx(1.0 + 2.0 * 4 / 7, rel=1e-5)  # anchor 9/30, row 16/30
    # a repeated timestamp never reaches the window stage: the stream clock skips it first
    with pytest.raises(ConfigError, match="increasing"):
        feed(16 / FPS, 3.0)
    # a long face loss resets once the bridge is exceeded
    reasons = [feed(t, None).reset_reason for t in np.arange(17, 40) / FPS]
    assert reasons.count("face_lost") == 1
    # a jump in time with the face present: frame_gap
    feed(50.0, 1.0)
    assert feed(52.0, 1.0).reset_reason == "frame_gap"
    # partial NaN rows (an ROI without pixels) are held at the last finite value
    row = _row(5.0)
    row[3] = np.nan
    st(52.0 + 1 / FPS, row)
    assert np.isfinite(st._ordered()[0]).all()


def test_stream_clock_skips_late_frames_restarts_on_steps_back_and_flags_jumps() -> None:
    clock = StreamClock(bridge_s=0.5, max_jump_s=0.1)
    assert clock.admit(10.0).skip is False and clock.admit(10.1).reset_reason is None   # interval 0.1 s
    assert clock.admit(10.1).skip                                  # repeated
    assert clock.admit(10.0).skip                                  # late by one interval: out of order
    tick = clock.admit(9.8)                                        # 3 intervals back: the clock stepped back
    assert not tick.skip and tick.reset_reason == "timestamp_backwards"
    assert not clock.admit(9.9).skip and not clock.admit(10.0).jump
    assert clock.admit(10.35).jump                                 # 0.25 s beyond the interval, no drops said
    assert not clock.admit(10.65, dropped_before=2).jump           # the same step, explained by 2 dropped frames
    assert not clock.admit(10.8).jump                              # 0.05 s beyond: within max_jump_s
    assert not StreamClock(bridge_s=0.5).admit(1.0).jump           # max_jump_s None: jumps are trusted


def test_vitals_overlap_add_matches_clip_stitching() -> None:
    """The streaming overlap-add of window BVPs equals ``infer_clip``'s Hann stitching bit
    for bit (both are :class:`edge_rppg.vitals.stitch.OverlapAdd`)."""
    from edge_rppg.pulse.engines.base import EngineInfo
    from edge_rppg.pulse.windows import infer_clip

    class Fixed:  # a fixed-T engine over a known signal
        info = EngineInfo(name="fixed", T=160)

        def infer(self, m: np.ndarray) -> np.ndarray:
            return m[:, 0, 0].copy()

    rng = np.random.default_rng(0)
    n, T, hop = 640, 160, 80
    sig = (np.sin(2 * np.pi * 1.2 * np.arange(n) / FPS) + 0.3 * rng.standard_normal(n)).astype(np.float32)
    mst = np.repeat(sig[:, None, None], 63, axis=1).repeat(6, axis=2)
    ref = infer_clip(Fixed(), mst, hop=hop)
    vs = VitalsStage(model_fps=FPS, bvp_history_s=100.0, hrv=False, respiration=False)
    for end in range(T, n + 1, hop):
        vs(end / FPS, NO_FACE, SkinSample(light=np.full(3, np.nan)),
           PulseWindow(bvp=sig[end - T:end], valid=np.ones(T, bool), end=end))
    raw, _valid = vs.stitch.signal()
    np.testing.assert_array_equal(raw.astype(np.float32), ref)


def test_clip_inference_covers_every_inner_sample_with_several_windows() -> None:
    """``infer_clip``'s default hop (:data:`CLIP_HOP_FRACTION` of T): every sample at least
    one window away from both ends lies in ``1 / CLIP_HOP_FRACTION`` windows, the last window
    ends at the clip's end, and the stitched output of an engine that returns its input
    follows the input (each window is standardised before the tapered overlap-add)."""
    from edge_rppg.pulse.engines.base import EngineInfo
    from edge_rppg.pulse.windows import CLIP_HOP_FRACTION, infer_clip

    seen: list = []

    class Echo:
        info = EngineInfo(name="echo", T=160)

        def infer(self, m: np.ndarray) -> np.ndarray:
            seen.append(m[:, 0, 1].copy())     # channel 1 carries each sample's index
            return m[:, 0, 0].copy()

    n, T = 1000, 160
    rng = np.random.default_rng(1)
    sig = rng.standard_normal(n).astype(np.float32)
    mst = np.zeros((n, 63, 6), np.float32)
    mst[:, :, 0] = sig[:, None]
    mst[:, :, 1] = np.arange(n, dtype=np.float32)[:, None]
    out = infer_clip(Echo(), mst)
    cover = np.zeros(n, int)
    for idx in seen:
        cover[idx.astype(int)] += 1
    assert seen[-1][-1] == n - 1
    assert cover[T:n - T].min() >= round(1 / CLIP_HOP_FRACTION)
    assert out.shape == (n,) and float(np.corrcoef(out, sig)[0, 1]) > 0.97


def test_acdc_pos_windows_agree_on_shared_samples_only_when_their_starts_differ_by_the_grid() -> None:
    """Why engine windows step on a grid: an ``acdc_pos`` window lays its POS sub-windows
    from its own first sample, so two overlapping windows compute the same POS pulse on
    their shared interior only when their starts differ by a multiple of ``window_grid``."""
    from edge_rppg.skin.mstmap import POS_CHANNEL, normalize_window, window_grid
    from edge_rppg.synth.mstmap_gen import SynthConfig, synth_mstmap

    grid = window_grid("acdc_pos", 30.0)
    assert grid == 24 and window_grid("acdc", 30.0) == 1 and window_grid("minmax", 30.0) == 1
    mst = np.asarray(synth_mstmap(SynthConfig(T=400), seed=3).mstmap, np.float32)
    T = 160

    def pos_channel(start: int) -> np.ndarray:
        return normalize_window(mst[start:start + T], "acdc_pos")[..., POS_CHANNEL].astype(np.float64)

    def interior_gap(a: int, b: int) -> float:  # shared samples, away from both windows' edges
        lo, hi = max(a, b) + 48, min(a, b) + T - 48
        x, y = pos_channel(a)[lo - a:hi - a], pos_channel(b)[lo - b:hi - b]
        # each window divides by its own RMS: compare up to that one scale
        return float(np.abs(x / np.sqrt(np.mean(x ** 2)) - y / np.sqrt(np.mean(y ** 2))).max())

    assert interior_gap(0, grid) < 1e-4 and interior_gap(0, 2 * grid) < 1e-4
    assert interior_gap(0, 40) > 1e-2  # today's T/4 step before the change: cut differently


def test_clip_inference_steps_on_the_engine_input_grid() -> None:
    """A model engine with the ``acdc_pos`` input steps its clip windows by a multiple of its
    grid (24 samples at 30 Hz, T/4 = 40 moved down); an engine without one keeps T/4."""
    from edge_rppg.pulse.engines.base import EngineInfo
    from edge_rppg.pulse.windows import aligned_hop, infer_clip, input_grid

    assert aligned_hop(40, 24) == 24 and aligned_hop(50, 24) == 48 and aligned_hop(10, 24) == 24
    assert aligned_hop(40, 1) == 40
    starts: list = []

    class Echo:
        def __init__(self, norm: object) -> None:
            self.info = EngineInfo(name="echo", T=160)
            if norm:
                self.input_norm = norm

        def infer(self, m: np.ndarray) -> np.ndarray:
            starts.append(int(m[0, 0, 1]))
            return m[:, 0, 0].copy()

    n = 1000
    mst = np.zeros((n, 63, 6), np.float32)
    mst[:, :, 0] = np.random.default_rng(0).standard_normal(n)[:, None]
    mst[:, :, 1] = np.arange(n, dtype=np.float32)[:, None]
    for norm, step in (("acdc_pos", 24), ("minmax", 40), (None, 40)):
        starts.clear()
        engine = Echo(norm)
        assert input_grid(engine) == (24 if norm == "acdc_pos" else 1)
        infer_clip(engine, mst, workers=1)
        assert np.all(np.diff(starts[:-1]) == step) and starts[-1] == n - 160


def test_processor_checks_engine_T_and_running_mode(clip: dict) -> None:
    from edge_rppg.pulse.engines.base import EngineInfo

    class T160:
        info = EngineInfo(name="t160", T=160)

        def infer(self, m: np.ndarray) -> np.ndarray:
            return m[:, 62, 1].astype(np.float32)

    proc = _proc(FixedLandmarker(clip["face"]), None, base_options=BaseOptions(model=T160()))
    assert proc.window == 160
    assert [s.name for s in proc.stages] == ["input", "landmarks", "roi", "window", "engine", "vitals"]
    with pytest.raises(ConfigError, match="T=160"):
        _proc(FixedLandmarker(clip["face"]), 300, base_options=BaseOptions(model=T160()))
    with pytest.raises(ConfigError, match="running_mode"):
        proc.process_video(clip["frames"][:10], fps=FPS)
    proc.close()


def test_file_and_stream_give_identical_windows(clip: dict) -> None:
    """The same frames as a file (``estimate``, video mode) and as a stream (the runtime
    pipeline: source thread → queue → processor, keep_clip) give the same windows and HRs,
    bit for bit; the live readings along the way are the same stages and vitals maths."""
    from edge_rppg.processor.options import EstimateConfig
    from edge_rppg.processor.estimation import estimate
    from edge_rppg.face.options import LandmarkerOptions

    est = estimate(clip["path"], engine="pos", config=EstimateConfig(progress=False))
    pipe = Pipeline.create(IterSource(clip["frames"], fps=FPS), base_options=BaseOptions(model="pos"),
                           landmarks=LandmarkerOptions(), face_select="first", roi_backend="cpu", keep_clip=True)
    report = pipe.run()
    pipe.close()
    stream = report.estimate
    assert stream is not None and report.processed == len(clip["frames"])
    assert [(w.t_start, w.t_end) for w in stream.windows] == [(w.t_start, w.t_end) for w in est.windows]
    assert [w.hr_bpm for w in stream.windows] == [w.hr_bpm for w in est.windows]
    assert [w.quality for w in stream.windows] == [w.quality for w in est.windows]
    assert stream.hr_bpm == est.hr_bpm and stream.valid and est.valid
    np.testing.assert_array_equal(stream.bvp, est.bvp)
    assert abs(est.hr_bpm - clip["gt"]["hr_bpm"]) < 3.0
    assert report.last_result is not None and report.last_result.hr_bpm is not None


def test_pipeline_runs_processor_and_writes_jsonl(tmp_path: Path, clip: dict) -> None:
    """An iterator source: one JSON line per frame, HR after ``window`` samples, then every hop."""
    out = tmp_path / "r.jsonl"
    pipe = Pipeline(_fast_proc(clip["face"], window=150, engine_hop_s=0.5), source=IterSource(clip["frames"][:200], fps=FPS),
                    sinks=[sinks_mod.make_sink("json", str(out))])
    report = pipe.run()
    pipe.close()
    assert report.end_reason == "eos" and report.ok and report.processed == 200 and report.estimate is None
    lines = [json.loads(s) for s in out.read_text().splitlines()]
    assert len(lines) == 200
    assert lines[148]["hr_bpm"] is None and lines[149]["hr_bpm"] is not None
    assert sum(d["hr_updated"] for d in lines) == 4  # samples 150, 165, 180, 195
    assert abs(lines[-1]["hr_bpm"] - clip["gt"]["hr_bpm"]) < 6.0  # 5 s windows are coarse
    assert set(report.stage_ms) == {"source", "input", "landmarks", "roi", "window", "engine", "vitals"}
    assert report.stage_ms["source"]["count"] == 200


# --------------------------------------------------------------------------- backpressure & bad frames
def test_backpressure_drops_and_counts_live_frames(clip: dict) -> None:
    frames = [clip["frames"][i % 20] for i in range(150)]
    src = IterSource(frames, fps=FPS, live=True)
    report = Pipeline(_proc(SlowLandmarker(0.004)), source=src, queue_size=2).run()
    assert report.frames_in == 150
    assert report.dropped_queue > 0
    assert report.processed + report.dropped_queue == 150
    assert report.queue_high_water <= 2
    # a file-like (non-live) source is never dropped: the reader waits instead
    report = Pipeline(_proc(SlowLandmarker(0.001)), source=IterSource(frames[:60], fps=FPS),
                      queue_size=2).run()
    assert report.dropped_queue == 0 and report.processed == 60


def test_bad_frames_are_dropped_not_fatal(clip: dict) -> None:
    good = clip["frames"][:40]
    items: List[Any] = []
    for i, f in enumerate(good):
        items.append(f)
        if i % 10 == 3:
            items.append(None)
        if i % 10 == 6:
            items.append(np.zeros((240, 320), np.uint8))
    seen = []
    report = Pipeline(_fast_proc(clip["face"]), source=IterSource(items, fps=FPS)).run(
        on_result=lambda r: seen.append(r.dropped_frames))
    assert report.end_reason == "eos" and report.ok
    assert report.dropped_bad == 8 and report.processed == 40
    assert seen[-1] == 8
    assert "grayscale" in (report.last_error or "") or "None" in (report.last_error or "")


def test_failing_iterator_ends_cleanly_with_reason(clip: dict) -> None:
    def gen():
        yield clip["frames"][0]
        yield clip["frames"][1]
        raise IOError("camera unplugged")

    report = Pipeline(_fast_proc(clip["face"]), source=IterSource(gen(), fps=FPS)).run()
    assert report.processed == 2 and not report.ok
    assert report.end_reason.startswith("error") and "unplugged" in report.end_reason


def test_max_frames_and_frame_queue() -> None:
    q = FrameQueue(2, leaky=True)
    for i in range(5):
        q.put(i)
    assert q.dropped == 3 and [q.get(), q.get()] == [3, 4]
    frames = (np.zeros((32, 32, 3), np.uint8) for _ in range(10_000))
    report = Pipeline(_proc(SlowLandmarker(0.0)), source=IterSource(frames, fps=FPS)).run(max_frames=25)
    assert report.end_reason == "max_frames" and report.processed == 25


# --------------------------------------------------------------------------- sinks
def test_csv_and_video_sinks_write_real_files(tmp_path: Path, clip: dict) -> None:
    csv_path, vid_path, js_path = tmp_path / "hr.csv", tmp_path / "annotated.avi", tmp_path / "w.jsonl"
    sinks = [sinks_mod.make_sink("csv", str(csv_path)), sinks_mod.make_sink(f"video:{vid_path}", fps=FPS),
             sinks_mod.make_sink("json", str(js_path), every="window")]
    report = Pipeline(_fast_proc(clip["face"]), source=IterSource(clip["frames"][:180], fps=FPS),
                      sinks=sinks).run()
    assert report.processed == 180
    with open(csv_path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 180 and rows[0].keys() == set(sinks_mod.CSV_FIELDS)
    assert rows[148]["hr_bpm"] == "" and float(rows[149]["hr_bpm"]) > 30
    windows = [json.loads(s) for s in js_path.read_text().splitlines()]
    assert len(windows) == 2 and all(d["hr_updated"] for d in windows)
    with open_video(vid_path) as reader:
        out = list(reader)
    assert len(out) == 180 and out[0].shape == clip["frames"][0].shape
    # the overlay changed the picture (box, text, trace)
    assert np.abs(out[170].astype(int) - clip["frames"][170].astype(int)).mean() > 1.0
    with pytest.raises(ValueError):
        sinks_mod.make_sink("video")  # needs a path
    with pytest.raises(KeyError):
        sinks_mod.make_sink("nosuchsink")


# --------------------------------------------------------------------------- sources
def test_uri_parsing_and_opencv_file_source(clip: dict) -> None:
    src = open_source(str(clip["path"]), backend="opencv")
    assert isinstance(src, CvSource) and not src.live
    got = list(src.frames())
    assert len(got) == len(clip["frames"]) and src.end_reason == "eos"
    np.testing.assert_array_equal(got[5][0], clip["frames"][5])
    assert got[5][1] == pytest.approx(5 / FPS)
    with pytest.raises(SourceError, match="not found"):
        open_source("/no/such/video.avi")
    with pytest.raises(KeyError, match="unknown source scheme"):
        open_source("bogus:thing")
    pat = open_source("test:?frames=5&width=64&height=48", backend="opencv")
    frames = list(pat.frames())
    assert len(frames) == 5 and frames[0][0].shape == (48, 64, 3) and pat.end_reason == "eos"


def test_reconnecting_source_retries_with_backoff(clip: dict) -> None:
    made: List[Source] = []

    class Flaky(Source):
        def __init__(self, k: int) -> None:
            super().__init__()
            self.k = k

        def frames(self):
            if self.k < 2:  # first two attempts: the camera is gone
                self._end("error: no device", failed=True)
                return
            for i in range(3):
                yield clip["frames"][i], float(i)
            self._end("eos")

    def factory() -> Source:
        made.append(Flaky(len(made)))
        return made[-1]

    src = ReconnectingSource(factory, max_retries=5, backoff_s=0.01)
    got = list(src.frames())
    assert len(got) == 3 and src.reconnects == 2 and src.end_reason == "eos"
    dead = ReconnectingSource(lambda: Flaky(0), max_retries=2, backoff_s=0.01)
    assert list(dead.frames()) == [] and dead.failed and "gave up after 2 retries" in dead.end_reason


@needs_gst
def test_gstreamer_videotestsrc_to_appsink() -> None:
    src = GstSource("videotestsrc num-buffers=20 pattern=ball ! video/x-raw,width=160,height=120,framerate=30/1")
    got = list(src.frames())
    assert src.end_reason == "eos" and not src.failed
    assert len(got) == 20
    frame, ts = got[3]
    assert frame.shape == (120, 160, 3) and frame.dtype == np.uint8 and frame.flags.c_contiguous
    assert [t for _, t in got[:3]] == pytest.approx([0.0, 1 / 30, 2 / 30])
    assert any(np.abs(a.astype(int) - b.astype(int)).sum() for (a, _), (b, _) in zip(got, got[1:]))  # moving ball
    # odd width: padded GStreamer rows (stride) are removed
    odd = list(GstSource("videotestsrc num-buffers=2 ! video/x-raw,width=161,height=41").frames())
    assert odd[0][0].shape == (41, 161, 3)
    # the "test:" URI and a whole pipeline without a face
    from edge_rppg.face.options import LandmarkerOptions

    report = Pipeline.create("test:?frames=15&width=160&height=120", base_options=BaseOptions(model="pos"),
                             roi_backend="cpu", landmarks=LandmarkerOptions(max_num_faces=1)).run()
    assert report.end_reason == "eos" and report.processed == 15
    assert report.last_result is not None and not report.last_result.face_found


@needs_gst
def test_gstreamer_live_source_counts_appsink_drops() -> None:
    """A live 30 fps source read too slowly: the appsink drops (max-buffers=1, drop=true)
    and the source counts what it lost from the PTS gaps."""
    src = GstSource("videotestsrc num-buffers=45 is-live=true ! video/x-raw,width=64,height=48,framerate=30/1",
                    live=True, max_buffers=1)
    got = 0
    for _frame, _ts in src.frames():
        got += 1
        time.sleep(0.1)
    assert src.end_reason == "eos"
    assert src.dropped > 0 and 30 <= got + src.dropped <= 45


@needs_gst
def test_gstreamer_errors_end_cleanly(tmp_path: Path) -> None:
    missing = GstSource(f"filesrc location={tmp_path / 'nope.avi'} ! decodebin")
    assert list(missing.frames()) == []
    assert missing.failed and missing.end_reason.startswith("error")
    garbage = tmp_path / "garbage.avi"
    garbage.write_bytes(b"RIFF" + bytes(range(256)) * 50)
    src = GstSource(f"filesrc location={garbage} ! decodebin")
    assert list(src.frames()) == [] and src.failed
    with pytest.raises(SourceError, match="bad GStreamer pipeline"):
        list(GstSource("nosuchelement_xyz ! fakesink").frames())
    # auto backend on an undecodable file falls back to OpenCV, which fails too: one reason
    fb = open_source(str(garbage))
    assert isinstance(fb, FallbackSource) and list(fb.frames()) == [] and fb.failed
    assert "no backend" in fb.end_reason


@needs_gst_png_avi
def test_gstreamer_filesrc_pipeline_hr_agrees_with_estimate(clip: dict) -> None:
    """filesrc ! decodebin ! appsink on the synthetic video: the same pixels as OpenCV, and
    the streamed HR (real MediaPipe, POS) within 1 bpm of ``estimate`` on the same file."""
    from edge_rppg.processor.options import EstimateConfig
    from edge_rppg.processor.estimation import estimate
    from edge_rppg.face.options import LandmarkerOptions

    src = open_source(str(clip["path"]), backend="gst")
    assert isinstance(src, GstSource)
    seen: List[float] = []
    reasons: List[Any] = []
    first: List[np.ndarray] = []

    class Keep(sinks_mod.Sink):
        def write(self, r: Any, frame: Any = None) -> None:
            if len(first) < 3:
                first.append(frame)
            if r.hr_updated:
                reasons.append(r.invalid_reason)
            if r.hr_updated and r.valid:
                seen.append(r.hr_bpm)

    pipe = Pipeline.create(src, base_options=BaseOptions(model="pos"), roi_backend="cpu",
                           landmarks=LandmarkerOptions(max_num_faces=1), sinks=[Keep()])
    report = pipe.run()
    pipe.close()
    assert report.end_reason == "eos" and report.processed == len(clip["frames"]) and report.dropped == 0
    for a, b in zip(first, clip["frames"]):
        np.testing.assert_array_equal(a, b)
    # readings at t = 10, 11, 12 s; the first waits for a steady run (stream_min_run = 2)
    assert reasons == ["steady_run", None, None] and len(seen) == 2, reasons
    est = estimate(clip["path"], engine="pos", config=EstimateConfig(progress=False))
    assert est.hr_bpm is not None
    assert abs(float(np.mean(seen)) - est.hr_bpm) < 1.0, (seen, est.hr_bpm)
    assert abs(float(np.mean(seen)) - clip["gt"]["hr_bpm"]) < 3.0


# --------------------------------------------------------------------------- CLI
def _cli(argv: List[str]) -> int:
    from edge_rppg.runtime import cli_run

    p = argparse.ArgumentParser()
    cli_run.add_arguments(p)
    return cli_run.run(p.parse_args(argv))


def test_cli_run_writes_csv(tmp_path: Path, clip: dict, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "hr.csv"
    rc = _cli(["--source", str(clip["path"]), "--engine", "pos", "--sink", "csv", "--out", str(out),
               "--max-frames", "45", "--roi-backend", "cpu", "--max-num-faces", "1"])
    assert rc == 0
    rows = list(csv.DictReader(open(out, newline="")))
    assert len(rows) == 45 and rows[-1]["face_found"] == "True"
    err = capsys.readouterr().err
    assert "ended: max_frames" in err and "45 processed" in err


def test_cli_run_reports_failed_source(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"not a video at all" * 100)
    """A file no backend can read is refused before the run starts (one-line error, exit 2);
    a source failing mid-stream ends the run with exit 1 (``test_failing_iterator_ends_cleanly``)."""
    from edge_rppg.cli.main import main

    rc = main(["run", "--source", str(bad), "--model", "pos", "--sink", "null", "--roi-backend", "cpu",
               "--max-num-faces", "1"])
    assert rc == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and "bad.avi" in err[0] and "Traceback" not in err[0]


def test_edge_rppg_main_dispatches_run(tmp_path: Path, clip: dict, capsys: pytest.CaptureFixture) -> None:
    """``edge-rppg run`` through the real console entry point (JSON lines on stdout)."""
    from edge_rppg.cli.main import main

    rc = main(["run", "--source", str(clip["path"]), "--engine", "pos", "--max-frames", "12",
               "--roi-backend", "cpu", "--max-num-faces", "1", "--backend", "opencv", "--quiet"])
    assert rc == 0
    lines = [json.loads(s) for s in capsys.readouterr().out.splitlines() if s.startswith("{")]
    assert len(lines) == 12 and lines[-1]["frame_index"] == 11 and lines[-1]["face_found"]
    rc = main(["run", "--source", str(tmp_path / "missing.avi"), "--engine", "pos"])
    assert rc == 2
    assert "not found" in capsys.readouterr().err
