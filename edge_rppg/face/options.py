"""Options of every landmarker (MediaPipe Tasks style): :class:`LandmarkerOptions`.

They set the landmark schedule (mesh rate, Lucas–Kanade tracking in between, refreshes)
and where the face models run (``delegate``).
"""
from __future__ import annotations

import dataclasses

from ..config import Config, Range
from ..pulse.engines.registry import DELEGATES
from .tracking import TrackerSettings

__all__ = ["LandmarkerOptions", "TRACKING_FIELDS"]

#: The options the point tracker (:class:`~edge_rppg.face.tracking.MeshTracker`) reads, by the same names.
TRACKING_FIELDS = ("track_fb_max_px", "track_min_points", "track_max_residual")


@dataclasses.dataclass
class LandmarkerOptions(Config):
    """Options of every landmarker in :data:`~edge_rppg.face.registry.LANDMARKERS` (MediaPipe Tasks style).

    ``static_image_mode=False`` tracks the face between frames (video); ``True`` runs the
    detector on every frame (unrelated still images).  ``mesh_rate_hz`` and the
    ``track_*`` fields set the landmark schedule (mesh at a rate, Lucas–Kanade tracking in
    between, mesh again on loss or drift; the face detector runs only
    when no face is tracked — with ``max_num_faces`` > 1 at most at mesh runs, never on the
    tracked frames, and with ``detect_rate_hz`` at most that often: see below).  ``settle_passes``: in tracking
    mode, when a face is (re)acquired the frame is processed this many more times so the
    first landmarks already come from the converged tracker, not the detector's cruder
    crop — otherwise the first frames sit ~1.5 % off in scale and show as a jump in the
    colour traces (the tracker re-crops from its last landmarks; on a still face its
    output still moves 0.13, 0.11, 0.07, 0.05, 0.03 px per pass after 3 passes, 0.015 px
    after 10).  With the landmark schedule the remaining convergence would arrive in
    steps at every mesh run, so the default is 8 (was 3): on a still face with a
    1.5-level colour pulse the ROI mean's correlation with the pulse is 0.954 with 3,
    0.988 with 6, 0.993 with 10 passes (every-frame mesh with 3: 0.979).  It costs only
    at (re)acquisition.
    """

    max_num_faces: int = 1
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    static_image_mode: bool = False
    settle_passes: int = 8
    #: landmark schedule: the face mesh runs at most this often (Hz of stream time) while a
    #: face is tracked; frames in between get the last mesh moved by Lucas–Kanade point
    #: tracking + a similarity fit (:mod:`edge_rppg.face.tracking`). 0 = mesh on every frame.
    mesh_rate_hz: float = 5.0
    #: a tracked point whose forward-backward LK error exceeds this (pixels) is dropped
    track_fb_max_px: float = 1.0
    #: fewer surviving tracked points than this fraction → the mesh runs again (loss)
    track_min_points: float = 0.5
    #: median similarity-fit residual above this fraction of the face size → mesh again (drift)
    track_max_residual: float = 0.02
    #: at a scheduled mesh run, when the tracked face moved more than ``moved_frac`` of its
    #: size since the last run, FaceMesh (whose crop comes from its last run) runs
    #: ``moved_passes`` more times on the frame so its crop catches up
    moved_frac: float = 0.01
    moved_passes: int = 1
    #: while tracking, when the tracked face has moved more than this fraction of its size
    #: since the last mesh run, the mesh runs now instead of at the next scheduled time: a
    #: similarity fit follows a shifting, tilting face but not a turning one for long, so
    #: fast motion gets fresh meshes and a still face keeps the base rate. 0 = off. The
    #: default 0.03 is crossed only by the generator's strong-motion preset (99th
    #: percentile of the tracked motion 0.048 there; at most 0.025 in still, motion,
    #: talking, nodding and periodic motion) and moved that clip's HR error change against
    #: the every-frame path from +0.63 to +0.07 bpm for 17 % more mesh runs there; a second
    #: seed set (`--seed 40`) kept all six clips within +0.02 (mean |ΔHR| 0.07 bpm)
    #: (bench/bench_landmark_schedule.py, bench/RESULTS.md)
    refresh_motion: float = 0.03
    #: with ``max_num_faces`` > 1 and fewer faces tracked than that, scheduled mesh runs look
    #: for new faces (run the face detector) at most this often (Hz of stream time); in
    #: between they refresh only the faces already tracked. (mediapipe's FaceMesh would run
    #: its detector on every call, ~2 ms of a ~5 ms call at 640x480: its refreshes use a
    #: second graph sized to the tracked faces.) A tracked face lost at a refresh makes that
    #: run a full search. 0 = search at every mesh run.
    detect_rate_hz: float = 1.0
    #: where the ONNX face models run (``"onnx"`` landmarker): ``"cpu"``, ``"cuda"`` or
    #: ``"tensorrt"`` (ONNX Runtime execution providers, as :attr:`BaseOptions.delegate`
    #: for the engine); mediapipe's FaceMesh always runs on the CPU
    delegate: str = "cpu"

    #: What each numeric option may be (checked here and by the CLI flags that set them). The
    #: upper bounds keep a typo from hanging a stream (``settle_passes=10**9``) or asking
    #: for an absurd amount of work (``max_num_faces=10**9``, ``mesh_rate_hz=inf``).
    RANGES = {
        "max_num_faces": Range(1, 16, integer=True), "min_detection_confidence": Range(0.0, 1.0),
        "min_tracking_confidence": Range(0.0, 1.0), "settle_passes": Range(0, 50, integer=True),
        "mesh_rate_hz": Range(0.0, 1000.0, unit="Hz"), "track_fb_max_px": Range(0.0, 100.0, low_open=True),
        "track_min_points": Range(0.0, 1.0, low_open=True), "track_max_residual": Range(0.0, 1.0, low_open=True),
        "moved_frac": Range(0.0, 1.0), "moved_passes": Range(0, 20, integer=True), "refresh_motion": Range(0.0, 10.0),
        "detect_rate_hz": Range(0.0, 1000.0, unit="Hz"),
    }

    def __post_init__(self) -> None:
        self.check_ranges()
        self.delegate = str(self.delegate).lower()
        self.require({f"delegate in {DELEGATES}": self.delegate in DELEGATES})

    @property
    def tracking_enabled(self) -> bool:
        """True when frames between mesh runs are tracked (video mode and a mesh rate > 0)."""
        return not self.static_image_mode and self.mesh_rate_hz > 0

    def tracker_settings(self) -> "TrackerSettings":
        """The :class:`~edge_rppg.face.tracking.TrackerSettings` these options ask for."""
        return TrackerSettings(**{name: getattr(self, name) for name in TRACKING_FIELDS})

