"""The default landmarker: MediaPipe's face detector and face mesh on ONNX Runtime, with the
project's landmark schedule.

:class:`OnnxFaceMeshLandmarker` (``"onnx"`` in :data:`edge_rppg.face.registry.LANDMARKERS`) reproduces what MediaPipe's
FaceMesh solution does in tracking mode, with the networks of :mod:`edge_rppg.face.nets`:

* **acquisition**: the face detector runs (only when fewer faces are tracked than
  ``max_num_faces``: always when none is, else at most ``detect_rate_hz``), each new face's
  mesh is cut out of the detector's box and re-cut from its own landmarks
  ``settle_passes`` more times on the same frame (FaceMesh's crop converges in a few passes);
* **a mesh run on a tracked face** cuts the crop from the face's latest landmarks — the mesh
  moved by Lucas–Kanade up to the previous frame, not the last mesh run's landmarks as
  FaceMesh's own graph would, so the crop has already followed the head; ``moved_passes``
  re-cuts are still made when the face moved (``moved_frac``);
* **loss**: a face whose face-presence score is below ``min_tracking_confidence`` is dropped.

It needs no mediapipe package: the ONNX files ship in ``edge_rppg/assets/face_models``
(Apache-2.0, see the NOTICE there), so the install is ONNX Runtime's, on every platform; the
``delegate`` option runs them on the CUDA or TensorRT execution provider where ONNX Runtime
has it.  Landmarks agree with mediapipe's FaceMesh within a fraction of a pixel
(``bench/compare_face_models.py``).
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np

from .nets import FaceDetectorNet, FaceMeshNet, FaceRect
from .schedule import ScheduledLandmarker
from .types import Face, box_of

__all__ = ["OnnxFaceMeshLandmarker", "DUPLICATE_IOU"]

#: a detection overlapping a tracked face's crop by more than this IoU is that face again
#: (MediaPipe's AssociationNormRect threshold)
DUPLICATE_IOU = 0.5


class OnnxFaceMeshLandmarker(ScheduledLandmarker):
    """468-point face mesh from the bundled ONNX face models (see the module docstring).

    ``score`` of a face is its face-presence probability from the mesh network.
    """

    def _open(self) -> None:
        o = self.options
        self._detector: Optional[FaceDetectorNet] = FaceDetectorNet(
            providers=o.delegate, min_score=o.min_detection_confidence)
        self._mesh: Optional[FaceMeshNet] = FaceMeshNet(providers=o.delegate)

    def _forget(self) -> None:
        pass   # the networks keep no state: the schedule's own state is all there is to forget

    def _release(self) -> None:
        self._detector = self._mesh = None

    def _refine(self, frame: np.ndarray, rect: FaceRect, passes: int) -> Optional[Tuple[np.ndarray, float]]:
        """Run the mesh on ``rect``, then ``passes`` more times on crops cut from its own
        landmarks; ``(landmarks, presence)``, or ``None`` when the crop holds no face."""
        assert self._mesh is not None
        lm, presence = self._mesh(frame, rect)
        for _ in range(passes):
            if presence < self.options.min_tracking_confidence:
                break
            lm, presence = self._mesh(frame, FaceMeshNet.next_rect(lm))
        return (lm, presence) if presence >= self.options.min_tracking_confidence else None

    def _run_mesh(self, frame: np.ndarray, extra_passes: int, timestamp_ms: float) -> List[Face]:
        """Mesh on every tracked face, then the detector when faces are missing (see the
        module docstring); faces in no particular order."""
        assert self._detector is not None
        o = self.options
        tracked = [] if o.static_image_mode else self._last_meshes
        found: List[Tuple[np.ndarray, float]] = []
        for mesh in tracked:
            got = self._refine(frame, FaceMeshNet.next_rect(mesh), extra_passes)
            if got is not None:
                found.append(got)
        lost = len(found) < len(tracked)
        if len(found) < o.max_num_faces and (not found or lost or o.detect_rate_hz <= 0
                                             or self._search_due(timestamp_ms)):
            self._last_search_ts = timestamp_ms
            self.search_runs += 1
            crops = [FaceMeshNet.next_rect(lm) for lm, _ in found]
            settle = 0 if o.static_image_mode else o.settle_passes
            for det in self._detector(frame):
                if len(found) >= o.max_num_faces:
                    break
                rect = det.rect()
                if any(rect.iou(c) > DUPLICATE_IOU for c in crops):
                    continue
                got = self._refine(frame, rect, settle)
                if got is not None:
                    found.append(got)
                    crops.append(FaceMeshNet.next_rect(got[0]))
        return [Face(landmarks=lm, box=box_of(lm), score=float(p)) for lm, p in found]
