"""The dataset of a training run and its chronological split, prepared once for all runs; seeding."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from tgnrank.config.sections import DataConfig
from tgnrank.data import EventData, TemporalSplit, chronological_split, open_dataset
from tgnrank.data.arrays import distinct
from tgnrank.errors import TgnrankError
from tgnrank.train.config import TrainConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingData:
    """The dataset and its chronological split, prepared once for all runs."""

    data: EventData
    split: TemporalSplit

    @cached_property
    def eval_candidates(self) -> np.ndarray:
        """Investors that evaluation negatives are drawn from: every destination of the full data (as TGN);
        computed once, as every validation and test split draws from them."""
        return distinct(self.split.full.destinations)


def load_training_data(config: TrainConfig | DataConfig) -> TrainingData:
    """Open the dataset of ``config`` (its data section) and split it at its time quantiles."""
    section = config.dataset if isinstance(config, TrainConfig) else config
    data = open_dataset(section.data, section.data_dir)
    split = chronological_split(data.events, section.train_quantile, section.val_quantile,
                                different_new_nodes=section.different_new_nodes)
    summary = split.summary()
    logger.info(
        "Dataset %s: %d nodes, %d events; train %d, val %d (new nodes %d), test %d (new nodes %d)",
        data.name, data.n_nodes, data.n_events, summary["train"], summary["val"], summary["new_node_val"],
        summary["test"], summary["new_node_test"],
    )
    if summary["train"] == 0 or summary["val"] == 0:
        raise TgnrankError(f"dataset '{data.name}' is too small to split: {summary}")
    return TrainingData(data=data, split=split)


def set_seeds(seed: int) -> None:
    """Seed every global generator a run may touch (torch, numpy's legacy one, Python's)."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
