"""Check the core's layering by reading its imports (ast), not by trusting a convention.

1. No module of the core (``edge_rppg/``) imports the stages around it — ``edge_rppg.runtime``,
   ``edge_rppg.training``, ``edge_rppg.export``, ``edge_rppg.calibration`` — not even inside a
   function, and names none of them in a string (``importlib`` by name), except the CLI's
   command modules (``edge_rppg/cli/``), which start those stages' commands.
2. No import cycle among the core's modules, counting every import — also those inside
   functions, which only hide a cycle until the function runs (``if TYPE_CHECKING:`` blocks
   excluded: they never run).

``python tools/check_layering.py`` prints what it finds and exits 1 on a violation;
``tests/test_layering.py`` runs the same functions.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "edge_rppg"
OUTER = ("edge_rppg.runtime", "edge_rppg.training", "edge_rppg.export", "edge_rppg.calibration")
#: Core modules allowed to reach the outer stages: the CLI's command modules.
ALLOWED = ("edge_rppg.cli.",)


def module_name(path: Path) -> str:
    """``edge_rppg/face/stage.py`` → ``edge_rppg.face.stage`` (a package's ``__init__`` is the package)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def core_modules() -> Dict[str, Path]:
    """Every module of the core, by name."""
    return {module_name(p): p for p in sorted(CORE.rglob("*.py"))}


def _resolve(module: str, is_pkg: bool, level: int, target: str) -> str:
    if level == 0:
        return target
    base = module.split(".") if is_pkg else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join(base + ([target] if target else []))


def _type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def imports(path: Path, module: str, skip_type_checking: bool) -> Iterator[Tuple[int, str]]:
    """``(line, imported module)`` of every import in ``path`` (with ``skip_type_checking``,
    not those under ``if TYPE_CHECKING``, which never run). An import of names from a
    package yields ``package.name`` too, since the name may be a submodule."""
    tree = ast.parse(path.read_text(), str(path))
    is_pkg = path.name == "__init__.py"

    def walk(node: ast.AST) -> Iterator[ast.AST]:
        for child in ast.iter_child_nodes(node):
            if skip_type_checking and _type_checking(child):
                continue
            yield child
            yield from walk(child)

    for node in walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, is_pkg, node.level, node.module or "")
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def _strings(path: Path) -> Iterator[Tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def _outer(name: str) -> bool:
    return any(name == o or name.startswith(o + ".") or name.startswith(o + ":") for o in OUTER)


def layering_violations() -> List[str]:
    """``path:line: module reaches outer`` for every core module that imports (or names, in
    an import-like string) an outer stage."""
    out = []
    for mod, path in core_modules().items():
        if mod.startswith(ALLOWED):
            continue
        rel = path.relative_to(ROOT)
        for line, name in imports(path, mod, skip_type_checking=False):
            if _outer(name):
                out.append(f"{rel}:{line}: {mod} imports {name}")
        for line, text in _strings(path):
            if _outer(text.strip()):
                out.append(f"{rel}:{line}: {mod} names {text.strip()!r}")
    return sorted(set(out))


def import_graph() -> Dict[str, Set[str]]:
    """Core module → the core modules it imports (anywhere in it)."""
    mods = core_modules()
    graph: Dict[str, Set[str]] = {}
    for mod, path in mods.items():
        deps = {name for _, name in imports(path, mod, skip_type_checking=True) if name in mods and name != mod}
        graph[mod] = deps
    return graph


def cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on: Set[str] = set()
    found: List[List[str]] = []
    counter = [0]
    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found




def main() -> int:
    bad = layering_violations()
    for line in bad:
        print(f"layering: {line}")
    found = cycles(import_graph())
    for comp in found:
        print(f"cycle: {' <-> '.join(comp)}")
    n = len(core_modules())
    print(f"{n} core modules: {len(bad)} layering violation(s), {len(found)} import cycle(s)")
    return 1 if bad or found else 0


if __name__ == "__main__":
    raise SystemExit(main())
