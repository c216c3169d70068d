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

import argparse
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

from edge_rppg.errors import (ConfigError, EdgeRPPGError, FrameFormatError, ModelFileError, SourceError,
                              UnavailableError, UnknownNameError)

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

    # issue 25: sizes declared in headers, raw pickles, wrong-shaped models
    def _png(self, name: str, width: int, height: int, depth: int = 8) -> Path:
        """A valid PNG of a few rows that *declares* ``width x height`` (the decoder would
        allocate the declared size); ``name`` is a folder holding it as its only frame."""
        import struct
        import zlib

        def chunk(tag: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

        rows = b"".join(b"\0" + bytes(min(width, 4096) * 3 * depth // 8) for _ in range(2))
        png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, 2, 0, 0, 0))
               + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))
        folder = self.tmp / name
        folder.mkdir()
        (folder / "frame0001.png").write_bytes(png)
        return folder

    def _make_png_30000(self) -> Path:  # ~300-byte PNG declaring 30000x30000 RGB (2.5 GiB decoded)
        return self._png("png_30000", 30000, 30000)

    def _make_png_16bit_9000(self) -> Path:  # 16-bit RGB 9000x9000: 463 MiB decoded
        return self._png("png_16bit_9000", 9000, 9000, depth=16)

    def _make_raw_pickle_pt(self) -> Path:  # pickle.dump, not torch.save: torch's unpickler would warn first
        import pickle

        marker = self.tmp / EXECUTED

        class Evil:
            def __reduce__(self) -> Tuple[Any, ...]:
                return (Path.touch, (marker,))

        with open(self.tmp / "raw_pickle.pt", "wb") as fh:
            pickle.dump({"format": "edge_rppg.checkpoint", "x": Evil()}, fh)
        return self.tmp / "raw_pickle.pt"

    def _make_out_1x1_onnx(self) -> Path:  # [1,160,63,6] -> [1,1]: a model whose output has the wrong shape
        onnx = pytest.importorskip("onnx")
        from onnx import TensorProto, helper, numpy_helper

        graph = helper.make_graph(
            [helper.make_node("ReduceMean", ["x", "axes"], ["y"], keepdims=0),
             helper.make_node("Reshape", ["y", "shape"], ["z"])],
            "out_1x1", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 160, 63, 6])],
            [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 1])],
            [numpy_helper.from_array(np.array([1, 2, 3], np.int64), "axes"),
             numpy_helper.from_array(np.array([1, 1], np.int64), "shape")])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
        model.ir_version = 8
        onnx.save(model, str(self.tmp / "out_1x1.onnx"))
        return self.tmp / "out_1x1.onnx"


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
    ("synth-duration-inf", "synth {outdir}/s.avi --duration inf", ("--duration",)),
    ("synth-duration-nan", "synth {outdir}/s.avi --duration nan", ("--duration",)),
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


# ----------------------------------------------------------------------------- CLI rows, as a user runs them
#: (id, argv with {input} placeholders, words the one-line error must contain). Each row runs
#: ``python -m edge_rppg.cli.main`` as a subprocess without a display (what a deployed unit or CI
#: sees), so native output, torch warnings and Qt aborts count: exit code 2, exactly one stderr
#: line ``edge-rppg CMD: error: ...``, no traceback (issue 25).
SUBPROCESS_CLI_CASES: List[Tuple[str, str, Tuple[str, ...]]] = [
    # run: a source that never opens (item 4)
    ("run-v4l2-missing-device", "run --source v4l2:///dev/video9 --model pos", ("cannot open source", "/dev/video9")),
    ("run-camera-index-absent", "run --source 7 --model pos", ("cannot open source", "7")),
    ("run-rtsp-refused", "run --source rtsp://127.0.0.1:1/x --model pos", ("cannot open source", "rtsp://127.0.0.1:1/x")),
    ("run-source-empty", "run --source '' --model pos", ("source is empty",)),
    ("run-source-blank", "run --source '  ' --model pos", ("source is empty",)),
    ("run-source-folder", "run --source {outdir} --model pos", ("is a folder",)),
    ("run-source-missing-file", "run --source {outdir}/none.avi --model pos", ("not found", "none.avi")),
    ("run-max-retries-nan", "run --source 7 --model pos --reconnect --max-retries nan", ("--max-retries",)),
    # run: a window without a display (item 5)
    ("run-window-sink-no-display", "run --source synth: --model pos --sink window", ("display",)),
    # sizes bounded before allocation (item 6)
    ("estimate-png-declares-30000x30000", "estimate {png_30000} --fps 30 --engine pos", ("too large",)),
    ("estimate-png-16bit-9000", "estimate {png_16bit_9000} --fps 30 --engine pos", ("too large", "MiB")),
    ("demo-duration-1e9", "demo --duration 1e9 --out {outdir}/demo", ("--duration", "3600")),
    ("synth-duration-1e9", "synth {outdir}/s.avi --duration 1e9", ("--duration", "3600")),
    ("calibrate-samples-1e9", "calibrate {nan.onnx} -o {outdir}/q.onnx --samples 1000000000", ("--samples", "4096")),
    # the 15 tracebacks of item 8
    ("calibrate-samples-0", "calibrate {nan.onnx} -o {outdir}/q.onnx --samples 0", ("--samples",)),
    ("calibrate-samples-negative", "calibrate {nan.onnx} -o {outdir}/q.onnx --samples -1", ("--samples",)),
    ("calibrate-percentile-200", "calibrate {nan.onnx} -o {outdir}/q.onnx --percentile 200", ("--percentile", "[90, 100)")),
    ("calibrate-dataset-without-root", "calibrate {nan.onnx} -o {outdir}/q.onnx --dataset ubfc", ("dataset_root",)),
    ("demo-duration-0", "demo --duration 0 --out {outdir}/demo", ("--duration",)),
    ("demo-duration-negative", "demo --duration -1 --out {outdir}/demo", ("--duration",)),
    ("demo-duration-nan", "demo --duration nan --out {outdir}/demo", ("--duration",)),
    ("synth-seed-negative", "synth {outdir}/s.avi --seed -1", ("--seed",)),
    ("synth-set-pulse-amplitude-nan", "synth {outdir}/s.avi --set pulse_amplitude=NaN", ("pulse_amplitude", "[0, 1]")),
    ("synth-set-lamp-hz-nan", "synth {outdir}/s.avi --set lamp_hz=NaN", ("lamp_hz",)),
    ("synth-set-hr-text", "synth {outdir}/s.avi --set hr_bpm=fast", ("hr_bpm",)),
    ("synth-set-pulse-weights-nan", "synth {outdir}/s.avi --set pulse_weights=[1,NaN,1]", ("pulse_weights",)),
    ("export-opset-5", "export {lists.pt} -o {outdir}/o.onnx --opset 5", ("--opset", "[17, 20]")),
    ("export-opset-999", "export {lists.pt} -o {outdir}/o.onnx --opset 999", ("--opset",)),
    ("export-verify-1e9", "export {lists.pt} -o {outdir}/o.onnx --verify 1000000000", ("--verify",)),
    ("estimate-model-output-1x1", "estimate {clip} --engine {out_1x1.onnx}", ("out_1x1.onnx", "shape")),
    # item 9: no torch warning before the one line
    ("evaluate-raw-pickle-no-warning", "evaluate --checkpoint {raw_pickle.pt}", ("raw Python pickle",)),
    ("estimate-raw-pickle-no-warning", "estimate {clip} --engine {raw_pickle.pt}", ("raw Python pickle",)),
    # a flag that is not a number at all, and argparse's own errors: one line too
    ("estimate-fps-text", "estimate {clip} --fps fast", ("--fps",)),
    ("calibrate-missing-output", "calibrate {nan.onnx}", ("-o",)),
]


def _no_display_env() -> Dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "EDGE_RPPG_NATIVE_LOGS")}


def run_cli(args: List[str], timeout: float = 300) -> subprocess.CompletedProcess:
    """``edge-rppg ARGS`` in a fresh process, without a display."""
    return subprocess.run([sys.executable, "-m", "edge_rppg.cli.main", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=_no_display_env())


@pytest.mark.parametrize("argv,words", [pytest.param(a, w, id=i) for i, a, w in SUBPROCESS_CLI_CASES])
def test_cli_subprocess_one_line_error(inputs: Inputs, argv: str, words: Tuple[str, ...]) -> None:
    import shlex

    args = shlex.split(inputs.fmt(argv))
    proc = run_cli(args)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 1 and lines[0].startswith(f"edge-rppg {args[0]}: error: "), proc.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert not (inputs.tmp / EXECUTED).exists(), "a pickle executed on load"


def test_run_reconnect_logs_each_retry(inputs: Inputs) -> None:
    """``--reconnect --max-retries 2`` on a device that never opens: one stderr line per retry,
    then the one-line error, exit 2 (no stage summary)."""
    proc = run_cli(["run", "--source", "v4l2:///dev/video9", "--model", "pos", "--reconnect", "--max-retries", "2"])
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 3, proc.stderr
    assert lines[0].startswith("edge-rppg run: retry 1/2 ") and "/dev/video9" in lines[0], lines
    assert lines[1].startswith("edge-rppg run: retry 2/2 "), lines
    assert lines[2].startswith("edge-rppg run: error: cannot open source") and "gave up after 2 retries" in lines[2]
    quiet = run_cli(["run", "--source", "v4l2:///dev/video9", "--model", "pos", "--reconnect", "--max-retries", "1",
                     "--quiet"])
    assert quiet.returncode == 2 and len(quiet.stderr.strip().splitlines()) == 1, quiet.stderr


#: Flags whose negative values mean something (the rest refuse them at parse time).
NEGATIVE_OK = {("run", "--max-retries")}


def test_every_numeric_flag_refuses_nan_inf_and_meaningless_negatives() -> None:
    """Every numeric flag of every command, generically: NaN, inf, -inf, 1e400 and text are
    refused by the flag's parse (one line, before anything runs); -1 too unless listed in
    :data:`NEGATIVE_OK`; the flag's default passes its own check."""
    from edge_rppg.cli.flags import NumberFlag
    from edge_rppg.cli.main import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    checked = 0
    for cmd, p in sub.choices.items():
        for action in p._actions:
            if action.type not in (int, float) and not isinstance(action.type, NumberFlag):
                continue
            name = (action.option_strings or [action.dest])[0]
            assert isinstance(action.type, NumberFlag), (cmd, name)
            bad = ["nan", "inf", "-inf", "1e400", "abc", ""] + ([] if (cmd, name) in NEGATIVE_OK else ["-1"])
            for text in bad:
                with pytest.raises(argparse.ArgumentTypeError):
                    action.type(text)
            if action.default is not None:
                assert action.type(str(action.default)) == action.default, (cmd, name)
            checked += 1
    assert checked >= 25, checked


def test_export_max_opset_matches_torch() -> None:
    """ExportConfig's opset ceiling is the installed torch exporter's."""
    pytest.importorskip("onnx")
    from torch.onnx import _constants

    from edge_rppg.export.export_config import MAX_OPSET

    assert MAX_OPSET <= _constants.ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET


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


def _estimate_config(config: Any) -> Callable[[Inputs], Any]:
    def call(inp: Inputs) -> Any:
        from edge_rppg import estimate

        return estimate(inp["clip"], engine="pos", config=config)
    return call


def _config(spec: str, **kw: Any) -> Callable[[Inputs], Any]:
    """Build ``module:Class`` from ``kw`` through ``from_dict`` (as a YAML/JSON file or ``--set`` does)."""
    def call(inp: Inputs) -> Any:
        import importlib

        modname, _, name = spec.partition(":")
        return getattr(importlib.import_module(modname), name).from_dict(kw)
    return call


def _process_frame(shape: Tuple[int, ...]) -> Callable[[Inputs], Any]:
    def call(inp: Inputs) -> Any:
        from edge_rppg import EdgeRPPG

        frame = np.zeros(shape, np.uint8)
        with EdgeRPPG("pos") as rppg:
            return within(60, lambda: rppg.process(frame, timestamp=0.0))
    return call


def _open_image_folder(name: str) -> Callable[[Inputs], Any]:
    def call(inp: Inputs) -> Any:
        from edge_rppg.frames.video import open_video

        folder = inp[name]
        before = peak_rss_mb()
        try:
            return within(60, lambda: open_video(folder, fps=30))
        finally:
            assert peak_rss_mb() - before < 300, "decoded the declared size"
    return call


def _onnx_engine(name: str) -> Callable[[Inputs], Any]:
    def call(inp: Inputs) -> Any:
        from edge_rppg.pulse.engines.onnx_engine import OnnxRuntimeEngine

        return OnnxRuntimeEngine(inp[name])
    return call


def _estimate_with_model(name: str) -> Callable[[Inputs], Any]:
    def call(inp: Inputs) -> Any:
        from edge_rppg import estimate

        return estimate(inp["clip"], engine=str(inp[name]))
    return call


def _open_source(uri_of: Callable[[Inputs], str]) -> Callable[[Inputs], Any]:
    def call(inp: Inputs) -> Any:
        from edge_rppg.runtime.sources import open_source

        return open_source(uri_of(inp))
    return call


def _window_sink_without_display(inp: Inputs) -> Any:
    from edge_rppg.runtime.sinks import WindowSink

    mp = pytest.MonkeyPatch()
    for k in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        mp.delenv(k, raising=False)
    try:
        if not sys.platform.startswith("linux"):
            pytest.skip("the display check without DISPLAY is Linux's")
        return WindowSink()
    finally:
        mp.undo()


def _export_onnx_opset(opset: int) -> Callable[[Inputs], Any]:
    def call(inp: Inputs) -> Any:
        pytest.importorskip("onnx")
        from edge_rppg.export.onnx_export import export_onnx
        from edge_rppg.pulse.models.cluster_phys import ClusterPhys, ClusterPhysConfig

        model = ClusterPhys(ClusterPhysConfig(T=32, dim=16, heads=2, mlp_ratio=2.0, em_iters=1, dropout=0.0, knn_k=3))
        return export_onnx(model, inp.tmp / "opset.onnx", opset=opset)
    return call


def _synth_seed(seed: Any) -> Callable[[Inputs], Any]:
    def call(inp: Inputs) -> Any:
        from edge_rppg.synth.video_gen import PRESETS, ground_truth

        return ground_truth(PRESETS["still"], seed=seed)
    return call


def _load_raw_pickle_silently(inp: Inputs) -> Any:
    """The raw pickle is refused before torch.load can warn: no warning at all."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            return _load("raw_pickle.pt")(inp)
        finally:
            assert not caught, [str(w.message) for w in caught]


_VSC = "edge_rppg.synth.video_gen:VideoSynthConfig"
_CAL = "edge_rppg.calibration.dataset:CalibrationConfig"
_QNT = "edge_rppg.calibration.quantize:QuantizeConfig"
_EXP = "edge_rppg.export.export_config:ExportConfig"


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
    # issue 25: configs name the field and its range (item 8), through from_dict as a file or --set does
    ("synth-config-pulse-amplitude-nan", _config(_VSC, pulse_amplitude=float("nan")), ConfigError,
     ("VideoSynthConfig.pulse_amplitude", "[0, 1]")),
    ("synth-config-lamp-hz-nan", _config(_VSC, lamp_hz=float("nan")), ConfigError, ("lamp_hz",)),
    ("synth-config-duration-1e9", _config(_VSC, duration_s=1e9), ConfigError, ("duration_s", "3600")),
    ("synth-config-width-text", _config(_VSC, width="wide"), ConfigError, ("width",)),
    ("synth-config-width-bool", _config(_VSC, width=True), ConfigError, ("width",)),
    ("synth-config-jpeg-10-power-400", _config(_VSC, jpeg_quality=10**400), ConfigError, ("jpeg_quality",)),
    ("synth-config-lamp-color-2-values", _config(_VSC, lamp_color=[1, 1]), ConfigError, ("lamp_color",)),
    ("synth-config-codec-number", _config(_VSC, codec=5), ConfigError, ("codec",)),
    ("synth-seed-negative", _synth_seed(-1), ConfigError, ("seed",)),
    ("synth-seed-text", _synth_seed("x"), ConfigError, ("seed",)),
    ("calibration-config-samples-0", _config(_CAL, n_samples=0), ConfigError, ("n_samples",)),
    ("calibration-config-samples-1e9", _config(_CAL, n_samples=10**9), ConfigError, ("n_samples", "4096")),
    ("calibration-config-dataset-without-root", _config(_CAL, dataset="ubfc"), ConfigError, ("dataset_root",)),
    ("calibration-config-seed-negative", _config(_CAL, seed=-1), ConfigError, ("seed",)),
    ("calibration-config-dataset-number", _config(_CAL, dataset=3, dataset_root="x"), ConfigError, ("dataset",)),
    ("quantize-config-percentile-200", _config(_QNT, percentile=200), ConfigError, ("percentile",)),
    ("quantize-config-percentile-nan", _config(_QNT, percentile=float("nan")), ConfigError, ("percentile",)),
    ("quantize-config-op-types-number", _config(_QNT, op_types=5), ConfigError, ("op_types",)),
    ("export-config-opset-5", _config(_EXP, opset=5), ConfigError, ("opset", "[17, 20]")),
    ("export-onnx-opset-999", _export_onnx_opset(999), ConfigError, ("opset",)),
    # a model whose output has the wrong shape: at load, and through estimate (item 8)
    ("onnx-engine-output-1x1", _onnx_engine("out_1x1.onnx"), ModelFileError, ("output", "shape", "[1, 160]")),
    ("estimate-model-output-1x1", _estimate_with_model("out_1x1.onnx"), ModelFileError, ("shape",)),
    # estimate(config=...) (item 9): a dict is read by EstimateConfig.from_dict, anything else refused
    ("estimate-config-unknown-key", _estimate_config({"nope": 1}), ConfigError, ("nope",)),
    ("estimate-config-not-a-config", _estimate_config(5), ConfigError, ("EstimateConfig",)),
    ("estimate-config-model-fps-nan", _estimate_config({"model_fps": float("nan")}), ConfigError, ("model_fps",)),
    ("checkpoint-raw-pickle-no-warning", _load_raw_pickle_silently, ModelFileError, ("raw Python pickle",)),
    # sizes bounded before allocation (item 6)
    ("image-folder-png-declares-30000x30000", _open_image_folder("png_30000"), EdgeRPPGError, ("too large",)),
    ("image-folder-png-16bit-9000", _open_image_folder("png_16bit_9000"), EdgeRPPGError, ("too large", "MiB")),
    ("process-frame-32767-wide", _process_frame((16, 32767, 3)), FrameFormatError, ("too large", "32766")),
    ("process-frame-32767-tall", _process_frame((32767, 16, 3)), FrameFormatError, ("too large",)),
    # sources and sinks of `run` (items 4, 5)
    ("open-source-empty", _open_source(lambda inp: ""), ConfigError, ("source is empty",)),
    ("open-source-folder", _open_source(lambda inp: str(inp["outdir"])), SourceError, ("is a folder",)),
    ("open-source-v4l2-no-device", _open_source(lambda inp: "v4l2://"), ConfigError, ("no device",)),
    ("open-source-csi-sensor-text", _open_source(lambda inp: "csi://abc"), ConfigError, ("sensor",)),
    ("open-source-test-width-text", _open_source(lambda inp: "test:?width=abc"), ConfigError, ("width",)),
    ("open-source-test-frames-1e12", _open_source(lambda inp: "test:?frames=1000000000000"), ConfigError, ("frames",)),
    ("open-source-synth-fps-nan", _open_source(lambda inp: "synth:?fps=nan"), ConfigError, ("fps",)),
    ("open-source-synth-clip-too-big", _open_source(lambda inp: "synth:?duration=600&width=4096&height=4096"),
     ConfigError, ("MiB",)),
    ("window-sink-without-display", _window_sink_without_display, UnavailableError, ("display",)),
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


def _pipeline_never_opened(inp: Inputs) -> None:
    """The API of `run`: a camera that never opens ends the run at once with ``opened`` False
    and the reason (the CLI turns that into its one line)."""
    from edge_rppg.runtime.pipeline import Pipeline

    with Pipeline.create("v4l2:///dev/video9", landmarker=None, base_options=_pos_options()) as pipe:
        report = within(60, pipe.run)
    assert not report.ok and not report.opened and report.frames_in == 0
    assert "/dev/video9" in report.end_reason


def _pos_options() -> Any:
    from edge_rppg.processor.options import BaseOptions

    return BaseOptions(model="pos")


def _estimate_config_dict(inp: Inputs) -> None:
    """``estimate(config={...})`` takes a dict of EstimateConfig fields (the same as the dataclass)."""
    from edge_rppg import EstimateConfig, estimate

    a = estimate(inp["clip"], engine="pos", config={"progress": False})
    b = estimate(inp["clip"], engine="pos", config=EstimateConfig(progress=False))
    assert a.hr_bpm == b.hr_bpm and a.hr_bpm is not None
    assert estimate(inp["clip"], engine="pos", config={}).hr_bpm == a.hr_bpm


#: (id, check, pytest marks)
BEHAVIOUR_CASES: List[Tuple[str, Callable[[Inputs], None], Tuple[Any, ...]]] = [
    ("estimate-not-shadowed-by-submodule", _estimate_shadowing, ()),
    ("truncated-video-warns-and-carries-it", _truncated_video, ()),
    ("evaluate-json-nan-is-null", _evaluate_json_nan, ()),
    ("export-to-folder-leaves-no-tmp", _export_no_stray_tmp, ()),
    ("run-error-not-followed-by-mediapipe-logs", _run_error_alone_on_stderr, ()),
    ("stream-engine-nan-output-invalid-window", _stream_nan_engine_window_invalid, ()),
    ("pipeline-source-never-opened", _pipeline_never_opened, ()),
    ("estimate-config-dict", _estimate_config_dict, ()),
]


@pytest.mark.parametrize("check", [pytest.param(f, id=i, marks=m) for i, f, m in BEHAVIOUR_CASES])
def test_behaviour(inputs: Inputs, check: Callable[[Inputs], None]) -> None:
    check(inputs)


def test_count() -> None:
    """The table's size, for the issue's closing note (``-s`` shows it)."""
    n = len(CLI_CASES) + len(SUBPROCESS_CLI_CASES) + len(API_CASES) + len(BEHAVIOUR_CASES)
    print(f"\nbad inputs tried: {n} (CLI {len(CLI_CASES)} in-process + {len(SUBPROCESS_CLI_CASES)} as subprocesses, "
          f"API {len(API_CASES)}, behaviour {len(BEHAVIOUR_CASES)})")
    assert n >= 50
