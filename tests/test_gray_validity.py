"""Validity on gray (near-infrared) streams: the HR must show on separate patches of skin.

A gray stream has no colour, so the blood-colour check (:mod:`edge_rppg.vitals.colour`)
cannot run. The region check (:mod:`edge_rppg.vitals.regions`,
:func:`edge_rppg.vitals.validity.region_match`) asks instead that the window's HR is the
strongest in-band peak of at least ``region_min_count`` of the six meta-ROIs: blood reaches all
of the face at one rate; a glint, a moving shadow edge or a noise peak mostly reaches one patch.

| input | required behaviour | test |
|---|---|---|
| a pulse on every ROI (different strengths), read at its rate | valid | ``test_region_check_*`` |
| a periodic change on one ROI only, read at its rate | ``pulse_regions`` | ``test_region_check_*`` |
| the same through the clip and the stream readings | the same verdicts | ``test_clip_and_stream_*`` |
| a colour MSTmap | not checked (no gray ROI intensities) | ``test_roi_intensity_*`` |
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

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


def test_region_check_shared_pulse_passes_local_peak_fails() -> None:
    """A pulse on every ROI passes at its own rate; a stronger periodic change on one ROI,
    read at its rate, fails; the check off, no regions, too few readable ROIs decide nothing."""
    from edge_rppg.vitals.regions import replicating_regions
    from edge_rppg.vitals.validity import ValidityConfig, region_match

    fp, fl = 1.25, 1.85
    regions, _, _ = _regions(fp, fl, local_amp=0.02)
    cfg, v = SignalConfig(), ValidityConfig()
    win = regions[:300]
    sup = replicating_regions(win, FS, fp, v.region_tol_bpm, cfg.band_hz)
    assert sup.readable == 6 and sup.near >= v.region_min_count and sup.share >= v.region_min_share, sup
    assert region_match(win, fp, FS, cfg, v) is None
    assert region_match(win, fl, FS, cfg, v) == "pulse_regions"
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


def test_roi_intensity_only_for_gray_maps() -> None:
    """A gray ``[T, 63, 1]`` MSTmap gives the six one-ROI rows (each the mean of its ROI alone);
    a colour map gives None, so colour streams keep the colour check and skip this one."""
    from edge_rppg.skin.mstmap import N_META_ROIS, SINGLE_ROI_ROWS, SUBSET_MATRIX, roi_intensity

    rng = np.random.default_rng(1)
    gray = rng.uniform(100, 900, (20, 63, 1)).astype(np.float32)
    out = roi_intensity(gray)
    assert out is not None and out.shape == (20, N_META_ROIS)
    for j, r in enumerate(SINGLE_ROI_ROWS):
        assert SUBSET_MATRIX[r].sum() == 1 and SUBSET_MATRIX[r, j] == 1
        np.testing.assert_array_equal(out[:, j], gray[:, r, 0])
    assert roi_intensity(rng.uniform(0, 255, (20, 63, 6))) is None
