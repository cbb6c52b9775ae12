import random

import numpy as np
import pytest

from tgnrank.data import Interactions, chronological_split, randomize_features
from tgnrank.errors import ConfigError


def random_events(seed=0, n_events=400, n_nodes=60):
    rng = np.random.default_rng(seed)
    timestamps = np.sort(rng.integers(0, 50, n_events)).astype(float)
    return Interactions(
        sources=rng.integers(1, n_nodes // 2, n_events),
        destinations=rng.integers(n_nodes // 2, n_nodes + 1, n_events),
        timestamps=timestamps,
        edge_idxs=np.arange(1, n_events + 1),
        labels=np.zeros(n_events),
    )


def reference_tgn_split(events, different_new_nodes):
    """The original TGN get_data, written with its set logic (sampling from a sorted pool, as sets cannot be sampled)."""
    sources, destinations, timestamps = events.sources, events.destinations, events.timestamps
    val_time, test_time = np.quantile(timestamps, [0.70, 0.85])
    random.seed(2020)
    node_set = set(sources) | set(destinations)
    test_node_set = set(sources[timestamps > val_time]).union(set(destinations[timestamps > val_time]))
    new_test_node_list = random.sample(sorted(test_node_set), int(0.1 * len(node_set)))
    new_test_node_set = set(new_test_node_list)
    observed = np.array([s not in new_test_node_set and d not in new_test_node_set for s, d in zip(sources, destinations)])
    train_mask = (timestamps <= val_time) & observed
    train_node_set = set(sources[train_mask]) | set(destinations[train_mask])
    assert not train_node_set & new_test_node_set
    new_node_set = node_set - train_node_set
    val_mask = (timestamps <= test_time) & (timestamps > val_time)
    test_mask = timestamps > test_time
    if different_new_nodes:
        half = len(new_test_node_list) // 2
        val_new, test_new = set(new_test_node_list[:half]), set(new_test_node_list[half:])
        nn_val = val_mask & np.array([s in val_new or d in val_new for s, d in zip(sources, destinations)])
        nn_test = test_mask & np.array([s in test_new or d in test_new for s, d in zip(sources, destinations)])
    else:
        touches = np.array([s in new_node_set or d in new_node_set for s, d in zip(sources, destinations)])
        nn_val, nn_test = val_mask & touches, test_mask & touches
    return {"train": train_mask, "val": val_mask, "test": test_mask, "new_node_val": nn_val, "new_node_test": nn_test}


@pytest.mark.parametrize("different_new_nodes", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_split_equals_original_tgn_definition(seed, different_new_nodes):
    events = random_events(seed)
    split = chronological_split(events, different_new_nodes=different_new_nodes)
    expected = reference_tgn_split(events, different_new_nodes)
    for part, mask in expected.items():
        np.testing.assert_array_equal(getattr(split, part).edge_idxs, events.edge_idxs[mask], err_msg=part)
    assert split.val_time == np.quantile(events.timestamps, 0.70)
    assert split.test_time == np.quantile(events.timestamps, 0.85)


def test_hand_computed_split_with_same_timestamp_events():
    # 10 events at times 0..9 with a syndicate at t=7 (two events); quantiles 0.7 -> 6.3, 0.85 -> 7.65.
    events = Interactions(
        sources=np.array([1, 1, 2, 2, 3, 3, 1, 2, 3, 1]),
        destinations=np.array([4, 5, 4, 5, 4, 5, 4, 5, 4, 5]),
        timestamps=np.array([0, 1, 2, 3, 4, 5, 6, 7, 7, 9], dtype=float),
        edge_idxs=np.arange(1, 11),
        labels=np.zeros(10),
    )
    split = chronological_split(events)
    # 5 nodes -> int(0.1 * 5) = 0 new nodes: nothing is removed from training.
    np.testing.assert_array_equal(split.train.edge_idxs, [1, 2, 3, 4, 5, 6, 7])
    np.testing.assert_array_equal(split.val.edge_idxs, [8, 9])
    np.testing.assert_array_equal(split.test.edge_idxs, [10])
    assert len(split.new_node_val) == 0


def test_split_ratios_are_configurable_and_validated():
    events = random_events()
    split = chronological_split(events, train_quantile=0.5, val_quantile=0.9)
    assert split.val_time == np.quantile(events.timestamps, 0.5)
    assert split.test_time == np.quantile(events.timestamps, 0.9)
    with pytest.raises(ConfigError, match="quantile"):
        chronological_split(events, train_quantile=0.9, val_quantile=0.5)


def test_new_nodes_never_in_training():
    split = chronological_split(random_events(3))
    train_nodes = set(split.train.unique_nodes.tolist())
    for part in (split.new_node_val, split.new_node_test):
        for s, d in zip(part.sources, part.destinations):
            assert s not in train_nodes or d not in train_nodes


def test_randomize_features_is_seeded_and_keeps_shape():
    features = np.ones((7, 3), dtype=np.float32)
    a, b = randomize_features(features, seed=1), randomize_features(features, seed=1)
    assert a.shape == (7, 3) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, features)
