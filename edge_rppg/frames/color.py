"""Colour spaces a stream may declare (``EdgeRPPGOptions.color_space``), and what each means.

Why a table: a frame's channel count alone cannot say what it is (a 1-channel frame may be
a NIR camera or a mistake; an HxWx3 frame may be RGB or BGR), so the caller declares it
once and every stage looks the declaration up here instead of guessing from the shape:

- ``"rgb"`` / ``"bgr"``: HxWx3 uint8; BGR is converted to RGB once by the ``input`` stage.
  The MSTmap has 6 channels (R, G, B, Y, U, V).
- ``"gray"``: a monochrome (e.g. 940 nm near-infrared) camera, ``HxW`` or ``HxWx1``, uint8
  or uint16 (10/12/16-bit sensors). The samples stay at their own depth until the ROI means;
  the face models get an 8-bit 3-channel copy (:class:`GrayView`). The MSTmap has 1 channel
  (intensity).

``family`` is what the later stages see: ``"rgb"`` (after the BGR conversion) or ``"gray"``;
engines declare the family they take (:attr:`edge_rppg.pulse.engines.base.EngineInfo.color_space`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import cv2
import numpy as np

from ..errors import ConfigError

__all__ = ["ColorSpace", "COLOR_SPACES", "MSTMAP_CHANNELS", "check_color_space", "GrayView"]


@dataclass(frozen=True)
class ColorSpace:
    """One declared colour space: ``channels`` per input frame, the sample ``dtypes`` it
    accepts, the ``family`` the later stages see, and the OpenCV code that brings a frame
    to that family (None: already there)."""

    name: str
    channels: int
    dtypes: Tuple[str, ...]
    family: str
    to_family: Optional[int] = None


#: ``color_space`` name → :class:`ColorSpace`.
COLOR_SPACES: Dict[str, ColorSpace] = {
    "rgb": ColorSpace("rgb", 3, ("uint8",), "rgb"),
    "bgr": ColorSpace("bgr", 3, ("uint8",), "rgb", cv2.COLOR_BGR2RGB),
    "gray": ColorSpace("gray", 1, ("uint8", "uint16"), "gray"),
}

#: MSTmap channels per family: R, G, B, Y, U, V for colour; the intensity for gray.
MSTMAP_CHANNELS: Dict[str, Tuple[str, ...]] = {"rgb": ("R", "G", "B", "Y", "U", "V"), "gray": ("I",)}


def check_color_space(value: object, field: str = "color_space") -> str:
    """``value`` lower-cased when it names a :data:`COLOR_SPACES` entry, else a ``ConfigError``."""
    name = str(value).lower()
    if name not in COLOR_SPACES:
        raise ConfigError(f"{field} must be one of {', '.join(COLOR_SPACES)}; got {value!r}")
    return name


#: Bit depths a gray stream is assumed to have, smallest first: the view's scale is the
#: smallest that holds the brightest sample seen so far (a 10-bit sensor in a 16-bit
#: container gives values up to 1023, so it is shown at 10 bits, not as a dark 16-bit image).
VIEW_DEPTHS: Tuple[int, ...] = (8, 10, 12, 14, 16)


class GrayView:
    """The 8-bit 3-channel copy of a gray frame that the face models (trained on RGB) and the
    sinks look at: the mono frame replicated into R, G and B.

    A 16-bit frame is scaled to 8 bits (divided by 2^(depth - 8), rounded) by the stream's
    bit depth (the smallest of
    :data:`VIEW_DEPTHS` that holds the brightest sample seen since :meth:`reset`): the
    depth only ever grows, so a file and a stream of the same frames get the same views,
    and a dark scene is not stretched frame by frame (which would make the tracker chase
    exposure changes). The ROI means never use this copy.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """A new stream: forget the bit depth."""
        self.depth = 8

    def __call__(self, gray: np.ndarray) -> np.ndarray:
        """``HxW`` uint8/uint16 → ``HxWx3`` uint8."""
        if gray.dtype == np.uint16:
            peak = int(gray.max())
            while self.depth < VIEW_DEPTHS[-1] and peak >= (1 << self.depth):
                self.depth = next(d for d in VIEW_DEPTHS if d > self.depth)
            gray = cv2.convertScaleAbs(gray, alpha=2.0 ** (8 - self.depth))
        return cv2.merge([gray, gray, gray])  # 3x cheaper than cvtColor(GRAY2RGB) at 640x480
