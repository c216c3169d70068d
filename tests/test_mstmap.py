"""MSTmap maths: subset order, weighted means, BT.601 YUV, normalisation, resampling, filling."""
from __future__ import annotations

import numpy as np
import pytest

from edge_rppg.errors import ShapeError
from edge_rppg.skin.mstmap import (SUBSET_MATRIX, combine_roi_sums, fill_invalid, normalize_window, resample,
                              resample_times, resample_valid, rgb_to_yuv)


def _random_sums(rng: np.random.Generator, shape=()):
    counts = rng.integers(50, 5000, size=shape + (6,)).astype(np.int64)
    means = rng.uniform(20, 240, size=shape + (6, 3))
    return means * counts[..., None], counts


def test_subset_matrix_is_binary_counting_order():
    assert SUBSET_MATRIX.shape == (63, 6)
    for r in range(63):
        expected = [((r + 1) >> j) & 1 for j in range(6)]
        assert SUBSET_MATRIX[r].tolist() == expected
    assert SUBSET_MATRIX[0].tolist() == [1, 0, 0, 0, 0, 0]     # forehead alone
    assert SUBSET_MATRIX[62].tolist() == [1] * 6               # whole face
    assert len({tuple(r) for r in SUBSET_MATRIX.tolist()}) == 63


def test_combine_equals_direct_weighted_mean():
    rng = np.random.default_rng(0)
    sums, counts = _random_sums(rng)
    out = combine_roi_sums(sums, counts)
    assert out.shape == (63, 6) and out.dtype == np.float32
    for r in range(63):
        members = [j for j in range(6) if ((r + 1) >> j) & 1]
        direct = sums[members].sum(0) / counts[members].sum()
        np.testing.assert_allclose(out[r, :3], direct, rtol=1e-6)


def test_combine_batched_matches_per_frame():
    rng = np.random.default_rng(1)
    sums, counts = _random_sums(rng, (4, 5))
    out = combine_roi_sums(sums, counts)
    assert out.shape == (4, 5, 63, 6)
    np.testing.assert_allclose(out[2, 3], combine_roi_sums(sums[2, 3], counts[2, 3]), rtol=1e-6)


def test_yuv_matches_readme_formula_on_the_means():
    rng = np.random.default_rng(2)
    sums, counts = _random_sums(rng)
    out = combine_roi_sums(sums, counts).astype(np.float64)
    R, G, B = out[:, 0], out[:, 1], out[:, 2]
    np.testing.assert_allclose(out[:, 3], .299 * R + .587 * G + .114 * B, rtol=1e-5)
    np.testing.assert_allclose(out[:, 4], 128 - .168736 * R - .331264 * G + .5 * B, rtol=1e-5)
    np.testing.assert_allclose(out[:, 5], 128 + .5 * R - .418688 * G - .081312 * B, rtol=1e-5)
    # gray maps to U = V = 128
    np.testing.assert_allclose(rgb_to_yuv(np.array([100.0, 100.0, 100.0])), [100, 128, 128], atol=1e-9)


def test_zero_pixel_subsets_are_nan_only_where_all_members_empty():
    rng = np.random.default_rng(3)
    sums, counts = _random_sums(rng)
    counts[5] = 0           # chin lost
    sums[5] = 0.0
    out = combine_roi_sums(sums, counts)
    assert np.isnan(out[31]).all()                      # row 31 = bitmask 32 = chin only
    assert np.isfinite(np.delete(out, 31, axis=0)).all()
    # chin contributes nothing to the whole-face row
    np.testing.assert_allclose(out[62, :3], sums[:5].sum(0) / counts[:5].sum(), rtol=1e-6)


def test_combine_rejects_bad_shapes():
    with pytest.raises(ShapeError):
        combine_roi_sums(np.zeros((5, 3)), np.zeros(5))
    with pytest.raises(ShapeError):
        combine_roi_sums(np.zeros((6, 3)), np.zeros(5))


def test_normalize_window_min_max_nan_and_constant():
    rng = np.random.default_rng(4)
    x = rng.uniform(50, 200, size=(40, 63, 6)).astype(np.float32)
    x[:, 7, 2] = 33.0                       # constant row/channel → 0
    x[5] = np.nan                           # invalid frame stays NaN
    x[:, 9, 1] = np.nan                     # all-NaN column stays NaN
    y = normalize_window(x)
    assert y.shape == x.shape and y.dtype == np.float32
    assert np.isnan(y[5]).all() and np.isnan(y[:, 9, 1]).all()
    ok = np.isfinite(y)
    assert y[ok].min() >= 0.0 and y[ok].max() <= 1.0
    np.testing.assert_array_equal(y[np.arange(40) != 5, 7, 2], 0.0)
    col = x[:, 0, 0]
    good = np.isfinite(col)
    np.testing.assert_allclose(y[good, 0, 0], (col[good] - col[good].min()) / np.ptp(col[good]), rtol=1e-5)
    assert np.nanmin(y[:, 0, 0]) == 0.0 and np.nanmax(y[:, 0, 0]) == pytest.approx(1.0)


def test_resample_sine_25_to_30_hz():
    fs_in, fs_out, f = 25.0, 30.0, 1.2
    t = np.arange(250) / fs_in
    x = np.sin(2 * np.pi * f * t)[:, None, None] * np.ones((1, 63, 6))
    y = resample(x, fs_in, fs_out)
    n_expected = int(np.floor(t[-1] * fs_out)) + 1
    assert y.shape == (n_expected, 63, 6) and y.dtype == np.float32
    t_out = np.arange(n_expected) / fs_out
    np.testing.assert_allclose(y[:, 10, 3], np.sin(2 * np.pi * f * t_out), atol=0.012)
    np.testing.assert_array_equal(resample(x, 30.0, 30.0), x.astype(np.float32))


def test_resample_times_irregular_is_exact_for_linear_signal():
    rng = np.random.default_rng(5)
    t = np.cumsum(rng.uniform(0.02, 0.05, size=100))
    x = (3.0 * t + 1.0)[:, None, None] * np.ones((1, 63, 6))
    y = resample_times(x, t, 30.0)
    t_out = t[0] + np.arange(len(y)) / 30.0
    assert t_out[-1] <= t[-1] + 1e-9 and t_out[-1] > t[-1] - 1 / 30.0
    np.testing.assert_allclose(y[:, 0, 0], 3.0 * t_out + 1.0, rtol=1e-5)
    with pytest.raises(ValueError):
        resample_times(x, t[::-1].copy(), 30.0)


def test_resample_valid_marks_outputs_touching_invalid_frames():
    t = np.arange(10) / 10.0
    v = np.ones(10, bool)
    v[4] = False
    out = resample_valid(v, t, 20.0)
    t_out = np.arange(len(out)) / 20.0
    bad = (t_out > 0.3 + 1e-9) & (t_out < 0.5 - 1e-9)
    assert bad.sum() == 3
    np.testing.assert_array_equal(out, ~bad)


def test_fill_invalid_interpolates_frames_and_holds_edges():
    T = 30
    ramp = np.arange(T, dtype=np.float32)[:, None, None] * np.ones((1, 63, 6), np.float32)
    valid = np.ones(T, bool)
    valid[[0, 1, 10, 11, 12, 29]] = False
    x = ramp.copy()
    x[~valid] = np.nan
    y = fill_invalid(x, valid)
    np.testing.assert_allclose(y[10:13], ramp[10:13])          # interior: linear
    np.testing.assert_allclose(y[0], ramp[2])                 # leading edge hold
    np.testing.assert_allclose(y[29], ramp[28])               # trailing edge hold
    np.testing.assert_array_equal(y[valid], ramp[valid])


def test_fill_invalid_handles_per_element_nan():
    T = 20
    x = np.tile(np.linspace(0, 1, T, dtype=np.float32)[:, None, None], (1, 63, 6))
    x[5, 31, :] = np.nan                  # one row missing in one frame
    y = fill_invalid(x)
    np.testing.assert_allclose(y[5, 31], np.linspace(0, 1, T)[5], rtol=1e-6)
    assert np.isfinite(y).all()
