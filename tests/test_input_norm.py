"""Window normalisation modes (min-max vs AC/DC) and how models carry theirs."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from edge_rppg.skin.mstmap import (LEGACY_INPUT_NORM, NORMALIZATIONS, POS_CHANNEL, input_norm_of, normalize_acdc,
                              normalize_acdc_pos, normalize_minmax, normalize_minmax_acdc, normalize_window)


def _window(ratio_g_to_r: float = 2.0, T: int = 160) -> np.ndarray:
    """All 63 rows: a 1 Hz sinusoid whose relative amplitude in G is ``ratio`` times R's."""
    t = np.arange(T) / 30.0
    s = np.sin(2 * np.pi * 1.0 * t)
    x = np.empty((T, 63, 6), np.float32)
    dc = np.array([150.0, 100.0, 80.0, 110.0, 120.0, 130.0])
    rel = np.array([0.002, 0.002 * ratio_g_to_r, 0.001, 0.0015, 0.0005, 0.0005])
    x[:] = (dc * (1.0 + rel * s[:, None]))[:, None, :]
    return x


def test_acdc_keeps_relative_channel_amplitude_minmax_erases_it():
    x = _window(2.0)
    a = normalize_acdc(x)
    m = normalize_minmax(x)
    ptp_a = np.ptp(a[:, 0, :3], axis=0)
    ptp_m = np.ptp(m[:, 0, :3], axis=0)
    assert ptp_a[1] / ptp_a[0] == pytest.approx(2.0, rel=1e-3)
    assert ptp_a[2] / ptp_a[0] == pytest.approx(0.5, rel=1e-3)
    np.testing.assert_allclose(ptp_m, 1.0, atol=1e-6)          # every trace gets the same range


def test_acdc_has_one_common_scale_and_is_gain_invariant():
    x = _window(1.5)
    a = normalize_acdc(x)
    rms = np.sqrt(np.mean(a[..., :3].astype(np.float64) ** 2))
    assert rms == pytest.approx(1.0, rel=1e-3)
    b = normalize_acdc(x * np.array([1.3, 0.7, 1.1, 1.0, 1.0, 1.0], np.float32))   # white balance
    np.testing.assert_allclose(a[..., :3], b[..., :3], atol=1e-4)


def test_acdc_nan_and_constant_traces():
    x = _window()
    x[5, 3, :] = np.nan
    x[:, 7, 2] = 0.0
    a = normalize_acdc(x)
    assert np.isnan(a[5, 3]).all() and np.isfinite(np.delete(a, 5, axis=0)[:, 3]).all()
    assert (a[:, 7, 2] == 0).all()
    assert np.abs(np.nan_to_num(a)).max() <= 6.0


def test_normalize_window_dispatch():
    x = _window()
    np.testing.assert_array_equal(normalize_window(x), normalize_minmax(x))   # legacy default
    np.testing.assert_array_equal(normalize_window(x, "acdc"), normalize_acdc(x))
    np.testing.assert_array_equal(normalize_window(x, "acdc_pos"), normalize_acdc_pos(x))
    assert set(NORMALIZATIONS) == {"minmax", "acdc", "acdc_pos", "minmax_acdc", "acdc_mono"}
    with pytest.raises(KeyError, match="acdc"):
        normalize_window(x, "zscore")


def test_input_norm_of_sources():
    from edge_rppg.pulse.models.cluster_phys import PRESETS, ClusterPhysConfig

    assert ClusterPhysConfig().input_norm == "acdc"
    assert input_norm_of(ClusterPhysConfig(input_norm="minmax")) == "minmax"
    assert input_norm_of({"edge_rppg.config": json.dumps({"T": 160})}) == LEGACY_INPUT_NORM   # old ONNX file
    assert input_norm_of({"edge_rppg.config": json.dumps({"input_norm": "acdc"})}) == "acdc"
    assert input_norm_of({"config": {"input_norm": "acdc"}}) == "acdc"
    assert input_norm_of({}) == LEGACY_INPUT_NORM
    with pytest.raises(ValueError, match="input_norm"):
        dataclasses.replace(PRESETS["edge-small"], input_norm="nope")


def test_old_checkpoint_loads_as_minmax_and_engines_normalise_by_config(tmp_path):
    from edge_rppg.pulse.engines.torch_engine import TorchEngine
    from edge_rppg.pulse.models.checkpoint import load_checkpoint, save_checkpoint
    from edge_rppg.pulse.models.cluster_phys import PRESETS, ClusterPhys

    torch.manual_seed(0)
    model = ClusterPhys(dataclasses.replace(PRESETS["edge-small"], input_norm="acdc")).eval()
    path = save_checkpoint(tmp_path / "m.pt", model)
    loaded, _ = load_checkpoint(path)
    assert loaded.config.input_norm == "acdc"
    payload = torch.load(path, weights_only=True)
    del payload["config"]["input_norm"]                       # a checkpoint from before the field
    torch.save(payload, tmp_path / "old.pt")
    old, _ = load_checkpoint(tmp_path / "old.pt")
    assert old.config.input_norm == "minmax"

    x = _window() + np.random.default_rng(0).normal(0, 0.05, (160, 63, 6)).astype(np.float32)
    eng = TorchEngine(loaded)
    with torch.no_grad():
        want = loaded(torch.from_numpy(normalize_acdc(x))[None]).numpy()[0]
        other = loaded(torch.from_numpy(normalize_minmax(x))[None]).numpy()[0]
    got = eng.infer(x)
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert np.abs(got - other).max() > 1e-3


def test_pos_rows_equals_pos_on_each_row():
    from edge_rppg.pulse.methods.pos import pos, pos_rows

    rgb = 100.0 + np.random.default_rng(3).random((161, 7, 3))
    want = np.stack([pos(rgb[:, r], 30.0) for r in range(7)], axis=1)
    np.testing.assert_allclose(pos_rows(rgb, 30.0), want, rtol=0, atol=1e-12)


def _lamp_window(T: int = 160, seed: int = 0) -> tuple:
    """Rows with a weak pulse along the blood-absorption direction plus a 15x stronger
    orange lamp (R >> G >> B) at another in-band rate, and the pulse itself."""
    rng = np.random.default_rng(seed)
    t = np.arange(T) / 30.0
    pulse = np.sin(2 * np.pi * 1.2 * t)
    lamp = np.sin(2 * np.pi * 1.7 * t + 0.3)
    dc = np.array([160.0, 110.0, 90.0])
    rel = 0.002 * (np.array([0.33, 0.77, 0.53])[None] * -pulse[:, None]) + 0.03 * np.array([1.0, 0.55, 0.08]) * lamp[:, None]
    rgb = dc * (1.0 + rel)
    x = np.empty((T, 63, 6), np.float32)
    x[..., :3] = (rgb[:, None, :] + rng.normal(0, 0.01, (T, 63, 3)))
    x[..., 3:] = x[..., :3] @ np.array([[0.299, -0.169, 0.5], [0.587, -0.331, -0.419], [0.114, 0.5, -0.081]]) + [0, 128, 128]
    return x, pulse


def test_acdc_pos_channel_carries_the_pulse_that_the_colour_channels_hide():
    x, pulse = _lamp_window()
    y = normalize_acdc_pos(x)
    np.testing.assert_array_equal(y[..., :POS_CHANNEL], normalize_acdc(x)[..., :POS_CHANNEL])
    r_pos = np.corrcoef(y[:, 0, POS_CHANNEL], pulse)[0, 1]
    r_green = abs(np.corrcoef(y[:, 0, 1], pulse)[0, 1])
    assert r_pos > 0.9 and r_green < 0.3, (r_pos, r_green)
    assert np.sqrt(np.mean(y[..., POS_CHANNEL].astype(np.float64) ** 2)) == pytest.approx(1.0, rel=0.05)


def test_acdc_pos_nan_rows_and_bounds():
    x, _ = _lamp_window()
    x[10, 4, 1] = np.nan
    y = normalize_acdc_pos(x)
    assert np.isnan(y[:, 4, POS_CHANNEL]).all()
    assert np.isfinite(np.delete(y, 4, axis=1)[..., POS_CHANNEL]).all()
    assert np.abs(np.nan_to_num(y)).max() <= 6.0


def test_minmax_acdc_holds_both_views():
    x = _window(2.0)
    y = normalize_minmax_acdc(x)
    np.testing.assert_array_equal(y[..., :3], normalize_minmax(x)[..., :3])
    np.testing.assert_array_equal(y[..., 3:], normalize_acdc(x)[..., :3])
    ptp = np.ptp(y[:, 0], axis=0)
    np.testing.assert_allclose(ptp[:3], 1.0, atol=1e-6)                      # shape view: full range each
    assert ptp[4] / ptp[3] == pytest.approx(2.0, rel=1e-3)                    # colour view: G twice R
