"""Benchmark engines against ground truth: a folder of videos with ground-truth JSON
sidecars (what ``edge-rppg synth`` writes), or a dataset reader. Reports MAE, RMSE and
Pearson r per engine, and can draw a Bland–Altman plot."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from .errors import DatasetError, EdgeRPPGError
from .estimate import EstimateConfig, estimate
from .metrics import summary

VIDEO_SUFFIXES = (".avi", ".mp4", ".mkv", ".mov")


@dataclass
class Item:
    """One clip to evaluate: where it is and its reference HR."""

    name: str
    source: str
    hr_true: float


@dataclass
class EngineReport:
    """Per-engine results: predictions per item and the summary metrics."""

    engine: str
    pred: Dict[str, Optional[float]] = field(default_factory=dict)
    errors: Dict[str, str] = field(default_factory=dict)
    metrics: Dict[str, float] = field(default_factory=dict)


def items_from_folder(folder: Path) -> List[Item]:
    """Videos in ``folder`` that have a ``.json`` ground truth with ``hr_bpm`` beside them."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"not a folder: {folder}")
    items = []
    for video in sorted(p for p in folder.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES):
        gt = video.with_suffix(".json")
        if gt.is_file():
            items.append(Item(video.stem, str(video), float(json.loads(gt.read_text())["hr_bpm"])))
    if not items:
        raise DatasetError(f"no video with a ground-truth .json beside it in {folder}")
    return items


def items_from_dataset(name: str, root: Path) -> List[Item]:
    """Recordings of a registered dataset reader (``ubfc``, ``pure``, ``vipl``, ``mmse``)."""
    from .datasets import DATASETS

    reader = DATASETS.get(name)()
    return [Item(r.name, str(r.video_path), float(r.hr_bpm)) for r in reader.list_recordings(Path(root))]


def evaluate(items: Sequence[Item], engines: Iterable[str], config: Optional[EstimateConfig] = None,
             progress: bool = True) -> List[EngineReport]:
    """Run every engine on every item; an item an engine cannot measure counts as missing."""
    cfg = config or EstimateConfig(progress=False)
    reports = []
    from tqdm.auto import tqdm

    for eng in engines:
        rep = EngineReport(engine=eng)
        for it in tqdm(items, desc=f"evaluate {eng}", disable=not progress, leave=False):
            try:
                est = estimate(it.source, engine=eng, config=cfg)
                rep.pred[it.name] = est.hr_bpm if est.valid else None
            except EdgeRPPGError as exc:
                rep.pred[it.name] = None
                rep.errors[it.name] = str(exc)
        pairs = [(rep.pred[i.name], i.hr_true) for i in items if rep.pred.get(i.name) is not None]
        if pairs:
            p, t = map(np.asarray, zip(*pairs))
            rep.metrics = summary(p, t)
        rep.metrics["coverage"] = len(pairs) / max(len(items), 1)
        reports.append(rep)
    return reports


def paired(items: Sequence[Item], rep: EngineReport) -> Tuple[np.ndarray, np.ndarray]:
    """(predicted, true) arrays of the items the engine measured."""
    pairs = [(rep.pred[i.name], i.hr_true) for i in items if rep.pred.get(i.name) is not None]
    if not pairs:
        return np.zeros(0), np.zeros(0)
    p, t = zip(*pairs)
    return np.asarray(p, float), np.asarray(t, float)
