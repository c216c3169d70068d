"""Backends that sum a frame's six meta-ROIs, and how one is chosen.

Why a registry: the ``roi`` stage (:mod:`edge_rppg.skin.stage`) needs per-ROI colour
sums every frame; on the CPU that is one ``np.bincount`` (:class:`CpuRoiSummer`,
registered here), on a GPU a CUDA kernel. GPU backends are plug-ins: an installed package
declares an entry point in the group :data:`ENTRY_POINT_GROUP` whose object is a
``register_backends(register)`` function (the camera runtime declares its CUDA kernel's
``"cupy"`` and ``"pycuda"`` backends this way). The first call that needs the list of
backends (:func:`auto_order`, :func:`make_roi_summer`, ...) loads them; the core names no
plug-in module, and no import has a registering side effect, so ``"auto"`` means the same
in :class:`edge_rppg.EdgeRPPG`, ``estimate`` and ``edge-rppg run``: the best backend that
works on this machine, else the CPU.
"""
from __future__ import annotations

import functools
from importlib.metadata import entry_points
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Protocol, Tuple

import numpy as np

from ..errors import UnavailableError, UnknownNameError
from ..registry import Registry


class RoiSummer(Protocol):
    """Per-ROI sums of a frame: ``sums(frame, labels, offset) -> (sums [6,3] f64, counts [6] i64)``.

    ``labels`` covers the rectangle of ``frame`` whose top-left corner is ``offset``
    ``(x0, y0)`` (a face crop); ``frame`` is a host ``np.ndarray`` or, for GPU
    backends, an array already in device memory.
    """

    backend: str

    def sums(self, frame: Any, labels: np.ndarray, offset: Tuple[int, int] = (0, 0)) -> Tuple[np.ndarray, np.ndarray]:
        ...  # pragma: no cover - protocol


class RoiBackend(NamedTuple):
    """A registered backend: ``factory()`` builds the summer, ``probe()`` says whether it
    can work here (may raise: that means no), ``rank`` orders ``"auto"`` (lowest first)."""

    factory: Callable[[], RoiSummer]
    probe: Callable[[], bool]
    rank: int = 0


def check_rect(frame_shape: Tuple[int, ...], labels: np.ndarray, offset: Tuple[int, int]) -> Tuple[int, int]:
    """Validate that ``labels`` placed at ``offset`` lies inside the frame; returns (x0, y0).

    Shared by every backend so that they reject the same inputs with the same message.
    """
    x0, y0 = int(offset[0]), int(offset[1])
    h, w = labels.shape[:2]
    if not (len(frame_shape) == 2 or (len(frame_shape) == 3 and frame_shape[2] == 3)):
        raise ValueError(f"frame must be HxWx3 (colour) or HxW (gray); got shape {tuple(frame_shape)}")
    if x0 < 0 or y0 < 0 or y0 + h > frame_shape[0] or x0 + w > frame_shape[1]:
        raise ValueError(f"label map {w}x{h} at offset ({x0}, {y0}) does not fit a "
                         f"{frame_shape[1]}x{frame_shape[0]} frame")
    return x0, y0


class CpuRoiSummer:
    """The CPU path: :func:`edge_rppg.skin.roi.roi_sums` (one ``np.bincount``) on the crop."""

    backend = "cpu"

    def sums(self, frame: np.ndarray, labels: np.ndarray,
             offset: Tuple[int, int] = (0, 0)) -> Tuple[np.ndarray, np.ndarray]:
        """Sums and counts of the ``labels`` rectangle at ``offset``."""
        from .roi import roi_sums

        x0, y0 = check_rect(frame.shape, labels, offset)
        h, w = labels.shape
        return roi_sums(frame[y0:y0 + h, x0:x0 + w], labels)


#: backend name → :class:`RoiBackend`. The core registers ``"cpu"`` (always usable, ranked
#: last); the plug-ins of :data:`ENTRY_POINT_GROUP` add theirs when first needed.
ROI_BACKENDS: Registry[RoiBackend] = Registry("ROI-sum backend")
CPU_RANK = 1000
ROI_BACKENDS.add("cpu", RoiBackend(CpuRoiSummer, lambda: True, CPU_RANK))
#: Entry-point group of the plug-ins that register ROI backends (``register_backends(register)``).
ENTRY_POINT_GROUP = "edge_rppg.roi_backends"
_loaded: Dict[str, bool] = {}


def register_roi_backend(name: str, factory: Callable[[], RoiSummer], probe: Callable[[], bool],
                         rank: int = 0) -> None:
    """Add a backend to :data:`ROI_BACKENDS` (``rank`` orders ``"auto"``, lowest first;
    the CPU is :data:`CPU_RANK`). Registering the same name again is a ``KeyError``."""
    ROI_BACKENDS.add(name, RoiBackend(factory, probe, int(rank)))


def load_lazy_backends() -> None:
    """Load each plug-in of :data:`ENTRY_POINT_GROUP` once and let it register its backends
    (a plug-in that fails to import provides nothing)."""
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.value in _loaded:
            continue
        _loaded[ep.value] = False
        try:
            register_backends = ep.load()
        except ImportError:  # the plug-in's package is broken or half installed: only what else is there
            continue
        register_backends(register_roi_backend)
        _loaded[ep.value] = True


def auto_order() -> Tuple[str, ...]:
    """Registered backend names in the order ``"auto"`` tries them (``"cpu"`` last)."""
    load_lazy_backends()
    return tuple(sorted(ROI_BACKENDS.names(), key=lambda n: (ROI_BACKENDS.get(n).rank, n)))


@functools.lru_cache(maxsize=None)
def _usable(name: str) -> Optional[str]:
    """None if backend ``name`` works here, else why not (cached per process)."""
    probe = ROI_BACKENDS.get(name).probe
    try:
        return None if probe() else "no CUDA device"
    except Exception as exc:  # ImportError, CUDA driver errors: all mean "not here"
        return f"{type(exc).__name__}: {exc}"


def available_backends() -> List[str]:
    """Registered backends usable on this machine, best first (``"cpu"`` always last and present)."""
    return [n for n in auto_order() if _usable(n) is None]


def unavailable_reasons() -> Dict[str, str]:
    """Why each registered GPU backend is not usable here (empty when all are)."""
    return {n: r for n in auto_order() if (r := _usable(n)) is not None}


def make_roi_summer(backend: str = "auto") -> RoiSummer:
    """A summer for ``backend`` (``"auto"``, ``"cpu"``, ``"cupy"``, ``"pycuda"``).

    ``"auto"`` takes the first usable registered backend (see :func:`auto_order`), else
    the CPU. An unknown name raises :class:`~edge_rppg.errors.UnknownNameError` (a
    ``KeyError``) listing the registered ones; naming a registered backend that is not
    usable raises :class:`~edge_rppg.errors.UnavailableError` (a ``RuntimeError``) saying why.
    """
    load_lazy_backends()
    if backend == "auto":
        for name in available_backends():
            try:
                return ROI_BACKENDS.get(name).factory()
            except Exception:  # compile/driver failure: try the next one
                continue
        return CpuRoiSummer()
    if backend not in ROI_BACKENDS:
        raise UnknownNameError(f"unknown ROI-sum backend {backend!r}; known: "
                               f"{', '.join(['auto', *ROI_BACKENDS.names()])}")
    factory = ROI_BACKENDS.get(backend).factory
    why = _usable(backend)
    if why is not None:
        raise UnavailableError(f"ROI backend {backend!r} is not usable here ({why}); "
                           f"available: {', '.join(available_backends())}")
    return factory()
