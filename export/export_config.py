"""The settings of one ``edge-rppg export`` (:class:`ExportConfig`), with their allowed ranges.

A light module (no torch import), so the CLI's flags inherit the ranges at parse time and a
bad ``--opset`` is refused before torch or the checkpoint is loaded.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from edge_rppg.config import Config, Range

__all__ = ["ExportConfig", "MIN_OPSET", "MAX_OPSET", "DEFAULT_OPSET"]

#: LayerNormalization is an ONNX op from opset 17 on.
MIN_OPSET = 17
#: The highest opset the TorchScript exporter writes (``torch.onnx._constants.ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET``
#: of torch 2.x; tests/test_bad_inputs.py checks it against the installed torch).
MAX_OPSET = 20
DEFAULT_OPSET = 17


@dataclass
class ExportConfig(Config):
    """What one export writes. T: window length (None: the checkpoint's); opset: ONNX opset
    (17..20); verify: clips of each kind (random, synthetic) for the equivalence proof (0: none)."""

    T: Optional[int] = None
    opset: int = DEFAULT_OPSET
    verify: int = 0
    fp16: bool = False
    simplify: bool = True

    # T: at most edge_rppg.skin.window.MAX_WINDOW (10 min at 30 Hz)
    RANGES = {"T": Range(2, 18_000, integer=True), "opset": Range(MIN_OPSET, MAX_OPSET, integer=True),
              "verify": Range(0, 1000, integer=True)}

    def __post_init__(self) -> None:
        self.check_ranges()
