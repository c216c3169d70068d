"""LGI and OMIT: remove the dominant colour direction (skin tone / intensity, where
illumination and motion live) by an orthogonal projection and keep the green
residual.

LGI (Pilz et al. 2018, "Local group invariance") finds the direction by SVD; OMIT
(Casado & López 2023, "Orthogonal matrix image transformation") by a QR
decomposition. Both run on the raw colour means in 1.6 s Hann overlap-add windows
(the dominant direction drifts with illumination and pose).
"""
from __future__ import annotations

import numpy as np

from ._common import as_rgb, overlap_add, window_len


def _project_out(seg: np.ndarray, direction: np.ndarray) -> np.ndarray:
    s = direction / max(np.linalg.norm(direction), 1e-12)
    y = seg - np.outer(seg @ s, s)  # (I - s s^T) applied to each colour sample
    # the pulse (blood signature, strongest in G) points against +G in the
    # residual for skin tones, so flip to make the output rise with blood volume
    return -y[:, 1]


def _lgi_window(seg: np.ndarray) -> np.ndarray:
    u, _, _ = np.linalg.svd(seg.T, full_matrices=False)  # [3, 3]; u[:, 0] = dominant colour direction
    return _project_out(seg, u[:, 0])


def _omit_window(seg: np.ndarray) -> np.ndarray:
    q, _ = np.linalg.qr(seg.T)  # first column spans the first colour sample: the skin tone
    return _project_out(seg, q[:, 0])


def lgi(rgb: np.ndarray, fs: float, win_s: float = 1.6) -> np.ndarray:
    """LGI pulse (positive with blood volume)."""
    x = as_rgb(rgb, "lgi")
    return overlap_add(x, window_len(fs, win_s), _lgi_window)


def omit(rgb: np.ndarray, fs: float, win_s: float = 1.6) -> np.ndarray:
    """OMIT pulse (positive with blood volume)."""
    x = as_rgb(rgb, "omit")
    return overlap_add(x, window_len(fs, win_s), _omit_window)
