"""Rendered face videos through the product's own front end, cached on disk.

A clip of :mod:`.video_gen` (a real face photo animated with pulse, motion, lights,
codec; RGB, or a near-infrared camera's gray frames, :mod:`.nir`) is rendered frame by frame and run through the same front stages ``estimate``
uses — the default landmarker, meta-ROI polygons, ROI averaging — so its MSTmap looks
like deployment data, landmark jitter and codec blocks included. The realistic-conditions
benchmark evaluates on such clips and the ``rendered`` training source trains on them;
rendering costs about a second per 12 s clip at 320×240, so each is rendered once and
kept as an ``.npz`` keyed by its config, seed and the extractor version.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Union

import numpy as np

from .video_gen import VideoSynthConfig, render_frames


def cache_key(cfg: VideoSynthConfig, seed: int) -> str:
    """16 hex digits identifying the extraction of ``(cfg, seed)`` by this extractor version."""
    from ..processor.extract import EXTRACTOR_VERSION

    blob = json.dumps({"cfg": cfg.to_dict(), "seed": seed, "extractor": EXTRACTOR_VERSION}, sort_keys=True,
                      default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def cache_path(cfg: VideoSynthConfig, seed: int, cache: Union[str, Path]) -> Path:
    """Where :func:`rendered_extraction` keeps the extraction of ``(cfg, seed)`` under ``cache``."""
    return Path(cache) / f"{cache_key(cfg, seed)}.npz"


def rendered_extraction(cfg: VideoSynthConfig, seed: int, cache: Union[str, Path]) -> Any:
    """The :class:`~edge_rppg.processor.extract.Extraction` of the clip ``(cfg, seed)``: loaded from
    ``cache`` when present, else rendered, run through the front stages and saved there
    (atomically: a temporary file renamed into place)."""
    from ..processor.extract import Extraction, extract_mstmap
    from ..processor.options import EstimateConfig, video_options

    path = cache_path(cfg, seed, cache)
    if path.exists():
        z = np.load(path, allow_pickle=False)
        if "light" in z.files:  # older caches lack the off-face light the artefact gate needs: re-extract
            return Extraction(mstmap=z["mstmap"], valid=z["valid"], fps=float(z["fps"]), timestamps_s=z["t"],
                              landmarks=None, boxes=z["boxes"], timing_ms=json.loads(str(z["timing"])),
                              light=z["light"])
    space = "rgb" if cfg.camera == "rgb" else "gray"   # a NIR camera's clip is a gray stream
    ex = extract_mstmap(render_frames(cfg, seed), fps=cfg.fps, progress=False, keep_landmarks=False,
                        options=video_options(None, EstimateConfig(progress=False, color_space=space)))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, mstmap=ex.mstmap, valid=ex.valid, fps=ex.fps, t=ex.timestamps_s, boxes=ex.boxes,
                        light=ex.light, timing=json.dumps(ex.timing_ms))
    tmp.replace(path)
    return ex
