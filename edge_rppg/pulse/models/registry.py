"""``MODELS``: a model name (as stored in checkpoints) → its class, which carries
``config_cls``, so loaders dispatch by name instead of hard-coding one architecture.
Built-in models are registered lazily by module path (nothing imports torch until a model
is asked for)."""
from __future__ import annotations

from typing import Any

from ...registry import Registry

__all__ = ["MODELS"]

MODELS: Registry[Any] = Registry("model")
MODELS.add_lazy("cluster_phys", "edge_rppg.pulse.models.cluster_phys:ClusterPhys")
