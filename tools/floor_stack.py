"""Install edge-rppg at the lower bound of every core requirement and estimate a clip there (issue 26).

The two test stacks are what pip picks at each end today (numpy 1.26 + OpenCV 4.11, numpy 2.4 +
OpenCV 5.1); the floors pyproject.toml declares (numpy 1.24, OpenCV 4.8, SciPy 1.10, ONNX Runtime
1.17, tqdm 4.60, PyYAML 6.0) would otherwise never be installed by anyone who checks. This reads the
``>=`` bounds of the core dependencies from pyproject.toml, pins each to the lowest release at or
above its floor that has a wheel for this Python, as that release's series (``numpy>=1.24`` ->
``numpy==1.24.*``: pip takes the newest patch, since ONNX Runtime 1.17 needs numpy 1.24.2; a floor
whose release has only a source archive here, e.g. Pillow 9.1 on CPython 3.11, moves up to the
first with a wheel, and the line says so), installs the project into a fresh venv with those pins
as constraints, and runs ``edge-rppg estimate`` with the default engine on a clip with known HR:

    .venv/bin/edge-rppg synth out/floor/clip.avi --hr 75 --duration 12 --seed 5 --set width=320 --set height=240
    .venv/bin/python tools/floor_stack.py out/floor/clip.avi --venv .venv-floor

One ``PASSED``/``FAILED`` line with the versions pip chose; exit 1 when the install fails, the estimate
fails, or the clip HR is invalid or further than ``--tol-bpm`` from the truth. numpy 1.24 has wheels for
CPython 3.8-3.11 only, so this runs on 3.10 or 3.11 (CI's 3.11).
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pip vendors the same parser
    from pip._vendor import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[1]
CORE = ("numpy", "opencv-contrib-python", "scipy", "onnxruntime", "tqdm", "pyyaml", "pillow")


def floor_constraints(pyproject: Path = ROOT / "pyproject.toml") -> List[str]:
    """``name==X.Y.*`` for every core dependency's ``>=X.Y`` bound (``>=6`` -> ``==6.0.*``)."""
    deps = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    out = []
    for dep in deps:
        m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*[^;]*?>=\s*([0-9][0-9.]*)", dep)
        if not m:
            raise ValueError(f"core dependency without a >= floor: {dep!r}")
        parts = m.group(2).split(".")
        series = ".".join((parts + ["0"])[:2])
        out.append(f"{m.group(1).lower()}=={series}.*")
    return out


def floors(pyproject: Path = ROOT / "pyproject.toml") -> Dict[str, str]:
    """Each core dependency's ``>=`` floor, by name."""
    return {c.split("==")[0]: c.split("==")[1][:-2] for c in floor_constraints(pyproject)}


def lowest_wheel(py: Path, name: str, floor: str) -> Optional[str]:
    """The lowest release of ``name`` at or above ``floor`` that ``py``'s pip installs from a wheel."""
    from pip._vendor.packaging.version import Version

    listed = subprocess.run([str(py), "-m", "pip", "index", "versions", name], capture_output=True, text=True)
    line = next((l for l in listed.stdout.splitlines() if l.startswith("Available versions:")), "")
    versions = sorted((Version(v.strip()) for v in line.split(":", 1)[-1].split(",") if v.strip()))
    for v in (v for v in versions if v >= Version(floor) and not v.is_prerelease):
        probe = subprocess.run([str(py), "-m", "pip", "install", "--dry-run", "--no-deps", "--ignore-installed",
                                "--only-binary=:all:", "-q", f"{name}=={v}"], capture_output=True, text=True)
        if probe.returncode == 0:
            return str(v)
    return None


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Install at the floors, estimate, print one line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clip", type=Path, help="a synthetic clip with its ground-truth .json beside it")
    ap.add_argument("--venv", type=Path, default=ROOT / ".venv-floor", help="venv to create (replaced)")
    ap.add_argument("--tol-bpm", type=float, default=3.0, help="largest |HR - truth| accepted")
    args = ap.parse_args(argv)
    args.venv, args.clip = args.venv.resolve(), args.clip.resolve()   # the estimate runs outside the checkout

    truth = float(json.loads(args.clip.with_suffix(".json").read_text())["hr_bpm"])
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(args.venv)], check=True)
    py = args.venv / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    pins, notes = [], []
    for name, floor in floors().items():
        low = lowest_wheel(py, name, floor)
        if low is None:
            print(f"floor stack: FAILED (no wheel of {name}>={floor} for this Python)", flush=True)
            return 1
        pins.append(f"{name}=={'.'.join(low.split('.')[:2])}.*")   # its release series: patches may need each other
        if not low.startswith(floor + ".") and low != floor:
            notes.append(f"{name} {floor} has no wheel for Python {sys.version_info.major}.{sys.version_info.minor}; "
                         f"lowest with one: {low}")
    print("floor constraints: " + ", ".join(pins) + "".join(f"\n  note: {n}" for n in notes), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        cons = Path(tmp) / "floor.txt"
        cons.write_text("\n".join(pins) + "\n")
        inst = subprocess.run([str(py), "-m", "pip", "install", "-q", str(ROOT), "-c", str(cons)])
    if inst.returncode != 0:
        print(f"floor stack: FAILED (pip install exit {inst.returncode})", flush=True)
        return 1
    listed = subprocess.run([str(py), "-m", "pip", "list", "--format", "json"], capture_output=True, text=True,
                            check=True)
    chosen: Dict[str, str] = {p["name"].lower(): p["version"] for p in json.loads(listed.stdout)}
    versions = ", ".join(f"{n}=={chosen.get(n)}" for n in CORE)
    est = subprocess.run([str(args.venv / "bin" / "edge-rppg"), "estimate", str(args.clip), "--json", "--no-progress"],
                         capture_output=True, text=True, cwd=tempfile.gettempdir())
    if est.returncode != 0:
        print(f"floor stack ({versions}): FAILED (estimate exit {est.returncode}: {est.stderr.strip()[-300:]})")
        return 1
    out = json.loads(est.stdout)
    hr = out["hr_bpm"]
    ok = out["valid"] and hr is not None and abs(hr - truth) <= args.tol_bpm
    print(f"floor stack ({versions}): {'PASSED' if ok else 'FAILED'} (engine {out['engine']['name']}, "
          f"HR {hr} bpm, truth {truth:.2f}, valid {out['valid']})", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
