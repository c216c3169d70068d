"""Whole-file heart-rate estimation: video → MSTmap → engine → BVP → HR/HRV/RF.

This is what ``edge-rppg estimate`` and the README demo run. The clip's BVP is cut
into analysis windows (``SignalConfig.window_s`` with ``hop_s``); each window gets an
HR from the Welch PSD with a signal-quality index and a validity flag, and the
video-level HR is the mean of the valid window HRs, as in the paper (§4.1).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Union

import numpy as np

from .config import Config
from .dsp import SignalConfig
from .dsp.filters import bandpass
from .dsp.hr import WindowHR, video_hr, windowed_hr
from .dsp.hrv import HRV, hrv_from_beats
from .dsp.peaks import detect_beats
from .dsp.respiration import respiration_rate_hz
from .engines.base import Engine, EngineInfo
from .engines.registry import load_engine
from .engines.windowing import infer_clip
from .errors import ClipTooShortError
from .extract import Extraction, extract_mstmap
from .mstmap import fill_invalid, resample


@dataclass
class EstimateConfig(Config):
    """Settings of a whole-file estimate.

    model_fps: rate the MSTmap is resampled to before the engine (the model rate).
    progress: show a progress bar while reading long videos.
    """

    signal: SignalConfig = field(default_factory=SignalConfig)
    model_fps: float = 30.0
    progress: bool = True


@dataclass
class Estimate:
    """Result of :func:`estimate`. ``hr_bpm`` is None when no window is valid."""

    hr_bpm: Optional[float]
    valid: bool
    windows: List[WindowHR]
    hrv: HRV
    rf_hz: Optional[float]
    frames: int
    fps: float
    bvp: np.ndarray
    bvp_fs: float
    engine: EngineInfo
    timing_ms: Dict[str, float]

    def to_dict(self, include_bvp: bool = False) -> Dict[str, Any]:
        """JSON-able dict (the ``--json`` output of the CLI)."""
        out: Dict[str, Any] = {
            "hr_bpm": None if self.hr_bpm is None else round(float(self.hr_bpm), 2),
            "valid": bool(self.valid),
            "windows": [
                {"t_start": round(w.t_start, 3), "t_end": round(w.t_end, 3),
                 "hr_bpm": None if w.hr_bpm is None or not np.isfinite(w.hr_bpm) else round(float(w.hr_bpm), 2),
                 "quality": None if w.quality is None or not np.isfinite(w.quality) else round(float(w.quality), 2),
                 "valid": bool(w.valid)}
                for w in self.windows
            ],
            "hrv": {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in asdict(self.hrv).items()},
            "rf_hz": None if self.rf_hz is None else round(float(self.rf_hz), 4),
            "frames": int(self.frames),
            "fps": round(float(self.fps), 3),
            "engine": asdict(self.engine),
            "timing_ms": {k: round(float(v), 3) for k, v in self.timing_ms.items()},
        }
        if include_bvp:
            out["bvp"] = [round(float(v), 5) for v in self.bvp]
            out["bvp_fs"] = self.bvp_fs
        return out


def _to_model_rate(ex: Extraction, model_fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Fill invalid frames, resample MSTmap and validity mask to the model rate."""
    mst = fill_invalid(ex.mstmap, ex.valid)
    valid = ex.valid.astype(np.float32)
    if abs(ex.fps - model_fps) > 1e-3:
        mst = resample(mst, ex.fps, model_fps)
        n = mst.shape[0]
        src_t = np.arange(len(valid)) / ex.fps
        valid = np.interp(np.arange(n) / model_fps, src_t, valid)
    return mst.astype(np.float32), valid >= 0.999


def analyse_bvp(bvp: np.ndarray, fs: float, valid: np.ndarray, cfg: SignalConfig) -> tuple[Optional[float], bool, List[WindowHR], HRV, Optional[float], np.ndarray]:
    """Band-pass a BVP and derive window HRs, video HR, HRV and respiration rate."""
    filtered = bandpass(bvp, fs, cfg.band_hz, cfg.order)
    windows = windowed_hr(filtered, fs, cfg, valid_mask=valid)
    hr, ok = video_hr(windows)
    beats = detect_beats(filtered, fs, hr_hint_bpm=hr)
    hrv = hrv_from_beats(beats)
    rf, _rf_quality = respiration_rate_hz(bvp, fs, beats=beats)
    return hr, ok, windows, hrv, (None if rf is None or not np.isfinite(rf) else float(rf)), filtered


def estimate_extraction(ex: Extraction, engine: Union[str, Engine, None] = None,
                        config: Optional[EstimateConfig] = None) -> Estimate:
    """Run an engine and the vitals analysis on an already extracted MSTmap.

    Lets one extraction serve several engines (``edge-rppg evaluate``). Raises
    ``ClipTooShortError`` when the clip is shorter than one analysis window.
    """
    cfg = config or EstimateConfig()
    eng = load_engine(engine, fps=cfg.model_fps)
    timing = {f"{k}_ms_per_frame": float(v) for k, v in ex.timing_ms.items()}
    t0 = time.perf_counter()
    mst, valid = _to_model_rate(ex, cfg.model_fps)
    need = max(int(round(cfg.signal.window_s * cfg.model_fps)), eng.info.T or 0)
    if mst.shape[0] < need:
        raise ClipTooShortError(
            f"clip is {mst.shape[0] / cfg.model_fps:.1f} s ({mst.shape[0]} frames at {cfg.model_fps:g} Hz); "
            f"one analysis window needs {need} frames ({need / cfg.model_fps:.1f} s)")
    bvp = infer_clip(eng, mst)
    t1 = time.perf_counter()
    hr, ok, windows, hrv, rf, filtered = analyse_bvp(bvp, cfg.model_fps, valid, cfg.signal)
    t2 = time.perf_counter()
    n_frames = len(ex.valid)
    timing["engine_ms_total"] = (t1 - t0) * 1e3
    timing["engine_ms_per_frame"] = (t1 - t0) * 1e3 / max(n_frames, 1)
    timing["vitals_ms_total"] = (t2 - t1) * 1e3
    return Estimate(hr_bpm=hr, valid=ok, windows=windows, hrv=hrv, rf_hz=rf, frames=n_frames, fps=ex.fps,
                    bvp=filtered.astype(np.float32), bvp_fs=cfg.model_fps, engine=eng.info, timing_ms=timing)


def estimate(source: Union[str, Path, Iterable[np.ndarray]], engine: Union[str, Engine, None] = None,
             config: Optional[EstimateConfig] = None, *, fps: Optional[float] = None) -> Estimate:
    """Estimate HR (per window and whole clip), HRV and respiration from a video.

    ``source`` is a video path, a folder of frames, or an iterable of RGB frames (then
    ``fps`` is required). ``engine`` is anything :func:`load_engine` accepts.
    Raises ``VideoReadError``, ``FrameFormatError``, ``NoFaceError`` or
    ``ClipTooShortError`` with a one-line message.
    """
    cfg = config or EstimateConfig()
    eng = load_engine(engine, fps=cfg.model_fps)  # fails on a bad engine before the (long) extraction
    ex = extract_mstmap(source, fps=fps, progress=cfg.progress)
    return estimate_extraction(ex, eng, cfg)
