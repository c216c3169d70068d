"""Issue 12, validity half: no wrong heart rate may be marked valid.

Read as a table: each test names the bad input and what the SDK must do with it.

| input | required behaviour | test |
|---|---|---|
| AVI whose header gives 0 fps (OpenCV reads 25) | refused, one-line error, exit 2; right with ``--fps`` | ``test_zero_fps_header_*`` |
| header / user rate 0.001, 1e-6, 5000 fps | refused before anything is allocated | ``test_absurd_rates_are_refused`` |
| variable-frame-rate file | timed by each frame's own timestamp | ``test_variable_frame_rate_file_is_timed_by_its_timestamps`` |
| 15 fps camera, ``process`` without timestamps | timed by the arrival clock, not an assumed 30 fps | ``test_live_stream_without_timestamps_uses_the_clock`` |
| pulseless clip, street lamps at 1.25 Hz | no valid window, clip or stream reading (artefact gate) | ``test_lamps_without_pulse_*`` |
| one valid window of eleven / valid windows that disagree | clip not valid (clip rule) | ``test_clip_rule_*`` |
| a noise peak passing the SNR for 2-3 s | window not valid (steady-run rule) | ``test_isolated_valid_windows_are_not_readings`` |
| still photo | respiration and HRV not valid | ``test_still_photo_*`` |
| synthetic pulseless clips, both engines (soak, slow) | no valid window; pulse clips lose <= 5 points | ``test_soak_*`` |

Clips are rendered by :mod:`edge_rppg.synth.video_gen` at 320x240, 12 s (three 10 s
analysis windows), so the whole module runs in well under a minute without the soak test.
"""
from __future__ import annotations

import math
import struct
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
import pytest

from edge_rppg.vitals.dsp.config import SignalConfig
from edge_rppg.vitals.dsp.hr import WindowHR
from edge_rppg.errors import ConfigError, VideoReadError

W, H, DUR, FPS = 320, 240, 12.0, 30.0


def _render(seed: int, **over: object) -> Tuple[List[np.ndarray], float]:
    """Frames of a 12 s synthetic clip and its true HR."""
    from edge_rppg.synth.video_gen import VideoSynthConfig, render_frames

    cfg = VideoSynthConfig(duration_s=DUR, width=W, height=H, fps=FPS, **over)  # type: ignore[arg-type]
    return list(render_frames(cfg, seed=seed)), float(cfg.hr_bpm)


@pytest.fixture(scope="module")
def pulse_clip() -> Tuple[List[np.ndarray], float]:
    """A still face with a 72 bpm pulse."""
    return _render(1203, motion="still", hr_bpm=72.0)


@pytest.fixture(scope="module")
def lamps_clip() -> List[np.ndarray]:
    """No pulse at all; sodium street lamps sweep across the scene at 1.25 Hz (75 bpm)."""
    return _render(1207, motion="still", pulse_amplitude=0.0, lamp_hz=1.25, lamp_amplitude=0.35,
                   lamp_shape="sweep", lamp_color=(1.0, 0.55, 0.08))[0]


def _zero_rate_avi(path: Path, frames: List[np.ndarray], rate: int = 0, scale: int = 1) -> Path:
    """Write ``frames`` as a lossless AVI, then overwrite its header rate (``avih``
    microseconds per frame and the video ``strh`` rate/scale): 0 = "no rate"."""
    from edge_rppg.frames.video import write_video

    write_video(path, frames, FPS)
    b = bytearray(path.read_bytes())
    i = b.find(b"avih")
    struct.pack_into("<I", b, i + 8, 0 if rate == 0 else int(1e6 * scale / rate))
    j = b.find(b"strh")
    assert b[j + 8:j + 12] == b"vids"
    struct.pack_into("<II", b, j + 28, scale, rate)
    path.write_bytes(bytes(b))
    return path


# ------------------------------------------------------------------------------------ time base
def test_zero_fps_header_is_refused_and_fps_flag_fixes_it(tmp_path: Path, pulse_clip, capsys) -> None:
    """OpenCV reports 25 fps for this file (header 0): the old code read it at 25 fps and
    called a wrong HR valid. Now: a one-line error, exit 2; with ``--fps 30`` the right HR."""
    import json

    import cv2

    from edge_rppg.cli.main import main
    from edge_rppg.frames.video import open_video

    frames, hr = pulse_clip
    path = _zero_rate_avi(tmp_path / "zero.avi", frames)
    cap = cv2.VideoCapture(str(path))
    assert cap.get(cv2.CAP_PROP_FPS) == 25.0  # what OpenCV makes of it: the fallback rate
    cap.release()
    with pytest.raises(VideoReadError, match="no usable frame rate.*--fps"):
        open_video(path)
    assert main(["estimate", str(path), "--engine", "pos", "--json"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--fps" in err[0], err
    assert main(["estimate", str(path), "--engine", "pos", "--json", "--fps", "30"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["valid"] and abs(out["hr_bpm"] - hr) < 3.0, out
    assert main(["run", "--source", str(path), "--model", "pos", "--quiet"]) == 2
    assert "--fps" in capsys.readouterr().err


def test_absurd_rates_are_refused(tmp_path: Path) -> None:
    """Header 0.001 fps (the old code allocated 25 GiB), user rates 1e-6 and 5000 fps, an
    input_fps of 0.001: each is a one-line error before anything is allocated."""
    from edge_rppg.processor.estimation import estimate
    from edge_rppg.processor.options import EdgeRPPGOptions
    from edge_rppg.frames.video import open_video

    frames = [np.full((64, 64, 3), 100, np.uint8)] * 4
    slow = _zero_rate_avi(tmp_path / "slow.avi", frames, rate=1, scale=1000)  # 0.001 fps
    with pytest.raises(VideoReadError, match="no usable frame rate"):
        open_video(slow)
    for bad in (1e-6, 5000.0, math.nan):
        with pytest.raises(ConfigError, match="1..1000"):
            estimate(frames, engine="pos", fps=bad)
        with pytest.raises(ConfigError, match="1..1000"):
            open_video(slow, fps=bad)
    with pytest.raises(ConfigError, match="input_fps"):
        EdgeRPPGOptions(input_fps=0.001)


class _VfrCapture:
    """A stand-in for ``cv2.VideoCapture`` of a variable-frame-rate file: the header says
    30 fps, the frames carry their own timestamps (``CAP_PROP_POS_MSEC``)."""

    def __init__(self, frames: List[np.ndarray], times_s: List[float]) -> None:
        import cv2

        self._cv2 = cv2
        self.frames, self.times, self.i = frames, times_s, -1

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return True

    def read(self) -> Tuple[bool, Optional[np.ndarray]]:
        self.i += 1
        if self.i >= len(self.frames):
            return False, None
        return True, self._cv2.cvtColor(self.frames[self.i], self._cv2.COLOR_RGB2BGR)

    def get(self, prop: int) -> float:
        cv2 = self._cv2
        if prop == cv2.CAP_PROP_FPS:
            return 30.0
        if prop == cv2.CAP_PROP_FRAME_COUNT:
            return float(len(self.frames))
        if prop == cv2.CAP_PROP_POS_MSEC:
            return 1e3 * self.times[max(self.i, 0)]
        return 0.0

    def release(self) -> None:
        pass


def test_variable_frame_rate_file_is_timed_by_its_timestamps(tmp_path: Path, pulse_clip, monkeypatch) -> None:
    """Every third frame of a 30 fps clip is missing (20 fps average, irregular): timed at
    ``i / 30`` the pulse would read 1.5x too fast; timed by the frame timestamps it is right."""
    import edge_rppg.frames.video as video
    from edge_rppg.processor.estimation import estimate

    frames, hr = pulse_clip
    keep = [i for i in range(len(frames)) if i % 3 != 2]
    fake = _VfrCapture([frames[i] for i in keep], [i / FPS for i in keep])
    monkeypatch.setattr(video.cv2, "VideoCapture", lambda *a, **k: fake)
    path = tmp_path / "vfr.mkv"
    path.write_bytes(b"not read: the capture is faked")
    est = estimate(path, engine="pos")
    assert est.valid and abs(est.hr_bpm - hr) < 3.0, (est.hr_bpm, hr)


def test_live_stream_without_timestamps_uses_the_clock(pulse_clip, monkeypatch) -> None:
    """A 15 fps camera fed to ``process(frame)`` with no timestamp: the old code assumed
    30 fps (double HR, or no reading at all). Now each frame is timed on arrival by the
    monotonic clock (here a fake one advancing 1/15 s a frame)."""
    import edge_rppg.processor.stream as processor
    from edge_rppg import EdgeRPPG

    frames, hr = pulse_clip
    cam = frames[::2]  # 15 fps
    now = [100.0]

    def tick() -> float:
        now[0] += 1.0 / 15.0
        return now[0]

    monkeypatch.setattr(processor, "clock", tick, raising=False)
    with EdgeRPPG("pos", roi_backend="cpu") as rppg:
        results = [rppg.process(f) for f in cam]
    hrs = [r.hr_bpm for r in results if r.hr_updated and r.valid]
    assert hrs and all(abs(h - hr) < 3.0 for h in hrs), (hrs, hr)


# ------------------------------------------------------------------------------- artefact gate
def _sine(f: float, n: int, fs: float, amp: float) -> np.ndarray:
    return amp * np.sin(2 * np.pi * f * np.arange(n) / fs)


def test_artefact_match_needs_coincidence_and_amplitude() -> None:
    """The gate fires only when a measure both moves enough and peaks at the HR (or half of it)."""
    from edge_rppg.vitals.validity import ValidityConfig, artefact_match

    fs, n = 30.0, 300
    cfg, v = SignalConfig(), ValidityConfig()
    series = np.zeros((n, 6))
    series[:, 1] = _sine(1.2, n, fs, 0.03)  # a nod of 3 % of the face height at 1.2 Hz
    assert artefact_match(series, 1.2, fs, cfg, v) == "motion_y"
    assert artefact_match(series, 2.4, fs, cfg, v) == "motion_y"  # the pulse read at the nod's harmonic
    assert artefact_match(series, 1.6, fs, cfg, v) is None      # a pulse elsewhere is left alone
    assert artefact_match(series, 1.2, fs, cfg, ValidityConfig(artefact_gate=False)) is None
    series[:, 1] = _sine(1.2, n, fs, 0.001)                     # sub-pixel jitter: below the floor
    assert artefact_match(series, 1.2, fs, cfg, v) is None
    series[:, 4] = _sine(1.1, n, fs, 0.05)                      # a screen glowing by 5 % at 1.1 Hz
    assert artefact_match(series, 1.1, fs, cfg, v) == "light_g"


def test_lamps_without_pulse_no_valid_window_in_a_clip(lamps_clip) -> None:
    """Pulseless, street lamps at 1.25 Hz: POS reads 75 bpm with a high SNR (valid on
    every window before the gate); the off-face light explains it."""
    from edge_rppg.processor.options import EstimateConfig
    from edge_rppg.processor.estimation import estimate

    est = estimate(lamps_clip, engine="pos", fps=FPS, config=EstimateConfig(progress=False))
    assert not est.valid and not any(w.valid for w in est.windows), est.to_dict()
    assert est.vitals.artefact is not None and est.vitals.artefact.startswith("light")
    from edge_rppg.vitals.validity import ValidityConfig

    def windows(**rules: bool) -> list:
        cfg = EstimateConfig(progress=False, validity=ValidityConfig(**rules))
        return estimate(lamps_clip, engine="pos", fps=FPS, config=cfg).windows

    off = windows(artefact_gate=False, colour_gate=False)
    assert any(w.valid for w in off), "without the gates the lamps read as a pulse (the old behaviour)"
    # the sodium-orange lamp does not change the skin's colour the way blood does: the colour
    # check alone rejects what the artefact gate alone rejects
    colour_only = windows(artefact_gate=False)
    assert not any(w.valid for w in colour_only)
    assert {w.invalid_reason for w in colour_only if w.quality >= 1.0} == {"pulse_colour"}


def test_lamps_without_pulse_no_valid_stream_reading(lamps_clip) -> None:
    """The same clip through the live API: no reading is valid and it names the light."""
    from edge_rppg import EdgeRPPG

    with EdgeRPPG("pos", roi_backend="cpu") as rppg:
        results = [rppg.process(f, timestamp=i / FPS) for i, f in enumerate(lamps_clip)]
    readings = [r for r in results if r.hr_updated]
    assert readings and not any(r.valid for r in readings)
    assert all(r.vitals.artefact is not None and r.vitals.artefact.startswith("light")
               for r in readings if r.hr_bpm is not None and r.quality is not None and r.quality > 1.0)


# ---------------------------------------------------------------------------------- clip rule
def _windows(hrs: List[float], valid: List[bool]) -> List[WindowHR]:
    return [WindowHR(float(i), float(i + 10), h, 5.0, v) for i, (h, v) in enumerate(zip(hrs, valid))]


def test_clip_rule_one_valid_window_of_eleven_is_not_a_valid_clip() -> None:
    """Large motion, no pulse: a single window at 1.59 dB made the clip valid (old rule: any valid window)."""
    from edge_rppg.vitals.validity import ValidityConfig, clip_rule

    v = ValidityConfig()
    hrs = [61.2] + [float("nan")] * 10
    assert clip_rule(hrs, [True] + [False] * 10, v) == (61.2, False)
    assert clip_rule([70.0, 71.0], [True, False], v)[1] is False  # one of two: not enough
    assert clip_rule([70.0], [True], v) == (70.0, True)              # a one-window clip can be valid


def test_isolated_valid_windows_are_not_readings() -> None:
    """Pulseless POS noise peaks pass the 1 dB SNR for two or three seconds (windows 9, 10
    and 14 of 21): not a run of 14 s, so not valid; a steady run of the whole clip is."""
    from edge_rppg.vitals.validity import ValidityConfig, persistent_windows

    v = ValidityConfig()
    t0 = [float(t) for t in range(21)]
    t1 = [t + 10.0 for t in t0]
    assert not any(persistent_windows(t0, t1, [64.0] * 21, [i in (9, 10, 14) for i in range(21)], v))
    steady = persistent_windows(t0, t1, [70.0 + 0.3 * i for i in range(21)], [i >= 4 for i in range(21)], v)
    assert steady == [i >= 4 for i in range(21)]
    jumpy = [70.0 if i % 2 else 90.0 for i in range(21)]    # alternating 70/90: no steady run
    assert not any(persistent_windows(t0, t1, jumpy, [True] * 21, v))
    assert persistent_windows(t0[:3], t1[:3], [70.0, 71.0, 70.5], [True] * 3, v) == [True] * 3  # a 12 s clip


def test_clip_rule_needs_half_the_windows_valid_and_agreeing() -> None:
    """Six of eleven windows valid and within 10 bpm of their median: valid; six valid that
    scatter, or four that agree plus two outliers: not valid."""
    from edge_rppg.vitals.validity import ValidityConfig, clip_rule

    v = ValidityConfig()
    agree = [72.0, 73.0, 71.5, 72.5, 74.0, 72.0, 60.0, 90.0, 100.0, 72.0, 55.0]
    valid = [True] * 6 + [False] * 5
    hr, ok = clip_rule(agree, valid, v)
    assert ok and abs(hr - np.mean(agree[:6])) < 1e-9
    scattered = [60.0, 75.0, 90.0, 105.0, 120.0, 135.0, 72.0, 72.0, 72.0, 72.0, 72.0]
    assert clip_rule(scattered, valid, v)[1] is False   # six valid windows, but they disagree
    mixed = [72.0, 72.5, 73.0, 71.0, 120.0, 130.0, 0, 0, 0, 0, 0]
    hr, ok = clip_rule(mixed, valid, v)                # four agree (< 50 % of 11), two outliers
    assert not ok and abs(hr - 72.125) < 1e-9


def test_clip_vitals_use_the_rule() -> None:
    """``clip_vitals`` on a pulse whose windows mostly lack a face: the old clip was valid
    with the one or two windows that had a face (too short a run to count, too few for a clip); now it is not."""
    from edge_rppg.synth.mstmap_gen import SynthConfig, synth_mstmap
    from edge_rppg.vitals.readings import clip_vitals

    s = synth_mstmap(SynthConfig(T=600), seed=3)
    face = np.zeros(600, dtype=bool)
    face[:300] = True                                   # a face in the first 10 s only
    vit, windows = clip_vitals(s.bvp, s.fps, face, SignalConfig())
    n_valid = sum(w.valid for w in windows)
    assert len(windows) == 11 and n_valid < 6, n_valid  # at most where the face was, < 50 %
    assert not vit.valid


# ------------------------------------------------------------------------ respiration and HRV
def test_still_photo_reports_no_valid_respiration_or_hrv() -> None:
    """A still photo (no pulse): before, 0.21 Hz respiration came out as a plain number."""
    from edge_rppg.processor.options import EstimateConfig
    from edge_rppg.processor.estimation import estimate

    frames, _ = _render(1205, motion="still", pulse_amplitude=0.0)
    est = estimate(frames, engine="pos", fps=FPS, config=EstimateConfig(progress=False))
    assert not est.rf_valid and not est.hrv.valid and not est.valid
    assert est.to_dict()["rf_valid"] is False


def test_respiration_validity_on_a_clean_pulse_and_on_noise() -> None:
    """A clean 60 s synthetic pulse: respiration valid and right; white noise: not valid."""
    from edge_rppg.synth.mstmap_gen import SynthConfig, synth_mstmap
    from edge_rppg.vitals.readings import clip_vitals, stream_vitals

    s = synth_mstmap(SynthConfig(T=1800), seed=0)
    ones = np.ones(1800, dtype=bool)
    vit, _ = clip_vitals(s.bvp, s.fps, ones, SignalConfig())
    assert vit.valid and vit.rf_valid and abs(vit.rf_hz - s.rf_hz) < 0.03 and vit.hrv.valid
    short, _ = clip_vitals(s.bvp[:450], s.fps, ones[:450], SignalConfig())
    assert not short.rf_valid  # 15 s: too short to call a breathing rate valid
    noise = np.random.default_rng(0).standard_normal(1800)
    for v in (clip_vitals(noise, 30.0, ones, SignalConfig())[0], stream_vitals(noise, ones, 30.0, SignalConfig())):
        assert not v.rf_valid and not v.hrv.valid


# -------------------------------------------------------------------------------- soak (slow)
#: Pulseless conditions of the issue (12 s, 320x240): the gate must leave no valid window.
PULSELESS: Dict[str, Dict[str, object]] = {
    "motion": dict(motion="large"),
    "nodding under side light": dict(motion="still", periodic_motion_hz=1.3, periodic_motion_frac=0.012,
                                     nod_shading=0.15),
    "periodic nodding at 1.6 Hz": dict(motion="still", periodic_motion_hz=1.6, periodic_motion_frac=0.01),
    "flicker": dict(motion="still", lamp_hz=1.3, lamp_amplitude=0.05, lamp_shape="flicker",
                    lamp_color=(1.0, 0.9, 0.8)),
    "street lamps": dict(motion="still", lamp_hz=1.25, lamp_amplitude=0.35, lamp_shape="sweep",
                         lamp_color=(1.0, 0.55, 0.08)),
    "screen glow": dict(motion="still", lamp_hz=1.1, lamp_amplitude=0.12, lamp_shape="glow",
                        lamp_color=(1.0, 0.72, 0.42)),
    "still photo": dict(motion="still"),
}
#: Pulse conditions (the pulse is the strongest in-band component): the gate may cost at
#: most 5 points of valid windows against the same code with the gate off.
PULSE: Dict[str, Dict[str, object]] = {
    "still": dict(motion="still"),
    "motion": dict(motion="moderate"),
    "talking": dict(motion="still", talking_hz=4.5, talking_amplitude=0.05),
    "low light": dict(motion="still", exposure=0.3, noise_sigma=3.0),
    "dark skin": dict(motion="still", skin_tone=0.85),
    "compressed": dict(motion="still", jpeg_quality=40),
    "nodding at 1.4 Hz, pulse stronger": dict(motion="still", periodic_motion_hz=1.4, periodic_motion_frac=0.012,
                                              nod_shading=0.15),
}
HRS = [66.0, 78.0, 90.0, 72.0, 84.0, 60.0, 70.0]


@pytest.fixture(scope="module")
def soak_extractions() -> Dict[str, Tuple[object, float, bool]]:
    """Each soak clip rendered and extracted once (the front is shared by both engines)."""
    from edge_rppg.processor.extract import extract_mstmap

    out = {}
    for kind, table, pulse in (("pulseless", PULSELESS, False), ("pulse", PULSE, True)):
        for i, (name, over) in enumerate(table.items()):
            kw = dict(over, hr_bpm=HRS[i % len(HRS)])
            if not pulse:
                kw["pulse_amplitude"] = 0.0
            frames, hr = _render(2200 + 17 * i + (0 if pulse else 500), **kw)
            out[f"{kind}: {name}"] = (extract_mstmap(frames, fps=FPS, progress=False), hr, pulse)
    return out


def _valid_windows(ex: object, engine: str, gate: bool) -> Tuple[int, int, List[float]]:
    """(valid windows, windows, valid window HRs) of one engine with the validity rules on,
    or off (``gate=False``: no artefact gate, no colour check, no steady-run rule: the windows of the code
    before them, which judged a window by its SNR and face coverage only)."""
    from edge_rppg.processor.clip import estimate_extraction
    from edge_rppg.processor.options import EstimateConfig
    from edge_rppg.vitals.validity import ValidityConfig

    rules = ValidityConfig() if gate else ValidityConfig(artefact_gate=False, colour_gate=False, min_run_s=0.0)
    est = estimate_extraction(ex, engine, EstimateConfig(progress=False, validity=rules))
    return (sum(w.valid for w in est.windows), len(est.windows),
            [w.hr_bpm for w in est.windows if w.valid])


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["default", "pos"])
def test_soak_validity_gate(soak_extractions, engine: str) -> None:
    """Over the pulseless clips no window is valid; over the pulse clips the valid fraction
    is within 5 points of the same engine and clips judged by SNR and face coverage alone
    (the rules before the gate, computed here, not remembered), and every valid window is right."""
    report = []
    pulse_on = pulse_off = pulse_n = 0
    for name, (ex, hr, pulse) in soak_extractions.items():
        on, n, hrs = _valid_windows(ex, engine, True)
        off, _, _ = _valid_windows(ex, engine, False)
        report.append(f"{name}: {on}/{n} valid (gate off: {off}/{n})")
        if pulse:
            pulse_on, pulse_off, pulse_n = pulse_on + on, pulse_off + off, pulse_n + n
            assert all(abs(h - hr) < 5.0 for h in hrs), (name, hrs, hr)
        else:
            assert on == 0, (name, report)
    text = "\n".join(report)
    assert pulse_on / pulse_n >= pulse_off / pulse_n - 0.05, text


# -------------------------------------------------------------------------- the colour check
def _face_colour(pulse: np.ndarray, direction: np.ndarray, amp: float = 0.004, noise: float = 0.0,
                 seed: int = 0) -> np.ndarray:
    """Raw R, G, B face means whose relative change is ``amp * direction * pulse`` (+ noise)."""
    rng = np.random.default_rng(seed)
    base = np.array([150.0, 110.0, 90.0])
    rel = amp * np.outer(pulse, direction) + noise * rng.standard_normal((pulse.size, 3))
    return base * (1.0 + rel)


def test_colour_check_blood_passes_others_fail() -> None:
    """Blood darkens the skin, green most: such a pulse passes; the same pulse read with the
    wrong sign (the skin brightens), a change that is all intensity (shading, a jaw that
    opens), or one led by blue fails; the check off, too short a window or no colour at all
    decides nothing."""
    from edge_rppg.vitals.colour import PBV_SIGNATURE, pulse_colour
    from edge_rppg.vitals.validity import ValidityConfig, colour_match

    fs, n, f0 = 30.0, 300, 1.2
    p = np.sin(2 * np.pi * f0 * np.arange(n) / fs) + 0.3 * np.sin(2 * np.pi * 2 * f0 * np.arange(n) / fs)
    cfg, v = SignalConfig(), ValidityConfig()
    pbv = PBV_SIGNATURE / np.linalg.norm(PBV_SIGNATURE)
    blood = _face_colour(p, -pbv, noise=0.002)
    for pc in pulse_colour(blood, p, fs, f0):
        assert pc.cos > 0.95 and pc.chroma_cos > 0.9 and abs(pc.chroma_share - 0.31) < 0.05, pc
    assert colour_match(blood, p, f0, fs, cfg, v) is None
    cases = {"brightens": _face_colour(p, pbv, noise=0.002),
             "intensity only": _face_colour(p, -np.ones(3) / math.sqrt(3), noise=0.0005),
             "blue-led": _face_colour(p, -np.array([0.2, 0.1, 0.97]), noise=0.002)}
    for name, colour in cases.items():
        assert colour_match(colour, p, f0, fs, cfg, v) == "pulse_colour", (name, pulse_colour(colour, p, fs, f0))
        assert colour_match(colour, p, f0, fs, cfg, ValidityConfig(colour_gate=False)) is None
    assert colour_match(None, p, f0, fs, cfg, v) is None
    assert colour_match(blood[:20], p[:20], f0, fs, cfg, v) is None          # under two periods
    assert colour_match(blood, np.zeros(n), f0, fs, cfg, v) is None         # a flat pulse
    nan = blood.copy()
    nan[5, 1] = np.nan
    assert colour_match(nan, p, f0, fs, cfg, v) is None


def test_colour_check_survives_motion_at_another_rate() -> None:
    """A pulse whose engine output also carries head motion at another in-band rate (which
    changes colour along another direction) still reads as blood near its own rate."""
    from edge_rppg.vitals.colour import PBV_SIGNATURE, pulse_colour

    fs, n, f0, fm = 30.0, 300, 1.2, 1.9
    t = np.arange(n) / fs
    pulse, motion = np.sin(2 * np.pi * f0 * t), np.sin(2 * np.pi * fm * t)
    pbv = PBV_SIGNATURE / np.linalg.norm(PBV_SIGNATURE)
    colour = _face_colour(pulse, -pbv, amp=0.002) * (1.0 + 0.01 * np.outer(motion, [0.3, -0.2, 0.93]))
    out = pulse + 0.8 * motion   # what a projection leaks of the motion
    near, whole = pulse_colour(colour, out, fs, f0)
    assert near.band == "heart_rate" and near.cos > 0.9 and near.chroma_cos > 0.9, near
    assert not whole.looks_like_blood(0.5, 0.5, 0.1), whole   # the motion's colour dominates the whole band


@pytest.fixture(scope="module")
def issue_pulseless() -> Dict[str, object]:
    """The issue's pulseless clips, rendered and extracted once: ``synth --preset low_light
    --seed 13`` at 320x240 (CHROM read 62 bpm valid from sub-pixel sway before the colour
    check) and a talking face (ICA read the jaw's shading); and the low-light clip's frames."""
    import dataclasses

    from edge_rppg.processor.extract import extract_mstmap
    from edge_rppg.synth.video_gen import PRESETS, render_frames

    out: Dict[str, object] = {}
    for preset, seed in (("low_light", 13), ("talking", 7485)):
        cfg = dataclasses.replace(PRESETS[preset], duration_s=20.0, width=320, height=240, pulse_amplitude=0.0)
        frames = list(render_frames(cfg, seed))
        out[preset] = extract_mstmap(frames, fps=cfg.fps, progress=False, keep_landmarks=False)
        out[f"{preset} frames"] = frames
    return out


def _engines() -> List[str]:
    """Every RGB engine: the default model and every registered classic method."""
    from edge_rppg.pulse.methods import METHODS

    return ["default", *METHODS.names()]


@pytest.mark.parametrize("engine", _engines())
def test_issue_pulseless_cases_every_engine(issue_pulseless: Dict[str, object], engine: str) -> None:
    """The issue's pulseless clips through every registered engine's clip path: no valid window."""
    from edge_rppg.processor.clip import estimate_extraction
    from edge_rppg.processor.options import EstimateConfig

    for preset in ("low_light", "talking"):
        est = estimate_extraction(issue_pulseless[preset], engine, EstimateConfig(progress=False))
        valid = [(w.t_start, round(w.hr_bpm, 1)) for w in est.windows if w.valid]
        assert not valid and not est.valid, (preset, engine, valid)


@pytest.mark.parametrize("engine", _engines())
def test_issue_pulseless_case_live(issue_pulseless: Dict[str, object], engine: str) -> None:
    """The low-light case through the live path (which reads its own stitched pulse, one
    window at a time): no valid reading."""
    from edge_rppg import EdgeRPPG

    frames = issue_pulseless["low_light frames"]
    with EdgeRPPG(engine) as rppg:
        live = [rppg.process(f, timestamp=i / 30.0) for i, f in enumerate(frames)]  # type: ignore[union-attr]
    assert sum(r.hr_updated for r in live) >= 5, engine          # readings were made
    assert not any(r.valid for r in live), (engine, [r.hr_bpm for r in live if r.valid][:3])
