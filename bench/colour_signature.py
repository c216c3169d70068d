"""The colour check of the validity gate, measured: does each engine's pulse change the
face's colour the way blood does, on clips with a pulse, without one, and on the real clip?

For every clip (the realistic benchmark's conditions with a pulse, and every ``edge-rppg
synth`` preset with ``pulse_amplitude=0``, ``--seeds`` seeds each, rendered and run through
the product's front once and cached) every engine's pulse is computed once, then read
twice by the clip back end (:func:`edge_rppg.vitals.readings.clip_vitals`): with the colour
check off and on (every other rule on). Per engine: windows within 3 bpm of the window's
true HR that are valid (off → on: what the check throws away), windows more than 3 bpm
off that are valid (off → on), pulseless windows and clips that are valid (off → on), and
the 1st/5th percentiles of the two cosines of :mod:`edge_rppg.vitals.colour` on the right
windows and on the pulseless windows that clear the SNR floor. The real clips of
``../shared/data/real`` are read the same way (validation only: nothing here sets a
threshold from them).

    python bench/colour_signature.py --seeds 3
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from results import add_output_flags, finish, markdown_table  # noqa: E402
from edge_rppg.vitals.validity import ValidityConfig  # noqa: E402

CACHE = ROOT / "out" / "colour_signature"
REAL = ROOT.parent / "shared" / "data" / "real"


def engines() -> List[str]:
    """The shipped model and its INT8 file, and every classic method."""
    from edge_rppg.pulse.engines.registry import DEFAULT_MODEL
    from edge_rppg.pulse.methods import METHODS

    model = [str(DEFAULT_MODEL), str(DEFAULT_MODEL.with_suffix("").with_suffix(".int8.onnx"))]
    return [m for m in model if Path(m).is_file()] + METHODS.names()


def clips(seeds: int, duration_s: float) -> List[Tuple[str, Any, int, bool]]:
    """``(label, VideoSynthConfig, seed, has_pulse)`` of every clip: the realistic conditions
    with a pulse (seeds from 70,000, as bench_realistic) and every preset without one (seeds
    from 7,000, as bench_pulseless)."""
    from bench_realistic import CONDITIONS, clip_config
    from edge_rppg.synth.video_gen import PRESETS

    out = [(name, clip_config(name, 70_000 + s, duration_s), 70_000 + s, True)
           for name, (_, _, pulse) in CONDITIONS.items() if pulse for s in range(seeds)]
    for i, preset in enumerate(PRESETS):
        for s in range(seeds):
            seed = 7_000 + 97 * i + s
            cfg = dataclasses.replace(PRESETS[preset], duration_s=duration_s, width=320, height=240,
                                      pulse_amplitude=0.0)
            out.append((f"pulseless {preset}", cfg, seed, False))
    return out


def window_truth(cfg: Any, seed: int, windows: Sequence[Any]) -> List[float]:
    """The true HR of each window (the spectral HR of the rendered pulse over its frames)."""
    from edge_rppg.synth.video_gen import _plan
    from edge_rppg.vitals.dsp.config import SignalConfig
    from edge_rppg.vitals.dsp.hr import hr_from_psd

    phys = _plan(cfg, seed).physiology
    t = phys.frame_times_s
    fs = 1.0 / float(t[1] - t[0])
    return [hr_from_psd(phys.bvp[(t >= w.t_start - 1e-6) & (t < w.t_end - 1e-6)], fs, SignalConfig()).hr_bpm
            for w in windows]


def read_twice(ex: Any, engine: Any) -> Tuple[List[Any], List[Any], bool, bool, List[Any]]:
    """The windows with the colour check off and on, both clips' validity, and each
    window's :class:`~edge_rppg.vitals.colour.PulseColour`."""
    from edge_rppg.processor.clip import clip_series
    from edge_rppg.processor.options import EstimateConfig
    from edge_rppg.pulse.windows import infer_clip
    from edge_rppg.vitals.colour import pulse_colour
    from edge_rppg.vitals.dsp.filters import bandpass
    from edge_rppg.vitals.readings import clip_vitals
    from edge_rppg.vitals.validity import ValidityConfig

    cfg = EstimateConfig(progress=False)
    fs = cfg.model_fps
    clip = clip_series(ex, fs)
    bvp = infer_clip(engine, clip.mstmap)
    colour = clip.colour
    v_off, w_off = clip_vitals(bvp, fs, clip.valid, cfg.signal, artefacts=clip.artefacts, colour=colour,
                               regions=clip.regions, validity=ValidityConfig(colour_gate=False))
    v_on, w_on = clip_vitals(bvp, fs, clip.valid, cfg.signal, artefacts=clip.artefacts, colour=colour,
                             regions=clip.regions, validity=ValidityConfig())
    filtered = bandpass(bvp, fs, cfg.signal.band_hz, cfg.signal.order)
    pcs = []
    for w in w_off:
        s = int(round(w.t_start * fs))
        e = s + int(round((w.t_end - w.t_start) * fs))
        fits = (pulse_colour(colour[s:e], filtered[s:e], fs, w.hr_bpm / 60.0, cfg.signal.band_hz,
                             ValidityConfig().colour_halfwidth_hz, cfg.signal.freq_res_bpm)
                if colour is not None and math.isfinite(w.hr_bpm) else None)
        pcs.append(None if fits is None else max(fits, key=_score))
    return w_off, w_on, v_off.valid, v_on.valid, pcs


def _score(pc: Any) -> float:
    """How much a fit looks like blood: its weakest cosine (−2 when NaN or without chroma)."""
    v = min(pc.cos, pc.chroma_cos)
    return v if math.isfinite(v) and pc.chroma_share >= ValidityConfig().colour_min_chroma_share else -2.0


def real_clips() -> List[Tuple[str, Any]]:
    """``(name, extraction)`` of each real clip with a contact PPG under ``../shared/data/real``
    (none when it is absent; ``bench/bench_real.py`` compares their windows with the PPG)."""
    from bench_real import discover, video_of
    from edge_rppg.processor.extract import extract_mstmap

    return [(clip.name, extract_mstmap(str(video_of(clip)), progress=False)) for clip in discover(REAL)]


def clip_arguments(description: str, argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """The flags of the benchmarks that read these clips (this one, ``bench/region_check.py``):
    ``--seeds``, ``--duration``, ``--engines``, ``--cache`` and the output flags."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--seeds", type=int, default=3, help="seeds per condition and per pulseless preset")
    ap.add_argument("--duration", type=float, default=20.0, help="clip length (s)")
    ap.add_argument("--engines", default="", help="comma-separated subset (default: every registered engine)")
    ap.add_argument("--cache", default=str(CACHE), help="extraction cache (one per numpy/OpenCV stack: renders differ)")
    add_output_flags(ap, json_path=True)
    return ap.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = clip_arguments(__doc__.splitlines()[0], argv)
    from tqdm import tqdm

    from edge_rppg.pulse.engines.registry import load_engine
    from edge_rppg.synth.rendered import rendered_extraction

    names = [e for e in args.engines.split(",") if e] or engines()
    loaded = {Path(n).name: load_engine(n) for n in names}
    stats: Dict[str, Dict[str, Any]] = {n: defaultdict(int) for n in loaded}
    cos: Dict[str, Dict[str, List[Tuple[float, float]]]] = {n: defaultdict(list) for n in loaded}
    records: List[List[Any]] = []   # [engine, condition, kind, quality, valid with the check off, cos, chroma cos, chroma share]
    for label, cfg, seed, pulse in tqdm(clips(args.seeds, args.duration), desc="clips", file=sys.stderr):
        ex = rendered_extraction(cfg, seed, args.cache)
        for name, eng in loaded.items():
            w_off, w_on, clip_off, clip_on, pcs = read_twice(ex, eng)
            s = stats[name]
            truth = window_truth(cfg, seed, w_off) if pulse else [math.nan] * len(w_off)
            for a, b, pc, t in zip(w_off, w_on, pcs, truth):
                records.append([name, label, "pulseless" if not pulse else "right" if abs(a.hr_bpm - t) <= 3.0
                                else "wrong", a.quality, a.valid, pc.cos if pc else None, pc.chroma_cos if pc else None,
                                pc.chroma_share if pc else None])
                if pulse:
                    kind = "right" if abs(a.hr_bpm - t) <= 3.0 else "wrong"
                    s[f"{kind}_windows"] += 1
                    s[f"{kind}_off"] += a.valid
                    s[f"{kind}_on"] += b.valid
                    if kind == "right" and pc is not None:
                        cos[name]["right"].append((pc.cos, pc.chroma_cos))
                else:
                    s["pulseless_windows"] += 1
                    s["pulseless_off"] += a.valid
                    s["pulseless_on"] += b.valid
                    if pc is not None and a.quality >= 1.0:
                        cos[name]["pulseless"].append((pc.cos, pc.chroma_cos))
            if not pulse:
                s["pulseless_clips"] += 1
                s["pulseless_clips_off"] += clip_off
                s["pulseless_clips_on"] += clip_on
    real_rows = []
    for clip, ex in real_clips():
        for name, eng in loaded.items():
            w_off, w_on, clip_off, clip_on, pcs = read_twice(ex, eng)
            ok = [pc for pc in pcs if pc is not None]
            real_rows.append([clip, name, f"{sum(w.valid for w in w_off)}/{len(w_off)}",
                              f"{sum(w.valid for w in w_on)}/{len(w_on)}",
                              f"{min(pc.cos for pc in ok):+.2f}" if ok else "–",
                              f"{min(pc.chroma_cos for pc in ok):+.2f}" if ok else "–"])

    def pct(v: List[Tuple[float, float]], i: int) -> str:
        a = np.array([x[i] for x in v], dtype=float)
        a = a[np.isfinite(a)]
        return f"{np.percentile(a, 1):+.2f} / {np.percentile(a, 5):+.2f}" if a.size else "–"

    rows = []
    for name, s in stats.items():
        rows.append([name, f"{s['right_off']} → {s['right_on']} of {s['right_windows']}",
                     f"{s['wrong_off']} → {s['wrong_on']} of {s['wrong_windows']}",
                     f"**{s['pulseless_off']} → {s['pulseless_on']}** of {s['pulseless_windows']}",
                     f"{s['pulseless_clips_off']} → {s['pulseless_clips_on']} of {s['pulseless_clips']}",
                     pct(cos[name]["right"], 0), pct(cos[name]["right"], 1),
                     pct(cos[name]["pulseless"], 0), pct(cos[name]["pulseless"], 1)])
    body = (f"Rendered clips, {args.duration:g} s 320x240: the realistic conditions with a pulse (seeds from 70,000) and "
            f"every synth preset with pulse_amplitude=0 (seeds from 7,000), {args.seeds} seeds each. Each engine's "
            "pulse is read twice, colour check off → on (every other rule on). Right = within 3 bpm of the window's "
            "true HR. Cosines (p1 / p5) of the colour change that moves with the pulse, with blood's darkening "
            "(cos) and with its chroma (chroma cos), on the right windows and on pulseless windows whose SNR "
            "clears the 1 dB floor; the check needs cos ≥ 0.5 and chroma cos ≥ 0.5.\n\n"
            + markdown_table(["engine", "right windows valid", "wrong windows valid", "pulseless windows valid",
                              "pulseless clips valid", "cos, right (p1 / p5)", "chroma cos, right (p1 / p5)",
                              "cos, pulseless ≥ 1 dB (p1 / p5)", "chroma cos, pulseless ≥ 1 dB (p1 / p5)"], rows))
    if real_rows:
        body += ("\n\nReal clips with a contact PPG (validation only): valid windows with the colour check off → on, "
                 "and the lowest cosines over the clip's windows.\n\n"
                 + markdown_table(["clip", "engine", "valid windows, check off", "check on", "min cos",
                                   "min chroma cos"], real_rows))
    finish(args, body, {"stats": {k: dict(v) for k, v in stats.items()}, "real": real_rows, "windows": records},
           "Colour check: does the pulse change the skin's colour as blood does", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
