"""Chronological train/validation/test splits, following the original TGN ``get_data``.

Events up to the ``train_quantile`` time quantile train, up to ``val_quantile`` validate, the rest
test. A random 10% of all nodes that appear after the training period become "new" nodes: every
event touching them is removed from training, and the new-node validation/test sets are the
validation/test events touching a node never seen in training (TGN's inductive setting).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from tgnrank.data.arrays import distinct_union
from tgnrank.data.events import Interactions
from tgnrank.errors import ConfigError

TGN_SPLIT_SEED = 2020
NEW_NODE_SHARE = 0.1
# TGN's quantiles; the training configuration declares them as settings with these defaults.
DEFAULT_TRAIN_QUANTILE = 0.70
DEFAULT_VAL_QUANTILE = 0.85


@dataclass(frozen=True)
class TemporalSplit:
    full: Interactions
    train: Interactions
    val: Interactions
    test: Interactions
    new_node_val: Interactions
    new_node_test: Interactions
    val_time: float
    test_time: float

    def summary(self) -> dict[str, int | float]:
        return {
            "train": len(self.train),
            "val": len(self.val),
            "test": len(self.test),
            "new_node_val": len(self.new_node_val),
            "new_node_test": len(self.new_node_test),
            "val_time": float(self.val_time),
            "test_time": float(self.test_time),
        }


def validate_quantiles(train_quantile: float, val_quantile: float) -> None:
    if not 0.0 < train_quantile < val_quantile < 1.0:
        raise ConfigError(
            f"split quantiles must satisfy 0 < train ({train_quantile}) < validation ({val_quantile}) < 1"
        )


def chronological_split(
    events: Interactions,
    train_quantile: float = DEFAULT_TRAIN_QUANTILE,
    val_quantile: float = DEFAULT_VAL_QUANTILE,
    different_new_nodes: bool = False,
    seed: int = TGN_SPLIT_SEED,
) -> TemporalSplit:
    """Split ``events`` as TGN does; with ``different_new_nodes`` the new nodes of validation and test differ."""
    validate_quantiles(train_quantile, val_quantile)
    sources, destinations, timestamps = events.sources, events.destinations, events.timestamps
    val_time, test_time = (float(q) for q in np.quantile(timestamps, [train_quantile, val_quantile]))

    all_nodes = distinct_union(sources, destinations)
    after_train = timestamps > val_time
    test_node_pool = distinct_union(sources[after_train], destinations[after_train]).tolist()
    rng = random.Random(seed)
    n_new = min(int(NEW_NODE_SHARE * len(all_nodes)), len(test_node_pool))
    new_test_nodes = rng.sample(test_node_pool, n_new)
    new_test_node_array = np.asarray(new_test_nodes, dtype=np.int64)

    touches_new = np.isin(sources, new_test_node_array) | np.isin(destinations, new_test_node_array)
    train_mask = (timestamps <= val_time) & ~touches_new
    train = events.select(train_mask)
    train_nodes = train.unique_nodes

    val_mask = (timestamps > val_time) & (timestamps <= test_time)
    test_mask = timestamps > test_time

    if different_new_nodes:
        half = len(new_test_nodes) // 2
        val_new = np.asarray(new_test_nodes[:half], dtype=np.int64)
        test_new = np.asarray(new_test_nodes[half:], dtype=np.int64)
        new_node_val_mask = val_mask & (np.isin(sources, val_new) | np.isin(destinations, val_new))
        new_node_test_mask = test_mask & (np.isin(sources, test_new) | np.isin(destinations, test_new))
    else:
        new_nodes = all_nodes[~np.isin(all_nodes, train_nodes, assume_unique=True)]
        touches_unseen = np.isin(sources, new_nodes) | np.isin(destinations, new_nodes)
        new_node_val_mask = val_mask & touches_unseen
        new_node_test_mask = test_mask & touches_unseen

    return TemporalSplit(
        full=events,
        train=train,
        val=events.select(val_mask),
        test=events.select(test_mask),
        new_node_val=events.select(new_node_val_mask),
        new_node_test=events.select(new_node_test_mask),
        val_time=val_time,
        test_time=test_time,
    )


def randomize_features(node_features: np.ndarray, seed: int = 0) -> np.ndarray:
    """TGN's ``--randomize_features``: uniform [0, 1) features of the same shape."""
    rng = np.random.default_rng(seed)
    return rng.random(node_features.shape).astype(np.float32)
