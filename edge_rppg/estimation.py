"""Whole-file heart-rate estimation: ``estimate(path)`` → :class:`Estimate`.

This is what ``edge-rppg estimate`` and the README demo run: the stream processor
(:class:`edge_rppg.processor.StreamProcessor`) in ``video`` running mode, i.e. the same
input → landmarks → ROI stages as a stream, then the clip back end of
:mod:`edge_rppg.clip` in one batch (engine windows overlap-added, HR per analysis
window with quality and validity, clip HR = mean of the valid window HRs as in the paper
§4.1, HRV and respiration from :mod:`edge_rppg.vitals`).
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Union

import numpy as np

from .clip import Estimate, EstimateConfig, TruncatedVideoWarning, estimate_extraction, truncation_warning
from .engines.base import Engine
from .errors import ConfigError
from .landmarks import LandmarkerOptions
from .options import VIDEO, BaseOptions, EdgeRPPGOptions
from .processor import StreamProcessor

__all__ = ["Estimate", "EstimateConfig", "estimate", "estimate_extraction", "video_options",
           "TruncatedVideoWarning", "truncation_warning"]


def video_options(engine: Union[str, Path, Engine, None], config: EstimateConfig) -> EdgeRPPGOptions:
    """The processor options ``estimate`` uses: ``video`` mode, one tracked face (its first,
    largest detection), One-Euro smoothing, the config's model rate and signal settings."""
    return EdgeRPPGOptions(base_options=BaseOptions(model="default" if engine is None else engine),
                           running_mode=VIDEO, model_fps=config.model_fps, signal=config.signal,
                           validity=config.validity, face_select="first", landmarks=LandmarkerOptions(),
                           landmark_model=config.landmark_model, roi_backend="cpu")


def as_estimate_config(config: Union[EstimateConfig, Mapping[str, Any], None]) -> EstimateConfig:
    """``config`` as an :class:`EstimateConfig`: None → the defaults, a mapping → ``EstimateConfig.from_dict``
    (unknown keys and bad values raise ``ConfigError``), anything else → ``ConfigError``."""
    if config is None:
        return EstimateConfig()
    if isinstance(config, EstimateConfig):
        return config
    if isinstance(config, Mapping):
        return EstimateConfig.from_dict(dict(config))
    raise ConfigError(f"config must be an EstimateConfig, a dict of its fields or None; got {type(config).__name__}")


def estimate(source: Union[str, Path, Iterable[np.ndarray]], engine: Union[str, Engine, None] = None,
             config: Union[EstimateConfig, Mapping[str, Any], None] = None, *, fps: Optional[float] = None) -> Estimate:
    """Estimate HR (per window and whole clip), HRV and respiration from a video.

    ``source`` is a video path, a folder of frames, or an iterable of RGB frames (then
    ``fps`` is required). ``config``: an :class:`EstimateConfig`, or a dict of its fields
    (``{"model_fps": 30, "progress": False}``; unknown keys raise ``ConfigError``). ``engine`` is anything
    :func:`~edge_rppg.engines.registry.load_engine` accepts (loaded before the long read,
    so a bad engine fails first). Raises ``VideoReadError``, ``FrameFormatError``,
    ``NoFaceError`` or ``ClipTooShortError`` with a one-line message. A file that decodes
    to clearly fewer frames than its header promises (truncated, damaged) is estimated on
    what was read, with a :class:`TruncatedVideoWarning`; the result's ``warnings`` list
    carries the same one-line text (empty otherwise).
    """
    cfg = as_estimate_config(config)
    with StreamProcessor(video_options(engine, cfg)) as proc:
        est = proc.process_video(source, fps=fps, progress=cfg.progress)
    for note in est.warnings:
        warnings.warn(note, TruncatedVideoWarning, stacklevel=2)
    return est
