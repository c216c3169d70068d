"""Classic training-free methods (POS, CHROM, ..., MONO) as an engine.

They need no model and no fixed window, so they run on whole clips or any window
length. The colour methods read the whole-face row of the MSTmap (row 62, RGB channels);
the mono methods of gray (near-infrared) streams read the intensity of all 63 rows. They
are the fallback when no trained model is available and the baselines of every evaluation.
"""
from __future__ import annotations

from typing import Callable, Dict, NamedTuple, Optional

import numpy as np

from ...errors import ConfigError, UnknownNameError
from ...frames.color import MSTMAP_CHANNELS
from ...frames.validation import check_mstmap
from ...model_file import MODEL_FPS
from ...registry import Registry
from ...skin.mstmap import WHOLE_FACE_ROW
from ..methods import METHODS
from ..methods.mono import MONO_METHODS
from .base import EngineInfo


class ClassicFamily(NamedTuple):
    """The classic methods of one colour family: their registry and the traces they read
    from a ``[T, 63, C]`` MSTmap window."""

    methods: Registry
    traces: Callable[[np.ndarray], np.ndarray]


#: colour family (:data:`edge_rppg.frames.color.COLOR_SPACES` ``family``) → its classic methods.
CLASSIC_FAMILIES: Dict[str, ClassicFamily] = {
    "rgb": ClassicFamily(METHODS, lambda m: m[:, WHOLE_FACE_ROW, 0:3]),
    "gray": ClassicFamily(MONO_METHODS, lambda m: m[:, :, 0]),
}


def classic_family(name: object) -> Optional[str]:
    """The colour family whose classic methods include ``name``, or None."""
    return next((fam for fam, c in CLASSIC_FAMILIES.items() if isinstance(name, str) and name in c.methods), None)


def classic_names() -> list:
    """Every classic method name, colour first."""
    return [n for c in CLASSIC_FAMILIES.values() for n in c.methods.names()]


class ClassicEngine:
    """Engine wrapping a classic method (:data:`CLASSIC_FAMILIES`).

    ``infer`` returns the method's pulse standardised to zero mean and unit variance
    (float32), so windows of different brightness stitch together evenly.
    ``info.color_space`` says which MSTmap it reads (``"rgb"``: 6 channels, ``"gray"``: 1).
    Unknown method names raise ``UnknownNameError`` listing the known ones.
    """

    def __init__(self, method: str, fps: float = MODEL_FPS) -> None:
        family = classic_family(method)
        if family is None:
            raise UnknownNameError(f"unknown classic method {method!r}; known: {', '.join(classic_names())}")
        self.family = CLASSIC_FAMILIES[family]
        self._fn = self.family.methods.get(method)
        self._channels = len(MSTMAP_CHANNELS[family])
        if not fps > 0:
            raise ConfigError(f"ClassicEngine: fps must be > 0, got {fps}")
        self.fps = float(fps)
        self.info = EngineInfo(name=method.lower(), T=None, precision="fp32", provider="cpu", color_space=family)

    def infer(self, mstmap: np.ndarray) -> np.ndarray:
        """``[T, 63, C]`` float32 raw means (C = 6 colour, 1 gray) → ``[T]`` float32 BVP."""
        check_mstmap(mstmap, channels=self._channels)
        from ...vitals.dsp.filters import standardise

        traces = self.family.traces(mstmap).astype(np.float64)
        return standardise(np.asarray(self._fn(traces, self.fps), dtype=np.float64)).astype(np.float32)

    def __repr__(self) -> str:
        return f"ClassicEngine({self.info.name!r}, fps={self.fps:g})"
