"""Exact company - investor - company - investor path counts and random-walk probabilities: by hand, per
pair and per grid, causal."""

import numpy as np
import pytest

from tgnrank.data.events import Interactions
from tgnrank.model.path_counts import COUNT_FEATURES, WALK_SCALE, PathCounter
from tgnrank.sampling.neighbors import NeighborFinder

N_COMPANIES, N_INVESTORS = 6, 5
N_NODES = N_COMPANIES + N_INVESTORS


def _finder(sources, destinations, times) -> NeighborFinder:
    n = len(sources)
    events = Interactions(np.asarray(sources), np.asarray(destinations), np.asarray(times, dtype=float),
                          np.arange(1, n + 1), np.zeros(n))
    return NeighborFinder.from_interactions(events, N_NODES)


HALF_LIFE = 4.0


def _by_hand(sources, destinations, times, company, investor, at) -> tuple[float, float, float]:
    """Over the paths of events (c, j), (d, j), (d, i) before ``at``: their number, the sum of
    1000 / (events of j before at * events of d before at), and the sum of the product of the three
    events' weights 0.5 ** ((at - s) / HALF_LIFE)."""
    before = [(s, d, t) for s, d, t in zip(sources, destinations, times) if t < at]
    degree = {}
    for company_id, investor_id, _ in before:
        degree[company_id] = degree.get(company_id, 0) + 1
        degree[investor_id] = degree.get(investor_id, 0) + 1
    paths = [(j, d, (t1, t2, t3)) for c, j, t1 in before if c == company for d, j2, t2 in before if j2 == j
             for d2, i, t3 in before if d2 == d and i == investor]
    weight = lambda ts: np.prod([0.5 ** ((at - t) / HALF_LIFE) for t in ts])  # noqa: E731
    return (float(len(paths)), sum(1000.0 / (degree[j] * degree[d]) for j, d, _ in paths),
            sum(weight(ts) for _, _, ts in paths))


def _walks_by_hand(sources, destinations, times, company, investor, at) -> tuple[float, float]:
    """WALK_SCALE times the probability that a walk from ``company`` over the distinct links before
    ``at``, each step to a uniformly drawn partner, stands on ``investor`` after 3 and after 5 steps."""
    partners = {}
    for c, i in {(c, i) for c, i, t in zip(sources, destinations, times) if t < at}:
        partners.setdefault(c, []).append(i)
        partners.setdefault(i, []).append(c)

    def probability(node, target, steps):
        if steps == 0:
            return float(node == target)
        return sum(probability(other, target, steps - 1) for other in partners.get(node, [])) / max(
            len(partners.get(node, [])), 1)

    return (WALK_SCALE * probability(company, investor, 3), WALK_SCALE * probability(company, investor, 5))


def test_a_small_graph_walks_as_by_hand():
    # At 4.5 the distinct links are c1-j7, c2-j7, c2-j8, c3-j9 (the follow-on (2, 7) counts once).
    sources, destinations, times = [1, 2, 2, 2, 3], [7, 7, 7, 8, 9], [1.0, 2.0, 3.0, 4.0, 4.0]
    counter = PathCounter(_finder(sources, destinations, times), HALF_LIFE)
    walks = counter.pairs(np.array([1, 1, 3]), np.array([8, 7, 9]), np.full(3, 4.5))[:, len(COUNT_FEATURES):]
    # 1 -> 8 in 3 steps: 1 -7- 2 -8, probability 1 * 1/2 * 1/2. In 5 steps the last is 2 -> 8 (1/2) after
    # reaching c2 from j7 (3-step probability 1/2 + 1/4, then 1/2) or from j8 (1/4, then 1).
    # 1 -> 7 in 3 steps: back through c1 (1/2) or on through c2 (1/2 * 1/2). In 5: after 4 steps on c1
    # (3/4 * 1/2) or on c2 (3/4 * 1/2 + 1/4), then to j7 with 1 or 1/2. c3 - j9 is a pair alone.
    np.testing.assert_allclose(walks / WALK_SCALE, [[1 / 4, 3 / 4 * 1 / 2 * 1 / 2 + 1 / 4 * 1 / 2],
                                                    [3 / 4, 3 / 8 + 5 / 8 * 1 / 2], [1, 1]], rtol=1e-12)


def test_walks_of_a_batch_are_those_at_its_earliest_time():
    sources, destinations, times = _random_events(4)
    counter = PathCounter(_finder(sources, destinations, times), HALF_LIFE)
    companies, investors = np.array([1, 2, 3, 4]), np.array([7, 8, 9, 10])
    mixed = counter.pairs(companies, investors, np.array([9.0, 5.0, 7.0, 11.0]))
    at_start = counter.pairs(companies, investors, np.full(4, 5.0))
    np.testing.assert_array_equal(mixed[:, len(COUNT_FEATURES):], at_start[:, len(COUNT_FEATURES):])
    assert np.any(mixed[:, 0] != at_start[:, 0]) or np.any(mixed[:, 2] != at_start[:, 2])


def _random_events(seed: int, n: int = 60):
    rng = np.random.default_rng(seed)
    sources = rng.integers(1, N_COMPANIES + 1, n)
    destinations = rng.integers(N_COMPANIES + 1, N_NODES + 1, n)
    times = np.sort(rng.integers(0, 12, n)).astype(float)
    return sources, destinations, times


def test_a_small_graph_counts_its_paths_as_by_hand():
    # c1 - j7 - c2 - j8: one path 1 -> 8 once all three events exist; j7 funded c2 twice (a follow-on).
    sources, destinations, times = [1, 2, 2, 2, 3], [7, 7, 7, 8, 9], [1.0, 2.0, 3.0, 4.0, 4.0]
    counter = PathCounter(_finder(sources, destinations, times), HALF_LIFE, walks=False)
    companies, investors = np.array([1, 1, 1, 1, 3]), np.array([8, 8, 8, 7, 9])
    at = np.array([4.0, 4.5, 2.5, 10.0, 10.0])
    # Before 4 the event (2, 8) is missing; after it, 1 * 2 * 1 paths; before 2.5 only one (2, 7) event
    # but no (2, 8). (1, 7) has the paths through c1 itself and c2: 1*1*1 + 2*2 = 5; (3, 9): 1.
    counts = counter.pairs(companies, investors, at)
    np.testing.assert_array_equal(counts[:, 0], [0, 2, 0, 5, 1])
    # After 4, j7 has 3 events, c2 3 and c1 1: each 1 -> 7 -> 2 -> 8 path weighs 1000 / (3 * 3).
    np.testing.assert_allclose(counts[:, 1], [0, 2000 / 9, 0, 1000 / 3 + 4 * 1000 / 9, 1000], rtol=1e-12)
    grid = counter.grid(4.5, np.array([1, 3]), np.array([7, 8, 9]))
    block = grid.block(0, 2)
    np.testing.assert_array_equal(block[0], [[5, 2, 0], [0, 0, 1]])
    np.testing.assert_allclose(block[1], [[1000 / 3 + 4000 / 9, 2000 / 9, 0], [0, 0, 1000]], rtol=1e-6)
    # Recency at 4.5 with a half-life of 4: the path 1 -7- 2 -7- 2 -8 with j7's events at 2 and 3.
    weight = lambda t: 0.5 ** ((4.5 - t) / HALF_LIFE)  # noqa: E731
    np.testing.assert_allclose(block[2, 0, 1], weight(1) * (weight(2) + weight(3)) * weight(4), rtol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pair_and_grid_counts_equal_the_definition_on_random_graphs(seed):
    sources, destinations, times = _random_events(seed)
    counter = PathCounter(_finder(sources, destinations, times), HALF_LIFE)
    companies = np.repeat(np.arange(1, N_COMPANIES + 1), N_INVESTORS)
    investors = np.tile(np.arange(N_COMPANIES + 1, N_NODES + 1), N_COMPANIES)
    for at in (0.0, 5.0, 5.5, 11.0, 99.0):
        expected = np.array([_by_hand(sources, destinations, times, c, i, at) + _walks_by_hand(sources, destinations,
                                                                                                times, c, i, at)
                             for c, i in zip(companies, investors)])
        np.testing.assert_allclose(counter.pairs(companies, investors, np.full(len(companies), at)), expected,
                                   rtol=1e-12)
        grid = counter.grid(at, np.arange(1, N_COMPANIES + 1), np.arange(N_COMPANIES + 1, N_NODES + 1))
        block = grid.block(0, N_COMPANIES)
        np.testing.assert_allclose(block.reshape(5, -1).T, expected, rtol=1e-6)
        np.testing.assert_allclose(grid.pairs(companies - 1, investors - N_COMPANIES - 1), expected, rtol=1e-6)
        counts_alone = PathCounter(counter.finder, HALF_LIFE, walks=False)
        np.testing.assert_allclose(counts_alone.pairs(companies, investors, np.full(len(companies), at)),
                                   expected[:, : len(COUNT_FEATURES)], rtol=1e-12)
        grid = counts_alone.grid(at, np.arange(1, N_COMPANIES + 1), np.arange(N_COMPANIES + 1, N_NODES + 1))
        np.testing.assert_allclose(grid.block(0, N_COMPANIES).reshape(3, -1).T, expected[:, :3], rtol=1e-6)


def test_events_at_or_after_the_time_change_no_count():
    sources, destinations, times = _random_events(3)
    cut = 5.0
    later = times >= cut
    rng = np.random.default_rng(9)
    corrupted = (np.where(later, rng.integers(1, N_COMPANIES + 1, len(times)), sources),
                 np.where(later, rng.integers(N_COMPANIES + 1, N_NODES + 1, len(times)), destinations), times)
    companies = np.repeat(np.arange(1, N_COMPANIES + 1), N_INVESTORS)
    investors = np.tile(np.arange(N_COMPANIES + 1, N_NODES + 1), N_COMPANIES)
    at = rng.uniform(0, cut, len(companies))
    at[:5] = cut  # exactly at the cut: the events at that time are not before it
    counts = [PathCounter(_finder(*events), HALF_LIFE).pairs(companies, investors, at) for events in ((sources, destinations, times), corrupted)]
    np.testing.assert_array_equal(counts[0], counts[1])


def test_a_finder_without_its_interactions_is_refused():
    finder = _finder([1], [7], [1.0])
    finder.events = None
    with pytest.raises(ValueError, match="from_interactions"):
        PathCounter(finder, HALF_LIFE)
