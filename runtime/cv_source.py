"""Frames through OpenCV ``cv2.VideoCapture``: the fallback when PyGObject is missing."""
from __future__ import annotations

import time
from typing import Any, Iterator, Optional, Tuple

from .source_base import DEFAULT_SOURCE_FPS, FrameTs, Source

__all__ = ["CvSource"]


class CvSource(Source):
    """Frames through ``cv2.VideoCapture`` (the fallback without PyGObject).

    Files get ``n / fps`` timestamps and end with ``"eos"``; live targets (cameras,
    RTSP) get monotonic-clock timestamps, and a failed read ends with ``"error: ..."``
    and ``failed=True`` (camera unplugged), so :class:`ReconnectingSource` can retry.
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

    def frames(self) -> Iterator[FrameTs]:
        import cv2

        cap = cv2.VideoCapture(self.target, self.api) if self.api is not None else cv2.VideoCapture(self.target)
        try:
            if not cap.isOpened():
                self._end(f"error: OpenCV cannot open {self.name}", failed=True)
                return
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
                frame = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) if bgr.ndim == 3 and bgr.shape[2] == 3 else bgr
                yield frame, ts
        finally:
            cap.release()
