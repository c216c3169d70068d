"""The first stage: a caller's frame becomes a checked RGB :class:`Frame` with its time.

``input`` (:class:`InputStage`) runs :func:`~edge_rppg.frames.validation.check_frame`
(None, dtype, shape, channels → ``FrameFormatError``) and converts BGR to RGB once, so
every later stage sees RGB.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import ConfigError
from ..stage import Stage
from .validation import check_frame

__all__ = ["COLOR_ORDERS", "Frame", "InputStage", "check_color_order"]

#: Accepted ``color_order`` values.
COLOR_ORDERS = ("rgb", "bgr")


def check_color_order(value: object, field: str = "color_order") -> str:
    """``value`` lower-cased when it is one of :data:`COLOR_ORDERS`, else a ``ConfigError``."""
    order = str(value).lower()
    if order not in COLOR_ORDERS:
        raise ConfigError(f"{field} must be 'rgb' or 'bgr', got {value!r}")
    return order


@dataclass(frozen=True)
class Frame:
    """One checked frame: ``image`` HxWx3 uint8 RGB, ``timestamp`` in seconds, ``index``
    (0-based count of frames given to the stream)."""

    image: np.ndarray
    timestamp: float
    index: int


class InputStage(Stage):
    """Check a frame and bring it to RGB: ``input(image, timestamp, index) -> Frame``."""

    name = "input"

    def __init__(self, color_order: str = "rgb") -> None:
        super().__init__()
        self.color_order = check_color_order(color_order)

    def run(self, image: np.ndarray, timestamp: float, index: int) -> Frame:  # type: ignore[override]
        frame = check_frame(image)
        if self.color_order == "bgr":
            frame = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        return Frame(image=frame, timestamp=float(timestamp), index=int(index))
