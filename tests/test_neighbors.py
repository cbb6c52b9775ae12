"""The temporal neighbour finder against a brute-force reference, ties in time included."""

from __future__ import annotations

import numpy as np
import pytest

from tgnrank.data.events import Interactions
from tgnrank.sampling.neighbors import NeighborFinder


def make_interactions(sources, destinations, timestamps) -> Interactions:
    sources = np.asarray(sources, dtype=np.int64)
    return Interactions(
        sources=sources,
        destinations=np.asarray(destinations, dtype=np.int64),
        timestamps=np.asarray(timestamps, dtype=np.float64),
        edge_idxs=np.arange(1, len(sources) + 1, dtype=np.int64),
        labels=np.zeros(len(sources)),
    )


def random_interactions(rng: np.random.Generator, n_events: int, n_nodes: int, n_times: int) -> Interactions:
    """Random events on few distinct times, so that many share a timestamp (and self-loops occur)."""
    timestamps = np.sort(rng.integers(0, n_times, size=n_events)).astype(np.float64)
    return make_interactions(
        rng.integers(1, n_nodes + 1, size=n_events), rng.integers(1, n_nodes + 1, size=n_events), timestamps
    )


def brute_force_earlier(events: Interactions, node: int, time: float) -> list[tuple[int, int, float]]:
    """(neighbour, edge, time) of every interaction of ``node`` strictly before ``time``, in event order."""
    found = []
    for k in range(len(events)):
        if events.timestamps[k] >= time:
            continue
        if events.sources[k] == node:
            found.append((int(events.destinations[k]), int(events.edge_idxs[k]), float(events.timestamps[k])))
        if events.destinations[k] == node:
            found.append((int(events.sources[k]), int(events.edge_idxs[k]), float(events.timestamps[k])))
    return found


def test_hand_example_most_recent_with_ties_and_padding():
    # edge 1: 1-3 @1, edge 2: 2-3 @2, edge 3: 1-4 @2, edge 4: 1-3 @5
    events = make_interactions([1, 2, 1, 1], [3, 3, 4, 3], [1.0, 2.0, 2.0, 5.0])
    finder = NeighborFinder.from_interactions(events, n_nodes=4)
    query_nodes, query_times = np.array([1, 1, 3, 3, 4]), np.array([2.0, 5.0, 2.0, 9.0, 2.0])
    neighbors, edges, times = finder.get_temporal_neighbor(query_nodes, query_times, 2)
    # node 1 before 2: only edge 1; before 5: edges 1 and 3 (edge 4 at 5 is not strictly before)
    np.testing.assert_array_equal(neighbors, [[0, 3], [3, 4], [0, 1], [2, 1], [0, 0]])
    np.testing.assert_array_equal(edges, [[0, 1], [1, 3], [0, 1], [2, 4], [0, 0]])
    np.testing.assert_array_equal(times, [[0, 1], [1, 2], [0, 1], [2, 5], [0, 0]])


@pytest.mark.parametrize("seed", range(5))
def test_most_recent_matches_brute_force_on_tied_random_graphs(seed):
    rng = np.random.default_rng(seed)
    n_nodes = 12
    events = random_interactions(rng, n_events=150, n_nodes=n_nodes, n_times=15)
    finder = NeighborFinder.from_interactions(events, n_nodes=n_nodes)
    # query at exactly the event times (the tie case), between them, before all and after all
    query_nodes = rng.integers(0, n_nodes + 1, size=300)
    query_times = rng.choice(np.concatenate([np.arange(-1, 17), np.arange(-1, 17) + 0.5]), size=300)
    n = 6
    neighbors, edges, times = finder.get_temporal_neighbor(query_nodes, query_times, n)
    for q, (node, time) in enumerate(zip(query_nodes, query_times)):
        expected = brute_force_earlier(events, node, time)[-n:]
        pad = n - len(expected)
        assert neighbors[q, :pad].tolist() == [0] * pad and edges[q, :pad].tolist() == [0] * pad
        assert times[q, :pad].tolist() == [0.0] * pad
        assert list(zip(neighbors[q, pad:].tolist(), edges[q, pad:].tolist(), times[q, pad:].tolist())) == expected


def test_uniform_returns_only_valid_earlier_interactions_sorted_by_time():
    rng = np.random.default_rng(3)
    n_nodes = 10
    events = random_interactions(rng, n_events=120, n_nodes=n_nodes, n_times=10)
    finder = NeighborFinder.from_interactions(events, n_nodes=n_nodes, uniform=True, seed=0)
    query_nodes = rng.integers(1, n_nodes + 1, size=200)
    query_times = rng.integers(0, 12, size=200).astype(np.float64)
    neighbors, edges, times = finder.get_temporal_neighbor(query_nodes, query_times, 5)
    for q, (node, time) in enumerate(zip(query_nodes, query_times)):
        earlier = set(brute_force_earlier(events, node, time))
        drawn = list(zip(neighbors[q].tolist(), edges[q].tolist(), times[q].tolist()))
        if not earlier:
            assert drawn == [(0, 0, 0.0)] * 5
        else:
            assert set(drawn) <= earlier
            assert times[q].tolist() == sorted(times[q].tolist())


def test_uniform_draws_are_roughly_uniform_and_seeded():
    # node 1 has 4 earlier interactions; 4000 queries x 5 draws give 20000 draws, 5000 expected each
    events = make_interactions([1, 1, 1, 1, 1], [2, 3, 4, 5, 6], [0.0, 0.0, 1.0, 2.0, 9.0])
    finder = NeighborFinder.from_interactions(events, n_nodes=6, uniform=True, seed=7)
    nodes, query_times = np.ones(4000, dtype=np.int64), np.full(4000, 5.0)
    _, edges, _ = finder.get_temporal_neighbor(nodes, query_times, 5)
    counts = np.bincount(edges.ravel(), minlength=6)
    assert counts[0] == 0 and counts[5] == 0
    assert np.all(np.abs(counts[1:5] - 5000) < 300)  # binomial sd is about 61
    again = NeighborFinder.from_interactions(events, n_nodes=6, uniform=True, seed=7)
    np.testing.assert_array_equal(again.get_temporal_neighbor(nodes, query_times, 5)[1], edges)


def test_empty_history_zero_neighbors_and_out_of_range_nodes():
    events = make_interactions([], [], [])
    finder = NeighborFinder.from_interactions(events, n_nodes=3)
    neighbors, edges, times = finder.get_temporal_neighbor(np.array([1, 2]), np.array([5.0, 6.0]), 3)
    assert neighbors.shape == (2, 3) and not neighbors.any() and not edges.any() and not times.any()
    assert finder.get_temporal_neighbor(np.array([1]), np.array([1.0]), 0)[0].shape == (1, 0)
    with pytest.raises(ValueError, match="0..3"):
        finder.get_temporal_neighbor(np.array([4]), np.array([1.0]), 2)
