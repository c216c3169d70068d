"""Real-video benchmark: every real face clip with a contact PPG through the full pipeline.

Every clip folder under ``../shared/data/real/`` (a video, ``frames_timestamp.csv`` with
each frame's capture time and ``BVP.csv`` with the contact PPG on the same clock; see that
folder's README) goes through the product's own front end once — the default landmarker,
meta-ROIs, ROI averaging, MSTmap: the ``input → landmarks → roi`` stages of
``edge_rppg.estimate`` — and then through the clip back end
(:func:`edge_rppg.processor.clip.estimate_extraction`, what ``estimate`` runs after the front end)
for every engine side by side: the shipped Cluster-Phys model (ONNX), its INT8 file, and
every registered classic method (POS, CHROM, ...). A check runs ``edge_rppg.estimate`` on
the file itself for the default engine and confirms that its windows are the same.

The reference heart rate comes from the contact PPG here, not from the README: the PPG is
resampled to a uniform 20 Hz grid over the video's span, band-passed (2nd-order
Butterworth, 0.7–3.5 Hz, zero phase), and the HR of a span is the peak of its
Hann-windowed, zero-padded periodogram in that band. Each estimate window ``[t_start,
t_end)`` (seconds from the first frame) is mapped to the capture clock through the frames'
own timestamps, so the reference window covers the same frames.

Per clip and engine: clip HR and its error against the whole-clip reference, valid windows,
per-window error against each window's reference, window quality (spectral SNR, dB), and
why each invalid window is invalid (:func:`window_reasons`): ``face`` (too few frames with
a face), ``quality`` (SNR under ``SignalConfig.min_snr_db``), ``band edge`` (the peak is
the band's edge), ``artefact:<name>`` (the artefact gate: head motion or off-face light
explains the peak), ``steady run`` (valid alone, but not in a run of ``min_run_s``). The
estimate does not carry these reasons; they are re-derived from its windows and the
extraction with the validity module's own functions, and the derivation is checked
against the estimate's validity window by window. ``oop`` is the share of the whole-clip
pulse spectrum's in-band power at 80–100 bpm (out of the peak on this clip) and
``snr@ref`` the spectral SNR of the whole-clip pulse at the reference HR.

    python bench/bench_real.py                              # all clips, all engines, table to bench/RESULTS.md
    python bench/bench_real.py --plot out/bench_real --json out/bench_real/real.json
    python bench/bench_real.py --engines default,pos --no-record

The clips are validation data only: nothing here trains or sets a threshold.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from scipy import signal as sps

ROOT = Path(__file__).resolve().parents[1]
REAL_ROOT = ROOT.parent / "shared" / "data" / "real"
VIDEO_SUFFIXES = (".avi", ".mp4", ".mkv", ".mov", ".webm")

#: Contact-PPG reference settings (those the clips' README states its values with).
REF_FS = 20.0
REF_BAND_HZ = (0.7, 3.5)
REF_ORDER = 2
#: Out-of-peak band of the ``oop`` diagnostic (bpm).
OOP_BPM = (80.0, 100.0)


# --------------------------------------------------------------------------- reference


@dataclass(frozen=True)
class Reference:
    """A clip's contact PPG on a uniform grid and the frames' capture times.

    t: ``[n]`` grid times (capture clock, s). ppg: ``[n]`` band-passed PPG on that grid.
    frame_times: ``[N]`` capture time of each video frame (``frames_timestamp.csv``).
    """

    t: np.ndarray
    ppg: np.ndarray
    frame_times: np.ndarray

    @property
    def fs(self) -> float:
        """Rate of the PPG grid (Hz)."""
        return REF_FS


def discover(root: Path = REAL_ROOT) -> List[Path]:
    """Clip folders under ``root`` holding a video, ``frames_timestamp.csv`` and ``BVP.csv``
    (sorted by name; empty when ``root`` is absent)."""
    if not root.is_dir():
        return []
    return sorted(d for d in root.iterdir() if d.is_dir() and video_of(d) is not None
                  and (d / "frames_timestamp.csv").is_file() and (d / "BVP.csv").is_file())


def video_of(clip: Path) -> Optional[Path]:
    """The clip folder's video file (the first by name with a video suffix), or None."""
    vids = sorted(p for p in clip.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
    return vids[0] if vids else None


def _csv(path: Path, cols: int) -> np.ndarray:
    """A numeric CSV with a header row, ``[rows, cols]`` float64, sorted by its first column."""
    a = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)
    if a.shape[1] < cols or a.shape[0] < 2:
        raise ValueError(f"{path}: expected a header and >= 2 rows of {cols} numbers, got {a.shape}")
    return a[np.argsort(a[:, 0], kind="stable")]


def load_reference(clip: Path) -> Reference:
    """The clip's contact PPG (``BVP.csv``: timestamp, bvp) resampled linearly to
    :data:`REF_FS` over the span that both the video frames (``frames_timestamp.csv``:
    frame, timestamp) and the PPG cover, then band-passed once over that whole span."""
    frames = _csv(clip / "frames_timestamp.csv", 2)
    frame_times = frames[np.argsort(frames[:, 0]), 1]
    bvp = _csv(clip / "BVP.csv", 2)
    t0 = max(frame_times[0], bvp[0, 0])
    t1 = min(frame_times[-1], bvp[-1, 0])
    if t1 - t0 < 4.0:
        raise ValueError(f"{clip}: the PPG and the frames overlap for {t1 - t0:.1f} s only")
    t = t0 + np.arange(int(math.floor((t1 - t0) * REF_FS)) + 1) / REF_FS
    x = np.interp(t, bvp[:, 0], bvp[:, 1])
    sos = sps.butter(REF_ORDER, REF_BAND_HZ, btype="band", fs=REF_FS, output="sos")
    return Reference(t=t, ppg=sps.sosfiltfilt(sos, x - x.mean()), frame_times=frame_times)


def spectrum(x: np.ndarray, fs: float, res_bpm: float = 0.05) -> Tuple[np.ndarray, np.ndarray]:
    """Hann-windowed periodogram of ``x`` (mean removed), zero-padded to ≤ ``res_bpm`` bins:
    ``(freqs_hz, power)``."""
    x = np.asarray(x, dtype=np.float64)
    n = 1 << int(math.ceil(math.log2(max(x.size, fs * 60.0 / res_bpm))))
    p = np.abs(np.fft.rfft((x - x.mean()) * np.hanning(x.size), n)) ** 2
    return np.fft.rfftfreq(n, 1.0 / fs), p


def peak_bpm(x: np.ndarray, fs: float, band_hz: Tuple[float, float] = REF_BAND_HZ) -> float:
    """Frequency (bpm) of the highest periodogram bin of ``x`` inside ``band_hz``."""
    f, p = spectrum(x, fs)
    m = (f >= band_hz[0]) & (f <= band_hz[1])
    return float(60.0 * f[m][np.argmax(p[m])])


def reference_hr(ref: Reference, t0: Optional[float] = None, t1: Optional[float] = None) -> float:
    """Reference HR (bpm) of the capture-clock span ``[t0, t1)`` (default: the whole overlap)."""
    lo = ref.t[0] if t0 is None else t0
    hi = ref.t[-1] + 0.5 / REF_FS if t1 is None else t1
    sl = (ref.t >= lo - 1e-9) & (ref.t < hi - 1e-9)
    if sl.sum() < 2 * REF_FS / REF_BAND_HZ[0]:
        return float("nan")
    return peak_bpm(ref.ppg[sl], REF_FS)


def to_capture_clock(ref: Reference, video_times: np.ndarray, t_video: np.ndarray) -> np.ndarray:
    """Capture-clock times of video times ``t_video`` (s from the first frame), through the
    frame index: frame ``i`` is at ``video_times[i]`` in the video and at
    ``ref.frame_times[i]`` on the capture clock (linear between and beyond frames)."""
    n = min(len(video_times), len(ref.frame_times))
    vt = np.asarray(video_times[:n], dtype=np.float64) - float(video_times[0])
    ct = ref.frame_times[:n]
    t = np.asarray(t_video, dtype=np.float64)
    slope = (ct[-1] - ct[0]) / max(vt[-1] - vt[0], 1e-9)
    return np.where(t <= vt[-1], np.interp(t, vt, ct), ct[-1] + (t - vt[-1]) * slope)


def window_references(ref: Reference, video_times: np.ndarray, windows: Sequence[Tuple[float, float]]) -> List[float]:
    """Reference HR of each ``(t_start, t_end)`` window (seconds from the first frame)."""
    out = []
    for a, b in windows:
        ca, cb = to_capture_clock(ref, video_times, np.array([a, b]))
        out.append(reference_hr(ref, float(ca), float(cb)))
    return out


# --------------------------------------------------------------------------- reasons


def window_flags(est: Any, ex: Any, model_fps: float, signal_cfg: Any, validity_cfg: Any) -> List[Dict[str, Any]]:
    """Per window of ``est``, what each validity rule other than the quality floor and the
    steady run says, whatever the window's quality: ``face`` (too few frames with a face:
    no HR), ``edge`` (the peak is the band's edge), ``artefact`` (the name of the artefact
    measure that explains the HR peak, :func:`edge_rppg.vitals.validity.artefact_match`, or ""),
    ``colour`` (the colour check fails, :func:`edge_rppg.vitals.validity.colour_match`),
    ``regions`` (the region check fails, :func:`edge_rppg.vitals.validity.region_match`).
    With :func:`window_reasons` and :func:`simulate_validity` these re-derive the clip back
    end's decisions (the estimate keeps only the final flag) from what the estimate read
    (:func:`edge_rppg.processor.clip.clip_series`)."""
    from edge_rppg.processor.clip import clip_series
    from edge_rppg.vitals.validity import artefact_match, colour_match, region_match

    lo, hi = signal_cfg.band_hz
    res_hz = signal_cfg.freq_res_bpm / 60.0
    bvp = np.asarray(est.bvp, dtype=np.float64)   # the estimate's band-passed pulse
    clip = clip_series(ex, model_fps)
    series = clip.artefacts if validity_cfg.artefact_gate else None
    out: List[Dict[str, Any]] = []
    for w in est.windows:
        face = not math.isfinite(w.hr_bpm)
        edge = (not face) and (w.hr_bpm / 60.0 <= lo + 2 * res_hz or w.hr_bpm / 60.0 >= hi - 2 * res_hz)
        name = None
        off_colour = off_regions = False
        if not face:
            s = int(round(w.t_start * model_fps))
            n = int(round((w.t_end - w.t_start) * model_fps))
            f0 = w.hr_bpm / 60.0
            if series is not None:
                name = artefact_match(series[s:s + n], f0, model_fps, signal_cfg, validity_cfg)
            if clip.colour is not None:
                off_colour = colour_match(clip.colour[s:s + n], bvp[s:s + n], f0, model_fps, signal_cfg,
                                          validity_cfg) is not None
            if clip.regions is not None:
                off_regions = region_match(clip.regions[s:s + n], f0, model_fps, signal_cfg, validity_cfg) is not None
        out.append({"face": face, "edge": edge, "artefact": name or "", "colour": off_colour, "regions": off_regions})
    return out


def simulate_validity(windows: Sequence[Any], flags: Sequence[Dict[str, Any]], min_snr_db: float,
                      validity_cfg: Any) -> Tuple[List[str], List[bool]]:
    """``(reasons, valid)`` of ``windows`` (``t_start``, ``t_end``, ``hr_bpm``, ``quality``)
    with their :func:`window_flags` under a quality floor of ``min_snr_db``: the rules of
    the clip back end in its order (face, quality, band edge, artefact, pulse colour, pulse
    regions, steady run).
    With the floor of the estimate's ``SignalConfig`` it reproduces the estimate's flags."""
    from edge_rppg.vitals.validity import persistent_windows

    reasons: List[str] = []
    for w, fl in zip(windows, flags):
        if fl["face"]:
            reasons.append("face")
        elif not (math.isfinite(w.quality) and w.quality >= min_snr_db):
            reasons.append("quality")
        elif fl["edge"]:
            reasons.append("band edge")
        elif fl["artefact"]:
            reasons.append(f"artefact:{fl['artefact']}")
        elif fl.get("colour"):
            reasons.append("pulse colour")
        else:
            reasons.append("pulse regions" if fl.get("regions") else "")
    keep = persistent_windows([w.t_start for w in windows], [w.t_end for w in windows],
                              [w.hr_bpm for w in windows], [r == "" for r in reasons], validity_cfg)
    reasons = [r if r or k else "steady run" for r, k in zip(reasons, keep)]
    return reasons, [r == "" for r in reasons]


def window_reasons(est: Any, ex: Any, model_fps: float, signal_cfg: Any, validity_cfg: Any) -> List[str]:
    """Why each window of ``est`` is what it is: ``""`` for a valid window, else the first
    rule that rejected it, in the order the clip back end applies them: ``face``,
    ``quality``, ``band edge``, ``artefact:<name>``, ``pulse colour``, ``pulse regions``,
    ``steady run``.

    The estimate keeps only the final flag; this re-runs the validity module's own
    decisions (:func:`window_flags`, :func:`simulate_validity`) on the estimate's windows,
    and raises ``AssertionError`` if the result disagrees with the estimate's flags.
    """
    flags = window_flags(est, ex, model_fps, signal_cfg, validity_cfg)
    reasons, got = simulate_validity(est.windows, flags, signal_cfg.min_snr_db, validity_cfg)
    want = [bool(w.valid) for w in est.windows]
    assert got == want, f"reason derivation disagrees with the estimate: {got} vs {want}"
    return reasons


# --------------------------------------------------------------------------- engines and run


def engine_specs(spec: str) -> Dict[str, str]:
    """``label -> engine spec`` for ``--engines`` (``all``: the default model, its INT8
    file, and every registered classic method)."""
    from edge_rppg.pulse.engines.registry import DEFAULT_MODEL
    from edge_rppg.pulse.methods import METHODS

    named = {"default": ("Cluster-Phys", "default"),
             "int8": ("Cluster-Phys INT8", str(DEFAULT_MODEL.with_suffix(".int8.onnx")))}
    items = [s.strip() for s in spec.split(",") if s.strip()]
    if items == ["all"]:
        items = ["default", "int8"] + sorted(METHODS.names(), key=lambda m: (m not in ("pos", "chrom"), m))
    out: Dict[str, str] = {}
    for s in items:
        if s in named:
            out[named[s][0]] = named[s][1]
        elif s in METHODS.names():
            out[s.upper()] = s
        else:
            out[Path(s).name] = s
    return out


def extract(video: Path, progress: bool) -> Tuple[Any, Any]:
    """The product's front end over ``video`` (what ``estimate`` runs before its engine):
    ``(Extraction, EstimateConfig)``."""
    from edge_rppg.processor.extract import extract_mstmap
    from edge_rppg.processor.options import EstimateConfig, video_options

    cfg = EstimateConfig(progress=progress)
    ex = extract_mstmap(str(video), options=video_options("pos", cfg), progress=progress, keep_landmarks=False)
    return ex, cfg


def oop_share(bvp: np.ndarray, fs: float, band_hz: Tuple[float, float]) -> float:
    """Share of the pulse's in-band periodogram power at :data:`OOP_BPM`."""
    f, p = spectrum(bvp, fs)
    band = (f >= band_hz[0]) & (f <= band_hz[1])
    m = band & (f * 60 >= OOP_BPM[0]) & (f * 60 <= OOP_BPM[1])
    return float(p[m].sum() / max(p[band].sum(), 1e-30))


def run_clip(clip: Path, engines: Dict[str, str], check: bool = True, bar: Any = None) -> Dict[str, Any]:
    """Every engine on one clip: numbers per engine, the reference, and the pulses (for plots)."""
    from edge_rppg import estimate
    from edge_rppg.processor.clip import estimate_extraction
    from edge_rppg.vitals.dsp.hr import spectral_snr_db

    video = video_of(clip)
    assert video is not None
    ref = load_reference(clip)
    t0 = time.perf_counter()
    ex, cfg = extract(video, progress=False)
    extract_s = time.perf_counter() - t0
    vt = np.asarray(ex.timestamps_s, dtype=np.float64)
    clip_ref = reference_hr(ref, *to_capture_clock(ref, vt, np.array([0.0, vt[-1] - vt[0] + 1.0 / ex.fps])))
    out: Dict[str, Any] = {"clip": clip.name, "video": video.name, "frames": len(ex.valid), "fps": ex.fps,
                           "ref_clip_bpm": clip_ref, "extract_s": extract_s, "engines": {}, "pulses": {}}
    windows = None
    for label, spec in engines.items():
        if bar is not None:
            bar.set_postfix_str(f"{clip.name}: {label}")
        est = estimate_extraction(ex, spec, cfg)
        if windows is None:
            windows = [(w.t_start, w.t_end) for w in est.windows]
            out["ref_window_bpm"] = window_references(ref, vt, windows)
            out["windows"] = windows
        flags = window_flags(est, ex, cfg.model_fps, cfg.signal, cfg.validity)
        reasons, got = simulate_validity(est.windows, flags, cfg.signal.min_snr_db, cfg.validity)
        assert got == [bool(w.valid) for w in est.windows], f"{label}: reason derivation disagrees with the estimate"
        hrs = [w.hr_bpm for w in est.windows]
        errs = [h - r if math.isfinite(h) else float("nan") for h, r in zip(hrs, out["ref_window_bpm"])]
        q = [w.quality for w in est.windows if math.isfinite(w.quality)]
        bvp = np.asarray(est.bvp, dtype=np.float64)
        f, p = spectrum(bvp, est.bvp_fs)
        out["engines"][label] = {
            "spec": spec, "hr_bpm": est.hr_bpm, "valid": bool(est.valid),
            "error_bpm": None if est.hr_bpm is None else est.hr_bpm - clip_ref,
            "valid_windows": int(sum(w.valid for w in est.windows)), "n_windows": len(est.windows),
            "window_hr": hrs, "window_err": errs, "window_quality": [w.quality for w in est.windows],
            "window_valid": [bool(w.valid) for w in est.windows], "reasons": reasons, "flags": flags,
            "mae_windows": float(np.nanmean(np.abs(errs))) if np.isfinite(errs).any() else None,
            "within3_windows": int(np.sum(np.abs(np.nan_to_num(errs, nan=99)) <= 3.0)),
            "quality_range": [min(q), max(q)] if q else None,
            "clip_peak_bpm": peak_bpm(bvp, est.bvp_fs, cfg.signal.band_hz),
            "snr_at_ref_db": spectral_snr_db(f, p, clip_ref / 60.0, cfg.signal.band_hz, cfg.signal.snr_halfwidth_hz),
            "oop_share": oop_share(bvp, est.bvp_fs, cfg.signal.band_hz),
        }
        out["pulses"][label] = (bvp, float(est.bvp_fs))
        if bar is not None:
            bar.update(1)
    if check:  # the full product call on the file, default engine: same windows as the shared extraction
        est = estimate(str(video), config=type(cfg)(progress=False))
        mine = out["engines"].get("Cluster-Phys")
        same = mine is not None and [w.hr_bpm for w in est.windows] == mine["window_hr"] and \
            [bool(w.valid) for w in est.windows] == mine["window_valid"]
        out["estimate_check"] = "identical" if same else ("not run" if mine is None else "DIFFERENT")
    grid_t = to_capture_clock(ref, vt, np.arange(len(next(iter(out["pulses"].values()))[0])) / cfg.model_fps)
    out["ppg_on_grid"] = np.interp(grid_t, ref.t, ref.ppg)
    return out


# --------------------------------------------------------------------------- output


def reason_counts(reasons: Sequence[str]) -> str:
    """``quality 5, steady run 2`` (invalid windows only), or ``–``."""
    counts: Dict[str, int] = {}
    for r in reasons:
        if r:
            counts[r] = counts.get(r, 0) + 1
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1])) or "–"


def table(res: Dict[str, Any]) -> str:
    """Markdown table of one clip."""
    sys.path.insert(0, str(ROOT / "bench"))
    from results import markdown_table

    header = ["engine", "clip HR", f"error vs {res['ref_clip_bpm']:.1f}", "valid windows",
              "window error (bpm, each window)", "window MAE", "quality (dB)", "invalid because",
              "oop 80–100 bpm", "SNR@ref (dB)"]
    rows = []
    for label, e in res["engines"].items():
        q = e["quality_range"]
        rows.append([
            label, "null" if e["hr_bpm"] is None else f"{e['hr_bpm']:.2f}" + ("" if e["valid"] else " (invalid)"),
            "–" if e["error_bpm"] is None else f"{e['error_bpm']:+.2f}",
            f"{e['valid_windows']} / {e['n_windows']}",
            " ".join("nan" if not math.isfinite(x) else f"{x:+.1f}" + ("" if v else "*")
                     for x, v in zip(e["window_err"], e["window_valid"])),
            "–" if e["mae_windows"] is None else f"{e['mae_windows']:.2f}",
            "–" if q is None else f"{q[0]:+.1f} … {q[1]:+.1f}",
            reason_counts(e["reasons"]), f"{e['oop_share']:.3f}", f"{e['snr_at_ref_db']:+.1f}"])
    return markdown_table(header, rows)


def plot(res: Dict[str, Any], path: Path) -> Path:
    """Each engine's pulse over the contact PPG (top) and their whole-clip spectra (bottom)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(res["pulses"])
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(12, 3 + 1.0 * len(labels) + 3), height_ratios=[len(labels) + 1, 3])
    ppg = res["ppg_on_grid"]
    ppg = (ppg - ppg.mean()) / (ppg.std() or 1.0)
    for i, label in enumerate(labels):
        x, fs = res["pulses"][label]
        t = np.arange(x.size) / fs
        off = -3.0 * i
        z = (x - x.mean()) / (x.std() or 1.0)
        ax1.plot(t, ppg[:x.size] + off, color="0.7", lw=1.0)
        ax1.plot(t, z + off, lw=0.9, label=label)
        e = res["engines"][label]
        ax1.text(t[-1] + 0.2, off, f"{label}\n{e['valid_windows']}/{e['n_windows']} valid", fontsize=7, va="center")
    ax1.set_xlabel("s from the first frame (grey: contact PPG)")
    ax1.set_yticks([])
    ax1.set_title(f"{res['clip']}: pulse of each engine over the contact PPG (reference {res['ref_clip_bpm']:.1f} bpm)")
    fr, pr = spectrum(ppg, labels and res["pulses"][labels[0]][1] or 30.0)
    m = (fr >= 0.6) & (fr <= 3.2)
    ax2.plot(60 * fr[m], pr[m] / pr[m].max(), color="k", lw=1.5, label="contact PPG")
    for label in labels:
        x, fs = res["pulses"][label]
        f, p = spectrum(x, fs)
        m = (f >= 0.6) & (f <= 3.2)
        ax2.plot(60 * f[m], p[m] / p[m].max(), lw=0.9, label=label)
    ax2.axvspan(*OOP_BPM, color="0.9")
    ax2.axvline(res["ref_clip_bpm"], color="k", ls=":")
    ax2.set_xlabel("bpm (shaded: 80–100 bpm, the oop band)")
    ax2.set_ylabel("power / peak")
    ax2.legend(fontsize=7, ncol=3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def jsonable(res: Dict[str, Any]) -> Dict[str, Any]:
    """``res`` without the arrays, NaN as None."""
    from edge_rppg.cli.main import json_safe

    return json_safe({k: v for k, v in res.items() if k not in ("pulses", "ppg_on_grid")})


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command line: see the module docstring."""
    sys.path.insert(0, str(ROOT / "bench"))
    from results import add_output_flags

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog="Clips: folders with a video, frames_timestamp.csv and BVP.csv.")
    p.add_argument("--root", default=str(REAL_ROOT), help="folder of clip folders (default ../shared/data/real)")
    p.add_argument("--engines", default="all",
                   help="comma-separated: default, int8, classic names, model paths; 'all' = default, int8 and "
                        "every classic method")
    p.add_argument("--plot", default="", metavar="DIR", help="write one PNG per clip here")
    add_output_flags(p, json_path=True)
    p.add_argument("--no-check", action="store_true",
                   help="skip the check that edge_rppg.estimate on the file gives the same default-engine windows")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--section", default="Real video with a contact PPG, full pipeline")
    args = p.parse_args(argv)

    clips = discover(Path(args.root))
    if not clips:
        print(f"no clips under {args.root} (a folder with a video, frames_timestamp.csv and BVP.csv each): skipped")
        return 0
    engines = engine_specs(args.engines)
    from tqdm import tqdm

    results = []
    t0 = time.perf_counter()
    with tqdm(total=len(clips) * len(engines), desc="bench_real", unit="run", disable=args.no_progress) as bar:
        for clip in clips:
            results.append(run_clip(clip, engines, check=not args.no_check, bar=bar))
    body = []
    for res in results:
        t = table(res)
        head = (f"**{res['clip']}** ({res['video']}, {res['frames']} frames at {res['fps']:.2f} fps): contact-PPG "
                f"reference {res['ref_clip_bpm']:.2f} bpm; window references "
                + " ".join(f"{v:.1f}" for v in res["ref_window_bpm"])
                + f"; estimate() check: {res.get('estimate_check', 'skipped')}")
        print(head)
        print(t)
        body.append(head + "\n\n" + t)
        if args.plot:
            print("plot:", plot(res, Path(args.plot) / f"{res['clip']}.png"))
    print(f"({len(clips)} clip(s), {len(engines)} engines, {time.perf_counter() - t0:.0f} s)")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps([jsonable(r) for r in results], indent=1))
    if not args.no_record:
        sys.path.insert(0, str(ROOT / "bench"))
        from results import record

        note = ("Window error = window HR − contact-PPG HR of the same frames (* = invalid window); "
                "invalid because: the first rule that rejected each invalid window (face, quality = SNR under "
                "the 1 dB floor, band edge, artefact:<name>, steady run); oop = share of the whole-clip pulse's "
                "in-band power at 80–100 bpm; SNR@ref = whole-clip SNR at the reference HR. Validation data "
                "only (nothing trains or sets a threshold on it).\n\n")
        record(args.section, note + "\n\n".join(body))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
