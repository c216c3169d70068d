"""The synthetic MSTmap generator: contract, MSTmap structure, and that each modelled
effect (pulse colour signature, per-ROI amplitude and delay, respiration, motion,
flicker, sensor noise) is really present with the configured parameters."""
from __future__ import annotations

import numpy as np
import pytest

from edge_rppg.vitals.dsp.filters import bandpass
from edge_rppg.vitals.dsp.hr import hr_from_psd, psd
from edge_rppg.synth.mstmap_gen import BLOOD_SIGNATURE, SUBSET_BITS, SynthConfig, SynthSample, synth_mstmap

FS = 30.0
#: nothing but the pulse and a little noise (each test switches on what it checks)
QUIET = dict(motion_prob=0.0, motion_amp=(0.0, 0.0), flicker_prob=0.0, jerk_prob=0.0, periodic_motion_prob=0.0,
             specular_amp=(0.0, 0.0), illum_drift=(0.0, 0.0), roi_noise=(0.01, 0.01), pixel_noise=(1.0, 1.0),
             resp_baseline=(0.0, 0.0), hr_drift_bpm=0.0, hrv_lf_bpm=(0.0, 0.0), rsa_bpm=(0.0, 0.0),
             resp_am=(0.0, 0.0), roi_no_pulse_prob=0.0, face_pixels=(20000.0, 20000.0))


def single_row(j: int) -> int:
    """MSTmap row holding meta ROI j alone (bitmask 1 << j)."""
    return (1 << j) - 1


def test_contract_shapes_and_ranges() -> None:
    cfg = SynthConfig()
    s = synth_mstmap(cfg, seed=0)
    assert isinstance(s, SynthSample)
    assert s.mstmap.shape == (300, 63, 6) and s.mstmap.dtype == np.float32
    assert np.isfinite(s.mstmap).all() and s.mstmap.min() >= 0 and s.mstmap.max() <= 255
    assert s.bvp.shape == (300,) and s.bvp.dtype == np.float32
    assert abs(float(s.bvp.mean())) < 1e-4 and abs(float(s.bvp.std()) - 1) < 1e-3
    assert s.hr_per_frame.shape == (300,) and s.fps == 30.0
    assert abs(s.hr_bpm - float(np.mean(s.hr_per_frame))) < 1e-3
    assert np.all(np.diff(s.beat_times_s) > 0)
    assert s.beat_times_s.min() >= 0 and s.beat_times_s.max() <= 300 / 30.0
    assert cfg.rf_range_hz[0] <= s.rf_hz <= cfg.rf_range_hz[1]
    assert np.array_equal(s.hr_bpm_per_frame, s.hr_per_frame)


def test_hr_and_beats_follow_config() -> None:
    cfg = SynthConfig(T=600, hr_range_bpm=(60.0, 90.0))
    for seed in range(20):
        s = synth_mstmap(cfg, seed)
        margin = s.info["hrv_lf_bpm"] + s.info["rsa_bpm"]  # sinusoids need not average out in 20 s
        assert 60.0 - margin - 0.5 <= s.hr_bpm <= 90.0 + margin + 0.5
        ibi = np.diff(s.beat_times_s)
        assert abs(60.0 / ibi.mean() - s.hr_bpm) / s.hr_bpm < 0.03
        assert s.hr_per_frame.std() > 0  # HR varies within the clip
    flat = synth_mstmap(SynthConfig(**QUIET), 1)
    assert np.ptp(flat.hr_per_frame) < 1e-3
    assert np.allclose(np.diff(flat.beat_times_s), 60.0 / flat.hr_bpm, atol=1e-3)


def test_deterministic_in_seed() -> None:
    cfg = SynthConfig(T=200)
    a, b, c = synth_mstmap(cfg, 7), synth_mstmap(cfg, 7), synth_mstmap(cfg, 8)
    assert np.array_equal(a.mstmap, b.mstmap) and np.array_equal(a.bvp, b.bvp)
    assert np.array_equal(a.beat_times_s, b.beat_times_s) and a.rf_hz == b.rf_hz
    assert not np.array_equal(a.mstmap, c.mstmap)


def test_yuv_is_bt601_of_rgb() -> None:
    m = synth_mstmap(SynthConfig(), 3).mstmap.astype(np.float64)
    r, g, b = m[..., 0], m[..., 1], m[..., 2]
    assert np.allclose(m[..., 3], 0.299 * r + 0.587 * g + 0.114 * b, atol=1e-3)
    assert np.allclose(m[..., 4], 128 - 0.168736 * r - 0.331264 * g + 0.5 * b, atol=1e-3)
    assert np.allclose(m[..., 5], 128 + 0.5 * r - 0.418688 * g - 0.081312 * b, atol=1e-3)


def test_subset_rows_are_pixel_weighted_means() -> None:
    assert SUBSET_BITS.shape == (63, 6)
    for r in range(63):
        assert [int(v) for v in SUBSET_BITS[r]] == [((r + 1) >> j) & 1 for j in range(6)]
    m = synth_mstmap(SynthConfig(), 5).mstmap[..., :3].astype(np.float64)
    singles = np.stack([m[:, single_row(j)] for j in range(6)], axis=1)  # [T, 6, 3]
    assert np.all(m[:, 62] >= singles.min(axis=1) - 1e-3) and np.all(m[:, 62] <= singles.max(axis=1) + 1e-3)
    # union of ROI 0 and 1 (row 2): the same pixel-count weight for R, G and B
    x0, x1, u = m[:, single_row(0)], m[:, single_row(1)], m[:, 2]
    w = (u - x1) / (x0 - x1)
    ok = np.abs(x0 - x1) > 2.0
    per_frame = np.where(ok, w, np.nan)
    spread = np.nanmax(per_frame, axis=1) - np.nanmin(per_frame, axis=1)
    assert np.nanmedian(spread) < 0.01
    assert np.all((w[ok] > 0) & (w[ok] < 1))


def test_subset_matrix_matches_mstmap_module() -> None:
    mstmap = pytest.importorskip("edge_rppg.skin.mstmap")
    assert np.array_equal(np.asarray(mstmap.SUBSET_MATRIX, dtype=np.float64), SUBSET_BITS)


def test_pulse_colour_signature_green_strongest() -> None:
    s = synth_mstmap(SynthConfig(T=600, **{**QUIET, "hr_range_bpm": (55.0, 110.0)}), 11)
    x = s.mstmap[:, 62, :3].astype(np.float64)
    norm = bandpass(x / x.mean(axis=0) - 1, FS, axis=0)
    ref = bandpass(s.bvp.astype(np.float64), FS)
    beta = -(norm.T @ ref) / (ref @ ref)  # skin darkens with blood volume: negative slope
    assert beta[1] > beta[2] > beta[0] > 0
    sig = np.asarray(s.info["blood_signature"])  # BLOOD_SIGNATURE with a small per-subject spread
    assert np.allclose(sig / BLOOD_SIGNATURE, 1.0, atol=0.35)
    assert np.allclose(beta / beta[1], sig / sig[1], atol=0.06)
    assert abs(hr_from_psd(-norm[:, 1], FS).hr_bpm - s.hr_bpm) < 1.0


def test_per_roi_amplitude_and_delay() -> None:
    # exaggerated delays (up to 200 ms) and a slow heart (period > 0.85 s), so that the
    # lag search of ±0.3 s is unambiguous and the lags are well above the resolution
    cfg = SynthConfig(T=900, roi_delay_ms=200.0, roi_amp_sd=0.5, **{**QUIET, "hr_range_bpm": (50.0, 70.0)})
    s = synth_mstmap(cfg, 21)
    delays = np.array(s.info["delay_s"])
    amps = np.array(s.info["pulse_amp"])
    up = 10  # estimate lags at 3.3 ms resolution by upsampling
    t = np.arange(900) / FS
    tu = np.arange(900 * up) / (FS * up)
    sig = []
    for j in range(6):
        g = s.mstmap[:, single_row(j), 1].astype(np.float64)
        sig.append(np.interp(tu, t, -bandpass(g / g.mean() - 1, FS)))
    ptp = np.array([np.percentile(v, 95) - np.percentile(v, 5) for v in sig])
    assert np.corrcoef(ptp, amps)[0, 1] > 0.95  # measured amplitudes follow the ROI amplitudes
    ref = int(np.argmin(delays))
    for j in range(6):
        a, b = sig[ref][600:-600], sig[j]
        lags = np.arange(-90, 91)
        xc = [a @ b[600 + k:600 + k + a.size] for k in lags]
        lag_s = lags[int(np.argmax(xc))] / (FS * up)
        assert abs(lag_s - (delays[j] - delays[ref])) < 0.02


def test_respiration_baseline_wander_at_rf() -> None:
    cfg = SynthConfig(T=1800, **{**QUIET, "resp_baseline": (1.0, 1.0), "pulse_amp": (0.01, 0.01)})
    for seed in range(3):
        s = synth_mstmap(cfg, seed)
        g = -s.mstmap[:, 62, 1].astype(np.float64)
        f, p = psd(g - g.mean(), FS, res_bpm=0.1)
        m = (f >= 0.08) & (f <= 0.6)
        assert abs(f[m][np.argmax(p[m])] - s.rf_hz) < 0.02


def test_periodic_motion_dominates_green_but_is_nearly_colour_neutral() -> None:
    cfg = SynthConfig(T=600, **{**QUIET, "motion_prob": 1.0, "periodic_motion_prob": 1.0,
                                "motion_amp": (0.02, 0.03), "pulse_amp": (0.003, 0.005), "motion_chroma": 0.05})
    hits, cheek_corr = 0, []
    for seed in range(6):
        s = synth_mstmap(cfg, seed)
        fm = s.info["periodic_motion_hz"]
        assert fm is not None and 0.7 <= fm <= 3.0
        x = s.mstmap[:, 62, :3].astype(np.float64)
        n = bandpass(x / x.mean(axis=0) - 1, FS, axis=0)
        r = hr_from_psd(-n[:, 1], FS)
        hits += abs(r.peak_hz - s.hr_bpm / 60.0) > 0.1  # the pulse is swamped by motion
        f, p = psd(n[:, 1], FS)
        band = (f >= 0.67) & (f <= 3.0)
        assert p[np.abs(f - fm) < 0.05].max() > 10 * np.median(p[band])  # a clear line at the motion rate
        assert np.corrcoef(n[:, 0], n[:, 1])[0, 1] > 0.9 and np.corrcoef(n[:, 2], n[:, 1])[0, 1] > 0.9
        # yaw moves the two cheeks differently: their intensity changes are not the same signal
        lc, rc = (s.mstmap[:, single_row(j), 1].astype(np.float64) for j in (1, 3))
        cheek_corr.append(np.corrcoef(bandpass(lc, FS), bandpass(rc, FS))[0, 1])
    assert hits >= 5  # the green spectrum peaks at motion, not at the pulse
    assert np.median(np.abs(cheek_corr)) < 0.9 and min(cheek_corr) < 0


def test_flicker_is_in_band() -> None:
    cfg = SynthConfig(T=600, **{**QUIET, "flicker_prob": 1.0, "flicker_amp": (0.02, 0.02),
                                "pulse_amp": (0.002, 0.002)})
    s = synth_mstmap(cfg, 4)
    fl = s.info["flicker_hz"]
    assert fl is not None and 0.7 <= fl <= 3.0
    assert abs(hr_from_psd(s.mstmap[:, 62, 1], FS).peak_hz - fl) < 0.05


def test_sensor_noise_averages_over_pixels() -> None:
    def noise_sd(pixels: float) -> float:
        cfg = SynthConfig(T=600, **{**QUIET, "pulse_amp": (0.0, 0.0), "roi_noise": (0.0, 0.0),
                                    "pixel_noise": (4.0, 4.0), "face_pixels": (pixels, pixels)})
        m = synth_mstmap(cfg, 2).mstmap[:, single_row(0), 1].astype(np.float64)
        return float(np.std(np.diff(m)) / np.sqrt(2))
    ratio = noise_sd(1000.0) / noise_sd(16000.0)
    assert 3.0 < ratio < 5.0  # √16 = 4


def test_config_roundtrip_and_validation() -> None:
    cfg = SynthConfig(T=320, hr_range_bpm=(50.0, 70.0))
    assert SynthConfig.from_json(cfg.to_json()) == cfg
    assert SynthConfig.from_dict(cfg.to_dict()).hr_range_bpm == (50.0, 70.0)
    with pytest.raises(ValueError):
        SynthConfig(hr_range_bpm=(90.0, 60.0))
    with pytest.raises(ValueError):
        SynthConfig(T=1)
    with pytest.raises(ValueError):
        SynthConfig.from_dict({"bogus": 1})
    still = SynthConfig.still(T=100)
    assert still.motion_prob == 0.0 and still.T == 100


# ----------------------------------------------------------------------------- realism features

def _rel_band(s: SynthSample, row: int = 62) -> np.ndarray:
    """Band-passed relative change (x / mean − 1) of R, G, B of one MSTmap row."""
    x = s.mstmap[:, row, :3].astype(np.float64)
    return bandpass(x / x.mean(axis=0) - 1, FS, axis=0)


def test_pulseless_clips_have_no_pulse_and_a_zero_target() -> None:
    cfg = SynthConfig(T=600, **{**QUIET, "pulseless_prob": 1.0})
    s = synth_mstmap(cfg, 3)
    assert not s.has_pulse and s.info["pulseless"]
    assert np.all(s.bvp == 0) and s.beat_times_s.size == 0
    with_pulse = synth_mstmap(SynthConfig(T=600, **QUIET), 3)
    assert with_pulse.has_pulse
    assert np.all(np.asarray(s.info["pulse_amp"]) == 0)
    # the skin carries no pulse either: on a pulseless clip without a forced nuisance only noise is left
    for seed in range(100):
        q = synth_mstmap(cfg, seed)
        if not any(q.info[k] for k in ("talking", "lamp", "periodic_motion_hz", "flicker_hz", "compression")):
            break
    else:
        pytest.fail("every pulseless clip had a nuisance; expected ~15 % without")
    ref = synth_mstmap(SynthConfig(T=600, **QUIET), seed)
    assert _rel_band(q)[:, 1].std() < 0.3 * _rel_band(ref)[:, 1].std()
    # most pulseless clips carry a periodic nuisance instead
    n_nuisance = sum(any(synth_mstmap(cfg, k).info[n] for n in ("talking", "lamp", "periodic_motion_hz",
                                                                 "flicker_hz", "compression")) for k in range(20))
    assert n_nuisance >= 12


def test_sodium_lamp_changes_the_channels_in_its_own_colour() -> None:
    found = 0
    for seed in range(40):
        cfg = SynthConfig(T=600, **{**QUIET, "lamp_prob": 1.0, "lamp_amp": (0.2, 0.2), "pulse_amp": (0.0, 0.0)})
        s = synth_mstmap(cfg, seed)
        if s.info["lamp"]["kind"] != "sodium":
            continue
        amp = _rel_band(s).std(axis=0)
        assert amp[0] > amp[1] > 2 * amp[2]          # sodium: (1, 0.55, 0.08) over a neutral ambient
        assert 0.6 <= s.info["lamp"]["hz"] <= 3.0
        found += 1
    assert found >= 2


def test_melanin_lowers_dc_and_pulse() -> None:
    light = synth_mstmap(SynthConfig(T=600, **{**QUIET, "melanin": (0.0, 0.0)}), 5)
    dark = synth_mstmap(SynthConfig(T=600, **{**QUIET, "melanin": (1.0, 1.0)}), 5)
    assert dark.mstmap[:, 62, 1].mean() < 0.5 * light.mstmap[:, 62, 1].mean()
    assert _rel_band(dark)[:, 1].std() < 0.6 * _rel_band(light)[:, 1].std()


def test_talking_moves_the_chin_more_than_the_forehead() -> None:
    cfg = SynthConfig(T=600, **{**QUIET, "talking_prob": 1.0, "talking_amp": (0.03, 0.03), "pulse_amp": (0.0, 0.0)})
    s = synth_mstmap(cfg, 2)
    assert s.info["talking"]
    chin = _rel_band(s, single_row(5))[:, 1].std()
    forehead = _rel_band(s, single_row(0))[:, 1].std()
    assert chin > 3 * forehead


def test_codec_adds_key_frame_steps_and_dead_zone() -> None:
    cfg = SynthConfig(T=600, **{**QUIET, "compression_prob": 1.0, "compression_gop_amp": (0.3, 0.3)})
    s = synth_mstmap(cfg, 4)
    c = s.info["compression"]
    assert c is not None and 8 <= c["gop"] <= 60 and 0.5 <= c["atten"] <= 1.0
    x = s.mstmap[:, single_row(0), 1]
    assert np.mean(np.diff(x) == 0) > 0.2            # values stick inside the dead zone


def test_real_ppg_morphology_when_available() -> None:
    from edge_rppg.synth.physiology import real_morphologies, shared_ppg_dir

    if not shared_ppg_dir().is_dir():
        pytest.skip(f"no real PPG recordings at {shared_ppg_dir()} (../shared absent)")
    bank = real_morphologies()
    assert len(bank) >= 10
    for m in bank:
        assert m.wave.shape == (1024,) and m.wave.min() == 0 and m.wave.max() == 1
        assert m.wave[0] > 0.8                       # each beat starts at its systolic peak
    s = synth_mstmap(SynthConfig(T=600, **{**QUIET, "real_morphology_prob": 1.0, "hr_range_bpm": (60.0, 90.0)}), 7)
    assert s.info["morphology"].startswith("real:")
    assert abs(hr_from_psd(s.bvp, FS).hr_bpm - s.hr_bpm) < 2.0
