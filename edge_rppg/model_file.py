"""The model-file contract: what an edge_rppg model file says about itself, in one place.

Exported ONNX files (``edge-rppg export``), their FP16/INT8 variants (``edge-rppg
calibrate``) and the engines that load them agree on these names; the core defines them so
that loading a model never needs the export toolkit, and the toolkit never re-types a key.

- :data:`MODEL_FPS`: the rate every MSTmap is resampled to before an engine (30 Hz).
- :data:`FORMAT`, :data:`FORMAT_VERSION`, :data:`META`: the ``metadata_props`` keys.
- :func:`read_metadata` / :func:`set_metadata`: read a file's metadata, write a proto's.
- :func:`cache_dir`: the one cache folder (``$EDGE_RPPG_CACHE`` or ``~/.cache/edge_rppg``).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Mapping, Union

from .errors import ModelFileError

__all__ = ["MODEL_FPS", "FORMAT", "FORMAT_VERSION", "META", "PRECISIONS", "read_metadata", "set_metadata",
           "metadata_precision", "cache_dir"]

#: Rate (Hz) of the MSTmap an engine sees; every source is resampled to it.
MODEL_FPS: float = 30.0
#: ``edge_rppg.format`` value of an exported Cluster-Phys ONNX file.
FORMAT = "edge_rppg.onnx"
#: Bumped when the meaning of the file's inputs/outputs or metadata changes.
FORMAT_VERSION = 1
#: Precisions a model file can declare (``META["precision"]``).
PRECISIONS = ("fp32", "fp16", "int8")
#: Concept → ``metadata_props`` key written into every exported file.
META: Dict[str, str] = {
    "format": "edge_rppg.format",
    "format_version": "edge_rppg.format_version",
    "model": "edge_rppg.model",
    "config": "edge_rppg.config",
    "weights_sha256": "edge_rppg.weights_sha256",
    "T": "edge_rppg.T",
    "K": "edge_rppg.K",
    "precision": "edge_rppg.precision",
    "input": "edge_rppg.input",
    "color_space": "edge_rppg.color_space",
    "output": "edge_rppg.output",
    "normalization": "edge_rppg.normalization",
    "version": "edge_rppg.version",
    "opset": "edge_rppg.opset",
    "quantization": "edge_rppg.quantization",
}


def read_metadata(path: Union[str, Path]) -> Dict[str, str]:
    """The ``metadata_props`` of an ONNX file (without loading external data or a session).

    Raises :class:`~edge_rppg.errors.ModelFileError` for a missing or unparsable file, and
    :class:`~edge_rppg.errors.MissingExtraError` without the onnx package."""
    from .extras import require

    onnx = require("onnx")

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"ONNX file not found: {path}")
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        raise ModelFileError(f"{path}: not a readable ONNX file (corrupt or truncated?): {exc}") from exc
    return {p.key: p.value for p in proto.metadata_props}


def set_metadata(proto: Any, values: Mapping[str, str]) -> None:
    """Replace/add ``metadata_props`` entries of an ``onnx.ModelProto`` in place (keys are
    :data:`META` values); untouched entries keep their order, new ones follow sorted."""
    keep = [(p.key, p.value) for p in proto.metadata_props if p.key not in values]
    del proto.metadata_props[:]
    for k, v in keep + sorted(values.items()):
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, str(v)


def metadata_precision(meta: Mapping[str, str]) -> str:
    """The precision a file declares (``"fp32"`` when it says nothing)."""
    return meta.get(META["precision"], "fp32")


def cache_dir(*parts: str) -> Path:
    """``$EDGE_RPPG_CACHE/<parts>`` or ``~/.cache/edge_rppg/<parts>`` (not created)."""
    base = os.environ.get("EDGE_RPPG_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "edge_rppg")
    return Path(base).joinpath(*parts)
