"""Event data: the TGN ``ml_`` format, Crunchbase import, the synthetic generator and splits."""

from __future__ import annotations

import logging
from pathlib import Path

from tgnrank.data.events import (
    COMPANY,
    INVESTOR,
    EventData,
    Interactions,
    atomic_write,
    dataset_exists,
    dataset_paths,
    load_dataset,
    save_dataset,
)
from tgnrank.data.splits import TemporalSplit, chronological_split, randomize_features
from tgnrank.errors import DataFormatError

logger = logging.getLogger(__name__)

SYNTHETIC_NAME = "synthetic"

__all__ = [
    "COMPANY",
    "INVESTOR",
    "DataFormatError",
    "EventData",
    "Interactions",
    "TemporalSplit",
    "atomic_write",
    "chronological_split",
    "dataset_exists",
    "dataset_paths",
    "load_dataset",
    "open_dataset",
    "randomize_features",
    "save_dataset",
]


def open_dataset(name: str, data_dir: str | Path = "data") -> EventData:
    """Load ``data/ml_{name}.*``; the default synthetic dataset is generated on first use."""
    if name == SYNTHETIC_NAME and not dataset_exists(name, data_dir):
        from tgnrank.data.synthetic import generate_synthetic

        logger.info("data/ml_%s.* not found: generating the default synthetic dataset", name)
        save_dataset(generate_synthetic(name=name), data_dir)
    return load_dataset(name, data_dir)
