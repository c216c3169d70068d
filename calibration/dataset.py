"""The INT8 calibration set: raw MSTmap windows that represent what the model will see.

Static INT8 quantisation fixes one scale per tensor from the activations of a few
windows, so those windows must span the conditions met in use. The synthetic part is
stratified *by construction*: every cell of a grid of heart-rate bands × illumination
conditions (steady, drifting, flickering) × head-motion levels (still, moderate, strong)
gets windows in turn, each from its own seed. Windows cut from a dataset reader's
recordings (optional) are stratified *after the fact* by :func:`stratified_select` on
three measured features — reference HR, light variation and a motion proxy — split into
equal-width bins and taken round-robin across the occupied cells.

The set is cached as ``.npz`` (raw windows + strata labels + HR) under a key of its
config, so repeated calibrations reuse it. The model normalises windows itself
(:func:`edge_rppg.skin.mstmap.normalize_window`); :meth:`CalibrationSet.normalised` does it here.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from edge_rppg.config import Config, Range
from edge_rppg.errors import ConfigError, DatasetError
from edge_rppg.model_file import MODEL_FPS, cache_dir

__all__ = ["CalibrationConfig", "CalibrationSet", "HR_BANDS", "LIGHT", "MOTION", "strata_grid",
           "synthetic_windows", "window_features", "stratified_select", "dataset_windows",
           "build_calibration_set", "default_cache_dir"]

#: heart-rate bands (bpm) of the synthetic strata
HR_BANDS: Dict[str, Tuple[float, float]] = {"low": (42.0, 62.0), "rest": (62.0, 85.0), "elevated": (85.0, 115.0),
                                            "high": (115.0, 165.0)}
#: illumination strata → SynthConfig overrides
LIGHT: Dict[str, Dict[str, Any]] = {
    "steady": {"illum_drift": (0.0, 0.01), "flicker_prob": 0.0},
    "drift": {"illum_drift": (0.03, 0.08), "flicker_prob": 0.0},
    "flicker": {"illum_drift": (0.0, 0.03), "flicker_prob": 1.0},
}
#: head-motion strata → SynthConfig overrides
MOTION: Dict[str, Dict[str, Any]] = {
    "still": {"motion_prob": 0.0, "jerk_prob": 0.0, "periodic_motion_prob": 0.0, "specular_amp": (0.0, 0.0)},
    "moderate": {"motion_prob": 1.0, "motion_amp": (0.002, 0.01), "jerk_prob": 0.0, "periodic_motion_prob": 0.0},
    "strong": {"motion_prob": 1.0, "motion_amp": (0.01, 0.03), "jerk_prob": 0.6, "periodic_motion_prob": 0.5},
}


def default_cache_dir() -> Path:
    """``$EDGE_RPPG_CACHE/calibration`` or ``~/.cache/edge_rppg/calibration``."""
    return cache_dir("calibration")


@dataclass
class CalibrationConfig(Config):
    """What goes into the calibration set.

    n_samples: total windows; T: window length (the model's); seed: base seed of the
    synthetic clips (seed + 1000·cell + round, disjoint from the held-out report seeds);
    dataset/dataset_root/dataset_cache: optional reader name (``edge_rppg.datasets``),
    its folder and MSTmap cache; dataset_fraction: share of ``n_samples`` taken from it
    when given; stride: frames between dataset windows; bins: equal-width bins per feature.
    """

    n_samples: int = 64
    T: int = 160
    seed: int = 1_000
    fps: float = MODEL_FPS
    dataset: str = ""
    dataset_root: str = ""
    dataset_cache: str = ""
    dataset_fraction: float = 0.5
    stride: int = 80
    bins: int = 3

    #: Allowed values (``edge-rppg calibrate`` flags inherit them). ``n_samples`` bounds the set's
    #: memory: 4096 windows of T=160 are 1 GB of float32 before ONNX Runtime's calibrator copies.
    RANGES = {"n_samples": Range(1, 4096, integer=True), "T": Range(16, 4096, integer=True),
              "seed": Range(0, 2**32 - 1, integer=True), "fps": Range(1.0, 1000.0),
              "dataset_fraction": Range(0.0, 1.0), "stride": Range(1, 100_000, integer=True),
              "bins": Range(1, 10, integer=True)}

    def __post_init__(self) -> None:
        self.check_ranges()
        for name in ("dataset", "dataset_root", "dataset_cache"):
            if not isinstance(getattr(self, name), str):
                raise ConfigError(f"CalibrationConfig.{name} must be text, got {getattr(self, name)!r}")
        if self.dataset and not self.dataset_root:
            raise ConfigError(f"CalibrationConfig: dataset {self.dataset!r} needs dataset_root "
                              f"(CLI: --dataset-root FOLDER)")

    def key(self) -> str:
        """Cache key (16 hex digits) of this config."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]


@dataclass
class CalibrationSet:
    """Raw windows ``[N, T, 63, 6]`` float32 with their stratum label and HR (NaN if unknown)."""

    windows: np.ndarray
    strata: List[str]
    hr_bpm: np.ndarray
    source: List[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.windows.shape[0])

    def normalised(self, input_norm: Optional[str] = None) -> np.ndarray:
        """Windows after :func:`~edge_rppg.skin.mstmap.normalize_window` (what the model sees) in the
        model's ``input_norm`` mode — pass ``edge_rppg.skin.mstmap.input_norm_of(onnx metadata)``;
        None = ``"minmax"``, the mode of configs without the field (models from before it existed)."""
        from edge_rppg.skin.mstmap import LEGACY_INPUT_NORM, normalize_window

        mode = input_norm or LEGACY_INPUT_NORM
        return np.stack([normalize_window(w, mode) for w in self.windows]).astype(np.float32)

    def counts(self) -> Dict[str, int]:
        """Windows per stratum label."""
        out: Dict[str, int] = {}
        for s in self.strata:
            out[s] = out.get(s, 0) + 1
        return dict(sorted(out.items()))

    def save(self, path: Union[str, Path]) -> Path:
        """Write as compressed ``.npz``."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(tmp, windows=self.windows, strata=np.array(self.strata), hr_bpm=self.hr_bpm,
                            source=np.array(self.source or [""] * len(self)))
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Union[str, Path]) -> "CalibrationSet":
        """Read a file written by :meth:`save`; ``DatasetError`` if it is not one."""
        try:
            with np.load(path, allow_pickle=False) as z:
                return cls(windows=z["windows"].astype(np.float32), strata=[str(s) for s in z["strata"]],
                           hr_bpm=z["hr_bpm"].astype(np.float64), source=[str(s) for s in z["source"]])
        except (OSError, KeyError, ValueError) as exc:
            raise DatasetError(f"{path}: not a calibration-set .npz ({exc})") from exc


def strata_grid() -> List[Tuple[str, str, str]]:
    """All (HR band, light, motion) cells of the synthetic strata."""
    return [(h, li, m) for h in HR_BANDS for li in LIGHT for m in MOTION]


def synthetic_windows(n: int, T: int, seed: int, fps: float = MODEL_FPS) -> CalibrationSet:
    """``n`` synthetic windows, cycling through every stratum cell (round-robin) so the
    set covers the grid evenly; window ``i`` of cell ``c`` uses seed ``seed + 1000·c + i``."""
    from edge_rppg.synth.mstmap_gen import SynthConfig, synth_mstmap

    cells = strata_grid()
    windows, labels, hrs = [], [], []
    for i in range(n):
        c, r = i % len(cells), i // len(cells)
        hr_band, light, motion = cells[c]
        cfg = SynthConfig(T=T, fps=fps, hr_range_bpm=HR_BANDS[hr_band], **LIGHT[light], **MOTION[motion])
        sample = synth_mstmap(cfg, seed + 1000 * c + r)
        windows.append(sample.mstmap.astype(np.float32))
        labels.append(f"{hr_band}/{light}/{motion}")
        hrs.append(float(sample.hr_bpm))
    return CalibrationSet(np.stack(windows), labels, np.asarray(hrs), ["synthetic"] * n)


def window_features(window: np.ndarray) -> np.ndarray:
    """``[light variation, motion proxy]`` of a raw window, from the whole-face row 62.

    Light variation: std over time of the luma Y relative to its mean. Motion proxy:
    mean absolute frame-to-frame change of the R, G, B means relative to their level
    (head motion moves all channels at once; the pulse is ~0.5 % of the level).
    """
    face = np.asarray(window[:, 62, :], dtype=np.float64)
    y = face[:, 3]
    light = float(np.std(y) / max(np.mean(np.abs(y)), 1e-6))
    rgb = face[:, :3]
    motion = float(np.mean(np.abs(np.diff(rgb, axis=0))) / max(np.mean(np.abs(rgb)), 1e-6))
    return np.array([light, motion])


def stratified_select(features: np.ndarray, n: int, bins: int = 3, seed: int = 0) -> np.ndarray:
    """Indices of ``n`` rows of ``features [N, F]`` spread across quantile strata.

    Each feature's range is cut into ``bins`` equal-width bins (so extreme conditions get
    bins of their own); rows are grouped by their bin tuple and taken round-robin over
    the groups (random order within a group, from ``seed``), so rare conditions — which
    set the activation ranges INT8 must cover — are not crowded out by the common ones. NaN features form their
    own bin. Returns sorted indices (all rows if ``n >= N``).
    """
    feats = np.asarray(features, dtype=np.float64)
    if feats.ndim != 2:
        raise ValueError(f"features must be [N, F], got shape {feats.shape}")
    N = feats.shape[0]
    if n >= N:
        return np.arange(N)
    codes = np.zeros((N, feats.shape[1]), dtype=np.int64)
    for j in range(feats.shape[1]):
        col = feats[:, j]
        ok = np.isfinite(col)
        if ok.sum() > 0:
            lo, hi = float(col[ok].min()), float(col[ok].max())
            edges = np.linspace(lo, hi, bins + 1)[1:-1]
            codes[ok, j] = np.searchsorted(edges, col[ok], side="right")
        codes[~ok, j] = bins
    rng = np.random.default_rng(seed)
    groups: Dict[Tuple[int, ...], List[int]] = {}
    for i, code in enumerate(map(tuple, codes)):
        groups.setdefault(code, []).append(i)
    queues = [list(rng.permutation(members)) for _, members in sorted(groups.items())]
    chosen: List[int] = []
    while len(chosen) < n:
        for q in queues:
            if q and len(chosen) < n:
                chosen.append(int(q.pop()))
    return np.sort(np.asarray(chosen))


def dataset_windows(name: str, root: Union[str, Path], T: int, stride: int,
                    cache_dir: Optional[Union[str, Path]] = None) -> CalibrationSet:
    """All ``T``-frame windows (every ``stride`` frames, at 30 Hz) of a dataset reader's
    recordings, labelled by recording; invalid frames are filled by interpolation."""
    from edge_rppg.datasets import DATASETS
    from edge_rppg.skin.mstmap import fill_invalid, resample_times

    reader = DATASETS.get(name)()
    recs = list(reader.list_recordings(root))
    windows, labels, hrs = [], [], []
    for rec in recs:
        entry = reader.load_mstmap(rec, cache_dir)
        mst = np.asarray(fill_invalid(np.asarray(entry.mstmap, np.float32), np.asarray(entry.valid, bool)), np.float32)
        t = np.asarray(entry.timestamps_s, np.float64)
        if mst.shape[0] >= 2 and np.all(np.diff(t) > 0):
            mst = np.asarray(resample_times(mst, t, MODEL_FPS), np.float32)
        for s in range(0, mst.shape[0] - T + 1, max(1, int(stride))):
            w = mst[s:s + T]
            if np.isfinite(w).all():
                windows.append(w)
                labels.append(f"{name}:{rec.name}@{s}")
                hrs.append(float(entry.hr_bpm))
    if not windows:
        raise DatasetError(f"dataset {name!r} at {root}: no recording has a finite {T}-frame window")
    return CalibrationSet(np.stack(windows), labels, np.asarray(hrs), [name] * len(windows))


def _concat(sets: Sequence[CalibrationSet]) -> CalibrationSet:
    return CalibrationSet(np.concatenate([s.windows for s in sets]), [x for s in sets for x in s.strata],
                          np.concatenate([s.hr_bpm for s in sets]), [x for s in sets for x in s.source])


def build_calibration_set(cfg: Optional[CalibrationConfig] = None,
                          cache_dir: Union[str, Path, None] = None, use_cache: bool = True) -> CalibrationSet:
    """The calibration set for ``cfg``: read from ``cache_dir/<key>.npz`` when present, else
    built (synthetic strata, plus stratified dataset windows when ``cfg.dataset`` is set) and cached."""
    cfg = cfg or CalibrationConfig()
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = cache / f"calib_{cfg.key()}.npz"
    if use_cache and path.is_file():
        try:
            cached = CalibrationSet.load(path)
            if cached.windows.shape[1] == cfg.T:
                return cached
        except DatasetError:
            pass  # damaged cache entry: rebuild
    n_data = int(round(cfg.n_samples * cfg.dataset_fraction)) if cfg.dataset else 0
    parts: List[CalibrationSet] = []
    if n_data:
        pool = dataset_windows(cfg.dataset, cfg.dataset_root, cfg.T, cfg.stride, cfg.dataset_cache or None)
        feats = np.column_stack([pool.hr_bpm, np.stack([window_features(w) for w in pool.windows])])
        idx = stratified_select(feats, n_data, cfg.bins, cfg.seed)
        parts.append(CalibrationSet(pool.windows[idx], [pool.strata[i] for i in idx], pool.hr_bpm[idx],
                                    [pool.source[i] for i in idx]))
        n_data = len(idx)
    if cfg.n_samples - n_data > 0:
        parts.append(synthetic_windows(cfg.n_samples - n_data, cfg.T, cfg.seed, cfg.fps))
    result = _concat(parts)
    if use_cache:
        result.save(path)
    return result


def describe(cs: CalibrationSet) -> Dict[str, Any]:
    """Summary for logs: size, windows per HR band/light/motion, HR range."""
    dims: Dict[str, Dict[str, int]] = {"hr": {}, "light": {}, "motion": {}}
    for s in cs.strata:
        parts = s.split("/")
        if len(parts) == 3:
            for key, value in zip(("hr", "light", "motion"), parts):
                dims[key][value] = dims[key].get(value, 0) + 1
    hr = cs.hr_bpm[np.isfinite(cs.hr_bpm)]
    return {"windows": len(cs), "T": int(cs.windows.shape[1]), "strata": dims,
            "hr_range_bpm": [float(hr.min()), float(hr.max())] if hr.size else None,
            "sources": sorted(set(cs.source)), "summary": json.dumps(dims, sort_keys=True)}
