"""The landmark schedule every landmarker shares: :class:`ScheduledLandmarker`.

The face mesh runs at ``LandmarkerOptions.mesh_rate_hz`` (and sooner once the tracked face
moved ``refresh_motion`` of its size); frames in between get the last mesh moved by
Lucas–Kanade point tracking (:mod:`edge_rppg.face.tracking`). Subclasses bring the face
models (:mod:`edge_rppg.face.onnx_landmarker`, :mod:`edge_rppg.face.mediapipe_landmarker`).
"""
from __future__ import annotations

from typing import List, Optional, Type, TypeVar

import numpy as np

from ..frames.validation import check_frame
from .options import LandmarkerOptions
from .tracking import MeshTracker
from .types import Face, box_of

__all__ = ["ScheduledLandmarker"]

L = TypeVar("L", bound="ScheduledLandmarker")


class ScheduledLandmarker:
    """The landmark schedule every landmarker shares (subclasses bring the face models).

    :meth:`detect` answers a frame either by a *mesh run* (the subclass's ``_run_mesh``:
    the face-mesh network, and the face detector when a face must be found) or, with
    :attr:`LandmarkerOptions.tracking_enabled`, by moving the last mesh with
    :class:`~edge_rppg.face.tracking.MeshTracker`: the mesh runs when ``1 / mesh_rate_hz``
    of stream time has passed since its last run, or when tracking reports a loss or
    drift.  A timestamp that goes backwards (a new clip) resets all tracking state.

    Subclasses implement ``_open`` (build the models), ``_forget`` (drop the models'
    tracking state), ``_release`` (free the models) and ``_run_mesh``.
    """

    def __init__(self, options: Optional[LandmarkerOptions] = None) -> None:
        self.options = options or LandmarkerOptions()
        if self.options.max_num_faces < 1:
            raise ValueError(f"max_num_faces must be >= 1, got {self.options.max_num_faces}")
        self._open_flag = False
        self._last_ts: Optional[float] = None
        self._tracker = MeshTracker(self.options.tracker_settings())
        self._last_mesh_ts: Optional[float] = None
        self._last_search_ts: Optional[float] = None
        self._last_meshes: List[np.ndarray] = []   # the meshes returned for the previous frame
        #: frames answered by a mesh run / by tracking since creation, and the mesh runs
        #: that searched for faces (the face detector may run) (for benchmarks)
        self.mesh_runs = 0
        self.tracked_frames = 0
        self.search_runs = 0
        self._open()
        self._open_flag = True

    @classmethod
    def create_from_options(cls: Type[L], options: LandmarkerOptions) -> L:
        """Build from a :class:`LandmarkerOptions` (MediaPipe Tasks naming)."""
        return cls(options)

    # -- hooks -------------------------------------------------------------------------------
    def _open(self) -> None:
        raise NotImplementedError

    def _forget(self) -> None:
        raise NotImplementedError

    def _release(self) -> None:
        raise NotImplementedError

    def _run_mesh(self, frame: np.ndarray, extra_passes: int, timestamp_ms: float) -> List[Face]:
        raise NotImplementedError

    # -- the schedule ------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget tracking state (start of a new clip)."""
        self._last_ts = None
        self._tracker.clear()
        self._last_mesh_ts = self._last_search_ts = None
        self._last_meshes = []
        self._forget()

    def detect(self, frame_rgb: np.ndarray, timestamp_ms: float) -> List[Face]:
        """Faces in one RGB uint8 frame, largest first; ``[]`` if none."""
        frame = check_frame(frame_rgb)
        if not self._open_flag:
            raise RuntimeError(f"{type(self).__name__} is closed")
        if self._last_ts is not None and timestamp_ms < self._last_ts:
            self.reset()
        self._last_ts = float(timestamp_ms)
        o = self.options
        if o.tracking_enabled and self._tracker.active and self._last_mesh_ts is not None \
                and timestamp_ms - self._last_mesh_ts < 1000.0 / o.mesh_rate_hz - 1e-6:
            moved = self._tracker.track(frame)
            if moved is not None and not (o.refresh_motion > 0 and self._tracker.motion > o.refresh_motion):
                self.tracked_frames += 1
                self._last_meshes = moved
                return self._faces(moved)
        motion = self._tracker.motion if self._tracker.active else 0.0
        extra = o.moved_passes if o.tracking_enabled and motion > o.moved_frac else 0
        faces = self._run_mesh(np.ascontiguousarray(frame), extra, float(timestamp_ms))
        faces.sort(key=lambda face: face.area, reverse=True)
        self.mesh_runs += 1
        self._last_meshes = [f.landmarks for f in faces]
        if o.tracking_enabled:
            self._last_mesh_ts = float(timestamp_ms)
            self._tracker.start(frame, self._last_meshes)
        return faces

    @staticmethod
    def _faces(meshes: List[np.ndarray]) -> List[Face]:
        """Tracked meshes as faces (score 1.0 like FaceMesh's), largest first."""
        faces = [Face(landmarks=lm, box=box_of(lm), score=1.0) for lm in meshes]
        faces.sort(key=lambda face: face.area, reverse=True)
        return faces

    def _search_due(self, timestamp_ms: float) -> bool:
        """True when ``1 / detect_rate_hz`` of stream time has passed since the last search."""
        last = self._last_search_ts
        return last is None or timestamp_ms - last >= 1000.0 / self.options.detect_rate_hz - 1e-6

    def close(self) -> None:
        """Release the face models (idempotent)."""
        if self._open_flag:
            self._open_flag = False
            self._release()

    def __enter__(self: L) -> L:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

