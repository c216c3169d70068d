"""Prove the export: original PyTorch vs export-friendly PyTorch vs ONNX Runtime.

Each clip (``n_random`` uniform-random windows and ``n_synthetic`` synthetic MSTmaps with
known HR, all window-normalised with :func:`edge_rppg.skin.mstmap.normalize_window`) runs
through three implementations:

* ``original`` — the model as trained, with the reference DPC-KNN selection;
* ``friendly`` — a copy patched by :func:`edge_rppg.export.export_friendly.make_export_friendly`;
* ``ort`` — ONNX Runtime (CPU) on the exported file.

For every pair the report gives the maximum absolute BVP difference and whether the
heart rate (:func:`edge_rppg.vitals.readings.window_hr` at the model rate) agrees within ``hr_tol_bpm``.
The pass criterion is max |Δ| ≤ ``atol`` (1e-4) and identical HR for all pairs and clips.

The density-peak selection is a discrete choice: when two ROIs have (nearly) equal
density or score, float rounding differences between PyTorch and ONNX Runtime kernels can
pick the other one. With ``diagnose=True`` a second, diagnostic ONNX graph that also
outputs each stage's selected indices and prototypes is run, and the report counts, per
stage, the frames whose selected indices differ by more than half a position and, of
those, the frames whose selected prototypes differ by more than ``atol`` (a *material*
flip; picking either of two identical points is not one) — so a failing clip is explained rather than merely
reported. The nearest-prototype assignment of the prototype update (eq. 5–7) is the
other decision of this kind; a model with ``assign_temperature`` > 0 makes it soft, so it
cannot flip (see :class:`edge_rppg.pulse.models.ClusterPhysConfig`).
"""
from __future__ import annotations

import io
import json
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np
from edge_rppg.extras import require
require("torch", "export")  # missing: one line naming the extra to install
import torch
from torch import nn
from tqdm.auto import tqdm

from edge_rppg.config import Config, Range
from edge_rppg.errors import ModelFileError
from edge_rppg.model_file import META, MODEL_FPS, read_metadata
from edge_rppg.vitals.readings import window_hr

from .export_friendly import make_export_friendly, selections
from .onnx_export import INPUT_NAME

__all__ = ["EquivalenceConfig", "ClipResult", "EquivalenceReport", "make_clips", "run_equivalence"]

PAIRS = (("original", "friendly"), ("friendly", "ort"), ("original", "ort"))


@dataclass
class EquivalenceConfig(Config):
    """How many clips, which seeds, and the tolerances of :func:`run_equivalence`.

    Random clips use ``numpy.random.default_rng([seed, 0, i])``, synthetic clips
    ``synth_mstmap(SynthConfig(T=T), seed=synth_seed_offset + i)``.
    ``hr_tol_bpm``: HRs count as identical when they differ by less than this (the HR
    peak is interpolated, so bit-equal BVPs are not required for equal HRs).
    """

    n_random: int = 100
    n_synthetic: int = 100
    seed: int = 0
    synth_seed_offset: int = 500_000
    atol: float = 1e-4
    hr_tol_bpm: float = 1e-2
    fs: float = MODEL_FPS
    batch: int = 10
    diagnose: bool = True

    RANGES = {"n_random": Range(0, 1000, integer=True), "n_synthetic": Range(0, 1000, integer=True),
              "seed": Range(0, 2**32 - 1, integer=True), "synth_seed_offset": Range(0, 2**32 - 1, integer=True),
              "atol": Range(0.0, 1.0, low_open=True), "hr_tol_bpm": Range(0.0, 10.0, low_open=True),
              "fs": Range(1.0, 1000.0), "batch": Range(1, 256, integer=True)}

    def __post_init__(self) -> None:
        self.check_ranges()


@dataclass
class ClipResult:
    """Per clip: kind (random/synthetic), seed, max |Δ| per pair, HR per implementation,
    and (when diagnosed) per stage the frames whose selected indices differ between
    PyTorch and ORT, and those whose selected prototypes differ by more than ``atol``."""

    kind: str
    seed: int
    max_abs: Dict[str, float]
    hr_bpm: Dict[str, float]
    true_hr_bpm: Optional[float] = None
    selection_flips: Optional[List[int]] = None
    material_flips: Optional[List[int]] = None


@dataclass
class EquivalenceReport:
    """All clip results plus the summary; ``passed`` is the issue's criterion."""

    config: EquivalenceConfig
    clips: List[ClipResult] = field(default_factory=list)
    onnx_path: str = ""

    def _pair(self, a: str, b: str, kind: Optional[str] = None) -> Dict[str, Any]:
        rows = [c for c in self.clips if kind is None or c.kind == kind]
        key = f"{a}-{b}"
        diffs = np.array([c.max_abs[key] for c in rows]) if rows else np.zeros(0)
        hr_d = np.array([abs(c.hr_bpm[a] - c.hr_bpm[b]) for c in rows]) if rows else np.zeros(0)
        hr_same = int(np.sum((hr_d < self.config.hr_tol_bpm) | (np.isnan(hr_d) & np.isnan(hr_d))))
        return {"clips": len(rows), "max_abs": float(diffs.max()) if diffs.size else 0.0,
                "median_abs": float(np.median(diffs)) if diffs.size else 0.0,
                "clips_within_atol": int(np.sum(diffs <= self.config.atol)),
                "hr_identical": hr_same, "max_hr_diff_bpm": float(np.nanmax(hr_d)) if hr_d.size else 0.0}

    def summary(self) -> Dict[str, Any]:
        """Per pair and per clip kind: max/median |Δ|, clips within atol, HR agreement."""
        out: Dict[str, Any] = {"atol": self.config.atol, "hr_tol_bpm": self.config.hr_tol_bpm,
                               "onnx": self.onnx_path, "passed": self.passed}
        for a, b in PAIRS:
            out[f"{a}-{b}"] = {kind: self._pair(a, b, kind) for kind in ("random", "synthetic")}
            out[f"{a}-{b}"]["all"] = self._pair(a, b)
        flips = [c.selection_flips for c in self.clips if c.selection_flips is not None]
        if flips:
            arr = np.array(flips)
            material = np.array([c.material_flips for c in self.clips if c.material_flips is not None])
            out["selection_flips"] = {"clips_with_flips": int(np.sum(arr.sum(1) > 0)),
                                      "frames_flipped_per_stage": arr.sum(0).tolist(),
                                      "clips_with_material_flips": int(np.sum(material.sum(1) > 0)),
                                      "frames_materially_flipped_per_stage": material.sum(0).tolist(),
                                      "frames_per_stage": len(flips) * self._frames}
            bad = [c for c in self.clips if c.max_abs["friendly-ort"] > self.config.atol]
            out["selection_flips"]["failing_clips_explained_by_flips"] = int(
                sum(1 for c in bad if c.material_flips and sum(c.material_flips) > 0))
            out["selection_flips"]["failing_clips"] = len(bad)
        return out

    _frames: int = 0

    @property
    def passed(self) -> bool:
        """Max |Δ| ≤ atol and identical HR for every pair and clip."""
        for a, b in PAIRS:
            s = self._pair(a, b)
            if s["clips_within_atol"] != s["clips"] or s["hr_identical"] != s["clips"]:
                return False
        return bool(self.clips)

    def to_json(self) -> str:
        """Summary plus per-clip rows as JSON."""
        return json.dumps({"summary": self.summary(), "config": self.config.to_dict(),
                           "clips": [asdict(c) for c in self.clips]}, indent=2, default=float)


def make_clips(T: int, cfg: EquivalenceConfig, input_norm: str = "minmax", channels: int = 6
               ) -> List[Tuple[str, int, np.ndarray, Optional[float]]]:
    """``(kind, seed, normalised window [T,63,C], true HR or None)`` for every clip, normalised
    with the model's ``input_norm`` (as its engines will). ``channels``: 6 for a colour model;
    1 for a mono one, whose synthetic windows are the generator's luminance (Y) channel."""
    from edge_rppg.skin.mstmap import normalize_window
    from edge_rppg.synth.mstmap_gen import SynthConfig, synth_mstmap

    clips: List[Tuple[str, int, np.ndarray, Optional[float]]] = []
    for i in range(cfg.n_random):
        rng = np.random.default_rng([cfg.seed, 0, i])
        clips.append(("random", i, normalize_window(rng.random((T, 63, channels), dtype=np.float32), input_norm),
                      None))
    synth_cfg = SynthConfig(T=T, fps=cfg.fs)
    for i in range(cfg.n_synthetic):
        seed = cfg.synth_seed_offset + cfg.seed * 10_000 + i
        sample = synth_mstmap(synth_cfg, seed)
        window = sample.mstmap if channels == 6 else sample.mstmap[..., 3:4]
        clips.append(("synthetic", seed, normalize_window(window, input_norm), float(sample.hr_bpm)))
    return clips


def _torch_outputs(model: nn.Module, windows: np.ndarray, batch: int,
                   on_batch: Optional[Callable[[int, List[Tuple[np.ndarray, np.ndarray]]], None]] = None,
                   bar: Optional[Any] = None) -> np.ndarray:
    """BVP ``[N, T]`` of ``model`` on ``windows``, ``batch`` clips per forward.

    For an export-friendly model, ``on_batch(start, stages)`` is called after each
    forward with, per stage, the selected indices ``[b, T, K]`` and prototypes
    ``[b, T, K, D]`` of that batch (compared at once, so no more than one batch of
    prototypes is ever held). ``bar`` (tqdm) advances by the clips done.
    """
    outs = []
    sels = selections(model) if on_batch is not None else []
    with torch.no_grad():
        for s in range(0, len(windows), batch):
            x = torch.from_numpy(windows[s:s + batch])
            outs.append(model(x).numpy())
            if sels and on_batch is not None:
                b, t = x.shape[0], x.shape[1]
                on_batch(s, [(sel.last.reshape(b, t, -1).numpy(),  # type: ignore[union-attr]
                              sel.last_prototypes.reshape(b, t, sel.module.K, -1).numpy())  # type: ignore[union-attr]
                             for sel in sels])
            if bar is not None:
                bar.update(x.shape[0])
    return np.concatenate(outs)


class _WithIndices(nn.Module):
    """Friendly model whose forward also returns every stage's selected indices and prototypes."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        y = self.model(x)
        sels = selections(self.model)
        return (y, *[sel.last for sel in sels], *[sel.last_prototypes for sel in sels])  # type: ignore[misc]


def _diagnostic_session(friendly: nn.Module, T: int) -> Any:
    """ORT session of a graph that outputs BVP, every stage's selected indices, then their prototypes."""
    import onnxruntime as ort

    wrapped = _WithIndices(friendly).eval()
    cfg = friendly.config  # type: ignore[attr-defined]
    dummy = torch.rand(1, T, cfg.n_rois, cfg.in_channels, generator=torch.Generator().manual_seed(0))
    buf = io.BytesIO()
    n_sel = len(selections(friendly))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.no_grad():
            torch.onnx.export(wrapped, (dummy,), buf, dynamo=False, opset_version=17, input_names=[INPUT_NAME],
                              output_names=["bvp"] + [f"indices_{i}" for i in range(n_sel)]
                              + [f"prototypes_{i}" for i in range(n_sel)])
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return ort.InferenceSession(buf.getvalue(), opts, providers=["CPUExecutionProvider"])


def _hr(bvp: np.ndarray, fs: float) -> float:
    return float(window_hr(bvp, fs).hr_bpm)


def run_equivalence(model: nn.Module, onnx_path: Union[str, Path],
                    cfg: Optional[EquivalenceConfig] = None, progress: bool = False) -> EquivalenceReport:
    """Compare ``model`` (original), its export-friendly copy and ORT on ``onnx_path``
    (``progress``: a tqdm bar on stderr over the clips of the three passes).

    Raises ``ModelFileError`` when the ONNX file's T or weight hash does not belong to
    ``model`` (comparing against another model's export would prove nothing).
    """
    import onnxruntime as ort

    from .onnx_export import weights_sha256

    cfg = cfg or EquivalenceConfig()
    model = model.eval()
    T = int(model.config.T)  # type: ignore[attr-defined]
    meta = read_metadata(onnx_path)
    if meta.get(META["T"]) not in (None, str(T)):
        raise ModelFileError(f"{onnx_path}: exported for T={meta.get(META['T'])}, the model has T={T}")
    sha = meta.get(META["weights_sha256"])
    if sha is not None and sha != weights_sha256(model):
        raise ModelFileError(f"{onnx_path}: weight hash {sha[:12]}… does not match the model being compared")
    friendly = make_export_friendly(model)
    from edge_rppg.skin.mstmap import input_norm_of

    clips = make_clips(T, cfg, input_norm_of(model), int(model.config.in_channels))  # type: ignore[attr-defined]
    windows = np.stack([c[2] for c in clips]).astype(np.float32)
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    diag = _diagnostic_session(friendly, T) if cfg.diagnose else None
    flips: Dict[int, List[int]] = {}
    material: Dict[int, List[int]] = {}

    def compare_selections(start: int, stages: List[Tuple[np.ndarray, np.ndarray]]) -> None:
        """Per clip of the batch: frames whose selected indices / prototypes differ in ORT."""
        for b in range(stages[0][0].shape[0]):
            outs = diag.run(None, {INPUT_NAME: windows[start + b][None]})[1:]  # type: ignore[union-attr]
            f_row, m_row = [], []
            for s, (idx_t, proto_t) in enumerate(stages):
                # hard indices differ by whole positions; soft ones (a slot's mean position)
                # also by rounding, so only a shift of half a position counts
                differs = np.any(np.abs(outs[s].reshape(T, -1) - idx_t[b]) > 0.5, axis=-1)
                proto_o = outs[len(stages) + s].reshape(proto_t[b].shape)
                moved = np.abs(proto_o - proto_t[b]).reshape(T, -1).max(axis=-1) > cfg.atol
                f_row.append(int(differs.sum()))
                m_row.append(int((differs & moved).sum()))
            flips[start + b], material[start + b] = f_row, m_row

    with tqdm(total=3 * len(windows), desc="equivalence (torch, export-friendly, ORT)", unit="clip",
              disable=not progress, leave=False) as bar:
        y_orig = _torch_outputs(model, windows, cfg.batch, bar=bar)
        y_friendly = _torch_outputs(friendly, windows, cfg.batch, on_batch=compare_selections if diag else None,
                                    bar=bar)
        ort_rows = []
        for w in windows:
            ort_rows.append(sess.run(None, {INPUT_NAME: w[None]})[0])
            bar.update()
    y_ort = np.concatenate(ort_rows)
    report = EquivalenceReport(config=cfg, onnx_path=str(onnx_path))
    report._frames = T
    outputs = {"original": y_orig, "friendly": y_friendly, "ort": y_ort}
    for n, (kind, seed, _, true_hr) in enumerate(clips):
        hrs = {name: _hr(y[n], cfg.fs) for name, y in outputs.items()}
        diffs = {f"{a}-{b}": float(np.max(np.abs(outputs[a][n] - outputs[b][n]))) for a, b in PAIRS}
        report.clips.append(ClipResult(kind=kind, seed=seed, max_abs=diffs, hr_bpm=hrs, true_hr_bpm=true_hr,
                                       selection_flips=flips.get(n), material_flips=material.get(n)))
    return report
