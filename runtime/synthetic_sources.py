"""Sources without a camera: a moving test pattern (``test:`` without GStreamer) and a
looped synthetic face video with a known pulse (``synth:``, soak tests)."""
from __future__ import annotations

from typing import Iterator, List, Optional

import numpy as np

from edge_rppg.errors import ConfigError

from .source_base import DEFAULT_SOURCE_FPS, FrameTs, Source

__all__ = ["PatternSource", "SynthSource", "MAX_CLIP_BYTES"]

#: Largest looped clip a ``synth:`` source renders into memory (6 s of 640x480 at 30 fps is 166 MiB).
MAX_CLIP_BYTES = 1024 * 1024 * 1024


class PatternSource(Source):
    """A moving colour pattern without GStreamer (``test:`` fallback); contains no face."""

    def __init__(self, frames: int = 300, width: int = 640, height: int = 480, fps: float = DEFAULT_SOURCE_FPS,
                 live: bool = False) -> None:
        super().__init__()
        self.n, self.width, self.height, self.fps, self.live = int(frames), int(width), int(height), float(fps), live
        self.name = "test-pattern"

    def frames(self) -> Iterator[FrameTs]:
        x = np.arange(self.width, dtype=np.uint16)[None, :, None]
        y = np.arange(self.height, dtype=np.uint16)[:, None, None]
        base = (x + y + np.array([0, 85, 170], dtype=np.uint16)) % 256
        for i in range(self.n if self.n >= 0 else 1 << 62):
            if self._halted():
                return
            yield ((base + 3 * i) % 256).astype(np.uint8), i / self.fps
        self._end("eos")


class SynthSource(Source):
    """A synthetic face video (``edge_rppg.synth.video_gen``) rendered once into memory and
    looped: ``frames`` frames in total (-1: forever) with continuous ``n / fps``
    timestamps. Memory is the clip (``duration_s * fps`` frames), constant over time."""

    def __init__(self, frames: int = -1, duration_s: float = 6.0, width: int = 640, height: int = 480,
                 fps: float = DEFAULT_SOURCE_FPS, hr_bpm: float = 72.0, seed: int = 0, motion: str = "still",
                 live: bool = False) -> None:
        super().__init__()
        from edge_rppg.synth.video_gen import VideoSynthConfig

        self.cfg = VideoSynthConfig(duration_s=duration_s, fps=fps, width=width, height=height,
                                    hr_bpm=hr_bpm, motion=motion)
        self.n, self.seed, self.fps, self.live = int(frames), int(seed), float(fps), bool(live)
        clip_bytes = self.cfg.n_frames * self.cfg.width * self.cfg.height * 3
        if clip_bytes > MAX_CLIP_BYTES:  # one loop is rendered into memory
            raise ConfigError(f"a synth: source holds its clip in memory: {self.cfg.n_frames} frames of "
                              f"{self.cfg.width}x{self.cfg.height} are {clip_bytes / 2**20:.0f} MiB, more than "
                              f"{MAX_CLIP_BYTES // 2**20} MiB; use a shorter duration or smaller frames")
        self.name = f"synth({hr_bpm:g} bpm, {width}x{height})"
        self._clip: Optional[List[np.ndarray]] = None

    def clip(self) -> List[np.ndarray]:
        """The rendered frames of one loop (rendered on first use)."""
        if self._clip is None:
            from edge_rppg.synth.video_gen import render_frames

            self._clip = list(render_frames(self.cfg, self.seed))
        return self._clip

    def frames(self) -> Iterator[FrameTs]:
        clip = self.clip()
        i = 0
        while self.n < 0 or i < self.n:
            if self._halted():
                return
            yield clip[i % len(clip)], i / self.fps
            i += 1
        self._end("eos")
