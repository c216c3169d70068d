"""A mono (gray) Cluster-Phys initialised from a trained colour one.

The colour model's input embedding is one linear map per (frame, ROI row) from the six
``acdc_pos`` channels to the model width; channel 5 is each row's POS pulse, a candidate
pulse with the lights' and movements' colour cancelled, and the rest of the network
clusters and combines those rows (on the shared real clip, the colour model fed only that
channel reads within 0.2 dB of the full input: ``bench/real_clip_diagnosis.py``). A gray
window (``acdc_mono``) has one channel per row of the same form: a relative change divided by
one scale common to the window's rows and clipped to ±6. So the mono embedding starts as
the colour one's POS column, negated (skin darkens as blood volume rises: a gray pulse is
an intensity dip where POS, by the SDK's convention, rises), with the colour bias, and every
other weight is copied: the mono model starts as the trained colour network reading each
gray row as its candidate pulse, and fine-tuning on NIR renders teaches it what the
missing colour no longer cancels.

    python -m edge_rppg.training.mono_init edge_rppg/assets/cluster_phys_default.pt out/mono_init.pt
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import List, Optional

import torch

from edge_rppg.skin.mstmap import POS_CHANNEL

__all__ = ["mono_from_colour", "main"]


def mono_from_colour(colour: torch.nn.Module) -> torch.nn.Module:
    """A gray ``ClusterPhys`` whose weights come from the colour model ``colour`` (see the
    module doc). Raises ``ValueError`` if ``colour`` is not an ``acdc_pos`` colour model."""
    from edge_rppg.pulse.models.cluster_phys import ClusterPhys

    cfg = colour.config
    if cfg.in_channels != 6 or cfg.input_norm != "acdc_pos":
        raise ValueError(f"need a colour model with the acdc_pos input (6 channels); got in_channels={cfg.in_channels}, "
                         f"input_norm={cfg.input_norm!r}")
    mono_cfg = dataclasses.replace(cfg, in_channels=1, color_space="gray", input_norm="acdc_mono")
    mono = ClusterPhys(mono_cfg)
    state = {k: v.clone() for k, v in colour.state_dict().items()}
    state["embed.weight"] = -state["embed.weight"][:, POS_CHANNEL:POS_CHANNEL + 1].clone()
    mono.load_state_dict(state)  # strict: every other tensor has the colour model's shape
    return mono


def main(argv: Optional[List[str]] = None) -> int:
    """Command line: ``SRC`` colour checkpoint → ``DST`` mono checkpoint (``init_from`` for
    ``configs/train_mono.yaml``)."""
    from edge_rppg.pulse.models.checkpoint import load_checkpoint, save_checkpoint

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("src", help="a colour Cluster-Phys checkpoint (.pt)")
    p.add_argument("dst", help="where the mono checkpoint goes")
    args = p.parse_args(argv)
    colour, _ = load_checkpoint(args.src)
    save_checkpoint(Path(args.dst), mono_from_colour(colour), extra={"init": f"mono_from_colour({args.src})"})
    print(f"wrote {args.dst}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
