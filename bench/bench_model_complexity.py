"""Cluster-Phys size, compute and CPU latency against the paper's Table 6.

Prints, for each preset and T ∈ {160, 300}: parameters, GMACs (what thop/fvcore and the
paper call GFLOPs), GFLOPs at 2 per MAC (torch's FlopCounterMode convention), ratios to
Table 6 (1.92 M parameters, 4.97 GFLOPs), and the median eval-mode CPU forward latency
of one clip (batch 1, no_grad).  The paper's 82 ms is a GPU figure, so the latency
column is for our own tracking only.

    .venv/bin/python bench/bench_model_complexity.py [--presets paper edge-small] [--T 160 300]
        [--repeats 5] [--threads 2] [--no-latency]
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from typing import List

import torch

from edge_rppg.pulse.models import PRESETS, ClusterPhys
from edge_rppg.pulse.models.complexity import count_flops, count_parameters

PAPER_PARAMS = 1.92e6
PAPER_GFLOPS = 4.97
TOLERANCE = 0.20


def latency_ms(model: ClusterPhys, repeats: int, warmup: int = 2) -> float:
    """Median wall time (ms) of one eval forward on a random ``[1, T, 63, 6]`` clip."""
    cfg = model.config
    x = torch.rand(1, cfg.T, cfg.n_rois, cfg.in_channels, generator=torch.Generator().manual_seed(0))
    model.eval()
    times: List[float] = []
    with torch.no_grad():
        for i in range(warmup + repeats):
            t0 = time.perf_counter()
            model(x)
            if i >= warmup:
                times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main(argv: List[str] | None = None) -> None:
    """Parse arguments and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="+", default=sorted(PRESETS), choices=sorted(PRESETS))
    ap.add_argument("--T", nargs="+", type=int, default=[160, 300])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--no-latency", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"Table 6 (Cluster-Phys): {PAPER_PARAMS / 1e6:.2f} M params, {PAPER_GFLOPS} GFLOPs; torch "
          f"{torch.__version__}, {args.threads} CPU thread(s)")
    header = (f"{'preset':<11} {'T':>4} {'params(M)':>9} {'x1.92M':>7} {'GMACs':>7} {'x4.97':>6} "
              f"{'GFLOPs(2/MAC)':>13} {'within20%':>9} {'CPU ms/clip':>11}")
    print(header)
    print("-" * len(header))
    for name in args.presets:
        for T in args.T:
            model = ClusterPhys(dataclasses.replace(PRESETS[name], T=T))
            params = count_parameters(model)
            flops = count_flops(model)
            p_ratio = params / PAPER_PARAMS
            f_ratio = flops.paper_gflops / PAPER_GFLOPS
            ok = abs(p_ratio - 1) <= TOLERANCE and abs(f_ratio - 1) <= TOLERANCE
            lat = "-" if args.no_latency else f"{latency_ms(model, args.repeats):.1f}"
            print(f"{name:<11} {T:>4} {params / 1e6:>9.3f} {p_ratio:>7.2f} {flops.gmacs:>7.2f} {f_ratio:>6.2f} "
                  f"{flops.gflops:>13.2f} {'yes' if ok else 'no':>9} {lat:>11}")
    print("GMACs = multiply-accumulates / 1e9 (thop/fvcore 'FLOPs', the paper's convention); "
          "GFLOPs(2/MAC) = torch FlopCounterMode total / 1e9.")


if __name__ == "__main__":
    main()
