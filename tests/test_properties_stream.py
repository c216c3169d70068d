"""Property tests (Hypothesis) of the stream API boundary (issue 25): random frames, random
timestamp sequences and broken clocks through ``EdgeRPPG.process``.

Properties:

- any frame (shape, dtype, strides, sizes, not an array at all) gives a result or one of the
  project's own exceptions (``EdgeRPPGError``), never another one, and the stream goes on;
- any timestamp sequence (jitter, gaps, steps back, duplicates, NaN, huge values) gives results
  or the project's ``ConfigError``; every reading the stream marks valid is right (within
  3 bpm of the clip's truth), so a glitch in the clock never yields a wrong valid reading;
- the stream's state stays bounded whatever the sequence.

Examples and seed policy come from the profile in tests/conftest.py (``ci``: deterministic and
bounded; ``long``: many random examples, ``--hypothesis-profile=long``).
"""
from __future__ import annotations

from pathlib import Path
from typing import List

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from edge_rppg import EdgeRPPG  # noqa: E402
from edge_rppg.errors import ConfigError, EdgeRPPGError  # noqa: E402
from edge_rppg.face.types import Face  # noqa: E402
from fake_landmarkers import FakeLandmarker  # noqa: E402

FPS = 30.0
HR = 72.0


class FixedFace(FakeLandmarker):
    """The clip's face (found once by the real default landmarker) on every frame: the
    timing properties are about the clock, not the face models."""

    def __init__(self, face: Face) -> None:
        super().__init__()
        self.face = face

    def detect(self, frame_rgb: np.ndarray, timestamp_ms: float) -> List[Face]:
        return [self.face] if frame_rgb.shape[:2] == (240, 320) else []


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """14 s of a still 320x240 synthetic face at 72 bpm, and its face."""
    from edge_rppg.face.registry import create_landmarker
    from edge_rppg.synth.video_gen import VideoSynthConfig, render_frames

    frames = list(render_frames(VideoSynthConfig(duration_s=14.0, fps=FPS, width=320, height=240, hr_bpm=HR,
                                                 motion="still"), seed=21))
    with create_landmarker() as lm:
        face = lm.detect(frames[0], 0.0)[0]
    return {"frames": frames, "face": face}


FRAMES = st.one_of(
    hnp.arrays(dtype=st.sampled_from([np.uint8, np.uint16, np.float32, np.int8, np.bool_]),
               shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=40)),
    hnp.arrays(dtype=np.uint8, shape=st.tuples(st.integers(1, 300), st.integers(1, 300), st.sampled_from([1, 3, 4]))),
    st.builds(lambda a: a[::2, ::3], hnp.arrays(dtype=np.uint8, shape=st.tuples(st.integers(16, 120),
                                                                                st.integers(16, 120), st.just(3)))),
    st.sampled_from([None, "frame", 3.0, [[0, 0, 0]]]),
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(frames=st.lists(FRAMES, min_size=1, max_size=6))
def test_any_frame_gives_a_result_or_the_projects_own_error(clip: dict, frames: list) -> None:
    with EdgeRPPG("pos", roi_backend="cpu") as rppg:
        rppg.process(clip["frames"][0], timestamp=0.0)
        for i, f in enumerate(frames, start=1):
            try:
                r = rppg.process(f, timestamp=i / FPS)
            except EdgeRPPGError:
                continue
            assert r.frame_index == i
        after = rppg.process(clip["frames"][1], timestamp=(len(frames) + 1) / FPS)   # the stream goes on
    assert after.frame_index == len(frames) + 1


GLITCH = st.tuples(st.sampled_from(["back", "jump", "dup", "stall", "jitter"]), st.integers(20, 400),
                   st.floats(0.0, 2.5))


def _times(glitches: list) -> np.ndarray:
    """Nominal frame times with the glitches applied (all frames present)."""
    t = np.arange(420) / FPS
    for kind, at, size in glitches:
        if kind == "back":
            t[at:] -= size
        elif kind == "jump":
            t[at:] += size
        elif kind == "dup":
            t[at:at + 3] = t[at]
        elif kind == "stall":   # frames bunched: delivered late, all stamped on arrival
            t[at:at + 10] = t[min(at + 10, 419)]
        else:
            t[at:at + 30] += np.random.default_rng(at).normal(0.0, size / 50.0, size=len(t[at:at + 30]))
    return t


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
          max_examples=max(3, settings().max_examples // 6))
@given(glitches=st.lists(GLITCH, min_size=1, max_size=3))
def test_a_valid_reading_is_right_whatever_the_clock_does(clip: dict, glitches: list) -> None:
    times = _times(glitches)
    with EdgeRPPG("pos", landmarker=FixedFace(clip["face"]), roi_backend="cpu") as rppg:
        results = [rppg.process(f, timestamp=float(ts)) for f, ts in zip(clip["frames"], times)]
        assert len(rppg.vitals_stage.stitch.signal()[0]) <= rppg.vitals_stage.stitch.history
    wrong = [(r.timestamp, r.hr_bpm) for r in results if r.valid and abs(r.hr_bpm - HR) > 3.0]
    assert not wrong, (glitches, wrong)


@given(bad=st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e300, "12", None]))
def test_a_timestamp_that_is_not_seconds_is_a_config_error(clip: dict, bad: object) -> None:
    with EdgeRPPG("pos", landmarker=FixedFace(clip["face"]), roi_backend="cpu", input_fps=FPS) as rppg:
        rppg.process(clip["frames"][0], timestamp=0.0)
        if bad is None:    # no timestamp: frame n at n / input_fps
            assert rppg.process(clip["frames"][1], timestamp=None).timestamp == pytest.approx(1 / FPS)
            return
        with pytest.raises(ConfigError):
            rppg.process(clip["frames"][1], timestamp=bad)  # type: ignore[arg-type]
        assert rppg.process(clip["frames"][2], timestamp=2 / FPS).frame_index == 2
