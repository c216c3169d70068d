"""Disk size of a fresh virtualenv with the bare ``pip install edge-rppg`` and with ``[all]``.

Why: the layered install exists so that a Jetson / in-car deployment carries the inference core
only. This builds the wheel here, installs it into fresh venvs under ``--workdir`` and reports
``du`` of each venv and its largest packages. ``[all]`` is installed with torch pinned first
(``--torch``, default the project's ``torch==2.13.0``); extras that cannot build on this machine
(``pycuda`` needs the CUDA toolkit, ``pygobject`` the GObject/cairo dev packages) are dropped
one at a time and named in the result.

    nice -n 10 python bench/venv_sizes.py
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import markdown_table, record  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
ALL = ["train", "export", "plot", "synth", "mediapipe", "gstreamer", "cuda", "jetson"]
#: extra → the package that may fail to build without system toolchains
FRAGILE = {"jetson": "pycuda", "gstreamer": "pygobject"}


def run(cmd: Sequence[str]) -> subprocess.CompletedProcess:
    """Run quietly; the caller decides what a failure means."""
    return subprocess.run(list(cmd), text=True, capture_output=True)


def mb(path: Path) -> int:
    """``du -sm`` of ``path``."""
    return int(run(["du", "-sm", str(path)]).stdout.split()[0])


def fresh_venv(path: Path) -> Path:
    """A new venv at ``path`` with an up-to-date pip; returns its python."""
    shutil.rmtree(path, ignore_errors=True)
    run([sys.executable, "-m", "venv", str(path)])
    py = path / "bin/python"
    run([str(py), "-m", "pip", "install", "-q", "--upgrade", "pip"])
    return py


def largest(venv: Path, n: int = 6) -> str:
    """The ``n`` largest folders in the venv's site-packages, ``name MB`` each."""
    site = next(venv.glob("lib/python*/site-packages"))
    sizes = sorted(((mb(d), d.name) for d in site.iterdir() if d.is_dir() and not d.name.endswith("-info")),
                   reverse=True)[:n]
    return ", ".join(f"{name} {size}" for size, name in sizes)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Measure both venvs, print and record the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/edge-rppg-venv-sizes"))
    ap.add_argument("--torch", default="torch==2.13.0", help="installed first into the [all] venv")
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    whl_dir = args.workdir / "wheel"
    shutil.rmtree(whl_dir, ignore_errors=True)
    proc = run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(whl_dir),
                str(REPO)])
    if proc.returncode != 0:
        print(proc.stderr[-2000:], file=sys.stderr)
        return 1
    wheel = next(whl_dir.glob("edge_rppg-*.whl"))
    rows: List[Tuple[object, ...]] = []

    py = fresh_venv(args.workdir / "bare")
    t = time.perf_counter()
    proc = run([str(py), "-m", "pip", "install", "-q", str(wheel)])
    if proc.returncode != 0:
        print(proc.stderr[-2000:], file=sys.stderr)
        return 1
    rows.append(("`pip install edge-rppg`", mb(args.workdir / "bare"), f"{time.perf_counter() - t:.0f}", "-",
                 largest(args.workdir / "bare")))

    py = fresh_venv(args.workdir / "all")
    t = time.perf_counter()
    run([str(py), "-m", "pip", "install", "-q", args.torch])
    extras, dropped = list(ALL), []
    while True:
        proc = run([str(py), "-m", "pip", "install", "-q", f"{wheel}[{','.join(extras)}]"])
        if proc.returncode == 0:
            break
        failing = next((e for e, pkg in FRAGILE.items() if e in extras and pkg in proc.stderr), None)
        if failing is None:
            print(proc.stderr[-3000:], file=sys.stderr)
            return 1
        extras.remove(failing)
        dropped.append(f"{FRAGILE[failing]} ([{failing}]): could not build here")
        if failing == "jetson":  # keep the rest of [jetson]
            run([str(py), "-m", "pip", "install", "-q", "onnx>=1.15"])
    rows.append((f"`[all]`{' minus ' + ', '.join(FRAGILE[e] for e in ALL if e not in extras) if dropped else ''}",
                 mb(args.workdir / "all"), f"{time.perf_counter() - t:.0f}", "; ".join(dropped) or "-",
                 largest(args.workdir / "all")))
    body = (f"Fresh venvs (Python {sys.version.split()[0]}, {wheel.name} built here), `du -sm` of the whole venv. "
            f"`[all]` gets `{args.torch}` first.\n\n"
            + markdown_table(["install", "venv MB", "install s", "left out", "largest packages (MB)"], rows))
    print(body)
    if not args.no_record:
        record("venv sizes", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
