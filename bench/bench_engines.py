"""Per-clip latency of Cluster-Phys at T=160: PyTorch eager vs ONNX Runtime FP32 vs INT8.

One run exports the model (a checkpoint, or a seeded fresh model of a preset), quantises
it to INT8 Q/DQ, then times one 160-frame window per call for every variant with 1 and 2
threads, side by side, and prints the ratios (goal: ORT FP32 ≥ 3× faster than torch
eager), node counts and file sizes. Timing = median of ``--repeat`` calls after
``--warmup`` calls, the variants interleaved call by call (so a busy machine slows them
alike); inputs are raw synthetic MSTmap windows, and every engine includes its
own window normalisation, as in the SDK.

    .venv/bin/python bench/bench_engines.py                       # paper preset, fresh weights
    .venv/bin/python bench/bench_engines.py --checkpoint edge_rppg/assets/cluster_phys_default.pt --json
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: List[str] | None = None) -> int:
    """Run the benchmark; prints a table (or JSON)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default=None, help="checkpoint to export (default: fresh model of --preset)")
    p.add_argument("--preset", default="paper", help="model preset when no checkpoint is given (paper, edge-small)")
    p.add_argument("--T", type=int, default=160)
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    p.add_argument("--repeat", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--calib-samples", type=int, default=16)
    p.add_argument("--workdir", default=None, help="where the ONNX files go (default: a temp dir)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--compare-topk", action="store_true",
                   help="also export and time the previous kNN density (ONNX TopK) in the same run")
    p.add_argument("--no-record", action="store_true", help="do not write bench/RESULTS.md")
    args = p.parse_args(argv)

    import torch

    from edge_rppg.calibration.dataset import CalibrationConfig, build_calibration_set
    from edge_rppg.calibration.quantize import quantize_int8
    from edge_rppg.pulse.engines.onnx_engine import OnnxRuntimeEngine
    from edge_rppg.pulse.engines.torch_engine import TorchEngine
    from edge_rppg.pulse.models import PRESETS, ClusterPhys
    from edge_rppg.pulse.models.checkpoint import load_checkpoint
    from edge_rppg.synth.mstmap_gen import SynthConfig, synth_mstmap
    from edge_rppg.export.onnx_export import export_onnx, node_counts

    import onnx

    if args.checkpoint:
        model, _ = load_checkpoint(args.checkpoint)
        name = Path(args.checkpoint).name
    else:
        model, name = ClusterPhys(PRESETS[args.preset]).eval(), f"{args.preset} (fresh seeded weights)"
    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench_engines_"))
    work.mkdir(parents=True, exist_ok=True)
    fp32 = export_onnx(model, work / "model.onnx", T=args.T)
    topk_fp32 = None
    if args.compare_topk:
        from edge_rppg.pulse.models import fpc

        network = fpc.knn_mean_distance

        def _topk_knn(dist: "torch.Tensor", k: int, off_diag: "torch.Tensor") -> "torch.Tensor":
            """The kNN density as exported before (one TopK with static k + 1)."""
            return torch.topk(dist, k + 1, dim=-1, largest=False, sorted=True).values[..., 1:].mean(dim=-1)

        fpc.knn_mean_distance = _topk_knn
        import edge_rppg.export.export_friendly as ef
        ef.knn_mean_distance = _topk_knn
        try:
            topk_fp32 = export_onnx(model, work / "model_topk.onnx", T=args.T)
        finally:
            fpc.knn_mean_distance = network
            ef.knn_mean_distance = network
    calib = build_calibration_set(CalibrationConfig(n_samples=args.calib_samples, T=args.T))
    int8_path = work / "model.int8.onnx"
    quantize_int8(fp32.path, int8_path, calib.normalised())
    if args.T != model.config.T:
        from edge_rppg.export.onnx_export import prepare_model

        model = prepare_model(model, args.T)
    window = synth_mstmap(SynthConfig(T=args.T), 123).mstmap

    variants: Dict[str, Dict[str, Any]] = {
        "torch_eager": {"file": None, "nodes": None, "size_bytes": None},
        "ort_fp32": {"file": str(fp32.path), "nodes": fp32.nodes_after, "nodes_before_simplify": fp32.nodes_before,
                     "size_bytes": fp32.size_bytes},
        "ort_int8": {"file": str(int8_path), "nodes": node_counts(onnx.load(str(int8_path)))["total"],
                     "size_bytes": int8_path.stat().st_size},
    }
    if topk_fp32 is not None:
        variants["ort_fp32_topk_knn"] = {"file": str(topk_fp32.path), "nodes": topk_fp32.nodes_after,
                                         "size_bytes": topk_fp32.size_bytes}
    threads = [int(t) for t in args.threads.split(",") if t]
    rows: Dict[str, Dict[int, float]] = {k: {} for k in variants}
    for n in threads:
        torch.set_num_threads(n)
        engines: Dict[str, Any] = {"torch_eager": TorchEngine(model)}
        onnx_variants = [("ort_fp32", fp32.path), ("ort_int8", int8_path)]
        if topk_fp32 is not None:
            onnx_variants.append(("ort_fp32_topk_knn", topk_fp32.path))
        for key, path in onnx_variants:
            engines[key] = OnnxRuntimeEngine(path, intra_op_threads=n, inter_op_threads=1)
        # interleaved: every round calls each variant once, so machine load hits all alike
        times: Dict[str, List[float]] = {k: [] for k in engines}
        for r in range(args.warmup + args.repeat):
            for key, eng in engines.items():
                t0 = time.perf_counter()
                eng.infer(window)
                if r >= args.warmup:
                    times[key].append((time.perf_counter() - t0) * 1e3)
        for key, t in times.items():
            rows[key][n] = float(statistics.median(t))
    result = {
        "model": name, "T": args.T, "K": list(fp32.K), "cpu_count": os.cpu_count(), "repeat": args.repeat,
        "latency_ms": {k: {str(n): round(v, 3) for n, v in r.items()} for k, r in rows.items()},
        "speedup_vs_torch": {k: {str(n): round(rows["torch_eager"][n] / r[n], 2) for n in threads}
                             for k, r in rows.items() if k != "torch_eager"},
        "int8_vs_fp32": {str(n): round(rows["ort_fp32"][n] / rows["ort_int8"][n], 2) for n in threads},
        "goal_ort_fp32_3x": all(rows["torch_eager"][n] / rows["ort_fp32"][n] >= 3.0 for n in threads),
        "variants": variants,
    }
    if not args.no_record:
        from results import markdown_table, record

        table = markdown_table(
            ["variant", *[f"{n} thr (ms)" for n in threads], *[f"vs torch ({n} thr)" for n in threads], "nodes",
             "size (MB)"],
            [[key, *[r[n] for n in threads], *[f"{rows['torch_eager'][n] / r[n]:.2f}x" for n in threads],
              variants[key]["nodes"] if variants[key]["nodes"] is not None else "-",
              f"{variants[key]['size_bytes'] / 1e6:.2f}" if variants[key]["size_bytes"] else "-"]
             for key, r in rows.items()])
        record("Engines (per 160-frame clip)",
               f"Model {name}, T={args.T}, K={list(fp32.K)}; median of {args.repeat} calls, side by side in one "
               f"run.\n\n{table}\n\nGoal ORT FP32 >= 3x torch eager on every thread count: "
               f"**{'met' if result['goal_ort_fp32_3x'] else 'NOT met'}**. `ort_fp32_topk_knn` (when present) is "
               "the same model exported with the previous TopK kNN density.")
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"Cluster-Phys {name}, T={args.T}, K={list(fp32.K)}; median of {args.repeat} calls per clip (ms)")
    head = "variant".ljust(14) + "".join(f"{n} thr".rjust(11) for n in threads) + \
        "".join(f"  x torch@{n}".rjust(12) for n in threads) + "     nodes    size"
    print(head)
    for key, r in rows.items():
        v = variants[key]
        ratio = "".join((f"{rows['torch_eager'][n] / r[n]:.2f}x" if key != "torch_eager" else "1.00x").rjust(12)
                        for n in threads)
        nodes = f"{v['nodes']}" if v["nodes"] is not None else "-"
        size = f"{v['size_bytes'] / 1e6:.2f} MB" if v["size_bytes"] else "-"
        print(key.ljust(14) + "".join(f"{r[n]:11.2f}" for n in threads) + ratio + nodes.rjust(10) + size.rjust(10))
    print(f"ORT FP32 nodes before onnxslim: {fp32.nodes_before}; goal ORT FP32 >= 3x torch eager: "
          f"{'met' if result['goal_ort_fp32_3x'] else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
