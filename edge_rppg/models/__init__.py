"""Neural rPPG models of edge_rppg: the Cluster-Phys network (:mod:`.cluster_phys`) with its
clustering (:mod:`.fpc`) and interaction (:mod:`.interaction`) pieces, checkpoint
save/load (:mod:`.checkpoint`) and complexity counting (:mod:`.complexity`).  ``MODELS``
maps a model name (as stored in checkpoints) to its class, which carries ``config_cls``,
so loaders dispatch by name instead of hard-coding one architecture."""
from __future__ import annotations

from ..registry import Registry
from .cluster_phys import PRESETS, ClusterPhys, ClusterPhysConfig, neg_pearson_loss

MODELS: Registry = Registry("model")
MODELS.add("cluster_phys", ClusterPhys)

__all__ = ["MODELS", "ClusterPhys", "ClusterPhysConfig", "PRESETS", "neg_pearson_loss"]
