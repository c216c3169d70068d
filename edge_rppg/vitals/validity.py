"""When a heart rate may be called valid: the artefact gate and the clip rule.

A spectral SNR says a pulse window has one strong periodic component; it cannot say
whether that component is blood. A head that nods, a lamp passing, a screen that glows
at 1.1 Hz make skin colour change as periodically as a pulse does. The processor already
measures both causes off the skin: the face box trajectory (``landmarks``) and the mean
colour of the frame outside the face box (``roi``, :func:`edge_rppg.skin.light.off_face_light`).

- :func:`artefact_series`: those per-frame measures on the model-rate grid: face centre
  x, y and size (in face heights) and the log of the off-face R, G, B light.
- :func:`artefact_match`: a window's HR peak ``f0`` is an artefact when a series whose
  in-band movement is above its floor (``motion_floor`` face heights,
  ``light_floor`` relative light, RMS after the pulse band-pass) puts at least
  ``coincide_frac`` of its in-band power within ``snr_halfwidth_hz`` of ``f0`` or of
  ``f0 / 2`` (a nod seen at its harmonic). Such a window is invalid, whatever its SNR.
- :func:`colour_match`: a window's pulse must move the face's colour the way blood does
  (darker, led by green: :mod:`edge_rppg.vitals.colour`); a pulse whose colour change has a
  cosine with blood's under ``colour_min_cos``, or under ``colour_min_chroma_cos`` once the
  intensity axis is removed, is invalid (``pulse_colour``), whatever its SNR.
- :func:`region_match`: a window's HR must show on separate patches of skin: at least
  ``region_min_count`` of the six meta-ROIs (read one by one: a gray stream's intensity, a
  colour stream's own POS pulse of each ROI) must have their own strongest in-band peak within
  ``region_tol_bpm`` of it, and their mean share of in-band power near it must reach
  ``region_min_share`` (gray) or ``region_min_share_colour`` (:mod:`edge_rppg.vitals.regions`:
  blood reaches all of the face at one rate; a glint, a moving shadow edge, the sway of a still
  head against the ROI edges or a noise peak mostly one patch), else it is invalid
  (``pulse_regions``). For one channel (a near-infrared camera), which has no colour to check,
  it is the only check of what the pulse is; in colour it backs the colour check up.
- :func:`persistent_windows`: a heart rate does not appear for a second or two. A clip
  window stays valid only inside a run of consecutive valid windows whose neighbouring
  HRs differ by at most ``run_step_bpm`` (6 bpm) and which spans at least ``min_run_s``
  (14 s; the whole clip when it is shorter): isolated noise peaks that just pass the SNR
  threshold are not readings.
- :func:`clip_rule`: a clip is valid only when at least ``clip_valid_fraction`` (50 %)
  of its analysis windows are valid *and* agree: their HRs lie within ``agree_bpm``
  (10 bpm) of the median valid HR, and there are at least two of them whenever the clip
  has two windows or more (one lucky window never makes a clip valid). The clip HR is the
  mean of the agreeing window HRs.
- :func:`respiration_valid`: respiration is reported valid only next to a valid HR,
  over at least ``rf_min_s`` seconds, with a fused-spectrum SNR of ``rf_min_snr_db``.

:class:`ValidityConfig` holds the thresholds (``artefact_gate=False`` turns the gate
off, ``colour_gate=False`` the colour check, ``region_gate=False`` the region
check and ``min_run_s=0`` the steady-run rule, to
measure what they cost).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..config import Config, Range
from .colour import pulse_colour
from .regions import REGION_RES_BPM, replicating_regions
from .dsp.config import SignalConfig
from .dsp.filters import bandpass
from .dsp.hr import psd

__all__ = ["ValidityConfig", "ARTEFACT_NAMES", "artefact_series", "on_grid", "artefact_match", "colour_match",
           "region_match", "persistent_windows", "clip_rule", "respiration_valid"]

#: Column names of :func:`artefact_series` (motion first, then light: R, G, B of a colour
#: stream, or the intensity ``light_i`` of a gray one; the columns a stream cannot measure are NaN).
ARTEFACT_NAMES: Tuple[str, ...] = ("motion_x", "motion_y", "motion_scale", "light_r", "light_g", "light_b",
                                   "light_i")
_N_MOTION = 3
#: Light channels → the artefact columns they fill (colour: light_r/g/b; gray: light_i).
LIGHT_COLUMNS: Dict[int, Tuple[int, ...]] = {3: (3, 4, 5), 1: (6,)}


@dataclass
class ValidityConfig(Config):
    """Thresholds of the artefact gate and of the clip and respiration rules (module docstring).

    artefact_gate: compare each HR with head motion and off-face light (False: SNR and
        face coverage only, the behaviour before the gate).
    motion_floor: in-band RMS (face heights) below which head motion is ignored.
    light_floor: in-band RMS of the log off-face light (≈ relative change) below which
        light changes are ignored.
    coincide_frac: share of an artefact's in-band power near ``f0`` (or ``f0 / 2``) that
        makes the HR an artefact.
    min_run_s, run_step_bpm: a clip window is valid only inside a run of valid windows
        spanning ``min_run_s`` seconds (the whole clip when shorter) whose neighbouring
        HRs differ by at most ``run_step_bpm``.
    stream_min_run: a stream reading is valid only when this many consecutive readings
        (one every ``engine_hop_s``), this one included, pass every other rule with
        neighbouring HRs within ``run_step_bpm`` (1: each reading on its own). A noise peak
        that clears every check once, in one window, is not a reading.
    clip_valid_fraction: share of a clip's windows that must be valid and agree.
    agree_bpm: how far a valid window HR may lie from the median valid HR and still agree.
    rf_min_snr_db, rf_min_s: respiration is valid only with this fused-spectrum SNR over
        at least this many seconds of pulse (and a valid HR).
    colour_gate: check that each window's pulse changes the face's colour the way blood does
        (:mod:`edge_rppg.vitals.colour`; False: not checked).
    colour_min_cos, colour_min_chroma_cos: the least cosine of that colour change with
        blood's darkening, and with its chroma (the part off the intensity axis), for a
        valid window; colour_min_chroma_share: the least share of that change off the
        intensity axis (blood's is 0.31; shading's is 0); colour_halfwidth_hz: how near the heart rate (and its harmonic) the
        narrow fit looks (:func:`edge_rppg.vitals.colour.pulse_colour`).
        ``python bench/colour_signature.py`` shows both cosines on rendered clips with and
        without a pulse, every engine.
    region_gate: check that each window's HR shows on separate patches of skin
        (:mod:`edge_rppg.vitals.regions`; False: not checked).
    region_min_count, region_tol_bpm: how many of the six meta-ROIs must have their own
        strongest in-band peak within ``region_tol_bpm`` of the window's HR for it to be valid.
        region_min_share: the least mean share of the ROIs' in-band power within
        ``snr_halfwidth_hz`` of the HR. On rendered NIR clips (``python bench/bench_nir.py``, seeds
        170,000-170,005; windows that pass every other rule) the correct windows of the ``mono``
        engine had 2-6 such ROIs (one window had 1) and, with 2 or more, a mean share of 0.29 or
        more; those read > 5 bpm off had at most one such ROI, or two and a share of 0.24 or less.
        region_min_share_colour: the same floor for a colour stream, whose ROIs are read through
        their own POS pulse (a cleaner signal than one channel's intensity, so its shares run
        higher). On rendered clips (``python bench/region_check.py``: the realistic conditions with
        a pulse, seeds 70,000-70,002, every engine; windows that pass every other per-window rule)
        the correct windows mostly had 2-6 such ROIs and a share of 0.2-0.35 or more (p1-p5);
        with the floor at 0.22 the check made none of the 2,083 valid right windows invalid on
        the oldest stack and 26 on the newest (CHROM, ICA, LGI, OMIT, all under JPEG q30 with a
        weak pulse); the
        pulseless windows that cleared the SNR floor, the artefact and the colour checks (every
        ``synth`` preset, seeds 7,000+, and the issue's clips) reached at most 0.21.
    max_clock_jump_s: a live stream's timestamps that jump forward by more than this beyond
        the frame interval (and beyond the frames the caller said it dropped) may be a
        clock glitch, which shifts the pulse's phase: the readings whose window spans the
        jump are invalid (``timestamp_jump``). On 10 s windows of a noisy pulse at 50–120
        bpm, a phase jump of 0.10 s leaves the error under 3 bpm (95th percentile 2.3),
        0.15 s does not (15 % over 3 bpm): ``python bench/bench_clock_jump.py``.
    """

    artefact_gate: bool = True
    motion_floor: float = 0.004
    light_floor: float = 0.003
    coincide_frac: float = 0.3
    min_run_s: float = 14.0
    run_step_bpm: float = 6.0
    stream_min_run: int = 2
    clip_valid_fraction: float = 0.5
    agree_bpm: float = 10.0
    rf_min_snr_db: float = 3.0
    rf_min_s: float = 20.0
    max_clock_jump_s: float = 0.1
    colour_gate: bool = True
    colour_min_cos: float = 0.5
    colour_min_chroma_cos: float = 0.5
    colour_min_chroma_share: float = 0.1
    colour_halfwidth_hz: float = 0.3
    region_gate: bool = True
    region_min_count: int = 2
    region_tol_bpm: float = 3.0
    region_min_share: float = 0.25
    region_min_share_colour: float = 0.22

    #: What each threshold may be (one place: checked here and by the CLI flags).
    RANGES = {
        "motion_floor": Range(0.0, 1.0), "light_floor": Range(0.0, 1.0), "coincide_frac": Range(0.0, 1.0, low_open=True),
        "min_run_s": Range(0.0, 600.0, unit="s"), "run_step_bpm": Range(0.0, 200.0, low_open=True),
        "stream_min_run": Range(1, 100, integer=True),
        "clip_valid_fraction": Range(0.0, 1.0, low_open=True), "agree_bpm": Range(0.0, 200.0, low_open=True),
        "rf_min_snr_db": Range(-30.0, 30.0, unit="dB"), "rf_min_s": Range(0.0, 3600.0, low_open=True, unit="s"),
        "max_clock_jump_s": Range(0.0, 10.0, unit="s"),
        "colour_min_cos": Range(-1.0, 1.0), "colour_min_chroma_cos": Range(-1.0, 1.0),
        "colour_min_chroma_share": Range(0.0, 1.0), "colour_halfwidth_hz": Range(0.0, 3.0, low_open=True, unit="Hz"),
        "region_min_count": Range(1, 6, integer=True), "region_tol_bpm": Range(0.0, 60.0, low_open=True, unit="bpm"),
        "region_min_share": Range(0.0, 1.0), "region_min_share_colour": Range(0.0, 1.0),
    }

    def __post_init__(self) -> None:
        self.check_ranges()


def artefact_series(times_s: np.ndarray, boxes: Optional[np.ndarray], light: Optional[np.ndarray],
                    grid_s: np.ndarray) -> np.ndarray:
    """``[len(grid_s), 7]`` float64 artefact measures (:data:`ARTEFACT_NAMES`) at ``grid_s``.

    ``boxes [T, 4]`` face boxes (x0, y0, x1, y1; NaN without a face) and ``light [T, 3]``
    off-face mean RGB (``[T, 1]`` intensity of a gray stream, in ``light_i``) at frame times
    ``times_s [T]``, linearly interpolated onto the grid
    (frames without a measure are skipped; a column never measured is NaN). Motion is in
    median face heights, light is ``log`` (so a 1 % change is 0.01 whatever the exposure).
    """
    t = np.asarray(times_s, dtype=np.float64).ravel()
    g = np.asarray(grid_s, dtype=np.float64).ravel()
    out = np.full((g.size, len(ARTEFACT_NAMES)), np.nan)
    cols: List[Optional[np.ndarray]] = [None] * len(ARTEFACT_NAMES)
    if boxes is not None and len(boxes) == t.size:
        b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        h = b[:, 3] - b[:, 1]
        ok = np.isfinite(b).all(axis=1) & (h > 0)
        if ok.any():
            scale = float(np.median(h[ok]))
            cols[0] = 0.5 * (b[:, 0] + b[:, 2]) / scale
            cols[1] = 0.5 * (b[:, 1] + b[:, 3]) / scale
            cols[2] = np.sqrt(np.clip((b[:, 2] - b[:, 0]) * h, 0.0, None)) / scale
    if light is not None and len(light) == t.size:
        lg = np.asarray(light, dtype=np.float64).reshape(t.size, -1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ll = np.log(np.where(lg > 0.5, lg, np.nan))  # a black background carries no light measure
        for c, col in enumerate(LIGHT_COLUMNS.get(lg.shape[1], ())):
            cols[col] = ll[:, c]
    for c, v in enumerate(cols):
        if v is not None:
            out[:, c] = on_grid(t, v[:, None], g)[:, 0]
    return out


def on_grid(times_s: np.ndarray, values: np.ndarray, grid_s: np.ndarray) -> np.ndarray:
    """``values [T, k]`` measured at ``times_s [T]``, linearly interpolated onto ``grid_s``
    column by column (non-finite samples skipped; a column with fewer than two finite
    samples is NaN): ``[len(grid_s), k]`` float64."""
    t = np.asarray(times_s, dtype=np.float64).ravel()
    g = np.asarray(grid_s, dtype=np.float64).ravel()
    v = np.asarray(values, dtype=np.float64).reshape(t.size, -1)
    out = np.full((g.size, v.shape[1]), np.nan)
    for c in range(v.shape[1]):
        ok = np.isfinite(v[:, c])
        if ok.sum() >= 2:
            out[:, c] = np.interp(g, t[ok], v[ok, c])
    return out


def _peak_shares(x: np.ndarray, fs: float, f0: float, cfg: SignalConfig) -> Tuple[np.ndarray, np.ndarray]:
    """Per column of ``x [n, c]``: ``(in-band RMS, share of in-band power within
    ±snr_halfwidth of f0 or f0/2)``, all columns filtered and transformed in one call each."""
    y = bandpass(x - x.mean(axis=0), fs, cfg.band_hz, cfg.order, axis=0)
    rms = np.std(y, axis=0)
    f, p = psd(y, fs, nperseg=int(round(cfg.welch_seg_s * fs)), res_bpm=cfg.freq_res_bpm,
               overlap=cfg.welch_overlap, axis=0)
    band = (f >= cfg.band_hz[0]) & (f <= cfg.band_hz[1])
    total = p[band].sum(axis=0)
    hw = cfg.snr_halfwidth_hz
    near = np.max([p[band & (np.abs(f - fc) <= hw)].sum(axis=0) for fc in (f0, 0.5 * f0)], axis=0)
    share = np.where((total > 0) & (rms > 0), near / np.where(total > 0, total, 1.0), 0.0)
    return rms, share


def artefact_match(series: Optional[np.ndarray], f0_hz: float, fs: float, cfg: SignalConfig,
                   vcfg: ValidityConfig) -> Optional[str]:
    """The name of the artefact (:data:`ARTEFACT_NAMES`) whose spectrum explains a pulse
    peak at ``f0_hz`` in a window of artefact ``series [n, 7]`` at ``fs`` Hz, or None.

    A column counts when its in-band RMS reaches its floor (``motion_floor`` for motion,
    ``light_floor`` for light) and at least ``coincide_frac`` of its in-band power lies
    within ``cfg.snr_halfwidth_hz`` of ``f0_hz`` or of ``f0_hz / 2``. Columns with gaps
    (NaN) or a window too short for the band are skipped.
    """
    if series is None or not vcfg.artefact_gate or not math.isfinite(f0_hz):
        return None
    s = np.asarray(series, dtype=np.float64)
    if s.ndim != 2 or s.shape[0] < max(8, int(2 * fs / cfg.band_hz[0])):
        return None
    cols = [c for c in range(min(s.shape[1], len(ARTEFACT_NAMES))) if np.isfinite(s[:, c]).all()]
    if not cols:
        return None
    rms, share = _peak_shares(s[:, cols], fs, f0_hz, cfg)
    best: Optional[Tuple[float, str]] = None
    for j, c in enumerate(cols):
        floor = vcfg.motion_floor if c < _N_MOTION else vcfg.light_floor
        if rms[j] >= floor and share[j] >= vcfg.coincide_frac and (best is None or share[j] > best[0]):
            best = (float(share[j]), ARTEFACT_NAMES[c])
    return None if best is None else best[1]


def colour_match(colour: Optional[np.ndarray], pulse: np.ndarray, f0_hz: float, fs: float, cfg: SignalConfig,
                 vcfg: ValidityConfig) -> Optional[str]:
    """``"pulse_colour"`` when the colour change of the face's ``colour [n, 3]`` (raw R, G,
    B means) that moves with ``pulse [n]`` (the same window) at its heart rate ``f0_hz``
    is not blood's, else None.

    Blood's (:meth:`edge_rppg.vitals.colour.PulseColour.looks_like_blood`): its cosine with
    blood's darkening reaches ``vcfg.colour_min_cos``, its chroma's ``colour_min_chroma_cos``,
    and its chroma share ``colour_min_chroma_share``, in the fit near the heart rate or in
    the fit over the whole band (:func:`edge_rppg.vitals.colour.pulse_colour`). A window whose
    colour cannot be measured at all (no colour, gaps, too short, a flat pulse) is not judged
    here (None).
    """
    if colour is None or not vcfg.colour_gate:
        return None
    fits = pulse_colour(colour, pulse, fs, f0_hz, cfg.band_hz, vcfg.colour_halfwidth_hz, cfg.freq_res_bpm)
    if not any(math.isfinite(pc.cos) for pc in fits):
        return None
    floors = (vcfg.colour_min_cos, vcfg.colour_min_chroma_cos, vcfg.colour_min_chroma_share)
    return None if any(pc.looks_like_blood(*floors) for pc in fits) else "pulse_colour"


def region_match(regions: Optional[np.ndarray], f0_hz: float, fs: float, cfg: SignalConfig,
                 vcfg: ValidityConfig) -> Optional[str]:
    """``"pulse_regions"`` when fewer than ``vcfg.region_min_count`` of the skin regions
    ``regions`` (disjoint ROIs over one window, :func:`edge_rppg.skin.mstmap.roi_means`: raw mean
    intensities ``[n, k]`` of a gray stream, raw R, G, B means ``[n, k, 3]`` of a colour one) have
    their own strongest in-band peak within ``vcfg.region_tol_bpm`` of the window's HR ``f0_hz``,
    or when their mean share of in-band power within ``cfg.snr_halfwidth_hz`` of it is under
    ``vcfg.region_min_share`` (gray) or ``vcfg.region_min_share_colour`` (colour), else None
    (:func:`edge_rppg.vitals.regions.replicating_regions`, with ``cfg``'s band and Welch segment, on
    the :data:`~edge_rppg.vitals.regions.REGION_RES_BPM` grid).
    None (not judged) without regions, with the check off, or when fewer regions than
    ``region_min_count`` can be read at all (gaps, dark patches).
    """
    if regions is None or not vcfg.region_gate:
        return None
    sup = replicating_regions(regions, fs, f0_hz, vcfg.region_tol_bpm, cfg.band_hz, cfg.order, cfg.welch_seg_s,
                              REGION_RES_BPM, cfg.snr_halfwidth_hz)
    if sup.readable < vcfg.region_min_count:
        return None
    floor = vcfg.region_min_share_colour if np.ndim(regions) == 3 else vcfg.region_min_share
    ok = sup.near >= vcfg.region_min_count and sup.share >= floor
    return None if ok else "pulse_regions"


def persistent_windows(t_start: Sequence[float], t_end: Sequence[float], hrs: Sequence[float],
                       valid: Sequence[bool], vcfg: ValidityConfig) -> List[bool]:
    """Which windows stay valid: those inside a run of consecutive valid windows whose
    neighbouring HRs differ by at most ``run_step_bpm`` and whose span (first start to last
    end) reaches ``min_run_s``, or the whole clip's span when that is shorter."""
    n = len(hrs)
    out = [False] * n
    if n == 0:
        return out
    need = min(vcfg.min_run_s, float(t_end[-1]) - float(t_start[0])) - 1e-9
    i = 0
    while i < n:
        if not valid[i] or not math.isfinite(hrs[i]):
            i += 1
            continue
        j = i
        while j + 1 < n and valid[j + 1] and abs(hrs[j + 1] - hrs[j]) <= vcfg.run_step_bpm:
            j += 1
        if float(t_end[j]) - float(t_start[i]) >= need:
            out[i:j + 1] = [True] * (j + 1 - i)
        i = j + 1
    return out


def clip_rule(hrs: Sequence[float], valid: Sequence[bool], vcfg: ValidityConfig) -> Tuple[Optional[float], bool]:
    """``(clip HR, clip valid)`` from the analysis windows' HRs and validity (module docstring).

    The clip HR is the mean of the valid window HRs within ``agree_bpm`` of their median
    (None when no window is valid); it is valid when those agreeing windows are at least
    ``clip_valid_fraction`` of all windows and, for clips of two windows or more, at least two.
    """
    h = np.asarray(hrs, dtype=np.float64)
    ok = np.asarray(valid, dtype=bool) & np.isfinite(h)
    n = int(h.size)
    if not ok.any():
        return None, False
    med = float(np.median(h[ok]))
    agree = ok & (np.abs(h - med) <= vcfg.agree_bpm)
    k = int(agree.sum())
    need = max(math.ceil(vcfg.clip_valid_fraction * n - 1e-9), min(2, n))
    return float(np.mean(h[agree])), bool(k >= need)


def respiration_valid(rf_hz: Optional[float], rf_snr_db: float, hr_valid: bool, duration_s: float,
                      vcfg: ValidityConfig) -> bool:
    """Respiration is valid only next to a valid HR, over ``rf_min_s`` seconds or more, with a
    fused-spectrum SNR of at least ``rf_min_snr_db`` (a still photo has none of the three)."""
    return bool(rf_hz is not None and hr_valid and duration_s >= vcfg.rf_min_s
                and math.isfinite(rf_snr_db) and rf_snr_db >= vcfg.rf_min_snr_db)
