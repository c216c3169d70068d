"""The one training loop of edge_rppg: Cluster-Phys on MSTmap clips.

:class:`Trainer` builds the model from a :class:`~edge_rppg.training.config.TrainConfig`, trains it
with AdamW (no decay on biases and norms), linear warmup + cosine decay, gradient
clipping and — on CUDA only — mixed precision, with the negative Pearson loss of the
paper (§3.4). It validates HR MAE/RMSE/r every ``val_every`` epochs (HR of the predicted
and of the ground-truth BVP, both from ``hr_from_psd``) and writes ``last.pt`` /
``best.pt`` through ``edge_rppg.pulse.models.checkpoint.save_checkpoint`` carrying the config,
git revision, data description, metrics and the optimiser/scheduler/step state, so a run
resumes exactly where it stopped. Launched by ``torchrun`` it trains with
DistributedDataParallel (gloo on CPU, NCCL on GPU); only rank 0 prints and writes.

Determinism: model init from ``seed``; data order from ``DistributedSampler(seed)`` and
the epoch; each item from its own generator (``edge_rppg.training.data``); torch's RNG re-seeded
from ``(seed, step)`` before every step. A resumed run therefore reproduces the
uninterrupted one.
"""
from __future__ import annotations

import json
import math
import subprocess
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import numpy as np
from edge_rppg.extras import require
require("torch", "train")  # missing: one line naming the extra to install
import torch
from torch.utils.data import DataLoader, DistributedSampler

from edge_rppg.config import Config
from edge_rppg.errors import ModelFileError

from .config import TrainConfig
from .data import Clips, build_clips, collate
from .distributed import DistContext, barrier, init_distributed


def build_model_config(cfg: TrainConfig) -> Any:
    """``ClusterPhysConfig`` = preset ``cfg.model_preset`` + overrides ``cfg.model`` + ``T``."""
    from edge_rppg.pulse.models.cluster_phys import PRESETS, ClusterPhysConfig

    if cfg.model_preset not in PRESETS:
        raise KeyError(f"unknown model preset {cfg.model_preset!r}; known: {sorted(PRESETS)}")
    preset = PRESETS[cfg.model_preset]
    base = preset.to_dict() if isinstance(preset, Config) else dict(preset)
    base.update(cfg.model)
    base["T"] = cfg.T
    return ClusterPhysConfig.from_dict(base)


def git_revision() -> str:
    """``git describe``-style revision of the source tree (``+dirty`` if modified), or ``unknown``."""
    root = Path(__file__).resolve().parents[1]
    try:
        rev = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


class LrSchedule:
    """LR factor at step ``s``: linear warmup over ``warmup`` steps, then cosine decay to
    ``min_ratio`` at ``total`` (or constant 1 when ``cosine`` is false). A plain object
    (not a lambda) so ``LambdaLR.state_dict`` can store it."""

    def __init__(self, warmup: int, total: int, cosine: bool, min_ratio: float) -> None:
        self.warmup, self.total, self.cosine, self.min_ratio = int(warmup), int(total), bool(cosine), float(min_ratio)

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return (step + 1) / self.warmup
        if not self.cosine:
            return 1.0
        p = min(1.0, (step - self.warmup) / max(1, self.total - self.warmup))
        return self.min_ratio + (1.0 - self.min_ratio) * 0.5 * (1.0 + math.cos(math.pi * p))


def _param_groups(model: torch.nn.Module, weight_decay: float) -> List[Dict[str, Any]]:
    """AdamW groups: weight decay on matrices only (not biases, norms, or 1-D tokens)."""
    decay, no_decay = [], []
    for _, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
        if p.requires_grad:
            (decay if p.ndim >= 2 else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def _to_plain_optim(state: Dict[str, Any]) -> Dict[str, Any]:
    """Optimizer state dict with str keys (checkpoints hold str-keyed dicts only)."""
    return {"state": {str(k): v for k, v in state["state"].items()}, "param_groups": state["param_groups"]}


def _from_plain_optim(state: Dict[str, Any]) -> Dict[str, Any]:
    """Inverse of :func:`_to_plain_optim`."""
    return {"state": {int(k): v for k, v in state["state"].items()}, "param_groups": state["param_groups"]}


class Trainer:
    """Train Cluster-Phys as described by ``cfg``; see the module docstring.

    ``resume`` is a checkpoint written by this class (its model config must equal this
    run's, else :class:`ModelFileError`). ``ctx`` defaults to :func:`init_distributed`.
    ``progress`` overrides ``cfg.progress``.
    """

    def __init__(self, cfg: TrainConfig, resume: Union[str, Path, None] = None, ctx: Optional[DistContext] = None,
                 progress: Optional[bool] = None) -> None:
        from edge_rppg.pulse.models.cluster_phys import ClusterPhys

        self.cfg = cfg
        self.ctx = ctx or init_distributed()
        self.device = torch.device(self.ctx.device)
        self.progress = cfg.progress if progress is None else progress
        self.out_dir = Path(cfg.output_dir)
        if cfg.batch_size % self.ctx.world_size:
            raise ValueError(f"batch_size={cfg.batch_size} (global) must be divisible by the "
                             f"world size {self.ctx.world_size}")
        self.local_batch = cfg.batch_size // self.ctx.world_size

        if cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        self.model_cfg = build_model_config(cfg)
        torch.manual_seed(cfg.seed)
        np.random.seed(cfg.seed % (2**32))
        self.model = ClusterPhys(self.model_cfg).to(self.device)
        if cfg.init_from and resume is None:
            from edge_rppg.pulse.models.checkpoint import load_checkpoint

            init, _ = load_checkpoint(cfg.init_from)
            self.model.load_state_dict(init.state_dict())  # strict: the shapes must match

        self.train_set: Clips = build_clips(cfg.data, cfg.T, cfg.clip_stride, cfg.augment, cfg.seed,
                                            input_norm=self.model_cfg.input_norm)
        self._val_set: Optional[Clips] = None
        self.sampler = DistributedSampler(self.train_set, num_replicas=self.ctx.world_size, rank=self.ctx.rank,
                                          shuffle=True, seed=cfg.seed, drop_last=True)
        self.steps_per_epoch = len(self.sampler) // self.local_batch
        if self.steps_per_epoch < 1:
            raise ValueError(f"training data has {len(self.train_set)} clips; one step needs batch_size="
                             f"{cfg.batch_size} (x world size {self.ctx.world_size} replicas)")
        self.total_steps = cfg.steps if cfg.steps > 0 else cfg.epochs * self.steps_per_epoch

        self.amp = bool(cfg.amp and self.device.type == "cuda")
        self.amp_dtype = getattr(torch, cfg.amp_dtype)
        self.optimizer = torch.optim.AdamW(_param_groups(self.model, cfg.weight_decay), lr=cfg.lr,
                                           betas=(0.9, 0.999))
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, LrSchedule(cfg.warmup_steps, self.total_steps, cfg.cosine, cfg.min_lr_ratio))
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp and self.amp_dtype == torch.float16)

        self.step = 0
        self.best_mae = math.inf
        self.metrics: Dict[str, Any] = {}
        self.history: List[Dict[str, Any]] = []
        self.losses: List[float] = []
        if resume is not None:
            self.load(resume)

        self.net: torch.nn.Module = self.model
        if self.ctx.distributed:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.net = DistributedDataParallel(self.model, device_ids=ids)

    # ------------------------------------------------------------------ data

    @property
    def val_set(self) -> Clips:
        """Held-out clips (built on first use, without augmentation)."""
        if self._val_set is None:
            self._val_set = build_clips(self.cfg.val, self.cfg.T, self.cfg.clip_stride, (), self.cfg.seed + 1,
                                        input_norm=self.model_cfg.input_norm)
        return self._val_set

    def loader(self, epoch: int, skip_batches: int = 0) -> DataLoader:
        """This rank's batches of ``epoch``, starting after ``skip_batches`` (for resume)."""
        self.train_set.set_epoch(epoch)
        self.sampler.set_epoch(epoch)
        indices = list(self.sampler)[skip_batches * self.local_batch:]
        return DataLoader(self.train_set, batch_size=self.local_batch, sampler=indices, drop_last=True,
                          num_workers=self.cfg.num_workers, collate_fn=collate,
                          pin_memory=self.device.type == "cuda")

    # ------------------------------------------------------------------ steps

    def train_step(self, batch: Dict[str, torch.Tensor]) -> float:
        """One optimiser step on ``batch``; returns the (rank-local) loss."""
        from edge_rppg.pulse.models.cluster_phys import pulse_presence_loss

        torch.manual_seed(self.cfg.seed * 1_000_003 + self.step)
        self.net.train()
        x = batch["x"].to(self.device, non_blocking=True)
        y = batch["bvp"].to(self.device, non_blocking=True)
        with torch.autocast(device_type=self.device.type, dtype=self.amp_dtype, enabled=self.amp):
            pred = self.net(x)
        has_pulse = batch["pulse"].to(self.device)  # every item carries it (data.finalize)
        loss = pulse_presence_loss(pred.float(), y.float(), has_pulse, self.cfg.null_loss_weight,
                                   spectrum_weight=self.cfg.spectrum_loss_weight)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.cfg.grad_clip > 0:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        self.step += 1
        value = float(loss.detach())
        self.losses.append(value)
        return value

    @torch.no_grad()
    def validate(self) -> Dict[str, float]:
        """HR MAE/RMSE/r and mean loss on the validation clips (this process only)."""
        from edge_rppg.pulse.models.cluster_phys import neg_pearson_loss

        from .evaluate import hr_from_bvp, hr_metrics, predict

        vs = self.val_set
        hr_p: List[float] = []
        hr_g: List[float] = []
        losses: List[float] = []
        bs = max(1, self.local_batch * 2)
        for start in range(0, len(vs), bs):
            items = [vs[i] for i in range(start, min(len(vs), start + bs))]
            batch = collate(items)
            pred = predict(self.model, batch["x"], self.device, bs)
            pulse = batch["pulse"].numpy() > 0.5
            if pulse.any():
                losses.append(float(neg_pearson_loss(torch.from_numpy(pred[pulse]), batch["bvp"][pulse]).mean())
                              * int(pulse.sum()))
            hr_p.extend(hr_from_bvp(p) for p in pred[pulse])
            hr_g.extend(hr_from_bvp(g) for g in batch["bvp"].numpy()[pulse])
        out: Dict[str, float] = dict(hr_metrics(hr_p, hr_g))
        out["loss"] = float(np.sum(losses) / max(1, len(vs)))
        return out

    # ------------------------------------------------------------------ checkpoints

    def state(self) -> Dict[str, Any]:
        """Everything besides the weights that a checkpoint carries."""
        data: Dict[str, Any] = {"train": self.train_set.describe()}
        if self._val_set is not None:
            data["val"] = self._val_set.describe()
        return {
            "train_config": self.cfg.to_dict(),
            "model_config": self.model_cfg.to_dict(),
            "git": git_revision(),
            "data": data,
            "metrics": dict(self.metrics),
            "history": list(self.history),
            "step": self.step,
            "epoch": self.step // self.steps_per_epoch,
            "total_steps": self.total_steps,
            "best_mae": self.best_mae,
            "world_size": self.ctx.world_size,
            "optimizer": _to_plain_optim(self.optimizer.state_dict()),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "torch_version": str(torch.__version__),
        }

    def save(self, path: Union[str, Path]) -> Path:
        """Write a checkpoint (rank 0 only; other ranks return the path unchanged)."""
        path = Path(path)
        if self.ctx.is_main:
            from edge_rppg.pulse.models.checkpoint import save_checkpoint

            path.parent.mkdir(parents=True, exist_ok=True)
            save_checkpoint(path, self.model, self.state())
        return path

    def load(self, path: Union[str, Path]) -> None:
        """Resume from ``path``: weights, optimiser, scheduler, scaler, step and history.

        Raises :class:`ModelFileError` if the checkpoint's model config differs from
        this run's or it carries no training state."""
        from edge_rppg.pulse.models.checkpoint import load_checkpoint

        model, extra = load_checkpoint(path, expected_config=self.model_cfg)
        if "optimizer" not in extra or "step" not in extra:
            raise ModelFileError(f"checkpoint {path} has no training state (optimizer/step); "
                                 f"it can be evaluated or exported but not resumed")
        self.model.load_state_dict(model.state_dict())
        self.optimizer.load_state_dict(_from_plain_optim(extra["optimizer"]))
        self.scheduler.load_state_dict(extra["scheduler"])
        # the schedule follows this run's config (a resume with other --steps re-times the
        # cosine from the restored step on; with the same config this is a no-op)
        schedule = LrSchedule(self.cfg.warmup_steps, self.total_steps, self.cfg.cosine, self.cfg.min_lr_ratio)
        self.scheduler.lr_lambdas = [schedule for _ in self.optimizer.param_groups]
        for group, base in zip(self.optimizer.param_groups, self.scheduler.base_lrs):
            group["lr"] = base * schedule(int(self.scheduler.last_epoch))
        if extra.get("scaler"):
            self.scaler.load_state_dict(extra["scaler"])
        self.step = int(extra["step"])
        self.best_mae = float(extra.get("best_mae", math.inf))
        self.metrics = dict(extra.get("metrics") or {})
        self.history = list(extra.get("history") or [])

    # ------------------------------------------------------------------ loop

    def _log(self, record: Dict[str, Any]) -> None:
        self.history.append(record)
        if self.ctx.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            with open(self.out_dir / "metrics.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")

    def _end_of_epoch(self, epoch: int, final: bool, bar: Any) -> None:
        if (epoch + 1) % self.cfg.val_every == 0 or final:
            if self.ctx.is_main:
                m = self.validate()
                self.metrics = {**m, "step": self.step, "epoch": epoch}
                self._log({"kind": "val", **self.metrics})
                msg = (f"epoch {epoch} step {self.step}: val HR MAE {m['mae']:.2f} RMSE {m['rmse']:.2f} "
                       f"r {m['r']:.3f} loss {m['loss']:.4f}")
                (bar.write if bar is not None else print)(msg)
                if m["mae"] < self.best_mae:
                    self.best_mae = float(m["mae"])
                    self.save(self.out_dir / "best.pt")
            barrier(self.ctx)
        self.save(self.out_dir / "last.pt")

    def fit(self, stop_at: Optional[int] = None) -> Dict[str, Any]:
        """Train until ``total_steps`` (or ``stop_at`` steps, e.g. to test resume) and
        return ``{"step", "metrics", "checkpoint", "seconds"}``."""
        from tqdm import tqdm

        end = self.total_steps if stop_at is None else min(int(stop_at), self.total_steps)
        if self.ctx.is_main:
            self.cfg.save(self.out_dir / "config.yaml")
        bar = tqdm(total=self.total_steps, initial=self.step, unit="step", dynamic_ncols=True,
                   disable=not (self.progress and self.ctx.is_main))
        t0 = time.perf_counter()
        window: List[float] = []
        try:
            while self.step < end:
                epoch = self.step // self.steps_per_epoch
                skip = self.step - epoch * self.steps_per_epoch
                for batch in self.loader(epoch, skip):
                    loss = self.train_step(batch)
                    window.append(loss)
                    bar.update(1)
                    if self.step % self.cfg.log_every == 0 or self.step == end:
                        rec = {"kind": "train", "step": self.step, "epoch": epoch, "loss": float(np.mean(window)),
                               "lr": float(self.scheduler.get_last_lr()[0])}
                        window = []
                        self._log(rec)
                        bar.set_postfix(loss=f"{rec['loss']:.4f}", lr=f"{rec['lr']:.2e}")
                    epoch_done = self.step % self.steps_per_epoch == 0
                    if epoch_done or self.step == self.total_steps:
                        self._end_of_epoch(epoch, self.step == self.total_steps, bar)
                    elif self.step == end or (self.cfg.ckpt_every and self.step % self.cfg.ckpt_every == 0):
                        self.save(self.out_dir / "last.pt")
                    if epoch_done or self.step >= end:
                        break
        finally:
            bar.close()
        return {"step": self.step, "metrics": dict(self.metrics), "checkpoint": str(self.out_dir / "last.pt"),
                "seconds": time.perf_counter() - t0}
