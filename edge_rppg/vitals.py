"""Pulse → vital signs, once for every path: files, streams, training, export, calibration.

Engines turn MSTmap windows into window pulses; this module owns everything after that:

- :func:`standardise` and :class:`OverlapAdd`: each window pulse is standardised and
  overlap-added with a Hann taper. :meth:`OverlapAdd.push` is the streaming form (bounded
  history); :func:`infer_clip` is the batch form over a whole clip and pushes its windows
  through the same object, so the two stitch bit-identically.
- :func:`window_hr`: the HR of one pulse window (band-pass + Welch peak + spectral-SNR
  quality, :func:`edge_rppg.dsp.hr.hr_from_psd`); ``training/evaluate.py``,
  ``export/equivalence.py`` and ``calibration/report.py`` call it.
- :func:`stream_vitals`: the reading of a stream after a new window (HR of the last
  ``window_s`` seconds, validity from SNR and face coverage, HRV, respiration).
- :func:`clip_vitals`: a whole clip (HR per analysis window, clip HR as the mean of the
  valid window HRs that agree, HRV, respiration).
- Validity (:mod:`edge_rppg.validity`): a window HR whose peak coincides with the head
  motion or the off-face light is invalid (the artefact gate); a clip is valid only when
  enough of its windows are valid and agree; HRV and respiration carry their own validity.

Both return the same typed :class:`Vitals`, which :class:`edge_rppg.estimate.Estimate` and
the streaming :class:`edge_rppg.results.VitalsResult` carry.
"""
from __future__ import annotations

import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Deque, List, Optional, Tuple

import numpy as np

from .dsp.config import SignalConfig
from .dsp.filters import bandpass
from .dsp.hr import HRReading, WindowHR, hr_from_psd, windowed_hr
from .dsp.hrv import HRV, hrv_from_beats
from .dsp.peaks import detect_beats
from .dsp.respiration import respiration_rate_hz
from .engines.base import Engine
from .errors import ClipTooShortError
from .model_file import MODEL_FPS
from .validity import ValidityConfig, artefact_match, clip_rule, persistent_windows, respiration_valid

__all__ = ["Vitals", "VitalsView", "standardise", "hann_taper", "OverlapAdd", "infer_clip", "clip_workers", "window_hr", "stream_vitals",
           "clip_vitals", "finite_or_none", "readonly"]


@dataclass(frozen=True)
class Vitals:
    """Vital signs derived from one pulse signal (a clip, or a stream up to now).

    hr_bpm: heart rate (None when nothing valid could be measured). quality: spectral SNR
    (dB) behind it. valid: it passed the quality, face-coverage and artefact checks (and,
    for a clip, the clip rule of :mod:`edge_rppg.validity`). hrv: an
    :class:`~edge_rppg.dsp.hrv.HRV` (``hrv.valid`` False until ~30 s of clean beats, and
    always without a valid HR). rf_hz: respiration rate or None; rf_valid: it passed
    :func:`edge_rppg.validity.respiration_valid` (a valid HR, enough pulse, a clear
    respiratory peak). artefact: the head-motion or light measure
    (:data:`edge_rppg.validity.ARTEFACT_NAMES`) that explained the HR peak of the latest
    stream reading, or of most rejected clip windows (None: no artefact matched).
    bvp: band-passed pulse (float32, read-only) at ``bvp_fs`` Hz.
    """

    hr_bpm: Optional[float]
    quality: Optional[float]
    valid: bool
    hrv: HRV
    rf_hz: Optional[float]
    bvp: np.ndarray
    bvp_fs: float
    rf_valid: bool = False
    artefact: Optional[str] = None


_EMPTY = np.zeros(0, dtype=np.float32)
_EMPTY.setflags(write=False)


def _reading(name: str, missing: Any, doc: str) -> Any:
    """A read-only property returning ``self.vitals.<name>``, or ``missing`` before the first reading."""
    def get(self: "VitalsView") -> Any:
        return missing if self.vitals is None else getattr(self.vitals, name)

    return property(get, doc=doc)


class VitalsView:
    """The fields of a result's ``vitals`` (:class:`Vitals` or None: no reading yet) read
    through the result itself, so a clip :class:`~edge_rppg.estimate.Estimate` and a stream
    :class:`~edge_rppg.results.VitalsResult` answer ``hr_bpm``, ``quality``, ``valid``,
    ``rf_hz``, ``rf_valid``, ``bvp`` and ``bvp_fs`` the same way."""

    vitals: Optional[Vitals]
    hr_bpm: Optional[float] = _reading(
        "hr_bpm", None, "Heart rate (bpm): the clip's mean of valid windows, or the stream's latest window.")
    quality: Optional[float] = _reading("quality", None, "Spectral SNR (dB) behind ``hr_bpm``.")
    valid: bool = _reading("valid", False, "The HR passed the quality, face-coverage and artefact checks (a clip: "
                                           "and the clip rule, :func:`edge_rppg.validity.clip_rule`).")
    rf_hz: Optional[float] = _reading("rf_hz", None, "Respiration rate (Hz) or None.")
    rf_valid: bool = _reading("rf_valid", False, "The respiration rate passed its own validity check "
                                                 "(:func:`edge_rppg.validity.respiration_valid`).")
    bvp: np.ndarray = _reading("bvp", _EMPTY, "Band-passed pulse at ``bvp_fs`` Hz (read-only; empty before the "
                                            "first reading).")
    bvp_fs: float = _reading("bvp_fs", MODEL_FPS, "Rate of :attr:`bvp` (the model rate).")


def finite_or_none(v: Optional[float]) -> Optional[float]:
    """``float(v)`` when it is a finite number, else None (NaN readings are "no value")."""
    return float(v) if v is not None and np.isfinite(v) else None


def readonly(a: np.ndarray) -> np.ndarray:
    """``a`` marked read-only (results share arrays without copying them)."""
    a.setflags(write=False)
    return a


def standardise(x: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance (a flat signal is only centred): windows of different
    brightness and engines of different output scale stitch together evenly."""
    x = x - x.mean()
    sd = x.std()
    return x / sd if sd > 1e-12 else x


def hann_taper(T: int) -> np.ndarray:
    """The ``T``-sample Hann taper without its zero end points (every sample weighs > 0)."""
    return np.hanning(T + 2)[1:-1]


class OverlapAdd:
    """Hann-tapered overlap-add of standardised window pulses into one signal.

    :meth:`push` adds a window ``y [T]`` that ends at grid sample ``end``; samples that no
    later window can reach (before the newest window's start) move into the history
    (``history`` samples at most; None keeps all). :meth:`signal` is the history plus the
    pending overlap, each sample divided by its summed taper weight. Validity per sample
    follows the newest window covering it.
    """

    def __init__(self, history: Optional[int] = None) -> None:
        self.history = history
        self.reset()

    def reset(self) -> None:
        """Forget everything (a new stream)."""
        self._hist: Deque[float] = deque(maxlen=self.history)
        self._hist_valid: Deque[bool] = deque(maxlen=self.history)
        self._acc: Optional[np.ndarray] = None
        self._wacc = np.zeros(0)
        self._acc_valid = np.zeros(0, dtype=bool)
        self._acc_start = 0

    @property
    def empty(self) -> bool:
        """No window pushed since the last reset."""
        return self._acc is None

    def push(self, y: np.ndarray, valid: np.ndarray, end: int) -> None:
        """Add window pulse ``y [T]`` (validity ``valid [T]``) covering samples ``[end - T, end)``."""
        T = int(y.shape[0])
        start = int(end) - T
        taper = hann_taper(T)
        if self._acc is None or self._acc.shape[0] != T:
            self._acc, self._wacc = np.zeros(T), np.zeros(T)
            self._acc_valid = np.ones(T, dtype=bool)
            self._acc_start = start
        shift = start - self._acc_start
        if shift > 0:
            k = min(shift, T)
            done = self._acc[:k] / np.maximum(self._wacc[:k], 1e-12)
            self._hist.extend(done.tolist())
            self._hist_valid.extend(self._acc_valid[:k].tolist())
            self._acc = np.concatenate([self._acc[k:], np.zeros(k)])
            self._wacc = np.concatenate([self._wacc[k:], np.zeros(k)])
            self._acc_valid = np.concatenate([self._acc_valid[k:], np.ones(k, dtype=bool)])
            self._acc_start = start
        self._acc += standardise(np.asarray(y, dtype=np.float64)) * taper
        self._wacc += taper
        self._acc_valid = np.asarray(valid, dtype=bool).copy()

    def signal(self) -> Tuple[np.ndarray, np.ndarray]:
        """``(pulse float64, valid bool)``: history plus the pending overlap (bounded by ``history``)."""
        if self._acc is None:
            return np.zeros(0), np.zeros(0, dtype=bool)
        tail = self._acc / np.maximum(self._wacc, 1e-12)
        x = np.concatenate([np.fromiter(self._hist, dtype=np.float64, count=len(self._hist)), tail])
        v = np.concatenate([np.fromiter(self._hist_valid, dtype=bool, count=len(self._hist_valid)),
                            self._acc_valid])
        if self.history is not None:
            return x[-self.history:], v[-self.history:]
        return x, v


#: Default hop of :func:`infer_clip`, as a fraction of the engine window: every sample is
#: covered by four windows, whose overlap-add averages out the model's per-window errors
#: (a live stream with ``hop_s`` = 1 s already covers each sample ~5 times). Measured with
#: ``bench/bench_realistic.py --seeds 12`` on the model then shipped (stage 1 of the current
#: one): all-pulse MAE 3.93 → 3.92 bpm and lower in 9 of 10 pulse conditions than with half
#: a window (e.g. sodium lamps 0.25 → 0.22, still 0.07 → 0.06); an eighth gave nothing
#: more. It doubles the engine calls of a file.
CLIP_HOP_FRACTION = 0.25


def clip_workers(engine: Engine) -> int:
    """Threads :func:`infer_clip` runs ``engine``'s windows on: up to :data:`MAX_CLIP_WORKERS`
    (the usable CPUs) when ``engine.info.concurrent``, else 1. In a file run the windows are
    inferred after the last frame is decoded, so the other cores are idle by then."""
    if not getattr(engine.info, "concurrent", False):
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(MAX_CLIP_WORKERS, cpus))


#: Most threads :func:`clip_workers` gives a concurrent engine.
MAX_CLIP_WORKERS = 4


def infer_clip(engine: Engine, mstmap: np.ndarray, hop: Optional[int] = None,
               workers: Optional[int] = None) -> np.ndarray:
    """BVP ``[N]`` float32 for an MSTmap ``[N, 63, 6]`` of any length ``N >= engine.info.T``.

    Engines without a fixed T see the whole clip at once. Fixed-T engines see windows every
    ``hop`` samples (default :data:`CLIP_HOP_FRACTION` of a window, the last one aligned to
    the end), stitched by :class:`OverlapAdd`; ``workers`` threads infer them (default
    :func:`clip_workers`; each window's output does not depend on which thread ran it, and
    they are stitched in order). Raises :class:`ClipTooShortError` when the clip is shorter
    than one engine window.
    """
    n = int(mstmap.shape[0])
    T = engine.info.T
    if T is None:
        return np.asarray(engine.infer(mstmap), dtype=np.float32)
    if n < T:
        raise ClipTooShortError(f"clip has {n} frames but the {engine.info.name} engine needs windows of T={T}")
    hop = max(1, int(hop or round(T * CLIP_HOP_FRACTION)))
    starts = list(range(0, n - T + 1, hop))
    if starts[-1] != n - T:
        starts.append(n - T)
    stitch = OverlapAdd()
    ones = np.ones(T, dtype=bool)
    n_workers = clip_workers(engine) if workers is None else max(1, int(workers))
    if n_workers > 1 and len(starts) > 1:
        with ThreadPoolExecutor(max_workers=min(n_workers, len(starts)), thread_name_prefix="infer_clip") as pool:
            outs = list(pool.map(lambda s: engine.infer(mstmap[s:s + T]), starts))
    else:
        outs = [engine.infer(mstmap[s:s + T]) for s in starts]
    for s, y in zip(starts, outs):
        stitch.push(np.asarray(y, dtype=np.float64), ones, s + T)
    return stitch.signal()[0].astype(np.float32)


def window_hr(bvp: np.ndarray, fs: float = MODEL_FPS, cfg: Optional[SignalConfig] = None) -> HRReading:
    """HR of one pulse window: band-pass, Welch PSD, interpolated in-band peak, SNR quality,
    validity (:func:`edge_rppg.dsp.hr.hr_from_psd`; NaN fields when nothing is measurable)."""
    return hr_from_psd(np.asarray(bvp, dtype=np.float64), fs, cfg or SignalConfig())


def _beat_vitals(raw: np.ndarray, filtered: np.ndarray, fs: float, hr: Optional[float], hrv: bool,
                 respiration: bool, hr_valid: bool = True, validity: Optional[ValidityConfig] = None
                 ) -> Tuple[HRV, Optional[float], bool]:
    """HRV from the beats of the band-passed pulse, RF from the raw pulse's modulation, and
    whether the RF is valid. Without a valid HR the HRV is the invalid (empty) one: beats
    of a pulse nobody vouches for are not heartbeats."""
    beats = detect_beats(filtered, fs, hr_hint_bpm=hr) if (hrv or respiration) else np.zeros(0)
    h = hrv_from_beats(beats) if hrv and hr_valid else hrv_from_beats(np.zeros(0))
    if not respiration:
        return h, None, False
    rf_raw, rf_snr = respiration_rate_hz(raw, fs, beats=beats)
    rf = finite_or_none(rf_raw)
    ok = respiration_valid(rf, rf_snr, hr_valid, raw.shape[0] / fs, validity or ValidityConfig())
    return h, rf, ok


def stream_vitals(x: np.ndarray, valid: np.ndarray, fs: float, cfg: SignalConfig, *, hrv: bool = True,
                  respiration: bool = True, artefacts: Optional[np.ndarray] = None,
                  validity: Optional[ValidityConfig] = None) -> Vitals:
    """The reading of a stream whose stitched pulse so far is ``x`` (validity ``valid``).

    The whole pulse is band-passed; the HR is :func:`window_hr` of its last
    ``cfg.window_s`` seconds, valid when the SNR passes, at least
    ``cfg.min_valid_fraction`` of those samples had a real face, and no artefact measure
    of the same seconds (``artefacts [n, 6]``, :func:`edge_rppg.validity.artefact_series`,
    aligned to the end of ``x``) explains its peak (:func:`edge_rppg.validity.artefact_match`);
    HRV and RF (only once there is an HR) come from the whole pulse, each with its own validity.
    """
    vcfg = validity or ValidityConfig()
    filtered = bandpass(x, fs, cfg.band_hz, cfg.order)
    n_win = min(x.shape[0], max(int(round(cfg.window_s * fs)), 2))
    reading = window_hr(filtered[-n_win:], fs, cfg)
    hr = finite_or_none(reading.hr_bpm)
    coverage = float(valid[-n_win:].mean()) if n_win else 0.0
    ok = bool(reading.valid and hr is not None and coverage >= cfg.min_valid_fraction)
    artefact = None
    if ok and artefacts is not None:
        artefact = artefact_match(np.asarray(artefacts)[-n_win:], reading.peak_hz, fs, cfg, vcfg)
        ok = artefact is None
    if hr is not None:
        h, rf, rf_ok = _beat_vitals(x, filtered, fs, hr, hrv, respiration, ok, vcfg)
    else:
        h, rf, rf_ok = hrv_from_beats(np.zeros(0)), None, False
    return Vitals(hr_bpm=hr, quality=finite_or_none(reading.quality), valid=ok, hrv=h, rf_hz=rf,
                  bvp=readonly(filtered.astype(np.float32)), bvp_fs=float(fs), rf_valid=rf_ok, artefact=artefact)


def _gate_windows(windows: List[WindowHR], artefacts: Optional[np.ndarray], fs: float, cfg: SignalConfig,
                  vcfg: ValidityConfig) -> Tuple[List[WindowHR], List[str]]:
    """``windows`` with every valid one whose HR peak an artefact explains marked invalid,
    and the names of the artefacts that did (:func:`edge_rppg.validity.artefact_match`)."""
    if artefacts is None or not vcfg.artefact_gate:
        return windows, []
    out, hits = [], []
    for w in windows:
        if w.valid:
            s = int(round(w.t_start * fs))
            name = artefact_match(artefacts[s:s + int(round((w.t_end - w.t_start) * fs))], w.hr_bpm / 60.0,
                                  fs, cfg, vcfg)
            if name is not None:
                hits.append(name)
                w = replace(w, valid=False)
        out.append(w)
    return out, hits


def clip_vitals(bvp: np.ndarray, fs: float, valid: np.ndarray, cfg: SignalConfig, *,
                artefacts: Optional[np.ndarray] = None,
                validity: Optional[ValidityConfig] = None) -> Tuple[Vitals, List[WindowHR]]:
    """A whole clip's vitals and its analysis windows.

    The pulse is band-passed once; each ``cfg.window_s`` window every ``cfg.hop_s`` gets an
    HR with quality and validity (:func:`edge_rppg.dsp.hr.windowed_hr`), then loses its
    validity when an artefact measure (``artefacts [N, 6]`` on the pulse's grid,
    :func:`edge_rppg.validity.artefact_series`) explains its HR peak, or when it is not
    part of a steady run (:func:`edge_rppg.validity.persistent_windows`). The clip follows
    :func:`edge_rppg.validity.clip_rule`: valid only when at least half of its windows are
    valid and agree (within ``agree_bpm`` of their median; two at least once there are two
    windows); its HR is the mean of the agreeing window HRs (None when none is valid), its
    quality the mean of their SNRs. HRV and respiration carry their own validity.
    """
    vcfg = validity or ValidityConfig()
    filtered = bandpass(bvp, fs, cfg.band_hz, cfg.order)
    windows = windowed_hr(filtered, fs, cfg, valid_mask=valid)
    windows, hits = _gate_windows(windows, artefacts, fs, cfg, vcfg)
    keep = persistent_windows([w.t_start for w in windows], [w.t_end for w in windows],
                              [w.hr_bpm for w in windows], [w.valid for w in windows], vcfg)
    windows = [w if k or not w.valid else replace(w, valid=False) for w, k in zip(windows, keep)]
    hr, ok = clip_rule([w.hr_bpm for w in windows], [w.valid for w in windows], vcfg)
    h, rf, rf_ok = _beat_vitals(bvp, filtered, fs, hr, True, True, ok, vcfg)
    q = [w.quality for w in windows if w.valid and np.isfinite(w.quality)]
    artefact = max(sorted(set(hits)), key=hits.count) if hits else None
    vitals = Vitals(hr_bpm=hr, quality=float(np.mean(q)) if q else None, valid=ok, hrv=h, rf_hz=rf,
                    bvp=readonly(filtered.astype(np.float32)), bvp_fs=float(fs), rf_valid=rf_ok, artefact=artefact)
    return vitals, windows
