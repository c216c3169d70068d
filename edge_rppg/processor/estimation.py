"""Whole-file heart-rate estimation: ``estimate(path)`` → :class:`~edge_rppg.processor.clip.Estimate`.

This is what ``edge-rppg estimate`` and the README demo run: the stream processor
(:class:`edge_rppg.processor.stream.StreamProcessor`) in ``video`` running mode, i.e. the
same front (:func:`edge_rppg.processor.front.build_front`) as a stream, then the clip back
end of :mod:`edge_rppg.processor.clip` in one batch (engine windows overlap-added, HR per
analysis window with quality and validity, clip HR = mean of the valid window HRs as in
the paper §4.1, HRV and respiration from :mod:`edge_rppg.vitals.readings`).
"""
from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path
from typing import Iterable, Optional, Union

import numpy as np

from ..errors import ConfigError
from ..pulse.engines.base import Engine
from .clip import Estimate, TruncatedVideoWarning
from .options import EstimateConfig, video_options
from .stream import StreamProcessor

__all__ = ["estimate"]


def estimate(source: Union[str, Path, Iterable[np.ndarray]], engine: Union[str, Engine, None] = None,
             config: Optional[EstimateConfig] = None, *, fps: Optional[float] = None,
             color_space: Optional[str] = None) -> Estimate:
    """Estimate HR (per window and whole clip), HRV and respiration from a video.

    ``source`` is a video path, a folder of frames, or an iterable of RGB frames (then
    ``fps`` is required). ``engine`` is anything
    :func:`~edge_rppg.pulse.engines.registry.load_engine` accepts (loaded before the long
    read, so a bad engine fails first). ``config``: an :class:`EstimateConfig` (or its dict),
    including the landmarker and its options. ``color_space``: the frames' colour space
    (``"gray"`` for a mono / near-infrared camera's file; None: ``config.color_space``, by
    default ``"rgb"``); a frame or engine of another one raises
    :class:`~edge_rppg.errors.ColorSpaceError`. Raises ``VideoReadError``, ``FrameFormatError``,
    ``NoFaceError`` or ``ClipTooShortError`` with a one-line message. A file that decodes to
    clearly fewer frames than its header promises (truncated, damaged) is estimated on what
    was read, with a :class:`~edge_rppg.processor.clip.TruncatedVideoWarning`; the result's
    ``warnings`` list carries the same one-line text (empty otherwise).
    """
    if isinstance(config, dict):
        config = EstimateConfig.from_dict(config)
    if config is not None and not isinstance(config, EstimateConfig):
        raise ConfigError(f"config must be an EstimateConfig or its dict, got {type(config).__name__}")
    cfg = config or EstimateConfig()
    if color_space is not None:
        cfg = dataclasses.replace(cfg, color_space=color_space)
    with StreamProcessor(video_options(engine, cfg)) as proc:
        est = proc.process_video(source, fps=fps, progress=cfg.progress)
    for note in est.warnings:
        warnings.warn(note, TruncatedVideoWarning, stacklevel=2)
    return est
