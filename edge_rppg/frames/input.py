"""The first stage: a caller's frame becomes a checked :class:`Frame` with its time.

``input`` (:class:`InputStage`) runs :func:`~edge_rppg.frames.validation.check_frame`
for the declared ``color_space`` (None, dtype, shape, channels → ``FrameFormatError``),
converts BGR to RGB once, so every later stage sees RGB or gray, and makes the 8-bit
3-channel view the face models take (:class:`~edge_rppg.frames.color.GrayView` for gray).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np

from ..stage import Stage
from .color import COLOR_SPACES, GrayView, check_color_space
from .validation import check_frame

__all__ = ["Frame", "InputStage", "check_color_order", "resolve_color_space"]


def check_color_order(value: object, field: str = "color_order") -> str:
    """Deprecated name of :func:`~edge_rppg.frames.color.check_color_space` (``"rgb"``/``"bgr"``/``"gray"``)."""
    return check_color_space(value, field)


def resolve_color_space(color_space: str, color_order: Optional[str], owner: str) -> str:
    """The colour space of ``owner`` (a class name for messages): ``color_order``, the
    deprecated alias, wins with a ``DeprecationWarning`` when it is given."""
    if color_order is None:
        return check_color_space(color_space, f"{owner}.color_space")
    warnings.warn(f"{owner}.color_order is deprecated; use color_space", DeprecationWarning, stacklevel=4)
    return check_color_space(color_order, f"{owner}.color_order")


@dataclass(frozen=True)
class Frame:
    """One checked frame: ``image`` as the later stages measure it (HxWx3 uint8 RGB, or HxW
    uint8/uint16 gray), ``timestamp`` in seconds, ``index`` (0-based count of frames given to
    the stream), and ``view``, the HxWx3 uint8 RGB picture the face models and the sinks
    look at (``image`` itself for colour; the gray frame replicated, at 8 bits, for gray)."""

    image: np.ndarray
    timestamp: float
    index: int
    view: Optional[np.ndarray] = None

    def __post_init__(self) -> None:
        if self.view is None:
            object.__setattr__(self, "view", self.image)


class InputStage(Stage):
    """Check a frame and bring it to RGB or gray: ``input(image, timestamp, index) -> Frame``."""

    name = "input"

    def __init__(self, color_space: str = "rgb") -> None:
        super().__init__()
        self.color_space = check_color_space(color_space)
        self.space = COLOR_SPACES[self.color_space]
        self._gray_view: Optional[GrayView] = GrayView() if self.space.family == "gray" else None

    @property
    def family(self) -> str:
        """``"rgb"`` or ``"gray"``: what the later stages see."""
        return self.space.family

    def reset(self) -> None:
        if self._gray_view is not None:
            self._gray_view.reset()

    def run(self, image: np.ndarray, timestamp: float, index: int) -> Frame:  # type: ignore[override]
        frame = check_frame(image, self.color_space)
        if self.space.to_family is not None:
            frame = cv2.cvtColor(frame, self.space.to_family)
        view = self._gray_view(frame) if self._gray_view is not None else None
        return Frame(image=frame, timestamp=float(timestamp), index=int(index), view=view)
