"""TensorRT 10/11 build decisions and the API-surface check, offline (no TensorRT, no GPU, no network).

``plan_build`` is the whole 10-vs-11 decision, so it is tested for both majors here; the real
build runs only on a GPU (tests/test_engines.py). ``tools/check_tensorrt_api.py`` is tested
on its AST side and its rule with synthetic name lists that mimic 10.x and 11.x (the
download against the real bindings runs in CI, .ci/run)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from edge_rppg.errors import EdgeRPPGError
from edge_rppg.runtime.tensorrt_build import VERSION_GUARDED, BuildPlan, legacy_calibrator_available, plan_build, \
    weakly_typed_available

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("check_tensorrt_api", ROOT / "tools/check_tensorrt_api.py")
api = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
sys.modules["check_tensorrt_api"] = api
_spec.loader.exec_module(api)  # type: ignore[union-attr]

#: what TensorRT 11 removed (the issue's list, confirmed in the 11.x bindings by the CI check)
REMOVED_IN_11 = {"FP16", "INT8", "int8_calibrator", "IInt8EntropyCalibrator2", "PREFER_PRECISION_CONSTRAINTS",
                 "OBEY_PRECISION_CONSTRAINTS", "precision", "set_output_type", "get_batch", "get_batch_size",
                 "read_calibration_cache", "write_calibration_cache"}


# ------------------------------------------------------------------------------------ plan_build
@pytest.mark.parametrize("graph,precision,weak,expected", [
    ("fp32", "fp16", True, BuildPlan(False, ("FP16",), constrain_density_peak=True)),     # 10.x weakly typed
    ("int8", "int8", True, BuildPlan(False, ("FP16", "INT8"), constrain_density_peak=True)),
    ("fp16", "fp16", True, BuildPlan(True)),                                                 # FP16 file: strongly typed
    ("fp16", "fp16", False, BuildPlan(True)),
    ("int8", "int8", False, BuildPlan(True)),                                                # 11.x Q/DQ: strongly typed
    ("fp32", "fp32", False, BuildPlan(True)),
    ("fp32", "fp32", True, BuildPlan(False)),
])
def test_plan_build_per_major(graph: str, precision: str, weak: bool, expected: BuildPlan) -> None:
    plan = plan_build(graph, precision, weakly_typed=weak, legacy_calibrator=weak, has_calibration=False)
    assert plan == expected
    if plan.strongly_typed:  # strongly typed networks take no precision flags and no constraints
        assert plan.flags == () and not plan.constrain_density_peak and not plan.legacy_calibrator


def test_plan_build_fp16_from_fp32_on_tensorrt11_names_the_fp16_export() -> None:
    with pytest.raises(EdgeRPPGError, match=r"export CHECKPOINT --fp16"):
        plan_build("fp32", "fp16", weakly_typed=False, legacy_calibrator=False, has_calibration=False)


def test_plan_build_legacy_calibration_only_where_the_calibrator_exists() -> None:
    plan = plan_build("fp32", "int8", weakly_typed=True, legacy_calibrator=True, has_calibration=True)
    assert plan.legacy_calibrator and plan.flags == ("FP16", "INT8") and not plan.strongly_typed
    with pytest.raises(EdgeRPPGError, match="removed in TensorRT 11"):
        plan_build("fp32", "int8", weakly_typed=False, legacy_calibrator=False, has_calibration=True)
    with pytest.raises(EdgeRPPGError, match="edge-rppg calibrate"):
        plan_build("fp32", "int8", weakly_typed=True, legacy_calibrator=True, has_calibration=False)


@pytest.mark.parametrize("graph,precision", [("fp16", "fp32"), ("fp16", "int8"), ("int8", "fp16"), ("int8", "fp32")])
def test_plan_build_refuses_mismatched_graphs(graph: str, precision: str) -> None:
    for weak in (True, False):
        with pytest.raises(EdgeRPPGError, match="builds .* engines only"):
            plan_build(graph, precision, weakly_typed=weak, legacy_calibrator=weak, has_calibration=False)


class _Flags:
    """Stand-in for ``trt.BuilderFlag`` of a release (only the member names matter to the probes)."""

    def __init__(self, names: set) -> None:
        for n in names:
            setattr(self, n, n)


class _FakeTRT:
    def __init__(self, version: str, flags: set, calibrator: bool) -> None:
        self.__version__ = version
        self.BuilderFlag = _Flags(flags)
        if calibrator:
            self.IInt8EntropyCalibrator2 = object


def test_probes_follow_the_installed_module() -> None:
    trt10 = _FakeTRT("10.3.0", {"FP16", "INT8", "PREFER_PRECISION_CONSTRAINTS"}, calibrator=True)
    trt11 = _FakeTRT("11.4.0.106", {"DEBUG", "REFIT"}, calibrator=False)
    assert weakly_typed_available(trt10) and legacy_calibrator_available(trt10)
    assert not weakly_typed_available(trt11) and not legacy_calibrator_available(trt11)
    # the version check stays even if a future 11.x kept the class around
    assert not legacy_calibrator_available(_FakeTRT("11.0.0", {"FP16", "INT8"}, calibrator=True))


# --------------------------------------------------------------------------- the API check, offline
def _release(version: str, names: set) -> "api.Release":
    return api.Release(version, set(names), sorted(n for n in names if api.IDENT.fullmatch(n)))


def _sources() -> list:
    return [ROOT / s for s in api.SOURCES]


def test_scan_finds_the_names_of_both_paths() -> None:
    uses = api.scan(_sources())
    names = {u.name for u in uses}
    # loading (core), strongly typed build, weakly typed build, legacy calibrator overrides
    assert {"deserialize_cuda_engine", "execute_async_v3", "set_tensor_address", "nptype", "STRONGLY_TYPED",
            "create_network", "build_serialized_network", "FP16", "PREFER_PRECISION_CONSTRAINTS",
            "int8_calibrator", "IInt8EntropyCalibrator2", "get_batch", "read_calibration_cache"} <= names
    guarded = api.version_guarded(ROOT / api.GUARD_MODULE)
    assert guarded == VERSION_GUARDED
    # every name TensorRT 11 removed is used only inside a guarded function (or in a hasattr probe)
    for u in uses:
        if u.name in REMOVED_IN_11 and u.kind != "probe":
            assert api.in_guarded(u, guarded), f"{u.name} used unguarded at {u.file}:{u.line}"


def test_probe_names_and_guard_placement_of_the_real_module() -> None:
    path = ROOT / api.GUARD_MODULE
    assert api.probe_names(path, "weakly_typed_available") == {"FP16", "INT8"}
    assert api.probe_names(path, "legacy_calibrator_available") == {"FP16", "INT8", "IInt8EntropyCalibrator2"}
    assert api.guard_violations(path, api.version_guarded(path)) == []


def _check(names: set) -> tuple:
    path = ROOT / api.GUARD_MODULE
    guarded = api.version_guarded(path)
    probes = {p: api.probe_names(path, p) for p in set(guarded.values())}
    return api.check(api.scan(_sources()), [_release("x", names)], guarded, probes, [])


def test_check_passes_on_10x_and_11x_like_name_sets_and_fails_when_a_common_name_goes() -> None:
    used = {u.name for u in api.scan(_sources())}
    ok10, report10 = _check(used)
    ok11, report11 = _check(used - REMOVED_IN_11)
    assert ok10 and ok11, report10 + report11
    assert "weakly_typed_available=on" in report10 and "weakly_typed_available=off" in report11
    ok, report = _check(used - {"execute_async_v3"})
    assert not ok and "MISSING execute_async_v3" in report
    # a 10.x release that lost a name of its (enabled) weakly typed path fails too
    ok, report = _check(used - {"PREFER_PRECISION_CONSTRAINTS"})
    assert not ok and "MISSING PREFER_PRECISION_CONSTRAINTS" in report


def _module(path: Path, source: str) -> Path:
    """Write a small Python module (``source`` dedented, its first newline dropped)."""
    import textwrap

    path.write_text(textwrap.dedent(source).lstrip("\n"))
    return path


def test_check_catches_the_unguarded_fp16_flag_of_the_old_build_path(tmp_path: Path) -> None:
    """The pre-fix code set BuilderFlag.FP16 on every build: on an 11.x name set that must fail."""
    old = _module(tmp_path / "old_build.py", """
        def build(trt, onnx):
            builder = trt.Builder(trt.Logger(trt.Logger.WARNING))
            config = builder.create_builder_config()
            config.set_flag(trt.BuilderFlag.FP16)
            config.int8_calibrator = None
        """)
    uses = api.scan([old], root=tmp_path)
    assert {"Builder", "create_builder_config", "set_flag", "BuilderFlag", "FP16", "int8_calibrator"} <= \
        {u.name for u in uses}
    ok, report = api.check(uses, [_release("11.x", {u.name for u in uses} - REMOVED_IN_11)], {}, {}, [])
    assert not ok and "MISSING FP16" in report and "MISSING int8_calibrator" in report


def test_guard_violation_is_reported(tmp_path: Path) -> None:
    src = _module(tmp_path / "m.py", """
        def weakly_typed_available(trt):
            return hasattr(trt.BuilderFlag, 'FP16')
        def _weak(trt, config):
            config.set_flag(trt.BuilderFlag.FP16)
        def build(trt, config):
            if weakly_typed_available(trt):
                _weak(trt, config)
            _weak(trt, config)
        """)
    out = api.guard_violations(src, {"_weak": "weakly_typed_available"})
    assert len(out) == 1 and "m.py:8" in out[0]


def test_binary_strings_and_tail_merged_names() -> None:
    blob = b"\x00\x01UINT8\x00FP16\x00reset_precision\x00   Example: CHW2 + FP32\x00\x7fELF"
    strings = api.binary_strings(blob)
    assert strings == ["UINT8", "FP16", "reset_precision", "   Example: CHW2 + FP32", "ELF"]
    rel = _release("r", set(strings))
    assert rel.presence("FP16") == "exact"
    assert rel.presence("INT8") == "tail" and rel.presence("precision") == "tail"  # merged into longer strings
    assert rel.presence("FP32") == "absent"  # only inside prose, not an identifier: does not count
    assert api.python_names("import os\ndef nptype(t):\n    pass\n__version__ = '1'\n") == {"nptype", "__version__"}


def test_engine_sidecar_records_the_input_norm_so_loading_needs_no_onnx(tmp_path: Path) -> None:
    import json as _json

    from edge_rppg.pulse.engines.tensorrt_engine import ENGINE_FORMAT
    from edge_rppg.model_file import read_metadata
    from edge_rppg.skin.mstmap import input_norm_of
    from edge_rppg.runtime.tensorrt_build import engine_sidecar

    src = ROOT / "edge_rppg/assets/cluster_phys_default.onnx"
    env = {"tensorrt_version": "10.3.0", "gpu_name": "Orin (nvgpu)", "compute_capability": "8.7"}
    meta = engine_sidecar(src, "a" * 64, "fp16", "", b"engine", "k" * 16, env)
    assert meta["format"] == ENGINE_FORMAT and meta["input_norm"] == input_norm_of(read_metadata(src))
    # the core's loader reads it from the sidecar alone (the ONNX file may be gone on the device)
    moved = dict(meta, onnx_path=str(tmp_path / "gone.onnx"))
    assert input_norm_of(_json.loads(_json.dumps(moved))) == meta["input_norm"]
