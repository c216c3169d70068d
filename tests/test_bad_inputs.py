"""Bad inputs (issue 12, the bad-input half), as one table a reader can scan.

Each row is ``(id, what is tried, what must happen)``. Three kinds of rows:

- ``CLI_CASES``: a command line that must end with exactly one stderr line
  ``edge-rppg CMD: error: ...`` naming the problem, and exit code 2 (no traceback);
- ``API_CASES``: a call that must raise a specific :class:`~edge_rppg.errors.EdgeRPPGError`
  subtype with a message naming the problem, promptly (a hang or a huge allocation fails
  the row instead of stalling the suite);
- ``BEHAVIOUR_CASES``: a call whose result must show the promised behaviour (a warning
  carried in the result, strict JSON, no stray file, no native log line after an error).

Every row failed on the code before issue 12 (tracebacks, hangs, gigabyte allocations,
silent acceptance). ``test_count`` prints how many bad inputs this module tries.
The validity half of the issue (time base, artefacts, clip validity) is tests/test_validity.py.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import numpy as np
import pytest

from edge_rppg.errors import ConfigError, EdgeRPPGError, ModelFileError, UnknownNameError

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[1]
EXECUTED = "EXECUTED_ON_LOAD"  # what a malicious pickle / YAML tag would create if it ran


# ----------------------------------------------------------------------------- inputs
class Inputs:
    """Every bad file the table refers to, made once per module in ``tmp`` (lazily)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self._made: Dict[str, Path] = {}

    def __getitem__(self, name: str) -> Path:
        if name not in self._made:
            self._made[name] = getattr(self, f"_make_{name.replace('.', '_').replace('-', '_')}")()
        return self._made[name]

    def fmt(self, text: str) -> str:
        """``{name}`` in ``text`` -> the path of input ``name``."""
        import re

        return re.sub(r"\{([\w.\-]+)\}", lambda m: str(self[m.group(1)]), text)

    # checkpoints
    def _tiny_payload(self) -> Dict[str, Any]:
        from edge_rppg.pulse.models.checkpoint import save_checkpoint
        from edge_rppg.pulse.models.cluster_phys import ClusterPhys, ClusterPhysConfig

        cfg = ClusterPhysConfig(T=32, dim=16, heads=2, mlp_ratio=2.0, em_iters=1, dropout=0.0, knn_k=3)
        path = save_checkpoint(self.tmp / "tiny.pt", ClusterPhys(cfg))
        return torch.load(path, weights_only=True)

    def _make_lists_pt(self) -> Path:
        p = self._tiny_payload()
        p["state_dict"] = {k: v.tolist() for k, v in p["state_dict"].items()}
        torch.save(p, self.tmp / "lists.pt")
        return self.tmp / "lists.pt"

    def _make_huge_dim_pt(self) -> Path:  # 1.9 KB file, config says dim 16384 x depth 8
        p = self._tiny_payload()
        p["config"] = {**p["config"], "dim": 16384, "depth": 8}
        p["state_dict"] = {}
        torch.save(p, self.tmp / "huge_dim.pt")
        return self.tmp / "huge_dim.pt"

    def _make_huge_params_pt(self) -> Path:  # every size within bounds, together ~10^10 parameters
        p = self._tiny_payload()
        p["config"] = {**p["config"], "dim": 2048, "heads": 8, "depth": 32, "mlp_ratio": 16.0}
        p["state_dict"] = {}
        torch.save(p, self.tmp / "huge_params.pt")
        return self.tmp / "huge_params.pt"

    def _make_pickle_pt(self) -> Path:
        marker = self.tmp / EXECUTED

        class Evil:
            def __reduce__(self) -> Tuple[Any, ...]:
                return (Path.touch, (marker,))

        torch.save({"format": "edge_rppg.checkpoint", "x": Evil()}, self.tmp / "pickle.pt")
        return self.tmp / "pickle.pt"

    def _make_nan_onnx(self) -> Path:  # a well-formed [1,160,63,6] -> [1,160] model whose output is NaN
        onnx = pytest.importorskip("onnx")
        from onnx import TensorProto, helper, numpy_helper

        T = 160
        graph = helper.make_graph(
            [helper.make_node("ReduceMean", ["x", "axes"], ["m"], keepdims=0), helper.make_node("Mul", ["m", "nan"], ["y"])],
            "nan_model", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, T, 63, 6])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, T])],
            [numpy_helper.from_array(np.array(np.nan, np.float32), "nan"),
             numpy_helper.from_array(np.array([2, 3], np.int64), "axes")])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
        model.ir_version = 8
        onnx.save(model, str(self.tmp / "nan.onnx"))
        return self.tmp / "nan.onnx"

    # ground-truth folders for `evaluate` (a video file need not decode: the JSON is read first)
    def _gt_folder(self, name: str, text: str) -> Path:
        d = self.tmp / name
        d.mkdir()
        (d / "clip.avi").write_bytes(b"not decoded")
        (d / "clip.json").write_text(text)
        return d

    def _make_gt_null(self) -> Path:
        return self._gt_folder("gt_null", '{"hr_bpm": null}')

    def _make_gt_list(self) -> Path:
        return self._gt_folder("gt_list", "[72.0]")

    def _make_gt_malformed(self) -> Path:
        return self._gt_folder("gt_malformed", '{"hr_bpm": 72.0')

    def _make_gt_infinity(self) -> Path:  # Python's json reads Infinity
        return self._gt_folder("gt_infinity", '{"hr_bpm": Infinity}')

    def _make_gt_negative(self) -> Path:
        return self._gt_folder("gt_negative", '{"hr_bpm": -72}')

    def _make_gt_text(self) -> Path:
        return self._gt_folder("gt_text", '{"hr_bpm": "72"}')

    # training recipes
    def _recipe(self, name: str, text: str) -> Path:
        (self.tmp / name).write_text(text)
        return self.tmp / name

    def _make_syntax_yaml(self) -> Path:
        return self._recipe("syntax.yaml", "lr: [1, 2\n")

    def _make_python_tag_yaml(self) -> Path:
        return self._recipe("python_tag.yaml", f"lr: !!python/object/apply:pathlib.Path.touch ['{self.tmp / EXECUTED}']\n")

    def _make_dim_text_yaml(self) -> Path:
        return self._recipe("dim_text.yaml", "model: {dim: 'x'}\n")

    def _make_T_1e9_yaml(self) -> Path:
        return self._recipe("T_1e9.yaml", "T: 1e9\n")

    def _make_ok_yaml(self) -> Path:  # a valid recipe, for the --set rows
        return self._recipe("ok.yaml", f"steps: 1\noutput_dir: {self.tmp / 'train_out'}\n")

    # videos
    def _make_outdir(self) -> Path:
        (self.tmp / "outdir").mkdir()
        return self.tmp / "outdir"

    def _make_clip(self) -> Path:  # 20 s, small frames: a face the landmarker finds
        from edge_rppg.synth.video_gen import PRESETS, synth_video

        cfg = PRESETS["still"]
        cfg = type(cfg).from_dict({**cfg.to_dict(), "duration_s": 20.0, "hr_bpm": 72.0, "width": 160, "height": 120})
        synth_video(self.tmp / "clip.avi", cfg, seed=12)
        return self.tmp / "clip.avi"

    def _make_truncated(self) -> Path:  # the clip cut at 75 % of its bytes (a download that stopped)
        data = self["clip"].read_bytes()
        (self.tmp / "truncated.avi").write_bytes(data[: int(len(data) * 0.75)])
        return self.tmp / "truncated.avi"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    return Inputs(tmp_path_factory.mktemp("bad_inputs"))


# ----------------------------------------------------------------------------- helpers
def within(seconds: float, fn: Callable[[], Any]) -> Any:
    """``fn()`` in a thread; fail (instead of hanging the suite) if it does not return in time."""
    out: Dict[str, Any] = {}

    def target() -> None:
        try:
            out["value"] = fn()
        except BaseException as exc:  # re-raised in the caller
            out["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"did not return within {seconds} s (hang)"
    if "error" in out:
        raise out["error"]
    return out.get("value")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def first_frame(path: Path) -> np.ndarray:
    from edge_rppg.frames.video import open_video

    with open_video(path) as reader:
        return next(iter(reader))


# ----------------------------------------------------------------------------- CLI rows
#: (id, argv with {input} placeholders, words the one-line error must contain)
CLI_CASES: List[Tuple[str, str, Tuple[str, ...]]] = [
    # checkpoints whose state_dict values are lists
    ("eval-list-state-dict", "evaluate --checkpoint {lists.pt}", ("lists.pt", "not tensors")),
    ("estimate-engine-list-state-dict", "estimate {clip} --engine {lists.pt}", ("lists.pt", "not tensors")),
    ("export-list-state-dict", "export {lists.pt} -o {outdir}/m.onnx", ("lists.pt", "not tensors")),
    ("eval-raw-pickle", "evaluate --checkpoint {pickle.pt}", ("not a safe checkpoint",)),
    ("eval-huge-config", "evaluate --checkpoint {huge_dim.pt}", ("dim=16384",)),
    # evaluate ground truth
    ("evaluate-gt-null", "evaluate {gt_null}", ("clip.json", "hr_bpm")),
    ("evaluate-gt-list", "evaluate {gt_list}", ("clip.json", "hr_bpm")),
    ("evaluate-gt-malformed-names-file", "evaluate {gt_malformed}", ("clip.json", "not valid JSON")),
    # training recipes
    ("train-yaml-syntax-error", "train {syntax.yaml}", ("syntax.yaml", "YAML")),
    ("train-yaml-python-tag", "train {python_tag.yaml}", ("python_tag.yaml",)),
    ("train-model-dim-text", "train {dim_text.yaml}", ("dim='x'",)),
    ("train-T-1e9", "train {T_1e9.yaml}", ("T",)),
    ("train-set-T-1e9", "train {ok.yaml} --set T=1e9", ("T",)),
    ("train-set-unparsable-yaml", "train {ok.yaml} --set lr=[1", ("--set",)),
    ("train-set-model-heads-0", "train {ok.yaml} --set model.heads=0", ("heads",)),
    ("train-set-unknown-preset", "train {ok.yaml} --set model_preset=nope", ("nope",)),
    ("train-set-n-clips-1e12", "train {ok.yaml} --set data.0.n_clips=1e12", ("n_clips",)),
    ("evaluate-gt-infinity", "evaluate {gt_infinity}", ("clip.json", "hr_bpm")),
    ("evaluate-gt-negative", "evaluate {gt_negative}", ("clip.json", "hr_bpm")),
    ("evaluate-gt-text", "evaluate {gt_text}", ("clip.json", "hr_bpm")),
    ("eval-split-text", "evaluate --checkpoint {lists.pt} --dataset ubfc --root {outdir} --split a", ("--split",)),
    ("export-T-zero", "export {lists.pt} -o {outdir}/t.onnx --T 0", ("--T",)),
    ("synth-fps-zero", "synth {outdir}/s.avi --set fps=0", ("fps",)),
    ("synth-height-negative", "synth {outdir}/s.avi --set height=-1", ("height",)),
    ("run-max-num-faces-zero", "run --source {clip} --model pos --max-num-faces 0", ("--max-num-faces",)),
    ("run-queue-size-zero", "run --source {clip} --model pos --queue-size 0", ("--queue-size",)),
    ("run-video-sink-without-out", "run --source {clip} --model pos --sink video", ("--out",)),
    ("run-video-sink-bad-suffix", "run --source {clip} --model pos --sink video --out {outdir}/a.txt", ("video sink",)),
    # synth
    ("synth-duration-inf", "synth {outdir}/s.avi --duration inf", ("duration_s",)),
    ("synth-duration-nan", "synth {outdir}/s.avi --duration nan", ("duration_s",)),
    ("synth-width-text", "synth {outdir}/s.avi --set width=\"abc\"", ("width",)),
    ("synth-width-1e9", "synth {outdir}/s.avi --set width=1e9", ("width",)),
    # negative / zero sizes on the command line
    ("estimate-window-negative", "estimate {clip} --engine pos --window-s -5", ("--window-s",)),
    ("estimate-window-zero", "estimate {clip} --engine pos --window-s 0", ("--window-s",)),
    ("estimate-window-inf", "estimate {clip} --engine pos --window-s inf", ("--window-s",)),
    ("estimate-hop-negative", "estimate {clip} --engine pos --hop-s -1", ("--hop-s",)),
    ("estimate-landmark-model-unknown", "estimate {clip} --engine pos --landmark-model nope", ("landmark_model", "onnx")),
    ("run-landmark-model-unknown", "run --source {clip} --model pos --landmark-model nope", ("landmark_model", "onnx")),
    ("estimate-hop-over-window", "estimate {clip} --engine pos --window-s 5 --hop-s 6", ("--hop-s",)),
    ("run-max-frames-negative", "run --source {clip} --model pos --max-frames -1", ("--max-frames",)),
    ("run-window-negative", "run --source {clip} --model pos --window -5", ("--window",)),
    ("run-window-huge", "run --source {clip} --model pos --window 100000000", ("--window",)),
    ("eval-n-clips-negative", "evaluate --checkpoint {lists.pt} --n-clips -1", ("--n-clips",)),
    ("export-output-is-folder", "export {lists.pt} -o {outdir}", ("is a folder",)),
]


@pytest.mark.parametrize("argv,words", [pytest.param(a, w, id=i) for i, a, w in CLI_CASES])
def test_cli_one_line_error(inputs: Inputs, capsys: pytest.CaptureFixture, argv: str, words: Tuple[str, ...]) -> None:
    import shlex

    from edge_rppg.cli.main import main

    args = shlex.split(inputs.fmt(argv))
    code = main(args)
    err = capsys.readouterr().err.strip()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith(f"edge-rppg {args[0]}: error: "), err
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert "weights_only=False" not in lines[0]
    assert not (inputs.tmp / EXECUTED).exists(), "a pickle or YAML tag executed on load"


# ----------------------------------------------------------------------------- API rows
def _process_at(t: float) -> Callable[[Inputs], Any]:
    def call(inp: Inputs) -> Any:
        from edge_rppg import EdgeRPPG

        frame = first_frame(inp["clip"])
        with EdgeRPPG("pos") as rppg:
            return within(60, lambda: rppg.process(frame, timestamp=t))
    return call


def _window_stage(**kw: Any) -> Callable[[Inputs], Any]:
    def call(inp: Inputs) -> Any:
        from edge_rppg.skin.window import WindowStage

        return WindowStage(**kw)
    return call


def _load(name: str) -> Callable[[Inputs], Any]:
    def call(inp: Inputs) -> Any:
        from edge_rppg.pulse.models.checkpoint import load_checkpoint

        before = peak_rss_mb()
        try:
            return within(60, lambda: load_checkpoint(inp[name]))
        finally:
            assert peak_rss_mb() - before < 1000, "the loader allocated > 1 GB for a tiny file"
    return call


def _train_config(**kw: Any) -> Callable[[Inputs], Any]:
    def call(inp: Inputs) -> Any:
        from edge_rppg.training.config import TrainConfig

        return TrainConfig.from_dict(kw)
    return call


def _estimate_frames(fps: float) -> Callable[[Inputs], Any]:
    def call(inp: Inputs) -> Any:
        from edge_rppg import estimate

        frames = [first_frame(inp["clip"])] * 40
        before = peak_rss_mb()
        try:
            return within(120, lambda: estimate(frames, engine="pos", fps=fps))
        finally:
            assert peak_rss_mb() - before < 2000, "allocated > 2 GB for 40 frames"
    return call


def _onnx_nan(inp: Inputs) -> Any:
    from edge_rppg.pulse.engines.onnx_engine import OnnxRuntimeEngine

    window = np.random.default_rng(0).uniform(50, 200, (160, 63, 6)).astype(np.float32)
    return OnnxRuntimeEngine(inp["nan.onnx"]).infer(window)


def _save_onnx_into_folder(inp: Inputs) -> Any:
    onnx = pytest.importorskip("onnx")
    from edge_rppg.export.onnx_export import save_onnx

    folder = inp["outdir"]
    try:
        save_onnx(onnx.ModelProto(), folder)
    finally:
        assert not folder.with_name(folder.name + ".tmp").exists(), "stray .tmp left behind"


#: (id, call, expected error type, words the message must contain)
API_CASES: List[Tuple[str, Callable[[Inputs], Any], type, Tuple[str, ...]]] = [
    ("process-timestamp-1e300-hang", _process_at(1e300), ConfigError, ("timestamp",)),
    ("process-timestamp-in-ms", _process_at(1.7e12), ConfigError, ("timestamp",)),
    ("process-timestamp-inf", _process_at(float("inf")), ConfigError, ("timestamp",)),
    ("checkpoint-dim-16384-depth-8", _load("huge_dim.pt"), ModelFileError, ("dim=16384",)),
    ("checkpoint-1e10-parameters", _load("huge_params.pt"), ModelFileError, ("parameters",)),
    ("checkpoint-list-state-dict", _load("lists.pt"), ModelFileError, ("not tensors",)),
    ("checkpoint-raw-pickle", _load("pickle.pt"), ModelFileError, ("not a safe checkpoint",)),
    ("window-stage-window-1e9", _window_stage(window=10**9), ConfigError, ("window",)),
    ("window-stage-model-fps-1e9", _window_stage(model_fps=1e9), ConfigError, ("model_fps",)),
    ("window-stage-engine-hop-s-1e9", _window_stage(engine_hop_s=1e9), ConfigError, ("engine_hop_s",)),
    ("window-stage-bridge-s-inf", _window_stage(bridge_s=float("inf")), ConfigError, ("bridge_s",)),
    ("estimate-frames-fps-1e-6", _estimate_frames(1e-6), EdgeRPPGError, ("fps",)),
    ("train-config-T-1e9", _train_config(T=1e9), ConfigError, ("T",)),
    ("train-config-batch-1e6", _train_config(batch_size=10**6), ConfigError, ("batch_size",)),
    ("train-config-steps-1e12", _train_config(steps=10**12), ConfigError, ("steps",)),
    ("train-config-dim-16384", _train_config(model={"dim": 16384}), ConfigError, ("dim",)),
    ("train-config-dim-text", _train_config(model={"dim": "x"}), ConfigError, ("dim",)),
    ("train-config-T-text", _train_config(T="abc"), ConfigError, ("T",)),
    ("train-config-epochs-1e12", _train_config(epochs=10**12), ConfigError, ("epochs",)),
    ("train-config-n-clips-1e12", _train_config(data=[{"n_clips": 10**12}]), ConfigError, ("n_clips",)),
    ("train-config-heads-0", _train_config(model={"heads": 0}), ConfigError, ("heads",)),
    ("train-config-unknown-preset", _train_config(model_preset="nope"), UnknownNameError, ("nope",)),
    ("train-config-model-not-a-mapping", _train_config(model=[1, 2]), ConfigError, ("model",)),
    ("train-config-synth-fps-1e9", _train_config(data=[{"synth": {"fps": 1e9}}]), ConfigError, ("fps",)),
    ("process-timestamp-nan", _process_at(float("nan")), ConfigError, ("timestamp",)),
    ("onnx-model-outputs-nan", _onnx_nan, ModelFileError, ("model output NaN",)),
    ("save-onnx-into-folder", _save_onnx_into_folder, OSError, ("directory",)),
]


@pytest.mark.parametrize("call,error,words", [pytest.param(c, e, w, id=i) for i, c, e, w in API_CASES])
def test_api_error(inputs: Inputs, call: Callable[[Inputs], Any], error: type, words: Tuple[str, ...]) -> None:
    with pytest.raises(error) as info:
        call(inputs)
    msg = str(info.value)
    assert "\n" not in msg.strip(), msg
    for w in words:
        assert w.lower() in msg.lower(), (w, msg)
    assert "bandpass" not in msg and "weights_only=False" not in msg
    assert not (inputs.tmp / EXECUTED).exists(), "a pickle executed on load"


# ----------------------------------------------------------------------------- behaviour rows
def _estimate_shadowing(inp: Inputs) -> None:
    """`from edge_rppg import estimate` is the function even after every submodule is imported."""
    import importlib
    import inspect
    import pkgutil

    import edge_rppg

    for mod in pkgutil.iter_modules(edge_rppg.__path__):
        try:
            importlib.import_module(f"edge_rppg.{mod.name}")
        except ImportError:  # an optional extra that is not installed
            pass
    importlib.import_module("edge_rppg.cli.estimate")
    from edge_rppg import estimate

    assert inspect.isfunction(estimate), type(estimate)
    est = estimate(inp["clip"], engine="pos")
    assert est.hr_bpm is not None and abs(est.hr_bpm - 72.0) < 5


def _truncated_video(inp: Inputs) -> None:
    from edge_rppg import estimate
    from edge_rppg.processor.clip import TruncatedVideoWarning

    with pytest.warns(TruncatedVideoWarning, match="truncated"):
        est = estimate(inp["truncated"], engine="pos")
    assert len(est.warnings) == 1 and "header promises" in est.warnings[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", TruncatedVideoWarning)
        assert estimate(inp["clip"], engine="pos").warnings == []  # the whole file: no warning


def _evaluate_json_nan(inp: Inputs) -> None:
    """`evaluate --json` with a NaN metric (one clip: Pearson r undefined) prints strict JSON with null."""
    import edge_rppg.evaluation.evaluate as ev
    from edge_rppg.cli.main import main

    items = [ev.Item("a", 70.0, lambda: (None, None))]
    report = ev.EngineReport("pos", pred={"a": 71.0}, metrics={"mae": 1.0, "pearson": float("nan")})
    mp = pytest.MonkeyPatch()
    mp.setattr(ev, "items_from_folder", lambda folder: items)
    mp.setattr(ev, "evaluate", lambda *a, **k: [report])
    import io
    from contextlib import redirect_stdout

    out = io.StringIO()
    try:
        with redirect_stdout(out):
            assert main(["evaluate", str(inp.tmp), "--json"]) == 0
    finally:
        mp.undo()
    data = json.loads(out.getvalue(), parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))
    assert data["engines"]["pos"]["metrics"]["pearson"] is None


def _export_no_stray_tmp(inp: Inputs) -> None:
    from edge_rppg.cli.main import main

    out = inp["outdir"]
    assert main(["export", str(inp["lists.pt"]), "-o", str(out)]) == 2
    assert not out.with_name(out.name + ".tmp").exists()


def _run_error_alone_on_stderr(inp: Inputs) -> None:
    """A user error of `run` after MediaPipe has started is the only stderr line (a subprocess:
    the native log lines come from MediaPipe threads and destructors)."""
    import importlib.util

    if importlib.util.find_spec("cupy") is not None:
        pytest.skip("cupy is installed: --roi-backend cupy is not an error here")
    proc = subprocess.run([sys.executable, "-m", "edge_rppg.cli.main", "run", "--source", str(inp["clip"]),
                           "--model", "pos", "--roi-backend", "cupy", "--quiet"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env={k: v for k, v in os.environ.items() if k != "EDGE_RPPG_NATIVE_LOGS"})
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("edge-rppg run: error:"), proc.stderr


def _stream_nan_engine_window_invalid(inp: Inputs) -> None:
    """Streaming: an engine that outputs NaN makes that window invalid (no HR from it),
    and neither the engine nor the vitals stage raises."""
    from edge_rppg.face.stage import NO_FACE
    from edge_rppg.pulse.engines.onnx_engine import OnnxRuntimeEngine
    from edge_rppg.pulse.stage import EngineStage
    from edge_rppg.skin.stage import SkinSample
    from edge_rppg.skin.window import WindowStep
    from edge_rppg.vitals.stage import VitalsStage

    engine, vitals = EngineStage(OnnxRuntimeEngine(inp["nan.onnx"])), VitalsStage()
    window = np.random.default_rng(1).uniform(50, 200, (160, 63, 6)).astype(np.float32)
    for k in range(3):
        step = WindowStep(samples=160 + 30 * k, fill=1.0, window=window, valid=np.ones(160, bool))
        pulse = engine(step)  # must not raise
        assert pulse is not None and pulse.error and "model" in pulse.error.lower()
        update = vitals(k * 1.0, NO_FACE, SkinSample(light=np.full(3, np.nan)), pulse)  # must not raise
        assert update.vitals is not None and not update.vitals.valid
        assert update.vitals.invalid_reason == "engine_error"


#: (id, check, pytest marks)
BEHAVIOUR_CASES: List[Tuple[str, Callable[[Inputs], None], Tuple[Any, ...]]] = [
    ("estimate-not-shadowed-by-submodule", _estimate_shadowing, ()),
    ("truncated-video-warns-and-carries-it", _truncated_video, ()),
    ("evaluate-json-nan-is-null", _evaluate_json_nan, ()),
    ("export-to-folder-leaves-no-tmp", _export_no_stray_tmp, ()),
    ("run-error-not-followed-by-mediapipe-logs", _run_error_alone_on_stderr, ()),
    ("stream-engine-nan-output-invalid-window", _stream_nan_engine_window_invalid, ()),
]


@pytest.mark.parametrize("check", [pytest.param(f, id=i, marks=m) for i, f, m in BEHAVIOUR_CASES])
def test_behaviour(inputs: Inputs, check: Callable[[Inputs], None]) -> None:
    check(inputs)


def test_count() -> None:
    """The table's size, for the issue's closing note (``-s`` shows it)."""
    n = len(CLI_CASES) + len(API_CASES) + len(BEHAVIOUR_CASES)
    print(f"\nbad inputs tried: {n} (CLI {len(CLI_CASES)}, API {len(API_CASES)}, behaviour {len(BEHAVIOUR_CASES)})")
    assert n >= 50
