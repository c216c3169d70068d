"""The region check on colour streams, measured: does each window's HR show on separate
patches of skin, on clips with a pulse, without one, and on the real clip?

For every clip (the realistic benchmark's conditions with a pulse, every ``edge-rppg synth``
preset with ``pulse_amplitude=0``, ``--seeds`` seeds each, and the two pulseless clips of
issue 25: ``low_light`` seed 13 and ``talking`` seed 7485; rendered and run through the
product's front once and cached) every engine's pulse is computed once and read twice by the
clip back end (:func:`edge_rppg.vitals.readings.clip_vitals`): region check off and on (every
other rule on, the colour check included). Per engine: windows within 3 bpm of the window's
true HR that are valid (off → on: what the check throws away), windows more than 3 bpm off
that are valid, pulseless windows and clips that are valid. Per window that passes every other
per-window rule, the region support (:func:`edge_rppg.vitals.regions.replicating_regions` on
the six meta-ROIs' own POS pulses): the 1st/5th percentile of the share on the right windows,
and the largest share among pulseless windows with two or more ROIs at their HR. The real
clips of ``../shared/data/real`` are read the same way (validation only: nothing here sets a
threshold from them).

Rendering differs a little between numpy/OpenCV stacks, so the section names the stack; run it
on each (``.venv`` and ``.venv-newest``) with its own ``--cache``.

    python bench/region_check.py --seeds 3
"""
from __future__ import annotations

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

from colour_signature import clip_arguments, clips, engines, real_clips, window_truth  # noqa: E402
from results import finish, markdown_table  # noqa: E402

ISSUE_CLIPS = (("low_light", 13), ("talking", 7485))


def issue_clips(duration_s: float) -> List[Tuple[str, Any, int, bool]]:
    """The pulseless clips issue 25 named (320x240, ``pulse_amplitude=0``)."""
    from edge_rppg.synth.video_gen import PRESETS

    return [(f"issue 25 {preset}", dataclasses.replace(PRESETS[preset], duration_s=duration_s, width=320, height=240,
                                                      pulse_amplitude=0.0), seed, False)
            for preset, seed in ISSUE_CLIPS]


@dataclasses.dataclass
class Reading:
    """One engine's windows of one clip, region check off and on, and each window's support."""

    off: List[Any]
    on: List[Any]
    clip_off: bool
    clip_on: bool
    support: List[Optional[Any]]   # RegionSupport of the windows that pass every other per-window rule


def read_twice(ex: Any, engine: Any) -> Reading:
    """``engine``'s windows on the extraction ``ex`` with the region check off and on."""
    from edge_rppg.processor.clip import clip_series
    from edge_rppg.processor.options import EstimateConfig
    from edge_rppg.pulse.windows import infer_clip
    from edge_rppg.vitals.readings import clip_vitals
    from edge_rppg.vitals.regions import replicating_regions
    from edge_rppg.vitals.validity import ValidityConfig

    cfg = EstimateConfig(progress=False)
    fs, sig = cfg.model_fps, cfg.signal
    clip = clip_series(ex, fs)
    bvp = infer_clip(engine, clip.mstmap)
    kw = dict(artefacts=clip.artefacts, colour=clip.colour, regions=clip.regions)
    v_off, w_off = clip_vitals(bvp, fs, clip.valid, sig, validity=ValidityConfig(region_gate=False), **kw)
    v_on, w_on = clip_vitals(bvp, fs, clip.valid, sig, validity=ValidityConfig(), **kw)
    _, w_rules = clip_vitals(bvp, fs, clip.valid, sig, validity=ValidityConfig(region_gate=False, min_run_s=0.0), **kw)
    vcfg = ValidityConfig()
    support = []
    for w in w_rules:
        if not w.valid or clip.regions is None:
            support.append(None)
            continue
        s = int(round(w.t_start * fs))
        e = s + int(round((w.t_end - w.t_start) * fs))
        support.append(replicating_regions(clip.regions[s:e], fs, w.hr_bpm / 60.0, vcfg.region_tol_bpm, sig.band_hz,
                                           sig.order, sig.welch_seg_s, halfwidth_hz=sig.snr_halfwidth_hz))
    return Reading(w_off, w_on, v_off.valid, v_on.valid, support)


def stack() -> str:
    """``numpy X, OpenCV Y``: rendering and extraction differ a little between stacks."""
    import cv2

    return f"numpy {np.__version__}, OpenCV {cv2.__version__}"


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = clip_arguments(__doc__.splitlines()[0], argv)
    from tqdm import tqdm

    from edge_rppg.pulse.engines.registry import load_engine
    from edge_rppg.synth.rendered import rendered_extraction
    from edge_rppg.vitals.validity import ValidityConfig

    floor = ValidityConfig().region_min_share_colour
    names = [e for e in args.engines.split(",") if e] or engines()
    loaded = {Path(n).name: load_engine(n) for n in names}
    stats: Dict[str, Dict[str, int]] = {n: defaultdict(int) for n in loaded}
    shares: Dict[str, Dict[str, List[float]]] = {n: defaultdict(list) for n in loaded}
    records: List[List[Any]] = []
    todo = clips(args.seeds, args.duration) + issue_clips(args.duration)
    for label, cfg, seed, pulse in tqdm(todo, desc="clips", file=sys.stderr):
        ex = rendered_extraction(cfg, seed, args.cache)
        for name, eng in loaded.items():
            r = read_twice(ex, eng)
            s = stats[name]
            truth = window_truth(cfg, seed, r.off) if pulse else [math.nan] * len(r.off)
            for a, b, sup, t in zip(r.off, r.on, r.support, truth):
                kind = "pulseless" if not pulse else "right" if abs(a.hr_bpm - t) <= 3.0 else "wrong"
                s[f"{kind}_windows"] += 1
                s[f"{kind}_off"] += a.valid
                s[f"{kind}_on"] += b.valid
                if sup is not None:
                    records.append([name, label, seed, kind, a.t_start, a.hr_bpm, a.quality, sup.near, sup.share])
                    if kind == "right":
                        shares[name]["right"].append(sup.share)
                    elif kind == "pulseless" and sup.near >= 2:
                        shares[name]["pulseless"].append(sup.share)
            if not pulse:
                s["pulseless_clips"] += 1
                s["pulseless_clips_off"] += r.clip_off
                s["pulseless_clips_on"] += r.clip_on
    real_rows = []
    for clip, ex in real_clips():
        for name, eng in loaded.items():
            r = read_twice(ex, eng)
            ok = [x.share for x in r.support if x is not None]
            real_rows.append([clip, name, f"{sum(w.valid for w in r.off)}/{len(r.off)}",
                              f"{sum(w.valid for w in r.on)}/{len(r.on)}", f"{min(ok):.2f}" if ok else "–"])

    def pct(v: List[float]) -> str:
        a = np.asarray(v, dtype=float)
        return f"{np.percentile(a, 1):.2f} / {np.percentile(a, 5):.2f}" if a.size else "–"

    rows = []
    for name, s in stats.items():
        pl = shares[name]["pulseless"]
        rows.append([name, f"{s['right_off']} → {s['right_on']} of {s['right_windows']}",
                     f"{s['wrong_off']} → {s['wrong_on']} of {s['wrong_windows']}",
                     f"**{s['pulseless_off']} → {s['pulseless_on']}** of {s['pulseless_windows']}",
                     f"{s['pulseless_clips_off']} → {s['pulseless_clips_on']} of {s['pulseless_clips']}",
                     pct(shares[name]["right"]), f"{max(pl):.2f} ({len(pl)})" if pl else "– (0)"])
    body = (f"Stack: {stack()}. Rendered clips, {args.duration:g} s 320x240: the realistic conditions with a pulse "
            f"(seeds from 70,000), every synth preset with pulse_amplitude=0 (seeds from 7,000), {args.seeds} seeds "
            "each, and issue 25's two pulseless clips. Each engine's pulse is read twice, region check off → on "
            "(every other rule on, the colour check included). Right = within 3 bpm of the window's true HR. Share: "
            "the six meta-ROIs' mean share of in-band power near the window's HR, each ROI read through its own "
            "POS pulse, on the windows that pass every other per-window rule; the check needs 2 ROIs peaking "
            f"within 3 bpm of the HR and a share of at least {floor:.2f}.\n\n"
            + markdown_table(["engine", "right windows valid", "wrong windows valid", "pulseless windows valid",
                              "pulseless clips valid", "share, right windows (p1 / p5)",
                              "largest share, pulseless windows with ≥ 2 ROIs at their HR (windows)"], rows))
    if real_rows:
        body += ("\n\nReal clips with a contact PPG (validation only): valid windows with the region check off → on, "
                 "and the lowest share of the windows that pass every other per-window rule.\n\n"
                 + markdown_table(["clip", "engine", "valid windows, check off", "check on", "min share"], real_rows))
    finish(args, body, {"stats": {k: dict(v) for k, v in stats.items()}, "real": real_rows, "windows": records},
           f"Region check on colour streams ({stack()})", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
