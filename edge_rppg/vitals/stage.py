"""The ``vitals`` stage: window pulses → the stream's reading (:class:`VitalsUpdate`).

Each window pulse is pushed into an :class:`~edge_rppg.vitals.stitch.OverlapAdd`, and the
reading of :func:`~edge_rppg.vitals.readings.stream_vitals` is taken once per window,
checked against the head motion and off-face light of the same seconds (the artefact gate
of :mod:`edge_rppg.vitals.validity`) and against the face's colour (does it change with the
pulse as blood's does: :mod:`edge_rppg.vitals.colour`) and against separate patches of skin
(does its HR show on several: :mod:`edge_rppg.vitals.regions`); other frames carry
the last reading. The stitching
and the reading are the same functions a whole file uses; this stage only holds the
stream state.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from typing import Deque, Dict, Optional, Tuple

import numpy as np

from ..face.stage import FaceObservation
from ..model_file import MODEL_FPS
from ..pulse.stage import PulseWindow
from ..skin.stage import SkinSample
from ..stage import Stage
from .dsp.config import SignalConfig
from .dsp.hrv import hrv_from_beats
from .readings import Vitals, stream_vitals
from .stitch import OverlapAdd
from ..skin.mstmap import SINGLE_ROI_ROWS, WHOLE_FACE_ROW
from .validity import ValidityConfig, artefact_series, on_grid

__all__ = ["VitalsUpdate", "VitalsStage"]

#: Most frames of artefact history kept (a hard cap on top of the time window).
_ART_MAX_FRAMES = 1 << 15
_NAN4 = (float("nan"),) * 4
_NAN3 = (float("nan"),) * 3
_N_ROIS = len(SINGLE_ROI_ROWS)
_ROI_ROWS = list(SINGLE_ROI_ROWS)   # an index list once, not per frame
_NAN_ROIS = (float("nan"),) * (3 * _N_ROIS)
#: Columns of the remembered frames: time, face box (4), whole-face R, G, B (3), the meta-ROIs'
#: own means (6 x 3: R, G, B of a colour stream; a gray stream's intensity, then two NaN),
#: then the off-face light (3 RGB or 1 gray).
_BOX, _COLOUR, _ROIS = slice(1, 5), slice(5, 8), slice(8, 8 + 3 * _N_ROIS)
_LIGHT = _ROIS.stop


def _invalid(vitals: Vitals, reason: str) -> Vitals:
    """``vitals`` marked invalid for ``reason``: no artefact named, no HRV or respiration."""
    return replace(vitals, valid=False, invalid_reason=reason, artefact=None, rf_valid=False,
                   hrv=hrv_from_beats(np.zeros(0)))


@dataclass(frozen=True)
class VitalsUpdate:
    """The stream's reading after one frame: ``vitals`` (the latest :class:`Vitals`, None
    before the first window) and ``updated`` (this frame's window produced it)."""

    vitals: Optional[Vitals]
    updated: bool = False


class VitalsStage(Stage):
    """Stitch window pulses into one signal and read HR, quality, HRV and RF from it:
    ``vitals(timestamp, face, skin, pulse) -> VitalsUpdate``.

    A reading is valid only at the end of a steady run of readings
    (``ValidityConfig.stream_min_run``). Keeps the last ``bvp_history_s`` seconds of pulse;
    the face box, whole-face colour, the meta-ROIs' own means and off-face light of
    the last ``window_s + 2`` seconds of frames (for the artefact, colour and region checks); and
    the samples that no reading may be built across (:meth:`distrust`: where the engine failed,
    where the clock jumped). :meth:`reset` (the processor calls it on every restart) starts a new
    signal.
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
        self._distrust: Dict[str, int] = {}   # reason -> latest grid sample no reading may span
        self._run = 0                         # consecutive readings that passed every rule and agree
        self._run_hr = float("nan")
        self.readings = 0

    def distrust(self, sample: int, reason: str) -> None:
        """No reading whose window spans grid sample ``sample`` is valid; it says ``reason``."""
        self._distrust[reason] = max(int(sample), self._distrust.get(reason, int(sample)))

    def _remember(self, t: float, face: FaceObservation, skin: SkinSample) -> None:
        """Keep this frame's time, face box, whole-face R, G, B, the meta-ROIs' own means and
        off-face light (the last ``window_s + 2`` s)."""
        box = face.box or _NAN4
        light = tuple(skin.light) if skin.light is not None else _NAN3
        row = skin.row
        colour = tuple(row[WHOLE_FACE_ROW, 0:3]) if row is not None and row.shape[-1] >= 3 else _NAN3
        rois = _NAN_ROIS
        if row is not None and row.shape[-1] >= 3:
            rois = tuple(row[_ROI_ROWS, 0:3].ravel())
        elif row is not None and row.shape[-1] == 1:
            rois = tuple(np.pad(row[_ROI_ROWS, 0:1], ((0, 0), (0, 2)), constant_values=np.nan).ravel())
        self._art.append((t, *box, *colour, *rois, *light))
        while self._art and self._art[0][0] < t - self.signal.window_s - 2.0:
            self._art.popleft()

    def _steady(self, vitals: Vitals) -> Vitals:
        """``vitals``, made invalid (``steady_run``) unless it ends a run of
        ``validity.stream_min_run`` consecutive readings that passed every other rule with
        neighbouring HRs within ``validity.run_step_bpm``."""
        if not vitals.valid or vitals.hr_bpm is None:
            self._run = 0
            return vitals
        agree = self._run > 0 and abs(vitals.hr_bpm - self._run_hr) <= self.validity.run_step_bpm
        self._run = self._run + 1 if agree else 1
        self._run_hr = vitals.hr_bpm
        return vitals if self._run >= self.validity.stream_min_run else _invalid(vitals, "steady_run")

    def _grid(self, t_end: float, n: int) -> np.ndarray:
        """The times of the last ``n`` grid samples, ending at ``t_end``."""
        return t_end - (n - 1 - np.arange(n)) / self.model_fps

    def _measures(self, t_end: float, n: int) -> Tuple[Optional[np.ndarray], Optional[np.ndarray],
                                                        Optional[np.ndarray]]:
        """The artefact series, whole-face R, G, B and the meta-ROIs' means (``[n, 6, 3]`` R, G, B
        of a colour stream, ``[n, 6]`` intensities of a gray one) of the last ``n`` grid samples
        (ending at ``t_end``), from one pass over the kept frames; each None when its check is
        off, with too few frames, or (colour, regions) when not measured throughout these
        seconds (a gray stream has no colour)."""
        if len(self._art) < 2:
            return None, None, None
        a = np.asarray(self._art, dtype=np.float64)
        grid = self._grid(t_end, n)

        def measured(cols: slice) -> Optional[np.ndarray]:
            m = on_grid(a[:, 0], a[:, cols], grid)
            return m if np.isfinite(m).all() else None

        def regions() -> Optional[np.ndarray]:
            m = on_grid(a[:, 0], a[:, _ROIS], grid).reshape(n, _N_ROIS, 3)
            if np.isfinite(m).all():
                return m
            gray = not np.isfinite(m[..., 1:]).any() and np.isfinite(m[..., 0]).all()
            return m[..., 0] if gray else None

        v = self.validity
        return (artefact_series(a[:, 0], a[:, _BOX], a[:, _LIGHT:], grid) if v.artefact_gate else None,
                measured(_COLOUR) if v.colour_gate else None,
                regions() if v.region_gate else None)

    def run(self, timestamp: float, face: FaceObservation, skin: SkinSample,  # type: ignore[override]
            pulse: Optional[PulseWindow]) -> VitalsUpdate:
        t = float(timestamp)
        self._remember(t, face, skin)
        if pulse is None:
            return VitalsUpdate(self._last)
        if pulse.error is not None:
            self.distrust(pulse.end, "engine_error")
        self.stitch.push(pulse.bvp, pulse.valid, pulse.end)
        x, v = self.stitch.signal()
        n = min(x.shape[0], max(int(round(self.signal.window_s * self.model_fps)), 2))
        artefacts, colour, regions = self._measures(t, n)
        vitals = stream_vitals(x, v, self.model_fps, self.signal, hrv=self.hrv, respiration=self.respiration,
                               artefacts=artefacts, colour=colour, regions=regions, validity=self.validity)
        spanned = [r for r, s in self._distrust.items() if pulse.end - s < n]   # inside these seconds
        if spanned:
            vitals = _invalid(vitals, spanned[0])
        vitals = self._steady(vitals)
        self._last = vitals
        self.readings += 1
        return VitalsUpdate(vitals, updated=True)
