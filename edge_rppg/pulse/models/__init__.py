"""Neural rPPG models of edge_rppg: the Cluster-Phys network (:mod:`.cluster_phys`) with its
clustering (:mod:`.fpc`) and interaction (:mod:`.interaction`) pieces, checkpoint
save/load (:mod:`.checkpoint`), complexity counting (:mod:`.complexity`) and the models by
name (:mod:`.registry`: ``MODELS``, what checkpoints dispatch on)."""
from __future__ import annotations

from .cluster_phys import PRESETS, ClusterPhys, ClusterPhysConfig, neg_pearson_loss
from .registry import MODELS

__all__ = ["MODELS", "ClusterPhys", "ClusterPhysConfig", "PRESETS", "neg_pearson_loss"]
