"""Export of Cluster-Phys: the export-friendly density-peak selection, the static ONNX file
(checker, audit, metadata, simplification, FP16 variant), the equivalence proof and the
``edge-rppg export`` command.

The model under test is a small Cluster-Phys (D=8, two stages 63→8→4, T=160) built from a
fixed seed, so every number here is reproducible in a few seconds on two cores."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from edge_rppg.errors import ConfigError, ModelFileError
from edge_rppg.pulse.models import ClusterPhys, ClusterPhysConfig
from edge_rppg.pulse.models.checkpoint import save_checkpoint
from edge_rppg.pulse.models.fpc import dpc_knn_init, pairwise_distance
from edge_rppg.export.equivalence import EquivalenceConfig, run_equivalence
from edge_rppg.export.export_friendly import (DensityPeakSelect, FORBIDDEN_OPS, audit_onnx, is_export_friendly,
                                    make_export_friendly)
from edge_rppg.export.onnx_export import (META, convert_fp16, density_peak_nodes, export_onnx, read_metadata, weights_sha256)

TINY = dict(T=160, dim=8, heads=1, mlp_ratio=2.0, stages=2, prototypes=(8, 4), em_iters=1, dropout=0.0, seed=0)


def tiny_model(**changes: object) -> ClusterPhys:
    """The seeded small Cluster-Phys used by the export/calibration/engine tests."""
    return ClusterPhys(ClusterPhysConfig(**{**TINY, **changes})).eval()


@pytest.fixture(scope="module")
def model() -> ClusterPhys:
    return tiny_model()


@pytest.fixture(scope="module")
def exported(model: ClusterPhys, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("export") / "tiny.onnx"
    return export_onnx(model, out)


# ------------------------------------------------------------------ the selection swap
@pytest.mark.parametrize("n,K", [(63, 32), (63, 8), (32, 16), (8, 4), (5, 5), (4, 1)])
def test_density_peak_select_is_bit_identical_to_reference(n: int, K: int) -> None:
    g = torch.Generator().manual_seed(n * 100 + K)
    x = torch.randn(64, n, 12, generator=g)
    x[:8] = torch.round(x[:8])          # many exact distance/density ties
    x[8:12] = 0.0                       # all points equal: everything ties
    x[12:16, 1:] = x[12:16, :1]         # all points equal to the first
    ref_idx, ref_proto = dpc_knn_init(x, K, 5)
    sel = DensityPeakSelect(n, K, 5)
    idx, proto = sel(x)
    assert torch.equal(idx, ref_idx.to(idx.dtype))
    assert torch.equal(proto, ref_proto)
    # same distances as the model's own function, bit for bit (the swap must not drift from it)
    assert torch.equal(sel.distances(x), pairwise_distance(x))
    # exactly K winners per frame, in strictly ascending ROI order, all valid indices
    assert idx.shape == (64, K)
    assert bool((idx[:, 1:] > idx[:, :-1]).all()) and bool((idx >= 0).all()) and bool((idx < n).all())
    assert torch.equal(sel(x)[0], idx)  # deterministic


@pytest.mark.parametrize("n,K", [(63, 32), (32, 16), (8, 4), (5, 5), (4, 1)])
def test_soft_density_peak_select_is_bit_identical_to_reference(n: int, K: int) -> None:
    """The soft selection (select_temperature > 0): the export module runs the reference
    function on its constant buffers, so both give the same bits, ties included."""
    g = torch.Generator().manual_seed(n * 10 + K)
    x = torch.randn(32, n, 12, generator=g)
    x[:6] = torch.round(x[:6])
    x[6:9] = 0.0
    ref_idx, ref_proto = dpc_knn_init(x, K, 5, 0.05)
    idx, proto = DensityPeakSelect(n, K, 5, temperature=0.05)(x)
    assert torch.equal(idx, ref_idx) and torch.equal(proto, ref_proto)
    assert bool(torch.isfinite(proto).all())
    with pytest.raises(ValueError, match="temperature"):
        DensityPeakSelect(n, K, 5, temperature=-1.0)


def test_density_peak_select_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError, match="K must be in"):
        DensityPeakSelect(8, 9, 5)
    with pytest.raises(ValueError, match="built for n=8"):
        DensityPeakSelect(8, 4, 5)(torch.zeros(2, 7, 3))


def test_make_export_friendly_patches_a_copy(model: ClusterPhys) -> None:
    friendly = make_export_friendly(model)
    assert is_export_friendly(friendly) and not is_export_friendly(model)
    assert all(st.cluster.init_fn is dpc_knn_init for st in model.stages)  # original untouched
    x = torch.rand(3, 160, 63, 6, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(model(x), friendly(x))
    assert weights_sha256(friendly) == weights_sha256(model)  # the swap adds no weights


# ------------------------------------------------------------------ the ONNX file
def test_export_is_static_checked_and_self_contained(exported, model: ClusterPhys) -> None:
    proto = onnx.load(str(exported.path))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version >= 17
    assert audit_onnx(proto) == []
    dims = [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [1, 160, 63, 6]
    assert [d.dim_value for d in proto.graph.output[0].type.tensor_type.shape.dim] == [1, 160]
    assert all(t.data_location != onnx.TensorProto.EXTERNAL for t in proto.graph.initializer)
    ops = {n.op_type for n in proto.graph.node}
    assert not ops & set(FORBIDDEN_OPS) and "CumSum" not in ops
    topks = [n for n in proto.graph.node if n.op_type == "TopK"]
    assert len(topks) == 2  # per stage: only the K-th best score (static K); the kNN density is TopK-free
    assert exported.K == (8, 4) and exported.T == 160
    assert exported.simplified and exported.nodes_after < exported.nodes_before
    assert exported.nodes_after == len(proto.graph.node)
    assert len(density_peak_nodes(proto)) > 0


def test_metadata_carries_config_and_weight_hash(exported, model: ClusterPhys) -> None:
    meta = read_metadata(exported.path)
    assert meta[META["format"]] == "edge_rppg.onnx" and meta[META["format_version"]] == "1"
    assert ClusterPhysConfig.from_dict(json.loads(meta[META["config"]])) == model.config
    assert meta[META["weights_sha256"]] == weights_sha256(model) == exported.weights_sha256
    assert meta[META["T"]] == "160" and meta[META["K"]] == "8,4" and meta[META["precision"]] == "fp32"
    other = tiny_model(seed=1)
    assert weights_sha256(other) != weights_sha256(model)


def test_export_at_another_T(model: ClusterPhys, tmp_path: Path) -> None:
    res = export_onnx(model, tmp_path / "t128.onnx", T=128, simplify=False)
    proto = onnx.load(str(res.path))
    assert [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim] == [1, 128, 63, 6]
    meta = read_metadata(res.path)
    assert meta[META["T"]] == "128" and json.loads(meta[META["config"]])["T"] == 128
    assert meta[META["weights_sha256"]] == weights_sha256(model)  # same weights, other T
    assert not res.simplified and res.nodes_after == res.nodes_before


def test_export_rejects_low_opset(model: ClusterPhys, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"opset must be an integer in \[17, 20\], got 13"):
        export_onnx(model, tmp_path / "x.onnx", opset=13)


def test_audit_flags_what_the_reference_selection_exports(exported) -> None:
    """Without the swap the traced hard selection has a shape computed at run time (Expand
    of a Shape) and an int64 CumSum; the swapped graph has neither."""
    import io
    import warnings

    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(tiny_model(select_temperature=0.0), (torch.rand(1, 160, 63, 6),), buf, dynamo=False,
                          opset_version=17)
    reference = onnx.load_from_string(buf.getvalue())
    assert any("non-static shape" in p for p in audit_onnx(reference))
    assert "CumSum" in {n.op_type for n in reference.graph.node}
    friendly_ops = {n.op_type for n in onnx.load(str(exported.path)).graph.node}
    assert not friendly_ops & {"CumSum", "Expand", "Shape", "EyeLike"}


def test_audit_flags_dynamic_topk_and_nonzero() -> None:
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 10])
    k = helper.make_tensor_value_info("k", TensorProto.INT64, [1])
    v = helper.make_tensor_value_info("v", TensorProto.FLOAT, None)
    nz = helper.make_tensor_value_info("nz", TensorProto.INT64, None)
    g = helper.make_graph([helper.make_node("TopK", ["x", "k"], ["v", "i"], name="topk"),
                           helper.make_node("NonZero", ["x"], ["nz"], name="nonzero")], "g", [x, k], [v, nz])
    problems = audit_onnx(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]))
    assert any("data-dependent k" in p for p in problems)
    assert any("NonZero" in p for p in problems)
    assert any("non-static shape" in p for p in problems)


def test_fp16_variant(exported, tmp_path: Path) -> None:
    import onnxruntime as ort

    half = convert_fp16(exported.path, tmp_path / "tiny.fp16.onnx")
    proto = onnx.load(str(half.path))
    onnx.checker.check_model(proto, full_check=True)
    assert read_metadata(half.path)[META["precision"]] == "fp16"
    f32, f16 = onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16
    assert proto.graph.input[0].type.tensor_type.elem_type == f32  # I/O stays float32
    assert proto.graph.output[0].type.tensor_type.elem_type == f32
    inits = {t.name: t.data_type for t in proto.graph.initializer}
    assert sum(v == f16 for v in inits.values()) > sum(v == f32 for v in inits.values())
    for node in proto.graph.node:  # the density-peak selection never reads FP16 constants
        if "/density_peak/" in node.name:
            assert all(inits.get(i) != f16 for i in node.input), node.name
    x = np.random.default_rng(0).random((1, 160, 63, 6), dtype=np.float32)
    providers = ["CUDAExecutionProvider"] if "CUDAExecutionProvider" in ort.get_available_providers() else []
    a = ort.InferenceSession(str(exported.path), providers=["CPUExecutionProvider"]).run(None, {"mstmap": x})[0]
    b = ort.InferenceSession(str(half.path), providers=providers + ["CPUExecutionProvider"]).run(None, {"mstmap": x})[0]
    assert b.dtype == np.float32 and b.shape == (1, 160)
    assert np.corrcoef(a[0], b[0])[0, 1] > 0.99
    with pytest.raises(ModelFileError, match="expected an FP32"):
        convert_fp16(half.path, tmp_path / "again.onnx")


# ------------------------------------------------------------------ equivalence
def test_equivalence_reduced(model: ClusterPhys, exported) -> None:
    rep = run_equivalence(model, exported.path, EquivalenceConfig(n_random=10, n_synthetic=10))
    s = rep.summary()
    assert s["original-friendly"]["all"]["max_abs"] == 0.0  # the swap is exact in PyTorch
    assert s["original-ort"]["all"]["max_abs"] <= 1e-4
    assert s["original-ort"]["all"]["hr_identical"] == 20
    assert s["selection_flips"]["frames_flipped_per_stage"] == [0, 0]
    assert s["selection_flips"]["frames_materially_flipped_per_stage"] == [0, 0]
    assert rep.passed
    synth = [c for c in rep.clips if c.kind == "synthetic"]
    assert len(synth) == 10 and all(c.true_hr_bpm is not None for c in synth)


@pytest.mark.slow
def test_equivalence_full_100_random_100_synthetic(model: ClusterPhys, exported) -> None:
    """The full proof on 100 random + 100 synthetic clips: the PyTorch swap is exact, and
    ONNX Runtime reproduces PyTorch within 1e-4 with identical HR on every clip (the model
    uses the soft nearest-prototype match, so no discrete decision is left that float
    rounding can flip materially)."""
    rep = run_equivalence(model, exported.path, EquivalenceConfig(n_random=100, n_synthetic=100))
    s = rep.summary()
    assert s["original-friendly"]["all"]["max_abs"] == 0.0
    ort_pair = s["original-ort"]["all"]
    assert ort_pair["clips"] == 200
    assert ort_pair["clips_within_atol"] == 200 and ort_pair["hr_identical"] == 200, json.dumps(s)
    assert ort_pair["max_abs"] <= 1e-4 and ort_pair["median_abs"] <= 1e-6
    assert s["selection_flips"]["clips_with_material_flips"] == 0
    assert rep.passed


def test_equivalence_refuses_another_models_file(exported) -> None:
    with pytest.raises(ModelFileError, match="weight hash"):
        run_equivalence(tiny_model(seed=3), exported.path, EquivalenceConfig(n_random=1, n_synthetic=0))


# ------------------------------------------------------------------ CLI
def test_cli_export(model: ClusterPhys, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from edge_rppg.cli.main import main

    ckpt = save_checkpoint(tmp_path / "tiny.pt", model)
    out = tmp_path / "cli.onnx"
    assert main(["export", str(ckpt), "-o", str(out), "--fp16", "--verify", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["verify"]["passed"] and result["fp32"]["T"] == 160
    assert out.is_file() and (tmp_path / "cli.fp16.onnx").is_file()
    assert read_metadata(out)[META["weights_sha256"]] == weights_sha256(model)


def test_cli_export_bad_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from edge_rppg.cli.main import main

    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    assert main(["export", str(bad), "-o", str(tmp_path / "x.onnx")]) == 2
    assert "bad.pt" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "missing.pt"), "-o", str(tmp_path / "x.onnx")]) == 2
    assert "missing.pt" in capsys.readouterr().err


# ------------------------------------------------------------------ the shipped model
ASSETS = Path(__file__).resolve().parents[1] / "edge_rppg" / "assets"


@pytest.mark.slow
def test_shipped_onnx_reproduces_the_shipped_checkpoint() -> None:
    """The acceptance proof on the model users actually get: the bundled ONNX file is the
    export of the bundled checkpoint (same weight hash) and ONNX Runtime reproduces it on
    100 random + 100 synthetic clips within 1e-4 with identical HR."""
    from edge_rppg.pulse.models.checkpoint import load_checkpoint

    model, _ = load_checkpoint(ASSETS / "cluster_phys_default.pt")
    assert model.config.assign_temperature > 0
    onnx_path = ASSETS / "cluster_phys_default.onnx"
    assert read_metadata(onnx_path)[META["weights_sha256"]] == weights_sha256(model)
    rep = run_equivalence(model, onnx_path, EquivalenceConfig(n_random=100, n_synthetic=100))
    s = rep.summary()
    assert s["original-friendly"]["all"]["max_abs"] == 0.0
    assert s["original-ort"]["all"]["max_abs"] <= 1e-4, json.dumps(s["original-ort"])
    assert s["original-ort"]["all"]["hr_identical"] == 200
    assert rep.passed
