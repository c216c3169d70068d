"""Where does the model's out-of-peak power on a real clip come from? Input rows vs the model.

For one clip with a contact PPG (``bench/bench_real.py``), on its MSTmap as the product
extracts it (model rate, invalid frames filled):

1. **Input**: per ROI row (63 subsets of the six meta-ROIs) and per colour trace (R, G, B
   as AC/DC, and the row's POS pulse, the ``acdc_pos`` model input), the whole-clip SNR at
   the reference HR and the share of in-band power at 80–100 bpm (``oop``), grouped by how
   many meta-ROIs a row holds and by meta-ROI.
2. **Model vs input**: the model's output on the real MSTmap and on edited MSTmaps —
   every row replaced by the whole-face row (the model sees only what POS sees), the
   rows holding one meta-ROI replaced by the whole face (one ROI's influence at a time),
   only the rows of the best meta-ROIs kept. For each: whole-clip oop, SNR at the
   reference, window quality range, window MAE vs the contact PPG. POS runs on the same
   whole-face row.
3. **Input channels**: the model with channels of its normalised input zeroed (only the
   per-row POS pulse kept; that pulse removed), and the plain mean over rows of its POS
   channel through the same windows and stitching: does the network add to, or take from,
   the candidate pulses it is handed?

    python bench/real_clip_diagnosis.py                        # the first real clip
    python bench/real_clip_diagnosis.py --engine out/x/model.onnx --json out/diag.json

Validation data only: this looks for a cause, it sets nothing.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))


def trace_stats(x: np.ndarray, fs: float, ref_bpm: float, band: Sequence[float]) -> Dict[str, float]:
    """SNR at ``ref_bpm`` (dB, ±0.1 Hz and harmonic vs the rest of the band) and oop share of one trace."""
    from bench_real import oop_share, spectrum

    from edge_rppg.vitals.dsp.filters import bandpass
    from edge_rppg.vitals.dsp.hr import spectral_snr_db

    y = bandpass(x - x.mean(), fs, tuple(band), 2)
    f, p = spectrum(y, fs)
    return {"snr": spectral_snr_db(f, p, ref_bpm / 60.0, tuple(band), 0.1), "oop": oop_share(y, fs, tuple(band))}


def pulse_summary(bvp: np.ndarray, fs: float, ref: Any, vt: np.ndarray, ref_bpm: float, cfg: Any) -> Dict[str, Any]:
    """Whole-clip oop / SNR at the reference, and per-window quality and error, of a pulse."""
    from bench_real import window_references

    from edge_rppg.vitals.dsp.filters import bandpass
    from edge_rppg.vitals.dsp.hr import windowed_hr

    s = trace_stats(bvp, fs, ref_bpm, cfg.band_hz)
    filt = bandpass(bvp, fs, cfg.band_hz, cfg.order)
    wins = windowed_hr(filt, fs, cfg)
    refs = window_references(ref, vt, [(w.t_start, w.t_end) for w in wins])
    q = np.array([w.quality for w in wins])
    err = np.array([w.hr_bpm - r for w, r in zip(wins, refs)])
    return {"oop": s["oop"], "snr_at_ref": s["snr"], "q_min": float(q.min()), "q_max": float(q.max()),
            "q_mean": float(q.mean()), "n_q_ge_1": int((q >= cfg.min_snr_db).sum()), "n": len(wins),
            "mae": float(np.mean(np.abs(err)))}


class _RowMean:
    """A stand-in engine with the model's window: the plain mean over ROI rows of one
    channel of the model's own normalised input (what the network would give if it only
    averaged its candidate pulses)."""

    def __init__(self, model: Any, channel: int) -> None:
        from types import SimpleNamespace

        self.info = SimpleNamespace(T=model.info.T, name="row mean", concurrent=False)
        self.input_norm, self.channel = model.input_norm, channel  # same windows as the model (its grid)

    def infer(self, window: np.ndarray) -> np.ndarray:
        """Mean over rows of the channel, NaN rows left out."""
        from edge_rppg.skin.mstmap import normalize_window

        x = normalize_window(window, self.input_norm)[..., self.channel].astype(np.float64)
        return np.nanmean(np.where(np.isfinite(x), x, np.nan), axis=1).astype(np.float32)


def input_channels(model: Any, mst: np.ndarray, fs: float, ref: Any, vt: np.ndarray, ref_bpm: float,
                   cfg: Any) -> Dict[str, Any]:
    """3. Which input channels the model's output rests on: the model with channels of its
    normalised window zeroed (only the per-row POS pulse kept; the POS pulse removed), and
    the plain row mean of its POS channel through the same windows and stitching. Only for
    models with the ``acdc_pos`` input."""
    from edge_rppg.pulse.windows import infer_clip
    from edge_rppg.skin import mstmap as M

    if getattr(model, "input_norm", "") != "acdc_pos":
        return {}
    orig = M.NORMALIZATIONS["acdc_pos"]

    def zeroed(channels: Sequence[int]) -> Any:
        def norm(x: np.ndarray) -> np.ndarray:
            y = orig(x)
            y[..., list(channels)] = 0.0
            return y
        return norm

    res: Dict[str, Any] = {}
    print("model with channels of its input zeroed, and the plain row mean of its POS channel (same windows):")
    variants = {"as extracted": None, "POS channel only (R, G, B, Y, U zeroed)": zeroed(range(M.POS_CHANNEL)),
                "POS channel zeroed": zeroed([M.POS_CHANNEL])}
    try:
        for name, fn in variants.items():
            M.NORMALIZATIONS["acdc_pos"] = fn or orig
            res[name] = pulse_summary(infer_clip(model, mst.astype(np.float32)).astype(np.float64), fs, ref, vt,
                                      ref_bpm, cfg)
    finally:
        M.NORMALIZATIONS["acdc_pos"] = orig
    res["row mean of the POS channel"] = pulse_summary(
        infer_clip(_RowMean(model, M.POS_CHANNEL), mst.astype(np.float32), workers=1).astype(np.float64), fs, ref, vt,
        ref_bpm, cfg)
    for name, s in res.items():
        print(f"  {name:42s} {s['oop']:.3f}  {s['snr_at_ref']:+5.1f}  {s['q_min']:+5.1f} … {s['q_max']:+5.1f} "
              f"({s['n_q_ge_1']}/{s['n']}) mean {s['q_mean']:+5.2f}  {s['mae']:.2f}")
    return res


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command line: see the module docstring."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clip", default="", help="clip folder (default: the first under ../shared/data/real)")
    p.add_argument("--engine", default="default", help="model engine spec (default: the shipped ONNX)")
    p.add_argument("--json", default="", metavar="PATH")
    args = p.parse_args(argv)

    from bench_real import discover, extract, load_reference, reference_hr, to_capture_clock, video_of

    from edge_rppg.processor.clip import _to_model_rate, _irregular
    from edge_rppg.pulse.engines.registry import load_engine
    from edge_rppg.skin.mstmap import SUBSET_MATRIX, normalize_acdc
    from edge_rppg.pulse.methods.pos import pos_rows
    from edge_rppg.skin.roi import META_ROI_NAMES
    from edge_rppg.pulse.windows import infer_clip

    clips = [Path(args.clip)] if args.clip else discover()
    if not clips:
        print("no real clip: skipped")
        return 0
    clip = clips[0]
    ref = load_reference(clip)
    ex, ecfg = extract(video_of(clip), progress=False)  # type: ignore[arg-type]
    cfg, fs = ecfg.signal, ecfg.model_fps
    mst, _ = _to_model_rate(ex, fs, _irregular(ex))
    vt = np.asarray(ex.timestamps_s, dtype=np.float64)
    ref_bpm = reference_hr(ref, *to_capture_clock(ref, vt, np.array([0.0, vt[-1] - vt[0] + 1.0 / ex.fps])))
    out: Dict[str, Any] = {"clip": clip.name, "ref_bpm": ref_bpm}

    # 1. input traces
    acdc = normalize_acdc(mst)
    posr = pos_rows(mst[..., :3].astype(np.float64), fs)
    rows: List[Dict[str, Any]] = []
    for r in range(mst.shape[1]):
        rec: Dict[str, Any] = {"row": r, "n_roi": int(SUBSET_MATRIX[r].sum()),
                               "rois": [META_ROI_NAMES[j] for j in np.flatnonzero(SUBSET_MATRIX[r])]}
        for c, name in enumerate("RGB"):
            rec[name] = trace_stats(acdc[:, r, c].astype(np.float64), fs, ref_bpm, cfg.band_hz)
        rec["POS"] = trace_stats(posr[:, r], fs, ref_bpm, cfg.band_hz)
        rows.append(rec)
    out["rows"] = rows
    print(f"{clip.name}: reference {ref_bpm:.2f} bpm; input traces (whole clip): SNR at the reference (dB) / oop")
    print("rows grouped by how many meta-ROIs they hold:")
    for k in range(1, 7):
        g = [r for r in rows if r["n_roi"] == k]
        print(f"  {k} ROI(s), {len(g):2d} rows: " + "  ".join(
            f"{ch} {np.mean([r[ch]['snr'] for r in g]):+5.1f}/{np.mean([r[ch]['oop'] for r in g]):.3f}"
            for ch in ("R", "G", "B", "POS")))
    print("single meta-ROI rows:")
    for r in rows:
        if r["n_roi"] == 1:
            print(f"  {r['rois'][0]:18s} " + "  ".join(f"{ch} {r[ch]['snr']:+5.1f}/{r[ch]['oop']:.3f}"
                                                   for ch in ("R", "G", "B", "POS")))

    # 2. model on edited inputs
    model = load_engine(args.engine)
    pos = load_engine("pos")
    whole = mst.shape[1] - 1
    variants: Dict[str, np.ndarray] = {"as extracted": mst}
    variants["every row = whole face"] = np.repeat(mst[:, whole:whole + 1], mst.shape[1], axis=1)
    for j, name in enumerate(META_ROI_NAMES):
        m = mst.copy()
        has = SUBSET_MATRIX[:, j] > 0
        m[:, has] = mst[:, whole:whole + 1]
        variants[f"rows with {name} = whole face"] = m
    single = {r["rois"][0]: r["POS"]["snr"] for r in rows if r["n_roi"] == 1}
    best = sorted(single, key=single.get, reverse=True)[:3]  # type: ignore[arg-type]
    keep = [i for i in range(mst.shape[1]) if all(META_ROI_NAMES[j] in best for j in np.flatnonzero(SUBSET_MATRIX[i]))]
    best_row = max(keep, key=lambda i: SUBSET_MATRIX[i].sum())
    m = mst.copy()
    drop = [i for i in range(mst.shape[1]) if i not in keep]
    m[:, drop] = mst[:, best_row:best_row + 1]
    variants[f"only rows of {'+'.join(best)}"] = m
    res: Dict[str, Any] = {}
    print(f"model ({Path(str(args.engine)).name}) on edited MSTmaps: oop / SNR at ref / window quality min..max "
          "(windows >= 1 dB) / window MAE")
    for name, x in variants.items():
        s = pulse_summary(infer_clip(model, x.astype(np.float32)).astype(np.float64), fs, ref, vt, ref_bpm, cfg)
        res[name] = s
        print(f"  {name:38s} {s['oop']:.3f}  {s['snr_at_ref']:+5.1f}  {s['q_min']:+5.1f} … {s['q_max']:+5.1f} "
              f"({s['n_q_ge_1']}/{s['n']})  {s['mae']:.2f}")
    s = pulse_summary(infer_clip(pos, mst).astype(np.float64), fs, ref, vt, ref_bpm, cfg)
    res["POS (whole face)"] = s
    print(f"  {'POS (whole face)':38s} {s['oop']:.3f}  {s['snr_at_ref']:+5.1f}  {s['q_min']:+5.1f} … "
          f"{s['q_max']:+5.1f} ({s['n_q_ge_1']}/{s['n']})  {s['mae']:.2f}")
    out["model"] = res
    out["channels"] = input_channels(model, mst, fs, ref, vt, ref_bpm, cfg)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
