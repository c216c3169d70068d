"""PyTorch reference engine: Cluster-Phys in eager mode, from a checkpoint or a model object.

It is the ground truth the exported engines are compared with (same contract: raw MSTmap
window ``[T, 63, 6]`` float32 in, BVP ``[T]`` out, normalisation applied here), and the
engine of ``.pt`` checkpoints in :func:`edge_rppg.pulse.engines.registry.load_engine`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

import numpy as np
from edge_rppg.extras import require
require("torch", "train")  # missing: one line naming the extra to install
import torch
from torch import nn

from ...errors import ModelFileError, ShapeError
from ...frames.color import MSTMAP_CHANNELS
from ...frames.validation import N_ROI_COMBOS, check_mstmap
from ...skin.mstmap import color_space_of, input_norm_of, normalize_window
from .base import EngineInfo

__all__ = ["TorchEngine"]


class TorchEngine:
    """Run a Cluster-Phys model with PyTorch on the CPU (or ``device``).

    ``path_or_model``: a checkpoint written by
    :func:`edge_rppg.pulse.models.checkpoint.save_checkpoint`, or a model instance (used as is,
    switched to eval mode). ``threads`` sets ``torch.set_num_threads`` when given.
    """

    def __init__(self, path_or_model: Union[str, Path, nn.Module], device: str = "cpu",
                 threads: Optional[int] = None) -> None:
        if isinstance(path_or_model, nn.Module):
            model, name = path_or_model, type(path_or_model).__name__
        else:
            from ..models.checkpoint import load_checkpoint

            path = Path(path_or_model)
            model, _ = load_checkpoint(path)  # raises ModelFileError for missing/corrupt files
            name = path.name
        config = getattr(model, "config", None)
        if config is None or not hasattr(config, "T"):
            raise ModelFileError(f"{name}: model has no config with a window length T")
        if threads is not None:
            torch.set_num_threads(int(threads))
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.input_norm = input_norm_of(model)  # the window normalisation the model was trained on
        self.T = int(config.T)
        self.color_space = color_space_of(model)  # which MSTmap it reads (rgb: 6 channels, gray: 1)
        self.channels = len(MSTMAP_CHANNELS[self.color_space])
        self.info = EngineInfo(name=f"torch:{name}", T=self.T, precision="fp32", provider=f"torch-{self.device.type}",
                               color_space=self.color_space)

    def infer(self, mstmap: np.ndarray) -> np.ndarray:
        """Raw MSTmap window ``[T, 63, C]`` float32 (C = 6 colour, 1 gray) → BVP ``[T]`` float32."""
        if isinstance(mstmap, np.ndarray) and mstmap.ndim == 3 and mstmap.shape[1:] == (N_ROI_COMBOS, self.channels) \
                and mstmap.shape[0] != self.T:
            raise ShapeError(f"the window has T={mstmap.shape[0]} frames but this model was built for T={self.T}; "
                             f"feed {self.T}-frame windows")
        x = check_mstmap(mstmap, T=self.T, channels=self.channels)
        with torch.inference_mode():
            y = self.model(torch.from_numpy(normalize_window(x, self.input_norm))[None].to(self.device))
        return y.reshape(self.T).float().cpu().numpy()

    def __repr__(self) -> str:
        return f"TorchEngine({self.info.name!r}, T={self.T}, device={self.device})"
