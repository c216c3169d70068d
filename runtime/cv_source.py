"""Frames through OpenCV ``cv2.VideoCapture``: the fallback when PyGObject is missing."""
from __future__ import annotations

import os
import time
from typing import Any, Iterator, Optional, Tuple

from .source_base import DEFAULT_SOURCE_FPS, FrameTs, Source

__all__ = ["CvSource"]


class CvSource(Source):
    """Frames through ``cv2.VideoCapture`` (the fallback without PyGObject).

    Files get ``n / fps`` timestamps and end with ``"eos"``; live targets (cameras,
    RTSP) get monotonic-clock timestamps, and a failed read ends with ``"error: ..."``
    and ``failed=True`` (camera unplugged), so :class:`ReconnectingSource` can retry.
    Frames come as ``color_space`` says: RGB (OpenCV's BGR converted), BGR (as decoded), or
    gray: a gray file (GRAY8 pixel format) gives its one channel; a camera is opened without
    OpenCV's RGB conversion, so a Y8/Y16 camera gives its raw 8/16-bit frames.
    """

    def __init__(self, target: Any, *, live: bool = False, name: Optional[str] = None, api: Optional[int] = None,
                 fps: Optional[float] = None, size: Optional[Tuple[int, int]] = None) -> None:
        super().__init__()
        self.target = target
        self.live = bool(live)
        self.name = name or str(target)
        self.api = api
        self.fps = fps
        self.size = size

    def _why_not_open(self) -> str:
        """What a deployer can act on when ``VideoCapture`` did not open: a device node that
        does not exist, a camera index with no camera, or (streams, files) OpenCV's refusal."""
        target = self.target
        if isinstance(target, int):
            return f"no camera at index {target} (OpenCV cannot open it; is it plugged in, or used by another program?)"
        text = str(target)
        if text.startswith("/dev/"):
            if not os.path.exists(text):
                return f"no such device {text} (camera unplugged or another index?)"
            if not os.access(text, os.R_OK | os.W_OK):
                return f"no permission to open {text} (add the user to the 'video' group)"
            return f"OpenCV cannot open {text} (not a camera, or busy)"
        if "://" in text:
            return f"cannot connect to {text} (OpenCV/FFmpeg cannot open the stream: wrong address, refused or unreachable)"
        return f"OpenCV cannot open {text}"

    def frames(self) -> Iterator[FrameTs]:
        import cv2

        from edge_rppg.frames.video import GRAY_PIXEL_FORMATS, pixel_format

        cap = cv2.VideoCapture(self.target, self.api) if self.api is not None else cv2.VideoCapture(self.target)
        try:
            if not cap.isOpened():
                self._end(f"error: {self._why_not_open()}", failed=True)
                return
            gray = self.color_space == "gray"
            if gray:
                cap.set(cv2.CAP_PROP_CONVERT_RGB, 0)  # a V4L2 Y8/Y16 camera: raw 1-channel frames
                gray_file = pixel_format(cap) in GRAY_PIXEL_FORMATS
            if self.size is not None:
                cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.size[0])
                cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.size[1])
            rate = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
            self.fps = self.fps or (rate if 0 < rate < 1000 else DEFAULT_SOURCE_FPS)
            t0 = time.monotonic()
            n = 0
            while True:
                if self._halted():
                    return
                ok, bgr = cap.read()
                if not ok or bgr is None:
                    if self.live or n == 0:
                        self._end(f"error: cannot read a frame from {self.name}" +
                                  (" (camera unplugged?)" if self.live else ""), failed=True)
                    else:
                        self._end("eos")
                    return
                ts = time.monotonic() - t0 if self.live else n / self.fps
                n += 1
                colour = bgr.ndim == 3 and bgr.shape[2] == 3
                if gray:
                    frame = bgr[..., 0] if colour and gray_file else bgr  # a GRAY8 file decodes as BGR copies
                elif colour and self.color_space == "rgb":
                    frame = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                else:
                    frame = bgr
                yield frame, ts
        finally:
            cap.release()
