"""Where ONNX Runtime spends a model's time: per-operator kernel time from ORT's profiler.

Runs the model ``--runs`` times on one random window with ``--threads`` intra-op threads
and prints, per operator type (``--by op``) or per module scope of the node names
(``--by scope``, the first ``--depth`` parts: ``stages.0/cluster/density_peak``), the mean
kernel ms per run, its share and the node count — the numbers that say which part of the
graph to make cheaper (issue 13: ONNX Runtime at least 3x torch eager).

    python bench/profile_onnx_ops.py [edge_rppg/assets/cluster_phys_default.onnx] [--threads 1] [--runs 30] [--by scope]
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import tempfile
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command line: see the module docstring."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", nargs="?", default=str(ROOT / "edge_rppg" / "assets" / "cluster_phys_default.onnx"))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--top", type=int, default=15, help="rows to print")
    p.add_argument("--by", choices=("op", "scope"), default="op", help="group by operator type or module scope")
    p.add_argument("--depth", type=int, default=3, help="scope parts kept with --by scope")
    args = p.parse_args(argv)
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = args.threads
    so.enable_profiling = True
    with tempfile.TemporaryDirectory() as tmp:
        so.profile_file_prefix = os.path.join(tmp, "ort")
        sess = ort.InferenceSession(args.model, so, providers=["CPUExecutionProvider"])
        inp = sess.get_inputs()[0]
        shape = [d if isinstance(d, int) else 1 for d in inp.shape]
        x = np.random.default_rng(0).random(shape, dtype=np.float32)
        for _ in range(args.runs):
            sess.run(None, {inp.name: x})
        events = json.loads(Path(sess.end_profiling()).read_text())
    time_us: collections.Counter = collections.Counter()
    count: collections.Counter = collections.Counter()
    for e in events:
        if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time"):
            op = e["args"]["op_name"] if args.by == "op" else \
                "/".join(e["name"][:-len("_kernel_time")].strip("/").split("/")[:args.depth])
            time_us[op] += e["dur"]
            count[op] += 1
    total = sum(time_us.values()) or 1
    print(f"{args.model}: {args.threads} thread(s), {args.runs} runs, kernel time {total / args.runs / 1e3:.2f} ms/run")
    print(f"| {args.by} | ms/run | share | nodes |\n|---|---|---|---|")
    for op, us in time_us.most_common(args.top):
        print(f"| {op} | {us / args.runs / 1e3:.2f} | {100 * us / total:.1f} % | {count[op] // args.runs} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
