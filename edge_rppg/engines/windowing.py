"""Run an engine over a clip longer than its window.

Fixed-T engines (Cluster-Phys at T=160, say) see overlapping windows; their outputs
are standardised per window and overlap-added with a Hann taper, the usual way of
stitching rPPG window outputs into one continuous pulse signal. Engines without a
fixed T (the classic methods) see the whole clip at once.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..errors import ClipTooShortError
from .base import Engine


def _standardise(x: np.ndarray) -> np.ndarray:
    x = x - x.mean()
    sd = x.std()
    return x / sd if sd > 1e-12 else x


def infer_clip(engine: Engine, mstmap: np.ndarray, hop: Optional[int] = None) -> np.ndarray:
    """BVP ``[N]`` for an MSTmap ``[N, 63, 6]`` of any length ``N >= engine.info.T``.

    ``hop`` defaults to half a window. Raises :class:`ClipTooShortError` when the clip
    is shorter than one engine window.
    """
    n = int(mstmap.shape[0])
    T = engine.info.T
    if T is None:
        return np.asarray(engine.infer(mstmap), dtype=np.float32)
    if n < T:
        raise ClipTooShortError(f"clip has {n} frames but the {engine.info.name} engine needs windows of T={T}")
    hop = max(1, int(hop or T // 2))
    starts = list(range(0, n - T + 1, hop))
    if starts[-1] != n - T:
        starts.append(n - T)
    taper = np.hanning(T + 2)[1:-1].astype(np.float64)
    out = np.zeros(n, dtype=np.float64)
    weight = np.zeros(n, dtype=np.float64)
    for s in starts:
        y = _standardise(np.asarray(engine.infer(mstmap[s:s + T]), dtype=np.float64))
        out[s:s + T] += y * taper
        weight[s:s + T] += taper
    return (out / np.maximum(weight, 1e-12)).astype(np.float32)
