"""Process-group helpers for DistributedDataParallel training.

``torchrun --nproc_per_node N`` sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR`` and ``MASTER_PORT``; :func:`init_distributed` reads them and starts the
process group (NCCL on GPU, gloo on CPU), or returns a single-process context when they
are absent, so the trainer has one code path for both.
"""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass

from edge_rppg.extras import require
require("torch", "train")  # missing: one line naming the extra to install
import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistContext:
    """Where this process sits: ``rank`` of ``world_size``, its ``device``, and whether
    it owns the process group (so :func:`cleanup` only destroys what it created)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: str = "cpu"
    backend: str = ""
    owns_group: bool = False

    @property
    def distributed(self) -> bool:
        """True when more than one process trains together."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the only process that prints and writes files."""
        return self.rank == 0


def env_world_size() -> int:
    """``WORLD_SIZE`` from the environment (1 when not launched by torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def init_distributed(device: str | None = None) -> DistContext:
    """Start (or join) the process group described by torchrun's environment variables.

    Without ``WORLD_SIZE > 1`` this is a no-op returning rank 0 of 1. ``device`` forces
    ``"cpu"``/``"cuda"``; by default CUDA is used when available (one GPU per local rank).
    """
    world = env_world_size()
    use_cuda = torch.cuda.is_available() if device is None else device.startswith("cuda")
    if world <= 1:
        dev = (device or "cuda") if use_cuda else "cpu"
        return DistContext(device=dev)
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    backend = "nccl" if use_cuda else "gloo"
    dev = "cpu"
    if use_cuda:
        torch.cuda.set_device(local_rank)
        dev = f"cuda:{local_rank}"
    owns = False
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
        owns = True
    return DistContext(rank=rank, world_size=world, local_rank=local_rank, device=dev,
                       backend=dist.get_backend(), owns_group=owns)


def barrier(ctx: DistContext) -> None:
    """Wait for every rank (no-op in a single process)."""
    if ctx.distributed and dist.is_initialized():
        dist.barrier()


def cleanup(ctx: DistContext) -> None:
    """Destroy the process group if :func:`init_distributed` created it."""
    if ctx.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def free_port() -> int:
    """A currently free TCP port on localhost (for tests and single-node launches)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
