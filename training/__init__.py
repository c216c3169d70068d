"""Training toolkit of edge_rppg: everything needed to train and evaluate the Cluster-Phys
model on MSTmaps, kept out of the core SDK so that a deployed ``edge_rppg`` never imports
an optimiser. :mod:`training.config` holds the :class:`~training.config.TrainConfig` recipe
(YAML/JSON), :mod:`training.data` the synthetic and dataset-backed clip datasets with
label-preserving augmentations, :mod:`training.trainer` the single :class:`Trainer`
(AdamW, warmup + cosine, AMP on CUDA, checkpoints with resume, DDP under ``torchrun``),
:mod:`training.distributed` the process-group helpers, :mod:`training.evaluate` checkpoint
evaluation next to POS/CHROM, and :mod:`training.cli_train` / :mod:`training.cli_eval`
the ``edge-rppg train`` / ``edge-rppg eval`` commands."""
