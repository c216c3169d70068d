"""Check the TensorRT names our code uses against the real bindings of each supported release.

Why: the TensorRT libraries are not on PyPI (and there is no GPU in CI), so the build path
cannot be run there; but PyPI serves the Python bindings (``tensorrt-cu12-bindings``, ~1.2 MB
per release). Their extension module cannot be imported without the libraries, yet its
binary holds every class, method, property and enum value it registers with pybind11 as a
C string. This script downloads the bindings of each release in :data:`RELEASES`, reads
those strings (and the names the wheel's Python ``__init__.py`` defines, e.g. ``nptype``),
scans our TensorRT modules with ``ast`` and fails when the code uses a name a release lacks.

The rule (honest about what a name list can and cannot prove):

1. **Used names.** Every attribute of ``trt`` and of objects made from it (``builder``,
   ``network``, ``config``, ``parser``, ``layer``, the engine and context...), found by a
   simple data flow over assignments; plus the methods of classes that subclass a TensorRT
   class (the calibrator's ``get_batch`` etc.: a misspelt override is silently never
   called). ``hasattr(x, "N")`` / ``getattr(x, "N", default)`` are *probes*: they are safe
   on every release and are reported, not required.
2. **Guarded paths.** ``runtime/tensorrt_build.py`` declares ``VERSION_GUARDED``: function
   → probe. A release *enables* a probe when every name the probe tests (its ``hasattr``
   strings, and those of the probes it calls) is registered there. Names used inside a
   guarded function are required only in releases that enable its probe; every other name
   is required in every release. Every call of a guarded function must sit under
   ``if <probe>(...)`` (or inside another function guarded by the same probe), checked here.
3. **Presence.** A name is *present* when it is a whole string in the binary. The linker
   merges a short string into the tail of a longer one (``INT8`` lives inside ``UINT8``,
   ``precision`` inside ``reset_precision``), so a name found only as the tail of a longer
   identifier counts as present but is listed as *undecidable*: the binary cannot tell
   whether it is registered on its own. A name that appears nowhere is *absent*.

    python tools/check_tensorrt_api.py                    # downloads into a temp dir (needs PyPI)
    python tools/check_tensorrt_api.py --wheels DIR       # use already downloaded wheels

Exit code 1 on a missing name or a misplaced guarded call; the report lists every name.
"""
from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

REPO = Path(__file__).resolve().parents[1]
#: the modules that call the TensorRT Python API
SOURCES = ("edge_rppg/pulse/engines/tensorrt_engine.py", "runtime/tensorrt_build.py", "runtime/cli_build_engine.py")
GUARD_MODULE = "runtime/tensorrt_build.py"
#: supported releases: 10.3 is JetPack 6.1/6.2's TensorRT, 10.13 a late 10.x, 11.0 the first and 11.4 the current 11.x
RELEASES = ("10.3.0", "10.13.3.9", "11.0.0.114", "11.4.0.106")
#: wheel tags to try, in order (10.3 ships manylinux_2_17, later releases manylinux_2_28)
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64")
SKIP = {"__init__", "__class__", "__name__", "__dict__"}
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Use:
    """One TensorRT name used by our code."""

    name: str
    file: str
    line: int
    function: str      # innermost enclosing function ("" at module level)
    kind: str          # "attr", "override" (method of a TensorRT subclass) or "probe" (hasattr/getattr)
    enclosing: Tuple[str, ...] = ()  # every enclosing function, outermost first


@dataclass
class Release:
    """The names registered by one release's bindings."""

    version: str
    exact: Set[str]
    identifiers: List[str] = field(default_factory=list)

    def presence(self, name: str) -> str:
        """``exact``, ``tail`` (only inside a longer identifier: undecidable) or ``absent``."""
        if name in self.exact:
            return "exact"
        return "tail" if any(s.endswith(name) for s in self.identifiers) else "absent"


# ----------------------------------------------------------------------------------------- AST side
def _root(node: ast.AST) -> Optional[str]:
    """``trt`` for ``trt.A.B(...).c``, ``self._engine`` for ``self._engine.x``; None if not a chain."""
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id == "self":
                return f"self.{node.attr}"
            node = node.value
        elif isinstance(node, ast.Name):
            return node.id
        else:
            return None


def _target_names(t: ast.AST) -> List[str]:
    if isinstance(t, ast.Name):
        return [t.id]
    if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self":
        return [f"self.{t.attr}"]
    return []


def receivers(tree: ast.AST) -> Set[str]:
    """Names bound to TensorRT objects: ``trt`` and, to a fixed point, whatever is assigned from
    an expression rooted at one (``builder = trt.Builder(...)``, ``network = builder.create_network()``)."""
    recv = {"trt"}
    pairs: List[Tuple[ast.AST, ast.AST]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    pairs += list(zip(t.elts, node.value.elts))
                else:
                    pairs.append((t, node.value))
    changed = True
    while changed:
        changed = False
        for t, v in pairs:
            if _root(v) in recv:
                for n in _target_names(t):
                    if n not in recv:
                        recv.add(n)
                        changed = True
    return recv


def _chain_attrs(node: ast.Attribute) -> List[str]:
    """Attribute names of ``a.b.c`` from the inside out, skipping calls/subscripts in between."""
    out = []
    cur: ast.AST = node
    while True:
        if isinstance(cur, ast.Attribute):
            out.append(cur.attr)
            if isinstance(cur.value, ast.Name) and cur.value.id == "self":
                out.pop()  # self._engine: the attribute is ours, not TensorRT's
                break
            cur = cur.value
        elif isinstance(cur, (ast.Call,)):
            cur = cur.func
        elif isinstance(cur, ast.Subscript):
            cur = cur.value
        else:
            break
    return out


class _Scanner(ast.NodeVisitor):
    def __init__(self, file: str, recv: Set[str]) -> None:
        self.file, self.recv = file, recv
        self.uses: List[Use] = []
        self.stack: List[str] = []
        self.seen: Set[int] = set()

    def _add(self, name: str, node: ast.AST, kind: str) -> None:
        if name not in SKIP:
            self.uses.append(Use(name, self.file, getattr(node, "lineno", 0), self.stack[-1] if self.stack else "",
                                 kind, tuple(self.stack)))

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.stack.append(node.name)
        self.generic_visit(node)
        self.stack.pop()

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if any(_root(b) in self.recv for b in node.bases):  # overrides of a TensorRT class's virtuals
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    self._add(item.name, item, "override")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        f = node.func
        if isinstance(f, ast.Name) and f.id in ("hasattr", "getattr") and len(node.args) >= 2 \
                and _root(node.args[0]) in self.recv and isinstance(node.args[1], ast.Constant) \
                and isinstance(node.args[1].value, str):
            if f.id == "hasattr" or len(node.args) == 3:
                self._add(node.args[1].value, node, "probe")
            else:  # getattr without a default raises like a plain attribute access
                self._add(node.args[1].value, node, "attr")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if id(node) not in self.seen and _root(node) in self.recv:
            cur: ast.AST = node  # mark the inner attributes of this chain as seen
            while isinstance(cur, (ast.Attribute, ast.Call, ast.Subscript)):
                self.seen.add(id(cur))
                cur = cur.value if isinstance(cur, (ast.Attribute, ast.Subscript)) else cur.func
            for name in _chain_attrs(node):
                self._add(name, node, "attr")
        self.generic_visit(node)


def scan(paths: Iterable[Path], root: Path = REPO) -> List[Use]:
    """Every TensorRT name the given modules use."""
    uses: List[Use] = []
    for p in paths:
        tree = ast.parse(p.read_text(), str(p))
        s = _Scanner(str(p.relative_to(root)) if p.is_relative_to(root) else str(p), receivers(tree))
        s.visit(tree)
        uses += s.uses
    return uses


def version_guarded(path: Path) -> Dict[str, str]:
    """The ``VERSION_GUARDED`` dict literal of ``path`` (function → probe), read without importing it."""
    for node in ast.parse(path.read_text()).body:
        target = node.target if isinstance(node, ast.AnnAssign) else \
            (node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None)
        if isinstance(target, ast.Name) and target.id == "VERSION_GUARDED" and node.value is not None:
            return dict(ast.literal_eval(node.value))
    raise SystemExit(f"{path}: no VERSION_GUARDED literal")


def probe_names(path: Path, probe: str, _seen: Optional[Set[str]] = None) -> Set[str]:
    """Names a probe function tests with ``hasattr`` (and, recursively, the probes it calls)."""
    seen = _seen if _seen is not None else set()
    seen.add(probe)
    funcs = {n.name: n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.FunctionDef)}
    if probe not in funcs:
        raise SystemExit(f"{path}: probe {probe}() not defined")
    names: Set[str] = set()
    for node in ast.walk(funcs[probe]):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in ("hasattr", "getattr") and len(node.args) >= 2 and \
                    isinstance(node.args[1], ast.Constant):
                names.add(str(node.args[1].value))
            elif node.func.id in funcs and node.func.id not in seen:
                names |= probe_names(path, node.func.id, seen)
    return names


def guard_violations(path: Path, guarded: Dict[str, str]) -> List[str]:
    """Calls of a guarded function that are not under ``if <its probe>(...)``."""
    tree = ast.parse(path.read_text())
    parents: Dict[int, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
    out = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in guarded):
            continue
        probe, ok, child, cur = guarded[node.func.id], False, node, parents.get(id(node))
        while cur is not None and not ok:
            if isinstance(cur, ast.If) and any(child is s for s in cur.body) and any(
                    isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id == probe
                    for c in ast.walk(cur.test)):
                ok = True
            if isinstance(cur, ast.FunctionDef) and guarded.get(cur.name) == probe:
                ok = True
            child, cur = cur, parents.get(id(cur))
        if not ok:
            out.append(f"{path.name}:{node.lineno}: {node.func.id}() is called outside `if {probe}(...)`")
    return out


def in_guarded(use: Use, guarded: Dict[str, str]) -> Optional[str]:
    """The probe guarding ``use`` (the outermost guarded function around it), else None."""
    if not use.file.endswith(GUARD_MODULE):
        return None
    return next((guarded[f] for f in use.enclosing if f in guarded), None)


# ------------------------------------------------------------------------------------- binary side
def binary_strings(data: bytes, min_len: int = 2) -> List[str]:
    """Printable NUL-terminated strings of a binary (what ``strings`` prints)."""
    return [m.decode("ascii") for m in re.findall(rb"[\x20-\x7e]{%d,}" % min_len, data)]


def python_names(source: str) -> Set[str]:
    """Top-level names a Python module defines (functions, classes, assignments)."""
    out: Set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, ast.Assign):
            out |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return out


def read_release(wheel: Path) -> Release:
    """Registered names of a ``tensorrt-cu12-bindings`` wheel: its ``.so`` strings + ``__init__.py`` names."""
    version = wheel.name.split("-")[1]
    strings: List[str] = []
    with zipfile.ZipFile(wheel) as z:
        for n in z.namelist():
            if re.search(r"tensorrt[^/]*\.so", n.split("/")[-1]) and "/plugin" not in n:
                strings += binary_strings(z.read(n))
            elif n.endswith("__init__.py") and n.count("/") == 1:
                strings += sorted(python_names(z.read(n).decode()))
    if not strings:
        raise SystemExit(f"{wheel}: no tensorrt extension module inside")
    return Release(version, set(strings), [s for s in set(strings) if IDENT.fullmatch(s)])


def download(version: str, dest: Path) -> Path:
    """``pip download`` the bindings wheel of ``version`` (cp310, x86-64) into ``dest``."""
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "--python-version",
           "3.10", "--implementation", "cp", "-d", str(dest)]
    for p in PLATFORMS:
        cmd += ["--platform", p]
    proc = subprocess.run(cmd + [f"tensorrt-cu12-bindings=={version}"], text=True, capture_output=True)
    found = sorted(dest.glob(f"tensorrt_cu12_bindings-{version}-*.whl"))
    if proc.returncode != 0 or not found:
        raise SystemExit(f"could not download tensorrt-cu12-bindings=={version}: {proc.stderr.strip()[-800:]}")
    return found[0]


# ------------------------------------------------------------------------------------------- check
def check(uses: Sequence[Use], releases: Sequence[Release], guarded: Dict[str, str],
          probes: Dict[str, Set[str]], violations: Sequence[str]) -> Tuple[bool, str]:
    """Apply the rule; return (ok, report text)."""
    ok = not violations
    lines = [f"TensorRT API check: {len(set(u.name for u in uses))} names in {len(set(u.file for u in uses))} "
             f"files against {', '.join(r.version for r in releases)}", ""]
    lines += [f"GUARD: {v}" for v in violations]
    for r in releases:
        enabled = {p: all(r.presence(n) != "absent" for n in names) for p, names in probes.items()}
        missing, undecidable, probed_absent = [], set(), set()
        for u in uses:
            pres = r.presence(u.name)
            guard = in_guarded(u, guarded)
            if u.kind == "probe":
                if pres == "absent":
                    probed_absent.add(u.name)
                continue
            required = guard is None or enabled[guard]
            if pres == "absent" and required:
                missing.append(u)
            elif pres == "tail" and required:
                undecidable.add(u.name)
        skipped = sorted({u.name for u in uses if in_guarded(u, guarded) and not enabled[in_guarded(u, guarded)]
                          and u.kind != "probe"})
        status = "FAIL" if missing else "ok"
        ok = ok and not missing
        lines.append(f"[{status}] TensorRT {r.version}: probes " +
                     ", ".join(f"{p}={'on' if e else 'off'}" for p, e in enabled.items()))
        for u in missing:
            lines.append(f"    MISSING {u.name} ({u.file}:{u.line} in {u.function or 'module'}"
                         f"{', guarded by ' + in_guarded(u, guarded) if in_guarded(u, guarded) else ''})")
        if skipped:
            absent = sorted(n for n in skipped if r.presence(n) == "absent")
            lines.append(f"    guarded paths off: their names are not required here; of them absent: "
                         f"{', '.join(absent) or 'none'}")
        if probed_absent:
            lines.append(f"    probed with hasattr/getattr and absent (handled): {', '.join(sorted(probed_absent))}")
        if undecidable:
            lines.append(f"    present only as the tail of a longer string (undecidable from the binary): "
                         f"{', '.join(sorted(undecidable))}")
    return ok, "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Download (or read) the bindings, scan the code, print the report; exit 1 on a missing name."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheels", type=Path, default=None, help="folder with the bindings wheels (else download)")
    ap.add_argument("--release", action="append", default=None, help=f"release to check (default {RELEASES})")
    ap.add_argument("--list", action="store_true", help="also print every used name and its presence per release")
    ap.add_argument("--record", action="store_true", help="write the report to bench/RESULTS.md")
    args = ap.parse_args(argv)
    versions = args.release or list(RELEASES)
    guard_path = REPO / GUARD_MODULE
    guarded = version_guarded(guard_path)
    probes = {p: probe_names(guard_path, p) for p in set(guarded.values())}
    uses = scan([REPO / s for s in SOURCES])
    violations = guard_violations(guard_path, guarded)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.wheels or Path(tmp)
        wheels = []
        for v in versions:
            have = sorted(folder.glob(f"tensorrt_cu12_bindings-{v}-*.whl"))
            wheels.append(have[0] if have else download(v, folder))
        releases = [read_release(w) for w in wheels]
    ok, report = check(uses, releases, guarded, probes, violations)
    print(report)
    if args.list:
        for name in sorted({u.name for u in uses}):
            kinds = sorted({u.kind for u in uses if u.name == name})
            guard = sorted({in_guarded(u, guarded) or "-" for u in uses if u.name == name})
            print(f"  {name:34s} {'/'.join(kinds):8s} guard={','.join(guard):28s} " +
                  " ".join(f"{r.version}:{r.presence(name)}" for r in releases))
    print("TensorRT API check: " + ("PASSED" if ok else "FAILED"))
    if args.record:
        sys.path.insert(0, str(REPO / "bench"))
        from results import record

        record("TensorRT API check", "```\n" + report + "\nTensorRT API check: " + ("PASSED" if ok else "FAILED")
               + "\n```")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
