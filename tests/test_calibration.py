"""INT8 calibration: the stratified calibration set and its cache, Q/DQ quantisation
(symmetric signed INT8, per-channel weights, density-peak selection kept FP32, selectable
range method), the INT8-vs-FP32 report and ``edge-rppg calibrate``."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from edge_rppg.calibration.dataset import (HR_BANDS, CalibrationConfig, CalibrationSet, build_calibration_set,
                                 stratified_select, strata_grid, synthetic_windows, window_features)
from edge_rppg.calibration.quantize import QuantizeConfig, embedding_nodes, inspect_qdq, prototype_update_nodes, quantize_int8
from edge_rppg.calibration.report import int8_report
from edge_rppg.errors import ModelFileError
from edge_rppg.pulse.models import ClusterPhys, ClusterPhysConfig
from edge_rppg.export.onnx_export import META, export_onnx, read_metadata

TINY = dict(T=160, dim=8, heads=1, mlp_ratio=2.0, stages=2, prototypes=(8, 4), em_iters=1, dropout=0.0, seed=0)


@pytest.fixture(scope="module")
def fp32(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("calib") / "tiny.onnx"
    export_onnx(ClusterPhys(ClusterPhysConfig(**TINY)).eval(), out)
    return out


@pytest.fixture(scope="module")
def calib(tmp_path_factory: pytest.TempPathFactory) -> CalibrationSet:
    return build_calibration_set(CalibrationConfig(n_samples=36, T=160),
                                 cache_dir=tmp_path_factory.mktemp("calib_cache"))


@pytest.fixture(scope="module")
def int8(fp32: Path, calib: CalibrationSet) -> Path:
    out = fp32.with_name("tiny.int8.onnx")
    quantize_int8(fp32, out, calib.normalised(), QuantizeConfig(method="minmax"))
    return out


# ------------------------------------------------------------------ calibration set
def test_synthetic_set_covers_every_stratum(calib: CalibrationSet) -> None:
    assert calib.windows.shape == (36, 160, 63, 6) and calib.windows.dtype == np.float32
    assert len(strata_grid()) == 36
    assert sorted(calib.counts().values()) == [1] * 36  # one window per HR x light x motion cell
    for label, hr in zip(calib.strata, calib.hr_bpm):
        lo, hi = HR_BANDS[label.split("/")[0]]
        assert lo - 15 <= hr <= hi + 15  # the clip's mean HR sits in (or next to) its band
    again = synthetic_windows(36, 160, CalibrationConfig().seed)
    assert np.array_equal(again.windows, calib.windows)  # deterministic
    norm = calib.normalised()
    assert norm.min() >= 0.0 and norm.max() <= 1.0


def test_calibration_set_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = CalibrationConfig(n_samples=4, T=96)
    first = build_calibration_set(cfg, cache_dir=tmp_path)
    files = list(tmp_path.glob("calib_*.npz"))
    assert len(files) == 1 and cfg.key() in files[0].name
    import edge_rppg.calibration.dataset as ds
    def fail(*_a: object, **_k: object) -> None:
        raise AssertionError("cache was not used")

    monkeypatch.setattr(ds, "synthetic_windows", fail)
    second = build_calibration_set(cfg, cache_dir=tmp_path)
    assert np.array_equal(first.windows, second.windows) and first.strata == second.strata
    files[0].write_bytes(b"damaged")  # a damaged entry is rebuilt, not trusted
    monkeypatch.undo()
    third = build_calibration_set(cfg, cache_dir=tmp_path)
    assert np.array_equal(first.windows, third.windows)


def test_window_features_follow_the_generator() -> None:
    from edge_rppg.synth.mstmap_gen import SynthConfig, synth_mstmap

    from edge_rppg.calibration.dataset import LIGHT, MOTION

    def feats(**over: object) -> np.ndarray:
        return np.mean([window_features(synth_mstmap(SynthConfig(T=160, **over), s).mstmap) for s in range(6)], 0)

    still = feats(**LIGHT["steady"], **MOTION["still"])
    moving = feats(**LIGHT["steady"], **MOTION["strong"])
    drifting = feats(**LIGHT["drift"], **MOTION["still"])
    assert moving[1] > 2 * still[1]     # motion proxy
    assert drifting[0] > 2 * still[0]   # light variation


def test_stratified_select_reaches_rare_strata() -> None:
    rng = np.random.default_rng(0)
    common = rng.normal(0, 1, (90, 2))
    rare = rng.normal(10, 1, (10, 2))
    feats = np.vstack([common, rare])
    idx = stratified_select(feats, 12, bins=2, seed=0)
    assert len(idx) == 12 and len(set(idx.tolist())) == 12
    assert np.sum(idx >= 90) >= 3  # a random 12 of 100 would hold ~1 rare window
    assert np.array_equal(idx, stratified_select(feats, 12, bins=2, seed=0))
    assert np.array_equal(stratified_select(feats, 500), np.arange(100))


# ------------------------------------------------------------------ quantisation
def test_qdq_is_symmetric_int8_per_channel(int8: Path) -> None:
    proto = onnx.load(str(int8))
    onnx.checker.check_model(proto, full_check=True)
    inits = {t.name: t for t in proto.graph.initializer}
    zps = [inits[n.input[2]] for n in proto.graph.node
           if n.op_type in ("QuantizeLinear", "DequantizeLinear") and len(n.input) > 2]
    assert zps and all(z.data_type == onnx.TensorProto.INT8 for z in zps)
    assert all(not np.any(numpy_helper.to_array(z)) for z in zps)  # zero-points are 0
    s = inspect_qdq(proto)
    assert s.ok and s.per_channel_weights > 0
    assert set(s.quantized_ops) >= {"Gemm", "MatMul"}
    # the density-peak selection reads float tensors only
    assert s.density_peak_nodes > 0 and s.density_peak_fed_by_dq == []
    dq_out = {o for n in proto.graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    update = set(prototype_update_nodes(proto))
    assert update and not any(i in dq_out for n in proto.graph.node if n.name in update for i in n.input)
    embed = set(embedding_nodes(proto))  # the MSTmap itself is never put on an INT8 grid
    assert embed and not any(i in dq_out for n in proto.graph.node if n.name in embed for i in n.input)
    assert proto.graph.input[0].name not in {n.input[0] for n in proto.graph.node if n.op_type == "QuantizeLinear"}
    weight_dq = [n for n in proto.graph.node if n.op_type == "DequantizeLinear" and n.input[0] in inits]
    assert any(numpy_helper.to_array(inits[n.input[1]]).size > 1 for n in weight_dq)
    meta = read_metadata(int8)
    assert meta[META["precision"]] == "int8"
    q = json.loads(meta["edge_rppg.quantization"])
    assert q["method"] == "minmax" and q["samples"] == 36 and q["symmetric"] and q["format"] == "QDQ"
    assert meta[META["weights_sha256"]] == read_metadata(int8.with_name("tiny.onnx"))[META["weights_sha256"]]


def test_methods_are_selectable(fp32: Path, calib: CalibrationSet, int8: Path, tmp_path: Path) -> None:
    out = tmp_path / "pct.onnx"
    quantize_int8(fp32, out, calib.normalised()[:8], QuantizeConfig(method="percentile", percentile=99.0))

    def act_scales(path: Path) -> np.ndarray:
        proto = onnx.load(str(path))
        inits = {t.name: t for t in proto.graph.initializer}
        return np.array(sorted(float(numpy_helper.to_array(inits[n.input[1]]))
                               for n in proto.graph.node if n.op_type == "QuantizeLinear"
                               and n.input[0] not in inits and n.input[1] in inits))

    a, b = act_scales(int8), act_scales(out)
    assert a.shape == b.shape and not np.allclose(a, b)  # percentile clips ranges MinMax keeps
    assert json.loads(read_metadata(out)["edge_rppg.quantization"])["method"] == "percentile"
    with pytest.raises(ValueError, match="method must be one of"):
        QuantizeConfig(method="kl")


def test_quantize_rejects_bad_input(fp32: Path, int8: Path, calib: CalibrationSet, tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="expected an FP32"):
        quantize_int8(int8, tmp_path / "x.onnx", calib.normalised()[:2])
    with pytest.raises(ValueError, match=r"\[N, 160, 63, 6\]"):
        quantize_int8(fp32, tmp_path / "x.onnx", calib.normalised()[:2, :100])
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(fp32.read_bytes()[:5000])
    with pytest.raises(ModelFileError, match="junk.onnx"):
        quantize_int8(junk, tmp_path / "x.onnx", calib.normalised()[:2])


def test_int8_report_meets_the_goals(fp32: Path, int8: Path) -> None:
    rep = int8_report(fp32, int8, n_clips=6, clip_s=10.0)
    d = rep.to_dict()
    assert rep.clips == 6 and rep.clip_frames == 300
    assert rep.hr_mae_int8_vs_fp32_bpm <= 0.3 and d["hr_goal_met"]
    assert rep.pearson_mean >= 0.99 and d["pearson_goal_met"]
    assert np.isfinite(rep.hr_mae_fp32_vs_truth_bpm)


def test_cli_calibrate(fp32: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from edge_rppg.cli.main import main

    out = tmp_path / "cli.int8.onnx"
    rc = main(["calibrate", str(fp32), "-o", str(out), "--samples", "6", "--report", "2",
               "--cache-dir", str(tmp_path / "cache"), "--json"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert res["qdq"]["ok"] and res["calibration"]["windows"] == 6
    assert res["int8_vs_fp32"]["clips"] == 2
    assert read_metadata(out)[META["precision"]] == "int8"
    assert main(["calibrate", str(tmp_path / "none.onnx"), "-o", str(out)]) == 2
    assert "none.onnx" in capsys.readouterr().err
    # ONNX Runtime's histogram calibrators print progress; --json stdout must still parse
    rc = main(["calibrate", str(fp32), "-o", str(out), "--samples", "6", "--report", "0", "--method", "percentile",
               "--cache-dir", str(tmp_path / "cache"), "--json"])
    assert rc == 0 and json.loads(capsys.readouterr().out)["method"] == "percentile"
