"""Options of the stream processor (MediaPipe-Tasks shape): what model on which delegate
(:class:`BaseOptions`), which running mode, and the settings of the fixed chain.

Every setting has one name, used unchanged by the options object, the ``edge-rppg run``
flag (``bridge_s`` → ``--bridge-s``) and the logged/returned fields. Options objects are
passed whole to the stages that need them; nothing copies their fields into keyword lists.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from ..config import Config, Range
from ..errors import UnknownNameError
from ..face.options import LandmarkerOptions
from ..face.registry import DEFAULT_LANDMARKER, check_landmark_model
from ..frames.color import check_color_space
from ..frames.input import resolve_color_space
from ..model_file import MODEL_FPS
from ..pulse.engines.registry import DELEGATES
from ..vitals.dsp.config import SignalConfig
from ..vitals.validity import ValidityConfig

__all__ = ["RUNNING_MODES", "VIDEO", "LIVE_STREAM", "BaseOptions", "EdgeRPPGOptions", "EstimateConfig",
           "video_options"]

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
    """Settings of one :class:`~edge_rppg.processor.stream.StreamProcessor` (and so of one
    :class:`~edge_rppg.EdgeRPPG` or ``edge-rppg run``).

    base_options: model and delegate (:class:`BaseOptions`).
    running_mode: ``"live_stream"`` (``process(frame, timestamp)`` per frame) or ``"video"``
        (``process_video(path_or_frames)`` for a whole file).
    color_space: ``"rgb"`` (default), ``"bgr"`` or ``"gray"`` — declared once for every frame
        of the stream (:data:`edge_rppg.frames.color.COLOR_SPACES`): ``"gray"`` takes HxW or
        HxWx1 uint8/uint16 frames of a monochrome (near-infrared) camera, and the default
        model becomes the mono one.
    color_order: deprecated alias of ``color_space`` (a ``DeprecationWarning``; None = unset).
    model_fps: model rate (Hz) the per-frame colour signals are resampled to.
    window: samples per engine window (the paper's T); None = the engine's fixed T, else
        300 (10 s) for classic engines.
    engine_hop_s: seconds between engine windows (a new HR every ``engine_hop_s``; the
        analysis-window step of a clip is ``signal.hop_s``). For a model whose input has a
        window grid (``acdc_pos``, the shipped model's: 24 samples = 0.8 s at 30 Hz) the step
        is moved down to a multiple of it, at least one grid step, so that overlapping windows
        cut their POS channel alike (:func:`edge_rppg.pulse.windows.aligned_hop`): the
        default 1 s is 0.8 s there.
    bridge_s: a face loss or frame gap up to this long is bridged by interpolation; longer
        resets the window.
    face_select: ``"largest"`` (the driver), ``"first"``, an index into the detections
        sorted largest first, or ``callable(faces) -> face | None`` (not saved to JSON).
    landmark_model: name in :data:`edge_rppg.face.registry.LANDMARKERS`: ``"onnx"`` (the default, the bundled
        ONNX face models) or ``"mediapipe"`` (FaceMesh from the mediapipe package, the reference).
    landmarks: :class:`~edge_rppg.face.options.LandmarkerOptions`, passed whole to it
        (``max_num_faces`` > 1 lets ``"largest"`` choose; each extra face costs detector time).
    smooth_landmarks: One-Euro smoothing of the landmarks (as in ``estimate``).
    roi_backend: ``"auto"`` (the best usable of the registered backends, else the CPU),
        or a registered GPU backend (see :mod:`edge_rppg.skin.roi_backends`).
    input_fps: frame rate (1..1000 Hz) that times frames when ``process`` gets no timestamp
        (frame ``n`` at ``n / input_fps``); None (default) = each frame's arrival time on
        ``time.monotonic()``. No rate is ever assumed: a 15 fps camera is timed at 15 fps.
    bvp_history_s: seconds of pulse kept (and returned in ``VitalsResult.bvp``); HRV needs ~30 s.
    hrv, respiration: compute HRV / respiration rate on every new window.
    keep_clip: a live stream also records its frames' ROI sums so that
        ``clip_estimate()`` gives the whole-clip :class:`~edge_rppg.estimate.Estimate` of
        what it saw (memory grows ~200 bytes a frame: for files and bounded sessions).
    signal: band-pass, Welch and validity settings (:class:`~edge_rppg.vitals.dsp.config.SignalConfig`).
    validity: the artefact gate (head motion, off-face light) and the clip and respiration
        rules (:class:`~edge_rppg.vitals.validity.ValidityConfig`; ``artefact_gate=False`` turns the gate off).
    """

    base_options: BaseOptions = field(default_factory=BaseOptions)
    running_mode: str = LIVE_STREAM
    color_space: str = "rgb"
    color_order: Optional[str] = None
    model_fps: float = MODEL_FPS
    window: Optional[int] = None
    engine_hop_s: float = 1.0
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

    #: What each numeric option may be (one place: checked here and by ``edge-rppg run``'s flags).
    RANGES = {
        "model_fps": Range(0.0, 1000.0, low_open=True, unit="Hz"), "window": Range(2, 18_000, integer=True),
        "engine_hop_s": Range(0.0, 600.0, low_open=True, unit="s"), "bridge_s": Range(0.0, 60.0, unit="s"),
        "input_fps": Range(1.0, 1000.0, unit="Hz"), "bvp_history_s": Range(0.0, 3600.0, low_open=True, unit="s"),
    }

    def __post_init__(self) -> None:
        self.nest({"base_options": BaseOptions, "landmarks": LandmarkerOptions, "signal": SignalConfig,
                   "validity": ValidityConfig})
        self.check_ranges()
        if self.running_mode not in RUNNING_MODES:
            raise UnknownNameError(f"unknown running_mode {self.running_mode!r}; known: {', '.join(RUNNING_MODES)}")
        self.color_space = resolve_color_space(self.color_space, self.color_order, "EdgeRPPGOptions")
        self.color_order = None
        check_landmark_model(self.landmark_model)


@dataclass
class EstimateConfig(Config):
    """Settings of a whole-file estimate (``estimate``, ``edge-rppg estimate``/``evaluate``).

    signal: band-pass, Welch, analysis windows (``signal.window_s`` every ``signal.hop_s``).
    model_fps: rate the MSTmap is resampled to before the engine (the model rate).
    progress: show a progress bar while reading long videos.
    validity: the artefact gate and the clip rule (:class:`~edge_rppg.vitals.validity.ValidityConfig`).
    landmark_model: the landmarker (as ``EdgeRPPGOptions.landmark_model``): ``"onnx"``, the
        bundled face models, or ``"mediapipe"``, mediapipe's FaceMesh (the reference).
    landmarks: its :class:`~edge_rppg.face.options.LandmarkerOptions` (mesh rate, tracking),
        the same options a stream takes.
    color_space: the frames' colour space, as ``EdgeRPPGOptions.color_space`` (``"gray"``
        for a mono camera's file: a GRAY8 video or a folder of 8/16-bit one-channel images).
    """

    signal: SignalConfig = field(default_factory=SignalConfig)
    model_fps: float = MODEL_FPS
    progress: bool = True
    validity: ValidityConfig = field(default_factory=ValidityConfig)
    landmark_model: str = DEFAULT_LANDMARKER
    landmarks: LandmarkerOptions = field(default_factory=LandmarkerOptions)
    color_space: str = "rgb"

    RANGES = {"model_fps": Range(0.0, 1000.0, low_open=True, unit="Hz")}

    def __post_init__(self) -> None:
        self.nest({"signal": SignalConfig, "validity": ValidityConfig, "landmarks": LandmarkerOptions})
        self.check_ranges()
        check_landmark_model(self.landmark_model)
        self.color_space = check_color_space(self.color_space, "EstimateConfig.color_space")


def video_options(model: Any = "default", config: Optional[EstimateConfig] = None) -> EdgeRPPGOptions:
    """The processor options of a whole file: ``video`` mode, one tracked face (its first,
    largest detection), One-Euro smoothing, CPU ROI sums, and the config's model rate,
    signal, validity and landmarker settings."""
    cfg = config or EstimateConfig()
    return EdgeRPPGOptions(base_options=BaseOptions(model="default" if model is None else model),
                           running_mode=VIDEO, model_fps=cfg.model_fps, signal=cfg.signal, validity=cfg.validity,
                           face_select="first", landmarks=cfg.landmarks, landmark_model=cfg.landmark_model,
                           roi_backend="cpu", color_space=cfg.color_space)
