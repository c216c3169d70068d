"""Exception types of the SDK.

Every error a user can cause (bad file, bad frame, no face, corrupt model) has its own
type, so that the API raises something specific and the CLI can print one line and
exit with code 2.  All of them derive from :class:`EdgeRPPGError`; the CLI turns only
those (and ``OSError``) into one-line errors, so anything else is a bug and shows its
traceback.  Two generic kinds double as the builtin they refine, so ``except KeyError`` /
``except ValueError`` keep working: :class:`UnknownNameError` (a name not in a registry)
and :class:`ConfigError` (a setting out of range).
"""
from __future__ import annotations


class EdgeRPPGError(Exception):
    """Base class of every error the SDK raises on purpose."""


class UnknownNameError(EdgeRPPGError, KeyError):
    """A name (engine, method, backend, sink, source scheme, preset...) that is not registered.

    The message lists the known names. ``str()`` is the plain message (not ``KeyError``'s
    quoted repr), so it prints as one readable line."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown name"


class ConfigError(EdgeRPPGError, ValueError):
    """A configuration value outside what it may be (negative rate, bad colour order...)."""


class UnavailableError(EdgeRPPGError, RuntimeError):
    """A registered component (a GPU ROI backend, say) that cannot work on this machine."""


class VideoReadError(EdgeRPPGError):
    """A video file is missing, unreadable, not a video, or has zero frames."""


class VideoWriteError(EdgeRPPGError, OSError):
    """A video or frame folder could not be written (codec, permissions, no frames)."""


class FrameFormatError(EdgeRPPGError, ValueError):
    """A frame is None, not uint8, not HxWx3 (grayscale, 4-channel, 16-bit...)."""


class ColorSpaceError(EdgeRPPGError, ValueError):
    """Input in another colour space than the stream, model or engine takes (a 1-channel frame
    on an RGB stream, an RGB-only engine on a gray stream, a mono model fed RGB, ...)."""


class FrameColorSpaceError(ColorSpaceError, FrameFormatError):
    """A frame whose channels or depth contradict the declared ``color_space`` (it is also a
    :class:`FrameFormatError`, so a stream counts it as a dropped frame)."""


class NoFaceError(EdgeRPPGError):
    """No face was found in any frame of the input."""


class ClipTooShortError(EdgeRPPGError):
    """The input has fewer usable frames than one analysis window needs."""


class ShapeError(EdgeRPPGError, ValueError):
    """An array (MSTmap, BVP, ...) has the wrong shape, dtype or contains NaN/inf."""


class ModelFileError(EdgeRPPGError):
    """A model, checkpoint, ONNX or engine file is missing, corrupt, truncated or
    was made for another config, version, GPU or TensorRT release."""


class DatasetError(EdgeRPPGError):
    """A dataset folder does not match the on-disk layout its reader expects."""


class SourceError(EdgeRPPGError):
    """A camera/stream source could not be opened or ended with an error."""


class MissingExtraError(EdgeRPPGError, ImportError):
    """An optional dependency is not installed; the message names the ``pip install "edge-rppg[extra]"``
    that provides it. Also an ``ImportError``, so code that falls back on a missing module keeps working."""
