"""The ``engine`` stage: a due MSTmap window → its pulse (:class:`PulseWindow`).

Any :class:`~edge_rppg.pulse.engines.base.Engine` serves (classic, ONNX Runtime, TensorRT,
torch). An engine whose output for a window is unusable (NaN, inf, a model-file error)
does not stop the stream: the window's pulse is zeros marked invalid, and
:attr:`PulseWindow.error` says why, so the reading of those seconds is invalid with the
reason ``engine_error``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..errors import ModelFileError, ShapeError
from ..skin.window import WindowStep
from ..stage import Stage
from .engines.base import Engine

__all__ = ["PulseWindow", "EngineStage"]


@dataclass(frozen=True)
class PulseWindow:
    """The engine's pulse for one window: ``bvp`` ``[T]`` float32, ``valid`` ``[T]`` (the
    window's real-face samples; all False after an engine error), ``end`` (the grid sample
    the window ends at), and ``error`` (None, or why the engine's output was unusable)."""

    bvp: np.ndarray
    valid: np.ndarray
    end: int
    error: Optional[str] = None


class EngineStage(Stage):
    """Run ``engine`` on each due window: ``engine(step) -> PulseWindow | None`` (None: no
    window due on this frame). :meth:`close` closes the engine when ``own``."""

    name = "engine"

    def __init__(self, engine: Engine, own: bool = True) -> None:
        super().__init__()
        self.engine = engine
        self._own = bool(own)

    @property
    def T(self) -> Optional[int]:
        """The engine's fixed window length (None: any length)."""
        return self.engine.info.T

    def run(self, step: WindowStep) -> Optional[PulseWindow]:  # type: ignore[override]
        window = step.window
        if window is None:
            return None
        n = window.shape[0]
        valid = step.valid if step.valid is not None else np.ones(n, dtype=bool)
        try:
            y = np.asarray(self.engine.infer(window), dtype=np.float32).ravel()
        except ModelFileError as exc:  # the model's output is unusable (NaN/inf): a bad window, not a crash
            return self._failed(n, step.samples, str(exc))
        if y.shape[0] != n:
            raise ShapeError(f"engine {self.engine.info.name} returned {y.shape[0]} samples for a window of {n}")
        if not np.all(np.isfinite(y)):
            return self._failed(n, step.samples, f"engine {self.engine.info.name} returned non-finite samples")
        return PulseWindow(bvp=y, valid=valid, end=step.samples)

    @staticmethod
    def _failed(n: int, end: int, error: str) -> PulseWindow:
        """Zeros marked invalid: the stitched pulse keeps its length, and the reading knows why."""
        return PulseWindow(bvp=np.zeros(n, dtype=np.float32), valid=np.zeros(n, dtype=bool), end=end, error=error)

    def close(self) -> None:
        close = getattr(self.engine, "close", None) if self._own else None  # optional in the Engine protocol
        if callable(close):
            close()
