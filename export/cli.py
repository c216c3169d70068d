"""``edge-rppg export CHECKPOINT -o model.onnx``: static ONNX export of a Cluster-Phys checkpoint."""
from __future__ import annotations

import argparse
import json

from edge_rppg.cli.flags import field_flag

_CFG = "edge_rppg.export.export_config:ExportConfig"

HELP = "export a Cluster-Phys checkpoint to a static, self-contained ONNX file"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``export``."""
    p.add_argument("checkpoint", help="checkpoint (.pt) written by `edge-rppg train`")
    p.add_argument("-o", "--output", required=True, help="output .onnx file")
    p.add_argument("--T", type=field_flag(_CFG + ".T"), default=None,
                   help="window length in frames at 30 Hz, 2..18000 (default: the checkpoint's)")
    p.add_argument("--opset", type=field_flag(_CFG + ".opset"), default=17, help="ONNX opset (17..20)")
    p.add_argument("--fp16", action="store_true",
                   help="also write the FP16 variant for GPU providers as <output stem>.fp16.onnx")
    p.add_argument("--no-simplify", action="store_true", help="skip the onnxslim simplification")
    p.add_argument("--verify", type=field_flag(_CFG + ".verify"), default=0, metavar="N",
                   help="prove the export on N random + N synthetic clips (torch vs export-friendly torch vs "
                        "ONNX Runtime); exit 1 if max |diff| > 1e-4 or any HR differs")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    """Export, optionally write FP16, optionally verify."""
    from pathlib import Path

    from edge_rppg.errors import ConfigError

    from .export_config import ExportConfig

    ExportConfig(T=args.T, opset=args.opset, verify=args.verify)  # ConfigError before torch loads
    if Path(args.output).is_dir():
        raise ConfigError(f"-o {args.output} is a folder; expected the output .onnx file path")
    from .equivalence import EquivalenceConfig, run_equivalence
    from .onnx_export import export_checkpoint

    result, half, model = export_checkpoint(args.checkpoint, args.output, T=args.T, opset=args.opset,
                                            simplify=not args.no_simplify, fp16=args.fp16)
    out = {"fp32": result.to_dict(), "fp16": half.to_dict() if half else None}
    code = 0
    if args.verify > 0:
        if args.T is not None and args.T != model.config.T:
            from .onnx_export import prepare_model

            model = prepare_model(model, args.T)
        rep = run_equivalence(model, args.output, EquivalenceConfig(n_random=args.verify, n_synthetic=args.verify),
                              progress=not args.json)
        out["verify"] = rep.summary()
        code = 0 if rep.passed else 1
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        r = result
        print(f"wrote {r.path} (T={r.T}, K={list(r.K)}, opset {r.opset}, {r.size_bytes / 1e6:.2f} MB): "
              f"{r.nodes_before} nodes -> {r.nodes_after} after onnxslim" if r.simplified else
              f"wrote {r.path} (T={r.T}, K={list(r.K)}, opset {r.opset}, {r.size_bytes / 1e6:.2f} MB): "
              f"{r.nodes_after} nodes (not simplified)")
        for note in r.notes:
            print(f"  note: {note}")
        if half:
            print(f"wrote {half.path} (FP16 weights/activations, FP32 I/O and density-peak selection, "
                  f"{half.size_bytes / 1e6:.2f} MB)")
        if "verify" in out:
            v = out["verify"]
            print(f"verify on {args.verify}+{args.verify} clips: max |torch - ORT| "
                  f"{v['original-ort']['all']['max_abs']:.2e}, max |torch - export-friendly torch| "
                  f"{v['original-friendly']['all']['max_abs']:.2e}, HR identical "
                  f"{v['original-ort']['all']['hr_identical']}/{v['original-ort']['all']['clips']} -> "
                  f"{'PASS' if v['passed'] else 'FAIL'}")
            flips = v.get("selection_flips")
            if flips:
                print(f"  density-peak selections that differ between torch and ORT, frames per stage: "
                      f"{flips['frames_flipped_per_stage']} of {flips['frames_per_stage']} (material, i.e. "
                      f"other prototypes picked: {flips['frames_materially_flipped_per_stage']})")
    return code
