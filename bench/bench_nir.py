"""Near-infrared in-car camera benchmark: rendered NIR clips through the full gray pipeline.

Every clip is rendered by :mod:`edge_rppg.synth.nir` (the face photo as a 940 nm mono
camera with its own illuminator sees it: 10-bit, 60 fps, 1/d² fall-off, glints, sunlight
leak) and goes through the product's front end with ``color_space="gray"`` (the ONNX face
models on the replicated frame, 16-bit ROI sums, the one-channel MSTmap) once, cached
under ``out/bench_nir/``; then every mono engine runs the clip back end on it
(:func:`bench_realistic.run`, same per-window error against the true rate of each window,
worst clip, valid-window fraction).

Conditions (HR per seed in 55-110 bpm, 8 bpm away from an in-band artefact; seeds from
170,000): still, moderate motion, talking, in-band nodding with shading, sunlight sweeping
across the face in-band (shadows, lamp posts at 1.2 Hz) and out of band (0.3 Hz), in-band
sun flicker (tree shade, 1.3 Hz), a weak pulse, the 850 nm camera, and two pulseless
conditions (nodding; sun sweep). Engines: the mono Cluster-Phys model
(``edge_rppg/assets/cluster_phys_mono.onnx``, column ``mono model``) when it is there, ``mono``
(the ROI-weighted baseline) and ``mono_face`` (the whole-face row alone); ``--engines`` takes
other names or model files (a model file is the ``mono model`` column).

The real clip of ``../shared/data/real/physrecorder_v01`` (a 20 s webcam video with a
contact PPG; validation only, skipped when absent) is converted to one channel
(``cv2.COLOR_RGB2GRAY``) and run through the gray path: clip HR, valid windows and window
MAE against the contact-PPG reference (computed as in ``bench/bench_real.py``).

    python bench/bench_nir.py --seeds 3
"""
from __future__ import annotations

import argparse
import functools
import math
import sys
import time
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import bench_real  # noqa: E402
import bench_realistic  # noqa: E402
from results import finish, markdown_table  # noqa: E402

_NIR = {"camera": "nir940", "fps": 60.0, "noise_sigma": 2.0}
#: condition name -> (VideoSynthConfig overrides, in-band artefact rate in Hz or None, has a pulse)
NIR_CONDITIONS: Dict[str, Tuple[Dict[str, Any], Optional[float], bool]] = {
    "still": ({**_NIR, "motion": "still"}, None, True),
    "motion": ({**_NIR, "motion": "moderate"}, None, True),
    "talking": ({**_NIR, "motion": "still", "talking_hz": 4.5, "talking_amplitude": 0.05}, None, True),
    "nodding (in-band)": ({**_NIR, "motion": "still", "periodic_motion_hz": 1.4, "periodic_motion_frac": 0.012,
                           "nod_shading": 0.15}, 1.4, True),
    "sun sweep (in-band, 1.2 Hz)": ({**_NIR, "motion": "still", "lamp_hz": 1.2, "lamp_amplitude": 1.5,
                                     "lamp_shape": "sweep"}, 1.2, True),
    "sun sweep (out of band, 0.3 Hz)": ({**_NIR, "motion": "still", "lamp_hz": 0.3, "lamp_amplitude": 1.5,
                                         "lamp_shape": "sweep"}, None, True),
    "sun flicker (in-band, 1.3 Hz)": ({**_NIR, "motion": "still", "lamp_hz": 1.3, "lamp_amplitude": 0.3,
                                       "lamp_shape": "flicker"}, 1.3, True),
    "weak pulse": ({**_NIR, "motion": "still", "pulse_amplitude": 0.008}, None, True),
    "850 nm camera": ({**_NIR, "camera": "nir850", "motion": "still"}, None, True),
    "pulseless, nodding": ({**_NIR, "motion": "still", "pulse_amplitude": 0.0, "periodic_motion_hz": 1.6,
                            "periodic_motion_frac": 0.01, "nod_shading": 0.15}, 1.6, False),
    "pulseless, sun sweep": ({**_NIR, "motion": "still", "pulse_amplitude": 0.0, "lamp_hz": 1.2,
                              "lamp_amplitude": 1.5, "lamp_shape": "sweep"}, 1.2, False),
}
SEED0 = 170_000
METHOD_NOTE = ("Per-window HR error vs the true rate of that window (10 s windows, 1 s hop), worst = worst clip's "
               "mean window error, valid = fraction of windows flagged valid (pulseless rows: should be 0); the last "
               "row counts the valid windows of pulse clips that are more than 5 bpm off. A gray window is valid only "
               "when its HR is also the strongest in-band peak of at least 2 of the six meta-ROIs on their own and "
               "the ROIs' mean share of in-band power near it is at least 0.25 (the region check, "
               "`ValidityConfig.region_*`). Engines: the mono Cluster-Phys model when it ships "
               "(`mono model`), the classic mono baseline (`mono`: ROI rows weighted by their spectral SNR) and the "
               "whole-face row alone (`mono_face`).")
REAL_NOTE = ("Real webcam clip converted to one channel (`cv2.COLOR_RGB2GRAY`; a visible-light gray image, not NIR: "
             "validation of the gray path only), reference from the contact PPG:")
CACHE = ROOT / "out" / "bench_nir"
GRAY = {"color_space": "gray"}


MODEL_LABEL = "mono model"


def default_engines() -> str:
    """The engines compared by default: the bundled mono model (as ``default``, which a gray
    stream resolves to it) when it ships, then the two classic mono engines."""
    from edge_rppg.pulse.engines.registry import DEFAULT_ENGINES

    return ("default," if DEFAULT_ENGINES["gray"][0].exists() else "") + "mono,mono_face"


def engine_label(spec: str) -> str:
    """The column name of an engine spec: ``mono model`` for the bundled model (``default``) or a
    model file, else the spec itself."""
    return MODEL_LABEL if spec == "default" or spec.endswith((".onnx", ".pt", ".engine")) else spec


def real_clip_rows(engines: Dict[str, Any]) -> Tuple[str, Dict[str, Any]]:
    """The real clip(s) of ``bench_real.REAL_ROOT`` converted to one channel, every engine of ``engines``
    (column name → engine):
    a Markdown table and the numbers (empty when the shared data are absent)."""
    import cv2

    from edge_rppg.frames.video import open_video
    from edge_rppg.processor.clip import estimate_extraction
    from edge_rppg.processor.extract import extract_mstmap
    from edge_rppg.processor.options import EstimateConfig, video_options

    rows, numbers = [], {}
    cfg = EstimateConfig(progress=False, **GRAY)
    for clip in bench_real.discover():
        video = bench_real.video_of(clip)
        ref = bench_real.load_reference(clip)
        with open_video(video) as reader:
            fps = float(reader.fps)
            gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in reader]
        ex = extract_mstmap(gray, fps=fps, progress=False, keep_landmarks=False, options=video_options(None, cfg))
        vt = np.asarray(ex.timestamps_s, dtype=np.float64)
        clip_ref = bench_real.reference_hr(ref, *bench_real.to_capture_clock(
            ref, vt, np.array([0.0, vt[-1] - vt[0] + 1.0 / fps])))
        for name, engine in engines.items():
            est = estimate_extraction(ex, engine, cfg)
            refs = bench_real.window_references(ref, vt, [(w.t_start, w.t_end) for w in est.windows])
            errs = [abs(w.hr_bpm - r) for w, r in zip(est.windows, refs) if math.isfinite(w.hr_bpm)]
            n_valid = sum(w.valid for w in est.windows)
            hr = "null" if est.hr_bpm is None else f"{est.hr_bpm:.2f} ({est.hr_bpm - clip_ref:+.2f})"
            q = [w.quality for w in est.windows]
            rows.append([clip.name, name, f"{clip_ref:.2f}", hr, f"{n_valid}/{len(est.windows)}",
                         f"{np.mean(errs):.2f}" if errs else "–", f"{min(q):.1f} … {max(q):.1f}",
                         f"{float(np.mean(ex.valid)):.3f}"])
            numbers[f"{clip.name}/{name}"] = {"ref_bpm": clip_ref, "hr_bpm": est.hr_bpm, "valid_windows": n_valid,
                                              "windows": len(est.windows), "window_mae": float(np.mean(errs))
                                              if errs else None, "face_found": float(np.mean(ex.valid))}
    if not rows:
        return "", numbers
    header = ["clip (one channel)", "engine", "reference", "clip HR (error)", "valid windows", "window MAE",
              "quality (dB)", "frames with a face"]
    return markdown_table(header, rows), numbers


def wrong_valid(res: Dict[str, Dict[str, Dict[str, Any]]], engines: Sequence[str], off_bpm: float = 5.0
                ) -> Dict[str, Tuple[int, int]]:
    """Per engine: ``(valid windows more than off_bpm from the truth, valid windows)`` over the
    clips with a pulse: the readings a driver would be shown wrongly."""
    out = {}
    for e in engines:
        bad = total = 0
        for name, per in res.items():
            if not NIR_CONDITIONS[name][2]:
                continue
            for errs, valid in zip(per[e]["errs"], per[e]["valid"]):
                for err, ok in zip(errs, valid):
                    total += bool(ok)
                    bad += bool(ok) and not err <= off_bpm
        out[e] = (bad, total)
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command line: see the module docstring."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--engines", default="", help="comma-separated gray engines (classic or model files; default: "
                   "the bundled mono model when it ships, mono, mono_face)")
    p.add_argument("--seeds", type=int, default=2, help="clips per condition")
    p.add_argument("--seed0", type=int, default=SEED0, help="first seed")
    p.add_argument("--size", default="320x240", help="frame WIDTHxHEIGHT")
    p.add_argument("--duration", type=float, default=12.0, help="seconds per clip")
    p.add_argument("--conditions", default="", help="semicolon-separated subset of the condition names")
    p.add_argument("--no-real", action="store_true", help="skip the real clip")
    p.add_argument("--cache", default=str(CACHE))
    p.add_argument("--json", default="", help="also write the numbers here")
    p.add_argument("--no-record", action="store_true", help="do not write bench/RESULTS.md")
    p.add_argument("--section", default="Near-infrared in-car camera: rendered NIR clips, gray pipeline")
    args = p.parse_args(argv)

    from edge_rppg.processor.options import EstimateConfig
    from edge_rppg.pulse.engines.registry import load_engine

    spec_list = [s for s in (args.engines or default_engines()).split(",") if s]
    engines = {engine_label(s): load_engine(s, color_space="gray") for s in spec_list}
    specs = list(engines)
    names = [n for n in NIR_CONDITIONS if not args.conditions or n in [c.strip() for c in args.conditions.split(";")]]
    seeds = [args.seed0 + i for i in range(args.seeds)]
    size = tuple(int(v) for v in args.size.lower().split("x"))
    t0 = time.perf_counter()
    config_of = functools.partial(bench_realistic.clip_config, conditions=NIR_CONDITIONS)
    res = bench_realistic.run(engines, names, seeds, args.duration, Path(args.cache), size=size,  # type: ignore[arg-type]
                              estimate_config=EstimateConfig(progress=False, **GRAY), config_of=config_of)
    table, numbers = bench_realistic.summarise(res, specs, NIR_CONDITIONS)
    wrong = wrong_valid(res, specs)
    numbers["wrong_valid"] = wrong
    table += "\n| **valid windows > 5 bpm off** | " + " | ".join(f"{b}/{n}" for b, n in wrong.values()) + " |"
    real_table, real_numbers = ("", {}) if args.no_real else real_clip_rows(engines)
    numbers["real"] = real_numbers
    notes = [f"{len(seeds)} clips per condition, {args.duration:g} s each, {args.size} at 60 fps (940 nm camera "
             f"unless named, 10-bit, read noise 2 levels), seeds from {args.seed0}.", METHOD_NOTE, table]
    if real_table:
        notes += [REAL_NOTE, real_table]
    elapsed = time.perf_counter() - t0
    finish(args, "\n\n".join([table, real_table, f"({len(names) * len(seeds)} clips in {elapsed:.0f} s)"]),
           numbers, args.section, "\n\n".join(notes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
