"""Evaluate a Cluster-Phys checkpoint (optionally next to POS/CHROM) on held-out clips.

The model's BVP and the ground-truth BVP of every clip both go through
:func:`edge_rppg.vitals.readings.window_hr` (the SDK's one window-HR function), and HR MAE / RMSE / Pearson r are computed over the
clips, the same way the trainer validates, so validation numbers, ``edge-rppg eval``
and the benchmark agree. Classic methods see the same raw clips through
``ClassicEngine``.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
from edge_rppg.extras import require
require("torch", "train")  # missing: one line naming the extra to install
import torch

from edge_rppg.model_file import MODEL_FPS
from edge_rppg.vitals.readings import window_hr

from .config import SYNTHETIC, DataSpec
from .data import Clips, build_clips

HELDOUT_SEED_OFFSET = 50_000_000


def hr_from_bvp(bvp: np.ndarray, fs: float = MODEL_FPS, sig_cfg: Any = None) -> float:
    """Heart rate (bpm) of one BVP window (:func:`edge_rppg.vitals.readings.window_hr`; NaN if unmeasurable)."""
    return float(window_hr(bvp, fs, sig_cfg).hr_bpm)


def hr_metrics(hr_pred: Sequence[float], hr_gt: Sequence[float]) -> Dict[str, float]:
    """MAE, RMSE (bpm) and Pearson r of per-clip HRs (non-finite pairs dropped)."""
    from edge_rppg.evaluation import metrics

    p = np.asarray(hr_pred, dtype=np.float64)
    g = np.asarray(hr_gt, dtype=np.float64)
    ok = np.isfinite(p) & np.isfinite(g)
    p, g = p[ok], g[ok]
    if p.size == 0:
        return {"mae": math.nan, "rmse": math.nan, "r": math.nan, "n": 0}
    r = float(metrics.pearson(p, g)) if p.size > 1 and p.std() > 0 and g.std() > 0 else math.nan
    return {"mae": float(metrics.mae(p, g)), "rmse": float(metrics.rmse(p, g)), "r": r, "n": int(p.size)}


@torch.no_grad()
def predict(model: torch.nn.Module, x: Union[np.ndarray, torch.Tensor], device: Union[str, torch.device] = "cpu",
            batch_size: int = 64) -> np.ndarray:
    """Model BVP ``[N, T]`` for normalised MSTmap windows ``x [N, T, 63, 6]`` (eval mode)."""
    was_training = model.training
    model.eval()
    xt = torch.as_tensor(x)
    outs: List[np.ndarray] = []
    for i in range(0, xt.shape[0], batch_size):
        outs.append(model(xt[i:i + batch_size].to(device)).float().cpu().numpy())
    model.train(was_training)
    return np.concatenate(outs, axis=0) if outs else np.zeros((0, 0), np.float32)


def heldout_spec(n_clips: int = 128, seed_offset: int = HELDOUT_SEED_OFFSET,
                 synth: Optional[Dict[str, Any]] = None) -> DataSpec:
    """A synthetic spec whose seeds no training recipe uses (``synth`` overrides ``SynthConfig``)."""
    return DataSpec(source=SYNTHETIC, synth=dict(synth or {}), n_clips=n_clips, seed_offset=seed_offset)


def eval_clips(specs: Sequence[DataSpec], T: int, stride: int = 0, seed: int = 0,
               input_norm: Optional[str] = None) -> Clips:
    """Un-augmented clips (with raw colour means for the classic methods), their windows
    normalised in ``input_norm`` (the evaluated model's mode; None = the clips' default)."""
    clips = build_clips(list(specs), T, stride or max(1, T // 2), augment=(), seed=seed)
    clips.set_keep_raw(True)
    if input_norm is not None:
        clips.set_input_norm(input_norm)
    return clips


def evaluate_model(model: Optional[torch.nn.Module], clips: Clips, classic: Sequence[str] = ("pos", "chrom"),
                   device: Union[str, torch.device] = "cpu", batch_size: int = 64, sig_cfg: Any = None,
                   progress: bool = False) -> Dict[str, Dict[str, float]]:
    """Per-method HR metrics on ``clips``: ``{"cluster_phys": {...}, "pos": {...}, ...}``.

    Ground truth is the HR of each clip's reference BVP; ``model`` may be None to
    evaluate only the classic methods.
    """
    from edge_rppg.pulse.engines.classic import ClassicEngine

    engines = {name: ClassicEngine(name, MODEL_FPS) for name in classic}
    hr_gt: List[float] = []
    hr: Dict[str, List[float]] = {name: [] for name in (["cluster_phys"] if model is not None else []) + list(engines)}
    batch: List[Dict[str, Any]] = []
    indices = range(len(clips))
    if progress:
        from tqdm import tqdm

        indices = tqdm(indices, desc="eval", unit="clip")

    def flush() -> None:
        if not batch:
            return
        if model is not None:
            pred = predict(model, np.stack([b["x"] for b in batch]), device, batch_size)
            hr["cluster_phys"].extend(hr_from_bvp(p, MODEL_FPS, sig_cfg) for p in pred)
        for name, eng in engines.items():
            hr[name].extend(hr_from_bvp(eng.infer(b["raw"]), MODEL_FPS, sig_cfg) for b in batch)
        hr_gt.extend(hr_from_bvp(b["bvp"], MODEL_FPS, sig_cfg) for b in batch)
        batch.clear()

    for i in indices:
        batch.append(clips[i])
        if len(batch) >= batch_size:
            flush()
    flush()
    return {name: hr_metrics(vals, hr_gt) for name, vals in hr.items()}


def evaluate_checkpoint(path: Union[str, Path], specs: Optional[Sequence[DataSpec]] = None,
                        classic: Sequence[str] = ("pos", "chrom"), batch_size: int = 64, sig_cfg: Any = None,
                        progress: bool = False, n_clips: int = 128, seed_offset: int = HELDOUT_SEED_OFFSET,
                        synth: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Load ``path`` and evaluate it on ``specs``; by default on ``n_clips`` held-out
    synthetic clips from ``seed_offset`` with the generator settings of the checkpoint's
    first synthetic training source, updated with ``synth``."""
    from edge_rppg.pulse.models.checkpoint import load_checkpoint

    model, extra = load_checkpoint(path)
    T = int(model.config.T)
    if specs is None:
        base: Dict[str, Any] = {}
        for d in (extra.get("train_config") or {}).get("data", []):
            if d.get("source") == SYNTHETIC:
                base = dict(d.get("synth") or {})
                break
        base.update(synth or {})
        specs = [heldout_spec(n_clips, seed_offset, base)]
    from edge_rppg.skin.mstmap import input_norm_of

    clips = eval_clips(specs, T, input_norm=input_norm_of(model))  # the windows this model was trained on
    results = evaluate_model(model, clips, classic, "cpu", batch_size, sig_cfg, progress)
    return {"checkpoint": str(path), "T": T, "n_clips": len(clips), "data": clips.describe(),
            "metrics": results, "train_step": extra.get("step"), "git": extra.get("git")}
