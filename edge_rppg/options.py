"""Options of the stream processor (MediaPipe-Tasks shape): what model on which delegate
(:class:`BaseOptions`), which running mode, and the settings of the fixed chain.

Every setting has one name, used unchanged by the options object, the ``edge-rppg run``
flag (``bridge_s`` → ``--bridge-s``) and the logged/returned fields. Options objects are
passed whole to the stages that need them; nothing copies their fields into keyword lists.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from .config import Config
from .dsp.config import SignalConfig
from .engines.registry import DELEGATES
from .errors import ConfigError, UnknownNameError
from .frame_stages import COLOR_ORDERS
from .landmarks import DEFAULT_LANDMARKER, LANDMARKERS, LandmarkerOptions
from .model_file import MODEL_FPS
from .validity import ValidityConfig
from .video import check_fps

__all__ = ["RUNNING_MODES", "VIDEO", "LIVE_STREAM", "BaseOptions", "EdgeRPPGOptions"]

VIDEO = "video"                #: a whole file (or list of frames): one :class:`~edge_rppg.estimate.Estimate`
LIVE_STREAM = "live_stream"    #: frames as they come, with timestamps: one result per frame
RUNNING_MODES = (VIDEO, LIVE_STREAM)


@dataclass
class BaseOptions(Config):
    """The model and where it runs.

    model: ``"default"`` (the bundled Cluster-Phys ONNX model if present, else POS), a
        classic method (``"pos"``, ``"chrom"``...), a model file (``.onnx`` → ONNX Runtime,
        ``.engine``/``.plan`` → TensorRT, ``.pt`` → PyTorch) or an Engine object (an object
        cannot be saved to JSON).
    delegate: ``"cpu"``, ``"cuda"`` or ``"tensorrt"``: the ONNX Runtime execution provider
        of an ``.onnx`` model (a TensorRT ``.engine`` always runs on TensorRT, a classic
        method on the CPU).
    """

    model: Any = "default"
    delegate: str = "cpu"

    def __post_init__(self) -> None:
        if str(self.delegate).lower() not in DELEGATES:
            raise UnknownNameError(f"unknown delegate {self.delegate!r}; known: {', '.join(DELEGATES)}")
        self.delegate = str(self.delegate).lower()


def _stream_landmarks() -> LandmarkerOptions:
    return LandmarkerOptions(max_num_faces=2)


@dataclass
class EdgeRPPGOptions(Config):
    """Settings of one :class:`~edge_rppg.processor.StreamProcessor` (and so of one
    :class:`~edge_rppg.EdgeRPPG` or ``edge-rppg run``).

    base_options: model and delegate (:class:`BaseOptions`).
    running_mode: ``"live_stream"`` (``process(frame, timestamp)`` per frame) or ``"video"``
        (``process_video(path_or_frames)`` for a whole file).
    color_order: ``"rgb"`` or ``"bgr"`` — declared once for every frame of the stream.
    model_fps: model rate (Hz) the per-frame colour signals are resampled to.
    window: samples per engine window (the paper's T); None = the engine's fixed T, else
        300 (10 s) for classic engines.
    hop_s: seconds between engine windows (a new HR every ``hop_s``).
    bridge_s: a face loss or frame gap up to this long is bridged by interpolation; longer
        resets the window.
    face_select: ``"largest"`` (the driver), ``"first"``, an index into the detections
        sorted largest first, or ``callable(faces) -> face | None`` (not saved to JSON).
    landmark_model: name in :data:`edge_rppg.landmarks.LANDMARKERS`: ``"onnx"`` (the default, the bundled
        ONNX face models) or ``"mediapipe"`` (FaceMesh from the mediapipe package, the reference).
    landmarks: :class:`~edge_rppg.landmarks.LandmarkerOptions`, passed whole to it
        (``max_num_faces`` > 1 lets ``"largest"`` choose; each extra face costs detector time).
    smooth_landmarks: One-Euro smoothing of the landmarks (as in ``estimate``).
    roi_backend: ``"auto"`` (the best usable of the registered backends, else the CPU),
        ``"cpu"``, ``"cupy"`` or ``"pycuda"`` (see :mod:`edge_rppg.roi_backends`).
    input_fps: frame rate (1..1000 Hz) that times frames when ``process`` gets no timestamp
        (frame ``n`` at ``n / input_fps``); None (default) = each frame's arrival time on
        ``time.monotonic()``. No rate is ever assumed: a 15 fps camera is timed at 15 fps.
    bvp_history_s: seconds of pulse kept (and returned in ``VitalsResult.bvp``); HRV needs ~30 s.
    hrv, respiration: compute HRV / respiration rate on every new window.
    keep_clip: a live stream also records its frames' ROI sums so that
        ``clip_estimate()`` gives the whole-clip :class:`~edge_rppg.estimate.Estimate` of
        what it saw (memory grows ~200 bytes a frame: for files and bounded sessions).
    signal: band-pass, Welch and validity settings (:class:`~edge_rppg.dsp.config.SignalConfig`).
    validity: the artefact gate (head motion, off-face light) and the clip and respiration
        rules (:class:`~edge_rppg.validity.ValidityConfig`; ``artefact_gate=False`` turns the gate off).
    """

    base_options: BaseOptions = field(default_factory=BaseOptions)
    running_mode: str = LIVE_STREAM
    color_order: str = "rgb"
    model_fps: float = MODEL_FPS
    window: Optional[int] = None
    hop_s: float = 1.0
    bridge_s: float = 0.5
    face_select: Any = "largest"
    landmark_model: str = DEFAULT_LANDMARKER
    landmarks: LandmarkerOptions = field(default_factory=_stream_landmarks)
    smooth_landmarks: bool = True
    roi_backend: str = "auto"
    input_fps: Optional[float] = None
    bvp_history_s: float = 60.0
    hrv: bool = True
    respiration: bool = True
    keep_clip: bool = False
    signal: SignalConfig = field(default_factory=SignalConfig)
    validity: ValidityConfig = field(default_factory=ValidityConfig)

    def __post_init__(self) -> None:
        for name, cls in (("base_options", BaseOptions), ("landmarks", LandmarkerOptions), ("signal", SignalConfig),
                          ("validity", ValidityConfig)):
            if isinstance(getattr(self, name), dict):
                setattr(self, name, cls.from_dict(getattr(self, name)))
        if self.running_mode not in RUNNING_MODES:
            raise UnknownNameError(f"unknown running_mode {self.running_mode!r}; known: {', '.join(RUNNING_MODES)}")
        if str(self.color_order).lower() not in COLOR_ORDERS:
            raise ConfigError(f"EdgeRPPGOptions.color_order must be 'rgb' or 'bgr', got {self.color_order!r}")
        self.color_order = str(self.color_order).lower()
        if self.landmark_model not in LANDMARKERS:
            raise UnknownNameError(f"unknown landmark_model {self.landmark_model!r}; known: "
                                   f"{', '.join(LANDMARKERS.names())}")
        if not self.model_fps > 0 or not self.hop_s > 0:
            raise ConfigError(f"EdgeRPPGOptions.model_fps and hop_s must be > 0, got {self.model_fps}, {self.hop_s}")
        if self.bridge_s < 0:
            raise ConfigError(f"EdgeRPPGOptions.bridge_s must be >= 0, got {self.bridge_s}")
        if int(self.landmarks.max_num_faces) < 1:
            raise ConfigError(f"EdgeRPPGOptions.landmarks.max_num_faces must be >= 1, "
                              f"got {self.landmarks.max_num_faces}")
        if self.input_fps is not None:
            self.input_fps = check_fps(self.input_fps, "EdgeRPPGOptions.input_fps")
        if self.window is not None and int(self.window) < 2:
            raise ConfigError(f"EdgeRPPGOptions.window must be >= 2 samples or None, got {self.window}")
