"""The training recipe as one serialisable config.

A :class:`TrainConfig` says everything a run needs (model preset and overrides, data
sources, window length, optimiser and schedule, AMP, seed, output folder, validation
set), so that ``edge-rppg train recipe.yaml`` is reproducible and the same config can be
stored inside every checkpoint it produces.
"""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any, Dict, List, Tuple

from edge_rppg.config import Config
from edge_rppg.errors import ConfigError, UnknownNameError

SYNTHETIC = "synthetic"
RENDERED = "rendered"
AMP_DTYPES = ("float16", "bfloat16")
#: Upper bounds of the recipe's sizes, checked before anything is allocated (``T: 1e9`` would
#: otherwise ask for 128 GB): window frames, clips per batch, frames per batch (the input
#: batch is ``batch_size * T * 63 * 6`` float32, 1.5 GB at this bound), steps, epochs, clips.
MAX_T = 18_000
MAX_BATCH_SIZE = 4096
MAX_BATCH_FRAMES = 1 << 20
MAX_STEPS = 100_000_000
MAX_EPOCHS = 1_000_000
MAX_CLIPS = 10_000_000
MAX_SYNTH_FPS = 1000.0


@dataclass
class DataSpec(Config):
    """One data source: synthetic MSTmaps or a dataset reader.

    ``source`` is ``"synthetic"``, ``"rendered"`` (face videos rendered and run through
    the product's front end, :mod:`training.rendered`; ``synth`` then overrides fields of
    its ``RenderDraws`` and ``cache_dir`` keeps the extractions) or a name in
    ``edge_rppg.datasets.DATASETS``.
    Synthetic: ``synth`` overrides fields of ``SynthConfig``; clip ``i`` of an epoch
    uses seed ``seed_offset + i`` (plus ``epoch * n_clips`` when ``fresh_each_epoch``,
    so every epoch sees new subjects). Dataset: ``root`` is the dataset folder,
    ``cache_dir`` where extracted MSTmaps are cached, ``split`` the fraction range
    ``[start, end)`` of the sorted recording list to use (e.g. train ``(0, 0.8)``,
    val ``(0.8, 1)``).
    """

    source: str = SYNTHETIC
    synth: Dict[str, Any] = field(default_factory=dict)
    n_clips: int = 512
    seed_offset: int = 0
    fresh_each_epoch: bool = False
    root: str = ""
    cache_dir: str = ""
    split: Tuple[float, float] = (0.0, 1.0)

    def __post_init__(self) -> None:
        _coerce_numbers(self)
        self.split = (float(self.split[0]), float(self.split[1]))
        if not 1 <= self.n_clips <= MAX_CLIPS:
            raise ConfigError(f"DataSpec.n_clips must be between 1 and {MAX_CLIPS}, got {self.n_clips}")
        lo, hi = self.split
        if not 0.0 <= lo < hi <= 1.0:
            raise ConfigError(f"DataSpec.split must satisfy 0 <= start < end <= 1, got {self.split}")
        if self.source not in (SYNTHETIC, RENDERED) and not self.root:
            raise ConfigError(f"DataSpec for dataset {self.source!r} needs 'root' (the dataset folder)")
        if not isinstance(self.synth, dict):
            raise ConfigError(f"DataSpec.synth must be a mapping of SynthConfig fields, got {self.synth!r}")
        fps = self.synth.get("fps", 30.0)  # the generator makes T * fps / 30 frames per clip
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 < fps <= MAX_SYNTH_FPS:
            raise ConfigError(f"DataSpec.synth.fps must be a number in (0, {MAX_SYNTH_FPS:g}], got {fps!r}")


def _coerce_numbers(cfg: Config) -> None:
    """Cast ``int``/``float`` fields given as text (YAML reads ``1e-3`` as a string) or as
    the other numeric type; a value that is not a number raises ``ValueError``."""
    hints = typing.get_type_hints(type(cfg))
    for f in dataclasses.fields(cfg):
        kind = hints.get(f.name)
        value = getattr(cfg, f.name)
        if kind not in (int, float) or isinstance(value, bool):
            continue
        try:
            number = float(value)
            if kind is int:
                if number != int(number):
                    raise ValueError
                number = int(number)
        except (TypeError, ValueError, OverflowError):
            raise ConfigError(f"{type(cfg).__name__}.{f.name} must be a{'n integer' if kind is int else ' number'}, "
                              f"got {value!r}") from None
        setattr(cfg, f.name, number)


def _specs(value: Any, what: str) -> List[DataSpec]:
    """Coerce a list of dicts / DataSpecs (as read from YAML) into ``DataSpec`` objects."""
    if isinstance(value, (DataSpec, dict)):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise ConfigError(f"TrainConfig.{what} must be a non-empty list of data specs, got {value!r}")
    return [v if isinstance(v, DataSpec) else DataSpec.from_dict(v) for v in value]


@dataclass
class TrainConfig(Config):
    """A complete training run.

    Model: ``model_preset`` names an entry of ``edge_rppg.pulse.models.cluster_phys.PRESETS``
    and ``model`` overrides individual ``ClusterPhysConfig`` fields; ``T`` (frames per
    window at 30 Hz) always wins over both. Data: ``data`` (training sources,
    concatenated), ``val`` (held-out sources), ``stride`` (frames between clip starts in
    dataset recordings; 0 = ``T // 2``) and ``augment`` (list of
    ``{"name": ..., **params}`` from ``edge_rppg.training.data.AUGMENTATIONS``). Schedule:
    ``steps`` optimiser steps when > 0, else ``epochs`` passes over ``data``; linear
    warmup for ``warmup_steps`` then cosine decay to ``lr * min_lr_ratio`` (constant
    after warmup if ``cosine`` is false). ``amp`` only takes effect on CUDA (``amp_dtype`` float16 with a
    gradient scaler, or bfloat16 without).
    ``val_every`` validates every that many epochs (and always at the end);
    ``ckpt_every`` also writes ``last.pt`` every that many steps (0 = at epoch ends only).
    ``init_from``: a checkpoint whose weights initialise the model (fine-tuning; its config
    may differ from this run's in fields that leave the weights' shapes alone, e.g.
    ``input_norm``); ignored when resuming.
    Loss: negative Pearson on clips with a pulse; on pulseless clips (``has_pulse`` False)
    ``null_loss_weight`` × the output's spectral peak fraction (no periodic output);
    ``spectrum_loss_weight`` > 0 adds that many times the mismatch of the output's in-band
    power spectrum with the true pulse's on clips with a pulse (a quality-minded term).
    """

    model_preset: str = "edge-small"
    model: Dict[str, Any] = field(default_factory=dict)
    T: int = 160
    stride: int = 0
    data: List[DataSpec] = field(default_factory=lambda: [DataSpec()])
    val: List[DataSpec] = field(default_factory=lambda: [DataSpec(n_clips=64, seed_offset=1_000_000)])
    augment: List[Dict[str, Any]] = field(default_factory=list)
    batch_size: int = 16
    steps: int = 0
    epochs: int = 10
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_steps: int = 100
    cosine: bool = True
    min_lr_ratio: float = 0.01
    grad_clip: float = 1.0
    null_loss_weight: float = 1.0
    spectrum_loss_weight: float = 0.0
    init_from: str = ""
    amp: bool = True
    amp_dtype: str = "float16"
    seed: int = 0
    output_dir: str = "out/train"
    num_workers: int = 0
    threads: int = 0
    val_every: int = 1
    ckpt_every: int = 0
    log_every: int = 10
    progress: bool = True

    def __post_init__(self) -> None:
        _coerce_numbers(self)
        self.data = _specs(self.data, "data")
        self.val = _specs(self.val, "val")
        self.augment = [dict(a) for a in self.augment]
        for a in self.augment:
            if "name" not in a:
                raise ConfigError(f"each augment entry needs a 'name', got {a!r}")
        checks = {
            "T": 16 <= self.T <= MAX_T,
            "stride": self.stride >= 0,
            "batch_size": 1 <= self.batch_size <= MAX_BATCH_SIZE and self.batch_size * self.T <= MAX_BATCH_FRAMES,
            "steps": 0 <= self.steps <= MAX_STEPS,
            "epochs": (self.epochs >= 1 or self.steps > 0) and self.epochs <= MAX_EPOCHS,
            "lr": self.lr > 0,
            "weight_decay": self.weight_decay >= 0,
            "warmup_steps": self.warmup_steps >= 0,
            "min_lr_ratio": 0 <= self.min_lr_ratio <= 1,
            "grad_clip": self.grad_clip >= 0,
            "null_loss_weight": self.null_loss_weight >= 0,
            "spectrum_loss_weight": 0 <= self.spectrum_loss_weight <= 100,
            "num_workers": self.num_workers >= 0,
            "threads": self.threads >= 0,
            "val_every": self.val_every >= 1,
            "ckpt_every": self.ckpt_every >= 0,
            "log_every": self.log_every >= 1,
        }
        checks["amp_dtype"] = self.amp_dtype in AMP_DTYPES
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            vals = {k: getattr(self, k) for k in bad}
            raise ConfigError(f"TrainConfig: invalid value(s) {vals}; expected 16<=T<={MAX_T}, "
                              f"1<=batch_size<={MAX_BATCH_SIZE} with batch_size*T<={MAX_BATCH_FRAMES}, "
                              f"steps<={MAX_STEPS}, epochs<={MAX_EPOCHS}, lr>0, 0<=min_lr_ratio<=1, "
                              f"non-negative counts, amp_dtype in {AMP_DTYPES}")
        self._check_model()

    def _check_model(self) -> None:
        """The model the recipe asks for (preset + ``model`` overrides + ``T``) must be a valid
        ``ClusterPhysConfig`` within :data:`edge_rppg.pulse.models.checkpoint.CONFIG_BOUNDS`;
        checked here, on the config alone, so a bad recipe fails in one line before training starts."""
        from edge_rppg.pulse.models.checkpoint import config_bound_errors
        from edge_rppg.pulse.models.cluster_phys import PRESETS, ClusterPhysConfig

        if self.model_preset not in PRESETS:
            raise UnknownNameError(f"unknown model_preset {self.model_preset!r}; known: {sorted(PRESETS)}")
        if not isinstance(self.model, dict):
            raise ConfigError(f"TrainConfig.model must be a mapping of ClusterPhysConfig fields, got {self.model!r}")
        preset = PRESETS[self.model_preset]
        merged = {**(preset.to_dict() if isinstance(preset, Config) else dict(preset)), **self.model, "T": self.T}
        errors = config_bound_errors(merged)
        if errors:
            raise ConfigError(f"TrainConfig.model: {', '.join(errors)}")
        try:
            ClusterPhysConfig.from_dict(merged)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"TrainConfig.model: {' '.join(str(exc).split())[:300]}") from None

    @property
    def clip_stride(self) -> int:
        """Frames between consecutive clip starts in dataset recordings."""
        return self.stride or max(1, self.T // 2)

    def with_overrides(self, overrides: Dict[str, Any]) -> "TrainConfig":
        """A copy with dotted-key overrides applied (``{"lr": 1e-4, "model.depth": 2,
        "val.0.n_clips": 16}``; a number indexes a list)."""
        data: Any = self.to_dict()
        for key, value in overrides.items():
            parts = key.split(".")
            node = data
            for i, p in enumerate(parts):
                last = i == len(parts) - 1
                if isinstance(node, list):
                    if not p.isdigit() or int(p) >= len(node):
                        raise ConfigError(f"override {key!r}: {p!r} is not an index of a list of {len(node)}")
                    if last:
                        node[int(p)] = value
                    else:
                        node = node[int(p)]
                elif last:
                    node[p] = value
                else:
                    if not isinstance(node.get(p), (dict, list)):
                        node[p] = {}
                    node = node[p]
        return TrainConfig.from_dict(data)
