"""The back of the stream processor: each window through the engine, then the vitals.

- ``engine`` (:class:`EngineStage`): one raw ``[T, 63, 6]`` window → pulse ``[T]``;
- ``vitals`` (:class:`VitalsStage`): the window pulse pushed into an
  :class:`edge_rppg.vitals.OverlapAdd` and the reading of :func:`edge_rppg.vitals.stream_vitals`,
  once per hop, checked against the head motion and off-face light of the same seconds
  (the artefact gate of :mod:`edge_rppg.validity`); other frames carry the last reading.
"""
from __future__ import annotations

from collections import deque
from typing import Deque, Optional, Tuple

import numpy as np

from .dsp.config import SignalConfig
from .engines.base import Engine
from .errors import ModelFileError, ShapeError
from .model_file import MODEL_FPS
from .stage_base import Packet, Stage
from .validity import ValidityConfig, artefact_series
from .vitals import OverlapAdd, Vitals, stream_vitals

#: Most frames of artefact history kept (a hard cap on top of the time window).
_ART_MAX_FRAMES = 1 << 15
_NAN7 = (float("nan"),) * 7

__all__ = ["EngineStage", "VitalsStage"]


class EngineStage(Stage):
    """Run ``engine`` (any :class:`~edge_rppg.engines.base.Engine`: classic, ONNX Runtime,
    TensorRT, torch) on each complete window; :meth:`close` closes it when ``own``."""

    name = "engine"

    def __init__(self, engine: Engine, own: bool = True) -> None:
        super().__init__()
        self.engine = engine
        self._own = bool(own)

    @property
    def T(self) -> Optional[int]:
        """The engine's fixed window length (None: any length)."""
        return self.engine.info.T

    def process(self, packet: Packet) -> None:
        packet.bvp_window = None
        packet.engine_error = None
        if packet.window is None:
            return
        try:
            y = np.asarray(self.engine.infer(packet.window), dtype=np.float32).ravel()
        except ModelFileError as exc:  # the model's output is unusable (NaN/inf): a bad window, not a crash
            y, packet.engine_error = None, str(exc)
        if y is not None and y.shape[0] != packet.window.shape[0]:
            raise ShapeError(f"engine {self.engine.info.name} returned {y.shape[0]} samples "
                             f"for a window of {packet.window.shape[0]}")
        if y is not None and not np.all(np.isfinite(y)):
            y, packet.engine_error = None, f"engine {self.engine.info.name} returned non-finite samples"
        if y is None:  # the stitched pulse keeps its length; these samples are marked invalid
            y = np.zeros(packet.window.shape[0], dtype=np.float32)
            packet.window_valid = np.zeros(packet.window.shape[0], dtype=bool)
        packet.bvp_window = y

    def close(self) -> None:
        close = getattr(self.engine, "close", None) if self._own else None  # optional in the Engine protocol
        if callable(close):
            close()


class VitalsStage(Stage):
    """Stitch window pulses into one signal and read HR, quality, HRV and RF from it.

    The stitching and the reading are :mod:`edge_rppg.vitals` (the same functions as a
    whole file); this stage only holds the stream state: the last ``bvp_history_s`` seconds
    of pulse, the face box and off-face light of the last ``window_s + 2`` seconds of
    frames (for the artefact gate, ``validity``), and the latest
    :class:`~edge_rppg.vitals.Vitals`. A window reset upstream (``packet.reset_reason``)
    starts a new signal.
    """

    name = "vitals"

    def __init__(self, model_fps: float = MODEL_FPS, signal: Optional[SignalConfig] = None,
                 bvp_history_s: float = 60.0, hrv: bool = True, respiration: bool = True,
                 validity: Optional[ValidityConfig] = None) -> None:
        super().__init__()
        self.model_fps = float(model_fps)
        self.signal = signal or SignalConfig()
        self.validity = validity or ValidityConfig()
        self._art: Deque[Tuple[float, ...]] = deque(maxlen=_ART_MAX_FRAMES)
        self.hrv = bool(hrv)
        self.respiration = bool(respiration)
        self.stitch = OverlapAdd(history=max(int(round(bvp_history_s * self.model_fps)), 1))
        self.reset()

    def reset(self) -> None:
        self.stitch.reset()
        self._art.clear()
        self._last: Optional[Vitals] = None
        self.readings = 0

    def _remember(self, packet: Packet) -> None:
        """Keep this frame's time, face box and off-face light (the last ``window_s + 2`` s)."""
        if packet.skipped:
            return
        box = tuple(packet.face.box) if packet.face is not None else _NAN7[:4]
        light = tuple(packet.light) if packet.light is not None else _NAN7[:3]
        t = float(packet.timestamp)
        self._art.append((t, *box, *light))
        while self._art and self._art[0][0] < t - self.signal.window_s - 2.0:
            self._art.popleft()

    def _artefacts(self, t_end: float, n: int) -> Optional[np.ndarray]:
        """The artefact series of the last ``n`` grid samples (ending at ``t_end``), or None."""
        if not self.validity.artefact_gate or len(self._art) < 2:
            return None
        a = np.asarray(self._art, dtype=np.float64)
        grid = t_end - (n - 1 - np.arange(n)) / self.model_fps
        return artefact_series(a[:, 0], a[:, 1:5], a[:, 5:8], grid)

    def process(self, packet: Packet) -> None:
        if packet.reset_reason is not None:
            self.reset()
        packet.hr_updated = False
        self._remember(packet)
        if packet.bvp_window is not None:
            valid = packet.window_valid if packet.window_valid is not None else \
                np.ones(packet.bvp_window.shape[0], dtype=bool)
            self.stitch.push(packet.bvp_window, valid, packet.samples)
            x, v = self.stitch.signal()
            n = min(x.shape[0], max(int(round(self.signal.window_s * self.model_fps)), 2))
            self._last = stream_vitals(x, v, self.model_fps, self.signal, hrv=self.hrv,
                                       respiration=self.respiration,
                                       artefacts=self._artefacts(float(packet.timestamp), n),
                                       validity=self.validity)
            self.readings += 1
            packet.hr_updated = True
        packet.vitals = self._last
