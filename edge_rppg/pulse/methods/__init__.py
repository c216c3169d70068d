"""Classic training-free rPPG methods on spatially averaged skin colour traces.

Each method is ``f(rgb: np.ndarray [T, 3], fs: float) -> np.ndarray [T]`` and
returns a pulse that rises with blood volume (see :mod:`._common`). They are
registered by name in :data:`METHODS`; :class:`~edge_rppg.pulse.engines.classic.ClassicEngine`
runs them on the whole-face row of an MSTmap.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ...registry import Registry
from .chrom import chrom
from .green import green
from .ica import ica
from .pbv import pbv
from .pos import pos
from .subspace import lgi, omit

MethodFn = Callable[[np.ndarray, float], np.ndarray]

METHODS: Registry[MethodFn] = Registry("classic method")
for _name, _fn in (("green", green), ("ica", ica), ("chrom", chrom), ("pos", pos), ("lgi", lgi),
                   ("pbv", pbv), ("omit", omit)):
    METHODS.add(_name, _fn)

__all__ = ["METHODS", "MethodFn", "green", "ica", "chrom", "pos", "lgi", "pbv", "omit"]
