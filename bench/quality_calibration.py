"""What a window's quality number means, per engine: how often a window at each quality is right.

``quality`` is the spectral SNR (dB) of whatever pulse an engine outputs, and one floor
(``SignalConfig.min_snr_db``, 1 dB) serves every engine. This measures, on windows whose
true heart rate is known, the share of windows at each quality (dB bins) that lie within
3 bpm of the truth, per engine, so that one can see whether 2 dB from the model means what
2 dB from POS means.

Data, every clip through the product's front end and the clip back end
(:func:`edge_rppg.processor.clip.estimate_extraction`), 10 s windows every second:

- ``rendered``: the realistic benchmark's conditions (``bench/bench_realistic.py``: a real
  face photo rendered with pulse, motion, talking, lamps, glow, low light, JPEG, skin tones),
  truth = the spectral HR of the rendered pulse over the window;
- ``presets``: the ``edge-rppg synth --preset`` configurations (still, moderate and large
  motion, periodic motion, light drift, talking, nodding, street lamps, screen glow, low
  light, compressed, dark skin) with an HR drawn per seed;
- ``pulseless``: the realistic benchmark's two pulseless conditions and every preset with
  ``pulse_amplitude=0`` (any window counts as wrong: there is no pulse to be right about);
- ``real``: the real clips with a contact PPG (``bench/bench_real.py``; validation only,
  reported in its own column and never used to fit anything).

Per engine and quality bin: windows, share within 3 bpm (clips with a pulse), pulseless
windows; plus the lowest quality above which ≥ 95 % of all windows (pulseless included)
are right, the highest pulseless quality, and what the 1 dB floor keeps.

    python bench/quality_calibration.py                                 # 2 seeds x 2 sets, 20 s clips
    python bench/quality_calibration.py --seeds 3 --seed0 70000,80000,90000 --json out/qcal/windows.json
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

CACHE = ROOT / "out" / "quality_calibration"
#: Quality bin edges (dB); the first and last bins are open.
BINS = (-math.inf, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, math.inf)
TOL_BPM = 3.0
#: Presets whose pulseless copy is rendered (motion and light: the artefacts a gate must not pass).
PULSELESS_PRESETS = ("still", "moderate_motion", "large_motion", "periodic_motion", "light_drift",
                     "street_lamps", "screen_glow", "nodding", "talking")
#: In-band artefact rate of the presets that have one (Hz): the drawn HR keeps 8 bpm from it.
PRESET_ARTEFACT_HZ = {"periodic_motion": 1.6, "nodding": 1.3, "street_lamps": 1.25, "screen_glow": 1.1}


def clip_jobs(seeds: Sequence[int], duration_s: float, size: Tuple[int, int],
              sources: Sequence[str]) -> List[Tuple[str, str, int, Any, bool]]:
    """``(source, condition, seed, VideoSynthConfig, has_pulse)`` of every rendered clip."""
    from bench_realistic import CONDITIONS, clip_config

    from edge_rppg.synth.video_gen import PRESETS, VideoSynthConfig

    jobs: List[Tuple[str, str, int, Any, bool]] = []
    for seed in seeds:
        if "rendered" in sources or "pulseless" in sources:
            for name, (_, _, pulse) in CONDITIONS.items():
                src = "rendered" if pulse else "pulseless"
                if src in sources:
                    jobs.append((src, name, seed, clip_config(name, seed, duration_s, size), pulse))
        for name, base in PRESETS.items():
            rng = np.random.default_rng([seed, 29, len(name)])
            hr = float(rng.uniform(55.0, 110.0))
            art = PRESET_ARTEFACT_HZ.get(name)
            while art is not None and abs(hr - 60 * art) < 8.0:
                hr = float(rng.uniform(55.0, 110.0))
            over = {"duration_s": duration_s, "hr_bpm": hr, "rf_hz": float(rng.uniform(0.15, 0.35)),
                    "width": int(size[0]), "height": int(size[1])}
            if "presets" in sources:
                jobs.append(("presets", name, seed, VideoSynthConfig.from_dict({**base.to_dict(), **over}), True))
            if "pulseless" in sources and name in PULSELESS_PRESETS:
                jobs.append(("pulseless", name + " (pulse 0)", seed,
                             VideoSynthConfig.from_dict({**base.to_dict(), **over, "pulse_amplitude": 0.0}), False))
    return jobs


def engine_table(spec: str) -> Dict[str, Any]:
    """``label -> loaded engine`` (the same labels as ``bench/bench_real.py``)."""
    from bench_real import engine_specs

    from edge_rppg.pulse.engines.registry import load_engine

    return {label: load_engine(s) for label, s in engine_specs(spec).items()}


def rendered_records(jobs: Sequence[Tuple[str, str, int, Any, bool]], engines: Dict[str, Any], cache: Path,
                     progress: bool = True, estimate_config: Optional[Any] = None) -> List[Dict[str, Any]]:
    """One record per (clip, engine, window): quality, HR, truth, error, final validity."""
    from bench_real import window_flags
    from bench_realistic import window_errors
    from tqdm import tqdm

    from edge_rppg.processor.options import EstimateConfig
    from edge_rppg.processor.clip import estimate_extraction
    from edge_rppg.synth.rendered import rendered_extraction
    from edge_rppg.synth.video_gen import physiology

    cfg = estimate_config or EstimateConfig(progress=False)
    out: List[Dict[str, Any]] = []
    for src, name, seed, vcfg, pulse in tqdm(jobs, desc="clips", unit="clip", disable=not progress):
        ex = rendered_extraction(vcfg, seed, cache)
        phys = physiology(vcfg, seed)
        for label, eng in engines.items():
            est = estimate_extraction(ex, eng, cfg)
            errs, _ = window_errors(est, phys)
            flags = window_flags(est, ex, cfg.model_fps, cfg.signal, cfg.validity)
            for w, e, fl in zip(est.windows, errs, flags):
                out.append({"source": src, "condition": name, "seed": seed, "engine": label, "t_start": w.t_start,
                            "t_end": w.t_end, "hr": w.hr_bpm, "quality": w.quality, "valid": bool(w.valid),
                            "pulse": pulse, "err": (e if pulse else None), **fl})
    return out


def real_records(engine_spec: str) -> List[Dict[str, Any]]:
    """Window records of every real clip (``bench/bench_real.py``; empty when absent)."""
    from bench_real import discover, engine_specs, run_clip

    out: List[Dict[str, Any]] = []
    for clip in discover():
        res = run_clip(clip, engine_specs(engine_spec), check=False)
        for label, e in res["engines"].items():
            for (t0, t1), h, q, v, err, fl in zip(res["windows"], e["window_hr"], e["window_quality"],
                                                   e["window_valid"], e["window_err"], e["flags"]):
                out.append({"source": "real", "condition": clip.name, "seed": 0, "engine": label, "t_start": t0,
                            "t_end": t1, "hr": h, "quality": q, "valid": bool(v), "pulse": True,
                            "err": abs(err) if math.isfinite(err) else float("nan"), **fl})
    return out


def _right(r: Dict[str, Any]) -> bool:
    return bool(r["pulse"] and r["err"] is not None and math.isfinite(r["err"]) and r["err"] <= TOL_BPM)


def bin_label(i: int) -> str:
    """Text of quality bin ``i`` of :data:`BINS`."""
    lo, hi = BINS[i], BINS[i + 1]
    if not math.isfinite(lo):
        return f"< {hi:g}"
    if not math.isfinite(hi):
        return f"≥ {lo:g}"
    return f"{lo:g} … {hi:g}"


def gate_passed(r: Dict[str, Any]) -> bool:
    """The window has an HR that neither the face coverage, the band edge nor the artefact
    gate rejects: only its quality (and the steady run) decide."""
    return not (r.get("face") or r.get("edge") or r.get("artefact"))


def calibration_table(records: Sequence[Dict[str, Any]], engines: Sequence[str],
                      sources: Sequence[str] = ("rendered", "presets", "pulseless"),
                      gated: bool = False) -> Tuple[str, Dict[str, Any]]:
    """Markdown table: per quality bin and engine, ``right/pulse windows (share) · pulseless
    windows``, over ``sources`` (the real clip gets its own column per engine); ``gated``:
    only windows that pass the face, band-edge and artefact rules (:func:`gate_passed`)."""
    from results import markdown_table

    if gated:
        records = [r for r in records if gate_passed(r)]

    header = ["quality (dB)"] + [f"{e}: within 3 bpm · pulseless" for e in engines] + \
        [f"{e}: real clip" for e in engines]
    rows: List[List[object]] = []
    numbers: Dict[str, Any] = {e: {"bins": []} for e in engines}
    for i in range(len(BINS) - 1):
        row: List[object] = [bin_label(i)]
        real_cells: List[object] = []
        for e in engines:
            inbin = [r for r in records if r["engine"] == e and math.isfinite(r["quality"])
                     and BINS[i] <= r["quality"] < BINS[i + 1]]
            syn = [r for r in inbin if r["source"] in sources]
            pulse = [r for r in syn if r["pulse"]]
            null = [r for r in syn if not r["pulse"]]
            real = [r for r in inbin if r["source"] == "real"]
            k = sum(_right(r) for r in pulse)
            row.append(f"{k}/{len(pulse)} ({k / len(pulse):.0%}) · {len(null)}" if pulse else f"– · {len(null)}")
            kr = sum(_right(r) for r in real)
            real_cells.append(f"{kr}/{len(real)}" if real else "–")
            numbers[e]["bins"].append({"bin": bin_label(i), "pulse": len(pulse), "right": k, "pulseless": len(null),
                                       "real": len(real), "real_right": kr})
        rows.append(row + real_cells)
    for e in engines:
        numbers[e].update(summary(records, e, sources))
    return markdown_table(header, rows), numbers


def summary(records: Sequence[Dict[str, Any]], engine: str, sources: Sequence[str]) -> Dict[str, Any]:
    """Per engine: the lowest quality at which every higher window (pulseless included) is
    ≥ 95 % right, the highest pulseless quality, and recall / precision at the 1 dB floor."""
    rs = [r for r in records if r["engine"] == engine and r["source"] in sources and math.isfinite(r["quality"])]
    if not rs:
        return {}
    q = np.array([r["quality"] for r in rs])
    ok = np.array([_right(r) for r in rs])
    null = np.array([not r["pulse"] for r in rs])
    order = np.argsort(-q)
    prec = np.cumsum(ok[order]) / np.arange(1, q.size + 1)
    good = np.flatnonzero(prec >= 0.95)
    # the lowest threshold such that the windows at or above it are >= 95 % right (scan from the top)
    q95 = float(q[order][good[-1]]) if good.size else float("nan")
    at1 = q >= 1.0
    pulse_right = ok.sum()
    return {"q_at_95pct_precision": q95, "max_pulseless_quality": float(q[null].max()) if null.any() else None,
            "p99_pulseless_quality": float(np.percentile(q[null], 99)) if null.any() else None,
            "recall_at_1db": float((ok & at1).sum() / max(pulse_right, 1)),
            "precision_at_1db": float((ok & at1).sum() / max(at1.sum(), 1)),
            "windows": int(q.size), "pulse_windows": int((~null).sum()), "right": int(pulse_right)}


class _W:
    """A window as :func:`bench_real.simulate_validity` reads it."""

    def __init__(self, r: Dict[str, Any]) -> None:
        self.t_start, self.t_end = float(r["t_start"]), float(r["t_end"])
        self.hr_bpm = float(r["hr"]) if r["hr"] is not None else float("nan")
        self.quality = float(r["quality"]) if r["quality"] is not None else float("nan")


def floor_sweep(records: Sequence[Dict[str, Any]], engines: Sequence[str], floors: Sequence[float]
                ) -> Tuple[str, Dict[str, Any]]:
    """Every clip's validity re-derived (face, quality, band edge, artefact gate, steady run,
    clip rule) with the quality floor at each of ``floors``, per engine: valid windows of
    clips with a pulse (and how many of them are > 3 bpm off), valid windows and valid clips
    of pulseless clips, and the real clips' valid windows (validation only)."""
    from bench_real import simulate_validity
    from results import markdown_table

    from edge_rppg.vitals.validity import ValidityConfig, clip_rule

    vcfg = ValidityConfig()
    clips: Dict[Tuple[str, str, int, str], List[Dict[str, Any]]] = {}
    for r in records:
        clips.setdefault((r["source"], r["condition"], r["seed"], r["engine"]), []).append(r)
    numbers: Dict[str, Any] = {}
    rows = []
    for e in engines:
        numbers[e] = {}
        for fl in floors:
            c = {"pulse_valid": 0, "pulse_windows": 0, "pulse_wrong": 0, "null_valid": 0, "null_clips_valid": 0,
                 "real_valid": 0, "real_windows": 0, "real_wrong": 0, "pulse_clips_valid": 0, "pulse_clips": 0}
            for (src, _, _, eng), rs in clips.items():
                if eng != e:
                    continue
                rs = sorted(rs, key=lambda r: r["t_start"])
                _, valid = simulate_validity([_W(r) for r in rs], rs, fl, vcfg)
                _, clip_ok = clip_rule([r["hr"] for r in rs], valid, vcfg)
                wrong = sum(v and not _right(r) for v, r in zip(valid, rs))
                if src == "real":
                    c["real_valid"] += sum(valid)
                    c["real_windows"] += len(rs)
                    c["real_wrong"] += wrong
                elif rs[0]["pulse"]:
                    c["pulse_valid"] += sum(valid)
                    c["pulse_windows"] += len(rs)
                    c["pulse_wrong"] += wrong
                    c["pulse_clips"] += 1
                    c["pulse_clips_valid"] += int(clip_ok)
                else:
                    c["null_valid"] += sum(valid)
                    c["null_clips_valid"] += int(clip_ok)
            numbers[e][f"{fl:g}"] = c
            rows.append([e, f"{fl:+g}", f"{c['pulse_valid']}/{c['pulse_windows']} ({c['pulse_wrong']} wrong)",
                         f"{c['pulse_clips_valid']}/{c['pulse_clips']}", f"**{c['null_valid']}** / {c['null_clips_valid']}",
                         f"{c['real_valid']}/{c['real_windows']} ({c['real_wrong']} wrong)"])
    return markdown_table(["engine", "floor (dB)", "valid windows, clips with a pulse (> 3 bpm off)",
                           "valid clips with a pulse", "pulseless: valid windows / valid clips",
                           "real clip: valid windows (validation only)"], rows), numbers


def summary_table(numbers: Dict[str, Any], engines: Sequence[str]) -> str:
    """Per-engine summary row (markdown)."""
    from results import markdown_table

    rows = []
    for e in engines:
        s = numbers[e]
        if not s.get("windows"):
            continue
        rows.append([e, f"{s['right']}/{s['pulse_windows']}", f"{s['precision_at_1db']:.3f}", f"{s['recall_at_1db']:.3f}",
                     f"{s['q_at_95pct_precision']:+.2f}",
                     "–" if s["max_pulseless_quality"] is None else f"{s['max_pulseless_quality']:+.2f}",
                     "–" if s["p99_pulseless_quality"] is None else f"{s['p99_pulseless_quality']:+.2f}"])
    return markdown_table(["engine", "pulse windows within 3 bpm", "precision at q ≥ 1 dB", "recall at q ≥ 1 dB",
                           "q where precision ≥ 95 %", "max pulseless q", "p99 pulseless q"], rows)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command line: see the module docstring."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--engines", default="default,int8,pos,chrom", help="as bench_real.py --engines")
    p.add_argument("--seeds", type=int, default=2, help="clips per condition and seed set")
    p.add_argument("--seed0", default="70000,80000", help="first seed of each seed set, comma-separated")
    p.add_argument("--duration", type=float, default=20.0, help="seconds per rendered clip")
    p.add_argument("--size", default="320x240")
    p.add_argument("--sources", default="rendered,presets,pulseless,real")
    p.add_argument("--cache", default=str(CACHE))
    p.add_argument("--records", default="", help="read window records from this JSON instead of running")
    p.add_argument("--origin", default="--json out/qcal/windows.json",
                   help="with --records: the arguments of the run that wrote them (quoted in RESULTS.md)")
    p.add_argument("--json", default="", metavar="PATH", help="write the window records and the numbers here")
    p.add_argument("--floors", default="-3,-2,-1,0,1,2", help="quality floors (dB) of the sweep table")
    p.add_argument("--no-record", action="store_true", help="do not write bench/RESULTS.md")
    p.add_argument("--section", default="Quality index calibration: share of right windows per quality bin, per engine")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)

    engines = engine_table(args.engines)
    labels = list(engines)
    sources = [s.strip() for s in args.sources.split(",") if s.strip()]
    t0 = time.perf_counter()
    if args.records:
        records = json.loads(Path(args.records).read_text())["records"]
    else:
        seeds = [int(s0) + i for s0 in args.seed0.split(",") if s0.strip() for i in range(args.seeds)]
        size = tuple(int(v) for v in args.size.lower().split("x"))
        jobs = clip_jobs(seeds, args.duration, size, sources)  # type: ignore[arg-type]
        records = rendered_records(jobs, engines, Path(args.cache), progress=not args.no_progress)
        if "real" in sources:
            records += real_records(args.engines)
    syn = tuple(s for s in sources if s != "real")
    table, numbers = calibration_table(records, labels, syn)
    summ = summary_table(numbers, labels)
    gtable, gnumbers = calibration_table(records, labels, syn, gated=True)
    floors = [float(v) for v in args.floors.split(",") if v.strip()]
    sweep, snumbers = floor_sweep(records, labels, floors)
    numbers = {"all_windows": numbers, "gate_passed": gnumbers, "floor_sweep": snumbers}
    n_clips = len({(r["source"], r["condition"], r["seed"]) for r in records})
    print(table)
    print()
    print(summ)
    print()
    print("windows that pass the face, band-edge and artefact rules (only quality and the steady run left):")
    print(gtable)
    print()
    print(sweep)
    print(f"({n_clips} clips, {len(records)} window records, {time.perf_counter() - t0:.0f} s)")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"records": records, "numbers": numbers}, default=float))
    if not args.no_record:
        from results import record

        origin = (f"Window records of an earlier run ({args.records}; the 2026-12-07 one was `python "
                  f"bench/quality_calibration.py {args.origin}`). " if args.records else "")
        body = (origin + f"{n_clips} clips ({', '.join(sources)}), 10 s windows every second; cell = windows within "
                f"{TOL_BPM:g} bpm of the truth / windows of clips with a pulse in that quality bin (share) · "
                "windows of pulseless clips in that bin; real clip column: validation only.\n\n"
                + table + "\n\n" + summ + "\n\nOnly the windows that pass the face, band-edge and artefact "
                "rules (what the quality floor alone decides):\n\n" + gtable + "\n\nQuality floor sweep (every rule "
                "re-applied, steady run and clip rule included):\n\n" + sweep)
        record(args.section, body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
