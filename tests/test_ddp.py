"""DistributedDataParallel training on CPU: two gloo processes on localhost train a tiny
Cluster-Phys for a few steps through the real Trainer (environment variables as torchrun
sets them); afterwards every rank must hold identical weights that differ from the
initial ones, and only rank 0 may have written files."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

WORLD = 2
STEPS = 3


def _worker(rank: int, port: int, out: str) -> None:
    """One rank: env like torchrun, Trainer with gloo, save weights before/after."""
    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": str(rank),
                       "WORLD_SIZE": str(WORLD), "LOCAL_RANK": str(rank)})
    torch.set_num_threads(1)
    from edge_rppg.training.config import DataSpec, TrainConfig
    from edge_rppg.training.distributed import cleanup, init_distributed
    from edge_rppg.training.trainer import Trainer

    easy = dict(motion_prob=0.0, flicker_prob=0.0, periodic_motion_prob=0.0, jerk_prob=0.0)
    cfg = TrainConfig(model_preset="edge-small",
                      model={"dim": 8, "heads": 1, "stages": 2, "prototypes": [8, 4], "dropout": 0.0},
                      T=96, batch_size=4, steps=STEPS, lr=3e-3, warmup_steps=1,
                      data=[DataSpec(n_clips=16, synth=easy)], val=[DataSpec(n_clips=4, seed_offset=10**6, synth=easy)],
                      augment=[{"name": "noise", "p": 0.5}], output_dir=str(Path(out) / "run"), progress=False,
                      threads=1)
    ctx = init_distributed(device="cpu")
    try:
        assert ctx.distributed and ctx.backend == "gloo" and ctx.rank == rank
        trainer = Trainer(cfg, ctx=ctx)
        init = {k: v.clone() for k, v in trainer.model.state_dict().items()}
        # each rank must see different clips (DistributedSampler)
        first = next(iter(trainer.loader(0)))["bvp"]
        trainer.fit()
        torch.save({"init": init, "final": trainer.model.state_dict(), "first_batch": first, "step": trainer.step},
                   Path(out) / f"rank{rank}.pt")
    finally:
        cleanup(ctx)


@pytest.mark.slow
def test_ddp_two_cpu_processes_keep_identical_weights(tmp_path: Path) -> None:
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("torch.distributed with the gloo backend is not available in this torch build")
    from edge_rppg.training.distributed import free_port

    mp.spawn(_worker, args=(free_port(), str(tmp_path)), nprocs=WORLD, join=True)
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert r0["step"] == r1["step"] == STEPS
    assert not torch.equal(r0["first_batch"], r1["first_batch"])
    for k in r0["final"]:
        assert torch.equal(r0["init"][k], r1["init"][k]), k
        assert torch.equal(r0["final"][k], r1["final"][k]), k
    assert any(not torch.equal(r0["init"][k], r0["final"][k]) for k in r0["final"])
    run = tmp_path / "run"
    assert (run / "last.pt").is_file() and (run / "config.yaml").is_file()
    assert sorted(p.name for p in run.iterdir()) == ["best.pt", "config.yaml", "last.pt", "metrics.jsonl"]
    kinds = [json.loads(line)["kind"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert kinds == ["train", "val"]  # written once: by rank 0 only
