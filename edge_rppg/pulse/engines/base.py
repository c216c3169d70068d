"""The engine contract: every way of turning an MSTmap into a pulse signal.

An engine maps one MSTmap window ``[T, 63, 6]`` (float32, raw colour means, not yet
normalised) to a blood-volume-pulse signal ``[T]``.  Classic training-free methods
(POS, CHROM, ...), the PyTorch reference model, ONNX Runtime and TensorRT all
implement it, so the estimator and the streaming runtime never care which one runs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class EngineInfo:
    """What an engine is: name, fixed window length (None = any), precision, provider,
    whether ``infer`` may run from several threads at once (``concurrent``: a file's
    windows are then spread over the cores, :func:`edge_rppg.pulse.windows.infer_clip`), and
    the colour family of the MSTmap it reads (``color_space``: ``"rgb"``, 6 channels, or
    ``"gray"``, 1 channel; a stream refuses an engine of the other family)."""

    name: str
    T: Optional[int]
    precision: str = "fp32"
    provider: str = "cpu"
    concurrent: bool = False
    color_space: str = "rgb"


@runtime_checkable
class Engine(Protocol):
    """Structural type for engines.

    ``infer`` takes raw MSTmap colour means for one window (the engine applies its own
    normalisation) and returns a BVP of the same length. ``info`` says what it is.
    """

    info: EngineInfo

    def infer(self, mstmap: np.ndarray) -> np.ndarray:  # pragma: no cover - protocol
        """``[T, 63, 6]`` float32 → ``[T]`` float32 BVP."""
        ...
