"""mediapipe's FaceMesh as a landmarker (``"mediapipe"``, the reference backend; needs the
``[mediapipe]`` extra): tracking mode, ``refine_landmarks=False``, on the shared schedule."""
from __future__ import annotations

from typing import Any, Dict, List

import numpy as np

from ..extras import require
from .schedule import ScheduledLandmarker
from .types import N_LANDMARKS, Face, face_from_normalized

__all__ = ["MediaPipeLandmarker"]


class MediaPipeLandmarker(ScheduledLandmarker):
    """MediaPipe FaceMesh (468 points) in tracking mode: the reference backend.

    FaceMesh's solution API does not report a per-face confidence, so ``score`` is 1.0 for
    every returned face (faces below ``min_detection_confidence`` /
    ``min_tracking_confidence`` are not returned at all).  Needs the ``mediapipe`` package.
    """

    def _new_graph(self, max_num_faces: int) -> Any:
        """A FaceMesh graph with these options, for up to ``max_num_faces`` faces."""
        require("mediapipe", "mediapipe")
        from mediapipe.python.solutions import face_mesh  # heavy import: only when used

        o = self.options
        return face_mesh.FaceMesh(static_image_mode=o.static_image_mode,
                                  max_num_faces=max_num_faces, refine_landmarks=False,
                                  min_detection_confidence=o.min_detection_confidence,
                                  min_tracking_confidence=o.min_tracking_confidence)

    @property
    def _refreshes(self) -> bool:
        """True when mesh runs may refresh tracked faces on a smaller graph (tracking, a
        search rate, and room for more faces than one)."""
        o = self.options
        return o.tracking_enabled and o.detect_rate_hz > 0 and o.max_num_faces > 1

    def _open(self) -> None:
        self._refresh: Dict[int, Any] = {}        # graphs for fewer faces (refreshes), by face count
        self._acquired: Dict[int, bool] = {}      # graph (by face count) is tracking its faces
        self._faces_seen = 0                      # faces found by the last mesh run
        self._mesh: Any = self._new_graph(self.options.max_num_faces)  # the search graph
        if self._refreshes:
            # the one-face refresh graph is the common case (a driver): built now, so that
            # its ~0.2 s start-up does not stall the stream at its first use
            self._refresh[1] = self._new_graph(1)

    def _forget(self) -> None:
        # FaceMesh keeps its tracking state inside the graph: new graphs forget it
        self._release()
        self._open()

    def _release(self) -> None:
        if self._mesh is not None:
            self._mesh.close()
            self._mesh = None
        for graph in self._refresh.values():
            graph.close()
        self._refresh, self._acquired = {}, {}

    def _refresh_count(self) -> int:
        """Face count of the refresh graph mesh runs use (the faces the last run found), or
        0 when every run is a search (see :attr:`LandmarkerOptions.detect_rate_hz`)."""
        seen = self._faces_seen
        return seen if self._refreshes and 0 < seen < self.options.max_num_faces else 0

    def _process(self, count: int, frame: np.ndarray, extra_passes: int) -> list:
        """Run the graph for ``count`` faces (0 = the search graph) on ``frame``, with
        ``settle_passes`` when it (re)acquires, else ``extra_passes``; FaceMesh's faces."""
        o = self.options
        if count:
            graph = self._refresh.get(count)
            if graph is None:
                graph = self._refresh[count] = self._new_graph(count)
        else:
            graph = self._mesh
        found = graph.process(frame).multi_face_landmarks or []
        passes = o.settle_passes if not self._acquired.get(count, False) else extra_passes
        if found and not o.static_image_mode:
            for _ in range(passes):   # let FaceMesh's own tracker re-crop on this frame
                found = graph.process(frame).multi_face_landmarks or found
        self._acquired[count] = bool(found)
        return found

    def _run_mesh(self, frame: np.ndarray, extra_passes: int = 0, timestamp_ms: float = 0.0) -> List[Face]:
        """One FaceMesh run (plus ``settle_passes`` on (re)acquisition, or ``extra_passes``
        when the face moved since the last run).

        With fewer faces tracked than ``max_num_faces`` the run refreshes them on the graph
        sized to them (no face detector); a search on the full graph follows when
        ``detect_rate_hz`` says one is due or the refresh lost a face, and its faces are
        kept only if it found more.
        """
        count = self._refresh_count()
        found = self._process(count, frame, extra_passes) if count else []
        if not count or len(found) < count or self._search_due(timestamp_ms):
            searched = self._process(0, frame, extra_passes)
            self._last_search_ts = timestamp_ms
            self.search_runs += 1
            if len(searched) > len(found) or not count:
                found = searched
        self._faces_seen = len(found)
        h, w = frame.shape[:2]
        faces = []
        for f in found:
            pts = np.array([(p.x, p.y) for p in f.landmark], dtype=np.float32)
            if pts.shape == (N_LANDMARKS, 2):
                faces.append(face_from_normalized(pts, w, h, 1.0))
        return faces

