"""Does real H.264 explain the model's broadband output on real video? Rendered clips, before and after x264.

Issue 23 asks why the shipped model's pulse carries more out-of-peak power than POS's on
the real webcam clip (H.264). This renders face videos (:mod:`edge_rppg.synth.video_gen`,
lossless), re-encodes each through a real H.264 encoder (libx264 in ffmpeg: ``$FFMPEG``,
``ffmpeg`` on the PATH, or imageio-ffmpeg's) at several CRFs, and runs every version
through the full pipeline (the product's front end, then the clip back end) with the model
and POS. Variants: ``lossless`` (the rendered file), ``x264 crf 0 420`` (lossless x264 on
4:2:0 YUV: only the colour conversion and chroma subsampling), ``x264 crf N`` (4:2:0,
``-preset medium``).

Per variant and engine: window HR MAE against the rendered pulse, mean window quality (dB),
valid windows, and the whole-clip pulse's ``off-peak`` share: in-band power farther than
0.1 Hz from the true HR and its harmonic (what lowers the SNR quality).

    python bench/codec_effect.py                                   # 3 seeds, still / weak pulse / motion, CRF 0/20/26/30
    python bench/codec_effect.py --seeds 2 --crf 23,30 --conditions still --json out/codec.json
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

#: condition -> VideoSynthConfig overrides (640x480 at 30 fps, like the real webcam clip)
CONDITIONS: Dict[str, Dict[str, Any]] = {
    "still": {"motion": "still"},
    "weak pulse": {"motion": "still", "pulse_amplitude": 0.006},
    "moderate motion": {"motion": "moderate"},
}
WORK = ROOT / "out" / "codec_effect"


def encode(ffmpeg: str, src: Path, dst: Path, crf: int) -> Path:
    """``src`` re-encoded by libx264 at ``crf`` (4:2:0, preset medium) into ``dst`` (kept when present)."""
    if not dst.exists():
        subprocess.run([ffmpeg, "-y", "-loglevel", "error", "-i", str(src), "-c:v", "libx264", "-preset", "medium",
                        "-crf", str(crf), "-pix_fmt", "yuv420p", str(dst)], check=True)
    return dst


def off_peak_share(bvp: np.ndarray, fs: float, hr_bpm: float, band: Tuple[float, float]) -> float:
    """Share of the in-band periodogram power farther than 0.1 Hz from ``hr_bpm`` and its harmonic."""
    from bench_real import spectrum

    f, p = spectrum(bvp, fs)
    inb = (f >= band[0]) & (f <= band[1])
    f0 = hr_bpm / 60.0
    near = (np.abs(f - f0) <= 0.1) | (np.abs(f - 2 * f0) <= 0.1)
    return float(p[inb & ~near].sum() / max(p[inb].sum(), 1e-30))


def run(seeds: Sequence[int], crfs: Sequence[int], conditions: Sequence[str], engines: Dict[str, Any],
        ffmpeg: str, work: Path, progress: bool = True) -> List[Dict[str, Any]]:
    """One record per (condition, seed, variant, engine)."""
    from bench_real import extract
    from bench_realistic import window_errors
    from tqdm import tqdm

    from edge_rppg.processor.clip import estimate_extraction
    from edge_rppg.vitals.dsp.hr import spectral_snr_db
    from edge_rppg.synth.video_gen import VideoSynthConfig, physiology, synth_video

    work.mkdir(parents=True, exist_ok=True)
    out: List[Dict[str, Any]] = []
    jobs = [(c, s) for c in conditions for s in seeds]
    for cond, seed in tqdm(jobs, desc="clips", unit="clip", disable=not progress):
        rng = np.random.default_rng([seed, 41])
        cfg = VideoSynthConfig(duration_s=20.0, hr_bpm=float(rng.uniform(58, 100)), rf_hz=float(rng.uniform(0.15, 0.35)),
                               **CONDITIONS[cond])
        stem = f"{cond.replace(' ', '_')}_{seed}"
        src = work / f"{stem}.avi"
        if not src.exists():
            synth_video(src, cfg, seed=seed)
        phys = physiology(cfg, seed)
        variants = {"lossless": src}
        variants.update({f"x264 crf {c}": encode(ffmpeg, src, work / f"{stem}_crf{c}.mp4", c) for c in crfs})
        for var, path in variants.items():
            ex, ecfg = extract(path, progress=False)
            for label, eng in engines.items():
                est = estimate_extraction(ex, eng, ecfg)
                errs, valid = window_errors(est, phys)
                bvp = np.asarray(est.bvp, dtype=np.float64)
                from bench_real import spectrum

                f, p = spectrum(bvp, est.bvp_fs)
                out.append({"condition": cond, "seed": seed, "hr": cfg.hr_bpm, "variant": var, "engine": label,
                            "mae": float(np.nanmean(errs)), "quality": float(np.nanmean([w.quality for w in est.windows])),
                            "valid": float(np.mean(valid)),
                            "off_peak": off_peak_share(bvp, est.bvp_fs, cfg.hr_bpm, ecfg.signal.band_hz),
                            "snr_at_truth": spectral_snr_db(f, p, cfg.hr_bpm / 60.0, ecfg.signal.band_hz, 0.1),
                            "bytes": path.stat().st_size})
    return out


def summarise(records: Sequence[Dict[str, Any]]) -> str:
    """Markdown: per condition, variant and engine the means over seeds."""
    from results import markdown_table

    keys = sorted({(r["condition"], r["variant"]) for r in records},
                  key=lambda k: (list(CONDITIONS).index(k[0]) if k[0] in CONDITIONS else 99,
                                 -1 if k[1] == "lossless" else int(k[1].split()[-1])))
    engines = list(dict.fromkeys(r["engine"] for r in records))
    header = ["condition", "variant"] + [f"{e}: MAE / quality / valid / off-peak" for e in engines]
    rows = []
    for cond, var in keys:
        row: List[object] = [cond, var]
        for e in engines:
            rs = [r for r in records if r["condition"] == cond and r["variant"] == var and r["engine"] == e]
            row.append(" / ".join([f"{np.mean([r['mae'] for r in rs]):.2f}", f"{np.mean([r['quality'] for r in rs]):+.1f}",
                                   f"{np.mean([r['valid'] for r in rs]):.2f}", f"{np.mean([r['off_peak'] for r in rs]):.3f}"]))
        rows.append(row)
    return markdown_table(header, rows)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command line: see the module docstring."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--seed0", type=int, default=5000)
    p.add_argument("--crf", default="0,20,26,30", help="comma-separated x264 CRFs")
    p.add_argument("--conditions", default=",".join(CONDITIONS), help="comma-separated subset (names as listed)")
    p.add_argument("--engines", default="default,pos", help="as bench_real.py --engines")
    p.add_argument("--work", default=str(WORK))
    p.add_argument("--json", default="", metavar="PATH")
    p.add_argument("--records", default="", metavar="PATH", help="summarise the records of an earlier --json run")
    p.add_argument("--no-record", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)

    from bench_end_to_end import find_ffmpeg
    from bench_real import engine_specs

    from edge_rppg.pulse.engines.registry import load_engine

    ffmpeg = find_ffmpeg()
    if ffmpeg is None:
        print("no ffmpeg (set $FFMPEG, put ffmpeg on the PATH or pip install imageio-ffmpeg): skipped")
        return 0
    engines = {label: load_engine(s) for label, s in engine_specs(args.engines).items()}
    wanted = [x.strip() for x in args.conditions.split(",") if x.strip()]
    unknown = [c for c in wanted if c not in CONDITIONS]
    if unknown:
        p.error(f"unknown condition(s) {unknown}; known: {', '.join(CONDITIONS)}")
    conds = [c for c in CONDITIONS if c in wanted]
    t0 = time.perf_counter()
    if args.records:
        recs = json.loads(Path(args.records).read_text())
    else:
        recs = run([args.seed0 + i for i in range(args.seeds)], [int(c) for c in args.crf.split(",") if c.strip()],
                   conds, engines, ffmpeg, Path(args.work), progress=not args.no_progress)
    table = summarise(recs)
    from results import finish

    finish(args, f"{table}\n({len(recs)} records, {time.perf_counter() - t0:.0f} s)", recs,
           "H.264 effect on the model's and POS's pulse (rendered clips, libx264)",
           "Rendered 640x480 20 s clips, lossless vs re-encoded by libx264 (4:2:0, preset medium); means over seeds. "
           "MAE = window HR error vs the rendered pulse (bpm); quality = mean window SNR (dB); valid = share of "
           "valid windows; off-peak = share of the whole-clip pulse's in-band power farther than 0.1 Hz from the "
           "true HR and its harmonic." + (f" Records of an earlier run ({args.records}): the 2026-12-07 one was "
                                           "`python bench/codec_effect.py --seeds 2 --json out/codec/codec.json`."
                                           if args.records else "") + "\n\n" + table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
