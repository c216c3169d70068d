"""Input checks shared by every entry point: frames and MSTmaps.

They raise :class:`~edge_rppg.errors.FrameFormatError` or
:class:`~edge_rppg.errors.ShapeError` with a message that names what was expected,
so that bad input never travels further and never turns into a wrong heart rate.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..errors import FrameColorSpaceError, FrameFormatError, ShapeError

N_ROI_COMBOS = 63
N_CHANNELS = 6
#: Longest frame side: OpenCV's resize/cvtColor/warp take at most 32766 pixels (SHRT_MAX - 1) per side.
MAX_FRAME_SIDE = 32_766
#: Largest decoded frame in bytes (width x height x channels x bytes per sample): 256 MiB, room for a
#: 16-bit RGBA 8K frame; an image or video header declaring more is refused before decoding.
MAX_FRAME_BYTES = 256 * 1024 * 1024


def check_frame_size(width: int, height: int, channels: int = 3, sample_bytes: int = 1, what: str = "frame") -> None:
    """Refuse a frame size (e.g. read from a file header, before decoding) that OpenCV cannot
    handle or that would allocate more than :data:`MAX_FRAME_BYTES`: ``FrameFormatError``."""
    if max(width, height) > MAX_FRAME_SIDE:
        raise FrameFormatError(f"{what} {width}x{height} is too large: at most {MAX_FRAME_SIDE} pixels per side "
                               f"(OpenCV's limit)")
    size = int(width) * int(height) * max(int(channels), 1) * max(int(sample_bytes), 1)
    if size > MAX_FRAME_BYTES:
        raise FrameFormatError(f"{what} {width}x{height}x{channels} ({size / 2**20:.0f} MiB decoded) is too large: "
                               f"at most {MAX_FRAME_BYTES // 2**20} MiB per frame")


def check_frame(frame: object, color_space: str = "rgb") -> np.ndarray:
    """Return ``frame`` if it fits the declared ``color_space``
    (:data:`~edge_rppg.frames.color.COLOR_SPACES`); raise ``FrameFormatError`` otherwise.

    ``"rgb"``/``"bgr"``: ``HxWx3`` uint8 (the colour maths of rPPG is defined on 8-bit
    colour). ``"gray"``: ``HxW`` or ``HxWx1``, uint8 or uint16, returned as ``HxW`` (a view,
    no copy, no change of depth). A frame of the other kind (a 1-channel frame on a colour
    stream, a 3-channel one on a gray stream, 16-bit colour) raises
    :class:`~edge_rppg.errors.FrameColorSpaceError`, naming the ``color_space`` to declare.
    """
    from .color import COLOR_SPACES

    space = COLOR_SPACES[color_space]
    if frame is None:
        raise FrameFormatError("frame is None (the source returned no image)")
    if not isinstance(frame, np.ndarray):
        raise FrameFormatError(f"frame must be a numpy array, got {type(frame).__name__}")
    mono = frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] == 1)
    if mono and space.channels != 1:
        raise FrameColorSpaceError(f"frame is grayscale {frame.shape} but color_space={color_space!r} expects HxWx3 "
                                   f"colour; declare color_space='gray' (CLI: --color-space gray) for a mono camera")
    if frame.ndim == 3 and frame.shape[2] == 3 and space.channels == 1:
        raise FrameColorSpaceError(f"frame is colour {frame.shape} but color_space='gray' expects HxW or HxWx1; "
                                   f"declare color_space='rgb' or 'bgr' for a colour camera")
    if not mono and (frame.ndim != 3 or frame.shape[2] != 3):
        raise FrameFormatError(f"frame has shape {frame.shape}; expected "
                               f"{'HxW or HxWx1 (gray)' if space.channels == 1 else 'HxWx3 (RGB or BGR)'}")
    if frame.dtype.name not in space.dtypes:
        cls = FrameColorSpaceError if frame.dtype == np.uint16 else FrameFormatError
        raise cls(f"frame dtype is {frame.dtype}; color_space={color_space!r} takes {' or '.join(space.dtypes)}"
                  + (" (16-bit frames: color_space='gray' only)" if frame.dtype == np.uint16 else ""))
    if frame.shape[0] < 16 or frame.shape[1] < 16:
        raise FrameFormatError(f"frame {frame.shape[1]}x{frame.shape[0]} is too small")
    check_frame_size(frame.shape[1], frame.shape[0], space.channels, frame.dtype.itemsize)
    return frame.reshape(frame.shape[:2]) if mono else frame


def check_mstmap(x: object, T: Optional[int] = None, allow_nan: bool = False,
                 channels: int = N_CHANNELS) -> np.ndarray:
    """Validate an MSTmap ``[T, 63, channels]`` float32 array and return it (6 channels for
    colour, 1 for a gray stream: :data:`edge_rppg.frames.color.MSTMAP_CHANNELS`).

    Parameters
    ----------
    x: the array.
    T: if given, the exact number of frames the consumer (a static-T model) needs.
    allow_nan: if False, NaN/inf raise ``ShapeError``; callers that mask invalid
        frames themselves may pass True.
    """
    expected = f"[{T if T is not None else 'T'}, {N_ROI_COMBOS}, {channels}] float32"
    if not isinstance(x, np.ndarray):
        raise ShapeError(f"MSTmap must be a numpy array of shape {expected}, got {type(x).__name__}")
    if x.ndim != 3 or x.shape[1:] != (N_ROI_COMBOS, channels):
        raise ShapeError(f"MSTmap has shape {tuple(x.shape)}; expected {expected}")
    if T is not None and x.shape[0] != T:
        raise ShapeError(f"MSTmap has T={x.shape[0]} frames; this model needs exactly {expected}")
    if x.dtype != np.float32:
        raise ShapeError(f"MSTmap dtype is {x.dtype}; expected {expected}")
    if not allow_nan and not np.isfinite(x).all():
        raise ShapeError("MSTmap contains NaN or inf values; mask invalid frames before inference")
    return x
