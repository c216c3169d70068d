"""The mono Cluster-Phys path: the ``edge-small-mono`` preset (``[B, T, 63, 1]``), its
checkpoint and exported ONNX file saying ``color_space: gray``, engines that read it and
refuse the other kind of stream, and a one-step training smoke run on rendered NIR clips
(``configs/train_mono.yaml``, shrunk)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from edge_rppg import EdgeRPPG  # noqa: E402
from edge_rppg.errors import ColorSpaceError, ShapeError  # noqa: E402
from edge_rppg.model_file import META, read_metadata  # noqa: E402
from edge_rppg.pulse.engines.registry import check_engine_color_space, load_engine  # noqa: E402
from edge_rppg.pulse.models.cluster_phys import PRESETS, ClusterPhys, ClusterPhysConfig  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _mono_model() -> ClusterPhys:
    torch.manual_seed(0)
    return ClusterPhys(PRESETS["edge-small-mono"]).eval()


def _window(channels: int, T: int = 160) -> np.ndarray:
    t = np.arange(T) / 30.0
    base = 500.0 * (1.0 + 0.002 * np.sin(2 * np.pi * 1.2 * t))[:, None, None]
    return (base * np.random.default_rng(1).uniform(0.9, 1.1, (1, 63, channels))).astype(np.float32)


def test_mono_preset_declares_one_gray_channel() -> None:
    cfg = PRESETS["edge-small-mono"]
    assert cfg.in_channels == 1 and cfg.color_space == "gray" and cfg.input_norm == "acdc_mono"
    assert ClusterPhysConfig().color_space == "rgb"
    with pytest.raises(ValueError, match="in_channels"):
        ClusterPhysConfig(color_space="gray")            # 6 channels cannot be a gray model's input
    legacy = ClusterPhysConfig.from_dict({k: v for k, v in ClusterPhysConfig().to_dict().items() if k != "color_space"})
    assert legacy.color_space == "rgb"


def test_torch_engine_reads_gray_windows_and_refuses_colour() -> None:
    from edge_rppg.pulse.engines.torch_engine import TorchEngine

    eng = TorchEngine(_mono_model())
    assert eng.info.color_space == "gray"
    assert eng.infer(_window(1)).shape == (160,)
    with pytest.raises(ShapeError):
        eng.infer(_window(6))
    with pytest.raises(ColorSpaceError, match="takes gray input"):
        check_engine_color_space(eng, "rgb")


def test_exported_mono_model_says_gray_and_a_colour_stream_refuses_it(tmp_path: Path) -> None:
    from edge_rppg.export.onnx_export import export_onnx

    path = tmp_path / "mono.onnx"
    export_onnx(_mono_model(), path, simplify=False)
    meta = read_metadata(path)
    assert meta[META["color_space"]] == "gray" and json.loads(meta[META["config"]])["in_channels"] == 1
    eng = load_engine(str(path))
    assert eng.info.color_space == "gray" and eng.info.T == 160
    assert np.isfinite(eng.infer(_window(1))).all()
    with pytest.raises(ShapeError):
        eng.infer(_window(6))
    with pytest.raises(ColorSpaceError, match="takes gray input"):
        EdgeRPPG(str(path), roi_backend="cpu")
    with EdgeRPPG(str(path), color_space="gray", roi_backend="cpu") as rppg:
        assert rppg.window == 160 and rppg.engine.info.color_space == "gray"
    colour = load_engine("default")
    with pytest.raises(ColorSpaceError, match="takes rgb input"):
        check_engine_color_space(colour, "gray")


def test_train_mono_config_smoke_run(tmp_path: Path) -> None:
    """One optimiser step of configs/train_mono.yaml on two short rendered NIR clips: the
    checkpoint it writes is a gray model."""
    out = tmp_path / "run"
    sets = ["steps=1", "data.0.n_clips=2", "val.0.n_clips=1", "data.0.synth.duration_s=6",
            "val.0.synth.duration_s=6", "batch_size=2", "ckpt_every=1", f"data.0.cache_dir={tmp_path / 'c'}",
            f"val.0.cache_dir={tmp_path / 'c'}"]
    cmd = [sys.executable, "-m", "edge_rppg.cli.main", "train", str(ROOT / "configs" / "train_mono.yaml"),
           "--output-dir", str(out)] + [a for s in sets for a in ("--set", s)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    from edge_rppg.pulse.engines.torch_engine import TorchEngine

    eng = TorchEngine(out / "last.pt")
    assert eng.info.color_space == "gray" and eng.infer(_window(1)).shape == (160,)


def test_mono_from_colour_reads_a_gray_row_as_the_colour_models_pos_channel(tmp_path: Path) -> None:
    """The transplant is exact: a gray window equal to minus the POS channel of a colour
    window gives the colour model's output on that window with only its POS channel kept."""
    from edge_rppg.pulse.models.checkpoint import load_checkpoint
    from edge_rppg.skin.mstmap import POS_CHANNEL
    from edge_rppg.training.mono_init import main, mono_from_colour

    colour, _ = load_checkpoint(ROOT / "edge_rppg" / "assets" / "cluster_phys_default.pt")
    colour.eval()
    mono = mono_from_colour(colour).eval()
    assert mono.config.in_channels == 1 and mono.config.color_space == "gray" and mono.config.input_norm == "acdc_mono"
    rng = np.random.default_rng(0)
    pos = torch.from_numpy(rng.standard_normal((1, 160, 63, 1)).astype(np.float32))
    x6 = torch.zeros(1, 160, 63, 6)
    x6[..., POS_CHANNEL:POS_CHANNEL + 1] = pos
    with torch.no_grad():
        want, got = colour(x6), mono(-pos)
        assert torch.allclose(got, want, atol=1e-5)
        assert not torch.allclose(mono(pos), want, atol=1e-3)  # the sign matters
    with pytest.raises(ValueError, match="colour model"):
        mono_from_colour(mono)
    out = tmp_path / "mono.pt"
    assert main([str(ROOT / "edge_rppg" / "assets" / "cluster_phys_default.pt"), str(out)]) == 0
    loaded, _ = load_checkpoint(out)
    assert loaded.config.color_space == "gray"
