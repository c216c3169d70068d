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


def _resolver_module():
    spec = importlib.util.spec_from_file_location("resolve_for_platform", ROOT / "tools/resolve_for_platform.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def _minor(v: str) -> int:
    return int(v.split(".")[1])


def test_wheel_metadata_matches_the_supported_matrix(wheel: Path) -> None:
    """requires-python and the Python classifiers of the built wheel name exactly the Python versions that
    tools/resolve_for_platform.MATRIX resolves (and CI runs); the core's numpy and OpenCV ranges hold both
    tested stacks (numpy 1.x + OpenCV 4.x, numpy 2.x + OpenCV 5.x) and exactly one cv2 provider."""
    from pip._vendor.packaging.requirements import Requirement
    from pip._vendor.packaging.specifiers import SpecifierSet

    names = zipfile.ZipFile(wheel).namelist()
    meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    fields = [l.split(": ", 1) for l in meta.splitlines() if ": " in l]
    requires_python = SpecifierSet(next(v for k, v in fields if k == "Requires-Python"))
    classified = {v.rsplit(" :: ", 1)[1] for k, v in fields
                  if k == "Classifier" and re.fullmatch(r"Programming Language :: Python :: 3\.\d+", v)}
    matrix = {t.python_version for t in _resolver_module().MATRIX}
    assert classified == matrix, (classified, matrix)
    span = [f"3.{m}" for m in range(min(map(_minor, matrix)), max(map(_minor, matrix)) + 1)]
    assert set(span) == matrix, f"the matrix skips a Python between its ends: {sorted(matrix)}"
    for v in span:
        assert requires_python.contains(f"{v}.0") and requires_python.contains(f"{v}.9"), (v, requires_python)
    below, above = f"3.{min(map(_minor, matrix)) - 1}.12", f"3.{max(map(_minor, matrix)) + 1}.0"
    assert not requires_python.contains(below) and not requires_python.contains(above), requires_python
    core = {r.name.lower(): r for r in (Requirement(v) for k, v in fields if k == "Requires-Dist" and "extra ==" not in v)}
    cv2_providers = [n for n in core if n.startswith("opencv")]
    assert cv2_providers == ["opencv-contrib-python"], cv2_providers
    for name, inside, outside in (("numpy", ("1.24.0", "1.26.4", "2.0.0", "2.4.6"), ("1.23.5", "3.0.0")),
                                  ("opencv-contrib-python", ("4.8.0.74", "4.11.0.86", "5.0.0.93", "5.1.0.95"),
                                   ("4.7.0.72", "6.0.0"))):
        spec = core[name].specifier
        assert all(spec.contains(v) for v in inside) and not any(spec.contains(v) for v in outside), (name, spec)
    assert {"scipy", "onnxruntime", "tqdm", "pyyaml"} <= set(core), sorted(core)


def test_floor_stack_pins_every_core_dependency_at_its_lower_bound() -> None:
    """tools/floor_stack.py (make check-floor, CI) installs the release series of each core floor."""
    spec = importlib.util.spec_from_file_location("floor_stack", ROOT / "tools/floor_stack.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    pins = dict(p.split("==") for p in mod.floor_constraints())
    core = PYPROJECT["project"]["dependencies"]
    assert set(pins) == {re.split(r"[<>=!~;\s\[]", d, maxsplit=1)[0].lower() for d in core}
    assert pins["numpy"] == "1.24.*" and pins["opencv-contrib-python"] == "4.8.*"
    for name, series in pins.items():
        floor = next(re.search(r">=\s*([0-9.]+)", d).group(1) for d in core if d.lower().startswith(name))
        assert series.startswith(floor.split(".")[0] + "."), (name, floor, series)


def test_the_matrix_holds_every_target_of_issue_26() -> None:
    """cp310 aarch64 (JetPack 6, also with numpy<2), cp313 and cp314 on x86-64 and aarch64 (bare), and the
    [mediapipe] extra only where mediapipe 0.10.x has wheels (CPython 3.10-3.12)."""
    rows = _resolver_module().MATRIX
    bare = {(t.machine, t.python_version) for t in rows if not t.extras and not t.with_requirements}
    assert {("aarch64", "3.10"), ("x86_64", "3.13"), ("aarch64", "3.13"), ("x86_64", "3.14"), ("aarch64", "3.14")} <= bare
    assert any(t.machine == "aarch64" and t.python_version == "3.10" and "numpy<2" in t.with_requirements for t in rows)
    mp = {(t.machine, t.python_version) for t in rows if "mediapipe" in t.extras}
    assert ("aarch64", "3.10") in mp and all(_minor(v) <= 12 for _, v in mp), mp


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
    mod = _resolver_module()
    env = mod.marker_environment("aarch64", "3.10")
    assert env["platform_machine"] == "aarch64" and env["python_version"] == "3.10" and env["sys_platform"] == "linux"
    plats = mod.manylinux_platforms("aarch64", "2.35")
    assert plats[0] == "manylinux_2_35_aarch64" and "manylinux_2_17_aarch64" in plats
    assert plats[-1] == "manylinux2014_aarch64" and len(plats) == 35 - 17 + 2
    # the marker our pyproject uses picks 0.10.18 in that environment and 0.10.21 on x86-64
    from pip._vendor.packaging.markers import Marker

    assert Marker("platform_machine == 'aarch64' or platform_machine == 'arm64'").evaluate(env)
    assert not Marker("platform_machine != 'aarch64' and platform_machine != 'arm64'").evaluate(env)
    # what a user names beside the project goes to pip as its own requirement; one cv2 provider is counted
    args = mod.pip_arguments(".", ["mediapipe"], ["manylinux_2_35_aarch64"], "3.10", "cp", Path("r.json"), Path("t"),
                             ["numpy<2"])
    assert args[-2:] == [".[mediapipe]", "numpy<2"] and "--only-binary=:all:" in args
    assert mod.cv2_providers({"numpy": "1.26.4", "opencv-contrib-python": "4.11.0.86"}) == ["opencv-contrib-python"]
    assert mod.cv2_providers({"opencv-python": "5.1.0.95", "opencv-contrib-python": "5.1.0.95"}) == [
        "opencv-contrib-python", "opencv-python"]
