"""Resolve edge-rppg's install for another platform with pip's own resolver (default: JetPack 6).

Why a wrapper: ``pip install --dry-run --platform ... --python-version ...`` filters *wheels* by the
target tags, but evaluates *environment markers* (``platform_machine == 'aarch64'``) on the running
host. The [mediapipe] extra's pin is chosen by such a marker, so a plain dry-run on an x86-64 CI machine asks
for the x86-64 pin on aarch64 and fails for the wrong reason. This runs pip in-process with its
marker environment replaced by the target's (machine, Python version, implementation), passes the
manylinux tags the target's glibc accepts (pip does not expand ``manylinux_2_35`` to older
``manylinux_2_X`` tags by itself), and reads pip's JSON ``--report``.

    python tools/resolve_for_platform.py .                 # JetPack 6: aarch64, CPython 3.10, glibc 2.35
    python tools/resolve_for_platform.py dist/edge_rppg-0.1.0-py3-none-any.whl --extra jetson
    python tools/resolve_for_platform.py . --with "numpy<2"   # the Jetson line of the README
    python tools/resolve_for_platform.py . --matrix        # every target of MATRIX (CI), one line each

Exit code 0 and a ``PASSED`` line when every requirement resolves to a binary wheel with exactly one
distribution providing ``cv2``; pip's own error and exit code 1 otherwise.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence

#: every distribution on PyPI that installs the ``cv2`` module: an install must hold exactly one
CV2_PROVIDERS = ("opencv-python", "opencv-contrib-python", "opencv-python-headless",
                 "opencv-contrib-python-headless")


class Target(NamedTuple):
    """One row of the supported matrix: a Linux platform, an install spec and why it is there."""

    machine: str
    python_version: str
    glibc: str
    extras: tuple = ()
    with_requirements: tuple = ()
    why: str = ""


#: The supported install matrix (issue 26). CI resolves every row; tests/test_packaging.py checks that the
#: wheel's requires-python and classifiers cover exactly the Python versions named here. glibc 2.35 is
#: Ubuntu 22.04 (JetPack 6); 2.28 is the oldest glibc the newest numpy/OpenCV/ONNX Runtime wheels need.
MATRIX = (
    Target("aarch64", "3.10", "2.35", why="JetPack 6, bare install"),
    Target("aarch64", "3.10", "2.35", with_requirements=("numpy<2",),
           why="JetPack 6 with numpy held below 2 for its TensorRT bindings (the README's Jetson line)"),
    Target("aarch64", "3.10", "2.35", extras=("mediapipe",), why="JetPack 6 + the mediapipe 0.10.18 reference"),
    Target("x86_64", "3.10", "2.28", extras=("mediapipe",), why="oldest Python + the mediapipe 0.10.21 reference"),
    Target("x86_64", "3.11", "2.28", why="CI's Python (both stacks also install and run the suite there)"),
    Target("x86_64", "3.12", "2.28", extras=("mediapipe",), why="newest Python mediapipe 0.10.x has wheels for"),
    Target("x86_64", "3.13", "2.28", why="bare install"),
    Target("aarch64", "3.13", "2.28", why="bare install"),
    Target("x86_64", "3.14", "2.28", why="bare install, newest Python"),
    Target("aarch64", "3.14", "2.28", why="bare install, newest Python"),
)


def marker_environment(machine: str, python_version: str, implementation: str = "cp") -> Dict[str, str]:
    """The PEP 508 marker environment of a Linux target (what its own pip would evaluate)."""
    impl = {"cp": ("cpython", "CPython"), "pp": ("pypy", "PyPy")}[implementation]
    full = python_version if python_version.count(".") == 2 else python_version + ".0"
    return {
        "implementation_name": impl[0], "implementation_version": full, "os_name": "posix",
        "platform_machine": machine, "platform_release": "", "platform_system": "Linux",
        "platform_version": "", "python_full_version": full, "platform_python_implementation": impl[1],
        "python_version": ".".join(python_version.split(".")[:2]), "sys_platform": "linux",
    }


def manylinux_platforms(machine: str, glibc: str) -> List[str]:
    """Every manylinux tag a glibc ``glibc`` system accepts, newest first (2_17 is manylinux2014)."""
    major, minor = (int(x) for x in glibc.split("."))
    if major != 2 or minor < 17:
        raise ValueError(f"glibc must be 2.17 or newer, got {glibc}")
    tags = [f"manylinux_2_{m}_{machine}" for m in range(minor, 16, -1)]
    return tags + [f"manylinux2014_{machine}"]


def pip_arguments(target: str, extras: Sequence[str], platforms: Sequence[str], python_version: str,
                  implementation: str, report: Path, scratch: Path,
                  with_requirements: Sequence[str] = ()) -> List[str]:
    """The ``pip install --dry-run`` argument list for ``target`` (a path or a requirement), plus
    ``with_requirements`` (what a user names beside it, e.g. ``numpy<2``)."""
    spec = f"{target}[{','.join(extras)}]" if extras else target
    args = ["install", "--dry-run", "--ignore-installed", "--only-binary=:all:", "--quiet",
            "--python-version", python_version, "--implementation", implementation,
            "--target", str(scratch), "--report", str(report)]
    for p in platforms:
        args += ["--platform", p]
    return args + [spec, *with_requirements]


def cv2_providers(chosen: Dict[str, str]) -> List[str]:
    """The distributions in a resolved install that each install a ``cv2`` module."""
    return sorted(n for n in chosen if n in CV2_PROVIDERS)


def run_matrix(target: str, implementation: str) -> int:
    """Resolve every row of MATRIX, each in its own pip process (pip keeps global state); 1 if any fails."""
    import subprocess

    failed = []
    for row in MATRIX:
        cmd = [sys.executable, __file__, target, "--machine", row.machine, "--python-version", row.python_version,
               "--glibc", row.glibc, "--implementation", implementation]
        for e in row.extras:
            cmd += ["--extra", e]
        for r in row.with_requirements:
            cmd += ["--with", r]
        print(f"== {row.why}", flush=True)
        if subprocess.run(cmd).returncode != 0:
            failed.append(row)
    print(f"matrix: {len(MATRIX) - len(failed)}/{len(MATRIX)} targets resolved", flush=True)
    return 1 if failed else 0


def patch_pip_markers(env: Dict[str, str]) -> None:
    """Make pip's vendored ``packaging`` evaluate every marker in ``env`` instead of the host's."""
    from pip._vendor.packaging import markers

    markers.default_environment = lambda: dict(env)  # type: ignore[assignment]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Resolve, print one PASSED/FAILED line with the chosen versions of the key packages."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("target", nargs="?", default=".", help="project folder, wheel or requirement (default: .)")
    ap.add_argument("--extra", action="append", default=[], help="extra to include (repeatable)")
    ap.add_argument("--machine", default="aarch64")
    ap.add_argument("--python-version", default="3.10")
    ap.add_argument("--implementation", default="cp")
    ap.add_argument("--glibc", default="2.35", help="target glibc (JetPack 6 = Ubuntu 22.04 = 2.35)")
    ap.add_argument("--with", dest="with_requirements", action="append", default=[], metavar="REQ",
                    help="a requirement installed beside it, e.g. 'numpy<2' (repeatable)")
    ap.add_argument("--matrix", action="store_true", help="resolve every target of the supported matrix")
    args = ap.parse_args(argv)
    if args.matrix:
        return run_matrix(args.target, args.implementation)

    env = marker_environment(args.machine, args.python_version, args.implementation)
    plats = manylinux_platforms(args.machine, args.glibc)
    label = f"linux-{args.machine} {args.implementation}{args.python_version.replace('.', '')} glibc {args.glibc}"
    name = "edge-rppg" if Path(args.target).is_dir() else Path(args.target).name
    label += f" {name}" + (f"[{','.join(args.extra)}]" if args.extra else "")
    label += "".join(f" {r!r}" for r in args.with_requirements)
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        pip_args = pip_arguments(args.target, args.extra, plats, args.python_version, args.implementation,
                                 report, Path(tmp) / "target", args.with_requirements)
        patch_pip_markers(env)
        from pip._internal.cli.main import main as pip_main

        rc = pip_main(pip_args)
        if rc != 0 or not report.exists():
            print(f"{label} resolution: FAILED (pip exit {rc})", flush=True)
            return 1
        installs = json.loads(report.read_text())["install"]
    chosen = {i["metadata"]["name"].lower(): i["metadata"]["version"] for i in installs}
    providers = cv2_providers(chosen)
    if len(providers) != 1:
        print(f"{label} resolution: FAILED ({len(providers)} cv2 providers: {providers})", flush=True)
        return 1
    key = ", ".join(f"{n}=={chosen[n]}" for n in ("mediapipe", "numpy", "onnxruntime", "opencv-contrib-python",
                                                   "protobuf", "scipy", "torch") if n in chosen)
    print(f"{label} resolution: PASSED ({len(chosen)} packages; {key})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
