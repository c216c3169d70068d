"""Classic training-free methods (POS, CHROM, ...) as an engine.

They need no model and no fixed window, so they run on whole clips or any window
length, on the whole-face row of the MSTmap (row 62, RGB channels). They are the
fallback when no trained model is available and the baselines of every evaluation.
"""
from __future__ import annotations

import numpy as np

from ...errors import ConfigError
from ..methods import METHODS
from ...model_file import MODEL_FPS
from ...frames.validation import check_mstmap
from ...skin.mstmap import WHOLE_FACE_ROW
from .base import EngineInfo


class ClassicEngine:
    """Engine wrapping a method of :data:`edge_rppg.pulse.methods.METHODS`.

    ``infer`` returns the method's pulse standardised to zero mean and unit variance
    (float32), so windows of different brightness stitch together evenly.
    Unknown method names raise ``KeyError`` listing the known ones.
    """

    def __init__(self, method: str, fps: float = MODEL_FPS) -> None:
        self._fn = METHODS.get(method)
        if not fps > 0:
            raise ConfigError(f"ClassicEngine: fps must be > 0, got {fps}")
        self.fps = float(fps)
        self.info = EngineInfo(name=method.lower(), T=None, precision="fp32", provider="cpu")

    def infer(self, mstmap: np.ndarray) -> np.ndarray:
        """``[T, 63, 6]`` float32 raw colour means → ``[T]`` float32 BVP."""
        check_mstmap(mstmap)
        from ...vitals.dsp.filters import standardise

        rgb = mstmap[:, WHOLE_FACE_ROW, 0:3].astype(np.float64)
        return standardise(np.asarray(self._fn(rgb, self.fps), dtype=np.float64)).astype(np.float32)

    def __repr__(self) -> str:
        return f"ClassicEngine({self.info.name!r}, fps={self.fps:g})"
