"""Run an engine over a clip longer than its window: :func:`edge_rppg.vitals.infer_clip`.

The stitching (standardise each window, Hann-tapered overlap-add) lives in
:mod:`edge_rppg.vitals`, shared with the streaming path; this name stays for importers.
"""
from __future__ import annotations

from ..vitals import infer_clip

__all__ = ["infer_clip"]
