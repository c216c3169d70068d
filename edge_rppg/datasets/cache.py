"""On-disk cache of extracted MSTmaps, so a dataset is run through MediaPipe only once.

An entry is an ``.npz`` (mstmap, valid, fps, timestamps_s) whose file name is a hash of
the source's fingerprint — resolved path, size and modification time (for a frame
folder: number of frames, total size, newest modification time) — and of the extractor
version. Editing or replacing a video, or changing the extractor, therefore misses the
cache instead of returning a stale MSTmap. Entries are written atomically (temporary
file + rename), so an interrupted run never leaves a truncated entry behind.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence, Tuple, Union

import numpy as np

#: Bump when the cache file layout changes.
CACHE_FORMAT = 1

PathLike = Union[str, os.PathLike]


@dataclasses.dataclass
class CachedExtraction:
    """The parts of :class:`edge_rppg.processor.extract.Extraction` worth keeping on disk."""

    mstmap: np.ndarray        # [T, 63, 6] float32 (NaN rows where not valid)
    valid: np.ndarray         # [T] bool
    fps: float
    timestamps_s: np.ndarray  # [T] float64


def extractor_version() -> str:
    """Version string of the MSTmap extractor: ``edge_rppg.processor.extract.EXTRACTOR_VERSION`` when
    that module defines one, else the package version."""
    from .. import __version__

    try:
        from ..processor import extract
    except ImportError:  # pragma: no cover - extract is part of the core
        return __version__
    return str(getattr(extract, "EXTRACTOR_VERSION", __version__))


def source_fingerprint(source: PathLike, frame_files: Optional[Sequence[PathLike]] = None) -> Dict[str, object]:
    """What identifies a source's content cheaply: path, size and mtime.

    For a frame folder (``source`` is a directory, or ``frame_files`` is given) the
    fingerprint covers the listed frames: their count, total size and newest mtime.
    Raises ``FileNotFoundError`` when the source is missing.
    """
    p = Path(source).resolve()
    if frame_files is None and p.is_dir():
        frame_files = sorted(f for f in p.iterdir() if f.is_file())
    if frame_files is not None:
        stats = [os.stat(f) for f in frame_files]
        return {"path": str(p), "frames": len(stats), "size": int(sum(s.st_size for s in stats)),
                "mtime_ns": int(max((s.st_mtime_ns for s in stats), default=0))}
    st = os.stat(p)
    return {"path": str(p), "size": int(st.st_size), "mtime_ns": int(st.st_mtime_ns)}


def cache_key(source: PathLike, version: Optional[str] = None,
              frame_files: Optional[Sequence[PathLike]] = None, extra: Optional[Dict[str, object]] = None) -> str:
    """Hex digest naming the cache entry of ``source`` for extractor ``version``
    (default :func:`extractor_version`); ``extra`` adds settings that change the result."""
    record = {"format": CACHE_FORMAT, "source": source_fingerprint(source, frame_files),
              "extractor": version if version is not None else extractor_version(), "extra": extra or {}}
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:32]


def cache_path(cache_dir: PathLike, key: str) -> Path:
    """File of the entry ``key`` in ``cache_dir``."""
    return Path(cache_dir) / f"mstmap_{key}.npz"


def load_entry(path: PathLike) -> Optional[CachedExtraction]:
    """Read an entry; ``None`` when it is missing or unreadable (then it is recomputed)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            return CachedExtraction(mstmap=z["mstmap"].astype(np.float32, copy=False),
                                    valid=z["valid"].astype(bool, copy=False),
                                    fps=float(z["fps"]), timestamps_s=z["timestamps_s"].astype(np.float64))
    except (OSError, ValueError, KeyError):
        return None


def save_entry(path: PathLike, entry: CachedExtraction) -> Path:
    """Write an entry atomically (``.tmp`` then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        np.savez_compressed(fh, mstmap=np.asarray(entry.mstmap, np.float32), valid=np.asarray(entry.valid, bool),
                            fps=np.float64(entry.fps), timestamps_s=np.asarray(entry.timestamps_s, np.float64))
    os.replace(tmp, path)
    return path


def cached_extraction(source: PathLike, cache_dir: Optional[PathLike], compute: Callable[[], object],
                      frame_files: Optional[Sequence[PathLike]] = None,
                      extra: Optional[Dict[str, object]] = None) -> Tuple[CachedExtraction, bool]:
    """Return ``(entry, hit)``: the cached MSTmap of ``source`` or, on a miss, the result of
    ``compute()`` (an object with ``mstmap``, ``valid``, ``fps``, ``timestamps_s``), which
    is then stored. ``cache_dir=None`` disables caching."""
    path = cache_path(cache_dir, cache_key(source, frame_files=frame_files, extra=extra)) if cache_dir else None
    if path is not None:
        entry = load_entry(path)
        if entry is not None:
            return entry, True
    ext = compute()
    entry = CachedExtraction(mstmap=np.asarray(getattr(ext, "mstmap"), np.float32),
                             valid=np.asarray(getattr(ext, "valid"), bool), fps=float(getattr(ext, "fps")),
                             timestamps_s=np.asarray(getattr(ext, "timestamps_s"), np.float64))
    if path is not None:
        save_entry(path, entry)
    return entry, False
