"""Pulse → vital signs, once for every path: files, streams, training, export, calibration.

- :func:`window_hr`: the HR of one pulse window (band-pass + Welch peak + spectral-SNR
  quality, :func:`edge_rppg.vitals.dsp.hr.hr_from_psd`); ``training/evaluate.py``,
  ``export/equivalence.py`` and ``calibration/report.py`` call it.
- :func:`stream_vitals`: the reading of a stream after a new window (HR of the last
  ``window_s`` seconds, validity from SNR and face coverage, HRV, respiration).
- :func:`clip_vitals`: a whole clip (HR per analysis window, clip HR as the mean of the
  valid window HRs that agree, HRV, respiration).
- Validity (:mod:`edge_rppg.vitals.validity`): a window HR whose peak coincides with the
  head motion or the off-face light is invalid (the artefact gate); a clip is valid only
  when enough of its windows are valid and agree; HRV and respiration carry their own
  validity. A reading that is not valid says why (:attr:`Vitals.invalid_reason`).

Both return the same typed :class:`Vitals`, which a clip's
:class:`~edge_rppg.processor.clip.Estimate` and the stream's
:class:`~edge_rppg.processor.results.VitalsResult` carry.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, List, Optional, Tuple

import numpy as np

from ..model_file import MODEL_FPS
from .dsp.config import SignalConfig
from .dsp.filters import bandpass
from .dsp.hr import HRReading, WindowHR, hr_from_psd, reading_fault, windowed_hr
from .dsp.hrv import HRV, hrv_from_beats
from .dsp.peaks import detect_beats
from .dsp.respiration import respiration_rate_hz
from .validity import (ValidityConfig, artefact_match, clip_rule, colour_match, persistent_windows, region_match,
                       respiration_valid)

__all__ = ["Vitals", "VitalsView", "INVALID_REASONS", "window_hr", "stream_vitals", "clip_vitals",
           "finite_or_none", "readonly"]

#: Why a reading is not valid (:attr:`Vitals.invalid_reason`):
#: ``no_peak`` — no measurable HR in the band; ``low_quality`` — the spectral SNR is below
#: ``SignalConfig.min_snr_db``; ``coverage`` — too few samples of the window had a real face
#: (``SignalConfig.min_coverage``); ``artefact`` — head motion or off-face light explains the
#: peak (:attr:`Vitals.artefact` names which); ``engine_error`` — the engine's output for a
#: window of these seconds was unusable (NaN, inf); ``timestamp_jump`` — the stream's clock jumped
#: forward within these seconds by more than the frames it dropped explain
#: (:mod:`edge_rppg.frames.clock`); ``pulse_colour`` — the face's colour change that moves with
#: the pulse is not blood's (:func:`edge_rppg.vitals.validity.colour_match`); ``pulse_regions`` — the HR
#: does not show on enough separate patches of skin
#: (:func:`edge_rppg.vitals.validity.region_match`); ``clip_rule`` — too few clip windows
#: are valid and agree (:func:`edge_rppg.vitals.validity.clip_rule`); ``steady_run`` — a clip
#: window is not part of a steady run of valid windows
#: (:func:`edge_rppg.vitals.validity.persistent_windows`), or a stream reading does not end a run of
#: ``ValidityConfig.stream_min_run`` readings that pass and agree.
INVALID_REASONS = ("no_peak", "low_quality", "coverage", "artefact", "pulse_colour", "pulse_regions",
                   "engine_error", "timestamp_jump", "steady_run", "clip_rule")


@dataclass(frozen=True)
class Vitals:
    """Vital signs derived from one pulse signal (a clip, or a stream up to now).

    hr_bpm: heart rate (None when nothing valid could be measured). quality: spectral SNR
    (dB) behind it. valid: it passed the quality, face-coverage and artefact checks (and,
    for a clip, the clip rule of :mod:`edge_rppg.vitals.validity`). hrv: an
    :class:`~edge_rppg.vitals.dsp.hrv.HRV` (``hrv.valid`` False until ~30 s of clean beats, and
    always without a valid HR). rf_hz: respiration rate or None; rf_valid: it passed
    :func:`edge_rppg.vitals.validity.respiration_valid` (a valid HR, enough pulse, a clear
    respiratory peak). artefact: the head-motion or light measure
    (:data:`edge_rppg.vitals.validity.ARTEFACT_NAMES`) that explained the HR peak of the latest
    stream reading, or of most rejected clip windows (None: no artefact matched).
    invalid_reason: None when ``valid``, else one of :data:`INVALID_REASONS`.
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
    invalid_reason: Optional[str] = None


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
    :class:`~edge_rppg.processor.results.VitalsResult` answer ``hr_bpm``, ``quality``, ``valid``,
    ``rf_hz``, ``rf_valid``, ``bvp`` and ``bvp_fs`` the same way."""

    vitals: Optional[Vitals]
    hr_bpm: Optional[float] = _reading(
        "hr_bpm", None, "Heart rate (bpm): the clip's mean of valid windows, or the stream's latest window.")
    quality: Optional[float] = _reading("quality", None, "Spectral SNR (dB) behind ``hr_bpm``.")
    valid: bool = _reading("valid", False, "The HR passed the quality, face-coverage and artefact checks (a clip: "
                                           "and the clip rule, :func:`edge_rppg.vitals.validity.clip_rule`).")
    rf_hz: Optional[float] = _reading("rf_hz", None, "Respiration rate (Hz) or None.")
    rf_valid: bool = _reading("rf_valid", False, "The respiration rate passed its own validity check "
                                                 "(:func:`edge_rppg.vitals.validity.respiration_valid`).")
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


def window_hr(bvp: np.ndarray, fs: float = MODEL_FPS, cfg: Optional[SignalConfig] = None) -> HRReading:
    """HR of one pulse window: band-pass, Welch PSD, interpolated in-band peak, SNR quality,
    validity (:func:`edge_rppg.vitals.dsp.hr.hr_from_psd`; NaN fields when nothing is measurable)."""
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
                  colour: Optional[np.ndarray] = None, regions: Optional[np.ndarray] = None,
                  validity: Optional[ValidityConfig] = None) -> Vitals:
    """The reading of a stream whose stitched pulse so far is ``x`` (validity ``valid``).

    The whole pulse is band-passed; the HR is :func:`window_hr` of its last
    ``cfg.window_s`` seconds, valid when the SNR passes, at least
    ``cfg.min_coverage`` of those samples had a real face, and no artefact measure
    of the same seconds (``artefacts [n, 6]``, :func:`edge_rppg.vitals.validity.artefact_series`,
    aligned to the end of ``x``) explains its peak (:func:`edge_rppg.vitals.validity.artefact_match`),
    and the face's colour (``colour [n, 3]`` raw R, G, B means on the same grid, aligned to the
    end of ``x``; None: not checked) changes with the pulse as blood's does
    (:func:`edge_rppg.vitals.validity.colour_match`), and its HR shows on
    enough separate skin regions (``regions`` the meta-ROIs' raw means on the same grid, aligned
    to the end of ``x``: ``[n, 6]`` intensities of a gray stream, ``[n, 6, 3]`` R, G, B of a colour
    one; None: not checked;
    :func:`edge_rppg.vitals.validity.region_match`); HRV and RF (only once there is an HR) come
    from the whole pulse, each with its own validity.
    """
    vcfg = validity or ValidityConfig()
    filtered = bandpass(x, fs, cfg.band_hz, cfg.order)
    n_win = min(x.shape[0], max(int(round(cfg.window_s * fs)), 2))
    reading = window_hr(filtered[-n_win:], fs, cfg)
    hr = finite_or_none(reading.hr_bpm)
    coverage = float(valid[-n_win:].mean()) if n_win else 0.0
    fault = "no_peak" if hr is None else "coverage" if coverage < cfg.min_coverage else reading_fault(reading)
    artefact = None
    if fault is None and artefacts is not None:
        artefact = artefact_match(np.asarray(artefacts)[-n_win:], reading.peak_hz, fs, cfg, vcfg)
        fault = None if artefact is None else "artefact"
    if fault is None and colour is not None:
        fault = colour_match(np.asarray(colour)[-n_win:], filtered[-n_win:], reading.peak_hz, fs, cfg, vcfg)
    if fault is None and regions is not None:
        fault = region_match(np.asarray(regions)[-n_win:], reading.peak_hz, fs, cfg, vcfg)
    ok = fault is None
    if hr is not None:
        h, rf, rf_ok = _beat_vitals(x, filtered, fs, hr, hrv, respiration, ok, vcfg)
    else:
        h, rf, rf_ok = hrv_from_beats(np.zeros(0)), None, False
    return Vitals(hr_bpm=hr, quality=finite_or_none(reading.quality), valid=ok, hrv=h, rf_hz=rf,
                  bvp=readonly(filtered.astype(np.float32)), bvp_fs=float(fs), rf_valid=rf_ok, artefact=artefact,
                  invalid_reason=fault)


#: A per-window check of a measured series against the window's pulse: ``(series, filtered
#: pulse, f0_hz, fs, cfg, vcfg) -> invalid reason (or the artefact's name) or None`` (the
#: artefact, colour and region checks).
WindowCheck = Callable[[np.ndarray, np.ndarray, float, float, SignalConfig, ValidityConfig], Optional[str]]


def _check_windows(windows: List[WindowHR], series: Optional[np.ndarray], filtered: np.ndarray, fs: float,
                   cfg: SignalConfig, vcfg: ValidityConfig, check: WindowCheck,
                   reason: Optional[str] = None) -> Tuple[List[WindowHR], List[str]]:
    """``windows`` with every valid one that ``check`` rejects on its samples of ``series``
    (on the pulse's grid; None: nothing checked) marked invalid with ``reason`` (None: the
    reason ``check`` gives), and what ``check`` said of each window it rejected."""
    if series is None:
        return windows, []
    out, said = [], []
    for w in windows:
        if w.valid:
            s = int(round(w.t_start * fs))
            e = s + int(round((w.t_end - w.t_start) * fs))
            verdict = check(series[s:e], filtered[s:e], w.hr_bpm / 60.0, fs, cfg, vcfg)
            if verdict is not None:
                said.append(verdict)
                w = replace(w, valid=False, invalid_reason=reason or verdict)
        out.append(w)
    return out, said


def _series_only(match: Callable[[np.ndarray, float, float, SignalConfig, ValidityConfig], Optional[str]]
                 ) -> WindowCheck:
    """A check that reads only the measured series and the HR (:func:`~edge_rppg.vitals.validity.artefact_match`,
    :func:`~edge_rppg.vitals.validity.region_match`) as a :data:`WindowCheck`."""
    return lambda series, _pulse, f0_hz, fs, cfg, vcfg: match(series, f0_hz, fs, cfg, vcfg)


def clip_vitals(bvp: np.ndarray, fs: float, valid: np.ndarray, cfg: SignalConfig, *,
                artefacts: Optional[np.ndarray] = None, colour: Optional[np.ndarray] = None,
                regions: Optional[np.ndarray] = None,
                validity: Optional[ValidityConfig] = None) -> Tuple[Vitals, List[WindowHR]]:
    """A whole clip's vitals and its analysis windows.

    The pulse is band-passed once; each ``cfg.window_s`` window every ``cfg.hop_s`` gets an
    HR with quality and validity (:func:`edge_rppg.vitals.dsp.hr.windowed_hr`), then loses its
    validity when an artefact measure (``artefacts [N, 6]`` on the pulse's grid,
    :func:`edge_rppg.vitals.validity.artefact_series`) explains its HR peak, when the face's
    colour (``colour [N, 3]`` raw R, G, B means on the pulse's grid) does not change with it as
    blood's does (:func:`edge_rppg.vitals.validity.colour_match`), when its HR does
    not show on enough separate skin regions (``regions``, the meta-ROIs' raw means on the pulse's
    grid, ``[N, 6]`` gray or ``[N, 6, 3]`` colour: :func:`edge_rppg.vitals.validity.region_match`), or when it is not
    part of a steady run (:func:`edge_rppg.vitals.validity.persistent_windows`). The clip follows
    :func:`edge_rppg.vitals.validity.clip_rule`: valid only when at least half of its windows are
    valid and agree (within ``agree_bpm`` of their median; two at least once there are two
    windows); its HR is the mean of the agreeing window HRs (None when none is valid), its
    quality the mean of their SNRs. HRV and respiration carry their own validity.
    """
    vcfg = validity or ValidityConfig()
    filtered = bandpass(bvp, fs, cfg.band_hz, cfg.order)
    windows = windowed_hr(filtered, fs, cfg, valid_mask=valid)
    windows, hits = _check_windows(windows, artefacts, filtered, fs, cfg, vcfg, _series_only(artefact_match),
                                   reason="artefact")
    windows, _ = _check_windows(windows, colour, filtered, fs, cfg, vcfg, colour_match)
    windows, _ = _check_windows(windows, regions, filtered, fs, cfg, vcfg, _series_only(region_match))
    keep = persistent_windows([w.t_start for w in windows], [w.t_end for w in windows],
                              [w.hr_bpm for w in windows], [w.valid for w in windows], vcfg)
    windows = [w if k or not w.valid else replace(w, valid=False, invalid_reason="steady_run")
               for w, k in zip(windows, keep)]
    hr, ok = clip_rule([w.hr_bpm for w in windows], [w.valid for w in windows], vcfg)
    h, rf, rf_ok = _beat_vitals(bvp, filtered, fs, hr, True, True, ok, vcfg)
    q = [w.quality for w in windows if w.valid and np.isfinite(w.quality)]
    artefact = max(sorted(set(hits)), key=hits.count) if hits else None
    vitals = Vitals(hr_bpm=hr, quality=float(np.mean(q)) if q else None, valid=ok, hrv=h, rf_hz=rf,
                    bvp=readonly(filtered.astype(np.float32)), bvp_fs=float(fs), rf_valid=rf_ok, artefact=artefact,
                    invalid_reason=None if ok else "clip_rule")
    return vitals, windows
