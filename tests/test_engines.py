"""Engines: ONNX Runtime (run for real), the PyTorch reference, and TensorRT (cache/sidecar
logic always; build and run only where TensorRT, pycuda and a GPU exist). Bad input gets a
clear error naming the problem: corrupt/truncated ONNX and engine files, engines for another
GPU or TensorRT version, stale engines, shape/dtype mismatches and a model T that differs
from the window fed."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from edge_rppg.pulse.engines.onnx_engine import OnnxRuntimeEngine, resolve_providers
from edge_rppg.pulse.engines.registry import load_engine
from edge_rppg.pulse.engines.tensorrt_engine import (ENGINE_FORMAT, ENGINE_FORMAT_VERSION, cache_key, check_sidecar,
                                               sidecar_path)
from edge_rppg.pulse.engines.torch_engine import TorchEngine
from edge_rppg.pulse.windows import infer_clip
from edge_rppg.errors import EdgeRPPGError, ModelFileError, ShapeError
from edge_rppg.pulse.models import ClusterPhys, ClusterPhysConfig
from edge_rppg.pulse.models.checkpoint import save_checkpoint
from edge_rppg.skin.mstmap import input_norm_of, normalize_window
from edge_rppg.synth.mstmap_gen import SynthConfig, synth_mstmap
from edge_rppg.export.onnx_export import export_onnx

TINY = dict(T=160, dim=8, heads=1, mlp_ratio=2.0, stages=2, prototypes=(8, 4), em_iters=1, dropout=0.0, seed=0)
HAVE_TRT = importlib.util.find_spec("tensorrt") is not None and importlib.util.find_spec("pycuda") is not None


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict:
    d = tmp_path_factory.mktemp("engines")
    model = ClusterPhys(ClusterPhysConfig(**TINY)).eval()
    return {"model": model, "onnx": export_onnx(model, d / "tiny.onnx").path,
            "pt": save_checkpoint(d / "tiny.pt", model), "dir": d}


@pytest.fixture(scope="module")
def window() -> np.ndarray:
    return synth_mstmap(SynthConfig(T=160), 7).mstmap


# ------------------------------------------------------------------ ONNX Runtime
def test_onnx_engine_matches_torch_reference(files: dict, window: np.ndarray) -> None:
    ort_engine = load_engine(files["onnx"])
    torch_engine = load_engine(files["pt"])
    assert isinstance(ort_engine, OnnxRuntimeEngine) and isinstance(torch_engine, TorchEngine)
    assert (ort_engine.info.T, ort_engine.info.precision, ort_engine.info.provider) == (160, "fp32", "cpu")
    assert torch_engine.info.T == 160
    a, b = ort_engine.infer(window), torch_engine.infer(window)
    assert a.shape == (160,) and a.dtype == np.float32 and np.isfinite(a).all()
    assert np.max(np.abs(a - b)) <= 1e-4
    assert np.max(np.abs(TorchEngine(files["model"]).infer(window) - b)) == 0.0


def test_onnx_engine_normalises_raw_windows(files: dict, window: np.ndarray) -> None:
    eng = OnnxRuntimeEngine(files["onnx"])
    mode = input_norm_of(eng.metadata)
    direct = eng.session.run(None, {"mstmap": normalize_window(window, mode)[None]})[0][0]
    assert np.array_equal(eng.infer(window), direct)
    # both normalisations make the output invariant to a global gain of the colours
    # (min-max also to an offset; AC/DC deliberately keeps the DC level)
    assert np.max(np.abs(eng.infer(window * 1.7) - direct)) < 1e-4


def test_onnx_engine_threads(files: dict, window: np.ndarray) -> None:
    one = OnnxRuntimeEngine(files["onnx"], intra_op_threads=1, inter_op_threads=1)
    two = OnnxRuntimeEngine(files["onnx"], intra_op_threads=2)
    assert np.max(np.abs(one.infer(window) - two.infer(window))) <= 1e-5


def test_onnx_engine_over_a_long_clip(files: dict) -> None:
    sample = synth_mstmap(SynthConfig.still(T=450, hr_range_bpm=(70.0, 70.0)), 3)
    bvp = infer_clip(OnnxRuntimeEngine(files["onnx"]), sample.mstmap)
    assert bvp.shape == (450,) and np.isfinite(bvp).all()


def test_clip_windows_on_several_threads_give_the_same_pulse(files: dict) -> None:
    """A concurrent engine's windows spread over threads stitch to the very same pulse as one
    thread, in window order; engines that do not say they are thread-safe stay on one."""
    from edge_rppg.pulse.engines.classic import ClassicEngine
    from edge_rppg.pulse.windows import clip_workers

    eng = OnnxRuntimeEngine(files["onnx"])
    assert eng.info.concurrent and not ClassicEngine("pos").info.concurrent
    assert clip_workers(ClassicEngine("pos")) == 1 and clip_workers(eng) >= 1
    sample = synth_mstmap(SynthConfig.still(T=520, hr_range_bpm=(70.0, 70.0)), 5)
    one = infer_clip(eng, sample.mstmap, workers=1)
    three = infer_clip(eng, sample.mstmap, workers=3)
    assert np.array_equal(one, three)
    reversed_clip = infer_clip(eng, sample.mstmap[::-1].copy(), workers=3)
    assert not np.array_equal(one, reversed_clip)   # the output does follow the input


def test_provider_resolution() -> None:
    assert resolve_providers(None, available=["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    full = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    auto = resolve_providers("auto", "int8", available=full)
    assert auto[0][0] == "TensorrtExecutionProvider" and auto[0][1]["trt_int8_enable"] is True
    assert auto[1:] == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert resolve_providers("auto", available=["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    assert resolve_providers("cuda", available=full) == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    with pytest.raises(ValueError, match="not available"):
        resolve_providers("cuda", available=["CPUExecutionProvider"])
    with pytest.raises(ValueError, match="unknown providers"):
        resolve_providers("npu", available=full)


def test_cuda_execution_provider(files: dict, window: np.ndarray) -> None:
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        pytest.skip("this ONNX Runtime build has no CUDAExecutionProvider (CPU-only machine)")
    gpu = OnnxRuntimeEngine(files["onnx"], providers="cuda")
    assert gpu.info.provider == "cuda"
    assert np.max(np.abs(gpu.infer(window) - OnnxRuntimeEngine(files["onnx"]).infer(window))) <= 1e-3


# ------------------------------------------------------------------ bad input
def test_bad_model_files(files: dict, tmp_path: Path) -> None:
    good = Path(files["onnx"]).read_bytes()
    cases = {"truncated.onnx": good[: len(good) // 2], "corrupt.onnx": bytes(range(256)) * 64, "empty.onnx": b""}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ModelFileError, match=name):
            OnnxRuntimeEngine(tmp_path / name)
    with pytest.raises(ModelFileError, match="not found"):
        OnnxRuntimeEngine(tmp_path / "missing.onnx")
    with pytest.raises(ModelFileError, match="not found"):
        load_engine(tmp_path / "missing.onnx")


def test_foreign_onnx_signature(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 10])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])
    model = helper.make_model(helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y]),
                              opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, tmp_path / "relu.onnx")
    with pytest.raises(ModelFileError, match=r"expected a static \[1, T, 63, 6\]"):
        OnnxRuntimeEngine(tmp_path / "relu.onnx")


def test_bad_windows(files: dict, window: np.ndarray) -> None:
    eng = OnnxRuntimeEngine(files["onnx"])
    with pytest.raises(ShapeError, match="T=150.*exported for T=160"):
        eng.infer(window[:150])
    with pytest.raises(ShapeError, match="float32"):
        eng.infer(window.astype(np.float64))
    with pytest.raises(ShapeError, match=r"\[160, 63, 6\]"):
        eng.infer(window[:, :, :3])
    with pytest.raises(ShapeError, match="numpy array"):
        eng.infer(window.tolist())  # type: ignore[arg-type]
    bad = window.copy()
    bad[5, 3, 1] = np.nan
    with pytest.raises(ShapeError, match="NaN"):
        eng.infer(bad)
    ref = TorchEngine(files["model"])
    with pytest.raises(ShapeError, match="T=150"):
        ref.infer(window[:150])


# ------------------------------------------------------------------ TensorRT: cache and sidecar (no GPU needed)
ENV = {"tensorrt_version": "10.3.0", "gpu_name": "Orin (nvgpu)", "compute_capability": "8.7"}


def _fake_engine(tmp_path: Path, **meta_over: object) -> Path:
    import hashlib

    engine = tmp_path / "model.engine"
    blob = b"serialised-engine-bytes" * 100
    engine.write_bytes(blob)
    meta = {"format": ENGINE_FORMAT, "format_version": ENGINE_FORMAT_VERSION, "onnx_sha256": "a" * 64,
            "precision": "fp16", "engine_sha256": hashlib.sha256(blob).hexdigest(), **ENV}
    meta.update(meta_over)
    sidecar_path(engine).write_text(json.dumps(meta))
    return engine


def test_cache_key_changes_with_every_component() -> None:
    base = cache_key("a" * 64, "10.3.0", "Orin", "fp16")
    assert base == cache_key("a" * 64, "10.3.0", "Orin", "fp16") and len(base) == 16
    others = {cache_key("b" * 64, "10.3.0", "Orin", "fp16"), cache_key("a" * 64, "10.7.0", "Orin", "fp16"),
              cache_key("a" * 64, "10.3.0", "NVIDIA H100", "fp16"), cache_key("a" * 64, "10.3.0", "Orin", "int8")}
    assert base not in others and len(others) == 4


def test_sidecar_accepts_a_matching_engine(tmp_path: Path) -> None:
    meta = check_sidecar(_fake_engine(tmp_path), ENV, onnx_sha256="a" * 64, precision="fp16")
    assert meta["gpu_name"] == ENV["gpu_name"]


@pytest.mark.parametrize("field,value,message", [
    ("gpu_name", "NVIDIA GeForce RTX 4090", "built for GPU"),
    ("tensorrt_version", "10.0.1", "built with TensorRT 10.0.1"),
    ("onnx_sha256", "c" * 64, "stale engine"),
    ("format_version", 0, "sidecar format"),
])
def test_sidecar_refuses_foreign_or_stale_engines(tmp_path: Path, field: str, value: object, message: str) -> None:
    engine = _fake_engine(tmp_path, **{field: value})
    with pytest.raises(ModelFileError, match=message):
        check_sidecar(engine, ENV, onnx_sha256="a" * 64)


def test_sidecar_detects_truncated_or_orphan_engines(tmp_path: Path) -> None:
    engine = _fake_engine(tmp_path)
    engine.write_bytes(engine.read_bytes()[:100])  # truncated after the sidecar was written
    with pytest.raises(ModelFileError, match="does not match its sidecar hash"):
        check_sidecar(engine, ENV)
    sidecar_path(engine).unlink()
    with pytest.raises(ModelFileError, match="no sidecar"):
        check_sidecar(engine, ENV)
    sidecar_path(engine).write_text("{not json")
    with pytest.raises(ModelFileError, match="unreadable engine sidecar"):
        check_sidecar(engine, ENV)


@pytest.mark.skipif(HAVE_TRT, reason="TensorRT is installed: the missing-TensorRT message is not reachable")
def test_tensorrt_missing_gives_a_clear_error(files: dict, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    engine = _fake_engine(tmp_path)
    with pytest.raises(EdgeRPPGError, match="TensorRT is not installed"):
        load_engine(engine)
    from edge_rppg.cli.main import main

    assert main(["build-engine", str(files["onnx"]), "--precision", "fp16"]) == 2
    assert "TensorRT is not installed" in capsys.readouterr().err


# ------------------------------------------------------------------ TensorRT: real build and run
def _gpu_ready() -> bool:
    if not HAVE_TRT:
        return False
    try:
        import pycuda.driver as cuda

        cuda.init()
        return cuda.Device.count() > 0
    except Exception:
        return False


trt_only = pytest.mark.skipif(not _gpu_ready(), reason="needs TensorRT 10/11 + pycuda + a CUDA GPU (absent here)")


@pytest.mark.gpu
@trt_only
@pytest.mark.parametrize("precision", ["fp16", "int8"])
def test_tensorrt_engine_builds_caches_and_runs(files: dict, window: np.ndarray, tmp_path: Path,
                                                precision: str) -> None:
    from edge_rppg.runtime.tensorrt_build import build_or_load

    import tensorrt as trt

    from edge_rppg.runtime.tensorrt_build import weakly_typed_available

    src = Path(files["onnx"])
    if precision == "fp16" and not weakly_typed_available(trt):  # TensorRT 11: strongly typed, FP16 file
        from edge_rppg.export.onnx_export import convert_fp16

        src = Path(convert_fp16(files["onnx"], tmp_path / "tiny.fp16.onnx").path)
    if precision == "int8":
        from edge_rppg.calibration.dataset import CalibrationConfig, build_calibration_set
        from edge_rppg.calibration.quantize import quantize_int8

        cs = build_calibration_set(CalibrationConfig(n_samples=8, T=160), cache_dir=tmp_path)
        src = tmp_path / "tiny.int8.onnx"
        quantize_int8(files["onnx"], src, cs.normalised())
    from edge_rppg.runtime.tensorrt_build import tensorrt_engine

    eng = tensorrt_engine(src, precision=precision, cache_dir=tmp_path / "engines")
    assert eng.info.T == 160 and eng.info.precision == precision
    ref = OnnxRuntimeEngine(files["onnx"]).infer(window)
    out = eng.infer(window)
    assert out.shape == (160,) and np.corrcoef(out, ref)[0, 1] > 0.98
    again = build_or_load(src, precision, tmp_path / "engines")
    assert again == eng.path  # cache hit, same key
    eng.path.write_bytes(eng.path.read_bytes()[:1000])  # damaged cache entry → rebuilt, never used
    rebuilt = build_or_load(src, precision, tmp_path / "engines")
    assert rebuilt.stat().st_size > 1000
