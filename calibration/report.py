"""INT8 against FP32 on held-out synthetic clips: does quantisation change the vital sign?

Each clip (``SynthConfig`` defaults: every HR, light and motion condition, seeds far from
the calibration seeds) is run through both engines with the same windowing the SDK uses
(:func:`edge_rppg.pulse.windows.infer_clip`), then the HR of each pulse is taken with
:func:`edge_rppg.vitals.readings.window_hr`, the SDK's one window-HR function. Reported: the HR MAE of INT8 vs FP32 (goal ≤ 0.3 bpm),
the Pearson r between the INT8 and FP32 pulses (goal ≥ 0.99, mean and worst clip), and —
for context — each engine's HR MAE against the ground truth.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Union

import numpy as np

__all__ = ["Int8Report", "int8_report", "HR_MAE_GOAL_BPM", "PEARSON_GOAL", "HELD_OUT_SEED"]

HR_MAE_GOAL_BPM = 0.3
PEARSON_GOAL = 0.99
#: first seed of the held-out clips (calibration seeds are < 100 000)
HELD_OUT_SEED = 2_000_000


@dataclass
class Int8Report:
    """Numbers of :func:`int8_report`."""

    clips: int
    clip_frames: int
    hr_mae_int8_vs_fp32_bpm: float
    hr_max_abs_diff_bpm: float
    pearson_mean: float
    pearson_min: float
    hr_mae_fp32_vs_truth_bpm: float
    hr_mae_int8_vs_truth_bpm: float
    fp32: str
    int8: str

    @property
    def hr_goal_met(self) -> bool:
        """HR MAE INT8 vs FP32 within :data:`HR_MAE_GOAL_BPM`."""
        return self.hr_mae_int8_vs_fp32_bpm <= HR_MAE_GOAL_BPM

    @property
    def pearson_goal_met(self) -> bool:
        """Mean Pearson r of the pulses at least :data:`PEARSON_GOAL`."""
        return self.pearson_mean >= PEARSON_GOAL

    def to_dict(self) -> Dict[str, Any]:
        """JSON-able, with the goal flags."""
        return {**asdict(self), "hr_goal_bpm": HR_MAE_GOAL_BPM, "hr_goal_met": self.hr_goal_met,
                "pearson_goal": PEARSON_GOAL, "pearson_goal_met": self.pearson_goal_met}


def int8_report(fp32_path: Union[str, Path], int8_path: Union[str, Path], n_clips: int = 50,
                clip_s: float = 20.0, seed: int = HELD_OUT_SEED, threads: Optional[int] = 1) -> Int8Report:
    """Compare the two ONNX files on ``n_clips`` held-out synthetic clips of ``clip_s`` seconds."""
    from edge_rppg.pulse.engines.onnx_engine import OnnxRuntimeEngine
    from edge_rppg.model_file import MODEL_FPS
    from edge_rppg.synth.mstmap_gen import SynthConfig, synth_mstmap
    from edge_rppg.pulse.windows import infer_clip
    from edge_rppg.vitals.readings import window_hr

    fp32 = OnnxRuntimeEngine(fp32_path, intra_op_threads=threads)
    int8 = OnnxRuntimeEngine(int8_path, intra_op_threads=threads)
    if fp32.T != int8.T:
        raise ValueError(f"{fp32_path} has T={fp32.T} but {int8_path} has T={int8.T}")
    frames = max(int(round(clip_s * MODEL_FPS)), fp32.T)
    cfg = SynthConfig(T=frames, fps=MODEL_FPS)
    hr_a, hr_b, truth, rs = [], [], [], []
    for i in range(int(n_clips)):
        sample = synth_mstmap(cfg, seed + i)
        a = infer_clip(fp32, sample.mstmap)
        b = infer_clip(int8, sample.mstmap)
        hr_a.append(window_hr(a, MODEL_FPS).hr_bpm)
        hr_b.append(window_hr(b, MODEL_FPS).hr_bpm)
        truth.append(float(sample.hr_bpm))
        rs.append(float(np.corrcoef(a, b)[0, 1]) if np.std(a) > 0 and np.std(b) > 0 else float("nan"))
    ha, hb, ht, r = (np.asarray(v, dtype=np.float64) for v in (hr_a, hr_b, truth, rs))
    return Int8Report(clips=int(n_clips), clip_frames=frames,
                      hr_mae_int8_vs_fp32_bpm=float(np.nanmean(np.abs(hb - ha))),
                      hr_max_abs_diff_bpm=float(np.nanmax(np.abs(hb - ha))),
                      pearson_mean=float(np.nanmean(r)), pearson_min=float(np.nanmin(r)),
                      hr_mae_fp32_vs_truth_bpm=float(np.nanmean(np.abs(ha - ht))),
                      hr_mae_int8_vs_truth_bpm=float(np.nanmean(np.abs(hb - ht))),
                      fp32=str(fp32_path), int8=str(int8_path))
