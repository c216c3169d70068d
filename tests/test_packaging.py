"""Packaging (issue 11): the wheel installs only ``edge_rppg`` (stage folders inside its namespace),
the core dependencies are the inference set, a missing extra is one line naming it, and the core
estimates a clip with every optional package blocked."""
from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pip vendors the same parser
    from pip._vendor import tomli as tomllib  # type: ignore[no-redef]

from edge_rppg.errors import EdgeRPPGError, MissingExtraError
from edge_rppg.extras import EXTRAS, install_command, require

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
STAGES = ("training", "export", "calibration", "runtime")
HEAVY = ("torch", "matplotlib", "scikit-image", "onnx", "onnxslim", "cupy", "pycuda", "tensorrt", "mediapipe")

#: run the CLI with some top-level modules made unimportable (as if their extra were not installed)
BLOCKER = r"""
import importlib.abc, sys
BLOCK = set(sys.argv[1].split(","))
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in BLOCK:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Block())
from edge_rppg.cli.main import main
sys.exit(main(sys.argv[2:]))
"""


def _blocked(modules: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCKER, modules, *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def _package_name(folder: Path) -> str:
    rel = folder.relative_to(ROOT)
    if rel.parts[0] in STAGES:
        return ".".join(("edge_rppg", *rel.parts))
    return ".".join(rel.parts)


def test_pyproject_lists_every_package_folder_and_maps_the_stages() -> None:
    tool = PYPROJECT["tool"]["setuptools"]
    listed = set(tool["packages"])
    folders = [p.parent for top in ("edge_rppg", *STAGES) for p in (ROOT / top).rglob("__init__.py")
               if "__pycache__" not in p.parts]
    expected = {_package_name(f) for f in folders}
    assert expected <= listed, f"packages missing from pyproject: {sorted(expected - listed)}"
    assert not any(p.split(".")[0] in STAGES for p in listed), "a stage folder would install top-level"
    assert tool["package-dir"] == {f"edge_rppg.{s}": s for s in STAGES}


def test_core_dependencies_are_the_inference_set_and_extras_hold_the_rest() -> None:
    core = " ".join(PYPROJECT["project"]["dependencies"]).lower()
    for heavy in HEAVY:
        assert not re.search(rf"(^|\s|\"){re.escape(heavy)}([<>=!~;\s\[]|$)", core), f"{heavy} is a core dependency"
    assert "opencv-python" not in core.replace("opencv-contrib-python", "")
    assert "mediapipe" not in core          # the bundled ONNX face models need only ONNX Runtime
    extras = PYPROJECT["project"]["optional-dependencies"]
    pins = " ".join(extras["mediapipe"])
    assert "mediapipe==0.10.21; platform_machine != 'aarch64'" in pins      # the reference backend
    assert "mediapipe==0.10.18; platform_machine == 'aarch64'" in pins
    assert {"train", "export", "plot", "synth", "gstreamer", "cuda", "jetson", "dev", "all"} <= set(extras)
    assert any(d.startswith("torch") for d in extras["train"])
    assert {d.split(">")[0].split("=")[0] for d in extras["export"]} >= {"torch", "onnx", "onnxslim"}
    assert not any(d.startswith("tensorrt") for d in extras["jetson"])  # TensorRT comes from JetPack
    # every extra that require() names exists
    assert set(EXTRAS.values()) <= set(extras)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built from a copy of the tree (no build/ folder left in the checkout)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for top in ("edge_rppg", *STAGES):
        shutil.copytree(ROOT / top, src / top, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("whl")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                           "-w", str(out), str(src)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return next(out.glob("edge_rppg-*.whl"))


def test_wheel_installs_only_the_edge_rppg_namespace(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"edge_rppg", f"edge_rppg-{PYPROJECT['project']['version']}.dist-info"}, tops
    for stage in STAGES:
        assert f"edge_rppg/{stage}/__init__.py" in names
    assert "edge_rppg/runtime/tensorrt_build.py" in names and "edge_rppg/extras.py" in names
    for page_file in ("index.html", "app.js", "app.css"):                 # the web sink's page (package data)
        assert f"edge_rppg/runtime/web/{page_file}" in names, page_file
    assert any(n.startswith("edge_rppg/assets/") and n.endswith(".onnx") for n in names)
    for face_file in ("face_landmark.onnx", "face_detection_short_range.onnx", "NOTICE"):   # the default landmarker
        assert f"edge_rppg/assets/face_models/{face_file}" in names, face_file
    meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    core = [l for l in meta.splitlines() if l.startswith("Requires-Dist:") and "extra ==" not in l]
    assert core and not any(re.search(rf"Requires-Dist: {h}\b", l) for l in core for h in HEAVY), core


def test_require_returns_the_module_or_one_line_naming_the_extra() -> None:
    assert require("numpy.linalg", "train").__name__ == "numpy.linalg"
    with pytest.raises(MissingExtraError) as info:
        require("edge_rppg_no_such_module", "plot")
    msg = str(info.value)
    assert "\n" not in msg and install_command("plot") in msg and 'pip install "edge-rppg[plot]"' in msg
    assert isinstance(info.value, EdgeRPPGError) and isinstance(info.value, ImportError)  # except ImportError works
    with pytest.raises(KeyError, match="no extra is registered"):
        require("edge_rppg_no_such_module")


@pytest.mark.parametrize("blocked,args,extra", [
    ("torch", ["evaluate", "--checkpoint", "edge_rppg/assets/cluster_phys_default.pt"], "train"),
    ("torch", ["export", "edge_rppg/assets/cluster_phys_default.pt", "-o", "{tmp}/m.onnx"], "export"),
    ("onnx", ["calibrate", "edge_rppg/assets/cluster_phys_default.onnx", "-o", "{tmp}/m.int8.onnx"], "export"),
    ("skimage", ["synth", "{tmp}/clip.avi", "--duration", "1"], "synth"),
    ("tensorrt", ["build-engine", "edge_rppg/assets/cluster_phys_default.onnx"], "jetson"),
])
def test_cli_names_the_missing_extra_in_one_line(tmp_path: Path, blocked: str, args: list, extra: str) -> None:
    proc = _blocked(blocked, *[a.format(tmp=tmp_path) for a in args])
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert f'pip install "edge-rppg[{extra}]"' in lines[0]


def test_core_estimates_with_every_optional_package_blocked(tmp_path: Path) -> None:
    """The bare install's job: the bundled ONNX face models and the shipped ONNX model on ONNX Runtime, no
    mediapipe/torch/onnx/skimage/matplotlib/CUDA/GStreamer."""
    clip = tmp_path / "clip.avi"
    made = subprocess.run([sys.executable, "-m", "edge_rppg.cli.main", "synth", str(clip), "--hr", "75",
                           "--duration", "11", "--seed", "5", "--set", "width=320", "--set", "height=240"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    if made.returncode != 0 or not clip.exists():  # pragma: no cover - synth is another engineer's module
        pytest.skip(f"could not synthesise the clip: {made.stderr[-500:]}")
    proc = _blocked("mediapipe,matplotlib,torch,onnx,onnxslim,skimage,cupy,pycuda,tensorrt,gi", "estimate", str(clip), "--json",
                    "--no-progress")
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out["engine"]["name"].startswith("onnx:") and out["valid"] and abs(out["hr_bpm"] - 75) < 5
    # the reference landmarker is the one that needs mediapipe: asked for without it, one line naming the extra
    ref = _blocked("mediapipe", "estimate", str(clip), "--json", "--no-progress", "--landmark-model", "mediapipe")
    lines = [l for l in ref.stderr.splitlines() if l.strip()]
    assert ref.returncode == 2 and len(lines) == 1 and 'pip install "edge-rppg[mediapipe]"' in lines[0], ref.stderr[-2000:]


def test_resolve_for_platform_builds_the_target_environment() -> None:
    spec = importlib.util.spec_from_file_location("resolve_for_platform", ROOT / "tools/resolve_for_platform.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    env = mod.marker_environment("aarch64", "3.10")
    assert env["platform_machine"] == "aarch64" and env["python_version"] == "3.10" and env["sys_platform"] == "linux"
    plats = mod.manylinux_platforms("aarch64", "2.35")
    assert plats[0] == "manylinux_2_35_aarch64" and "manylinux_2_17_aarch64" in plats
    assert plats[-1] == "manylinux2014_aarch64" and len(plats) == 35 - 17 + 2
    # the marker our pyproject uses picks 0.10.18 in that environment and 0.10.21 on x86-64
    from pip._vendor.packaging.markers import Marker

    assert Marker("platform_machine == 'aarch64' or platform_machine == 'arm64'").evaluate(env)
    assert not Marker("platform_machine != 'aarch64' and platform_machine != 'arm64'").evaluate(env)
