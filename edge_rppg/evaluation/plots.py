"""Figures a user looks at: the BVP, its spectrum and HR over time for one estimate.
Uses matplotlib's Agg backend so it works headless (cars, kiosks, CI)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Union

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from ..processor.clip import Estimate


def plot_estimate(est: "Estimate", path: Union[str, Path], truth_bpm: float | None = None) -> Path:
    """Write a 3-panel PNG: BVP over time, its PSD with the HR peak, window HR over time."""
    from edge_rppg.extras import require
    require("matplotlib", "plot")  # missing: one line naming the extra to install
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.signal import welch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fs = est.bvp_fs
    t = np.arange(len(est.bvp)) / fs
    fig, axes = plt.subplots(3, 1, figsize=(10, 8), constrained_layout=True)
    axes[0].plot(t, est.bvp, lw=0.8, color="tab:red")
    axes[0].set(title=f"BVP ({est.engine.name})", xlabel="time (s)", ylabel="a.u.")
    f, p = welch(est.bvp, fs=fs, nperseg=min(len(est.bvp), int(fs * 10)), nfft=8192)
    band = (f >= 0.5) & (f <= 4.0)
    axes[1].plot(f[band] * 60, p[band], color="tab:blue")
    if est.hr_bpm is not None:
        axes[1].axvline(est.hr_bpm, color="k", ls="--", label=f"HR {est.hr_bpm:.1f} bpm")
    if truth_bpm is not None:
        axes[1].axvline(truth_bpm, color="tab:green", ls=":", label=f"truth {truth_bpm:.1f} bpm")
    axes[1].set(title="power spectrum", xlabel="bpm", ylabel="PSD")
    axes[1].legend(loc="upper right")
    mids = [0.5 * (w.t_start + w.t_end) for w in est.windows]
    hrs = [np.nan if w.hr_bpm is None else w.hr_bpm for w in est.windows]
    ok = np.array([w.valid for w in est.windows], dtype=bool)
    mids_a, hrs_a = np.asarray(mids), np.asarray(hrs, dtype=float)
    axes[2].plot(mids_a[ok], hrs_a[ok], "o-", color="tab:red", label="valid")
    if (~ok).any():
        axes[2].plot(mids_a[~ok], hrs_a[~ok], "x", color="gray", label="invalid")
    if truth_bpm is not None:
        axes[2].axhline(truth_bpm, color="tab:green", ls=":", label="truth")
    axes[2].set(title="HR per window", xlabel="time (s)", ylabel="bpm")
    axes[2].legend(loc="upper right")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
