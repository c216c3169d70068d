"""Monochrome (near-infrared) input, stage by stage: the frame checks of each colour space,
the 8-bit view the face models get, 16-bit ROI sums at full depth, the one-channel MSTmap
and its normalisation, the MONO engine, the colour-space check of engines, and the artefact
gate on an intensity-only light series."""
from __future__ import annotations

import numpy as np
import pytest

from edge_rppg.errors import ColorSpaceError, FrameColorSpaceError, FrameFormatError, ShapeError
from edge_rppg.frames.color import COLOR_SPACES, GrayView
from edge_rppg.frames.input import InputStage
from edge_rppg.frames.validation import check_frame
from edge_rppg.pulse.engines.registry import check_engine_color_space, load_engine
from edge_rppg.skin.mstmap import combine_roi_sums, normalize_window
from edge_rppg.skin.roi import META_ROI_NAMES, rasterize_label_map, roi_box, roi_sums
from edge_rppg.vitals.dsp.config import SignalConfig
from edge_rppg.vitals.dsp.hr import hr_from_psd
from edge_rppg.vitals.validity import ARTEFACT_NAMES, ValidityConfig, artefact_match, artefact_series

RNG = np.random.default_rng(5)


@pytest.mark.parametrize("frame", [
    RNG.integers(0, 256, (48, 64), dtype=np.uint8),
    RNG.integers(0, 256, (48, 64, 1), dtype=np.uint8),
    RNG.integers(0, 1024, (48, 64), dtype=np.uint16),
    RNG.integers(0, 65536, (48, 64, 1), dtype=np.uint16),
])
def test_gray_frames_pass_as_hxw_at_their_own_depth(frame: np.ndarray) -> None:
    out = check_frame(frame, "gray")
    assert out.shape == (48, 64) and out.dtype == frame.dtype
    np.testing.assert_array_equal(out, frame.reshape(48, 64))


@pytest.mark.parametrize("frame, space, words", [
    (np.zeros((48, 64, 3), np.uint8), "gray", "colour"),
    (np.zeros((48, 64), np.uint8), "rgb", "grayscale"),
    (np.zeros((48, 64, 1), np.uint16), "bgr", "grayscale"),
    (np.zeros((48, 64, 3), np.uint16), "rgb", "16-bit"),
])
def test_a_frame_of_the_other_colour_space_is_a_specific_error(frame: np.ndarray, space: str, words: str) -> None:
    with pytest.raises(FrameColorSpaceError, match=words) as info:
        check_frame(frame, space)
    assert isinstance(info.value, FrameFormatError) and isinstance(info.value, ColorSpaceError)


@pytest.mark.parametrize("frame", [np.zeros((48, 64), np.float32), np.zeros((48, 64, 2), np.uint8),
                                   np.zeros((8, 8), np.uint8)])
def test_other_bad_gray_frames_are_frame_format_errors(frame: np.ndarray) -> None:
    with pytest.raises(FrameFormatError):
        check_frame(frame, "gray")


def test_gray_view_replicates_and_scales_by_the_streams_bit_depth() -> None:
    """The face models get the gray frame in R, G and B at 8 bits: 8-bit as is, a 10-bit
    sensor (values < 1024) divided by 4 (rounded), and the depth only grows within a stream."""
    view = GrayView()
    g8 = RNG.integers(0, 256, (32, 40), dtype=np.uint8)
    v8 = view(g8)
    assert v8.shape == (32, 40, 3) and v8.dtype == np.uint8
    assert all(np.array_equal(v8[..., c], g8) for c in range(3))
    g10 = RNG.integers(0, 1024, (32, 40), dtype=np.uint16)
    g10[0, 0] = 1023
    def quarter(x: np.ndarray) -> np.ndarray:
        return np.clip(np.rint(x / 4.0), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(view(g10)[..., 1], quarter(g10))
    dim = (g10 // 8).astype(np.uint16)          # a darker later frame keeps the 10-bit scale
    np.testing.assert_array_equal(view(dim)[..., 0], quarter(dim))
    view.reset()
    np.testing.assert_array_equal(view(dim)[..., 0], dim.astype(np.uint8))


def test_input_stage_keeps_gray_samples_and_makes_a_view() -> None:
    stage = InputStage("gray")
    frame = RNG.integers(0, 4096, (40, 50, 1), dtype=np.uint16)
    out = stage(frame, 0.5, 3)
    assert out.image.dtype == np.uint16 and out.image.shape == (40, 50)
    np.testing.assert_array_equal(out.image, frame[..., 0])
    assert out.view.shape == (40, 50, 3) and out.view.dtype == np.uint8
    assert stage.family == "gray" and COLOR_SPACES["bgr"].family == "rgb"


def _face_landmarks(h: int, w: int) -> np.ndarray:
    """A face's 468 landmarks scaled into an ``h x w`` frame (from the bundled canonical mesh)."""
    from edge_rppg.synth.video_gen import face_photo
    from edge_rppg.face.registry import create_landmarker

    photo, _ = face_photo()
    with create_landmarker("onnx", None) as lm:
        face = lm.detect(np.ascontiguousarray(photo.astype(np.uint8)), 0.0)[0]
    return face.landmarks * np.array([w / 512.0, h / 512.0])


def test_16bit_roi_sums_are_exact_at_full_depth() -> None:
    """16-bit samples are summed as they are (no early downcast): the boxed fast path and the
    bincount path both give the exact integer sums of each ROI's pixels."""
    h, w = 240, 320
    lm = _face_landmarks(h, w)
    frame = RNG.integers(0, 65536, (h, w), dtype=np.uint16)
    box = roi_box(lm, h, w)
    labels = rasterize_label_map(lm, h, w, box=box)
    sums, counts = roi_sums(frame, labels, box=box)
    plain, plain_counts = roi_sums(frame, np.asarray(labels), box=box)   # a plain array: bincount path
    crop = frame[box[1]:box[3], box[0]:box[2]].astype(np.int64)
    exact = np.array([crop[np.asarray(labels) == j + 1].sum() for j in range(len(META_ROI_NAMES))])
    assert sums.shape == (6, 1) and counts.min() > 0
    np.testing.assert_array_equal(sums[:, 0], exact)
    np.testing.assert_array_equal(plain[:, 0], exact)
    np.testing.assert_array_equal(counts, plain_counts)
    assert exact.max() / counts.max() > 255  # the means carry more than 8 bits


def test_gray_mstmap_is_one_intensity_channel_per_roi_combination() -> None:
    """A gray frame's 63 rows are the same subset means the colour path gives for any one channel."""
    sums_rgb = RNG.uniform(1e3, 1e5, (7, 6, 3))
    counts = RNG.integers(50, 500, (7, 6))
    rgb = combine_roi_sums(sums_rgb, counts)
    gray = combine_roi_sums(sums_rgb[..., 1:2], counts)
    assert rgb.shape == (7, 63, 6) and gray.shape == (7, 63, 1) and gray.dtype == np.float32
    np.testing.assert_array_equal(gray[..., 0], rgb[..., 1])
    with pytest.raises(ShapeError):
        combine_roi_sums(sums_rgb[..., :2], counts)


def test_acdc_mono_normalisation_ignores_sensor_depth_and_gain() -> None:
    """The same scene at 8 bits and at a 16-bit gain gives the same normalised window."""
    t = np.arange(300) / 30.0
    rows = 100.0 * (1.0 + RNG.uniform(-0.2, 0.2, 63))[None, :] * (1.0 + 0.002 * np.sin(2 * np.pi * 1.2 * t))[:, None]
    x = (rows + RNG.normal(0.0, 0.05, rows.shape))[..., None].astype(np.float32)
    a = normalize_window(x, "acdc_mono")
    b = normalize_window((x * np.float32(257.0)), "acdc_mono")
    assert a.shape == (300, 63, 1) and np.abs(a).max() > 0.5
    np.testing.assert_allclose(a, b, atol=1e-4)
    with pytest.raises(ShapeError):
        normalize_window(np.ones((300, 63, 6), np.float32), "acdc_mono")


def _mono_window(hr_hz: float, amp: float, n: int = 300, fs: float = 30.0) -> np.ndarray:
    """A ``[n, 63, 1]`` gray window: rows with a pulse of relative amplitude ``amp`` (stronger in
    some rows) under independent noise, and a few rows dominated by a glint's noise."""
    t = np.arange(n) / fs
    gain = RNG.uniform(0.3, 1.0, 63)
    pulse = -amp * gain[None, :] * np.sin(2 * np.pi * hr_hz * t)[:, None]
    noise = RNG.normal(0.0, 0.002, (n, 63))
    noise[:, :5] *= 6.0
    return (400.0 * (1.0 + pulse + noise))[..., None].astype(np.float32)


def test_mono_engine_reads_the_pulse_from_the_roi_rows() -> None:
    eng = load_engine("mono", fps=30.0)
    assert eng.info.color_space == "gray" and eng.info.T is None
    bvp = eng.infer(_mono_window(1.3, 0.002))
    assert bvp.shape == (300,) and abs(float(bvp.std()) - 1.0) < 1e-3
    assert abs(hr_from_psd(bvp, 30.0).hr_bpm - 78.0) < 1.5
    with pytest.raises(ShapeError):
        eng.infer(np.ones((300, 63, 6), np.float32))


@pytest.mark.parametrize("name, space", [("pos", "gray"), ("chrom", "gray"), ("mono", "rgb"), ("mono", "bgr")])
def test_an_engine_of_the_other_colour_family_is_refused(name: str, space: str) -> None:
    with pytest.raises(ColorSpaceError, match="color_space"):
        check_engine_color_space(load_engine(name), space)


def test_default_engine_follows_the_colour_space() -> None:
    from edge_rppg.pulse.engines.registry import DEFAULT_ENGINES

    gray = load_engine("default", color_space="gray")
    mono_model, fallback = DEFAULT_ENGINES["gray"]
    assert gray.info.color_space == "gray"
    assert gray.info.name == (mono_model.name if mono_model.is_file() else fallback)
    assert load_engine("default").info.color_space == "rgb"


def test_artefact_gate_reads_an_intensity_only_light_series() -> None:
    """A gray stream's off-face light is one column (``light_i``): sunlight flickering at the
    HR makes that HR an artefact, a steady light does not."""
    fs, n = 30.0, 300
    t = np.arange(n) / fs
    boxes = np.tile([100.0, 80.0, 200.0, 200.0], (n, 1))
    flicker = (500.0 * (1.0 + 0.02 * np.sin(2 * np.pi * 1.1 * t)))[:, None]
    series = artefact_series(t, boxes, flicker, t)
    assert series.shape == (n, len(ARTEFACT_NAMES))
    assert np.isnan(series[:, 3:6]).all() and np.isfinite(series[:, ARTEFACT_NAMES.index("light_i")]).all()
    cfg, vcfg = SignalConfig(), ValidityConfig()
    assert artefact_match(series, 1.1, fs, cfg, vcfg) == "light_i"
    steady = artefact_series(t, boxes, np.full((n, 1), 500.0), t)
    assert artefact_match(steady, 1.1, fs, cfg, vcfg) is None
