"""Classic methods and the ClassicEngine on synthetic MSTmaps with known HR."""
from __future__ import annotations

import numpy as np
import pytest

from edge_rppg.vitals.dsp.filters import bandpass
from edge_rppg.vitals.dsp.hr import hr_from_psd
from edge_rppg.pulse.engines.base import Engine
from edge_rppg.pulse.engines.classic import ClassicEngine
from edge_rppg.errors import ShapeError
from edge_rppg.pulse.methods import METHODS
from edge_rppg.synth.mstmap_gen import SynthConfig, synth_mstmap

ALL = ["green", "ica", "chrom", "pos", "lgi", "pbv", "omit"]
#: 20 s clips with small head motion, mild specular and illumination change, moderate
#: sensor noise, modest HR variability: every method should get these right.
MODERATE = SynthConfig(T=600, hr_range_bpm=(50.0, 120.0), hr_drift_bpm=1.0, hrv_lf_bpm=(0.0, 1.0),
                       rsa_bpm=(0.0, 1.0), pulse_amp=(0.004, 0.01), roi_no_pulse_prob=0.0, motion_prob=1.0,
                       motion_amp=(0.001, 0.003), periodic_motion_prob=0.0, jerk_prob=0.0,
                       specular_amp=(0.0, 0.005), flicker_prob=0.0, illum_drift=(0.0, 0.02), roi_noise=(0.02, 0.1))
SEEDS = range(6)


@pytest.fixture(scope="module")
def samples():
    return [synth_mstmap(MODERATE, s) for s in SEEDS]


def test_registry_has_all_methods() -> None:
    assert METHODS.names() == sorted(ALL)
    with pytest.raises(KeyError, match="known"):
        METHODS.get("nope")


@pytest.mark.parametrize("name", ALL)
def test_method_recovers_hr_and_polarity(name: str, samples) -> None:
    fn = METHODS.get(name)
    for s in samples:
        rgb = s.mstmap[:, 62, :3]
        bvp = fn(rgb, s.fps)
        assert bvp.shape == (rgb.shape[0],) and np.isfinite(bvp).all()
        r = hr_from_psd(bvp, s.fps)
        assert abs(r.hr_bpm - s.hr_bpm) < 2.0, (name, s.hr_bpm, r)
        # output rises with blood volume, like the ground-truth pulse
        assert np.corrcoef(bandpass(bvp, s.fps), bandpass(s.bvp, s.fps))[0, 1] > 0.5


@pytest.mark.parametrize("name", ALL)
def test_method_is_deterministic_and_validates_input(name: str, samples) -> None:
    fn = METHODS.get(name)
    rgb = samples[0].mstmap[:, 62, :3]
    assert np.array_equal(fn(rgb, 30.0), fn(rgb.copy(), 30.0))
    assert fn(rgb[:20], 30.0).shape == (20,)  # shorter than a method window
    with pytest.raises(ShapeError):
        fn(np.ones((100, 4)), 30.0)
    bad = rgb.astype(np.float64).copy()
    bad[5, 1] = np.nan
    with pytest.raises(ShapeError):
        fn(bad, 30.0)


def test_motion_robust_methods_beat_green_under_motion() -> None:
    """Colour-neutral head motion of 1-3 % dwarfs a ~0.5 % pulse: projection methods
    (POS, CHROM) cope, the green channel alone does not."""
    cfg = SynthConfig(T=600, hr_range_bpm=(55.0, 110.0), motion_prob=1.0, motion_amp=(0.01, 0.03),
                      periodic_motion_prob=0.0, jerk_prob=0.0, flicker_prob=0.0, roi_noise=(0.02, 0.1),
                      pulse_amp=(0.004, 0.008), motion_chroma=0.02, specular_amp=(0.0, 0.0))
    err = {m: [] for m in ("green", "pos", "chrom")}
    for seed in range(8):
        s = synth_mstmap(cfg, 100 + seed)
        for m in err:
            err[m].append(abs(hr_from_psd(METHODS.get(m)(s.mstmap[:, 62, :3], s.fps), s.fps).hr_bpm - s.hr_bpm))
    assert np.median(err["pos"]) < 2.0 and np.median(err["chrom"]) < 2.0
    assert np.median(err["green"]) > 2 * max(np.median(err["pos"]), np.median(err["chrom"]))


def test_classic_engine(samples) -> None:
    eng = ClassicEngine("POS", fps=30.0)
    assert isinstance(eng, Engine)
    assert eng.info.name == "pos" and eng.info.T is None and eng.info.precision == "fp32"
    assert eng.info.provider == "cpu"
    s = samples[1]
    y = eng.infer(s.mstmap)
    assert y.dtype == np.float32 and y.shape == (s.mstmap.shape[0],)
    assert abs(float(y.mean())) < 1e-4 and abs(float(y.std()) - 1.0) < 1e-3
    assert abs(hr_from_psd(y, 30.0).hr_bpm - s.hr_bpm) < 2.0
    # same as running the method on row 62 RGB
    ref = METHODS.get("pos")(s.mstmap[:, 62, :3].astype(np.float64), 30.0)
    assert np.corrcoef(ref, y)[0, 1] > 0.9999


def test_classic_engine_rejects_bad_input() -> None:
    eng = ClassicEngine("chrom")
    with pytest.raises(ShapeError):
        eng.infer(np.zeros((100, 62, 6), np.float32))
    with pytest.raises(ShapeError):
        eng.infer(np.zeros((100, 63, 6), np.float64))
    m = np.full((100, 63, 6), 100.0, np.float32)
    m[3, 62, 0] = np.nan
    with pytest.raises(ShapeError):
        eng.infer(m)
    with pytest.raises(KeyError):
        ClassicEngine("unknown")
