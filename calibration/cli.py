"""``edge-rppg calibrate model.onnx -o model.int8.onnx``: INT8 Q/DQ quantisation of an export."""
from __future__ import annotations

import argparse
import contextlib
import json
import sys

from edge_rppg.cli.flags import SEED, field_flag, flag
from edge_rppg.config import Range

#: Held-out clips of the INT8-vs-FP32 report (each one is a synthetic clip through two models).
REPORT_RANGE = Range(0, 1000, integer=True)

HELP = "quantise an exported ONNX model to TensorRT-ready INT8 Q/DQ, calibrated on MSTmaps"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``calibrate``."""
    p.add_argument("model", help="FP32 ONNX file written by `edge-rppg export`")
    p.add_argument("-o", "--output", required=True, help="output INT8 ONNX file")
    p.add_argument("--method", default="minmax", choices=["minmax", "entropy", "percentile"],
                   help="how activation ranges are derived from the calibration set")
    p.add_argument("--percentile", type=field_flag("edge_rppg.calibration.quantize:QuantizeConfig.percentile"),
                   default=99.999, help="kept percentile for --method percentile, in [90, 100)")
    p.add_argument("--samples", type=field_flag("edge_rppg.calibration.dataset:CalibrationConfig.n_samples"),
                   default=64, help="calibration windows (1..4096)")
    p.add_argument("--seed", type=flag(SEED), default=1000, help="base seed of the synthetic calibration clips")
    p.add_argument("--dataset", default="", help="optional dataset reader (ubfc, pure, vipl, mmse) for real windows")
    p.add_argument("--dataset-root", default="", help="folder of --dataset")
    p.add_argument("--dataset-cache", default="", help="MSTmap cache folder of --dataset")
    p.add_argument("--cache-dir", default=None, help="calibration-set cache (default ~/.cache/edge_rppg/calibration)")
    p.add_argument("--report", type=flag(REPORT_RANGE), default=20, metavar="N",
                   help="held-out synthetic clips for the INT8-vs-FP32 report (0 = skip)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    """Build/load the calibration set, quantise, check, and report INT8 vs FP32."""
    from pathlib import Path

    from edge_rppg.errors import ModelFileError

    from .dataset import CalibrationConfig, build_calibration_set, describe
    from .quantize import QuantizeConfig, quantize_int8
    from .report import int8_report

    # every setting checked before the model is read or a window is made (ConfigError, one line)
    qcfg = QuantizeConfig(method=args.method, percentile=args.percentile)
    CalibrationConfig(n_samples=args.samples, seed=args.seed, dataset=args.dataset, dataset_root=args.dataset_root,
                      dataset_cache=args.dataset_cache)
    src = Path(args.model)
    if not src.is_file():
        raise ModelFileError(f"ONNX model not found: {src}")
    from edge_rppg.extras import require
    require("onnx", "export")  # missing: one line naming the extra to install
    import onnx

    try:
        T = int(onnx.load(str(src)).graph.input[0].type.tensor_type.shape.dim[1].dim_value)
    except Exception as exc:
        raise ModelFileError(f"{src}: not a readable ONNX file (corrupt or truncated?): {exc}") from exc
    ccfg = CalibrationConfig(n_samples=args.samples, T=T, seed=args.seed, dataset=args.dataset,
                             dataset_root=args.dataset_root, dataset_cache=args.dataset_cache)
    cset = build_calibration_set(ccfg, cache_dir=args.cache_dir)
    from edge_rppg.model_file import read_metadata
    from edge_rppg.skin.mstmap import input_norm_of

    # calibrate on windows normalised as this model's engines will normalise them; ONNX
    # Runtime's histogram calibrators print progress to stdout, which would break --json
    with contextlib.redirect_stdout(sys.stderr):
        summary = quantize_int8(src, args.output, cset.normalised(input_norm_of(read_metadata(src))),
                                qcfg)
    out = {"output": str(args.output), "method": args.method, "calibration": describe(cset),
           "qdq": summary.to_dict()}
    out["calibration"].pop("summary", None)
    if args.report > 0:
        out["int8_vs_fp32"] = int8_report(src, args.output, n_clips=args.report).to_dict()
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        q = out["qdq"]
        print(f"wrote {args.output}: {q['quantize_nodes']} Q / {q['dequantize_nodes']} DQ nodes, "
              f"{q['per_channel_weights']} per-channel weights, zero-points all 0: {not q['nonzero_zero_points']}, "
              f"{q['density_peak_nodes']} density-peak nodes kept FP32; calibrated on {len(cset)} windows "
              f"({args.method})")
        if "int8_vs_fp32" in out:
            r = out["int8_vs_fp32"]
            print(f"INT8 vs FP32 on {r['clips']} held-out clips: HR MAE {r['hr_mae_int8_vs_fp32_bpm']:.3f} bpm "
                  f"(goal <= {r['hr_goal_bpm']}), pulse Pearson r mean {r['pearson_mean']:.4f} / min "
                  f"{r['pearson_min']:.4f} (goal >= {r['pearson_goal']})")
    return 0
