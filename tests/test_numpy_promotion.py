"""numpy 2's scalar promotion rules (NEP 50) do not change a number the pipeline produces (issue 26).

numpy 2 dropped value-based casting: ``float32_array * np.float64(x)`` is float64 there (float32 in
numpy 1.x), ``np.float32(x) * 2.0`` float32 (float64 in 1.x). numpy 1.24-1.26 can run with numpy 2's
rules (``np._set_promotion_state("weak")``), so on the oldest stack this test estimates the same clip
under both rule sets, through the whole pipeline (ONNX face models, ROI means, MSTmap, resampling, the
engines, DSP, vitals), and asserts the same dtypes and the same numbers. On numpy 2 only the new rules
exist, and the newest stack's run of the suite (``make test-newest``) covers them;
``tools/compare_stacks.py`` compares the two stacks' numbers on the demo's clips.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator

import numpy as np
import pytest

from edge_rppg import EstimateConfig, estimate, load_engine
from edge_rppg.pulse.engines.registry import default_engine_spec

pytestmark = pytest.mark.skipif(not hasattr(np, "_set_promotion_state"),
                                reason=f"numpy {np.__version__} has only NEP 50 promotion (nothing to compare)")


@contextmanager
def promotion(state: str) -> Iterator[None]:
    """numpy 1.x's promotion rules set to ``state`` ("legacy": value-based, "weak": NEP 50) for the block."""
    old = np._get_promotion_state()
    np._set_promotion_state(state)
    try:
        yield
    finally:
        np._set_promotion_state(old)


def test_nep50_promotion_changes_no_number_of_the_pipeline(synth_videos: Dict[str, Path]) -> None:
    clip = synth_videos["moderate_motion"]
    with promotion("weak"):     # guard: the switch really changes numpy's rules here
        assert (np.ones(2, np.float32) * np.float64(2.0)).dtype == np.float64
    assert (np.ones(2, np.float32) * np.float64(2.0)).dtype == np.float32
    for spec in (default_engine_spec(), "pos"):
        runs = {}
        for state in ("legacy", "weak"):
            with promotion(state):
                runs[state] = estimate(clip, engine=load_engine(spec), config=EstimateConfig(progress=False))
        old, new = runs["legacy"], runs["weak"]
        assert old.hr_bpm is not None and old.valid, spec
        assert np.asarray(new.bvp).dtype == np.asarray(old.bvp).dtype, spec
        np.testing.assert_array_equal(np.asarray(new.bvp), np.asarray(old.bvp), err_msg=spec)
        assert new.hr_bpm == old.hr_bpm and new.valid == old.valid, (spec, old.hr_bpm, new.hr_bpm)
        assert [(w.hr_bpm, w.valid) for w in new.windows] == [(w.hr_bpm, w.valid) for w in old.windows], spec
        assert new.rf_hz == old.rf_hz or (new.rf_hz is None and old.rf_hz is None), spec
