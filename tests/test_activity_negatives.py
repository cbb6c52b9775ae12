"""Degree- and recency-weighted negatives: distributions against hand-computed ones, exclusions, causality."""

import numpy as np
import pytest

from tgnrank.data.events import Interactions
from tgnrank.errors import ConfigError
from tgnrank.sampling.activity_negatives import (
    DegreeNegativeSampler,
    InvestorActivity,
    LinksBefore,
    RecentNegativeSampler,
    create_activity_sampler,
)
from tgnrank.sampling.negatives import RandomNegativeSampler

# Companies 1-3 (and 9, with no event), investors 4-8. (company, investor, day):
EVENTS = np.array([(1, 4, 1.0), (2, 4, 2.0), (3, 4, 3.0), (1, 5, 2.0), (2, 6, 5.0), (3, 7, 10.0), (2, 8, 20.0)])
SOURCES, DESTINATIONS, TIMES = EVENTS[:, 0].astype(np.int64), EVENTS[:, 1].astype(np.int64), EVENTS[:, 2]
INVESTORS = np.arange(4, 9)
N_DRAWS = 60_000


def _frequencies(sampler, company: int, true_investor: int, day: float, n: int = N_DRAWS) -> np.ndarray:
    """Empirical P(investor) over INVESTORS for ``n`` draws of the row (company, true investor) at ``day``."""
    drawn = sampler.sample(np.full(n, company), np.full(n, true_investor), timestamps=np.full(n, day))
    return np.array([np.mean(drawn == investor) for investor in INVESTORS])


def _total_variation(observed: np.ndarray, expected: np.ndarray) -> float:
    return 0.5 * float(np.abs(observed - expected).sum())


def test_investor_activity_counts_events_strictly_before_t():
    activity = InvestorActivity(DESTINATIONS, TIMES, INVESTORS)
    assert activity.counts_before(10.0).tolist() == [3, 1, 1, 0, 0]  # investor 7's event at day 10 is not before
    assert activity.counts_before(10.5).tolist() == [3, 1, 1, 1, 0]
    assert activity.counts_before(1.0).tolist() == [0, 0, 0, 0, 0]
    assert activity.counts_before(100.0).tolist() == [3, 1, 1, 1, 1]
    rng = np.random.default_rng(0)
    investors, days = rng.integers(0, 40, 500), rng.integers(0, 60, 500).astype(float)
    many = InvestorActivity(investors, days, np.arange(40))
    for t in (0.0, 17.0, 17.5, 59.0, 61.0):
        assert many.counts_before(t).tolist() == np.bincount(investors[days < t], minlength=40).tolist()


def test_links_before_only_counts_pairs_first_linked_before_t():
    links = LinksBefore(SOURCES, DESTINATIONS, TIMES, INVESTORS)
    positions = np.arange(5)
    assert links.contains(np.full(5, 2), positions, 10.0).tolist() == [True, False, True, False, False]
    assert links.contains(np.full(5, 2), positions, 25.0).tolist() == [True, False, True, False, True]
    assert links.contains(np.full(5, 3), positions, 10.0).tolist() == [True, False, False, False, False]
    rows, linked = links.linked_positions(np.array([2, 9, 1]), 10.0)
    assert sorted(zip(rows.tolist(), linked.tolist())) == [(0, 0), (0, 2), (2, 0), (2, 1)]


def test_degree_distribution_matches_counts_to_the_power():
    # Before day 10: investor 4 has 3 events, 5 and 6 one each, 7 and 8 none; company 9 has no link and
    # the true investor 8 is excluded: P = (3^0.75, 1, 1, 0, 0) / (3^0.75 + 2).
    sampler = DegreeNegativeSampler(SOURCES, DESTINATIONS, TIMES, power=0.75, seed=0)
    weight = 3 ** 0.75
    expected = np.array([weight, 1, 1, 0, 0]) / (weight + 2)
    assert _total_variation(_frequencies(sampler, 9, 8, 10.0), expected) < 0.01
    uniform_over_active = DegreeNegativeSampler(SOURCES, DESTINATIONS, TIMES, power=0.0, seed=0)
    assert _total_variation(_frequencies(uniform_over_active, 9, 8, 10.0), np.array([1, 1, 1, 0, 0]) / 3) < 0.01
    linear = DegreeNegativeSampler(SOURCES, DESTINATIONS, TIMES, power=1.0, seed=0)
    assert _total_variation(_frequencies(linear, 9, 4, 100.0), np.array([0, 1, 1, 1, 1]) / 4) < 0.01


def test_degree_sampler_never_draws_linked_investors_nor_the_true_one():
    sampler = DegreeNegativeSampler(SOURCES, DESTINATIONS, TIMES, seed=1)
    # Company 2 before day 10 is linked to 4 and 6 (its link to 8 comes at day 20), true investor 7:
    # only investor 5 is allowed with weight.
    assert set(sampler.sample(np.full(500, 2), np.full(500, 7), timestamps=np.full(500, 10.0))) == {5}
    # Company 1 is linked to 4 and 5 and the true investor is 6: no allowed investor has weight before
    # day 10, so the draw is uniform over the allowed 7 and 8.
    assert _total_variation(_frequencies(sampler, 1, 6, 10.0, 20_000), np.array([0, 0, 0, 0.5, 0.5])) < 0.015
    stats = sampler.stats()
    assert stats["n_uniform_fallback"] == 20_000 and stats["n_unrestricted"] == 0
    # Company 2 at day 25 (links 4, 6, 8) with true investor 5 leaves only 7.
    assert set(sampler.sample(np.full(200, 2), np.full(200, 5), timestamps=np.full(200, 25.0))) == {7}


def test_an_investor_linked_only_in_the_future_may_be_drawn():
    # Company 1 links to investor 5 at day 10; 5 and 6 are active from days 1 and 2; the true investor is 4.
    sources, destinations, times = np.array([2, 3, 2, 1]), np.array([5, 6, 4, 5]), np.array([1.0, 2.0, 1.0, 10.0])
    sampler = DegreeNegativeSampler(sources, destinations, times, power=0.0, seed=2)
    before = sampler.sample(np.full(2000, 1), np.full(2000, 4), timestamps=np.full(2000, 10.0))
    assert set(before) == {5, 6}
    after = sampler.sample(np.full(2000, 1), np.full(2000, 4), timestamps=np.full(2000, 10.5))
    assert set(after) == {6}


def test_recent_window_is_the_days_before_the_batch_start_included_end_excluded():
    # At day 10 with 5 days: the window [5, 10) holds investor 6's event at day 5 only (investor 7's is at 10).
    sampler = RecentNegativeSampler(SOURCES, DESTINATIONS, TIMES, recent_days=5.0, seed=0)
    assert set(sampler.sample(np.full(300, 9), np.full(300, 8), timestamps=np.full(300, 10.0))) == {6}
    wider = RecentNegativeSampler(SOURCES, DESTINATIONS, TIMES, recent_days=8.0, seed=0)
    assert _total_variation(_frequencies(wider, 9, 8, 10.0), np.array([1, 1, 1, 0, 0]) / 3) < 0.01
    # The batch's time is its first timestamp: later timestamps in the batch do not widen the window.
    mixed = sampler.sample(np.full(300, 9), np.full(300, 8), timestamps=np.r_[10.0, np.full(299, 30.0)])
    assert set(mixed) == {6}


def test_recent_sampler_falls_back_to_uniform_when_nobody_is_recent():
    sampler = RecentNegativeSampler(SOURCES, DESTINATIONS, TIMES, recent_days=1.0, seed=3)
    # Nobody invested in [29, 30): uniform over the pool without the true investor 8.
    assert _total_variation(_frequencies(sampler, 9, 8, 30.0), np.array([1, 1, 1, 1, 0]) / 4) < 0.01
    assert sampler.stats()["share_uniform_fallback"] == 1.0
    first_batch = DegreeNegativeSampler(SOURCES, DESTINATIONS, TIMES, seed=3)
    assert _total_variation(_frequencies(first_batch, 9, 8, 1.0), np.array([1, 1, 1, 1, 0]) / 4) < 0.01


def test_future_events_do_not_change_the_draws():
    # Corrupt the future (events at or after day 10, the batch's time): new links of company 9, more
    # activity of investors 5 and 7. With the same seed the draws at day 10 are identical.
    future = np.array([(9, 5, 10.0), (9, 4, 12.0), (1, 7, 15.0), (2, 5, 30.0), (3, 5, 31.0)])
    sources = np.r_[SOURCES, future[:, 0].astype(np.int64)]
    destinations = np.r_[DESTINATIONS, future[:, 1].astype(np.int64)]
    times = np.r_[TIMES, future[:, 2]]
    companies, trues = np.array([9, 9, 1, 2, 3] * 400), np.array([8, 4, 6, 7, 5] * 400)
    for make in (lambda s, d, t: DegreeNegativeSampler(s, d, t, seed=7),
                 lambda s, d, t: RecentNegativeSampler(s, d, t, recent_days=6.0, seed=7)):
        clean = make(SOURCES, DESTINATIONS, TIMES).sample(companies, trues, n_neg=3, timestamps=np.full(2000, 10.0))
        corrupted = make(sources, destinations, times).sample(companies, trues, n_neg=3, timestamps=np.full(2000, 10.0))
        assert clean.shape == (2000, 3)
        assert np.array_equal(clean, corrupted)


def _random_graph(seed: int):
    rng = np.random.default_rng(seed)
    n_events = 400
    sources = rng.integers(1, 21, n_events)
    destinations = 100 + (rng.zipf(1.6, n_events) % 30)
    times = np.sort(rng.integers(0, 200, n_events)).astype(float)
    return sources, destinations, times


def _reference(sources, destinations, times, company, true_investor, t, weight_of):
    """Brute-force P over the pool for one row: weight_of(investor events before t), exclusions applied."""
    pool = np.unique(destinations)
    linked = set(destinations[(sources == company) & (times < t)].tolist())
    weights = np.array([weight_of(destinations[times < t], times[times < t], inv) for inv in pool], dtype=float)
    if weights.sum() == 0:
        weights = np.ones(len(pool))
    allowed = np.array([inv not in linked and inv != true_investor for inv in pool])
    masked = np.where(allowed, weights, 0.0)
    if masked.sum() == 0:
        masked = allowed.astype(float)
    return pool, masked / masked.sum()


@pytest.mark.parametrize("kind", ["degree", "recent"])
def test_distributions_match_a_brute_force_reference_on_a_random_graph(kind):
    sources, destinations, times = _random_graph(5)
    if kind == "degree":
        sampler = DegreeNegativeSampler(sources, destinations, times, power=0.75, seed=11)
        weight_of = lambda d, s, inv: np.count_nonzero(d == inv) ** 0.75  # noqa: E731
    else:
        sampler = RecentNegativeSampler(sources, destinations, times, recent_days=30.0, seed=11)
        weight_of = lambda d, s, inv: float(np.any((d == inv) & (s >= 120.0 - 30.0)))  # noqa: E731
    rows = [(int(sources[k]), int(destinations[k])) for k in (250, 260, 270, 280)]
    n = 40_000
    companies = np.repeat([c for c, _ in rows], n)
    trues = np.repeat([i for _, i in rows], n)
    drawn = sampler.sample(companies, trues, timestamps=np.full(len(companies), 120.0)).reshape(len(rows), n)
    for row, (company, true_investor) in enumerate(rows):
        pool, expected = _reference(sources, destinations, times, company, true_investor, 120.0, weight_of)
        observed = np.array([np.mean(drawn[row] == inv) for inv in pool])
        assert _total_variation(observed, expected) < 0.02


def test_factory_and_parameter_validation_name_the_flag():
    train = Interactions(SOURCES, DESTINATIONS, TIMES, np.arange(1, 8), np.zeros(7))
    assert isinstance(create_activity_sampler("uniform", train, seed=0), RandomNegativeSampler)
    degree = create_activity_sampler("degree", train, neg_degree_power=0.5, seed=0)
    assert isinstance(degree, DegreeNegativeSampler) and degree.power == 0.5
    recent = create_activity_sampler("recent", train, neg_recent_days=30, seed=0)
    assert isinstance(recent, RecentNegativeSampler) and recent.recent_days == 30.0
    for kwargs, flag in (({"neg_sampling": "popular"}, "neg_sampling"), ({"neg_degree_power": -1}, "neg_degree_power"),
                         ({"neg_recent_days": 0}, "neg_recent_days"), ({"neg_recent_days": float("nan")}, "neg_recent_days")):
        with pytest.raises(ConfigError, match=flag):
            create_activity_sampler(**{"neg_sampling": "degree", "train": train, **kwargs})
    with pytest.raises(ValueError, match="timestamps"):
        degree.sample(np.array([1]), np.array([4]))


def test_same_seed_same_draws_and_reset_rng_replays_them():
    sampler = DegreeNegativeSampler(SOURCES, DESTINATIONS, TIMES, seed=4)
    first = sampler.sample(np.full(50, 9), np.full(50, 8), n_neg=2, timestamps=np.full(50, 10.0))
    sampler.reset_rng(4)
    again = sampler.sample(np.full(50, 9), np.full(50, 8), n_neg=2, timestamps=np.full(50, 10.0))
    assert np.array_equal(first, again)
