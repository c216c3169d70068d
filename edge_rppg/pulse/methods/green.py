"""GREEN (Verkruysse et al. 2008): the green channel alone, where haemoglobin absorbs most."""
from __future__ import annotations

import numpy as np

from ._common import as_rgb, normalise


def green(rgb: np.ndarray, fs: float) -> np.ndarray:
    """Inverted, mean-normalised green trace ``-(G/mean(G) - 1)`` (rises with blood volume)."""
    x = as_rgb(rgb, "green")
    return -normalise(x)[:, 1]
