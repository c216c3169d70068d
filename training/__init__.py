"""Training toolkit of edge_rppg: everything needed to train and evaluate the Cluster-Phys
model on MSTmaps, kept out of the core SDK so that a deployed ``edge_rppg`` never imports
an optimiser. :mod:`edge_rppg.training.config` holds the :class:`~edge_rppg.training.config.TrainConfig` recipe
(YAML/JSON), :mod:`edge_rppg.training.data` the synthetic and dataset-backed clip datasets with
label-preserving augmentations, :mod:`edge_rppg.training.rendered` the clips of rendered face videos
run through the product's own front end, :mod:`edge_rppg.training.trainer` the single :class:`Trainer`
(AdamW, warmup + cosine, AMP on CUDA, checkpoints with resume, DDP under ``torchrun``),
:mod:`edge_rppg.training.distributed` the process-group helpers, :mod:`edge_rppg.training.evaluate` checkpoint
evaluation next to POS/CHROM, and :mod:`edge_rppg.training.cli_train` / :mod:`edge_rppg.training.cli_eval`
the ``edge-rppg train`` / ``edge-rppg eval`` commands."""
