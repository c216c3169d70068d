"""Read and write videos (and folders of image frames) as RGB uint8 frames.

rPPG signals are sub-pixel colour changes, so the writer defaults to *lossless* codecs
that ship with the opencv-contrib 4.11 wheels: HuffYUV (``HFYU``) in ``.avi`` (fast: ~2 ms
per 640x480 frame to decode), FFV1 in ``.mkv`` (smaller, ~7x slower to decode).  ``.mp4``
gets ``mp4v`` (lossy, with a warning).  A path with no suffix is written as a folder of
PNG frames.  All three lossless variants round-trip bit-exactly.

Readers never convert depth or channel count silently: image folders are read with
``IMREAD_UNCHANGED`` and only BGR→RGB is applied, so a 16-bit, grayscale or RGBA frame
reaches :func:`iter_frames_checked` as it is, which accepts it or raises
``FrameFormatError`` by the declared ``color_space`` (8/16-bit one-channel frames are a
gray stream's; a colour stream refuses them).
(OpenCV's video decoders always deliver 8-bit BGR; a grayscale video is detected from
its pixel format and yields 2-D frames, which are rejected the same way.)

Decoding overlaps analysis: a :class:`VideoReader` decodes (and converts to RGB) in a
background thread that fills a bounded queue of ``prefetch`` frames (default
:data:`DEFAULT_PREFETCH`), so on a multi-core device decode and the landmark/ROI work of
the consumer run at the same time (OpenCV releases the GIL while decoding).  Stopping
early (``break``, ``close()``, an exception in the consumer) stops and joins the thread;
an error raised while decoding is re-raised in the consumer at the frame where it
happened.  ``prefetch=0`` decodes in the caller's thread.
"""
from __future__ import annotations

import math
import os
import queue
import re
import threading
import warnings
from pathlib import Path
from typing import Callable, Iterable, Iterator, List, Optional, Tuple, Union

import cv2
import numpy as np

from ..errors import ConfigError, FrameFormatError, VideoReadError, VideoWriteError
from .validation import check_frame, check_frame_size

PathLike = Union[str, os.PathLike]

#: Image suffixes accepted in a frame folder (PURE stores PNG, others JPG/BMP).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm", ".pgm")
#: Default FOURCC per container suffix (lossless where possible).
DEFAULT_CODECS = {".avi": "HFYU", ".mkv": "FFV1", ".mp4": "mp4v"}
#: Default FOURCC per container suffix for 8-bit gray frames (both lossless and read back as
#: gray: GRAY8). 16-bit gray frames are written as a folder of 16-bit PNGs.
GRAY_CODECS = {".avi": "Y800", ".mkv": "FFV1"}
_LOSSY = {"mp4v", "MJPG", "XVID", "avc1", "H264"}
#: FFmpeg pixel formats (FOURCC bytes, as ``CAP_PROP_CODEC_PIXEL_FORMAT`` gives them) of gray videos.
GRAY_PIXEL_FORMATS = {b"Y800", b"GRAY", b"Y8  ", b"Y16 ", b"Y10 ", b"Y12 "}


def pixel_format(cap: cv2.VideoCapture) -> bytes:
    """The decoder's pixel format FOURCC of ``cap`` (empty when OpenCV does not say)."""
    code = cap.get(cv2.CAP_PROP_CODEC_PIXEL_FORMAT)
    return int(code).to_bytes(4, "little", signed=False) if code and code > 0 else b""
#: Frames decoded ahead of the consumer (bounded: ~7 MB of 640x480 RGB frames).
DEFAULT_PREFETCH = 8
_END = object()  # end-of-stream marker in the decode queue
#: Frame rates (Hz) accepted from a container header or from the user: outside this range
#: a rate is a corrupt header or a unit mistake, refused before anything is allocated.
FPS_RANGE: Tuple[float, float] = (1.0, 1000.0)


def check_fps(fps: object, what: str = "fps") -> float:
    """``fps`` as a float inside :data:`FPS_RANGE`, else ``ConfigError`` naming ``what``."""
    try:
        v = float(fps)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be a frame rate in Hz, got {fps!r}") from None
    if not FPS_RANGE[0] <= v <= FPS_RANGE[1]:
        raise ConfigError(f"{what} must be {FPS_RANGE[0]:g}..{FPS_RANGE[1]:g} frames per second, got {fps!r}")
    return v


def _avi_header_rate(path: Path) -> Optional[float]:
    """The video stream rate written in an AVI header (``strh`` rate/scale; 0.0 when the
    header gives none), or None when ``path`` is not a RIFF AVI. OpenCV reports 25 fps
    for an AVI whose header rate is 0 and times its frames at 40 ms, so the header is read here."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    if head[:4] != b"RIFF" or head[8:12] != b"AVI ":
        return None
    i = head.find(b"strh")
    while i >= 0 and head[i + 8:i + 12] != b"vids":
        i = head.find(b"strh", i + 4)
    if i < 0 or i + 36 > len(head):
        return 0.0
    scale, rate = np.frombuffer(head[i + 28:i + 36], dtype="<u4")
    return float(rate) / float(scale) if scale and rate else 0.0


def next_frame_time(pts_s: float, prev_s: Optional[float], fps: float) -> float:
    """The time (s) of a decoded frame: its container timestamp ``pts_s`` when that is
    finite and after the previous frame's ``prev_s`` (by less than 10 s), else one nominal
    frame interval ``1 / fps`` after ``prev_s`` (0 for the first frame without one)."""
    if prev_s is None:
        return pts_s if math.isfinite(pts_s) and 0.0 <= pts_s < 10.0 else 0.0
    if math.isfinite(pts_s) and prev_s < pts_s < prev_s + 10.0:
        return pts_s
    return prev_s + 1.0 / fps


class _DecodeError:
    """An exception raised in the decode thread, carried to the consumer."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class _DecodeThread:
    """Runs ``produce(put)`` in a daemon thread feeding a bounded queue.

    ``put(frame) -> bool`` blocks while the queue is full and returns ``False`` once
    :meth:`stop` was called, so the producer ends promptly; :meth:`stop` drains the queue
    and joins the thread (no thread outlives its reader).
    """

    def __init__(self, produce: Callable[[Callable[[object], bool]], None], size: int, name: str) -> None:
        self._queue: "queue.Queue[object]" = queue.Queue(maxsize=max(int(size), 1))
        self._stop = threading.Event()
        self._produce = produce
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            self._produce(self._put)
        except BaseException as exc:  # noqa: BLE001 - carried to the consumer, re-raised there
            self._put(_DecodeError(exc))
        self._put(_END)

    def get(self) -> object:
        """Next item: a frame, :data:`_END`, or a :class:`_DecodeError`."""
        while True:
            try:
                return self._queue.get(timeout=0.1)
            except queue.Empty:
                if not self.thread.is_alive() and self._queue.empty():
                    return _END

    def stop(self) -> None:
        """Ask the producer to stop, unblock it, and wait for it (idempotent)."""
        self._stop.set()
        while self.thread.is_alive():
            try:
                while True:
                    self._queue.get_nowait()
            except queue.Empty:
                pass
            self.thread.join(timeout=0.05)


class VideoReader:
    """Iterates the RGB uint8 frames of a video file or of a folder of images.

    Attributes: ``path``, ``fps`` (float, or ``None`` for an image folder opened without
    ``fps``), ``frame_count`` (int; container metadata for files, may be approximate),
    ``size`` ``(width, height)``.  Use as a context manager; iterate once.
    Errors at open time (missing path, not a video, zero frames) raise ``VideoReadError``.

    Time base: :meth:`iter_timed` yields ``(t_s, frame)``. A file opened without ``fps``
    times each frame by its own container timestamp (``CAP_PROP_POS_MSEC``, checked to
    increase; :func:`next_frame_time`), so a variable-frame-rate file is timed right; its
    header rate must lie in :data:`FPS_RANGE` (a missing or absurd one raises
    ``VideoReadError`` asking for ``fps=`` / ``--fps``). With ``fps`` given (required for
    an image folder) frame ``i`` is at ``i / fps``.
    """

    def __init__(self, path: PathLike, fps: Optional[float] = None, prefetch: int = DEFAULT_PREFETCH) -> None:
        if prefetch < 0:
            raise ValueError(f"prefetch must be >= 0 frames, got {prefetch}")
        fps = None if fps is None else check_fps(fps)
        self.path = Path(path)
        self.prefetch = int(prefetch)
        self._decoder: Optional[_DecodeThread] = None
        self._cap: Optional[cv2.VideoCapture] = None
        self._files: List[Path] = []
        self._first: Optional[np.ndarray] = None
        self._first_pts = math.nan
        self._pts = False
        self._gray = False
        if not self.path.exists():
            raise VideoReadError(f"video not found: {self.path}")
        if self.path.is_dir():
            self._open_folder(fps)
        else:
            self._open_file(fps)

    # -- opening ---------------------------------------------------------------------
    def _open_folder(self, fps: Optional[float]) -> None:
        self._files = sorted((p for p in self.path.iterdir()
                              if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES), key=_natural_key)
        if not self._files:
            raise VideoReadError(f"image folder has no frames ({'/'.join(IMAGE_SUFFIXES)}): {self.path}")
        self._first = _read_image(self._files[0])
        self.fps = check_fps(fps) if fps is not None else None
        self._pts = False
        self.frame_count = len(self._files)
        self.size = (int(self._first.shape[1]), int(self._first.shape[0]))

    def _open_file(self, fps: Optional[float]) -> None:
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            cap.release()
            raise VideoReadError(f"not a readable video (OpenCV/FFmpeg cannot open it): {self.path}")
        try:  # the container's declared frame size, bounded before the first frame is decoded
            check_frame_size(int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
                             what=f"video {self.path}: frame")
        except FrameFormatError:
            cap.release()
            raise
        ok, bgr = cap.read()
        if not ok or bgr is None:
            cap.release()
            raise VideoReadError(f"video has zero decodable frames: {self.path}")
        self._gray = pixel_format(cap) in GRAY_PIXEL_FORMATS
        self._cap = cap
        self._first = self._convert(bgr)
        container_fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        header = _avi_header_rate(self.path)
        self._pts = fps is None
        self._first_pts = float(cap.get(cv2.CAP_PROP_POS_MSEC)) / 1e3
        if fps is not None:
            self.fps = check_fps(fps)
        elif header == 0.0 or not FPS_RANGE[0] <= container_fps <= FPS_RANGE[1]:
            cap.release()
            self._cap = None
            given = "none" if header == 0.0 else f"{container_fps:g} fps"
            raise VideoReadError(f"{self.path}: the container gives no usable frame rate ({given}; expected "
                                 f"{FPS_RANGE[0]:g}..{FPS_RANGE[1]:g}); pass the real one with fps= (CLI: --fps)")
        else:
            self.fps = container_fps
        self.frame_count = max(int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0), 1)
        self.size = (int(bgr.shape[1]), int(bgr.shape[0]))

    def _convert(self, bgr: np.ndarray) -> np.ndarray:
        if self._gray and bgr.ndim == 3:
            return np.ascontiguousarray(bgr[..., 0])  # report what the file holds: gray
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    # -- iteration -------------------------------------------------------------------
    def _decoded(self) -> Iterator[Tuple[float, np.ndarray]]:
        """``(pts_s, frame)`` after the first, decoded in the calling thread (``pts_s`` NaN
        where the frame has no container timestamp)."""
        if self._files:
            for p in self._files[1:]:
                yield math.nan, _read_image(p)
            return
        cap = self._cap
        while cap is not None:
            ok, bgr = cap.read()
            if not ok or bgr is None:
                break
            yield float(cap.get(cv2.CAP_PROP_POS_MSEC)) / 1e3, self._convert(bgr)

    def _produce(self, put: Callable[[object], bool]) -> None:
        for frame in self._decoded():
            if not put(frame):
                return

    def __iter__(self) -> Iterator[np.ndarray]:
        for _, frame in self._raw():
            yield frame

    def _raw(self) -> Iterator[Tuple[float, np.ndarray]]:
        if self._first is None:
            raise VideoReadError(f"video already iterated or closed: {self.path}")
        first, self._first = self._first, None
        yield (self._first_pts if self._pts else math.nan), first
        if self.prefetch == 0:
            yield from self._decoded()
            return
        self._decoder = decoder = _DecodeThread(self._produce, self.prefetch, f"decode:{self.path.name}")
        try:
            while True:
                item = decoder.get()
                if item is _END:
                    return
                if isinstance(item, _DecodeError):
                    raise item.exc
                yield item  # type: ignore[misc]
        finally:
            decoder.stop()

    def iter_timed(self) -> Iterator[Tuple[float, np.ndarray]]:
        """``(t_s, frame)`` for every frame: container timestamps for a file opened
        without ``fps`` (see the class docstring), else ``i / fps``."""
        if self.fps is None:
            raise ConfigError(f"{self.path}: an image folder has no frame rate; pass fps= (CLI: --fps)")
        prev: Optional[float] = None
        for i, (pts, frame) in enumerate(self._raw()):
            prev = next_frame_time(pts, prev, self.fps) if self._pts else i / self.fps
            yield prev, frame

    def __len__(self) -> int:
        return self.frame_count

    def close(self) -> None:
        """Stop the decode thread and release the decoder (idempotent)."""
        if self._decoder is not None:
            self._decoder.stop()
            self._decoder = None
        if self._cap is not None:
            self._cap.release()
            self._cap = None
        self._first = None

    def __enter__(self) -> "VideoReader":
        return self

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"VideoReader({str(self.path)!r}, fps={self.fps}, frames={self.frame_count}, size={self.size})"


def _natural_key(path: Path) -> List[object]:
    """Sort key that orders ``img2.png`` before ``img10.png`` (digit runs compared as numbers)."""
    return [(0, int(tok), "") if tok.isdigit() else (1, 0, tok) for tok in re.split(r"(\d+)", path.name)]


#: Bytes per pixel of a Pillow image mode once OpenCV decodes it (IMREAD_UNCHANGED: palette → BGR,
#: 16-bit kept); unknown modes count as 16-bit RGBA (8), the most OpenCV gives.
_MODE_BYTES = {"1": 1, "L": 1, "P": 3, "PA": 4, "LA": 2, "RGB": 3, "RGBA": 4, "RGBX": 4, "CMYK": 4,
               "YCbCr": 3, "LAB": 3, "HSV": 3, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2, "I": 4, "F": 4}


def check_image_header(path: Path) -> None:
    """Read only the header of an image file (Pillow's lazy ``Image.open``: no pixel is decoded)
    and refuse a declared size that :func:`~edge_rppg.frames.validation.check_frame_size` refuses, so a
    small file declaring 30000x30000 never reaches the decoder. A header Pillow cannot parse is
    left to OpenCV (which reports an unreadable frame)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                (w, h), mode = img.size, img.mode
                rawmode = str(img.tile[0][3]) if img.tile and len(img.tile[0]) > 3 else ""
    except Image.DecompressionBombError as exc:  # Pillow's own limit (> 179 Mpx): too large for us too
        raise FrameFormatError(f"image frame {path} is too large: {exc}") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return
    deep = 2 if "16" in rawmode and "16" not in mode else 1  # a 16-bit RGB PNG opens as Pillow "RGB"
    check_frame_size(w, h, _MODE_BYTES.get(mode, 8), deep, what=f"image frame {path}")


def _read_image(path: Path) -> np.ndarray:
    """Read one image unchanged (depth and channels kept); BGR(A) → RGB(A) only. Its header is
    checked first (:func:`check_image_header`): a size too large to decode raises ``FrameFormatError``."""
    check_image_header(path)
    data = np.fromfile(str(path), dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None:
        raise VideoReadError(f"not a readable image frame: {path}")
    if img.ndim == 3 and img.shape[2] == 3:
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    if img.ndim == 3 and img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
    return img


def open_video(path: PathLike, fps: Optional[float] = None, prefetch: int = DEFAULT_PREFETCH) -> VideoReader:
    """Open a video file or a folder of image frames for reading RGB uint8 frames.

    ``fps`` overrides the container's frame rate (and is the only source of one for an
    image folder).  ``prefetch``: frames decoded ahead in a background thread (bounded
    queue; 0 = decode in the caller's thread).  Raises ``VideoReadError`` (one line naming
    the file) when the path is missing, is not a video, or has zero frames.
    """
    return VideoReader(path, fps=fps, prefetch=prefetch)


def iter_frames_checked(frames: Iterable[object], color_space: str = "rgb") -> Iterator[np.ndarray]:
    """Yield frames after :func:`edge_rppg.frames.validation.check_frame` for ``color_space``:
    for colour anything that is not an ``HxWx3`` uint8 array (None, grayscale, RGBA, 16-bit,
    float) raises ``FrameFormatError``; for ``"gray"`` anything but ``HxW``/``HxWx1`` uint8 or
    uint16; and so does a frame whose size differs from the first one."""
    size: Optional[Tuple[int, ...]] = None
    for i, frame in enumerate(frames):
        f = check_frame(frame, color_space)
        if size is None:
            size = f.shape
        elif f.shape != size:
            raise FrameFormatError(f"frame {i} has shape {f.shape}; expected {size} like the first frame")
        yield f


def write_video(path: PathLike, frames_rgb: Iterable[np.ndarray], fps: float,
                codec: Optional[str] = None, color_space: str = "rgb") -> int:
    """Write frames to ``path`` and return how many were written.

    Colour (``color_space`` ``"rgb"``): RGB uint8 frames; the codec is chosen from the suffix
    (:data:`DEFAULT_CODECS`: lossless HuffYUV for ``.avi``, FFV1 for ``.mkv``; lossy ``mp4v``
    for ``.mp4`` warns) unless ``codec`` (a FOURCC) is given. Gray (``"gray"``): ``HxW``
    uint8 frames go to a GRAY8 video (:data:`GRAY_CODECS`), uint16 frames only to a folder of
    16-bit PNGs (no container here keeps 16 bits: another target is a ``FrameFormatError``).
    A path without suffix becomes a folder of ``frame_000000.png``.
    Frames are validated with ``check_frame``; zero frames raise ``VideoWriteError``.
    """
    path = Path(path)
    if not fps > 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    gray = color_space == "gray"
    frames = iter_frames_checked(frames_rgb, "gray" if gray else "rgb")
    to_bgr: Callable[[np.ndarray], np.ndarray] = (lambda f: f) if gray else \
        (lambda f: cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    if path.suffix == "":
        path.mkdir(parents=True, exist_ok=True)
        n = 0
        for n, f in enumerate(frames, start=1):
            if not cv2.imwrite(str(path / f"frame_{n - 1:06d}.png"), to_bgr(f)):
                raise VideoWriteError(f"cannot write PNG frame into {path}")
        if n == 0:
            raise VideoWriteError(f"no frames to write to {path}")
        return n
    fourcc = codec or (GRAY_CODECS if gray else DEFAULT_CODECS).get(path.suffix.lower())
    if fourcc is None:
        raise ValueError(f"unsupported video suffix {path.suffix!r} for {path}; "
                         f"use one of {sorted(GRAY_CODECS if gray else DEFAULT_CODECS)} or pass codec=")
    if fourcc in _LOSSY:
        warnings.warn(f"writing {path} with lossy codec {fourcc}: sub-pixel rPPG signals may be damaged",
                      stacklevel=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer: Optional[cv2.VideoWriter] = None
    n = 0
    try:
        for f in frames:
            if f.dtype != np.uint8:
                raise FrameFormatError(f"{path}: 16-bit gray frames can only be written as 16-bit PNG frames "
                                       f"(a path without suffix); a video container here holds 8 bits")
            if writer is None:
                h, w = f.shape[:2]
                writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), float(fps), (w, h),
                                         isColor=not gray)
                if not writer.isOpened():
                    raise VideoWriteError(f"OpenCV cannot open a {fourcc} writer for {path}")
            writer.write(to_bgr(f))
            n += 1
    finally:
        if writer is not None:
            writer.release()
    if n == 0:
        raise VideoWriteError(f"no frames to write to {path}")
    return n
