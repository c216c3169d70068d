"""Shared fixtures: synthetic face videos with exact ground truth (made once per
session), the path to the real contact-PPG recordings in ../shared, and the
Hypothesis profiles of the property tests.

Hypothesis profiles (every property test uses the one loaded here: none sets a
``max_examples`` of its own, though a heavy one may take a fraction of the profile's, and the
profile's deadline catches a hang):

- ``ci`` (default): deterministic (``derandomize=True``: the examples are a function of the
  test, the same on every run and machine), :data:`CI_EXAMPLES` examples per test, a
  generous per-example deadline, no example database written into the clone;
- ``long``: :data:`LONG_EXAMPLES` random examples per test, for a soak before a release.

Select with ``EDGE_RPPG_HYPOTHESIS_PROFILE=long`` or Hypothesis's own pytest flag
``--hypothesis-profile=long`` (the flag wins).
"""
from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Dict

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"

#: Examples per property test in CI (bounded: the whole suite must stay under ~15 minutes).
CI_EXAMPLES = 60
#: Examples per property test in the ``long`` profile.
LONG_EXAMPLES = 2000
#: Environment variable that picks the profile when the pytest flag is absent.
PROFILE_ENV = "EDGE_RPPG_HYPOTHESIS_PROFILE"

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # the [dev] extra brings it; without it the property tests skip (importorskip)
    settings = None  # type: ignore[assignment]
else:
    settings.register_profile("ci", derandomize=True, max_examples=CI_EXAMPLES, deadline=timedelta(seconds=60),
                              database=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("long", derandomize=False, max_examples=LONG_EXAMPLES,
                              deadline=timedelta(seconds=120), database=None, print_blob=True,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile(os.environ.get(PROFILE_ENV, "ci"))


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
