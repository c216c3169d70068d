"""Index of the stream processor's stages (one module per job; this one only re-exports).

- :mod:`edge_rppg.stage_base`: :class:`Packet`, :class:`Stage`, :class:`StageTimer`, reset reasons;
- :mod:`edge_rppg.frame_stages`: ``input``, ``landmarks``, ``roi`` (the per-frame front);
- :mod:`edge_rppg.window_stage`: ``window`` (model-rate resampling, bridging, windows);
- :mod:`edge_rppg.signal_stages`: ``engine``, ``vitals``.

:class:`edge_rppg.processor.StreamProcessor` runs them in that fixed order.
"""
from __future__ import annotations

from .frame_stages import FaceSelector, InputStage, LandmarksStage, RoiAverageStage, make_face_selector
from .signal_stages import EngineStage, VitalsStage
from .stage_base import (RESET_FACE_LOST, RESET_FRAME_GAP, RESET_MANUAL, RESET_REASONS, RESET_TIME_BACKWARDS,
                         Packet, Stage, StageTimer)
from .window_stage import DEFAULT_CLASSIC_WINDOW, MstmapWindowStage

__all__ = ["RESET_FACE_LOST", "RESET_FRAME_GAP", "RESET_TIME_BACKWARDS", "RESET_MANUAL", "RESET_REASONS",
           "FaceSelector", "Packet", "StageTimer", "Stage", "InputStage", "make_face_selector", "LandmarksStage",
           "RoiAverageStage", "MstmapWindowStage", "EngineStage", "VitalsStage", "DEFAULT_CLASSIC_WINDOW"]
