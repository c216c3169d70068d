"""Accuracy metrics of HR estimates (MAE, RMSE, Pearson r, Bland–Altman), as in the
tables of the Cluster-Phys paper, and a Bland–Altman plot for reports."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Dict, Tuple, Union

import numpy as np

from ..errors import ShapeError


def _pairs(pred: object, true: object) -> Tuple[np.ndarray, np.ndarray]:
    """Paired finite values of two equally long 1-D sequences (pairs with a NaN or
    None on either side are dropped: an estimator's "no valid reading")."""
    p = np.asarray(pred, dtype=np.float64).ravel()
    t = np.asarray(true, dtype=np.float64).ravel()
    if p.shape != t.shape:
        raise ShapeError(f"pred has {p.size} values but true has {t.size}; expected equal lengths")
    ok = np.isfinite(p) & np.isfinite(t)
    return p[ok], t[ok]


def mae(pred: object, true: object) -> float:
    """Mean absolute error over finite pairs (NaN when there are none)."""
    p, t = _pairs(pred, true)
    return float(np.mean(np.abs(p - t))) if p.size else math.nan


def rmse(pred: object, true: object) -> float:
    """Root-mean-square error over finite pairs (NaN when there are none)."""
    p, t = _pairs(pred, true)
    return float(np.sqrt(np.mean((p - t) ** 2))) if p.size else math.nan


def pearson(pred: object, true: object) -> float:
    """Pearson correlation over finite pairs (NaN with < 2 pairs or a constant side)."""
    p, t = _pairs(pred, true)
    if p.size < 2:
        return math.nan
    pc, tc = p - p.mean(), t - t.mean()
    den = math.sqrt(float(pc @ pc) * float(tc @ tc))
    return float(pc @ tc / den) if den > 0 else math.nan


def summary(pred: object, true: object) -> Dict[str, float]:
    """``mae, rmse, pearson``, Bland–Altman ``bias`` (mean pred − true), ``sd`` of the
    differences, ``loa_low``/``loa_high`` (bias ∓ 1.96 sd), ``n`` finite pairs and
    ``n_total`` pairs given."""
    p, t = _pairs(pred, true)
    d = p - t
    sd = float(np.std(d, ddof=1)) if d.size > 1 else math.nan
    bias = float(d.mean()) if d.size else math.nan
    return {
        "mae": mae(pred, true), "rmse": rmse(pred, true), "pearson": pearson(pred, true),
        "bias": bias, "sd": sd, "loa_low": bias - 1.96 * sd, "loa_high": bias + 1.96 * sd,
        "n": int(d.size), "n_total": int(np.asarray(true).size),
    }


def bland_altman_plot(pred: object, true: object, path: Union[str, Path], title: str = "Bland-Altman") -> Path:
    """Save a Bland–Altman plot (difference against mean, bias and 95 % limits) to ``path``.

    Uses matplotlib's Agg canvas directly, so it works headless and never changes the
    global pyplot backend. The format follows the suffix (png, pdf, svg).
    """
    from edge_rppg.extras import require
    require("matplotlib", "plot")  # missing: one line naming the extra to install
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    p, t = _pairs(pred, true)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(5.0, 4.0), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    s = summary(p, t)
    mean, diff = (p + t) / 2.0, p - t
    ax.scatter(mean, diff, s=14, alpha=0.7)
    if p.size:
        ax.axhline(s["bias"], color="k", lw=1, label=f"bias {s['bias']:.2f}")
    if p.size > 1:
        for k in ("loa_low", "loa_high"):
            ax.axhline(s[k], color="r", lw=1, ls="--")
        ax.plot([], [], color="r", ls="--", label=f"95% LoA [{s['loa_low']:.2f}, {s['loa_high']:.2f}]")
    ax.set_xlabel("mean of estimate and reference (bpm)")
    ax.set_ylabel("estimate - reference (bpm)")
    ax.set_title(f"{title} (n={p.size}, MAE {s['mae']:.2f}, RMSE {s['rmse']:.2f})")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    return path
