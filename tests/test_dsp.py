"""Signal processing: band-pass, PSD heart rate and its validity, windows, beats,
HRV, respiration — on synthetic signals with exact ground truth and on real
contact PPG from ../shared/data/ppg (skipped when absent)."""
from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Dict

import numpy as np
import pytest

from edge_rppg.vitals.dsp import SignalConfig
from edge_rppg.vitals.dsp.filters import bandpass, detrend
from edge_rppg.vitals.dsp.hr import HRReading, WindowHR, hr_from_psd, psd, video_hr, windowed_hr
from edge_rppg.vitals.dsp.hrv import hrv_from_beats
from edge_rppg.vitals.dsp.peaks import detect_beats, hr_from_beats, ibi_ms, plausible_ibi_mask
from edge_rppg.vitals.dsp.respiration import respiration_rate_hz
from edge_rppg.errors import ClipTooShortError, ShapeError
from edge_rppg.synth.mstmap_gen import SynthConfig, synth_mstmap

FS = 30.0


def pulse_train(hr_bpm: float, dur_s: float, fs: float = FS, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """Fundamental plus two harmonics at ``hr_bpm``, optional white noise."""
    t = np.arange(int(dur_s * fs)) / fs
    f = hr_bpm / 60.0
    x = np.sin(2 * np.pi * f * t) + 0.4 * np.sin(4 * np.pi * f * t + 0.7) + 0.15 * np.sin(6 * np.pi * f * t + 1.3)
    return x + noise * np.random.default_rng(seed).standard_normal(t.size)


def gain(fs: float, f: float, n: int = 1800) -> float:
    """Amplitude gain of the default band-pass at frequency f (middle of the signal)."""
    t = np.arange(n) / fs
    x = np.sin(2 * np.pi * f * t)
    y = bandpass(x, fs, (0.67, 3.0), 2)
    mid = slice(n // 4, 3 * n // 4)
    return float(y[mid].std() / x[mid].std())


# ---------------------------------------------------------------- filters
def test_bandpass_passes_band_and_attenuates_outside() -> None:
    assert 0.9 < gain(FS, 1.2) < 1.05
    assert 0.9 < gain(FS, 2.0) < 1.05
    assert gain(FS, 0.2) < 0.05   # respiration / drift: > 26 dB down
    assert gain(FS, 8.0) < 0.05   # sensor noise: > 26 dB down


def test_bandpass_short_inputs_and_errors() -> None:
    for n in (1, 2, 5, 20, 48):
        y = bandpass(np.random.default_rng(n).standard_normal(n), FS)
        assert y.shape == (n,) and np.isfinite(y).all()
    with pytest.raises(ShapeError):
        bandpass(np.array([1.0, np.nan, 2.0, 3.0]), FS)
    with pytest.raises(ValueError):
        bandpass(np.zeros(100), FS, (3.0, 1.0))
    with pytest.raises(ValueError):
        bandpass(np.zeros(100), 4.0, (2.5, 3.0))  # low edge above Nyquist


def test_bandpass_along_axis_matches_1d() -> None:
    x = np.random.default_rng(1).standard_normal((300, 3))
    y = bandpass(x, FS, axis=0)
    assert np.allclose(y[:, 1], bandpass(x[:, 1], FS))


def test_detrend_linear_and_smoothness_priors() -> None:
    t = np.arange(900) / FS
    pulse = np.sin(2 * np.pi * 1.5 * t)
    ramp = 5.0 + 0.3 * t
    y = detrend(pulse + ramp)
    assert abs(np.polyfit(t, y, 1)[0]) < 1e-3
    slow = 2.0 * np.sin(2 * np.pi * 0.05 * t)
    y = detrend(pulse + slow, lam=300)
    mid = slice(150, 750)
    assert np.corrcoef(y[mid], pulse[mid])[0, 1] > 0.99
    with pytest.raises(ShapeError):
        detrend(np.array([0.0, np.inf, 1.0]))


# ---------------------------------------------------------------- PSD heart rate
def test_psd_grid_is_fine_enough() -> None:
    f, p = psd(pulse_train(70, 10), FS, res_bpm=0.1)
    assert (f[1] - f[0]) * 60 <= 0.1
    assert f.shape == p.shape


@pytest.mark.parametrize("hr", [47.3, 75.6, 101.9, 123.4, 171.0])
def test_hr_from_psd_recovers_known_rate(hr: float) -> None:
    r = hr_from_psd(pulse_train(hr, 10.0), FS)
    assert isinstance(r, HRReading)
    assert abs(r.hr_bpm - hr) < 0.5
    assert abs(r.peak_hz * 60 - r.hr_bpm) < 1e-9
    assert r.valid and r.quality > 8.0
    assert r.quality_snr_db == r.quality


def test_hr_from_psd_paper_config() -> None:
    cfg = SignalConfig.paper()
    assert cfg.order == 1 and cfg.band_hz == (0.75, 2.5)
    r = hr_from_psd(pulse_train(88.0, 20.0, noise=0.5, seed=3), FS, cfg)
    assert r.valid and abs(r.hr_bpm - 88.0) < 0.5
    # outside the paper band (45-150 bpm) the peak cannot be found
    assert abs(hr_from_psd(pulse_train(165.0, 20.0), FS, cfg).hr_bpm - 165.0) > 5


def test_hr_from_psd_noisy_pulse_still_valid() -> None:
    errs, valid = [], []
    for seed in range(20):
        r = hr_from_psd(pulse_train(82.0, 10.0, noise=1.0, seed=seed), FS)
        errs.append(abs(r.hr_bpm - 82.0))
        valid.append(r.valid)
    assert np.mean(valid) >= 0.9
    assert np.median(errs) < 0.5


def two_tones(f1_bpm: float, a1: float, a2: float, dur_s: float = 10.0, noise: float = 0.0,
              seed: int = 0) -> np.ndarray:
    """A tone at ``f1_bpm`` (amplitude a1) and one at twice the rate (a2), optional noise."""
    t = np.arange(int(dur_s * FS)) / FS
    f = f1_bpm / 60.0
    x = a1 * np.sin(2 * np.pi * f * t) + a2 * np.sin(4 * np.pi * f * t + 0.9)
    return x + noise * np.random.default_rng(seed).standard_normal(t.size)


@pytest.mark.parametrize("hr", [56.0, 63.0, 72.0])
def test_harmonic_guard_reads_the_fundamental_when_the_harmonic_is_taller(hr: float) -> None:
    """A pulse whose second harmonic outgrows its fundamental (a weak, compressed pulse
    with a sharp upstroke): the plain argmax reads twice the rate, the guard the rate."""
    x = two_tones(hr, 1.0, 1.25, noise=0.2, seed=int(hr))
    plain = hr_from_psd(x, FS, SignalConfig(harmonic_ratio=0.0))
    guarded = hr_from_psd(x, FS)
    assert abs(plain.hr_bpm - 2 * hr) < 1.0
    assert abs(guarded.hr_bpm - hr) < 0.5 and guarded.valid
    # the SNR counts fundamental and harmonic, so the guarded reading is the better-supported one
    assert guarded.quality > plain.quality


@pytest.mark.parametrize("hr", [110.0, 120.0, 135.0])
def test_harmonic_guard_keeps_a_peak_whose_half_rate_is_weak(hr: float) -> None:
    """Something at half the pulse rate (a nod, a lamp) with less than ``harmonic_ratio``
    of the pulse's power does not move the reading; with more it does (the trade-off the
    setting names). The rates keep both tones where the band-pass is flat: the guard
    compares the filtered spectrum, so near the band edges it acts less."""
    ratio = SignalConfig().harmonic_ratio
    below = two_tones(hr / 2, math.sqrt(0.6 * ratio), 1.0)
    above = two_tones(hr / 2, math.sqrt(1.6 * ratio), 1.0)
    assert abs(hr_from_psd(below, FS).hr_bpm - hr) < 0.5
    assert abs(hr_from_psd(above, FS).hr_bpm - hr / 2) < 0.5
    assert abs(hr_from_psd(above, FS, SignalConfig(harmonic_ratio=0.0)).hr_bpm - hr) < 0.5


def test_harmonic_guard_never_acts_below_twice_the_band_edge() -> None:
    """Below 2 × 40 bpm the half rate is outside the band: the guard cannot act, so a
    dominant harmonic there reads as the plain argmax does."""
    x = two_tones(36.0, 1.0, 1.5)  # fundamental below the band, harmonic at 72 bpm
    r = hr_from_psd(x, FS)
    assert abs(r.hr_bpm - 72.0) < 0.5
    assert r.hr_bpm == hr_from_psd(x, FS, SignalConfig(harmonic_ratio=0.0)).hr_bpm


def test_noise_only_is_not_valid() -> None:
    rng = np.random.default_rng(123)
    readings = [hr_from_psd(rng.standard_normal(300), FS) for _ in range(100)]
    assert np.mean([r.valid for r in readings]) <= 0.05
    assert np.median([r.quality for r in readings]) < -2.0


def test_degenerate_inputs_give_invalid_readings() -> None:
    for x in (np.zeros(300), np.ones(300), np.full(300, np.nan), np.arange(5.0)):
        r = hr_from_psd(x, FS)
        assert not r.valid and math.isnan(r.hr_bpm)
    x = pulse_train(70, 10)
    x[10] = np.inf
    assert not hr_from_psd(x, FS).valid


def test_signal_config_validation_and_roundtrip() -> None:
    with pytest.raises(ValueError):
        SignalConfig(band_hz=(3.0, 0.5))
    with pytest.raises(ValueError):
        SignalConfig(order=0)
    with pytest.raises(ValueError, match="harmonic_ratio"):
        SignalConfig(harmonic_ratio=-0.1)
    cfg = SignalConfig(window_s=8.0)
    assert SignalConfig.from_json(cfg.to_json()) == cfg


# ---------------------------------------------------------------- windows
def test_windowed_hr_masks_nan_region() -> None:
    x = pulse_train(72.0, 60.0, noise=0.2)
    x[int(20 * FS):int(35 * FS)] = np.nan
    wins = windowed_hr(x, FS)
    assert all(isinstance(w, WindowHR) for w in wins)
    assert wins[0].t_start == 0.0 and abs(wins[-1].t_end - 60.0) < 1e-9
    for w in wins:
        overlap = max(0.0, min(w.t_end, 35.0) - max(w.t_start, 20.0)) / (w.t_end - w.t_start)
        if overlap > 0.1:
            assert not w.valid and math.isnan(w.hr_bpm)
        if overlap == 0.0:
            assert w.valid and abs(w.hr_bpm - 72.0) < 1.0
    hr, ok = video_hr(wins)
    assert ok and abs(hr - 72.0) < 0.5


def test_windowed_hr_valid_mask_and_short_gaps() -> None:
    x = pulse_train(95.0, 30.0)
    mask = np.ones(x.size, bool)
    mask[300:600] = False        # 10 s without a face
    mask[750:753] = False        # 3 dropped frames: interpolated, still valid
    wins = windowed_hr(x, FS, valid_mask=mask)
    by_start = {round(w.t_start): w for w in wins}
    assert not by_start[10].valid and math.isnan(by_start[10].hr_bpm)
    assert by_start[20].valid and abs(by_start[20].hr_bpm - 95.0) < 0.5  # holds the 3-frame gap
    # an explicit, stricter threshold invalidates the gap window too
    strict = windowed_hr(x, FS, valid_mask=mask, min_coverage=1.0)
    assert not {round(w.t_start): w for w in strict}[20].valid
    with pytest.raises(ShapeError):
        windowed_hr(x, FS, valid_mask=mask[:-1])


def test_windowed_hr_short_and_too_short() -> None:
    wins = windowed_hr(pulse_train(66.0, 6.0), FS)
    assert len(wins) == 1 and wins[0].valid and abs(wins[0].hr_bpm - 66.0) < 1.0
    with pytest.raises(ClipTooShortError):
        windowed_hr(pulse_train(66.0, 3.0), FS)


def test_video_hr_none_when_nothing_valid() -> None:
    assert video_hr([]) == (None, False)
    assert video_hr([WindowHR(0, 10, 70.0, -5.0, False)]) == (None, False)
    hr, ok = video_hr([WindowHR(0, 10, 70.0, 5.0, True), WindowHR(1, 11, 74.0, 5.0, True),
                       WindowHR(2, 12, 150.0, -5.0, False)])
    assert ok and hr == 72.0


# ---------------------------------------------------------------- beats
def test_detect_beats_matches_generator_beat_times() -> None:
    s = synth_mstmap(SynthConfig(T=1800, hr_range_bpm=(55.0, 110.0)), seed=4)
    beats = detect_beats(s.bvp, s.fps)
    truth = s.beat_times_s[(s.beat_times_s > 0.5) & (s.beat_times_s < s.mstmap.shape[0] / s.fps - 0.5)]
    diff = beats[:, None] - truth[None, :]
    d = diff[np.abs(diff).argmin(axis=0), np.arange(truth.size)]
    assert np.all(np.abs(d) < 0.03)  # every true beat found within 30 ms (sub-frame refinement)
    assert d.std() < 0.005           # the residual error is a constant delay, not jitter
    assert abs(len(beats) - len(s.beat_times_s)) <= 2
    assert abs(hr_from_beats(beats) - s.hr_bpm) < 1.5


def test_ibi_and_artefact_rejection() -> None:
    beats = np.cumsum(np.r_[0.0, np.full(10, 0.8), 1.6, np.full(10, 0.8), 0.3, 0.5, np.full(5, 0.8)])
    ibi = ibi_ms(beats)
    assert ibi.shape == (beats.size - 1,) and abs(ibi[0] - 800) < 1e-9
    keep = plausible_ibi_mask(ibi)
    assert not keep[10]                # missed beat (1600 ms)
    assert not keep[21]                # 300 ms: false beat
    assert keep[:10].all() and keep[-5:].all()
    assert abs(hr_from_beats(beats) - 75.0) < 0.5
    assert ibi_ms(np.array([1.0])).size == 0


def test_detect_beats_degenerate() -> None:
    assert detect_beats(np.zeros(300), FS).size == 0
    assert detect_beats(np.arange(3.0), FS).size == 0


# ---------------------------------------------------------------- HRV
def modulated_beats(f0: float, a_lf: float, a_hf: float, dur_s: float = 120.0) -> np.ndarray:
    """Beat times of a heart whose rate is modulated at 0.1 Hz (LF) and 0.25 Hz (HF)."""
    fs = 1000.0
    t = np.arange(int(dur_s * fs)) / fs
    f = f0 * (1 + a_lf * np.sin(2 * np.pi * 0.1 * t) + a_hf * np.sin(2 * np.pi * 0.25 * t + 1.0))
    th = np.cumsum(f) / fs
    return np.interp(np.arange(1, int(th[-1])), th, t)


@pytest.mark.parametrize("f0,a_lf,a_hf", [(1.0, 0.04, 0.03), (1.2, 0.02, 0.05), (1.1, 0.05, 0.01)])
def test_hrv_lf_hf_of_known_modulation(f0: float, a_lf: float, a_hf: float) -> None:
    h = hrv_from_beats(modulated_beats(f0, a_lf, a_hf))
    expected_lf_nu = a_lf ** 2 / (a_lf ** 2 + a_hf ** 2)  # IBI modulation ∝ HR modulation (1st order)
    assert h.valid
    assert abs(h.lf_nu - expected_lf_nu) < 0.06
    assert abs(h.lf_nu + h.hf_nu - 1.0) < 1e-9
    assert abs(h.lf_hf - h.lf_nu / h.hf_nu) < 1e-6
    expected_sdnn = 1000.0 / f0 * math.sqrt((a_lf ** 2 + a_hf ** 2) / 2)
    assert abs(h.sdnn_ms - expected_sdnn) / expected_sdnn < 0.15


def test_hrv_from_detected_beats_of_30fps_pulse() -> None:
    b = modulated_beats(1.0, 0.04, 0.03)
    fs = 30.0
    t = np.arange(int(120 * fs)) / fs
    phase = np.interp(t, np.r_[0.0, b], np.arange(b.size + 1.0))  # beat k at phase k
    ph = phase % 1.0
    x = np.exp(-0.5 * (ph / 0.06) ** 2) + np.exp(-0.5 * ((ph - 1) / 0.06) ** 2) \
        + 0.3 * np.exp(-0.5 * ((ph - 0.3) / 0.07) ** 2)
    x += 0.05 * np.random.default_rng(0).standard_normal(x.size)
    truth, est = hrv_from_beats(b), hrv_from_beats(detect_beats(x, fs))
    assert est.valid
    assert abs(est.lf_nu - truth.lf_nu) < 0.05
    assert abs(est.sdnn_ms - truth.sdnn_ms) < 5.0
    assert abs(est.rmssd_ms - truth.rmssd_ms) < 8.0


def test_hrv_invalid_with_too_few_beats() -> None:
    for beats in (np.array([]), np.array([1.0]), np.arange(15) * 0.9, np.arange(25) * 0.8):
        h = hrv_from_beats(beats)
        assert not h.valid and math.isnan(h.lf_nu) and math.isnan(h.rmssd_ms)


# ---------------------------------------------------------------- respiration
def test_respiration_from_generator() -> None:
    cfg = SynthConfig.still(T=1800, resp_am=(0.15, 0.3), rsa_bpm=(2.0, 4.0), hr_range_bpm=(50.0, 110.0))
    errs = []
    for seed in range(5):
        s = synth_mstmap(cfg, seed)
        rf, q = respiration_rate_hz(s.bvp, s.fps)
        errs.append(abs(rf - s.rf_hz))
        assert np.isfinite(q)
    assert max(errs) < 0.02


def test_respiration_too_short_is_nan() -> None:
    rf, q = respiration_rate_hz(pulse_train(70.0, 6.0), FS)
    assert math.isnan(rf) and math.isnan(q)


# ---------------------------------------------------------------- real contact PPG
def read_csv(path: Path) -> Dict[str, np.ndarray]:
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {k: np.array([float(r[k]) if r[k] != "" else np.nan for r in rows]) for k in rows[0]}


REAL = {"vitallens_sample_vitals_1.csv": (30.1, 75.6), "vitallens_sample_vitals_2.csv": (30.0, 60.4)}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_ppg_hr_by_psd_and_beat_count(shared_ppg_dir: Path, name: str) -> None:
    fs, hr_ref = REAL[name]
    ppg = read_csv(shared_ppg_dir / name)["ppg"]
    for cfg in (SignalConfig(), SignalConfig.paper()):
        r = hr_from_psd(ppg, fs, cfg)
        assert r.valid and abs(r.hr_bpm - hr_ref) < 1.5
    beats = detect_beats(ppg, fs)
    assert abs(hr_from_beats(beats) - hr_ref) < 1.5
    dur = ppg.size / fs
    assert abs(len(beats) - hr_ref / 60 * dur) <= 2


@pytest.mark.parametrize("name", sorted(REAL))
@pytest.mark.parametrize("speed", [1.0, 1.35, 1.7])
def test_real_ppg_windows_keep_their_rate_under_the_harmonic_guard(shared_ppg_dir: Path, name: str,
                                                                    speed: float) -> None:
    """Real contact-PPG beats, played ``speed`` times faster so that half their rate lies
    in the band (81-128 bpm): every 10 s window reads what the plain argmax reads, near
    the sped-up reference rate, i.e. the guard never halves a real pulse because of its
    morphology."""
    fs, hr_ref = REAL[name]
    ppg = read_csv(shared_ppg_dir / name)["ppg"]
    ppg = ppg[np.isfinite(ppg)]
    guarded = [w.hr_bpm for w in windowed_hr(ppg, fs * speed, SignalConfig())]
    plain = [w.hr_bpm for w in windowed_hr(ppg, fs * speed, SignalConfig(harmonic_ratio=0.0))]
    assert len(guarded) >= 1 and guarded == plain
    assert np.all(np.abs(np.array(guarded) - hr_ref * speed) < 5.0 * speed)  # per-window HRV, not halving


def test_real_ppg_respiration(shared_ppg_dir: Path) -> None:
    d = read_csv(shared_ppg_dir / "vitallens_sample_vitals_1.csv")
    rr_hz = float(np.nanmean(d["rr"])) / 60.0  # ~8.3 breaths/min ≈ 0.139 Hz
    rf, _q = respiration_rate_hz(d["ppg"], 30.1)
    # only 11.8 s (1.6 breaths): spectral resolution ~0.085 Hz, so the tolerance is loose
    assert abs(rf - rr_hz) < 0.04
