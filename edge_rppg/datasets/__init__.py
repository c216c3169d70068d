"""Readers of public rPPG datasets (UBFC-rPPG, PURE, VIPL-HR, MMSE-HR).

Each reader turns a dataset folder in its original on-disk layout into
:class:`~edge_rppg.datasets.base.Recording` objects (video or frame folder, contact
reference, reference HR) and extracts cached MSTmaps with the reference resampled onto
the frames (:meth:`~edge_rppg.datasets.base.DatasetReader.load_mstmap`). Readers are
looked up by name in :data:`DATASETS`, e.g. ``DATASETS.get("ubfc")().list_recordings(root)``.
The datasets themselves are never downloaded by this package.
"""
from __future__ import annotations

from typing import Type

from ..registry import Registry
from .base import DatasetReader, MSTmapRecord, Recording
from .mmse import MMSEReader
from .pure import PUREReader
from .ubfc import UBFCReader
from .vipl import VIPLReader

#: Dataset reader classes by name.
DATASETS: Registry[Type[DatasetReader]] = Registry("dataset")
DATASETS.add("ubfc", UBFCReader)
DATASETS.add("pure", PUREReader)
DATASETS.add("vipl", VIPLReader)
DATASETS.add("mmse", MMSEReader)

__all__ = ["DATASETS", "DatasetReader", "Recording", "MSTmapRecord", "UBFCReader", "PUREReader", "VIPLReader",
           "MMSEReader"]
