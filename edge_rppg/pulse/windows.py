"""An engine over a clip longer than its window: :func:`infer_clip` (the batch form of the
stream's window → engine → stitch), on several threads when the engine allows it."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

import numpy as np

from ..errors import ClipTooShortError
from ..vitals.stitch import OverlapAdd
from .engines.base import Engine

__all__ = ["CLIP_HOP_FRACTION", "MAX_CLIP_WORKERS", "aligned_hop", "clip_workers", "infer_clip", "input_grid"]


#: Default hop of :func:`infer_clip`, as a fraction of the engine window, before it is
#: aligned to the engine input's grid (:func:`aligned_hop`): every sample is covered by four
#: or more windows, whose overlap-add averages out the model's per-window errors (a live
#: stream with ``hop_s`` = 1 s already covers each sample ~5 times). Measured with
#: ``bench/bench_realistic.py --seeds 12`` on the model then shipped (stage 1 of the current
#: one): all-pulse MAE 3.93 → 3.92 bpm and lower in 9 of 10 pulse conditions than with half
#: a window (e.g. sodium lamps 0.25 → 0.22, still 0.07 → 0.06); an eighth gave nothing
#: more. It doubles the engine calls of a file.
CLIP_HOP_FRACTION = 0.25


def input_grid(engine: Engine) -> int:
    """The engine input's window grid (:func:`edge_rppg.skin.mstmap.window_grid` of its
    ``input_norm`` at the model rate); 1 for engines without one (classic methods)."""
    from ..model_file import MODEL_FPS
    from ..skin.mstmap import window_grid

    norm = getattr(engine, "input_norm", None)
    return window_grid(str(norm), MODEL_FPS) if norm else 1


def aligned_hop(hop: int, grid: int) -> int:
    """``hop`` samples moved down to a multiple of ``grid`` (at least one grid step): the
    largest step no longer than asked whose windows cut their inputs alike."""
    hop, grid = max(1, int(hop)), max(1, int(grid))
    return max(grid, (hop // grid) * grid)


def clip_workers(engine: Engine) -> int:
    """Threads :func:`infer_clip` runs ``engine``'s windows on: up to :data:`MAX_CLIP_WORKERS`
    (the usable CPUs) when ``engine.info.concurrent``, else 1. In a file run the windows are
    inferred after the last frame is decoded, so the other cores are idle by then."""
    if not getattr(engine.info, "concurrent", False):
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(MAX_CLIP_WORKERS, cpus))


#: Most threads :func:`clip_workers` gives a concurrent engine.
MAX_CLIP_WORKERS = 4


def infer_clip(engine: Engine, mstmap: np.ndarray, hop: Optional[int] = None,
               workers: Optional[int] = None) -> np.ndarray:
    """BVP ``[N]`` float32 for an MSTmap ``[N, 63, 6]`` of any length ``N >= engine.info.T``.

    Engines without a fixed T see the whole clip at once. Fixed-T engines see windows every
    ``hop`` samples (default :data:`CLIP_HOP_FRACTION` of a window moved down to the engine
    input's grid, :func:`aligned_hop`; the last window aligned to the end), stitched by
    :class:`OverlapAdd`; ``workers`` threads infer them (default
    :func:`clip_workers`; each window's output does not depend on which thread ran it, and
    they are stitched in order). Raises :class:`ClipTooShortError` when the clip is shorter
    than one engine window.
    """
    n = int(mstmap.shape[0])
    T = engine.info.T
    if T is None:
        return np.asarray(engine.infer(mstmap), dtype=np.float32)
    if n < T:
        raise ClipTooShortError(f"clip has {n} frames but the {engine.info.name} engine needs windows of T={T}")
    hop = max(1, int(hop or aligned_hop(round(T * CLIP_HOP_FRACTION), input_grid(engine))))
    starts = list(range(0, n - T + 1, hop))
    if starts[-1] != n - T:
        starts.append(n - T)
    stitch = OverlapAdd()
    ones = np.ones(T, dtype=bool)
    n_workers = clip_workers(engine) if workers is None else max(1, int(workers))
    if n_workers > 1 and len(starts) > 1:
        with ThreadPoolExecutor(max_workers=min(n_workers, len(starts)), thread_name_prefix="infer_clip") as pool:
            outs = list(pool.map(lambda s: engine.infer(mstmap[s:s + T]), starts))
    else:
        outs = [engine.infer(mstmap[s:s + T]) for s in starts]
    for s, y in zip(starts, outs):
        stitch.push(np.asarray(y, dtype=np.float64), ones, s + T)
    return stitch.signal()[0].astype(np.float32)
