"""Is it the real camera's non-pulse colour variation? Move it from the real clip into rendered ones.

The real clip's whole-face colour (relative change of R, G, B) is split into the part the
contact PPG explains (least squares on the band-passed PPG at its best lag) and the rest,
the residual; the residual is split again into its common (intensity: the same relative
change in R, G and B: exposure, light, shading) and its chroma part. Then:

- **rendered + real residual**: each rendered clip's MSTmap (every ROI row) is multiplied
  by ``1 + k · residual(t)`` (intensity only, chroma only, or both; ``k`` = 1 and 2, 2
  standing for a pulse half as strong against the same noise), and the model and POS are
  compared on it against the rendered truth;
- **real − intensity**: the real clip with its whole-face intensity residual divided out of
  every row, compared against the contact PPG;
- **real pulse on a pulseless rendered face**: the contact-PPG waveform on the fitted pulse
  colour direction (or on the renderer's), with the real residual (whole, intensity only,
  chroma only, none), multiplied into every row of pulseless rendered clips; and the
  renderer's own pulse waveform (at its drawn HR; at the real clip's HR with the template
  beat, real beat shapes, HRV 0.08, or a 4 bpm trend) on the real colour direction with the
  real residual: which part of the real signal costs the model
  its quality.

Y, U, V are recomputed from the edited R, G, B (BT.601, as the extractor does). Per
variant and engine: mean window quality (dB), window HR MAE, whole-clip SNR at the truth.

    python bench/noise_transplant.py
    python bench/noise_transplant.py --conditions still,"skin dark" --seeds 70000,70001 --json out/transplant.json

Validation data only: the real clip lends its noise to a diagnosis, nothing is fitted on it.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))


def real_residual(clip: Path) -> Tuple[np.ndarray, np.ndarray, Dict[str, Any], Any, np.ndarray, float]:
    """``(residual [N, 3], real MSTmap [N, 63, 6], fit info, reference, video times, ref bpm)`` of a real clip."""
    from bench_real import extract, load_reference, reference_hr, to_capture_clock, video_of

    from edge_rppg.processor.clip import _irregular, _to_model_rate
    from edge_rppg.vitals.dsp.filters import bandpass

    ref = load_reference(clip)
    ex, ecfg = extract(video_of(clip), progress=False)  # type: ignore[arg-type]
    fs = ecfg.model_fps
    mst, _ = _to_model_rate(ex, fs, _irregular(ex))
    vt = np.asarray(ex.timestamps_s, dtype=np.float64)
    ref_bpm = reference_hr(ref, *to_capture_clock(ref, vt, np.array([0.0, vt[-1] - vt[0] + 1.0 / ex.fps])))
    ppg = np.interp(to_capture_clock(ref, vt, np.arange(mst.shape[0]) / fs), ref.t, ref.ppg)
    rgb = mst[:, -1, :3].astype(np.float64)
    rel = rgb / rgb.mean(axis=0) - 1.0
    band = ecfg.signal.band_hz
    y = np.stack([bandpass(rel[:, c], fs, band, 2) for c in range(3)], axis=1)
    pz = bandpass(ppg, fs, band, 2)
    pz = pz / pz.std()
    best: Optional[Tuple[float, int, np.ndarray]] = None
    m = slice(int(fs), -int(fs))
    for lag in range(-int(fs), int(fs) + 1):
        pl = np.roll(pz, lag)
        w = np.linalg.lstsq(pl[m, None], y[m], rcond=None)[0].ravel()
        r2 = 1.0 - float(((y[m] - pl[m, None] * w) ** 2).sum() / (y[m] ** 2).sum())
        if best is None or r2 > best[0]:
            best = (r2, lag, w)
    assert best is not None
    r2, lag, w = best
    resid = rel - np.roll(pz, lag)[:, None] * w[None]
    resid = resid - resid.mean(axis=0)
    info = {"ppg_z": np.roll(pz, lag), "lag_s": lag / fs, "r2_inband": r2, "pulse_weights": w.tolist(),
            "pulse_dir": (w / np.linalg.norm(w)).tolist(),
            "inband_resid_intensity_share": float(np.var(bandpass(resid.mean(axis=1), fs, band, 2)) * 3 /
                                                  sum(np.var(bandpass(resid[:, c], fs, band, 2)) for c in range(3)))}
    return resid, mst, info, ref, vt, ref_bpm


def with_rgb(mst: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """``mst`` with R, G, B of every row multiplied by ``factor [N, 3]`` and Y, U, V recomputed."""
    from edge_rppg.skin.mstmap import rgb_to_yuv

    out = np.array(mst, dtype=np.float64, copy=True)
    n = min(out.shape[0], factor.shape[0])
    out = out[:n]
    out[..., :3] = out[..., :3] * factor[:n, None, :]
    out[..., 3:6] = rgb_to_yuv(out[..., :3])
    return out.astype(np.float32)


def score(engine: Any, mst: np.ndarray, cfg: Any, truth_windows: Any) -> Dict[str, float]:
    """Mean window quality, window MAE against ``truth_windows(windows) -> [bpm]``, share of windows ≥ the floor."""
    from edge_rppg.vitals.dsp.filters import bandpass
    from edge_rppg.vitals.dsp.hr import windowed_hr
    from edge_rppg.pulse.windows import infer_clip

    bvp = infer_clip(engine, mst).astype(np.float64)
    wins = windowed_hr(bandpass(bvp, 30.0, cfg.band_hz, cfg.order), 30.0, cfg)
    truth = truth_windows(wins)
    q = np.array([w.quality for w in wins])
    err = np.abs(np.array([w.hr_bpm for w in wins]) - np.array(truth))
    return {"quality": float(np.mean(q)), "mae": float(np.mean(err)), "pass": float(np.mean(q >= cfg.min_snr_db)),
            "right": float(np.mean(err <= 3.0))}


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command line: see the module docstring."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--conditions", default="still,skin medium,low light",
                   help="comma-separated bench_realistic conditions to render (20 s, 320x240)")
    p.add_argument("--seeds", default="70000,70001,80000,80001")
    p.add_argument("--engines", default="default,pos")
    p.add_argument("--cache", default=str(ROOT / "out" / "quality_calibration"))
    p.add_argument("--json", default="", metavar="PATH")
    p.add_argument("--no-record", action="store_true", help="do not write bench/RESULTS.md")
    args = p.parse_args(argv)

    from bench_real import discover, engine_specs, window_references
    from bench_realistic import clip_config

    from edge_rppg.vitals.dsp.config import SignalConfig
    from edge_rppg.vitals.dsp.hr import hr_from_psd
    from edge_rppg.pulse.engines.registry import load_engine
    from edge_rppg.synth.rendered import rendered_extraction
    from edge_rppg.synth.video_gen import physiology
    from edge_rppg.processor.clip import _irregular, _to_model_rate

    clips = discover()
    if not clips:
        print("no real clip: skipped")
        return 0
    resid, real_mst, info, ref, vt, ref_bpm = real_residual(clips[0])
    print(f"real clip {clips[0].name}: PPG lag {info['lag_s']:+.2f} s, in-band R² of the pulse fit {info['r2_inband']:.3f}, "
          f"pulse colour direction {np.round(info['pulse_dir'], 3).tolist()}, in-band residual intensity share "
          f"{info['inband_resid_intensity_share']:.3f}")
    cfg = SignalConfig()
    engines = {label: load_engine(s) for label, s in engine_specs(args.engines).items()}
    inten = np.repeat(resid.mean(axis=1, keepdims=True), 3, axis=1)
    chroma = resid - inten
    out: Dict[str, Any] = {"info": {k: v for k, v in info.items() if k != "ppg_z"}, "rendered": {}, "real": {}}
    rows: List[Tuple[str, Dict[str, Dict[str, float]]]] = []

    def real_truth(wins: Any) -> List[float]:
        return window_references(ref, vt, [(w.t_start, w.t_end) for w in wins])

    for name, factor in {"real as extracted": np.ones_like(resid), "real − intensity residual": 1.0 / (1.0 + inten),
                         "real − whole residual": 1.0 / (1.0 + resid)}.items():
        rows.append((name, {e: score(eng, with_rgb(real_mst, factor), cfg, real_truth) for e, eng in engines.items()}))
    variants = {"rendered": None, "+ intensity ×1": inten, "+ chroma ×1": chroma, "+ residual ×1": resid,
                "+ intensity ×2": 2 * inten, "+ residual ×2": 2 * resid}
    acc: Dict[str, Dict[str, List[Dict[str, float]]]] = {v: {e: [] for e in engines} for v in variants}
    for cond in [c.strip() for c in args.conditions.split(",") if c.strip()]:
        for seed in [int(s) for s in args.seeds.split(",") if s.strip()]:
            vcfg = clip_config(cond, seed, 20.0)
            ex = rendered_extraction(vcfg, seed, args.cache)
            mst, _ = _to_model_rate(ex, 30.0, _irregular(ex))
            phys = physiology(vcfg, seed)
            t = phys.frame_times_s

            def truth(wins: Any) -> List[float]:
                return [hr_from_psd(phys.bvp[(t >= w.t_start - 1e-6) & (t < w.t_end - 1e-6)],
                                    1.0 / float(t[1] - t[0]), cfg).hr_bpm for w in wins]

            for v, noise in variants.items():
                x = mst if noise is None else with_rgb(mst, 1.0 + noise)
                for e, eng in engines.items():
                    acc[v][e].append(score(eng, x, cfg, truth))
    # the real clip's own pulse (contact-PPG waveform on its fitted colour direction) on pulseless rendered faces
    pz = info["ppg_z"]
    w = np.asarray(info["pulse_weights"])
    from edge_rppg.synth.video_gen import PULSE_WEIGHTS, PRESETS, VideoSynthConfig

    w_rend = np.asarray(PULSE_WEIGHTS) / np.linalg.norm(PULSE_WEIGHTS) * np.linalg.norm(w) * np.sign(w.sum())
    pvariants = {"real pulse + real residual": pz[:, None] * w[None] + resid,
                 "real pulse, rendered colour + real residual": pz[:, None] * w_rend[None] + resid,
                 "real pulse + chroma residual": pz[:, None] * w[None] + chroma,
                 "real pulse + intensity residual": pz[:, None] * w[None] + inten,
                 "real pulse alone": pz[:, None] * w[None]}
    pacc: Dict[str, Dict[str, List[Dict[str, float]]]] = {v: {e: [] for e in engines} for v in pvariants}
    for seed in [int(s) for s in args.seeds.split(",") if s.strip()]:
        base = PRESETS["still"]
        rng = np.random.default_rng([seed, 29, len("still")])
        vcfg = VideoSynthConfig.from_dict({**base.to_dict(), "duration_s": 20.0, "hr_bpm": float(rng.uniform(55.0, 110.0)),
                                           "rf_hz": float(rng.uniform(0.15, 0.35)), "width": 320, "height": 240,
                                           "pulse_amplitude": 0.0})
        ex = rendered_extraction(vcfg, seed, args.cache)
        mst, _ = _to_model_rate(ex, 30.0, _irregular(ex))
        for v, sig in pvariants.items():
            for e, eng in engines.items():
                pacc[v][e].append(score(eng, with_rgb(mst, 1.0 + sig), cfg, real_truth))
        # the rendered pulse waveform (this clip's own physiology at its drawn HR) on the real colour direction
        for tag, over in (("its drawn HR", {}), ("the real clip's HR", {"hr_bpm": ref_bpm}),
                          ("the real HR, real beat shapes", {"hr_bpm": ref_bpm, "morphology": "real"}),
                          ("the real HR, HRV 0.08", {"hr_bpm": ref_bpm, "hrv": 0.08}),
                          ("the real HR ± 2 bpm trend", {"hr_bpm": ref_bpm, "hr_trend_bpm": 4.0})):
            phys = physiology(VideoSynthConfig.from_dict({**vcfg.to_dict(), "pulse_amplitude": 0.015, **over}), seed)
            tt = phys.frame_times_s
            b = np.asarray(phys.bvp, dtype=np.float64)[:mst.shape[0]]
            b = (b - b.mean()) / b.std()
            n = min(b.size, resid.shape[0])

            def rtruth(wins: Any, phys: Any = phys, tt: np.ndarray = tt) -> List[float]:
                return [hr_from_psd(phys.bvp[(tt >= w.t_start - 1e-6) & (tt < w.t_end - 1e-6)],
                                    1.0 / float(tt[1] - tt[0]), cfg).hr_bpm for w in wins]

            for v, noise in {f"rendered waveform at {tag}, real colour + real residual": resid[:n],
                             f"rendered waveform at {tag}, real colour alone": 0 * resid[:n]}.items():
                pacc.setdefault(v, {e: [] for e in engines})
                for e, eng in engines.items():
                    pacc[v][e].append(score(eng, with_rgb(mst[:n], 1.0 + b[:n, None] * w[None] + noise), cfg, rtruth))
    for v in pacc:
        rows.append((v + " (pulseless rendered face)", {e: {k: float(np.mean([s[k] for s in pacc[v][e]]))
                                                           for k in ("quality", "mae", "pass", "right")} for e in engines}))
    for v in variants:
        rows.append((v, {e: {k: float(np.mean([s[k] for s in acc[v][e]])) for k in ("quality", "mae", "pass", "right")}
                         for e in engines}))
    print(f"{'variant':30s}" + "".join(f"{e + ': quality / MAE / >=floor / right':>52s}" for e in engines))
    for name, per in rows:
        print(f"{name:30s}" + "".join(f"{per[e]['quality']:+22.2f} / {per[e]['mae']:5.2f} / {per[e]['pass']:.2f} / "
                                      f"{per[e]['right']:.2f}" for e in engines))
        out["real" if name.startswith("real") else "rendered"][name] = per
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=1))
    if not args.no_record:
        from results import markdown_table, record

        table = markdown_table(["variant"] + [f"{e}: quality (dB) / MAE / share ≥ floor / share within 3 bpm"
                                              for e in engines],
                               [[name] + [f"{per[e]['quality']:+.2f} / {per[e]['mae']:.2f} / {per[e]['pass']:.2f} / "
                                          f"{per[e]['right']:.2f}" for e in engines] for name, per in rows])
        record("Real clip's pulse and non-pulse colour moved onto rendered faces (model vs POS)",
               f"Real clip {clips[0].name}: contact-PPG lag {info['lag_s']:+.2f} s, in-band R² of the pulse fit "
               f"{info['r2_inband']:.3f}, pulse colour direction {np.round(info['pulse_dir'], 3).tolist()}, share of "
               f"the in-band residual along intensity {info['inband_resid_intensity_share']:.3f}. Rendered: "
               f"{args.conditions} x seeds {args.seeds} (20 s, 320x240); pulseless rendered face: the still preset "
               "with pulse_amplitude 0, same seeds. Means over clips of the window quality, window HR MAE vs the "
               "truth (contact PPG for the real pulse, rendered pulse otherwise), share of windows at or above the "
               "1 dB floor, share within 3 bpm.\n\n" + table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
