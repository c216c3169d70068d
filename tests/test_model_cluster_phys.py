"""Cluster-Phys model: schedule, shapes, gradients, ablations, input validation,
checkpoints, complexity against Table 6, and a short training sanity run."""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from edge_rppg.errors import ModelFileError, ShapeError
from edge_rppg.pulse.models import MODELS, PRESETS, ClusterPhys, ClusterPhysConfig, neg_pearson_loss
from edge_rppg.pulse.models.checkpoint import FORMAT, load_checkpoint, save_checkpoint
from edge_rppg.pulse.models.cluster_phys import prototype_schedule
from edge_rppg.pulse.models.complexity import count_flops, count_parameters

@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models gain nothing from threads; on a shared 2-core box 2 threads thrash."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


TINY = ClusterPhysConfig(T=32, dim=16, heads=2, mlp_ratio=2.0, em_iters=1, dropout=0.0, knn_k=3)


def _input(cfg: ClusterPhysConfig, batch: int = 2, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(batch, cfg.T, cfg.n_rois, cfg.in_channels, generator=gen)


def test_prototype_schedule_follows_rho() -> None:
    assert prototype_schedule(ClusterPhysConfig()) == [32, 16, 8, 4]
    assert prototype_schedule(ClusterPhysConfig(rho=0.25)) == [16, 4, 1, 1]
    assert prototype_schedule(ClusterPhysConfig(stages=2, prototypes=(20, 5))) == [20, 5]
    assert ClusterPhys(TINY).schedule == [32, 16, 8, 4]
    with pytest.raises(ValueError, match="one per stage"):
        ClusterPhysConfig(prototypes=(32, 16))
    with pytest.raises(ValueError, match="previous N"):
        ClusterPhysConfig(prototypes=(32, 40, 8, 4))


def test_config_validation_and_json_roundtrip() -> None:
    with pytest.raises(ValueError, match="cluster_strategy"):
        ClusterPhysConfig(cluster_strategy="spectral")
    with pytest.raises(ValueError, match="divisible"):
        ClusterPhysConfig(dim=30, heads=4)
    cfg = ClusterPhysConfig(stages=2, prototypes=(16, 4), use_update=False)
    assert ClusterPhysConfig.from_json(cfg.to_json()) == cfg
    assert PRESETS["paper"] == ClusterPhysConfig()
    assert "edge-small" in PRESETS and MODELS.get("cluster_phys") is ClusterPhys


def test_forward_shape_gradients_and_determinism() -> None:
    model = ClusterPhys(TINY)
    x = _input(TINY)
    y = model(x)
    assert y.shape == (2, TINY.T) and y.dtype == torch.float32 and torch.isfinite(y).all()
    target = torch.sin(torch.arange(TINY.T) * 0.5).expand(2, -1)
    neg_pearson_loss(y, target).backward()
    no_grad = [n for n, p in model.named_parameters() if p.grad is None or not torch.any(p.grad != 0)]
    assert no_grad == []
    # same seed -> same weights -> same output; the batch items are independent
    model.eval()
    other = ClusterPhys(TINY).eval()
    with torch.no_grad():
        assert torch.equal(model(x), other(x))
        assert torch.allclose(model(x[:1]), model(x)[:1], atol=1e-5)


ABLATIONS = {
    "no_clustering": dict(use_clustering=False, use_update=False),
    "no_update": dict(use_update=False),
    "no_interaction": dict(use_spatial=False, use_temporal=False),
    "spatial_only": dict(use_temporal=False),
    "temporal_only": dict(use_spatial=False),
    "random": dict(cluster_strategy="random"),
    "kmeans": dict(cluster_strategy="kmeans"),
    "dpc": dict(cluster_strategy="dpc"),
    "fpc_m0": dict(em_iters=0),
    "no_pos": dict(roi_pos_embed=False, temporal_pos_embed=False),
    "depth2_rho025": dict(depth=2, rho=0.25),
}


@pytest.mark.parametrize("name", sorted(ABLATIONS))
def test_ablation_switches_run_and_train(name: str) -> None:
    cfg = dataclasses.replace(TINY, **ABLATIONS[name])
    model = ClusterPhys(cfg)
    y = model(_input(cfg))
    assert y.shape == (2, cfg.T) and torch.isfinite(y).all()
    neg_pearson_loss(y, torch.randn(2, cfg.T, generator=torch.Generator().manual_seed(1))).backward()
    assert model.head.weight.grad is not None and torch.isfinite(model.head.weight.grad).all()


def test_ablation_switches_change_the_architecture() -> None:
    base = count_parameters(ClusterPhys(TINY))
    assert count_parameters(ClusterPhys(dataclasses.replace(TINY, use_spatial=False))) < base
    assert count_parameters(ClusterPhys(dataclasses.replace(TINY, cluster_strategy="dpc"))) < base
    x = _input(TINY)
    with torch.no_grad():
        a = ClusterPhys(TINY).eval()(x)
        b = ClusterPhys(dataclasses.replace(TINY, use_update=False)).eval()(x)
    assert not torch.allclose(a, b)


@pytest.mark.parametrize("bad", [
    torch.rand(2, 32, 62, 6),
    torch.rand(2, 32, 63, 3),
    torch.rand(32, 63, 6),
    torch.rand(2, 31, 63, 6),
    torch.rand(2, 32, 63, 6, dtype=torch.float64),
    np.random.rand(2, 32, 63, 6).astype(np.float32),
])
def test_bad_input_raises_value_error_naming_shape(bad: object) -> None:
    model = ClusterPhys(TINY)
    with pytest.raises(ValueError, match=r"\[B, T, 63, 6\] with T=32") as info:
        model(bad)
    assert isinstance(info.value, ShapeError)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_input_raises(value: float) -> None:
    x = _input(TINY)
    x[1, 5, 7, 2] = value
    with pytest.raises(ShapeError, match="NaN or inf"):
        ClusterPhys(TINY)(x)


def test_neg_pearson_loss() -> None:
    t = torch.linspace(0, 6, 100)
    s = torch.sin(t).unsqueeze(0)
    assert neg_pearson_loss(s, s).item() == pytest.approx(0.0, abs=1e-6)
    assert neg_pearson_loss(-3 * s + 7, s).item() == pytest.approx(2.0, abs=1e-6)
    assert neg_pearson_loss(torch.ones_like(s), s).item() == pytest.approx(1.0)
    with pytest.raises(ShapeError):
        neg_pearson_loss(s, s[:, :50])


def test_checkpoint_roundtrip(tmp_path: Path) -> None:
    model = ClusterPhys(TINY)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    model.eval()
    path = save_checkpoint(tmp_path / "m.pt", model, {"epoch": 7, "val": {"mae": 1.5}, "hist": [1.0, 0.5]})
    loaded, extra = load_checkpoint(path)
    assert extra == {"epoch": 7, "val": {"mae": 1.5}, "hist": [1.0, 0.5]}
    assert loaded.config == TINY and not loaded.training
    x = _input(TINY)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
        assert torch.equal(ClusterPhys.from_checkpoint(path)(x), model(x))
    fresh = ClusterPhys(TINY)
    assert fresh.load_weights(path)["epoch"] == 7
    assert all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(), model.state_dict().values()))


def test_checkpoint_from_other_config_raises(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "m.pt", ClusterPhys(TINY))
    other = ClusterPhys(dataclasses.replace(TINY, dim=32))
    with pytest.raises(ModelFileError, match="another config.*dim: file=16 expected=32"):
        other.load_weights(path)
    with pytest.raises(ModelFileError, match="another config"):
        load_checkpoint(path, expected_config=dataclasses.replace(TINY, use_update=False))


def _payload(tmp_path: Path) -> dict:
    path = save_checkpoint(tmp_path / "ok.pt", ClusterPhys(TINY))
    return torch.load(path, weights_only=True)


def test_checkpoint_bad_files_raise_model_file_error(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
    good = save_checkpoint(tmp_path / "good.pt", ClusterPhys(TINY))
    (tmp_path / "trunc.pt").write_bytes(good.read_bytes()[:200])
    with pytest.raises(ModelFileError, match="not a readable"):
        load_checkpoint(tmp_path / "trunc.pt")
    (tmp_path / "junk.pt").write_bytes(b"hello world")
    with pytest.raises(ModelFileError, match="not a readable"):
        load_checkpoint(tmp_path / "junk.pt")
    torch.save({"format": FORMAT, "obj": Path("x")}, tmp_path / "pickle.pt")  # not weights-only
    with pytest.raises(ModelFileError, match="not a readable"):
        load_checkpoint(tmp_path / "pickle.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "foreign.pt")
    with pytest.raises(ModelFileError, match="not an edge_rppg checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")


def test_checkpoint_version_and_partial_weights_raise(tmp_path: Path) -> None:
    payload = _payload(tmp_path)
    payload["format_version"] = 99
    torch.save(payload, tmp_path / "v99.pt")
    with pytest.raises(ModelFileError, match="format version 99"):
        load_checkpoint(tmp_path / "v99.pt")

    payload = _payload(tmp_path)
    payload["state_dict"].pop("head.weight")
    torch.save(payload, tmp_path / "partial.pt")
    with pytest.raises(ModelFileError, match="missing=\\['head.weight'\\]"):
        load_checkpoint(tmp_path / "partial.pt")

    payload = _payload(tmp_path)
    payload["config"]["dim"] = 32  # weights are for dim=16
    torch.save(payload, tmp_path / "shape.pt")
    with pytest.raises(ModelFileError, match="shape mismatches"):
        load_checkpoint(tmp_path / "shape.pt")

    payload = _payload(tmp_path)
    payload["config"]["future_option"] = 1
    torch.save(payload, tmp_path / "newer.pt")
    with pytest.raises(ModelFileError, match="future_option"):
        load_checkpoint(tmp_path / "newer.pt")


def test_save_checkpoint_rejects_unpicklable_extra(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot be stored"):
        save_checkpoint(tmp_path / "m.pt", ClusterPhys(TINY), {"path": Path("x")})


def test_default_config_matches_table6_within_20_percent() -> None:
    model = ClusterPhys()
    params = count_parameters(model)
    flops = count_flops(model, 160)
    assert abs(params / 1.92e6 - 1) < 0.2
    assert abs(flops.paper_gflops / 4.97 - 1) < 0.2
    assert flops.flops == 2 * flops.macs
    small = ClusterPhys(PRESETS["edge-small"])
    assert count_parameters(small) < params / 10
    assert count_flops(small).gmacs < flops.gmacs / 5


CHANNEL_SIGN = torch.tensor([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])  # fixed per-channel pulse polarity


def _synthetic_batch(cfg: ClusterPhysConfig, batch: int, gen: torch.Generator):
    """Sinusoidal pulse (42-150 bpm at 30 fps) mixed into every ROI row/channel with a
    random positive weight and a fixed per-channel sign, plus linear baseline drift and
    unit Gaussian noise (per-row SNR below 0 dB), then min-max normalised per row/channel
    within the window (as ``normalize_window`` does)."""
    t = torch.arange(cfg.T, dtype=torch.float32) / 30.0
    f = 0.7 + 1.8 * torch.rand(batch, 1, generator=gen)
    phase = 2 * math.pi * torch.rand(batch, 1, generator=gen)
    bvp = torch.sin(2 * math.pi * f * t + phase)  # [B, T]
    weight = (0.3 + torch.rand(batch, 1, 63, 6, generator=gen)) * CHANNEL_SIGN
    drift = torch.randn(batch, 1, 63, 6, generator=gen) * (t.view(1, -1, 1, 1) / t[-1])
    noise = torch.randn(batch, cfg.T, 63, 6, generator=gen)
    raw = weight * bvp.view(batch, cfg.T, 1, 1) + drift + noise
    lo, hi = raw.amin(1, keepdim=True), raw.amax(1, keepdim=True)
    return (raw - lo) / (hi - lo), bvp


def test_training_sanity_neg_pearson_falls() -> None:
    torch.manual_seed(0)
    cfg = dataclasses.replace(TINY, T=48)
    model = ClusterPhys(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(123)
    x_val, y_val = _synthetic_batch(cfg, 16, torch.Generator().manual_seed(999))
    model.eval()
    with torch.no_grad():
        before = neg_pearson_loss(model(x_val), y_val).item()
    model.train()
    for _ in range(60):
        x, y = _synthetic_batch(cfg, 8, gen)
        loss = neg_pearson_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        after = neg_pearson_loss(model(x_val), y_val).item()
    assert before > 0.7, before
    assert after < 0.3, (before, after)


def test_prototypes_are_distinct_at_initialisation() -> None:
    """Regression guard: prototypes must not collapse to the frame mean at init (which
    would leave the eq. 6 nearest-prototype assignment to float rounding)."""
    from edge_rppg.pulse.models.fpc import cosine_similarity

    cfg = dataclasses.replace(PRESETS["edge-small"], T=32)
    model = ClusterPhys(cfg).eval()
    x = _input(cfg, batch=1)
    with torch.no_grad():
        h = model.embed(x) + model.roi_pos + model.time_pos
        stage = model.stages[0]
        feats = h.reshape(cfg.T, cfg.n_rois, cfg.dim)
        protos = stage.cluster(feats)
        spread = (protos - protos.mean(1, keepdim=True)).norm(dim=-1).mean() / protos.norm(dim=-1).mean()
        top2 = cosine_similarity(feats, protos).topk(2, dim=-1).values
    assert spread > 0.1
    assert (top2[..., 0] - top2[..., 1]).median() > 1e-3


def test_soft_temperatures_default_and_legacy_checkpoints(tmp_path: Path) -> None:
    """New configs use the soft density-peak selection and nearest-prototype match (both
    tau 0.05); a checkpoint whose stored config predates the fields loads with the hard
    decisions it was trained with."""
    assert ClusterPhysConfig().assign_temperature == 0.05 == PRESETS["edge-small"].assign_temperature
    assert ClusterPhysConfig().select_temperature == 0.05 == PRESETS["edge-small"].select_temperature
    with pytest.raises(ValueError, match="assign_temperature >= 0"):
        ClusterPhysConfig(assign_temperature=-0.1)
    with pytest.raises(ValueError, match="select_temperature >= 0"):
        ClusterPhysConfig(select_temperature=-0.1)
    hard_cfg = dataclasses.replace(TINY, assign_temperature=0.0, select_temperature=0.0)
    model = ClusterPhys(hard_cfg).eval()
    path = save_checkpoint(tmp_path / "old.pt", model)
    payload = torch.load(path, weights_only=True)
    del payload["config"]["assign_temperature"], payload["config"]["select_temperature"]  # as written before
    torch.save(payload, path)
    loaded, _ = load_checkpoint(path)
    assert loaded.config.assign_temperature == 0.0 and loaded.config.select_temperature == 0.0
    x = _input(TINY)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
        soft = ClusterPhys(TINY).eval()
        soft.load_state_dict(model.state_dict())
        assert not torch.equal(soft(x), model(x))  # the temperature really changes the model


def test_spectral_peak_fraction_and_pulse_presence_loss() -> None:
    from edge_rppg.pulse.models.cluster_phys import pulse_presence_loss, spectral_peak_fraction

    t = torch.arange(160) / 30.0
    tone = torch.sin(2 * math.pi * 1.3 * t)
    flat = torch.from_numpy(np.fft.irfft(np.exp(1j * np.random.default_rng(0).uniform(0, 6.3, 81)), n=160)).float()
    assert float(spectral_peak_fraction(tone[None])) > 0.6
    assert float(spectral_peak_fraction(flat[None])) < 0.3
    # a zero target (pulseless clip) gives finite gradients, and the loss there is the peak fraction
    pred = torch.stack([tone, tone]).clone().requires_grad_(True)
    target = torch.stack([tone, torch.zeros(160)])
    loss = pulse_presence_loss(pred, target, torch.tensor([1.0, 0.0]), null_weight=1.0)
    loss.backward()
    assert torch.isfinite(pred.grad).all() and pred.grad[1].abs().sum() > 0
    want = 0.5 * (0.0 + float(spectral_peak_fraction(tone[None])))
    assert float(loss) == pytest.approx(want, abs=1e-4)


def test_spectrum_mismatch_penalises_power_where_the_pulse_has_none() -> None:
    from edge_rppg.pulse.models.cluster_phys import pulse_presence_loss, spectrum_mismatch

    t = torch.arange(160) / 30.0
    pulse = torch.sin(2 * math.pi * 1.2 * t) + 0.3 * torch.sin(2 * math.pi * 2.4 * t)
    off_peak = torch.sin(2 * math.pi * 1.55 * t)  # 93 bpm beside a 72 bpm pulse
    clean = float(spectrum_mismatch(pulse[None], pulse[None]))
    spread = float(spectrum_mismatch((pulse + 0.8 * off_peak)[None], pulse[None]))
    assert clean < 1e-4 and spread > 0.1
    # scale-free, like Pearson: a louder output is not a better one
    assert float(spectrum_mismatch(5 * pulse[None], pulse[None])) < 1e-4
    # the loss adds it on clips with a pulse only, weighted; pulseless items are unchanged
    pred = torch.stack([pulse + 0.8 * off_peak, pulse]).requires_grad_(True)
    target = torch.stack([pulse, torch.zeros(160)])
    has = torch.tensor([1.0, 0.0])
    base = pulse_presence_loss(pred, target, has)
    with_term = pulse_presence_loss(pred, target, has, spectrum_weight=2.0)
    assert float(with_term - base) == pytest.approx(0.5 * 2.0 * spread, rel=1e-4)
    with_term.backward()
    assert torch.isfinite(pred.grad).all()
