"""Run a benchmark of this tree and of another commit side by side, in one run, and report
the ratios (this machine is shared and noisy: the two take turns, round after round).

The other commit is checked out into a temporary git worktree and its own copy of the
benchmark runs on its own code (``PYTHONPATH`` puts that tree's ``edge_rppg`` first; the
venv, data and machine are the same). Each run's ``--json`` output is read and the numbers
named by ``--metric`` (dotted paths into that JSON) are compared: median over the rounds,
and the ratio this tree / base (below 1: this tree is faster).

    python bench/bench_against_commit.py --base e108c4d --bench bench_live_cpu.py --rounds 3 \\
        --metric "now: schedule, ONNX face models (defaults), ONNX model.cpu_ms" -- --duration 20 --repeat 1
    python bench/bench_against_commit.py --base e108c4d --bench bench_end_to_end.py --rounds 3 \\
        --metric estimate_now.wall_s --metric decode_only.wall_s -- --duration 30
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]


def _json_of(text: str) -> Any:
    """The first JSON object printed in ``text`` (the benchmarks print a table beside it)."""
    dec = json.JSONDecoder()
    for i, ch in enumerate(text):
        if ch == "{":
            try:
                return dec.raw_decode(text[i:])[0]
            except json.JSONDecodeError:
                continue
    raise ValueError("no JSON object in the benchmark's output")


def _get(obj: Any, path: str) -> float:
    """``obj`` at the dotted ``path``; a key may itself contain dots if it matches whole."""
    if path in obj:
        return float(obj[path])
    head, _, rest = path.partition(".")
    for k in sorted(obj, key=len, reverse=True):   # the longest key that prefixes the path
        if path.startswith(k + "."):
            return _get(obj[k], path[len(k) + 1:])
    return _get(obj[head], rest)


def run_once(tree: Path, bench: str, extra: List[str]) -> Any:
    env = dict(os.environ, PYTHONPATH=str(tree))
    cmd = [sys.executable, str(tree / "bench" / bench), *extra, "--json", "--no-record"]
    out = subprocess.run(cmd, cwd=str(tree), env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{bench} failed in {tree}:\n{out.stderr[-2000:]}")
    return _json_of(out.stdout)


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: List[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="the commit to compare against (e.g. the previous one)")
    ap.add_argument("--bench", required=True, help="benchmark script in bench/ that takes --json and --no-record")
    ap.add_argument("--metric", action="append", required=True, help="dotted path into its JSON (repeatable)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench_base_"))
    base_tree = work / "tree"
    subprocess.run(["git", "worktree", "add", "--detach", "-q", str(base_tree), args.base], cwd=ROOT, check=True)
    values: Dict[str, Dict[str, List[float]]] = {"base": {}, "this": {}}
    try:
        for r in range(args.rounds):
            for side, tree in (("base", base_tree), ("this", ROOT)) if r % 2 == 0 else (("this", ROOT), ("base", base_tree)):
                res = run_once(tree, args.bench, extra)
                for m in args.metric:
                    values[side].setdefault(m, []).append(_get(res, m))
                print(f"round {r + 1}/{args.rounds} {side}: " + ", ".join(f"{values[side][m][-1]:.4g}" for m in args.metric),
                      file=sys.stderr, flush=True)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(base_tree)], cwd=ROOT, check=False)
    report = {m: {"base": statistics.median(values["base"][m]), "this": statistics.median(values["this"][m]),
                  "base_runs": values["base"][m], "this_runs": values["this"][m]} for m in args.metric}
    for m, r in report.items():
        r["ratio_this_over_base"] = r["this"] / r["base"] if r["base"] else float("nan")
    cmd = " ".join(["python bench/bench_against_commit.py", *argv, "--", *extra])
    print(f"{args.bench}, {args.rounds} rounds alternating, medians (command: {cmd})")
    print(f"{'metric':<70} {'base':>10} {'this':>10} {'this/base':>10}")
    for m, r in report.items():
        print(f"{m[:70]:<70} {r['base']:10.4g} {r['this']:10.4g} {r['ratio_this_over_base']:10.3f}")
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
