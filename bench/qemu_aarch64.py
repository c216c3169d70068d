"""Install edge-rppg on an emulated arm64 Debian and estimate a synthetic clip there.

Why: Jetson kiosks and in-car units are aarch64; this proves the wheel and its PyPI
dependency set (mediapipe 0.10.18 on aarch64) install and run an estimate on that
architecture without owning one. Steps, each timed:

1. binfmt_misc: make the kernel run aarch64 ELF files through ``qemu-aarch64-static``
   (mounts ``binfmt_misc`` and registers the Debian ``qemu-aarch64`` entry with the ``F``
   flag, so the interpreter also works inside the chroot). Without it a chroot cannot
   execute anything and the script stops with the exact error.
2. ``debootstrap --arch=arm64`` a minimal Debian 12 root with python3, venv and pip
   (cached in ``--root``; rerunning reuses it).
3. Build the wheel here (``pip wheel --no-deps``), copy it in, create a venv in the
   chroot and ``pip install`` the wheel with its dependencies from PyPI.
4. Synthesise a short clip on the host (``edge-rppg synth``), copy it in, run
   ``edge-rppg estimate --json`` in the chroot (default engine: the shipped Cluster-Phys
   ONNX model on ONNX Runtime; and ``--engine pos``), compare with the ground truth.

Run as root (debootstrap, chroot, mount): ``nice -n 10 python bench/qemu_aarch64.py``.
The result and the stage times go to ``bench/RESULTS.md`` (section "qemu aarch64").
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import markdown_table, record  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BINFMT = Path("/proc/sys/fs/binfmt_misc")
BINFMT_CONF = Path("/usr/lib/binfmt.d/qemu-aarch64.conf")
QEMU = Path("/usr/bin/qemu-aarch64-static")
MIRROR = "http://deb.debian.org/debian"
HOST_CA = os.environ.get("PIP_CERT") or "/etc/ssl/certs/ca-certificates.crt"


def log(msg: str) -> None:
    """Print a timestamped progress line (the script runs for many minutes in the background)."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def sh(cmd: Sequence[str], *, check: bool = True, capture: bool = False, env: Optional[Dict[str, str]] = None,
       timeout: Optional[float] = None) -> subprocess.CompletedProcess:
    """Run ``cmd`` (logged); raise with its output tail when it fails and ``check`` is set."""
    log("$ " + " ".join(cmd))
    proc = subprocess.run(list(cmd), text=True, capture_output=capture, env=env, timeout=timeout)
    if check and proc.returncode != 0:
        tail = ((proc.stdout or "") + (proc.stderr or ""))[-3000:]
        raise RuntimeError(f"command failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")
    return proc


def ensure_binfmt() -> str:
    """Make sure aarch64 binaries run through qemu; return how (for the report)."""
    entry = BINFMT / "qemu-aarch64"
    if entry.exists() and "enabled" in entry.read_text():
        return "binfmt_misc qemu-aarch64 already registered: " + " ".join(entry.read_text().split()[:4])
    if not QEMU.exists():
        raise RuntimeError(f"{QEMU} missing: apt-get install qemu-user-static")
    if not (BINFMT / "register").exists():
        proc = sh(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)], check=False, capture=True)
        if proc.returncode != 0:
            raise RuntimeError(f"cannot mount binfmt_misc (needed to execute aarch64 code in a chroot): "
                               f"{proc.stderr.strip()}")
    line = next(l for l in BINFMT_CONF.read_text().splitlines() if l.startswith(":qemu-aarch64:"))
    try:
        (BINFMT / "register").write_text(line + "\n")
    except OSError as exc:
        raise RuntimeError(f"cannot register qemu-aarch64 in binfmt_misc: {exc}") from exc
    return "registered qemu-aarch64 in binfmt_misc (flags F: interpreter opened at registration)"


def debootstrap(root: Path, suite: str) -> Optional[float]:
    """A minimal arm64 Debian root with python3 + venv + pip; returns the seconds its (first) build took.

    A complete root is reused; its marker file keeps the duration of the run that built it."""
    marker = root / ".edge_rppg_ready"
    if marker.exists():
        log(f"reusing {root}")
        try:
            return float(json.loads(marker.read_text())["seconds"])
        except (ValueError, KeyError, TypeError):
            return None
    if root.exists():
        shutil.rmtree(root)
    t = time.perf_counter()
    sh(["debootstrap", "--arch=arm64", "--variant=minbase",
        "--include=python3,python3-venv,python3-pip,ca-certificates,libgl1,libglib2.0-0",
        suite, str(root), MIRROR])
    seconds = time.perf_counter() - t
    marker.write_text(json.dumps({"suite": suite, "seconds": seconds}))
    return seconds


class Mounts:
    """/proc and /dev inside the chroot (pip and mediapipe need them); unmounted on exit.

    The host's /sys is deliberately *not* mounted: under qemu-user, ONNX Runtime's cpuinfo reads
    the x86 host's /sys/devices/system/cpu cache topology and dies with SIGSEGV at import
    (``import onnxruntime`` → exit -11). Without /sys it warns that it could not detect the CPU
    and runs (on a real Jetson /sys is the device's own)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.done: List[Path] = []

    def __enter__(self) -> "Mounts":
        for src, opts in (("/proc", ["-t", "proc", "proc"]), ("/dev", ["--rbind", "/dev"])):
            dst = self.root / src.lstrip("/")
            dst.mkdir(exist_ok=True)
            sh(["mount", *opts, str(dst)])
            self.done.append(dst)
        shutil.copy("/etc/resolv.conf", self.root / "etc/resolv.conf")
        # the host's CA bundle (it may trust a TLS-inspecting proxy that the Debian bundle does not)
        shutil.copy(HOST_CA, self.root / "etc/ssl/certs/host-ca-certificates.crt")
        return self

    def __exit__(self, *exc: object) -> None:
        for dst in reversed(self.done):
            sh(["umount", "-l", str(dst)], check=False)


def chroot(root: Path, cmd: Sequence[str], **kw: object) -> subprocess.CompletedProcess:
    """Run ``cmd`` inside the arm64 root (every binary there goes through qemu-aarch64)."""
    env = {"PATH": "/opt/venv/bin:/usr/local/bin:/usr/bin:/bin", "HOME": "/root", "LANG": "C.UTF-8",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_CACHE_DIR": "1", "PYTHONUNBUFFERED": "1",
           "PIP_CERT": "/etc/ssl/certs/host-ca-certificates.crt",
           "SSL_CERT_FILE": "/etc/ssl/certs/host-ca-certificates.crt"}
    return sh([shutil.which("chroot") or "/usr/sbin/chroot", str(root), *cmd], env=env, **kw)  # type: ignore[arg-type]


def build_wheel(out: Path) -> Path:
    """The project's wheel, built here without dependencies."""
    if out.exists():
        shutil.rmtree(out)
    sh([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(REPO)])
    return next(out.glob("edge_rppg-*.whl"))


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the stages, record the result (success or the exact error) in bench/RESULTS.md."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=Path("/tmp/arm64-root"))
    ap.add_argument("--suite", default="bookworm")
    ap.add_argument("--duration", type=float, default=12.0, help="clip length, s (one 10 s window + margin)")
    ap.add_argument("--hr", type=float, default=72.0)
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unmount the chroot's /proc, /sys, /dev on kill
    if platform.machine() != "x86_64" or os.geteuid() != 0:
        print("needs root on an x86-64 host (debootstrap, chroot, binfmt_misc)", file=sys.stderr)
        return 2
    times: Dict[str, float] = {}
    notes: List[str] = []
    outputs: Dict[str, dict] = {}
    error: Optional[str] = None
    t_all = time.perf_counter()
    try:
        t = time.perf_counter()
        notes.append(ensure_binfmt())
        times["binfmt"] = time.perf_counter() - t

        t = time.perf_counter()
        first = debootstrap(args.root, args.suite)
        spent = time.perf_counter() - t
        if first is not None and spent < first / 2:
            times[f"debootstrap arm64 root (reused; building it took {first:.0f} s)"] = spent
        else:
            times["debootstrap arm64 root"] = spent

        work = Path("/tmp/qemu-aarch64-work")
        work.mkdir(exist_ok=True)
        wheel = build_wheel(work / "wheel")
        clip = work / "clip.avi"
        sh([str(REPO / ".venv/bin/edge-rppg"), "synth", str(clip), "--hr", str(args.hr), "--duration",
            str(args.duration), "--seed", "3", "--set", "width=320", "--set", "height=240"])
        truth = json.loads(clip.with_suffix(".json").read_text())
        dst = args.root / "tmp/edge"
        dst.mkdir(parents=True, exist_ok=True)
        for f in (wheel, clip, clip.with_suffix(".json")):
            shutil.copy(f, dst / f.name)

        with Mounts(args.root):
            arch = chroot(args.root, ["uname", "-m"], capture=True).stdout.strip()
            pyver = chroot(args.root, ["python3", "--version"], capture=True).stdout.strip()
            notes.append(f"inside the root: `uname -m` = {arch}, {pyver}")
            t = time.perf_counter()
            if not Path(args.root / "opt/venv/bin/python").exists():
                chroot(args.root, ["python3", "-m", "venv", "/opt/venv"])
            chroot(args.root, ["/opt/venv/bin/pip", "install", "--progress-bar", "off", f"/tmp/edge/{wheel.name}"])
            # a rerun must test this tree's wheel even when pip sees the same version installed
            chroot(args.root, ["/opt/venv/bin/pip", "install", "-q", "--no-deps", "--force-reinstall",
                               f"/tmp/edge/{wheel.name}"])
            spent = time.perf_counter() - t
            first_pip = args.root / "opt/venv/.edge_rppg_pip_seconds"
            if first_pip.exists():
                times[f"pip install (already installed; the first install took {float(first_pip.read_text()):.0f} s)"] \
                    = spent
            else:
                first_pip.write_text(f"{spent:.1f}")
                times["pip install (venv + wheel + deps from PyPI)"] = spent
            size = sh(["du", "-sm", str(args.root / "opt/venv")], capture=True).stdout.split()[0]
            notes.append(f"the arm64 venv with the bare install: {size} MB")
            frz = chroot(args.root, ["/opt/venv/bin/pip", "freeze"], capture=True).stdout
            wanted = ("mediapipe", "numpy", "onnxruntime", "opencv", "scipy", "protobuf", "torch", "matplotlib")
            notes.append("installed: " + ", ".join(l for l in frz.split() if l.lower().startswith(wanted)))
            for engine in ("default", "pos"):
                t = time.perf_counter()
                proc = chroot(args.root, ["/opt/venv/bin/edge-rppg", "estimate", "/tmp/edge/clip.avi", "--json",
                                          "--no-progress", "--engine", engine], capture=True)
                times[f"estimate --engine {engine} (emulated)"] = time.perf_counter() - t
                outputs[engine] = json.loads(proc.stdout)
                log(f"{engine}: hr {outputs[engine].get('hr_bpm')} valid {outputs[engine].get('valid')}")
    except Exception as exc:  # the report says exactly why, whatever failed
        error = f"{type(exc).__name__}: {exc}"
        log("FAILED: " + error)
        truth = locals().get("truth", {})
    total = time.perf_counter() - t_all

    rows = [[k, f"{v:.0f}"] for k, v in times.items()] + [["total", f"{total:.0f}"]]
    body = [f"arm64 Debian {args.suite} root by debootstrap, run through qemu-aarch64-static (binfmt_misc) "
            f"on an x86-64 host; clip: `edge-rppg synth --hr {args.hr} --duration {args.duration} --seed 3 "
            f"--set width=320 --set height=240` made on the host.", "",
            *[f"- {n}" for n in notes], "", markdown_table(["stage", "seconds"], rows), ""]
    if outputs:
        truth_hr = truth.get("hr_bpm")
        res = [[e, truth_hr, o.get("hr_bpm"), o.get("valid"), len(o.get("windows", []))] for e, o in outputs.items()]
        body += [markdown_table(["engine", "truth bpm", "estimate bpm", "valid", "windows"], res), ""]
        body += ["Output (`edge-rppg estimate --json`, default engine), first 600 characters:", "",
                 "```", json.dumps(outputs.get("default", {}))[:600], "```"]
    if error:
        body += ["", f"**Failed:** `{error[:1500]}`"]
    text = "\n".join(body)
    print(text)
    if not args.no_record:
        record("qemu aarch64", text)
    return 0 if error is None else 1


if __name__ == "__main__":
    raise SystemExit(main())
