"""Save and load model checkpoints safely.

A checkpoint is a plain dict ``{"format", "format_version", "model", "config",
"state_dict", "extra", "edge_rppg_version"}`` written with ``torch.save`` and read with
``torch.load(weights_only=True)`` (no arbitrary pickles).  The config dict travels with
the weights, so a file is always rebuilt into the architecture it was trained as; a file
from another format version, another config, or with missing/extra/mis-shaped tensors
raises :class:`~edge_rppg.errors.ModelFileError` — never a silent partial load.
"""
from __future__ import annotations

import warnings
import zipfile
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

from edge_rppg.extras import require
require("torch", "train")  # missing: one line naming the extra to install
import torch
from torch import nn

from ...config import Config
from ...errors import ModelFileError
from .registry import MODELS

FORMAT = "edge_rppg.checkpoint"
FORMAT_VERSION = 1

#: Upper bounds of a model config's sizes (numbers, inclusive). A stored or recipe config beyond
#: them is refused before anything is built: a tiny file must not make the loader allocate gigabytes.
CONFIG_BOUNDS: Dict[str, float] = {"T": 18_000, "n_rois": 1024, "in_channels": 64, "dim": 2048, "heads": 64,
                                   "mlp_ratio": 16.0, "depth": 32, "stages": 16, "em_iters": 100, "knn_k": 1024,
                                   "kmeans_iters": 100}
#: Most parameters a checkpoint's model may have (the shipped edge-small has well under 1 M).
MAX_PARAMETERS = 200_000_000

__all__ = ["FORMAT", "FORMAT_VERSION", "CONFIG_BOUNDS", "MAX_PARAMETERS", "config_bound_errors",
           "save_checkpoint", "load_checkpoint"]


def config_bound_errors(config: Dict[str, Any]) -> list:
    """Problems of a model config dict's size fields (wrong type, or outside ``CONFIG_BOUNDS``),
    as ``"field=value (expected ...)"`` strings; empty when it may be built. Checked before
    any model is constructed, by the checkpoint loader and the training recipe."""
    errors = []
    for name, hi in CONFIG_BOUNDS.items():
        if name not in config:
            continue
        value = config[name]
        integral = not isinstance(hi, float)
        kinds = (int,) if integral else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds):
            errors.append(f"{name}={value!r} (expected a{'n integer' if integral else ' number'})")
        elif not (0 < value <= hi):
            errors.append(f"{name}={value!r} (expected 1..{hi:g})")
    return errors


def _check_plain(value: Any, where: str) -> None:
    """Raise ``ValueError`` unless ``value`` is loadable with ``weights_only=True``."""
    if value is None or isinstance(value, (bool, int, str, torch.Tensor)):
        return
    if isinstance(value, float):
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_plain(v, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"{where}: dict keys must be str, got {type(k).__name__}")
            _check_plain(v, f"{where}[{k!r}]")
        return
    raise ValueError(f"{where}: {type(value).__name__} cannot be stored in a checkpoint; expected "
                     "str/int/float/bool/None/tensor or lists/dicts of them")


def _model_name(model: nn.Module) -> str:

    for name in MODELS.names():
        if type(model) is MODELS.get(name):
            return name
    raise ValueError(f"{type(model).__name__} is not in edge_rppg.pulse.models.MODELS ({MODELS.names()})")


def save_checkpoint(path: Union[str, Path], model: nn.Module, extra: Optional[Dict[str, Any]] = None) -> Path:
    """Write ``model`` (config + weights) and ``extra`` (plain metadata: epoch, metrics,
    optimizer state...) to ``path``; returns the path.  Writes atomically via a temp file."""
    from ... import __version__

    extra = dict(extra or {})
    _check_plain(extra, "extra")
    config = getattr(model, "config", None)
    if not isinstance(config, Config):
        raise ValueError(f"{type(model).__name__} has no .config (edge_rppg.config.Config); cannot checkpoint it")
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": _model_name(model),
        "config": config.to_dict(),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "extra": extra,
        "edge_rppg_version": __version__,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


def _read(path: Path) -> Dict[str, Any]:
    if not path.is_file():
        raise ModelFileError(f"checkpoint not found: {path}")
    if not zipfile.is_zipfile(path):  # save_checkpoint writes torch's zip format: refuse anything else unread
        with open(path, "rb") as fh:
            pickled = fh.read(1) == b"\x80"  # the PROTO opcode that starts a pickle (also a legacy torch file)
        if pickled:
            raise ModelFileError(f"{path}: not a readable edge_rppg checkpoint: not a safe checkpoint, it is a raw "
                                 "Python pickle (or a legacy torch file), which edge_rppg refuses to load (loading it "
                                 "could run code); use a file written by save_checkpoint / `edge-rppg train`")
        raise ModelFileError(f"{path}: not a readable edge_rppg checkpoint (corrupt, truncated, or not written by "
                             "save_checkpoint): not a torch zip archive")
    try:
        with warnings.catch_warnings():  # torch's unpickler warnings would precede the one-line error
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt, truncated, or contains non-weights pickles
        if "weights only load failed" in str(exc).lower():  # torch's refusal; its advice to disable it is unsafe
            raise ModelFileError(f"{path}: not a readable edge_rppg checkpoint: not a safe checkpoint, it holds pickled "
                                 "Python objects besides tensors and plain data, which edge_rppg refuses to load "
                                 "(loading them could run code); "
                                 "use a file written by save_checkpoint / `edge-rppg train`") from None
        raise ModelFileError(f"{path}: not a readable edge_rppg checkpoint (corrupt, truncated, or not written "
                             f"by save_checkpoint): {type(exc).__name__}: {' '.join(str(exc).split())[:300]}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not an edge_rppg checkpoint (expected a dict with format={FORMAT!r})")
    version = payload.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(f"{path}: checkpoint format version {version!r}; this edge_rppg reads version "
                             f"{FORMAT_VERSION} (re-export the checkpoint with a matching edge_rppg)")
    missing = [k for k in ("model", "config", "state_dict", "extra") if k not in payload]
    if missing:
        raise ModelFileError(f"{path}: checkpoint lacks {missing}")
    return payload


def load_checkpoint(path: Union[str, Path], expected_config: Optional[Config] = None) -> Tuple[nn.Module, Dict[str, Any]]:
    """Rebuild the model stored at ``path`` in eval mode; returns ``(model, extra)``.

    ``expected_config``: if given, the stored config must equal it (else ``ModelFileError``
    naming the differing fields).  The state dict is loaded strictly: missing, unexpected
    or mis-shaped tensors raise ``ModelFileError``.
    """

    path = Path(path)
    payload = _read(path)
    try:
        model_cls = MODELS.get(str(payload["model"]))
    except KeyError as exc:
        raise ModelFileError(f"{path}: {exc.args[0]}") from None
    try:
        stored = payload["config"]
        if isinstance(stored, dict):  # fields added after the file was written keep their old meaning
            stored = {**getattr(model_cls.config_cls, "legacy_defaults", {}), **stored}
            too_big = config_bound_errors(stored)
            if too_big:
                raise ModelFileError(f"{path}: stored config out of bounds: {', '.join(too_big)}")
        config = model_cls.config_cls.from_dict(stored)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: stored config does not fit {model_cls.config_cls.__name__} "
                             f"(another version?): {exc}") from exc
    if expected_config is not None:
        if type(expected_config) is not type(config) or expected_config.to_dict() != config.to_dict():
            a, b = expected_config.to_dict(), config.to_dict()
            diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            detail = ", ".join(f"{k}: file={b.get(k)!r} expected={a.get(k)!r}" for k in diff)
            raise ModelFileError(f"{path}: checkpoint was trained with another config ({detail})")
    state = payload["state_dict"]
    if not isinstance(state, dict):
        raise ModelFileError(f"{path}: state_dict is {type(state).__name__}, expected a dict of tensors")
    not_tensors = sorted(str(k) for k, v in state.items() if not isinstance(v, torch.Tensor))
    if not_tensors:
        raise ModelFileError(f"{path}: state_dict entries are not tensors: {not_tensors[:5]}")
    with torch.device("meta"):  # shapes only, no memory: the real model is built once the file matches it
        skeleton = model_cls(config)
    own = skeleton.state_dict()
    n_params = sum(v.numel() for v in own.values())
    if n_params > MAX_PARAMETERS:
        raise ModelFileError(f"{path}: stored config makes a model of {n_params:,} parameters; "
                             f"at most {MAX_PARAMETERS:,} are loaded")
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = sorted(f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
                    for k in set(own) & set(state) if state[k].shape != own[k].shape)
    if missing or unexpected or shapes:
        raise ModelFileError(f"{path}: weights do not match the stored config; missing={missing[:5]} "
                             f"unexpected={unexpected[:5]} shape mismatches={shapes[:5]}")
    bad = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise ModelFileError(f"{path}: weights contain NaN/inf in {bad[:5]}")
    del skeleton
    model = model_cls(config)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:  # e.g. a dtype that cannot be copied into the parameter
        raise ModelFileError(f"{path}: weights do not load into the model: {' '.join(str(exc).split())[:300]}") from None
    model.eval()
    extra = payload["extra"] if isinstance(payload["extra"], dict) else {}
    return model, extra
