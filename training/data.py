"""Training data: fixed-length MSTmap clips with their ground-truth pulse.

Two sources share one pipeline: :class:`SyntheticClipDataset` (one synthetic subject per
seed, from ``edge_rppg.synth``) and :class:`RecordingClipDataset` (clips of ``T`` frames
every ``stride`` frames from a dataset reader's recordings). A raw clip (colour means +
BVP + per-frame HR) goes through label-preserving augmentations from the
:data:`AUGMENTATIONS` registry (temporal resampling that moves the HR label with the
signal, optionally with a drifting rate; gaussian noise; per-channel gain; a real camera's
intensity and chroma changes), is cropped to ``T`` frames and normalised
with ``edge_rppg.skin.mstmap.normalize_window`` in the model's ``input_norm`` mode, exactly as the
engines normalise at inference. Pulseless clips (``has_pulse`` False) have a zero BVP and
``pulse`` 0 so the trainer can teach the model to output no pulse.

Every random choice comes from ``numpy.random.default_rng([seed, epoch, source, index])``,
so an item is a pure function of its index and epoch: identical across worker counts,
ranks and resumed runs.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from edge_rppg.extras import require
require("torch", "train")  # missing: one line naming the extra to install
import torch
from torch.utils.data import ConcatDataset, Dataset

from edge_rppg.errors import DatasetError, ShapeError
from edge_rppg.pulse.models.cluster_phys import ClusterPhysConfig
from edge_rppg.model_file import MODEL_FPS
from edge_rppg.registry import Registry

from .config import RENDERED, SYNTHETIC, DataSpec

HR_LIMITS_BPM = (40.0, 180.0)


@dataclass
class Clip:
    """A raw (un-normalised) window: ``mstmap [L,63,6]``, ``bvp [L]``, ``hr_per_frame [L]``
    (bpm, NaN where unknown) at ``fps``. Augmentations map a clip to a clip."""

    mstmap: np.ndarray
    bvp: np.ndarray
    hr_per_frame: np.ndarray
    fps: float = MODEL_FPS
    has_pulse: bool = True

    def __len__(self) -> int:
        return int(self.mstmap.shape[0])

    @property
    def hr_bpm(self) -> float:
        """Mean ground-truth HR over the clip (NaN if unknown): the label."""
        hr = self.hr_per_frame[np.isfinite(self.hr_per_frame)]
        return float(hr.mean()) if hr.size else float("nan")

    def take(self, positions: np.ndarray) -> "Clip":
        """Clip sampled at fractional frame ``positions`` (linear interpolation)."""
        return Clip(_interp_rows(self.mstmap, positions), _interp_rows(self.bvp, positions),
                    _interp_rows(self.hr_per_frame, positions), self.fps, self.has_pulse)


def _interp_rows(a: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Linear interpolation of ``a`` along axis 0 at fractional ``positions`` (in range)."""
    n = a.shape[0]
    pos = np.clip(positions, 0.0, n - 1.0)
    i0 = np.floor(pos).astype(np.int64)
    i1 = np.minimum(i0 + 1, n - 1)
    w = (pos - i0).astype(np.float64).reshape((-1,) + (1,) * (a.ndim - 1))
    out = a[i0] * (1.0 - w) + a[i1] * w
    return out.astype(a.dtype, copy=False)


# ----------------------------------------------------------------------------- augmentations

AUGMENTATIONS: Registry[type] = Registry("augmentation")


@AUGMENTATIONS.register("resample")
@dataclass
class TemporalResample:
    """Play the clip faster or slower by ``ratio`` in ``[min_ratio, max_ratio]``: the
    output samples source frames ``start + ratio * k``, so the pulse frequency, and
    with it the HR label, is multiplied by ``ratio``. The ratio is limited so that the
    new HR stays inside ``hr_limits_bpm``. Needs source clips ``max_ratio`` times longer
    than ``T`` (:attr:`span`).

    ``max_trend`` > 0 also lets the rate change linearly over the window, by a relative
    amount drawn in ``[-max_trend, max_trend]`` from its first frame to its last (0.1 at
    70 bpm: a 7 bpm drift), and each frame's HR label follows its own rate. A real
    heart drifts like this within seconds (the shared real clip goes 69 → 73 bpm), and a
    model trained only on steady rates spreads such a pulse's power around its peak."""

    p: float = 0.5
    min_ratio: float = 0.8
    max_ratio: float = 1.25
    hr_limits_bpm: Tuple[float, float] = HR_LIMITS_BPM
    max_trend: float = 0.0

    def __post_init__(self) -> None:
        if not 0 < self.min_ratio <= self.max_ratio:
            raise ValueError(f"resample: need 0 < min_ratio <= max_ratio, got {self.min_ratio}, {self.max_ratio}")
        if not 0 <= self.max_trend < 1:
            raise ValueError(f"resample: need 0 <= max_trend < 1, got {self.max_trend}")

    @property
    def span(self) -> float:
        """Source frames needed per output frame, at most."""
        return max(1.0, self.max_ratio * (1.0 + self.max_trend / 2))

    def __call__(self, clip: Clip, T: int, rng: np.random.Generator) -> Clip:
        """Resample to exactly ``T`` frames (or return the clip unchanged with prob. 1-p)."""
        apply = rng.random() < self.p
        u = rng.random()
        v = rng.random()
        # drawn only when a trend is asked for: a config without one keeps its random stream
        trend = self.max_trend * (2.0 * rng.random() - 1.0) if self.max_trend > 0 else 0.0
        if not apply:
            return clip
        # the rate of frame k is ratio * shape[k]: 1 everywhere, or a ramp through 1 mid-window
        shape = 1.0 + trend * (np.arange(T, dtype=np.float64) / max(T - 1, 1) - 0.5)
        lo, hi = self.min_ratio, self.max_ratio
        hr = clip.hr_bpm
        if math.isfinite(hr) and hr > 0:
            lo = max(lo, self.hr_limits_bpm[0] / (hr * shape.min()))
            hi = min(hi, self.hr_limits_bpm[1] / (hr * shape.max()))
        steps = np.concatenate([[0.0], np.cumsum(shape[:-1])])  # source frames moved per unit ratio
        hi = min(hi, (len(clip) - 1) / max(steps[-1], 1.0))
        if hi < lo:
            return clip
        ratio = lo + (hi - lo) * u
        start = v * max(0.0, (len(clip) - 1) - ratio * steps[-1])
        out = clip.take(start + ratio * steps)
        out.hr_per_frame = out.hr_per_frame * (ratio * shape).astype(out.hr_per_frame.dtype)
        return out


@dataclass
class LabelPreservingAugmentation:
    """Base of the augmentations that change the colours but not the labels: with
    probability ``p`` the clip gets :meth:`apply` with parameters from :meth:`draw`.
    The random draws happen whether or not it applies, so every item's stream of random
    numbers is the same for any ``p``. ``span``: source frames per output frame (1)."""

    p: float = 0.5
    span: float = 1.0

    def draw(self, clip: Clip, rng: np.random.Generator) -> Any:  # pragma: no cover - abstract
        """The random parameters of one application."""
        raise NotImplementedError

    def apply(self, clip: Clip, params: Any) -> Clip:  # pragma: no cover - abstract
        """The clip with the augmentation applied."""
        raise NotImplementedError

    def __call__(self, clip: Clip, T: int, rng: np.random.Generator) -> Clip:
        """Return the augmented clip (or the input with prob. 1-p)."""
        applies = rng.random() < self.p
        params = self.draw(clip, rng)
        return self.apply(clip, params) if applies else clip


@AUGMENTATIONS.register("noise")
@dataclass
class GaussianNoise(LabelPreservingAugmentation):
    """Add white gaussian noise, ``sigma`` (drawn in ``[sigma_min, sigma_max]``) times the
    temporal std of each MSTmap row/channel: camera noise. Labels are unchanged."""

    sigma_min: float = 0.0
    sigma_max: float = 0.2

    def draw(self, clip: Clip, rng: np.random.Generator) -> Tuple[float, np.ndarray]:
        """Noise level and unit noise."""
        return rng.uniform(self.sigma_min, self.sigma_max), rng.standard_normal(clip.mstmap.shape)

    def apply(self, clip: Clip, params: Tuple[float, np.ndarray]) -> Clip:
        """The noisy clip."""
        sigma, noise = params
        scale = np.nanstd(clip.mstmap, axis=0, keepdims=True)
        mst = clip.mstmap + (sigma * scale * noise).astype(np.float32)
        return dataclasses.replace(clip, mstmap=mst.astype(np.float32))


@AUGMENTATIONS.register("gain")
@dataclass
class ChannelGain(LabelPreservingAugmentation):
    """Multiply R, G, B by per-channel gains ``1 ± max_gain`` that drift linearly over the
    clip by up to ``± max_drift`` (white-balance / illumination change), then recompute
    Y, U, V from the new RGB so the six channels stay consistent. Labels are unchanged."""

    max_gain: float = 0.2
    max_drift: float = 0.05

    def draw(self, clip: Clip, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
        """Start gains and their drift over the clip, per RGB channel."""
        g0 = 1.0 + rng.uniform(-self.max_gain, self.max_gain, size=3)
        return g0, rng.uniform(-self.max_drift, self.max_drift, size=3)

    def apply(self, clip: Clip, params: Tuple[np.ndarray, np.ndarray]) -> Clip:
        """The re-lit clip."""
        g0, drift = params
        ramp = np.linspace(0.0, 1.0, len(clip))[:, None, None]
        gain = (g0[None, None, :] + drift[None, None, :] * ramp)
        rgb = clip.mstmap[..., :3].astype(np.float64) * gain
        return dataclasses.replace(clip, mstmap=_with_rgb(rgb))


def _with_rgb(rgb: np.ndarray) -> np.ndarray:
    """A six-channel MSTmap (float32) from new R, G, B ``[L, 63, 3]``: Y, U, V re-derived from
    them (BT.601, as the extractor does), so the channels stay consistent."""
    from edge_rppg.skin.mstmap import rgb_to_yuv

    yuv = np.asarray(rgb_to_yuv(rgb), dtype=np.float64)
    return np.concatenate([rgb, yuv], axis=-1).astype(np.float32)


#: the pulse band the camera augmentation sizes its noise against (Hz)
_PULSE_BAND_HZ = (0.7, 3.0)


def _fft_band(spec: np.ndarray, f: np.ndarray, band_hz: Tuple[float, float]) -> np.ndarray:
    """``spec`` (an rFFT along axis 0 at frequencies ``f``) with everything outside ``band_hz`` zeroed."""
    return spec * ((f >= band_hz[0]) & (f <= band_hz[1])).reshape((-1,) + (1,) * (spec.ndim - 1))


def _band_limited_noise(rng: np.random.Generator, n: int, fs: float, band_hz: Tuple[float, float],
                        slope: float, k: int) -> np.ndarray:
    """``[n, k]`` noise with a ``1/f**slope`` power spectrum inside ``band_hz`` (nothing
    outside it), each column scaled so that its part in the pulse band (0.7-3 Hz) has unit
    standard deviation: the strength that competes with a pulse is what is set."""
    f = np.fft.rfftfreq(n, 1.0 / fs)
    spec = _fft_band(np.fft.rfft(rng.standard_normal((n, k)), axis=0) * np.maximum(f, 1e-3)[:, None] ** (-slope / 2.0),
                     f, band_hz)
    x = np.fft.irfft(spec, n=n, axis=0)
    inband = np.fft.irfft(_fft_band(spec, f, _PULSE_BAND_HZ), n=n, axis=0)
    return x / np.maximum(inband.std(axis=0, keepdims=True), 1e-12)


def _inband_relative_std(mstmap: np.ndarray, fs: float) -> float:
    """Median over the ROI rows of the pulse-band (0.7-3 Hz) standard deviation of the
    relative change of the green (gray: only) channel: the size of what a pulse moves."""
    g = np.asarray(mstmap[..., min(1, mstmap.shape[-1] - 1)], dtype=np.float64)
    rel = g / np.where(np.abs(g.mean(axis=0)) > 1e-9, g.mean(axis=0), 1.0) - 1.0
    f = np.fft.rfftfreq(rel.shape[0], 1.0 / fs)
    spec = _fft_band(np.fft.rfft(rel - rel.mean(axis=0), axis=0), f, _PULSE_BAND_HZ)
    return float(np.nanmedian(np.fft.irfft(spec, n=rel.shape[0], axis=0).std(axis=0)))


@AUGMENTATIONS.register("camera")
@dataclass
class CameraResidual(LabelPreservingAugmentation):
    """The non-pulse colour change a real camera adds to the whole face: every ROI row's
    R, G, B multiplied by ``(1 + i(t)) * (1 + c_k(t))``, with ``i`` an intensity change
    (auto-exposure, light, shading: the same in R, G, B) and ``c_k`` a chroma change (white
    balance, mixed light: zero mean across R, G, B), both ``1/f**slope`` noise in 0.05-4 Hz
    whose pulse-band part is ``intensity`` (resp. ``chroma``) times the clip's own
    pulse-band change (:func:`_inband_relative_std`; on a clean clip, the pulse). Y, U, V
    are re-derived; a gray clip gets the intensity part only. Labels are unchanged.

    Why: on the shared real clip (validation only) the non-pulse change is ~95 %
    intensity with ~9x the pulse's in-band variance, plus chroma; rendered training clips
    have neither at that scale, and moving that residual onto rendered faces reproduces the
    model's real-video quality deficit (``bench/noise_transplant.py``). The ranges here are
    broad (up to 4x and 1.2x), not fitted to that clip."""

    intensity: Tuple[float, float] = (0.0, 4.0)
    chroma: Tuple[float, float] = (0.0, 1.2)
    slope: Tuple[float, float] = (0.0, 2.0)

    def draw(self, clip: Clip, rng: np.random.Generator) -> Tuple[float, float, np.ndarray]:
        """Intensity and chroma strengths and the unit noise ``[L, 4]`` (intensity, R, G, B)."""
        ki, kc = rng.uniform(*self.intensity), rng.uniform(*self.chroma)
        noise = _band_limited_noise(rng, len(clip), clip.fps, (0.05, 4.0), rng.uniform(*self.slope), 4)
        return ki, kc, noise

    def apply(self, clip: Clip, params: Tuple[float, float, np.ndarray]) -> Clip:
        """The clip with the camera's residual multiplied in."""
        ki, kc, noise = params
        s = _inband_relative_std(clip.mstmap, clip.fps)
        if not np.isfinite(s) or s <= 0:
            return clip
        factor = 1.0 + ki * s * noise[:, :1]
        x = clip.mstmap.astype(np.float64)
        if x.shape[-1] == 1:  # gray: the intensity part only
            return dataclasses.replace(clip, mstmap=(x * np.maximum(factor, 0.05)[:, None, :]).astype(np.float32))
        # zero mean across R, G, B; sqrt(3/2) brings each channel's pulse-band std back to 1
        chroma = (noise[:, 1:] - noise[:, 1:].mean(axis=1, keepdims=True)) * math.sqrt(1.5)
        factor = np.maximum(factor * (1.0 + kc * s * chroma), 0.05)[:, None, :]
        return dataclasses.replace(clip, mstmap=_with_rgb(x[..., :3] * factor))


def build_augmentations(specs: Sequence[Dict[str, Any]]) -> List[Any]:
    """Instantiate ``[{"name": "noise", "p": 0.5, ...}, ...]`` from :data:`AUGMENTATIONS`."""
    out = []
    for spec in specs:
        params = {k: v for k, v in spec.items() if k != "name"}
        cls = AUGMENTATIONS.get(str(spec["name"]))
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(params) - fields)
        if unknown:
            raise ValueError(f"augmentation {spec['name']!r}: unknown parameter(s) {unknown}; known: {sorted(fields)}")
        for f in dataclasses.fields(cls):  # YAML gives lists where a field is a (lo, hi) pair
            if f.name in params and isinstance(f.default, tuple):
                params[f.name] = tuple(params[f.name])
        out.append(cls(**params))
    return out


def source_span(augs: Sequence[Any]) -> float:
    """How many times longer than ``T`` a raw clip must be for these augmentations."""
    return max([1.0] + [float(getattr(a, "span", 1.0)) for a in augs])


# ----------------------------------------------------------------------------- items

#: window normalisation of new models (``ClusterPhysConfig.input_norm`` default)
DEFAULT_INPUT_NORM: str = ClusterPhysConfig.input_norm


def finalize(clip: Clip, T: int, rng: Optional[np.random.Generator] = None, keep_raw: bool = False,
             input_norm: str = DEFAULT_INPUT_NORM) -> Dict[str, Any]:
    """Crop to ``T`` frames and build the model item: ``x`` normalised ``[T,63,6]`` (with
    ``edge_rppg.skin.mstmap.normalize_window(..., input_norm)``, as the engines do), ``bvp``
    standardised ``[T]`` (all zeros for a pulseless clip), ``hr`` label (bpm; NaN without
    a pulse), ``pulse`` (1.0 if the clip carries a pulse, 0.0 for a pulseless one), and
    with ``keep_raw`` the raw colour means ``raw [T,63,6]`` (for classic methods)."""
    from edge_rppg.skin.mstmap import normalize_window

    if len(clip) < T:
        raise ShapeError(f"clip has {len(clip)} frames; the model window needs T={T}")
    start = 0
    if len(clip) > T and rng is not None:
        start = int(rng.integers(0, len(clip) - T + 1))
    sl = slice(start, start + T)
    raw = np.ascontiguousarray(clip.mstmap[sl], dtype=np.float32)
    x = np.nan_to_num(np.asarray(normalize_window(raw, input_norm), dtype=np.float32), nan=0.0, posinf=0.0,
                      neginf=0.0)
    bvp = clip.bvp[sl].astype(np.float64)
    bvp = bvp - bvp.mean()
    bvp = bvp / (bvp.std() + 1e-8)
    hr = Clip(raw, clip.bvp[sl], clip.hr_per_frame[sl]).hr_bpm
    if not clip.has_pulse:
        bvp = np.zeros_like(bvp)
        hr = float("nan")
    item = {"x": x, "bvp": bvp.astype(np.float32), "hr": np.float32(hr),
            "pulse": np.float32(1.0 if clip.has_pulse else 0.0)}
    if keep_raw:
        item["raw"] = raw
    return item


class ClipDataset(Dataset):
    """Base of the clip datasets: epoch-aware, deterministic per item.

    Subclasses implement :meth:`raw_clip` returning a clip of at least
    :attr:`source_len` frames; this class applies augmentations, crop and normalisation.
    """

    def __init__(self, T: int, augment: Sequence[Dict[str, Any]] = (), seed: int = 0,
                 source_id: int = 0) -> None:
        self.T = int(T)
        self.input_norm = DEFAULT_INPUT_NORM
        self.augs = build_augmentations(augment)
        self.seed = int(seed)
        self.source_id = int(source_id)
        self.epoch = 0
        self.keep_raw = False
        self.source_len = int(math.ceil(self.T * source_span(self.augs))) + 2

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch (changes augmentation draws and fresh synthetic seeds)."""
        self.epoch = int(epoch)

    def rng(self, index: int) -> np.random.Generator:
        """The generator of item ``index`` in the current epoch."""
        return np.random.default_rng([self.seed, self.epoch, self.source_id, int(index)])

    def raw_clip(self, index: int, rng: np.random.Generator) -> Clip:  # pragma: no cover - abstract
        """Raw clip ``index`` (at least ``source_len`` frames when possible)."""
        raise NotImplementedError

    def __getitem__(self, index: int) -> Dict[str, Any]:
        rng = self.rng(index)
        clip = self.raw_clip(index, rng)
        for aug in self.augs:
            clip = aug(clip, self.T, rng)
        return finalize(clip, self.T, rng, self.keep_raw, self.input_norm)

    def describe(self) -> Dict[str, Any]:  # pragma: no cover - abstract
        """JSON-able description stored in checkpoints."""
        raise NotImplementedError


class SyntheticClipDataset(ClipDataset):
    """``spec.n_clips`` synthetic subjects; item ``i`` is ``synth_mstmap(cfg, seed)`` with
    ``seed = spec.seed_offset + i`` (+ ``epoch * n_clips`` if ``spec.fresh_each_epoch``)."""

    def __init__(self, spec: DataSpec, T: int, stride: int = 0, augment: Sequence[Dict[str, Any]] = (),
                 seed: int = 0, source_id: int = 0) -> None:
        super().__init__(T, augment, seed, source_id)
        self.spec = spec  # stride: unused, every item is a whole generated subject
        self.synth_cfg = make_synth_config(spec.synth, self.source_len)

    def __len__(self) -> int:
        return self.spec.n_clips

    def sample_seed(self, index: int) -> int:
        """Generator seed of item ``index`` in the current epoch."""
        extra = self.epoch * self.spec.n_clips if self.spec.fresh_each_epoch else 0
        return self.spec.seed_offset + extra + int(index)

    def raw_clip(self, index: int, rng: np.random.Generator) -> Clip:
        """Generate the synthetic subject of ``index``."""
        from edge_rppg.synth.mstmap_gen import synth_mstmap

        s = synth_mstmap(self.synth_cfg, seed=self.sample_seed(index))
        return clip_from_sample(s)

    def describe(self) -> Dict[str, Any]:
        """Source, generator config and seed range."""
        first = self.spec.seed_offset
        return {"source": SYNTHETIC, "synth": self.synth_cfg.to_dict(), "n_clips": self.spec.n_clips,
                "seeds": [first, first + self.spec.n_clips], "fresh_each_epoch": self.spec.fresh_each_epoch,
                "source_frames": self.source_len}


def make_synth_config(overrides: Dict[str, Any], n_frames: int) -> Any:
    """``SynthConfig`` from field overrides, long enough for ``n_frames`` frames at 30 Hz."""
    from edge_rppg.synth.mstmap_gen import SynthConfig

    params = dict(overrides)
    fps = float(params.get("fps", MODEL_FPS))
    # frames at the generator's rate that cover n_frames at the model rate
    params["T"] = int(math.ceil(n_frames * fps / MODEL_FPS)) + 1
    return SynthConfig.from_dict(params)


def clip_from_sample(s: Any) -> Clip:
    """Convert a ``SynthSample`` into a raw :class:`Clip` (resampled to 30 Hz if needed)."""
    mst = np.asarray(s.mstmap, dtype=np.float32)
    bvp = np.asarray(s.bvp, dtype=np.float32)
    hr = getattr(s, "hr_per_frame", None)
    if hr is None:
        hr = getattr(s, "hr_bpm_per_frame", None)
    if hr is None:
        hr = np.full(len(bvp), float(np.mean(s.hr_bpm)), np.float32)
    hr = np.asarray(hr, dtype=np.float32)
    fps = float(getattr(s, "fps", MODEL_FPS))
    clip = Clip(mst, bvp, hr, fps, bool(getattr(s, "has_pulse", True)))
    return to_model_rate(clip)


def to_model_rate(clip: Clip) -> Clip:
    """Resample a clip to 30 Hz (the model rate) by linear interpolation."""
    if abs(clip.fps - MODEL_FPS) < 1e-6:
        return clip
    n_out = int(math.floor((len(clip) - 1) * MODEL_FPS / clip.fps)) + 1
    out = clip.take(np.arange(n_out) * clip.fps / MODEL_FPS)  # keeps has_pulse
    out.fps = MODEL_FPS
    return out


class WindowedClipDataset(ClipDataset):
    """Base of the sources made of whole clips held in memory (:attr:`clips`): item ``i``
    is the window ``index[i]`` = (clip, start) of ``source_len`` frames; starts every
    ``stride`` frames, clips shorter than ``T`` skipped (:meth:`index_windows`)."""

    clips: List[Clip]
    index: List[Tuple[int, int]]

    def index_windows(self, stride: int, none_message: str) -> None:
        """Cut :attr:`clips` into windows every ``stride`` frames; raise ``DatasetError``
        with ``none_message`` when no clip has ``T`` frames."""
        self.stride = int(stride)
        self.index = []
        for r, clip in enumerate(self.clips):
            n = len(clip)
            if n < self.T:
                continue
            length = min(self.source_len, n)
            self.index.extend((r, s) for s in range(0, n - length + 1, self.stride))
        if not self.index:
            raise DatasetError(none_message)

    def __len__(self) -> int:
        return len(self.index)

    def raw_clip(self, index: int, rng: np.random.Generator) -> Clip:
        """Window ``index`` (clip, start)."""
        r, start = self.index[index]
        c = self.clips[r]
        sl = slice(start, start + self.source_len)
        return Clip(c.mstmap[sl], c.bvp[sl], c.hr_per_frame[sl], c.fps, c.has_pulse)


class RecordingClipDataset(WindowedClipDataset):
    """Clips from a dataset reader: every recording in ``spec.split`` is loaded once
    (MSTmap cached by the reader), put on the 30 Hz grid with its reference PPG, and
    cut into windows of ``source_len`` frames every ``stride`` frames."""

    def __init__(self, spec: DataSpec, T: int, stride: int, augment: Sequence[Dict[str, Any]] = (),
                 seed: int = 0, source_id: int = 0) -> None:
        super().__init__(T, augment, seed, source_id)
        from edge_rppg.datasets import DATASETS

        self.spec = spec
        reader = DATASETS.get(spec.source)()
        recs = list(reader.list_recordings(spec.root))
        if not recs:
            raise DatasetError(f"dataset {spec.source!r} at {spec.root!r}: no recordings found")
        lo, hi = spec.split
        recs = recs[int(round(lo * len(recs))):int(round(hi * len(recs)))]
        if not recs:
            raise DatasetError(f"dataset {spec.source!r}: split {spec.split} selects no recordings")
        self.names: List[str] = []
        self.clips: List[Clip] = []
        for rec in recs:
            self.clips.append(clip_from_recording(reader.load_mstmap(rec, spec.cache_dir or None)))
            self.names.append(str(rec.name))
        self.index_windows(stride, f"dataset {spec.source!r}: no recording has the {self.T} frames a clip needs")

    def describe(self) -> Dict[str, Any]:
        """Dataset name, root, split, recordings and clip count."""
        return {"source": self.spec.source, "root": self.spec.root, "split": list(self.spec.split),
                "recordings": self.names, "n_clips": len(self.index), "stride": self.stride}


def clip_from_recording(rec: Any) -> Clip:
    """A whole recording (a reader's ``MSTmapRecord``) as a 30 Hz :class:`Clip`: invalid
    frames filled by interpolation, everything resampled onto a uniform 30 Hz grid from
    the frame timestamps; the per-frame HR is the recording's reference HR."""
    from edge_rppg.skin.mstmap import fill_invalid, resample_times

    mst = np.asarray(fill_invalid(np.asarray(rec.mstmap, np.float32), np.asarray(rec.valid, bool)), np.float32)
    bvp = np.asarray(rec.bvp, np.float32)
    t = np.asarray(rec.timestamps_s, np.float64)
    if mst.shape[0] != bvp.shape[0] or t.shape[0] != mst.shape[0]:
        raise DatasetError(f"recording {rec.name}: MSTmap has {mst.shape[0]} frames but the reference has "
                           f"{bvp.shape[0]} samples and {t.shape[0]} timestamps; expected equal lengths")
    if mst.shape[0] >= 2 and np.all(np.diff(t) > 0):
        mst = np.asarray(resample_times(mst, t, MODEL_FPS), np.float32)
        bvp = np.asarray(resample_times(bvp, t, MODEL_FPS), np.float32)
    hr = np.full(mst.shape[0], float(rec.hr_bpm), np.float32)
    return Clip(mst, bvp, hr, MODEL_FPS)


# ----------------------------------------------------------------------------- assembly

#: Generated sources by name (``DataSpec.source``); any other name is a dataset reader.
SOURCES: Dict[str, Any] = {SYNTHETIC: SyntheticClipDataset}


class Clips(ConcatDataset):
    """Concatenation of clip datasets that forwards :meth:`set_epoch` and :meth:`describe`."""

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch on every part."""
        for d in self.datasets:
            d.set_epoch(epoch)

    def set_input_norm(self, mode: str) -> None:
        """Normalise windows with ``mode`` (the model's ``input_norm``) in every part."""
        from edge_rppg.skin.mstmap import NORMALIZATIONS

        if mode not in NORMALIZATIONS:
            raise ValueError(f"unknown input_norm {mode!r}; expected one of {sorted(NORMALIZATIONS)}")
        for d in self.datasets:
            d.input_norm = mode

    def set_keep_raw(self, keep: bool) -> None:
        """Also return raw colour means (``raw``) with each item."""
        for d in self.datasets:
            d.keep_raw = bool(keep)

    def describe(self) -> List[Dict[str, Any]]:
        """Descriptions of every part."""
        return [d.describe() for d in self.datasets]


def source_class(name: str) -> Any:
    """The dataset class of data source ``name``: :data:`SOURCES` for the generated sources,
    :class:`RecordingClipDataset` for a dataset reader (``edge_rppg.datasets.DATASETS``)."""
    if name == RENDERED:  # imported here: training.rendered builds on this module's classes
        from .rendered import RenderedClipDataset

        return RenderedClipDataset
    return SOURCES.get(name, RecordingClipDataset)


def build_clips(specs: Sequence[DataSpec], T: int, stride: int, augment: Sequence[Dict[str, Any]] = (),
                seed: int = 0, input_norm: str = DEFAULT_INPUT_NORM) -> Clips:
    """One dataset over all ``specs`` (synthetic or dataset readers), in order, with
    windows normalised by ``input_norm`` (pass the model config's)."""
    parts: List[ClipDataset] = []
    for i, spec in enumerate(specs):
        parts.append(source_class(spec.source)(spec, T, stride, augment, seed, source_id=i))
    clips = Clips(parts)
    clips.set_input_norm(input_norm)
    return clips


def collate(items: Sequence[Dict[str, Any]]) -> Dict[str, torch.Tensor]:
    """Stack items into tensors (``x [B,T,63,6]``, ``bvp [B,T]``, ``hr [B]``, ``raw``)."""
    return {k: torch.from_numpy(np.stack([it[k] for it in items])) for k in items[0]}

