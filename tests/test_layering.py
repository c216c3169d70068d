"""The core's layering, read from its imports (``tools/check_layering.py``): no core module
reaches the stages around it (runtime, training, export, calibration) except the CLI's
command modules, and no import cycle among the core's modules. Also checks that the checker
itself sees a violation and a cycle when they are there."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _checker():
    spec = importlib.util.spec_from_file_location("check_layering", ROOT / "tools" / "check_layering.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["check_layering"] = mod
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def test_core_never_reaches_the_outer_stages() -> None:
    assert _checker().layering_violations() == []


def test_no_import_cycle_among_core_modules() -> None:
    c = _checker()
    graph = c.import_graph()
    assert len(graph) > 50  # it read the core
    assert c.cycles(graph) == []


def test_checker_sees_cycles_and_outer_imports(tmp_path: Path) -> None:
    c = _checker()
    assert c.cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    src = tmp_path / "m.py"
    src.write_text("def f():\n    from ..runtime import sinks\n    import edge_rppg.training.trainer\n")
    found = {name for _, name in c.imports(src, "edge_rppg.pkg.m", skip_type_checking=True)}
    assert "edge_rppg.runtime.sinks" in found and "edge_rppg.training.trainer" in found
    assert all(c._outer(n) for n in ("edge_rppg.runtime.sinks", "edge_rppg.training.trainer",
                                     "edge_rppg.runtime.cuda_roi:register_backends"))
    assert not c._outer("edge_rppg.runtime_helpers")
