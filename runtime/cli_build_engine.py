"""``edge-rppg build-engine model.onnx --precision fp16|int8``: build (or reuse) a cached TensorRT engine."""
from __future__ import annotations

import argparse
import json

HELP = "build a TensorRT engine from an exported ONNX model (needs TensorRT 10/11 + pycuda + an NVIDIA GPU)"
DESCRIPTION = (HELP + ". TensorRT 10 (JetPack 6) builds fp16 from the FP32 graph with weakly typed flags; "
               "TensorRT 11 builds strongly typed networks only: fp16 from the FP16 export (`export --fp16`), "
               "int8 from the Q/DQ file of `calibrate`, fp32 from the FP32 export.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``build-engine``."""
    p.add_argument("model", help="ONNX file (FP32, FP16 variant, or INT8 Q/DQ from `edge-rppg calibrate`)")
    p.add_argument("--precision", choices=["fp32", "fp16", "int8"], default="fp16", help="engine precision")
    p.add_argument("--cache-dir", default=None, help="engine cache (default ~/.cache/edge_rppg/engines)")
    p.add_argument("-o", "--output", default=None, help="also copy the engine (+ .json sidecar) here")
    p.add_argument("--legacy-calibration", type=int, default=0, metavar="N",
                   help="INT8 of an FP32 graph via the deprecated IInt8EntropyCalibrator2 on N MSTmap windows "
                        "(TensorRT 10 only; removed in TensorRT 11)")
    p.add_argument("--rebuild", action="store_true", help="ignore a valid cached engine")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    """Build or reuse the engine; errors clearly when TensorRT/pycuda/GPU are missing."""
    import shutil
    from pathlib import Path

    from edge_rppg.pulse.engines.tensorrt_engine import read_sidecar, require_tensorrt, sidecar_path
    from edge_rppg.runtime.tensorrt_build import build_or_load
    from edge_rppg.errors import ModelFileError

    src = Path(args.model)
    if not src.is_file():
        raise ModelFileError(f"ONNX model not found: {src}")
    require_tensorrt()  # one clear line when TensorRT or pycuda is missing
    calibration = None
    if args.legacy_calibration > 0:
        from edge_rppg.extras import require
        require("onnx", "jetson")  # missing: one line naming the extra to install
        import onnx

        from edge_rppg.calibration.dataset import CalibrationConfig, build_calibration_set

        T = int(onnx.load(str(src)).graph.input[0].type.tensor_type.shape.dim[1].dim_value)
        calibration = build_calibration_set(CalibrationConfig(n_samples=args.legacy_calibration, T=T)).normalised()
    engine = build_or_load(src, args.precision, args.cache_dir, calibration=calibration, rebuild=args.rebuild)
    meta = read_sidecar(engine)
    if args.output:
        dst = Path(args.output)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(engine, dst)
        shutil.copyfile(sidecar_path(engine), sidecar_path(dst))
        engine = dst
    if args.json:
        print(json.dumps({"engine": str(engine), **meta}, indent=2))
    else:
        print(f"engine {engine} ({meta['precision']}, TensorRT {meta['tensorrt_version']}, {meta['gpu_name']})")
    return 0
