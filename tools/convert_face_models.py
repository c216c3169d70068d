"""Convert MediaPipe's face detector and face mesh from .tflite to the ONNX files edge_rppg ships.

Run once, by a maintainer, when the bundled models change (the result is committed under
``edge_rppg/assets/face_models``). It needs tensorflow and tf2onnx, which the product never
does, so it runs in a throw-away venv beside the project's:

    python3 -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install "tensorflow-cpu==2.15.1" tf2onnx "onnx==1.16.2" "mediapipe==0.10.21"
    /tmp/tfvenv/bin/python tools/convert_face_models.py

Steps per model: ``tf2onnx.convert.from_tflite`` (opset 17; the fp16 weights become fp32),
then every ``PRelu`` is rewritten as ``Relu(x) + slope * Min(x, 0)`` (the same function:
ONNX Runtime 1.32's CPU PRelu with a ``[1, C, 1, 1]`` slope took 68 % of the mesh's time,
3.1 ms of 3.3 ms, against 1.1 ms for the whole rewritten model), a check that the rewritten
model gives the tflite interpreter's outputs on random inputs (max |diff| printed; fails
above 1e-3), and metadata naming the source file, its SHA-256 and the mediapipe version.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path
from typing import Dict, List

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "edge_rppg" / "assets" / "face_models"
#: source path inside the mediapipe wheel → bundled ONNX file name
MODELS: Dict[str, str] = {
    "modules/face_detection/face_detection_short_range.tflite": "face_detection_short_range.onnx",
    "modules/face_landmark/face_landmark.tflite": "face_landmark.onnx",
}
TOLERANCE = 1e-3


def rewrite_prelu(model):  # type: ignore[no-untyped-def]
    """Replace each PRelu node by ``Relu(x) + slope * Min(x, 0)`` (same output, fast on every
    ONNX Runtime release and TensorRT)."""
    import numpy as np
    from onnx import helper, numpy_helper

    graph = model.graph
    nodes: List = []
    for node in graph.node:
        if node.op_type != "PRelu":
            nodes.append(node)
            continue
        x, slope = node.input
        y = node.output[0]
        zero, pos, neg, scaled = f"{y}/zero", f"{y}/pos", f"{y}/neg", f"{y}/scaled"
        graph.initializer.append(numpy_helper.from_array(np.zeros((), np.float32), zero))
        nodes += [helper.make_node("Relu", [x], [pos]), helper.make_node("Min", [x, zero], [neg]),
                  helper.make_node("Mul", [neg, slope], [scaled]), helper.make_node("Add", [pos, scaled], [y])]
    del graph.node[:]
    graph.node.extend(nodes)
    return model


def check_against_tflite(tflite: Path, onnx_path: Path) -> float:
    """Largest |ONNX − tflite| over the outputs on three random inputs."""
    import numpy as np
    import onnxruntime as ort
    import tensorflow as tf

    interp = tf.lite.Interpreter(model_path=str(tflite))
    interp.allocate_tensors()
    inp, outs = interp.get_input_details()[0], interp.get_output_details()
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for seed in range(3):
        x = np.random.default_rng(seed).random(inp["shape"]).astype(np.float32)
        interp.set_tensor(inp["index"], x)
        interp.invoke()
        ref = {tuple(d["shape"]): interp.get_tensor(d["index"]) for d in outs}
        for got in sess.run(None, {sess.get_inputs()[0].name: x}):
            worst = max(worst, float(np.abs(got - ref[tuple(got.shape)]).max()))
    return worst


def main(argv: List[str] | None = None) -> int:
    """Convert the models; exit 1 when one disagrees with its tflite source."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mediapipe-dir", type=Path, default=None,
                    help="the mediapipe package folder (default: the installed mediapipe)")
    ap.add_argument("--out", type=Path, default=OUT, help=f"output folder (default {OUT})")
    args = ap.parse_args(argv)
    import onnx
    import tf2onnx

    if args.mediapipe_dir is None:
        import mediapipe

        args.mediapipe_dir = Path(mediapipe.__file__).parent
        version = mediapipe.__version__
    else:
        version = "unknown"
    args.out.mkdir(parents=True, exist_ok=True)
    failed = False
    for rel, name in MODELS.items():
        src = args.mediapipe_dir / rel
        digest = hashlib.sha256(src.read_bytes()).hexdigest()
        model, _ = tf2onnx.convert.from_tflite(str(src), opset=17)
        model = rewrite_prelu(model)
        for key, value in {"edge_rppg.source": f"mediapipe/{rel}", "edge_rppg.source_sha256": digest,
                           "edge_rppg.mediapipe_version": version, "edge_rppg.license": "Apache-2.0",
                           "edge_rppg.converter": f"tf2onnx {tf2onnx.__version__} + PRelu rewrite"}.items():
            entry = model.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.checker.check_model(model)
        dst = args.out / name
        onnx.save(model, str(dst))
        err = check_against_tflite(src, dst)
        failed |= err > TOLERANCE
        print(f"{name}: {dst.stat().st_size / 1e6:.2f} MB, max |onnx - tflite| = {err:.2e}"
              f"{'' if err <= TOLERANCE else '  FAIL'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
