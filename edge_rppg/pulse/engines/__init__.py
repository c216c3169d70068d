"""Engines turn one MSTmap window into a pulse (BVP) signal: classic training-free
methods, the PyTorch reference model, ONNX Runtime and TensorRT, all behind the
:class:`~edge_rppg.pulse.engines.base.Engine` protocol and chosen by ``load_engine``."""
from .base import Engine, EngineInfo

__all__ = ["Engine", "EngineInfo"]
