"""Cluster-Phys (ACM MM 2024): MSTmap ``[B, T, 63, 6]`` → BVP ``[B, T]``.

Architecture (paper §3, Fig. 3): a fully connected embedding of the 6 colour channels
(plus a learned ROI-position embedding and a fixed sinusoidal frame-position code — both
additions the paper does not mention, see :class:`ClusterPhysConfig`), then L stages of

1. Facial ROI Prototypical Clustering (:mod:`edge_rppg.pulse.models.fpc`): DPC-KNN init of
   K = ceil(N·ρ) prototypes per frame, M E-M iterations, similarity-weighted update;
2. Spatial-Temporal Prototype Interaction (:mod:`edge_rppg.pulse.models.interaction`),

where the prototypes of stage l are the features of stage l+1 (63 → 32 → 16 → 8 → 4),
and a head (LayerNorm, average over prototypes, linear) giving s_pre ∈ R^T.  Training
uses :func:`neg_pearson_loss` (eq. 9).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Dict, List, Optional, Tuple, Union

from edge_rppg.extras import require
require("torch", "train")  # missing: one line naming the extra to install
import torch
from torch import Tensor, nn

from ...config import Config
from ...errors import ModelFileError, ShapeError
from ...frames.color import MSTMAP_CHANNELS
from ...skin.mstmap import NORMALIZATIONS
from .fpc import CLUSTER_STRATEGIES, FPCClusterer, prototype_update
from .interaction import SpatialTemporalInteraction

__all__ = ["ClusterPhysConfig", "PRESETS", "ClusterPhys", "ClusterPhysStage", "prototype_schedule",
           "neg_pearson_loss", "spectral_peak_fraction", "pulse_presence_loss", "sinusoidal_positions"]


@dataclass
class ClusterPhysConfig(Config):
    """Hyper-parameters of :class:`ClusterPhys`.

    The paper fixes: N = 63 ROI rows × 6 channels, L = ``stages`` = 4, ρ = ``rho`` = 0.5
    (K_l = ceil(N_{l-1}·ρ): 32, 16, 8, 4), pre-LN MSA+FFN interaction, neg-Pearson loss,
    and reports 1.92 M parameters / 4.97 GFLOPs (Table 6).  It does not give D, heads, M,
    k, FFN width or T for Table 6; our choices:

    * ``dim`` D = 128, ``heads`` = 4, ``mlp_ratio`` = 4, ``depth`` = 1 (one spatial and
      one temporal block per stage), ``em_iters`` M = 2: this gives 1.79 M parameters and
      5.66 G multiply-accumulates at T = 160 (−7 % / +14 % against Table 6, counting
      GFLOPs as MACs the way thop/fvcore do; at T = 300 it is 11.3 GMACs, +127 %).  See
      ``bench/bench_model_complexity.py``.
    * ``T`` = 160 frames (PhysFormer's clip length; the paper's 4.97 GFLOPs matches
      T = 160 counted as MACs, not T = 300).  The model is built for one fixed T.
    * ``knn_k`` k = 5 (TCFormer's DPC-KNN value); clipped to N − 1 in small stages.
    * ``dropout`` = 0.1 in attention and FFN.
    * ``roi_pos_embed``: learned ``[63, D]`` embedding added after the FC embedding so
      that ROI identity (which subset of meta-ROIs a row is) survives clustering.  It is
      initialised N(0, 1) (the ``nn.Embedding`` convention), which makes the 63 ROI
      features of a frame distinct from the start: with a ViT-style 0.02 init they are
      nearly identical, DPC/E-M prototypes collapse onto the frame mean, and the
      nearest-prototype assignment of eq. 6 is decided by float rounding (so an ONNX
      export would not reproduce it).
    * ``temporal_pos_embed``: fixed sinusoidal code of the frame index (no parameters;
      identical for all ROIs of a frame, so it leaves DPC distances unchanged) — without
      it temporal attention would be blind to frame order.
    * ``prototypes``: explicit K per stage; ``None`` derives it from ``rho``.
    * ``assign_temperature`` τ = 0.05: the nearest-prototype assignment of the update
      (eq. 6–7) is the soft match ``softmax_j(S_ij / τ)`` instead of the paper's hard
      ArgMax (τ = 0 restores it).  A hard assignment makes the output jump when two
      cosine similarities tie to within float rounding; the temporal interaction then
      spreads that jump over the whole window, so PyTorch, ONNX Runtime and TensorRT
      (let alone FP16/INT8) disagree by up to ~4e-2 on most clips.  With τ = 0.05 an
      exported model reproduces PyTorch to ~1e-5 (``export/equivalence.py``).
    * ``select_temperature`` τ_s = 0.05: the DPC-KNN top-K initialisation (eq. 1–2) is
      the continuous relaxation :func:`~edge_rppg.pulse.models.fpc.soft_density_peak_selection`
      (sigmoids of density and score gaps relative to 5 % of the frame's scale, interval
      overlaps for the slots) instead of hard comparisons (τ_s = 0 restores them).  It
      equals the hard selection away from near-ties, where it blends the candidates
      instead of jumping — the last discrete decision that let float rounding flip an
      exported model's output.
      Checkpoints written before these fields existed load with τ = τ_s = 0 (hard), the
      way they were trained (:attr:`legacy_defaults`).
    * ``input_norm`` = ``"acdc"``: how engines normalise a raw window before the model
      (:func:`edge_rppg.skin.mstmap.normalize_window`): ``"acdc"`` divides each trace by its
      temporal mean, subtracts 1 and applies one scale common to the whole window, which
      keeps the relative R/G/B amplitude that tells a pulse from light and motion;
      ``"minmax"`` is the paper's (CVD's) per-trace min-max; ``"acdc_pos"`` (the shipped
      model's) is ``"acdc"`` with V replaced by each ROI row's POS pulse, ``"minmax_acdc"``
      both views side by side (:data:`edge_rppg.skin.mstmap.NORMALIZATIONS`).  Stored with the config, so
      checkpoints and ONNX metadata carry it; configs without it load as ``"minmax"``.

    Ablation switches (Tables 4–5): ``use_clustering=False`` replaces clustering with a
    fixed contiguous grouping of the N tokens into K means (strategy ``"none"``);
    ``use_update`` toggles eq. 5–7; ``use_spatial`` / ``use_temporal`` toggle the two
    interactions; ``cluster_strategy`` ∈ {"fpc", "dpc", "kmeans", "random"} (see
    :data:`edge_rppg.pulse.models.fpc.CLUSTER_STRATEGIES`; ``kmeans_iters`` Lloyd steps for
    "kmeans"; ``seed`` draws the fixed "random" centres).
    """

    T: int = 160
    n_rois: int = 63
    in_channels: int = 6
    dim: int = 128
    heads: int = 4
    mlp_ratio: float = 4.0
    depth: int = 1
    stages: int = 4
    rho: float = 0.5
    prototypes: Optional[Tuple[int, ...]] = None
    em_iters: int = 2
    knn_k: int = 5
    kmeans_iters: int = 3
    dropout: float = 0.1
    roi_pos_embed: bool = True
    temporal_pos_embed: bool = True
    use_clustering: bool = True
    use_update: bool = True
    use_spatial: bool = True
    use_temporal: bool = True
    cluster_strategy: str = "fpc"
    seed: int = 0
    assign_temperature: float = 0.05
    select_temperature: float = 0.05
    input_norm: str = "acdc"
    color_space: str = "rgb"

    #: values for fields missing from configs saved before the field existed
    legacy_defaults: ClassVar[Dict[str, Any]] = {"assign_temperature": 0.0, "select_temperature": 0.0,
                                                 "input_norm": "minmax", "color_space": "rgb"}

    def __post_init__(self) -> None:
        if self.prototypes is not None:
            self.prototypes = tuple(int(k) for k in self.prototypes)
        checks = {
            "T >= 2": self.T >= 2,
            "n_rois >= 1": self.n_rois >= 1,
            "in_channels >= 1": self.in_channels >= 1,
            "dim divisible by heads": self.heads >= 1 and self.dim % self.heads == 0,
            "stages >= 1": self.stages >= 1,
            "0 < rho <= 1": 0.0 < self.rho <= 1.0,
            "em_iters >= 0": self.em_iters >= 0,
            "knn_k >= 1": self.knn_k >= 1,
            "depth >= 1": self.depth >= 1,
            "0 <= dropout < 1": 0.0 <= self.dropout < 1.0,
            "assign_temperature >= 0": float(self.assign_temperature) >= 0.0,
            "select_temperature >= 0": float(self.select_temperature) >= 0.0,
            f"input_norm in {sorted(NORMALIZATIONS)}": self.input_norm in NORMALIZATIONS,
            f"color_space in {sorted(MSTMAP_CHANNELS)}": self.color_space in MSTMAP_CHANNELS,
            "in_channels = the colour space's MSTmap channels (rgb 6, gray 1)":
                self.in_channels == len(MSTMAP_CHANNELS.get(self.color_space, ())),
            f"cluster_strategy in {sorted(k for k in CLUSTER_STRATEGIES if k != 'none')}":
                self.cluster_strategy in CLUSTER_STRATEGIES and self.cluster_strategy != "none",
        }
        failed = [name for name, ok in checks.items() if not ok]
        if failed:
            raise ValueError(f"ClusterPhysConfig: expected {', '.join(failed)}; got {self}")
        prototype_schedule(self)  # validates an explicit schedule

    @property
    def input_shape(self) -> str:
        """The expected input shape as text, e.g. ``[B, T=160, 63, 6]``."""
        return f"[B, T, {self.n_rois}, {self.in_channels}] with T={self.T} (float32)"


def prototype_schedule(config: ClusterPhysConfig) -> List[int]:
    """Prototype counts per stage: explicit ``config.prototypes`` or K_l = ceil(N_{l-1}·ρ)."""
    if config.prototypes is not None:
        ks = list(config.prototypes)
        prev = config.n_rois
        for k in ks:
            if not 1 <= k <= prev:
                raise ValueError(f"prototypes {ks}: each K must be in [1, previous N] starting from "
                                 f"N={config.n_rois}")
            prev = k
        if len(ks) != config.stages:
            raise ValueError(f"prototypes {ks}: expected {config.stages} entries (one per stage)")
        return ks
    ks, n = [], config.n_rois
    for _ in range(config.stages):
        n = max(1, math.ceil(n * config.rho - 1e-9))
        ks.append(n)
    return ks


PRESETS: Dict[str, ClusterPhysConfig] = {
    # Paper-size model (Table 6: 1.92 M params, 4.97 GFLOPs): the default.
    "paper": ClusterPhysConfig(),
    # Small model for CPU training on 2 cores in ~40 min: D = 32, 2 heads, FFN ×2, M = 1,
    # no dropout; same stages/ρ/k/ablation logic.  0.083 M parameters and 0.42 GMACs per
    # 160-frame clip (22× fewer parameters, 13× fewer MACs); one Adam step on a batch of
    # 8 clips takes ~1.4–2.2 s on one busy CPU core.
    "edge-small": ClusterPhysConfig(dim=32, heads=2, mlp_ratio=2.0, em_iters=1, dropout=0.0),
    # "edge-small" for a monochrome (near-infrared) camera: one intensity channel per ROI
    # combination ([B, T, 63, 1]), AC/DC normalised with one scale (the sensor's depth and gain
    # drop out). A model file of it says color_space "gray"; a colour stream refuses it.
    "edge-small-mono": ClusterPhysConfig(dim=32, heads=2, mlp_ratio=2.0, em_iters=1, dropout=0.0, in_channels=1,
                                         color_space="gray", input_norm="acdc_mono"),
}
"""Named configs; ``PRESETS["paper"]`` equals ``ClusterPhysConfig()``."""


def sinusoidal_positions(length: int, dim: int) -> Tensor:
    """Transformer sine/cosine position code ``[length, dim]`` (Vaswani et al.)."""
    pos = torch.arange(length, dtype=torch.float32).unsqueeze(1)
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    pe = torch.zeros(length, dim)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)[:, : dim // 2]
    return pe


def neg_pearson_loss(pred: Tensor, target: Tensor, eps: float = 1e-8) -> Tensor:
    """Eq. 9: mean over the batch of ``1 − Pearson r(pred, target)`` along the last axis.

    Accepts ``[T]`` or ``[B, T]``; a constant signal gives r = 0 (loss 1) instead of NaN.
    """
    if pred.shape != target.shape:
        raise ShapeError(f"neg_pearson_loss: pred {tuple(pred.shape)} and target {tuple(target.shape)} "
                         "must have the same shape [B, T]")
    p = pred - pred.mean(dim=-1, keepdim=True)
    g = target - target.mean(dim=-1, keepdim=True)
    cov = (p * g).sum(-1)
    r = cov / (torch.sqrt((p * p).sum(-1) * (g * g).sum(-1)) + eps)
    return (1.0 - r).mean()


def _band_power(x: Tensor, fs: float, band_hz: Tuple[float, float], pad: int) -> Tensor:
    """In-band power spectrum of each row of ``x [B, T]`` (mean removed, Hann window,
    ``pad``-fold zero padding)."""
    x = x - x.mean(dim=-1, keepdim=True)
    T = x.shape[-1]
    x = x * torch.hann_window(T, periodic=False, dtype=x.dtype, device=x.device)
    spec = torch.fft.rfft(x, n=int(pad) * T)
    f = torch.fft.rfftfreq(int(pad) * T, 1.0 / fs).to(x.device)
    band = (f >= band_hz[0]) & (f <= band_hz[1])
    return (spec.real ** 2 + spec.imag ** 2)[..., band]


def spectral_peak_fraction(pred: Tensor, fs: float = 30.0, band_hz: Tuple[float, float] = (0.67, 3.0),
                           halfwidth_hz: float = 0.1, pad: int = 4) -> Tensor:
    """Share of a signal's in-band power that lies within ``±halfwidth_hz`` of its
    strongest frequency, per row of ``pred [B, T]`` (or ``[T]``): ~1 for a pulse-like
    periodic signal, ~(2·halfwidth / band width) ≈ 0.1 for a spectrally flat one.

    This is the differentiable counterpart of the spectral SNR that decides whether an
    HR reading is valid (``edge_rppg.vitals.dsp.hr``); the trainer minimises it on pulseless
    clips so that the model outputs no periodic signal there (a negative-Pearson loss
    against a zero target is constant and teaches nothing).  Hann window, ``pad``-fold
    zero padding.
    """
    pb = _band_power(pred, fs, band_hz, pad)
    n = int(pad) * pred.shape[-1]
    k = 2 * max(1, int(round(halfwidth_hz / (fs / n)))) + 1
    flat = pb.reshape(-1, 1, pb.shape[-1])
    near = torch.nn.functional.conv1d(flat, torch.ones(1, 1, k, dtype=pb.dtype, device=pb.device), padding=k // 2)
    near = near.reshape(pb.shape)
    return near.max(dim=-1).values / (pb.sum(dim=-1) + 1e-12)


def spectrum_mismatch(pred: Tensor, target: Tensor, fs: float = 30.0, band_hz: Tuple[float, float] = (0.67, 3.0),
                      pad: int = 4) -> Tensor:
    """``1 − cos`` between the in-band power spectra of ``pred`` and ``target`` per row
    of ``[B, T]``: 0 when the output's power sits where the true pulse's does, towards 1
    when it spreads where the pulse has none.

    Negative Pearson rewards the waveform's overall match, so broadband power costs it only
    in proportion to its energy; the window's quality (spectral SNR, which decides
    validity) is a ratio of power at the pulse to power elsewhere in the band. This term
    asks for that concentration directly (the spirit of SiNC's bandwidth and sparsity
    losses, Speth et al. 2023, but against the known pulse's own spectrum, so an HR that
    drifts inside the window is a spread the target shares and is not penalised).
    """
    a = _band_power(pred, fs, band_hz, pad)
    b = _band_power(target, fs, band_hz, pad)
    cos = (a * b).sum(-1) / (torch.sqrt((a * a).sum(-1) + 1e-12) * torch.sqrt((b * b).sum(-1) + 1e-12) + 1e-12)
    return 1.0 - cos


def pulse_presence_loss(pred: Tensor, target: Tensor, has_pulse: Tensor, null_weight: float = 1.0,
                        fs: float = 30.0, spectrum_weight: float = 0.0) -> Tensor:
    """Training loss over a batch that mixes clips with and without a pulse.

    Clips with a pulse (``has_pulse`` 1): eq. 9, ``1 − r(pred, target)``, plus
    ``spectrum_weight`` × :func:`spectrum_mismatch` when it is > 0.  Pulseless clips
    (``has_pulse`` 0, a periodic head motion or light and no blood signal): ``null_weight``
    × :func:`spectral_peak_fraction` of the output, so the model learns to put out no
    spectral peak — the window's SNR, and with it the validity flag, then says "no pulse".
    Mean over the batch.
    """
    if pred.shape != target.shape:
        raise ShapeError(f"pulse_presence_loss: pred {tuple(pred.shape)} and target {tuple(target.shape)} "
                         "must have the same shape [B, T]")
    p = pred - pred.mean(dim=-1, keepdim=True)
    g = target - target.mean(dim=-1, keepdim=True)
    # separate square roots with an epsilon inside: a zero target (pulseless clip) must not
    # put sqrt(0) (infinite gradient) into the graph
    r = (p * g).sum(-1) / (torch.sqrt((p * p).sum(-1) + 1e-12) * torch.sqrt((g * g).sum(-1) + 1e-12) + 1e-8)
    w = has_pulse.to(pred.dtype).reshape(r.shape)
    per_item = w * (1.0 - r)
    if spectrum_weight > 0:
        per_item = per_item + w * float(spectrum_weight) * spectrum_mismatch(pred, target, fs)
    if bool((w < 0.5).any()):
        per_item = per_item + (1.0 - w) * float(null_weight) * spectral_peak_fraction(pred, fs)
    return per_item.mean()


def _exporting() -> bool:
    """True while tracing/exporting, where data-dependent Python checks must be skipped."""
    return bool(torch.jit.is_tracing() or torch.onnx.is_in_onnx_export() or torch.compiler.is_compiling())


class ClusterPhysStage(nn.Module):
    """One stage: clustering N → K prototypes, optional update, spatial-temporal interaction."""

    def __init__(self, config: ClusterPhysConfig, n_in: int, k_out: int, index: int) -> None:
        super().__init__()
        strategy = config.cluster_strategy if config.use_clustering else "none"
        self.n_in, self.k_out = n_in, k_out
        self.cluster = CLUSTER_STRATEGIES[strategy](
            dim=config.dim, n_in=n_in, k_out=k_out, knn_k=config.knn_k, em_iters=config.em_iters,
            kmeans_iters=config.kmeans_iters, seed=config.seed, stage=index,
            select_temperature=config.select_temperature)
        self.use_update = config.use_update
        self.assign_temperature = float(config.assign_temperature)
        self.interaction = SpatialTemporalInteraction(
            config.dim, config.heads, config.mlp_ratio, config.dropout, config.depth,
            use_spatial=config.use_spatial, use_temporal=config.use_temporal)

    def forward(self, h: Tensor) -> Tensor:
        """``[B, T, N, D]`` → ``[B, T, K, D]``."""
        b, t, n, d = h.shape
        x = h.reshape(b * t, n, d)
        c = self.cluster(x)
        if self.use_update:
            c = prototype_update(x, c, self.assign_temperature)[0]
        return self.interaction(c.reshape(b, t, self.k_out, d))


class ClusterPhys(nn.Module):
    """The Cluster-Phys network; ``forward`` maps normalised MSTmaps to BVP.

    Input: ``[B, T, 63, 6]`` float32, each row/channel min-max normalised to [0, 1] within
    the window (``edge_rppg.skin.mstmap.normalize_window``).  Wrong shape, dtype, T, or
    NaN/inf values raise :class:`~edge_rppg.errors.ShapeError` (a ``ValueError``); the
    NaN/inf check is skipped while tracing/exporting.  Output: ``[B, T]``.
    """

    config_cls = ClusterPhysConfig

    def __init__(self, config: Optional[ClusterPhysConfig] = None) -> None:
        super().__init__()
        self.config = config if config is not None else ClusterPhysConfig()
        cfg = self.config
        self.schedule = prototype_schedule(cfg)
        self.embed = nn.Linear(cfg.in_channels, cfg.dim)
        self.roi_pos = nn.Parameter(torch.zeros(cfg.n_rois, cfg.dim)) if cfg.roi_pos_embed else None
        tpe = sinusoidal_positions(cfg.T, cfg.dim) if cfg.temporal_pos_embed else torch.zeros(cfg.T, cfg.dim)
        self.register_buffer("time_pos", tpe.unsqueeze(1), persistent=False)  # [T, 1, D]
        ns = [cfg.n_rois] + self.schedule[:-1]
        self.stages = nn.ModuleList(
            [ClusterPhysStage(cfg, n, k, i) for i, (n, k) in enumerate(zip(ns, self.schedule))])
        self.norm = nn.LayerNorm(cfg.dim)
        self.head = nn.Linear(cfg.dim, 1)
        self._init_weights()

    def _init_weights(self) -> None:
        """Truncated-normal(0.02) linear weights, zero biases (ViT practice); seeded by ``config.seed``.

        The E-M projections Q, K, V of FPC start at identity (+ the small noise), so that at
        initialisation eq. 3–4 is a soft k-means step in feature space and eq. 5 compares
        prototypes and features living in the same space; with near-zero projections every
        prototype would start as the same frame mean (uniform attention).
        """
        gen = torch.Generator().manual_seed(self.config.seed)
        with torch.no_grad():
            for module in self.modules():
                if isinstance(module, nn.Linear):
                    module.weight.copy_(torch.randn(module.weight.shape, generator=gen).clamp_(-2, 2) * 0.02)
                    if module.bias is not None:
                        module.bias.zero_()
            if self.roi_pos is not None:
                self.roi_pos.copy_(torch.randn(self.roi_pos.shape, generator=gen))
            for module in self.modules():
                if isinstance(module, FPCClusterer):
                    for proj in (module.q, module.k, module.v):
                        proj.weight.add_(torch.eye(proj.weight.shape[0]))

    def check_input(self, x: object) -> Tensor:
        """Raise :class:`ShapeError` unless ``x`` is a finite ``[B, T, 63, 6]`` float32 tensor."""
        cfg = self.config
        expected = cfg.input_shape
        if not isinstance(x, Tensor):
            raise ShapeError(f"ClusterPhys input must be a torch.Tensor of shape {expected}, "
                             f"got {type(x).__name__}")
        if x.dim() != 4 or tuple(x.shape[2:]) != (cfg.n_rois, cfg.in_channels):
            raise ShapeError(f"ClusterPhys input has shape {tuple(x.shape)}; expected {expected}")
        if x.shape[1] != cfg.T:
            raise ShapeError(f"ClusterPhys input has T={x.shape[1]} frames; expected {expected}")
        param_dtype = self.embed.weight.dtype
        if x.dtype != param_dtype:
            raise ShapeError(f"ClusterPhys input dtype is {x.dtype}; expected {expected} "
                             f"(model parameters are {param_dtype})")
        if not _exporting() and not bool(torch.isfinite(x).all()):
            raise ShapeError("ClusterPhys input contains NaN or inf; expected a finite, window-normalised "
                             f"MSTmap {expected} (fill or drop invalid frames first)")
        return x

    def features(self, x: Tensor) -> Tensor:
        """Final prototypes ``[B, T, K_L, D]`` (before the head), for inspection."""
        h = self.embed(x)
        if self.roi_pos is not None:
            h = h + self.roi_pos
        h = h + self.time_pos
        for stage in self.stages:
            h = stage(h)
        return h

    def forward(self, x: Tensor) -> Tensor:
        """``[B, T, 63, 6]`` → BVP ``[B, T]``."""
        self.check_input(x)
        h = self.norm(self.features(x)).mean(dim=2)
        return self.head(h).squeeze(-1)

    @classmethod
    def from_checkpoint(cls, path: Union[str, Path]) -> "ClusterPhys":
        """Build the model stored in a :func:`~edge_rppg.pulse.models.checkpoint.save_checkpoint` file."""
        from .checkpoint import load_checkpoint

        model, _ = load_checkpoint(path)
        if not isinstance(model, cls):
            raise ModelFileError(f"{path}: holds a {type(model).__name__}, expected {cls.__name__}")
        return model

    def load_weights(self, path: Union[str, Path]) -> Dict[str, object]:
        """Load a checkpoint's weights into this model; its config must equal ``self.config``.

        Returns the checkpoint's ``extra`` dict.  Raises ``ModelFileError`` otherwise.
        """
        from .checkpoint import load_checkpoint

        model, extra = load_checkpoint(path, expected_config=self.config)
        self.load_state_dict(model.state_dict(), strict=True)
        return extra

