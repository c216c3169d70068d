"""HR accuracy metrics and the Bland-Altman plot."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from edge_rppg.errors import ShapeError
from edge_rppg.evaluation.metrics import bland_altman_plot, mae, pearson, rmse, summary


def test_known_values() -> None:
    pred, true = [62.0, 70.0, 81.0, 90.0], [60.0, 71.0, 80.0, 94.0]
    assert mae(pred, true) == pytest.approx((2 + 1 + 1 + 4) / 4)
    assert rmse(pred, true) == pytest.approx(math.sqrt((4 + 1 + 1 + 16) / 4))
    assert pearson(pred, true) == pytest.approx(np.corrcoef(pred, true)[0, 1])
    s = summary(pred, true)
    assert s["bias"] == pytest.approx(-0.5)
    assert s["sd"] == pytest.approx(np.std([2, -1, 1, -4], ddof=1))
    assert s["loa_high"] - s["loa_low"] == pytest.approx(2 * 1.96 * s["sd"])
    assert s["n"] == 4 and s["n_total"] == 4


def test_nan_pairs_dropped_and_degenerate_cases() -> None:
    s = summary([60.0, np.nan, 80.0], [61.0, 70.0, 79.0])
    assert s["n"] == 2 and s["n_total"] == 3 and s["mae"] == pytest.approx(1.0)
    assert math.isnan(mae([np.nan], [1.0]))
    assert math.isnan(pearson([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))
    assert math.isnan(pearson([1.0], [1.0]))
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    with pytest.raises(ShapeError):
        mae([1.0, 2.0], [1.0])


def test_bland_altman_plot_writes_png(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    true = rng.uniform(50, 120, 40)
    pred = true + rng.normal(0.5, 2.0, 40)
    out = bland_altman_plot(pred, true, tmp_path / "sub" / "ba.png", title="POS on synth")
    assert out.exists() and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stat().st_size > 5000
    one = bland_altman_plot([70.0], [71.0], tmp_path / "one.png")
    assert one.exists()
