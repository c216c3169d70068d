"""Whole-clip analysis: a recorded MSTmap → engine → :class:`Estimate`.

The batch back end of the stream processor. Files reach it through
:meth:`edge_rppg.processor.stream.StreamProcessor.process_video` (``estimate``); a stream that
recorded its frames reaches it through
:meth:`~edge_rppg.processor.stream.StreamProcessor.clip_estimate`, so the same frames give the same
windows and the same HR either way. The maths is :mod:`edge_rppg.vitals.readings`: overlap-added
engine windows (:func:`~edge_rppg.pulse.windows.infer_clip`), analysis windows of
``SignalConfig.window_s`` every ``hop_s`` with quality and validity, the clip HR as the
mean of the valid window HRs (paper §4.1), HRV and respiration.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from ..errors import ClipTooShortError
from ..pulse.engines.base import Engine, EngineInfo
from ..pulse.engines.registry import check_engine_color_space, load_engine
from ..pulse.windows import infer_clip
from ..skin.mstmap import face_colour, fill_invalid, roi_means, resample, resample_times
from ..vitals.dsp.hr import WindowHR
from ..vitals.dsp.hrv import HRV
from ..vitals.readings import Vitals, VitalsView, clip_vitals
from ..vitals.validity import artefact_series
from .extract import Extraction
from .options import EstimateConfig

__all__ = ["Estimate", "estimate_extraction", "ClipSeries", "clip_series", "TruncatedVideoWarning",
           "TRUNCATED_FRACTION", "truncation_warning"]


@dataclass
class Estimate(VitalsView):
    """Result of :func:`edge_rppg.estimate`: the clip's :class:`~edge_rppg.vitals.readings.Vitals`
    (``hr_bpm`` None when no window is valid), its analysis windows, and what ran."""

    vitals: Vitals  # type: ignore[assignment]  # never None for a clip
    windows: List[WindowHR]
    frames: int
    fps: float
    engine: EngineInfo
    timing_ms: Dict[str, float]
    #: one-line notes about the input (e.g. a truncated file: :func:`truncation_warning`)
    warnings: List[str] = field(default_factory=list)

    @property
    def hrv(self) -> HRV:
        """HRV of the clip (``hrv.valid`` False for short or noisy clips)."""
        return self.vitals.hrv  # type: ignore[union-attr]

    def to_dict(self, include_bvp: bool = False) -> Dict[str, Any]:
        """JSON-able dict (the ``--json`` output of the CLI)."""
        def num(v: Optional[float], nd: int) -> Optional[float]:
            return None if v is None or not np.isfinite(v) else round(float(v), nd)

        out: Dict[str, Any] = {
            "hr_bpm": num(self.hr_bpm, 2),
            "valid": bool(self.valid),
            "windows": [{"t_start": round(w.t_start, 3), "t_end": round(w.t_end, 3), "hr_bpm": num(w.hr_bpm, 2),
                         "quality": num(w.quality, 2), "valid": bool(w.valid), "invalid_reason": w.invalid_reason}
                        for w in self.windows],
            "hrv": {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in asdict(self.hrv).items()},
            "rf_hz": num(self.rf_hz, 4),
            "rf_valid": bool(self.rf_valid),
            "artefact": self.vitals.artefact,
            "invalid_reason": self.vitals.invalid_reason,
            "frames": int(self.frames),
            "fps": round(float(self.fps), 3),
            "engine": asdict(self.engine),
            "timing_ms": {k: round(float(v), 3) for k, v in self.timing_ms.items()},
        }
        if include_bvp:
            out["bvp"] = [round(float(v), 5) for v in self.bvp]
            out["bvp_fs"] = self.bvp_fs
        return out


def _irregular(ex: Extraction) -> bool:
    """The frame times are not ``i / fps`` (a variable-frame-rate file timed by its own timestamps)."""
    t = np.asarray(ex.timestamps_s, dtype=np.float64)
    if t.size != len(ex.valid) or t.size < 2:
        return False
    return bool(np.max(np.abs(t - t[0] - np.arange(t.size) / ex.fps)) > 0.25 / ex.fps)


def _to_model_rate(ex: Extraction, model_fps: float, irregular: bool) -> Tuple[np.ndarray, np.ndarray]:
    """Fill invalid frames, resample MSTmap and validity mask to the model rate (by the
    frames' own timestamps when they are ``irregular``)."""
    mst = fill_invalid(ex.mstmap, ex.valid)
    valid = ex.valid.astype(np.float32)
    if irregular:
        t = np.asarray(ex.timestamps_s, dtype=np.float64)
        mst = resample_times(mst, t, model_fps)
        valid = np.interp(t[0] + np.arange(mst.shape[0]) / model_fps, t, valid)
    elif abs(ex.fps - model_fps) > 1e-3:
        mst = resample(mst, ex.fps, model_fps)
        n = mst.shape[0]
        src_t = np.arange(len(valid)) / ex.fps
        valid = np.interp(np.arange(n) / model_fps, src_t, valid)
    return mst.astype(np.float32), valid >= 0.999


@dataclass(frozen=True)
class ClipSeries:
    """What the clip back end reads of an extraction, on the model-rate grid: the MSTmap the
    engine sees (invalid frames filled) and which samples had a face (``valid``); for the
    validity gate, the artefact series (:func:`~edge_rppg.vitals.validity.artefact_series`), the
    whole face's R, G, B (:func:`~edge_rppg.skin.mstmap.face_colour`, None in gray) and the
    meta-ROIs' own means (:func:`~edge_rppg.skin.mstmap.roi_means`). Benchmarks that re-read a
    clip's windows under other rules start from it too, so they read what the estimate read."""

    mstmap: np.ndarray
    valid: np.ndarray
    artefacts: np.ndarray
    colour: Optional[np.ndarray]
    regions: Optional[np.ndarray]


def clip_series(ex: Extraction, model_fps: float) -> ClipSeries:
    """The :class:`ClipSeries` of ``ex`` at ``model_fps`` (by the frames' own timestamps when
    they are not ``i / fps``: a variable-frame-rate file)."""
    irregular = _irregular(ex)
    mst, valid = _to_model_rate(ex, model_fps, irregular)
    t = np.asarray(ex.timestamps_s, dtype=np.float64)
    grid = (t[0] if irregular else 0.0) + np.arange(mst.shape[0]) / model_fps
    times = t if irregular else np.arange(len(ex.valid)) / ex.fps
    return ClipSeries(mstmap=mst, valid=valid, artefacts=artefact_series(times, ex.boxes, ex.light, grid),
                      colour=face_colour(mst), regions=roi_means(mst))


def estimate_extraction(ex: Extraction, engine: Union[str, Engine, None] = None,
                        config: Optional[EstimateConfig] = None) -> Estimate:
    """Run ``engine`` (anything :func:`~edge_rppg.pulse.engines.registry.load_engine` takes) and
    the clip vitals on an already extracted MSTmap.

    Lets one extraction serve several engines (``edge-rppg evaluate``). Raises
    ``ClipTooShortError`` when the clip is shorter than one analysis window.
    """
    cfg = config or EstimateConfig()
    engine = load_engine(engine, fps=cfg.model_fps, color_space=cfg.color_space)
    check_engine_color_space(engine, cfg.color_space)
    timing = {f"{k}_ms_per_frame": float(v) for k, v in ex.timing_ms.items()}
    t0 = time.perf_counter()
    series = clip_series(ex, cfg.model_fps)
    mst = series.mstmap
    need = max(int(round(cfg.signal.window_s * cfg.model_fps)), engine.info.T or 0)
    if mst.shape[0] < need:
        raise ClipTooShortError(
            f"clip is {mst.shape[0] / cfg.model_fps:.1f} s ({mst.shape[0]} frames at {cfg.model_fps:g} Hz); "
            f"one analysis window needs {need} frames ({need / cfg.model_fps:.1f} s)")
    bvp = infer_clip(engine, mst)
    t1 = time.perf_counter()
    vitals, windows = clip_vitals(bvp, cfg.model_fps, series.valid, cfg.signal, artefacts=series.artefacts,
                                  colour=series.colour, regions=series.regions, validity=cfg.validity)
    t2 = time.perf_counter()
    n_frames = len(ex.valid)
    timing["engine_ms_total"] = (t1 - t0) * 1e3
    timing["engine_ms_per_frame"] = (t1 - t0) * 1e3 / max(n_frames, 1)
    timing["vitals_ms_total"] = (t2 - t1) * 1e3
    note = truncation_warning(ex.source, ex.frames_promised, n_frames)
    return Estimate(vitals=vitals, windows=windows, frames=n_frames, fps=ex.fps, engine=engine.info,
                    timing_ms=timing, warnings=[note] if note else [])


class TruncatedVideoWarning(UserWarning):
    """A video file decoded to clearly fewer frames than its header promises (cut off,
    damaged): the estimate covers only the part that was read."""


#: A file is called truncated when fewer than this fraction of its header's frames decode
#: (headers of some containers are approximate by a frame or two).
TRUNCATED_FRACTION = 0.95


def truncation_warning(source: object, promised: Optional[int], decoded: int) -> Optional[str]:
    """One-line warning text when ``decoded`` frames fall short of the ``promised`` header
    count by more than :data:`TRUNCATED_FRACTION`, else None."""
    if promised is None or promised <= 1 or decoded >= TRUNCATED_FRACTION * promised:
        return None
    return (f"{source}: truncated or damaged video: {decoded} of the {promised} frames its header promises "
            f"could be decoded; the estimate covers only the first {decoded}")
