"""Realistic-conditions benchmark: rendered face videos through the full pipeline.

Every clip is rendered by :mod:`edge_rppg.synth.video_gen` (a real face photo animated
with a pulse, motion, talking, lights, skin tone, codec) and goes through the product's
own front end — the default landmarker (the bundled ONNX face models), meta-ROI polygons, ROI averaging, MSTmap
(the ``input → landmarks → roi`` stages of ``edge_rppg.estimate``) — once; the recorded
clip is then run through the clip back end (:func:`edge_rppg.processor.clip.estimate_extraction`,
what ``estimate`` runs after the front end) for every engine, so the engines are compared
on identical inputs.  Extractions are cached under ``out/bench_realistic/`` (keyed by
the clip's config, seed and the extractor version), so re-running with another model
costs only the engines.

Conditions (HR drawn per seed in 55-110 bpm, at least 8 bpm away from an in-band
artefact's rate; seeds from 70,000 — the ``rendered`` training source draws seeds from
2,000,000 and renders only the photo's mirror image, so these clips' seeds, face layout,
lighting side and lamp-sweep direction were never trained on):
still, moderate motion, talking, in-band nodding with shading, sodium street lamps
sweeping at 1.25 Hz, a warm screen glowing at 1.1 Hz, low light, JPEG compression with a
weak pulse, medium and dark skin, and two pulseless conditions (nodding; lamp flicker).

Per engine and condition: MAE of the per-window HR against the true HR of the same
window (the spectral HR of the ground-truth pulse over that window; all windows, valid
or not), the worst clip (its mean absolute window error) and
the fraction of valid windows.  For pulseless clips only the valid fraction counts (it
should be 0).  The table goes to ``bench/RESULTS.md`` via ``bench/results.py``.

    python bench/bench_realistic.py                       # shipped default model vs POS vs CHROM
    python bench/bench_realistic.py --models out/a/last.pt,out/b/last.pt --seeds 2
    python bench/bench_realistic.py --seeds 12 --seed0 70000,80000,90000,100000,110000 --jobs 2
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from results import finish, markdown_table  # noqa: E402

#: condition name -> (VideoSynthConfig overrides, in-band artefact rate in Hz or None, has a pulse)
CONDITIONS: Dict[str, Tuple[Dict[str, Any], Optional[float], bool]] = {
    "still": ({"motion": "still"}, None, True),
    "motion": ({"motion": "moderate"}, None, True),
    "talking": ({"motion": "still", "talking_hz": 4.5, "talking_amplitude": 0.05}, None, True),
    "nodding (in-band)": ({"motion": "still", "periodic_motion_hz": 1.4, "periodic_motion_frac": 0.012,
                           "nod_shading": 0.15}, 1.4, True),
    "street lamps (sodium, 1.25 Hz)": ({"motion": "still", "lamp_hz": 1.25, "lamp_amplitude": 0.15,
                                        "lamp_shape": "sweep", "lamp_color": (1.0, 0.55, 0.08)}, 1.25, True),
    "screen glow (warm, 1.1 Hz)": ({"motion": "still", "lamp_hz": 1.1, "lamp_amplitude": 0.12,
                                    "lamp_shape": "glow", "lamp_color": (1.0, 0.72, 0.42)}, 1.1, True),
    "low light": ({"motion": "still", "exposure": 0.3, "noise_sigma": 3.0}, None, True),
    "compression (JPEG q30, weak pulse)": ({"motion": "still", "jpeg_quality": 30, "pulse_amplitude": 0.008},
                                           None, True),
    "skin medium": ({"motion": "still", "skin_tone": 0.45}, None, True),
    "skin dark": ({"motion": "still", "skin_tone": 0.85}, None, True),
    "pulseless, nodding": ({"motion": "still", "pulse_amplitude": 0.0, "periodic_motion_hz": 1.6,
                            "periodic_motion_frac": 0.01, "nod_shading": 0.15}, 1.6, False),
    "pulseless, flicker": ({"motion": "still", "pulse_amplitude": 0.0, "lamp_hz": 1.3, "lamp_amplitude": 0.05,
                            "lamp_shape": "flicker", "lamp_color": (1.0, 0.9, 0.8)}, 1.3, False),
}
SEED0 = 70_000
CACHE = ROOT / "out" / "bench_realistic"


def clip_config(name: str, seed: int, duration_s: float, size: Tuple[int, int] = (320, 240),
                conditions: Optional[Dict[str, Tuple[Dict[str, Any], Optional[float], bool]]] = None) -> Any:
    """The VideoSynthConfig of condition ``name`` of ``conditions`` (default :data:`CONDITIONS`)
    for ``seed`` (HR drawn from the seed) at ``size`` = (width, height)."""
    from edge_rppg.synth.video_gen import VideoSynthConfig

    over, artefact_hz, _ = (conditions or CONDITIONS)[name]
    rng = np.random.default_rng([seed, 17])
    hr = 60.0
    for _ in range(100):
        hr = float(rng.uniform(55.0, 110.0))
        if artefact_hz is None or abs(hr - 60.0 * artefact_hz) >= 8.0:
            break
    rf = float(rng.uniform(0.15, 0.35))
    return VideoSynthConfig(duration_s=duration_s, hr_bpm=hr, rf_hz=rf, width=int(size[0]), height=int(size[1]),
                            **over)


def extraction(cfg: Any, seed: int, cache: Path) -> Any:
    """Render the clip and run the product's front end on it (cached):
    :func:`edge_rppg.synth.rendered.rendered_extraction`."""
    from edge_rppg.synth.rendered import rendered_extraction

    return rendered_extraction(cfg, seed, cache)


def _render_one(job: Tuple[str, int, float, str, Tuple[int, int]]) -> None:
    name, seed, duration_s, cache, size = job
    extraction(clip_config(name, seed, duration_s, size), seed, Path(cache))


def prerender(names: Sequence[str], seeds: Sequence[int], duration_s: float, cache: Path,
              size: Tuple[int, int], jobs: int) -> None:
    """Render and extract every clip of ``names`` x ``seeds`` missing from ``cache`` in
    ``jobs`` processes (the engines then run on cached inputs, one process)."""
    from concurrent.futures import ProcessPoolExecutor

    from edge_rppg.synth.rendered import cache_path

    todo = [(n, s, duration_s, str(cache), size) for n in names for s in seeds
            if not cache_path(clip_config(n, s, duration_s, size), s, cache).exists()]
    if todo:
        print(f"rendering {len(todo)} clips in {jobs} processes", flush=True)
        with ProcessPoolExecutor(jobs) as pool:
            list(pool.map(_render_one, todo))


def window_errors(est: Any, phys: Any) -> Tuple[List[float], List[bool]]:
    """Absolute HR error of every window against the HR an ideal sensor would give for
    that window (the same spectral estimator on the ground-truth pulse of the window's
    frames: with HRV the beat-count rate and the spectral peak differ by ~1 bpm), and
    the windows' validity."""
    from edge_rppg.vitals.dsp.config import SignalConfig
    from edge_rppg.vitals.dsp.hr import hr_from_psd

    errs: List[float] = []
    valid: List[bool] = []
    t = phys.frame_times_s
    for w in est.windows:
        sl = (t >= w.t_start - 1e-6) & (t < w.t_end - 1e-6)
        truth = hr_from_psd(phys.bvp[sl], 1.0 / float(t[1] - t[0]), SignalConfig()).hr_bpm
        errs.append(abs(w.hr_bpm - truth) if math.isfinite(w.hr_bpm) else float("nan"))
        valid.append(bool(w.valid))
    return errs, valid


def run(engines: Dict[str, Any], names: Sequence[str], seeds: Sequence[int], duration_s: float, cache: Path,
        progress: bool = True, size: Tuple[int, int] = (320, 240),
        estimate_config: Optional[Any] = None, config_of: Any = None) -> Dict[str, Dict[str, Dict[str, Any]]]:
    """``{condition: {engine: {"errs": [...per clip list...], "valid": [...]}}}``; every
    engine runs the clip back end with ``estimate_config`` (default ``EstimateConfig()``).
    ``config_of(name, seed, duration_s, size)``: the clip's config (default :func:`clip_config`;
    ``bench/bench_nir.py`` passes its NIR conditions')."""
    from edge_rppg.processor.clip import estimate_extraction
    from edge_rppg.processor.options import EstimateConfig
    from edge_rppg.synth.video_gen import physiology

    est_cfg = estimate_config or EstimateConfig()
    config_of = config_of or clip_config

    out: Dict[str, Dict[str, Dict[str, Any]]] = {}
    for name in names:
        out[name] = {e: {"errs": [], "valid": []} for e in engines}
        for seed in seeds:
            cfg = config_of(name, seed, duration_s, size)
            t0 = time.perf_counter()
            ex = extraction(cfg, seed, cache)
            phys = physiology(cfg, seed)
            line = [f"{name[:28]:28s} seed {seed} hr {cfg.hr_bpm:6.1f}"]
            for label, eng in engines.items():
                est = estimate_extraction(ex, eng, est_cfg)
                errs, valid = window_errors(est, phys)
                out[name][label]["errs"].append(errs)
                out[name][label]["valid"].append(valid)
                line.append(f"{label[:14]} {np.nanmean(errs) if errs else float('nan'):5.2f}/{np.mean(valid):.2f}")
            if progress:
                print(" | ".join(line) + f"  ({time.perf_counter() - t0:.1f} s)", flush=True)
    return out


def summarise(res: Dict[str, Dict[str, Dict[str, Any]]], engines: Sequence[str],
              conditions: Optional[Dict[str, Tuple[Dict[str, Any], Optional[float], bool]]] = None
              ) -> Tuple[str, Dict[str, Any]]:
    """Markdown table (MAE / worst clip / valid fraction per engine) and the numbers
    (``conditions``: whose third item says a condition has a pulse; default :data:`CONDITIONS`)."""
    conditions = conditions or CONDITIONS
    header = ["condition"] + [f"{e}: MAE / worst / valid" for e in engines]
    rows: List[List[object]] = []
    numbers: Dict[str, Any] = {}
    pulse_err: Dict[str, List[float]] = {e: [] for e in engines}
    pulse_valid: Dict[str, List[bool]] = {e: [] for e in engines}
    null_valid: Dict[str, List[bool]] = {e: [] for e in engines}
    for name, per in res.items():
        has_pulse = conditions[name][2]
        row: List[object] = [name]
        numbers[name] = {}
        for e in engines:
            errs = [x for clip in per[e]["errs"] for x in clip]
            valid = [v for clip in per[e]["valid"] for v in clip]
            vf = float(np.mean(valid)) if valid else float("nan")
            if has_pulse:
                mae = float(np.nanmean(errs))
                worst = float(max(np.nanmean(c) for c in per[e]["errs"]))
                row.append(f"{mae:.2f} / {worst:.2f} / {vf:.2f}")
                pulse_err[e] += errs
                pulse_valid[e] += valid
                numbers[name][e] = {"mae": mae, "worst": worst, "valid": vf}
            else:
                row.append(f"– / – / {vf:.2f}")
                null_valid[e] += valid
                numbers[name][e] = {"valid": vf}
        rows.append(row)
    rows.append(["**all clips with a pulse**"] + [
        f"**{np.nanmean(pulse_err[e]):.2f}** / – / {np.mean(pulse_valid[e]):.2f}" for e in engines])
    rows.append(["**pulseless (valid windows)**"] + [f"– / – / **{np.mean(null_valid[e]):.2f}**" for e in engines])
    numbers["all"] = {e: {"mae": float(np.nanmean(pulse_err[e])), "valid": float(np.mean(pulse_valid[e])),
                          "null_valid": float(np.mean(null_valid[e]))} for e in engines}
    return markdown_table(header, rows), numbers


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command line: see the module docstring."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="default",
                   help="comma-separated model engines (default = the shipped ONNX; .pt/.onnx paths)")
    p.add_argument("--classic", default="pos,chrom", help="comma-separated classic engines beside the model(s)")
    p.add_argument("--seeds", type=int, default=2, help="clips per condition")
    p.add_argument("--size", default="320x240", help="frame WIDTHxHEIGHT (the face fills 45 %% of the height)")
    p.add_argument("--seed0", default=str(SEED0),
                   help="first seed of each seed set, comma-separated (70000,80000 = two sets of --seeds clips)")
    p.add_argument("--jobs", type=int, default=1, help="render the clips missing from the cache in this many processes")
    p.add_argument("--duration", type=float, default=12.0, help="seconds per clip")
    p.add_argument("--conditions", default="", help="semicolon-separated subset of the condition names")
    p.add_argument("--cache", default=str(CACHE))
    p.add_argument("--harmonic-ratio", type=float, default=None,
                   help="SignalConfig.harmonic_ratio of every engine's HR pick (default: the SDK's; 0 = plain argmax)")
    p.add_argument("--json", default="", help="also write the numbers here")
    p.add_argument("--no-record", action="store_true", help="do not write bench/RESULTS.md")
    p.add_argument("--section", default="Realistic conditions: rendered face videos, full pipeline")
    args = p.parse_args(argv)

    from edge_rppg.pulse.engines.registry import load_engine

    engines: Dict[str, Any] = {}
    for spec in [m for m in args.models.split(",") if m]:
        eng = load_engine(spec)
        label = "Cluster-Phys (default)" if spec == "default" else Path(spec).parent.name + "/" + Path(spec).name
        engines[label] = eng
    for c in [c for c in args.classic.split(",") if c]:
        engines[c.upper()] = load_engine(c)
    names = [n for n in CONDITIONS if not args.conditions or n in [c.strip() for c in args.conditions.split(";")]]
    try:
        starts = [int(v) for v in str(args.seed0).split(",") if v.strip()]
    except ValueError:
        p.error(f"--seed0 {args.seed0!r}: expected comma-separated integers")
    seeds = [s0 + i for s0 in starts for i in range(args.seeds)]
    t0 = time.perf_counter()
    size = tuple(int(v) for v in args.size.lower().split("x"))
    from edge_rppg.processor.options import EstimateConfig
    from edge_rppg.vitals.dsp.config import SignalConfig

    est_cfg = EstimateConfig() if args.harmonic_ratio is None else \
        EstimateConfig(signal=SignalConfig(harmonic_ratio=args.harmonic_ratio))
    if args.jobs > 1:
        prerender(names, seeds, args.duration, Path(args.cache), size, args.jobs)  # type: ignore[arg-type]
    res = run(engines, names, seeds, args.duration, Path(args.cache), size=size,  # type: ignore[arg-type]
              estimate_config=est_cfg)
    table, numbers = summarise(res, list(engines))
    body = (f"{len(seeds)} clips per condition, {args.duration:g} s each, {args.size} at 30 fps, seeds from "
            f"{args.seed0} ({len(starts)} set(s)), harmonic_ratio {est_cfg.signal.harmonic_ratio:g}; per-window HR error vs the true rate of that window (10 s windows, 1 s hop), "
            "worst = worst clip's mean window error, valid = fraction of windows flagged valid "
            "(pulseless rows: should be 0).\n\n" + table)
    finish(args, f"{table}\n({len(names) * len(seeds)} clips of {args.duration:g} s in {time.perf_counter() - t0:.0f} s)",
           numbers, args.section, body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
