"""The light falling on the scene, measured off the skin: :func:`off_face_light`.

The artefact gate (:mod:`edge_rppg.vitals.validity`) compares it with the pulse, so a lamp
or a screen that changes at a pulse-like rate is not taken for a heartbeat.
"""
from __future__ import annotations

import math
from typing import Optional, Tuple

import cv2
import numpy as np

__all__ = ["LIGHT_STEP", "off_face_light"]

#: The off-face light is measured on every ``LIGHT_STEP``-th pixel of every ``LIGHT_STEP``-th row.
LIGHT_STEP = 8


def off_face_light(frame: np.ndarray, box: Optional[Tuple[float, float, float, float]]) -> np.ndarray:
    """Mean R, G, B of ``frame`` outside the face ``box`` (x0, y0, x1, y1; None: the whole
    frame), float64 ``[3]``; for an ``HxW`` gray frame its mean intensity, ``[1]``.

    Measured on a nearest-neighbour 1/``LIGHT_STEP`` subsample (one pixel in 64: ~0.06 ms
    at 640x480; thousands of pixels still average the sensor noise far below a 0.1 % light
    change). When the face box covers more than 90 % of the frame the result is NaN (no
    measure: the gate then uses head motion only).
    """
    h, w = frame.shape[:2]
    sw, sh = max(w // LIGHT_STEP, 1), max(h // LIGHT_STEP, 1)
    small = cv2.resize(frame, (sw, sh), interpolation=cv2.INTER_NEAREST)
    n = sw * sh
    ch = 1 if frame.ndim == 2 else 3
    total = np.asarray(cv2.mean(small)[:ch], dtype=np.float64) * n
    if box is None or not all(math.isfinite(float(v)) for v in box):
        return total / float(n)
    fx, fy = sw / w, sh / h
    x0, y0 = max(int(box[0] * fx), 0), max(int(box[1] * fy), 0)
    x1, y1 = min(int(math.ceil(box[2] * fx)), sw), min(int(math.ceil(box[3] * fy)), sh)
    n_box = max(x1 - x0, 0) * max(y1 - y0, 0)
    if n_box >= 0.9 * n:
        return np.full(ch, np.nan)
    inside = np.asarray(cv2.mean(small[y0:y1, x0:x1])[:ch], dtype=np.float64) * n_box if n_box else 0.0
    return (total - inside) / float(n - n_box)
