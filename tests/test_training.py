"""Tests of the training toolkit: recipe round trip, label-preserving augmentations,
a short real training run (loss and HR error fall), exact resume, config mismatch, and
the train/eval CLI modules. Ground truth comes from the synthetic MSTmap generator."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from edge_rppg.vitals.dsp.hr import hr_from_psd
from edge_rppg.pulse.engines.classic import ClassicEngine
from edge_rppg.errors import ModelFileError
from edge_rppg.synth.mstmap_gen import SynthConfig, synth_mstmap
from edge_rppg.training.config import DataSpec, TrainConfig
from edge_rppg.training.data import (AUGMENTATIONS, CameraResidual, ChannelGain, GaussianNoise, TemporalResample,
                                    build_augmentations, build_clips, clip_from_sample)

# easy synthetic conditions: the tiny model learns them within ~100 steps
EASY = dict(motion_prob=0.0, flicker_prob=0.0, jerk_prob=0.0, periodic_motion_prob=0.0, specular_amp=[0.0, 0.0],
            illum_drift=[0.0, 0.02], roi_noise=[0.02, 0.1], hr_range_bpm=[50.0, 150.0])
# a very small Cluster-Phys (two stages, D = 8) so CPU tests stay fast
TINY_MODEL = {"dim": 8, "heads": 1, "stages": 2, "prototypes": [8, 4], "dropout": 0.0}
STEADY = dict(hr_drift_bpm=0.0, hrv_lf_bpm=[0.0, 0.0], rsa_bpm=[0.0, 0.0], motion_prob=0.0, flicker_prob=0.0,
              jerk_prob=0.0, periodic_motion_prob=0.0, illum_drift=[0.0, 0.0], specular_amp=[0.0, 0.0],
              pixel_noise=[1.0, 1.0], roi_noise=[0.02, 0.02], face_pixels=[20000.0, 20000.0])


def tiny_config(tmp_path: Path, **kw: object) -> TrainConfig:
    """A recipe small enough to train for ~100 steps in well under a minute on 2 cores."""
    base = dict(model_preset="edge-small", model=dict(TINY_MODEL), T=96, batch_size=8, steps=8, lr=3e-3,
                warmup_steps=10, data=[DataSpec(n_clips=4096, synth=dict(EASY))],
                val=[DataSpec(n_clips=24, seed_offset=1_000_000, synth=dict(EASY))], output_dir=str(tmp_path / "run"),
                progress=False, log_every=5, val_every=1000, threads=1)
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(autouse=True)
def _restore_torch_threads():
    """The trainer applies ``threads`` process-wide; give other tests their setting back."""
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def psd_hr(bvp: np.ndarray) -> float:
    return float(hr_from_psd(np.asarray(bvp, np.float64), 30.0).hr_bpm)


# ----------------------------------------------------------------------------- config

def test_config_yaml_and_json_round_trip(tmp_path: Path) -> None:
    cfg = TrainConfig(model_preset="edge-small", model={"dim": 16}, T=128, stride=32,
                      data=[DataSpec(n_clips=100, synth={"hr_range_bpm": [45.0, 160.0]}, fresh_each_epoch=True),
                            DataSpec(source="ubfc", root="/data/ubfc", cache_dir="/tmp/c", split=(0.0, 0.8))],
                      val=[DataSpec(n_clips=10, seed_offset=7)],
                      augment=[{"name": "resample", "p": 0.3}, {"name": "noise", "sigma_max": 0.1}],
                      batch_size=12, steps=50, lr=5e-4, amp=False, seed=3, output_dir="out/x", num_workers=1)
    for name in ("c.yaml", "c.json"):
        path = cfg.save(tmp_path / name)
        back = TrainConfig.load(path)
        assert back == cfg
        assert isinstance(back.data[1], DataSpec) and back.data[1].split == (0.0, 0.8)
    assert cfg.with_overrides({"lr": 1e-4, "model.heads": 4}).model == {"dim": 16, "heads": 4}
    over = cfg.with_overrides({"val.0.n_clips": 3, "data.1.split": [0.5, 1.0]})
    assert over.val[0].n_clips == 3 and over.data[1].split == (0.5, 1.0)
    # YAML 1.1 reads "1e-3" as text: numbers given as text are converted, junk is refused
    assert TrainConfig.from_dict({"lr": "1e-3", "steps": "20"}).lr == 1e-3
    with pytest.raises(ValueError, match="lr must be a number"):
        TrainConfig.from_dict({"lr": "fast"})
    with pytest.raises(ValueError, match="unknown field"):
        TrainConfig.from_dict({"learning_rate": 1.0})
    with pytest.raises(ValueError, match="invalid value"):
        TrainConfig(batch_size=0)
    with pytest.raises(ValueError, match="root"):
        DataSpec(source="ubfc")


def test_shipped_recipe_loads() -> None:
    path = Path(__file__).resolve().parents[1] / "configs" / "train_default.yaml"
    cfg = TrainConfig.load(path)
    build_augmentations(cfg.augment)  # every augmentation name and parameter is known
    from edge_rppg.training.trainer import build_model_config

    assert build_model_config(cfg).T == cfg.T
    from edge_rppg.pulse.models.checkpoint import load_checkpoint

    shipped, _ = load_checkpoint(path.parents[1] / "edge_rppg" / "assets" / "cluster_phys_default.pt")
    assert build_model_config(cfg).input_norm == shipped.config.input_norm   # the recipe is the shipped model's
    assert cfg.data[0].synth["pulseless_prob"] > 0 and cfg.val[0].synth["pulseless_prob"] == 0


# ----------------------------------------------------------------------------- augmentations

@pytest.mark.parametrize("ratio", [0.8, 1.25])
def test_resample_moves_hr_label_with_the_signal(ratio: float) -> None:
    T = 300
    s = synth_mstmap(SynthConfig(T=420, hr_range_bpm=(72.0, 72.0), **STEADY), seed=11)
    clip = clip_from_sample(s)
    base_hr = clip.hr_bpm
    aug = TemporalResample(p=1.0, min_ratio=ratio, max_ratio=ratio)
    out = aug(clip, T, np.random.default_rng(0))
    assert len(out) == T
    assert out.hr_bpm == pytest.approx(base_hr * ratio, rel=1e-3)  # the label moved
    # ... and the ground-truth pulse and the video pulse moved the same way
    assert psd_hr(out.bvp) == pytest.approx(out.hr_bpm, abs=2.0)
    assert psd_hr(ClassicEngine("pos").infer(out.mstmap)) == pytest.approx(out.hr_bpm, abs=3.0)
    assert abs(psd_hr(out.bvp) - psd_hr(clip.bvp[:T])) > 10.0


def test_resample_labels_match_ground_truth_over_random_draws() -> None:
    aug = TemporalResample(p=1.0, min_ratio=0.8, max_ratio=1.25)
    errs, ratios = [], []
    for seed in range(12):
        s = synth_mstmap(SynthConfig(T=420, hr_range_bpm=(50.0, 150.0), hr_drift_bpm=0.0), seed=seed)
        clip = clip_from_sample(s)
        out = aug(clip, 300, np.random.default_rng(seed))
        ratios.append(out.hr_bpm / clip.hr_bpm)
        assert 40.0 <= out.hr_bpm <= 180.0
        errs.append(abs(psd_hr(out.bvp) - out.hr_bpm))
    assert np.median(errs) < 2.0
    assert max(ratios) - min(ratios) > 0.1  # the draws really vary the HR


def test_resample_keeps_hr_inside_limits() -> None:
    s = synth_mstmap(SynthConfig(T=420, hr_range_bpm=(165.0, 165.0), **STEADY), seed=2)
    clip = clip_from_sample(s)
    out = TemporalResample(p=1.0, min_ratio=1.2, max_ratio=1.25)(clip, 300, np.random.default_rng(0))
    assert out.hr_bpm <= 180.0 + 1e-3


@pytest.mark.parametrize("trend", [-0.15, 0.15])
def test_resample_trend_moves_each_frames_label_with_the_signal(trend: float) -> None:
    """A drifting rate: the pulse of each half of the window beats at that half's label."""
    T = 300
    s = synth_mstmap(SynthConfig(T=480, hr_range_bpm=(72.0, 72.0), **STEADY), seed=11)
    clip = clip_from_sample(s)
    aug = TemporalResample(p=1.0, min_ratio=1.0, max_ratio=1.0, max_trend=abs(trend))
    for seed in range(40):  # find a draw with the sign asked for (the draw is uniform in +-max_trend)
        out = aug(clip, T, np.random.default_rng(seed))
        drift = out.hr_per_frame[-1] / out.hr_per_frame[0] - 1.0
        if np.sign(drift) == np.sign(trend) and abs(drift) > 0.08:
            break
    else:
        pytest.fail("no draw with a strong enough trend of that sign")
    assert len(out) == T
    first, second = out.take(np.arange(0, 150.0)), out.take(np.arange(150, 300.0))
    assert abs(first.hr_bpm - second.hr_bpm) > 3.0  # the labels drift ...
    for half in (first, second):  # ... and the ground truth and the video pulse drift with them
        assert psd_hr(half.bvp) == pytest.approx(half.hr_bpm, abs=2.5)
    assert np.sign(second.hr_bpm - first.hr_bpm) == np.sign(trend)


def test_resample_without_trend_keeps_the_old_random_stream() -> None:
    """Configs written before ``max_trend`` draw the same numbers (3 per call) and give a
    constant rate; a trend costs one more draw."""
    s = synth_mstmap(SynthConfig(T=420), seed=3)
    clip = clip_from_sample(s)
    for trend, draws in ((0.0, 3), (0.1, 4)):
        rng, ref = np.random.default_rng(5), np.random.default_rng(5)
        out = TemporalResample(p=1.0, max_trend=trend)(clip, 300, rng)
        ref.random(draws)
        assert rng.random() == ref.random()
        assert len(out) == 300
    assert TemporalResample(max_trend=0.2).span > TemporalResample().span
    with pytest.raises(ValueError):
        TemporalResample(max_trend=1.5)


def test_camera_residual_is_an_intensity_and_a_chroma_change_sized_by_the_pulse() -> None:
    from edge_rppg.training.data import _inband_relative_std

    s = synth_mstmap(SynthConfig(T=600, **STEADY), seed=4)
    clip = clip_from_sample(s)
    pulse_size = _inband_relative_std(clip.mstmap, clip.fps)
    assert pulse_size > 0
    # intensity only: one factor per frame, the same for every row and R, G, B
    out = CameraResidual(p=1.0, intensity=(3.0, 3.0), chroma=(0.0, 0.0))(clip, 600, np.random.default_rng(1))
    f = out.mstmap[..., :3].astype(np.float64) / clip.mstmap[..., :3]
    assert np.ptp(f, axis=(1, 2)).max() < 1e-5
    spec = np.fft.rfft(f[:, 0, 0] - 1.0)
    freq = np.fft.rfftfreq(600, 1 / 30.0)
    inband = np.fft.irfft(spec * ((freq >= 0.7) & (freq <= 3.0)), n=600)
    assert inband.std() == pytest.approx(3.0 * pulse_size, rel=0.05)  # sized by the clip's own pulse band
    # chroma only: R, G, B move differently, their mean does not move
    out = CameraResidual(p=1.0, intensity=(0.0, 0.0), chroma=(1.0, 1.0))(clip, 600, np.random.default_rng(1))
    f = out.mstmap[..., :3].astype(np.float64) / clip.mstmap[..., :3]
    assert np.abs(f.mean(axis=2) - 1.0).max() < 1e-5
    assert (f[:, 0, :].std(axis=0) > 0.5 * pulse_size).all()
    from edge_rppg.skin.mstmap import rgb_to_yuv

    np.testing.assert_allclose(out.mstmap[..., 3:], rgb_to_yuv(out.mstmap[..., :3]), atol=1e-2)
    np.testing.assert_array_equal(out.bvp, clip.bvp)
    np.testing.assert_array_equal(out.hr_per_frame, clip.hr_per_frame)
    # gray clips get the intensity part only
    gray = clip_from_sample(s)
    gray.mstmap = clip.mstmap[..., 1:2].copy()
    g = CameraResidual(p=1.0)(gray, 600, np.random.default_rng(2))
    assert g.mstmap.shape == gray.mstmap.shape and not np.allclose(g.mstmap, gray.mstmap)


def test_camera_residual_costs_pos_its_quality() -> None:
    """The augmentation is a real obstacle: at the strengths drawn, POS's window SNR falls."""
    from edge_rppg.vitals.dsp.hr import hr_from_psd as psd

    s = synth_mstmap(SynthConfig(T=600, **STEADY), seed=8)
    clip = clip_from_sample(s)
    pos = ClassicEngine("pos")
    before = psd(np.asarray(pos.infer(clip.mstmap), np.float64), 30.0).quality
    out = CameraResidual(p=1.0, intensity=(4.0, 4.0), chroma=(1.2, 1.2))(clip, 600, np.random.default_rng(3))
    after = psd(np.asarray(pos.infer(out.mstmap), np.float64), 30.0).quality
    assert after < before - 1.0


def test_noise_and_gain_change_the_input_but_not_the_labels() -> None:
    s = synth_mstmap(SynthConfig(T=200), seed=4)
    clip = clip_from_sample(s)
    for aug in (GaussianNoise(p=1.0, sigma_min=0.1, sigma_max=0.2), ChannelGain(p=1.0, max_gain=0.3)):
        out = aug(clip, 200, np.random.default_rng(1))
        assert not np.allclose(out.mstmap, clip.mstmap)
        np.testing.assert_array_equal(out.bvp, clip.bvp)
        np.testing.assert_array_equal(out.hr_per_frame, clip.hr_per_frame)
        assert np.isfinite(out.mstmap).all() and out.mstmap.dtype == np.float32
    # the gain re-derives Y, U, V from the new R, G, B
    from edge_rppg.skin.mstmap import rgb_to_yuv

    out = ChannelGain(p=1.0, max_gain=0.3)(clip, 200, np.random.default_rng(2))
    np.testing.assert_allclose(out.mstmap[..., 3:], rgb_to_yuv(out.mstmap[..., :3]), atol=1e-2)


def test_augmentation_registry_and_errors() -> None:
    assert {"resample", "noise", "gain", "camera"} <= set(AUGMENTATIONS.names())
    with pytest.raises(KeyError, match="known"):
        build_augmentations([{"name": "mixup"}])
    with pytest.raises(ValueError, match="unknown parameter"):
        build_augmentations([{"name": "noise", "strength": 1}])


def test_items_are_deterministic_normalised_and_epoch_dependent() -> None:
    spec = DataSpec(n_clips=4, synth=dict(EASY))
    aug = [{"name": "resample", "p": 1.0}, {"name": "noise", "p": 1.0}]
    a, b = build_clips([spec], 96, 48, aug, seed=1), build_clips([spec], 96, 48, aug, seed=1)
    x0, x1 = a[2], b[2]
    np.testing.assert_array_equal(x0["x"], x1["x"])
    assert x0["x"].shape == (96, 63, 6) and x0["bvp"].shape == (96,)
    # default AC/DC: one common scale, RGB RMS 1; min-max on request: every trace in [0, 1]
    assert float(np.sqrt(np.mean(x0["x"][..., :3].astype(np.float64) ** 2))) == pytest.approx(1.0, abs=0.05)
    mm = build_clips([spec], 96, 48, aug, seed=1, input_norm="minmax")[2]
    assert 0.0 <= mm["x"].min() and mm["x"].max() <= 1.0
    np.testing.assert_array_equal(mm["bvp"], x0["bvp"])
    assert abs(float(x0["bvp"].mean())) < 1e-4 and float(x0["bvp"].std()) == pytest.approx(1.0, abs=1e-3)
    b.set_epoch(1)
    assert not np.array_equal(x0["x"], b[2]["x"])


def test_pulseless_items_have_zero_target_and_flag() -> None:
    spec = DataSpec(n_clips=6, synth=dict(EASY, pulseless_prob=1.0))
    items = [build_clips([spec], 96, 48, [{"name": "resample", "p": 1.0}], seed=0)[i] for i in range(3)]
    for it in items:
        assert it["pulse"] == 0.0 and np.all(it["bvp"] == 0) and np.isnan(it["hr"])
    normal = build_clips([DataSpec(n_clips=2, synth=dict(EASY))], 96, 48, seed=0)[0]
    assert normal["pulse"] == 1.0 and np.isfinite(normal["hr"])


# ----------------------------------------------------------------------------- training

def test_short_training_run_lowers_loss_and_hr_error(tmp_path: Path) -> None:
    from edge_rppg.training.trainer import Trainer

    cfg = tiny_config(tmp_path, steps=90)
    trainer = Trainer(cfg)
    before = trainer.validate()
    result = trainer.fit()
    after = result["metrics"]
    losses = trainer.losses
    assert len(losses) == 90
    assert np.mean(losses[-15:]) < np.mean(losses[:15]) - 0.25
    assert after["mae"] < 0.5 * before["mae"], (before, after)
    assert after["mae"] < 10.0
    assert (Path(cfg.output_dir) / "best.pt").is_file()
    records = [json.loads(line) for line in (Path(cfg.output_dir) / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["kind"] == "val" and records[-1]["step"] == 90


def test_resume_reproduces_uninterrupted_run(tmp_path: Path) -> None:
    from edge_rppg.training.trainer import Trainer

    aug = [{"name": "resample", "p": 0.5}, {"name": "noise", "p": 0.5}, {"name": "gain", "p": 0.5}]
    kw = dict(steps=6, batch_size=4, warmup_steps=2, augment=aug, data=[DataSpec(n_clips=12, synth=dict(EASY))])
    full = Trainer(tiny_config(tmp_path / "a", **kw))
    full.fit()
    part = Trainer(tiny_config(tmp_path / "b", **kw))
    part.fit(stop_at=4)  # stops mid-epoch 1 (3 steps per epoch)
    assert part.step == 4
    ckpt = Path(part.cfg.output_dir) / "last.pt"
    resumed = Trainer(tiny_config(tmp_path / "b", **kw), resume=ckpt)
    assert resumed.step == 4
    assert resumed.scheduler.last_epoch == 4
    resumed.fit()
    assert resumed.step == 6
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    init = Trainer(tiny_config(tmp_path / "c", **kw)).model.state_dict()
    assert any(not torch.equal(init[k], a[k]) for k in a)


def test_checkpoint_carries_config_git_data_and_metrics(tmp_path: Path) -> None:
    from edge_rppg.pulse.models.checkpoint import load_checkpoint
    from edge_rppg.training.trainer import Trainer

    cfg = tiny_config(tmp_path, steps=3, batch_size=4, data=[DataSpec(n_clips=8, synth=dict(EASY))])
    Trainer(cfg).fit()
    model, extra = load_checkpoint(Path(cfg.output_dir) / "last.pt")
    assert model.config.T == cfg.T and model.config.dim == TINY_MODEL["dim"]
    assert TrainConfig.from_dict(extra["train_config"]) == cfg
    assert extra["step"] == 3 and extra["git"]
    assert extra["data"]["train"][0]["source"] == "synthetic"
    assert extra["data"]["train"][0]["seeds"] == [0, 8]
    assert {"mae", "rmse", "r"} <= set(extra["metrics"])
    assert "state" in extra["optimizer"] and "param_groups" in extra["optimizer"]


def test_resume_into_a_different_model_config_is_refused(tmp_path: Path) -> None:
    from edge_rppg.training.trainer import Trainer

    cfg = tiny_config(tmp_path, steps=2, batch_size=4, data=[DataSpec(n_clips=8, synth=dict(EASY))])
    Trainer(cfg).fit()
    ckpt = Path(cfg.output_dir) / "last.pt"
    other = cfg.with_overrides({"model.dim": 16, "model.heads": 2, "output_dir": str(tmp_path / "other")})
    with pytest.raises(ModelFileError, match="dim"):
        Trainer(other, resume=ckpt)
    with pytest.raises(ModelFileError):
        Trainer(cfg.with_overrides({"T": 128}), resume=ckpt)


def test_lr_schedule_warmup_then_cosine() -> None:
    from edge_rppg.training.trainer import LrSchedule

    s = LrSchedule(warmup=10, total=110, cosine=True, min_ratio=0.01)
    assert s(0) == pytest.approx(0.1) and s(9) == pytest.approx(1.0)
    assert s(10) == pytest.approx(1.0)
    assert s(60) == pytest.approx(0.505, abs=1e-3)
    assert s(110) == pytest.approx(0.01)
    assert LrSchedule(5, 100, False, 0.0)(80) == 1.0


# ----------------------------------------------------------------------------- CLI + evaluation

def test_cli_train_then_eval_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import argparse

    from edge_rppg.training import cli_eval, cli_train

    cfg = tiny_config(tmp_path, steps=2, batch_size=4, data=[DataSpec(n_clips=8, synth=dict(EASY))])
    path = cfg.save(tmp_path / "recipe.yaml")
    for mod in (cli_train, cli_eval):
        assert isinstance(mod.HELP, str) and mod.HELP
    assert cli_train.main([str(path), "--no-progress", "--set", "lr=1e-3", "--output-dir", str(tmp_path / "o")]) == 0
    ckpt = tmp_path / "o" / "last.pt"
    assert ckpt.is_file()
    capsys.readouterr()
    from edge_rppg.cli.main import main as edge_rppg_main

    assert edge_rppg_main(["evaluate", "--checkpoint", str(ckpt), "--json", "--n-clips", "6"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert set(res["metrics"]) == {"cluster_phys", "pos", "chrom"}
    assert res["n_clips"] == 6 and res["T"] == 96
    assert res["metrics"]["pos"]["n"] == 6
    # held-out seeds, with the generator settings the checkpoint was trained on
    assert res["data"][0]["seeds"][0] == 50_000_000
    assert res["data"][0]["synth"]["motion_prob"] == 0.0
    p = argparse.ArgumentParser()
    cli_eval.add_arguments(p)
    assert p.parse_args([str(ckpt)]).seed_offset == __import__("importlib").import_module("edge_rppg.training.evaluate").HELDOUT_SEED_OFFSET
    assert cli_train.main([str(tmp_path / "missing.yaml")]) == 2


def test_evaluate_classic_methods_on_clean_clips() -> None:
    from edge_rppg.training.evaluate import eval_clips, evaluate_model, heldout_spec

    clips = eval_clips([heldout_spec(n_clips=8, synth=dict(STEADY, hr_range_bpm=[60.0, 120.0]))], T=300)
    res = evaluate_model(None, clips, ("pos", "chrom"))
    assert set(res) == {"pos", "chrom"}
    assert res["pos"]["mae"] < 5.0 and res["pos"]["n"] == 8


# ----------------------------------------------------------------------------- dataset-backed clips

class _FakeReader:
    """A dataset reader over synthetic recordings at 25 fps with a few invalid frames."""

    recs = [f"subject{i}" for i in range(5)]

    def list_recordings(self, root: str) -> list:
        from types import SimpleNamespace

        return [SimpleNamespace(name=n) for n in self.recs]

    def load_mstmap(self, rec: object, cache_dir: object = None) -> object:
        from edge_rppg.datasets.base import MSTmapRecord

        i = self.recs.index(rec.name)
        s = synth_mstmap(SynthConfig(T=500, fps=25.0, hr_range_bpm=(60.0 + 10 * i, 60.0 + 10 * i), **STEADY), seed=i)
        valid = np.ones(500, bool)
        valid[100:104] = False
        mst = s.mstmap.copy()
        mst[~valid] = np.nan
        return MSTmapRecord(name=rec.name, mstmap=mst, valid=valid, fps=25.0, timestamps_s=np.arange(500) / 25.0,
                            bvp=s.bvp, hr_bpm=s.hr_bpm, from_cache=False)


def test_recording_clips_from_a_dataset_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    from edge_rppg.datasets import DATASETS

    real_get = DATASETS.get
    monkeypatch.setattr(DATASETS, "get", lambda name: _FakeReader if name == "fake" else real_get(name))
    clips = build_clips([DataSpec(source="fake", root="/nowhere", split=(0.0, 0.6))], T=300, stride=60)
    part = clips.datasets[0]
    assert part.names == ["subject0", "subject1", "subject2"]
    n30 = int(np.floor(499 / 25.0 * 30.0)) + 1  # 25 fps -> 30 Hz grid
    assert all(len(c) == n30 for c in part.clips)
    assert len(clips) == 3 * len(range(0, n30 - 302 + 1, 60))
    for idx in (0, len(clips) - 1):
        item = clips[idx]
        assert item["x"].shape == (300, 63, 6) and np.isfinite(item["x"]).all()
        assert psd_hr(item["bvp"]) == pytest.approx(float(item["hr"]), abs=2.0)
    assert clips.describe()[0]["recordings"] == part.names
