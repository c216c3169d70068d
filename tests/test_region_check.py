"""The region check: a window's HR must show on separate patches of skin (gray and colour).

Every beat reaches all of the face at one rate; a glint, a moving shadow edge, the sway of a
still head against the ROI edges or a noise peak mostly reaches one patch. The region check
(:mod:`edge_rppg.vitals.regions`, :func:`edge_rppg.vitals.validity.region_match`) asks that the
window's HR is the strongest in-band peak of at least ``region_min_count`` of the six meta-ROIs,
each read on its own: a gray (near-infrared) stream's intensity, which has no colour for the
blood-colour check (:mod:`edge_rppg.vitals.colour`) to read; a colour stream's own POS pulse of
each ROI, which catches what the colour check cannot (a blood-coloured change on one patch:
issue 25's sway of a still head).

| input | required behaviour | test |
|---|---|---|
| a pulse on every ROI (different strengths), read at its rate, gray or colour | valid | ``test_region_check_*`` |
| a periodic change on one ROI only, read at its rate (in colour: blood-coloured, so the colour check passes it) | ``pulse_regions`` | ``test_region_check_*`` |
| the same through the clip and the stream readings | the same verdicts | ``test_clip_and_stream_*`` |
| a gray and a colour map | its ROIs' intensities / R, G, B; each kind its own share floor | ``test_roi_means_*``, ``test_colour_regions_use_their_own_floor`` |
"""
from __future__ import annotations

from typing import Tuple

import numpy as np
import pytest

from edge_rppg.vitals.dsp.config import SignalConfig

FS, N = 30.0, 360   # 12 s at the model rate: three 10 s windows, 1 s hop


def _regions(f_pulse: float, f_local: float, local_amp: float, seed: int = 0, pulse_amp: float = 0.003,
             noise: float = 0.0015) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Six ROI intensities ``[N, 6]`` (raw, different DC levels) that darken with a pulse at
    ``f_pulse`` (a different strength on each ROI, as perfusion and lighting differ) plus, on
    ROI 0 alone, a periodic change at ``f_local`` (a glint or a shadow edge); the pulse and
    the local change as series of their own."""
    rng = np.random.default_rng(seed)
    t = np.arange(N) / FS
    pulse = np.sin(2 * np.pi * f_pulse * t)
    local = np.sin(2 * np.pi * f_local * t)
    strength = np.array([0.4, 1.0, 0.7, 0.9, 0.6, 0.5])
    rel = -pulse_amp * np.outer(pulse, strength) + noise * rng.standard_normal((N, 6))
    rel[:, 0] += local_amp * local
    dc = np.array([420.0, 510.0, 480.0, 530.0, 470.0, 390.0])
    return dc * (1.0 + rel), pulse, local


def _rgb_regions(f_pulse: float, f_local: float, local_amp: float, seed: int = 0, pulse_amp: float = 0.003,
                 noise: float = 0.0015) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Six ROIs' raw R, G, B means ``[N, 6, 3]`` (skin-like, a different level on each) that
    darken as blood does (:data:`~edge_rppg.vitals.colour.PBV_SIGNATURE`) with a pulse at
    ``f_pulse`` (a different strength on each ROI) plus, on ROI 0 alone, the same blood-coloured
    darkening at ``f_local``; the pulse and the local change as series of their own."""
    from edge_rppg.vitals.colour import PBV_SIGNATURE

    rng = np.random.default_rng(seed)
    t = np.arange(N) / FS
    pulse = np.sin(2 * np.pi * f_pulse * t)
    local = np.sin(2 * np.pi * f_local * t)
    blood = PBV_SIGNATURE / np.linalg.norm(PBV_SIGNATURE)
    strength = np.array([0.4, 1.0, 0.7, 0.9, 0.6, 0.5])
    rel = -pulse_amp * pulse[:, None, None] * strength[None, :, None] * blood[None, None, :]
    rel = rel + noise * rng.standard_normal((N, 6, 3))
    rel[:, 0, :] -= local_amp * local[:, None] * blood[None, :]
    level = np.array([0.9, 1.05, 1.0, 1.1, 0.95, 0.85])[:, None] * np.array([170.0, 120.0, 100.0])[None, :]
    return level[None] * (1.0 + rel), pulse, local


@pytest.mark.parametrize("kind", ["gray", "colour"])
def test_region_check_shared_pulse_passes_local_peak_fails(kind: str) -> None:
    """A pulse on every ROI passes at its own rate; a stronger periodic change on one ROI,
    read at its rate, fails (in colour a blood-coloured one, which the colour check passes);
    the check off, no regions, too few readable ROIs decide nothing."""
    from edge_rppg.vitals.regions import region_peaks_bpm, replicating_regions
    from edge_rppg.vitals.validity import ValidityConfig, colour_match, region_match

    fp, fl = 1.25, 1.85
    regions, _, local = (_regions if kind == "gray" else _rgb_regions)(fp, fl, local_amp=0.02)
    cfg, v = SignalConfig(), ValidityConfig()
    floor = v.region_min_share if kind == "gray" else v.region_min_share_colour
    win = regions[:300]
    sup = replicating_regions(win, FS, fp, v.region_tol_bpm, cfg.band_hz)
    assert sup.readable == 6 and sup.near >= v.region_min_count and sup.share >= floor, sup
    assert region_match(win, fp, FS, cfg, v) is None
    assert region_match(win, fl, FS, cfg, v) == "pulse_regions"
    if kind == "colour":
        assert colour_match(win.mean(axis=1), local[:300], fl, FS, cfg, v) is None   # blood-coloured
    peaks = region_peaks_bpm(win, FS)
    assert abs(peaks[0] - 60 * fl) < 1.0 and (np.abs(peaks[1:] - 60 * fp) <= v.region_tol_bpm).sum() >= 4, peaks
    assert region_match(win, fl, FS, cfg, ValidityConfig(region_gate=False)) is None
    assert region_match(None, fl, FS, cfg, v) is None
    dark = win.copy()
    dark[:, 1:] = np.nan                                   # only one ROI can be read
    assert region_match(dark, fl, FS, cfg, v) is None
    assert replicating_regions(win, FS, float("nan"), v.region_tol_bpm).readable == 0


def test_region_check_needs_the_power_of_most_patches() -> None:
    """Two patches sharing a noisy artefact (head motion moving the forehead and one cheek
    alike) both peak at its rate, but the other four, which carry the pulse, hold little power
    there: rejected by the share rule; the pulse of those four passes."""
    from edge_rppg.vitals.regions import replicating_regions
    from edge_rppg.vitals.validity import ValidityConfig, region_match

    fp, fa = 1.3, 0.82
    rng = np.random.default_rng(5)
    t = np.arange(300) / FS
    rel = 0.0015 * rng.standard_normal((300, 6))
    rel[:, :2] += 0.002 * np.sin(2 * np.pi * fa * t)[:, None] + 0.003 * rng.standard_normal((300, 2))
    rel[:, 2:] -= 0.003 * np.sin(2 * np.pi * fp * t)[:, None]
    regions = 500.0 * (1.0 + rel)
    cfg, v = SignalConfig(), ValidityConfig()
    sup = replicating_regions(regions, FS, fa, v.region_tol_bpm, cfg.band_hz)
    assert sup.near >= v.region_min_count and sup.share < v.region_min_share, sup
    assert region_match(regions, fa, FS, cfg, v) == "pulse_regions"
    assert region_match(regions, fa, FS, cfg, ValidityConfig(region_min_share=0.0)) is None
    assert region_match(regions, fp, FS, cfg, v) is None


def test_region_check_follows_the_min_count() -> None:
    """Asking for more ROIs than carry the pulse above their noise rejects; asking for fewer accepts."""
    from edge_rppg.vitals.regions import replicating_regions
    from edge_rppg.vitals.validity import ValidityConfig, region_match

    fp = 1.4
    regions, _, _ = _regions(fp, 2.3, local_amp=0.0)
    cfg = SignalConfig()
    near = replicating_regions(regions[:300], FS, fp, ValidityConfig().region_tol_bpm, cfg.band_hz).near
    assert near >= 2
    assert region_match(regions[:300], fp, FS, cfg, ValidityConfig(region_min_count=near)) is None
    if near < 6:
        assert region_match(regions[:300], fp, FS, cfg, ValidityConfig(region_min_count=near + 1)) == "pulse_regions"


def test_clip_and_stream_reject_a_one_patch_rate() -> None:
    """An engine output that follows the one-ROI change (what the SNR-weighted rows do when a
    glint is the strongest row) is invalid for ``pulse_regions`` in every clip window and in
    the stream reading; following the shared pulse it is not rejected by the region check."""
    from edge_rppg.vitals.readings import clip_vitals, stream_vitals
    from edge_rppg.vitals.validity import ValidityConfig

    regions, pulse, local = _regions(1.25, 1.85, local_amp=0.02, seed=3)
    cfg = SignalConfig()
    v = ValidityConfig(artefact_gate=False, min_run_s=0.0)
    valid = np.ones(N, dtype=bool)
    _, bad = clip_vitals(local, FS, valid, cfg, regions=regions, validity=v)
    assert bad and all(not w.valid and w.invalid_reason == "pulse_regions" for w in bad), bad
    _, good = clip_vitals(pulse, FS, valid, cfg, regions=regions, validity=v)
    assert all(w.valid for w in good), good
    _, unchecked = clip_vitals(local, FS, valid, cfg, regions=None, validity=v)
    assert all(w.valid for w in unchecked), unchecked
    s_bad = stream_vitals(local, valid, FS, cfg, regions=regions, validity=v)
    s_good = stream_vitals(pulse, valid, FS, cfg, regions=regions, validity=v)
    assert not s_bad.valid and s_bad.invalid_reason == "pulse_regions"
    assert s_good.valid, s_good.invalid_reason


def test_roi_means_of_gray_and_colour_maps() -> None:
    """A gray ``[T, 63, 1]`` MSTmap gives the six one-ROI rows' intensities ``[T, 6]`` (each the
    mean of its ROI alone); a colour ``[T, 63, 6]`` one their R, G, B ``[T, 6, 3]``; any other
    layout None (not checked)."""
    from edge_rppg.skin.mstmap import N_META_ROIS, SINGLE_ROI_ROWS, SUBSET_MATRIX, roi_means

    rng = np.random.default_rng(1)
    gray = rng.uniform(100, 900, (20, 63, 1)).astype(np.float32)
    out = roi_means(gray)
    assert out is not None and out.shape == (20, N_META_ROIS)
    for j, r in enumerate(SINGLE_ROI_ROWS):
        assert SUBSET_MATRIX[r].sum() == 1 and SUBSET_MATRIX[r, j] == 1
        np.testing.assert_array_equal(out[:, j], gray[:, r, 0])
    colour = rng.uniform(0, 255, (20, 63, 6)).astype(np.float32)
    rgb = roi_means(colour)
    assert rgb is not None and rgb.shape == (20, N_META_ROIS, 3)
    np.testing.assert_array_equal(rgb, colour[:, list(SINGLE_ROI_ROWS), 0:3])
    assert roi_means(rng.uniform(0, 255, (20, 63, 2))) is None and roi_means(np.zeros((20, 6))) is None


def test_colour_regions_use_their_own_floor() -> None:
    """A colour map is held to ``region_min_share_colour`` and a gray one to ``region_min_share``:
    raising one floor above the window's share rejects only that kind of stream."""
    from edge_rppg.vitals.regions import replicating_regions
    from edge_rppg.vitals.validity import ValidityConfig, region_match

    fp = 1.4
    regions, _, _ = _rgb_regions(fp, 2.3, local_amp=0.0, seed=2)
    gray = regions[:300, :, 1]                  # the green channel as a one-channel stream
    cfg = SignalConfig()
    share = replicating_regions(regions[:300], FS, fp, 3.0, cfg.band_hz).share
    assert 0.0 < share < 1.0
    above = min(1.0, share + 0.01)
    assert region_match(regions[:300], fp, FS, cfg, ValidityConfig(region_min_share_colour=above)) == "pulse_regions"
    assert region_match(regions[:300], fp, FS, cfg, ValidityConfig(region_min_share=1.0)) is None
    assert region_match(gray, fp, FS, cfg, ValidityConfig(region_min_share_colour=1.0, region_min_share=0.0)) is None


def test_colour_clip_and_stream_reject_a_one_patch_rate() -> None:
    """An engine output that follows the one-ROI change is invalid for ``pulse_regions`` in every
    clip window and in the stream reading, with the colour check on; following the shared pulse
    it is valid."""
    from edge_rppg.vitals.readings import clip_vitals, stream_vitals
    from edge_rppg.vitals.validity import ValidityConfig

    regions, pulse, local = _rgb_regions(1.25, 1.85, local_amp=0.02, seed=3)
    cfg = SignalConfig()
    v = ValidityConfig(artefact_gate=False, min_run_s=0.0)
    valid = np.ones(N, dtype=bool)
    colour = regions.mean(axis=1)   # the whole face: equal-area ROIs
    _, bad = clip_vitals(local, FS, valid, cfg, colour=colour, regions=regions, validity=v)
    assert bad and all(not w.valid and w.invalid_reason == "pulse_regions" for w in bad), bad
    _, good = clip_vitals(pulse, FS, valid, cfg, colour=colour, regions=regions, validity=v)
    assert all(w.valid for w in good), good
    s_bad = stream_vitals(local, valid, FS, cfg, colour=colour, regions=regions, validity=v)
    s_good = stream_vitals(pulse, valid, FS, cfg, colour=colour, regions=regions, validity=v)
    assert not s_bad.valid and s_bad.invalid_reason == "pulse_regions"
    assert s_good.valid, s_good.invalid_reason
