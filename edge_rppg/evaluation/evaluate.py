"""Benchmark engines against ground truth: a folder of videos with ground-truth JSON
sidecars (what ``edge-rppg synth`` writes), or a dataset reader. Reports MAE, RMSE and
Pearson r per engine, and can draw a Bland–Altman plot."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import DatasetError, EdgeRPPGError
from ..pulse.engines.registry import load_engine
from ..processor.clip import estimate_extraction
from ..processor.options import EstimateConfig, video_options
from ..processor.extract import extract_mstmap
from .metrics import summary

VIDEO_SUFFIXES = (".avi", ".mp4", ".mkv", ".mov")


@dataclass
class Item:
    """One clip to evaluate: its reference HR and how to read it.

    ``open`` returns what :func:`extract_mstmap` reads: ``(video path or frames, fps or None)``.
    """

    name: str
    hr_true: float
    open: Callable[[], Tuple[object, Optional[float]]]


@dataclass
class EngineReport:
    """Per-engine results: predictions per item and the summary metrics."""

    engine: str
    pred: Dict[str, Optional[float]] = field(default_factory=dict)
    errors: Dict[str, str] = field(default_factory=dict)
    metrics: Dict[str, float] = field(default_factory=dict)


def ground_truth_hr(path: Path) -> float:
    """The ``hr_bpm`` of a ground-truth JSON file (an object with a finite, positive number);
    anything else raises :class:`DatasetError` naming the file and what it should hold."""
    try:
        data = json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: not valid JSON ({exc}); expected an object with \"hr_bpm\"") from None
    hr = data.get("hr_bpm") if isinstance(data, dict) else None
    if isinstance(hr, bool) or not isinstance(hr, (int, float)) or not (math.isfinite(hr) and hr > 0):
        raise DatasetError(f"{path}: expected a JSON object with \"hr_bpm\" a positive number of beats per "
                           f"minute, got {hr!r}" if isinstance(data, dict) else
                           f"{path}: expected a JSON object with \"hr_bpm\", got a {type(data).__name__}")
    return float(hr)


def items_from_folder(folder: Path) -> List[Item]:
    """Videos in ``folder`` that have a ``.json`` ground truth with ``hr_bpm`` beside them."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"not a folder: {folder}")
    items = []
    for video in sorted(p for p in folder.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES):
        gt = video.with_suffix(".json")
        if gt.is_file():
            items.append(Item(video.stem, ground_truth_hr(gt), lambda v=str(video): (v, None)))
    if not items:
        raise DatasetError(f"no video with a ground-truth .json beside it in {folder}")
    return items


def items_from_dataset(name: str, root: Path) -> List[Item]:
    """Recordings of a registered dataset reader (``ubfc``, ``pure``, ``vipl``, ``mmse``)."""
    from ..datasets import DATASETS

    reader = DATASETS.get(name)()
    return [Item(r.name, float(r.hr_bpm), lambda r=r: reader.frame_source(r))
            for r in reader.list_recordings(Path(root))]


def evaluate(items: Sequence[Item], engines: Iterable[str], config: Optional[EstimateConfig] = None,
             progress: bool = True) -> List[EngineReport]:
    """Run every engine on every item (one MSTmap extraction per item, through the front
    ``config`` asks for — its landmarker and landmarker options —, shared by the engines);
    an item an engine cannot measure counts as missing, with its reason."""
    cfg = config or EstimateConfig(progress=False)
    options = video_options(None, cfg)
    loaded = {e: load_engine(e, fps=cfg.model_fps) for e in engines}
    reports = {e: EngineReport(engine=e) for e in loaded}
    from tqdm.auto import tqdm

    for it in tqdm(items, desc="evaluate", disable=not progress, leave=False):
        try:
            source, fps = it.open()
            ex = extract_mstmap(source, fps=fps, progress=False, options=options)
        except EdgeRPPGError as exc:
            for rep in reports.values():
                rep.pred[it.name], rep.errors[it.name] = None, str(exc)
            continue
        for name, eng in loaded.items():
            rep = reports[name]
            try:
                est = estimate_extraction(ex, eng, cfg)
                rep.pred[it.name] = est.hr_bpm if est.valid else None
            except EdgeRPPGError as exc:
                rep.pred[it.name], rep.errors[it.name] = None, str(exc)
    for rep in reports.values():
        p, t = paired(items, rep)
        rep.metrics = summary(p, t) if len(p) else {}
        rep.metrics["coverage"] = len(p) / max(len(items), 1)
    return list(reports.values())


def paired(items: Sequence[Item], rep: EngineReport) -> Tuple[np.ndarray, np.ndarray]:
    """(predicted, true) arrays of the items the engine measured."""
    pairs = [(rep.pred[i.name], i.hr_true) for i in items if rep.pred.get(i.name) is not None]
    if not pairs:
        return np.zeros(0), np.zeros(0)
    p, t = zip(*pairs)
    return np.asarray(p, float), np.asarray(t, float)
