"""The ``rendered`` training source: face videos rendered and put through the product's
front end, with the generator's ground truth as labels."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from edge_rppg.vitals.dsp.hr import hr_from_psd  # noqa: E402
from edge_rppg.errors import DatasetError  # noqa: E402
from edge_rppg.training.config import DataSpec  # noqa: E402
from edge_rppg.training.data import build_clips, source_class  # noqa: E402
from edge_rppg.training.rendered import RenderDraws, RenderedClipDataset, draw_video  # noqa: E402

#: Short clips so that rendering stays a few seconds per test.
SHORT = {"duration_s": 7.0, "motion_weights": [1.0, 0.0, 0.0], "jpeg_prob": 0.0, "low_light_prob": 0.0,
         "lamp_prob": 0.0, "periodic_motion_prob": 0.0, "talking_prob": 0.0}


def test_draws_are_a_function_of_the_seed_and_cover_the_conditions() -> None:
    d = RenderDraws()
    assert draw_video(d, 7)[0] == draw_video(d, 7)[0]
    assert draw_video(d, 7)[0] != draw_video(d, 8)[0]
    draws = [draw_video(d, s) for s in range(300)]
    pulseless = [c for c, has_pulse in draws if not has_pulse]
    # 15 % pulseless: 45 of 300 expected, binomial sd 6.2
    assert 20 <= len(pulseless) <= 70
    for c in pulseless:  # no pulse, and always something periodic that could pass for one
        assert c.pulse_amplitude == 0.0 and (c.periodic_motion_hz > 0 or c.lamp_hz > 0)
    hrs = np.array([c.hr_bpm for c, p in draws if p])
    assert d.hr_bpm[0] <= hrs.min() and hrs.max() <= d.hr_bpm[1]
    assert np.mean([c.jpeg_quality > 0 for c, _ in draws]) == pytest.approx(d.jpeg_prob, abs=0.1)
    assert {c.motion for c, _ in draws} == {"still", "moderate", "large"}
    assert len({c.lamp_color for c, _ in draws if c.lamp_hz > 0}) >= 3
    # training renders the mirror image by default (the benchmark renders the photo as it is)
    assert all(c.mirror for c, _ in draws)
    half = [draw_video(RenderDraws(mirror_prob=0.5), s)[0].mirror for s in range(300)]
    assert 0.35 <= np.mean(half) <= 0.65


def test_rendered_windows_carry_the_rendered_pulse(tmp_path: Path) -> None:
    spec = DataSpec(source="rendered", n_clips=2, seed_offset=3, synth=dict(SHORT, pulseless_prob=0.0),
                    cache_dir=str(tmp_path))
    assert source_class("rendered") is RenderedClipDataset
    clips = build_clips([spec], 96, 48, seed=0)
    part = clips.datasets[0]
    assert len(list(tmp_path.glob("*.npz"))) == 2  # one extraction per clip, kept
    n = len(part.clips[0])
    assert n == round(SHORT["duration_s"] * 30)
    assert len(clips) == sum(len(range(0, len(c) - part.source_len + 1, 48)) for c in part.clips)
    for i in range(len(clips)):
        item = clips[i]
        assert item["x"].shape == (96, 63, 6) and np.isfinite(item["x"]).all() and item["pulse"] == 1.0
        # the label is the generator's heart rate; the target is its pulse (standardised)
        cfg, _ = draw_video(part.draws, 3 + part.index[i][0])
        assert abs(float(item["hr"]) - cfg.hr_bpm) < 0.15 * cfg.hr_bpm
        assert abs(hr_from_psd(item["bvp"], 30.0).hr_bpm - cfg.hr_bpm) < 0.15 * cfg.hr_bpm
    # a second construction loads the same extractions from the cache
    again = build_clips([spec], 96, 48, seed=0)
    np.testing.assert_array_equal(again[0]["x"], clips[0]["x"])


def test_rendered_pulseless_clips_have_zero_targets(tmp_path: Path) -> None:
    spec = DataSpec(source="rendered", n_clips=1, seed_offset=11, synth=dict(SHORT, pulseless_prob=1.0),
                    cache_dir=str(tmp_path))
    clips = build_clips([spec], 96, 48, seed=0)
    assert len(clips) >= 1
    for i in range(len(clips)):
        item = clips[i]
        assert item["pulse"] == 0.0 and np.all(item["bvp"] == 0) and np.isnan(item["hr"])
    assert clips.describe()[0]["pulseless_clips"] == 1


def test_rendered_source_needs_a_cache_and_long_enough_clips(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="cache_dir"):
        build_clips([DataSpec(source="rendered", n_clips=1, synth=dict(SHORT))], 96, 48)
    with pytest.raises(DatasetError, match="frames a window needs"):
        build_clips([DataSpec(source="rendered", n_clips=1, synth=dict(SHORT, duration_s=2.0),
                              cache_dir=str(tmp_path))], 96, 48)
    with pytest.raises(ValueError, match="unknown field"):
        build_clips([DataSpec(source="rendered", n_clips=1, synth={"nope": 1}, cache_dir=str(tmp_path))], 96, 48)
