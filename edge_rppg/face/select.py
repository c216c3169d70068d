"""Which face of a frame is measured: ``"largest"`` (the driver), ``"first"``, an index
into the detections sorted largest first, or a callable of your own."""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Union

from ..errors import ConfigError
from .types import Face

__all__ = ["FaceSelector", "make_face_selector"]

FaceSelector = Union[str, int, Callable[[List[Face]], Optional[Face]]]


def _largest(faces: List[Face]) -> Optional[Face]:
    return max(faces, key=lambda f: f.area) if faces else None


def _first(faces: List[Face]) -> Optional[Face]:
    return faces[0] if faces else None


_SELECTORS: Dict[str, Callable[[List[Face]], Optional[Face]]] = {"largest": _largest, "first": _first}


def make_face_selector(policy: FaceSelector) -> Callable[[List[Face]], Optional[Face]]:
    """``"largest"`` (default: the driver), ``"first"``, an index into the detections
    (sorted largest first; out of range → no face) or ``callable(faces) -> face | None``."""
    if callable(policy):
        return policy
    if isinstance(policy, str) and policy.lstrip("-").isdigit():
        policy = int(policy)
    if isinstance(policy, int) and not isinstance(policy, bool):
        k = int(policy)
        return lambda faces: sorted(faces, key=lambda f: -f.area)[k] if -len(faces) <= k < len(faces) else None
    if isinstance(policy, str) and policy.lower() in _SELECTORS:
        return _SELECTORS[policy.lower()]
    raise ConfigError(f"face selection must be 'largest', 'first', an index or a callable; got {policy!r}")
