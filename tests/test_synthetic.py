"""The synthetic Crunchbase-like generator: format, determinism, and the statistics it must carry."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tgnrank.data import load_dataset, save_dataset
from tgnrank.data.stats import dataset_statistics
from tgnrank.data.synthetic import (
    DEFAULT_COMPANIES,
    DEFAULT_INVESTORS,
    EDGE_FEATURE_NAMES,
    INVESTOR_KINDS,
    NODE_FEATURE_NAMES,
    SECTORS,
    generate_synthetic,
)
from tgnrank.data.synthetic.arrival import ArrivalSampler
from tgnrank.data.synthetic.syndicates import fill_syndicates

N_COMPANIES, N_INVESTORS = 300, 120


@pytest.fixture(scope="module")
def small():
    return generate_synthetic(n_companies=N_COMPANIES, n_investors=N_INVESTORS, seed=0)


@pytest.fixture(scope="module")
def default():
    return generate_synthetic(seed=0)


@pytest.fixture(scope="module")
def default_stats(default):
    return dataset_statistics(default)


def test_node_ids_kinds_and_names(small):
    assert small.n_nodes == N_COMPANIES + N_INVESTORS
    assert np.array_equal(small.company_ids, np.arange(1, N_COMPANIES + 1))
    assert np.array_equal(small.investor_ids, np.arange(N_COMPANIES + 1, N_COMPANIES + N_INVESTORS + 1))
    assert small.node_names[0] == "" and small.node_kinds[0] == ""
    sectors = "|".join(re.escape(sector) for sector in SECTORS)
    kinds = "|".join(re.escape(kind) for kind in INVESTOR_KINDS)
    assert re.fullmatch(rf"Company 0042 \(({sectors})\)", small.node_names[43])
    assert re.fullmatch(rf"Investor 0007 \(({kinds})\)", small.node_names[N_COMPANIES + 8])
    assert len(set(small.node_names[1:])) == small.n_nodes


def test_events_are_sorted_whole_days_from_companies_to_investors(small):
    events = small.events
    assert 1000 <= small.n_events <= 3000
    assert np.all(np.diff(events.timestamps) >= 0)
    assert np.array_equal(events.timestamps, np.floor(events.timestamps))
    assert np.array_equal(events.edge_idxs, np.arange(1, small.n_events + 1))
    assert events.sources.min() >= 1 and events.sources.max() <= N_COMPANIES
    assert events.destinations.min() > N_COMPANIES and events.destinations.max() <= N_COMPANIES + N_INVESTORS
    first, last = np.datetime64("1995-01-01"), np.datetime64("2015-12-31")
    assert first.astype(np.int64) <= events.timestamps.min() and events.timestamps.max() <= last.astype(np.int64)


def test_a_round_never_lists_an_investor_twice(small):
    events = small.events
    keys = np.stack([events.sources, events.destinations, events.timestamps.astype(np.int64)], axis=1)
    assert len(np.unique(keys, axis=0)) == small.n_events


def test_node_features_are_standardised_float32_with_zero_padding(small):
    features = small.node_features
    assert features.dtype == np.float32
    assert features.shape == (small.n_nodes + 1, len(NODE_FEATURE_NAMES))
    assert np.all(features[0] == 0)
    assert np.allclose(features[1:].mean(axis=0), 0.0, atol=1e-4)
    spread = features[1:].std(axis=0)
    assert np.allclose(spread[spread > 0], 1.0, atol=1e-3)
    assert np.all(np.isfinite(features))


def test_edge_features_hold_log_amount_missing_flag_and_round_type(small):
    edges = small.edge_features
    assert edges.dtype == np.float32 and edges.shape == (small.n_events + 1, len(EDGE_FEATURE_NAMES))
    assert np.all(edges[0] == 0)
    missing = edges[1:, 1] == 1
    assert set(np.unique(edges[1:, 1])) <= {0.0, 1.0}
    assert 0.03 < missing.mean() < 0.2
    assert np.all(edges[1:, 0][missing] == 0)
    assert np.all((edges[1:, 0][~missing] > np.log1p(1e4)) & (edges[1:, 0][~missing] < np.log1p(1e10)))
    assert np.all(edges[1:, 2:].sum(axis=1) == 1)


def test_one_round_shares_one_amount_and_type(small):
    """All investors of a round (same company and timestamp) carry the round's amount and type."""
    events, edges = small.events, small.edge_features
    keys = events.sources * 100_000 + events.timestamps.astype(np.int64)
    order = np.argsort(keys, kind="stable")
    same_round = keys[order][1:] == keys[order][:-1]
    rows = events.edge_idxs[order]
    # Two rounds of one company can share a coarse date, so nearly all (not all) neighbours agree.
    agree = np.all(edges[rows[1:]] == edges[rows[:-1]], axis=1)
    assert agree[same_round].mean() > 0.95


def test_same_seed_gives_same_arrays_and_bytes_other_seed_differs(tmp_path, small):
    again = generate_synthetic(n_companies=N_COMPANIES, n_investors=N_INVESTORS, seed=0)
    for name in ("sources", "destinations", "timestamps", "edge_idxs"):
        assert np.array_equal(getattr(small.events, name), getattr(again.events, name))
    assert np.array_equal(small.node_features, again.node_features)
    assert np.array_equal(small.edge_features, again.edge_features)
    assert np.array_equal(small.node_names, again.node_names)

    first = save_dataset(small, tmp_path / "first")
    second = save_dataset(again, tmp_path / "second")
    for key in first:
        assert first[key].read_bytes() == second[key].read_bytes(), key

    other = generate_synthetic(n_companies=N_COMPANIES, n_investors=N_INVESTORS, seed=1)
    assert other.n_events != small.n_events or not np.array_equal(other.events.destinations, small.events.destinations)
    assert not np.array_equal(other.node_features, small.node_features)


def test_saved_dataset_loads_back(tmp_path, small):
    save_dataset(small, tmp_path)
    loaded = load_dataset(small.name, tmp_path)
    assert np.array_equal(loaded.events.sources, small.events.sources)
    assert np.array_equal(loaded.node_kinds, small.node_kinds)
    assert np.array_equal(loaded.node_names, small.node_names)


@pytest.mark.parametrize("n_companies, n_investors", [(1, 1), (2, 1), (1, 5), (10, 3)])
def test_tiny_populations_still_give_valid_datasets(n_companies, n_investors):
    for seed in range(6):  # some of these seeds raise no round at all
        data = generate_synthetic(n_companies=n_companies, n_investors=n_investors, seed=seed)
        assert data.n_nodes == n_companies + n_investors
        assert data.edge_features.shape[0] == data.n_events + 1
        assert np.all(data.events.destinations > n_companies)


def test_the_package_keeps_the_former_module_names():
    import tgnrank.data.synthetic as synthetic
    from tgnrank.data.synthetic import parameters

    for name in synthetic.__all__:
        assert hasattr(synthetic, name), name
    assert synthetic.NODE_FEATURE_NAMES is parameters.NODE_FEATURE_NAMES
    assert (synthetic.DEFAULT_COMPANIES, synthetic.DEFAULT_INVESTORS) == (8000, 2500)


def test_invalid_sizes_are_rejected():
    with pytest.raises(ValueError, match="n_companies"):
        generate_synthetic(n_companies=0, n_investors=10)


def test_default_size_is_crunchbase_like(default):
    assert (DEFAULT_COMPANIES, DEFAULT_INVESTORS) == (len(default.company_ids), len(default.investor_ids))
    assert 30_000 <= default.n_events <= 50_000


def test_investor_degrees_are_heavy_tailed(default_stats):
    degrees = default_stats["degrees"]["investor"]
    assert degrees["max"] >= 20 * degrees["median"]
    assert degrees["p99"] >= 5 * degrees["median"]
    assert degrees["top1_share"] > 0.08  # the top 1% of investors hold far more than 1% of events


def test_about_a_fifth_of_events_repeat_a_pair(default_stats):
    assert 0.12 <= default_stats["repeated_pairs"]["share"] <= 0.30


def test_syndicates_share_one_timestamp_and_average_two_and_a_half(default_stats):
    syndicates = default_stats["syndicates"]
    assert 2.2 <= syndicates["mean"] <= 2.8
    assert 0.2 <= syndicates["single_share"] <= 0.6
    assert syndicates["histogram"]["8"] > 0  # up to 8 investors per round
    assert syndicates["rounds"] < default_stats["counts"]["events"] / 2


def test_most_new_links_involve_a_node_never_seen_before(default_stats):
    for period in ("validation", "test"):
        assert default_stats["new_links"][period]["unseen_node_share"] > 0.5


def test_many_dates_are_known_only_to_the_month_or_year(default_stats):
    precision = default_stats["date_precision"]
    assert 0.25 <= precision["month_start_share"] <= 0.6
    assert 0.05 <= precision["year_start_share"] <= 0.25


def test_features_look_alike_yet_do_not_reveal_whom_investors_fund(default_stats):
    similarity = default_stats["similarity"]
    co = similarity["coinvestors"]
    assert co["true_mean"] > co["random_mean"] + 0.05 and co["auc"] > 0.6
    funded = similarity["company_investor"]
    assert funded["true_mean"] > funded["random_mean"]
    assert 0.55 < funded["auc"] < 0.85  # informative, not trivially separable
    lookalikes = similarity["lookalikes"]
    assert lookalikes["twin_share"] > 0.5
    assert lookalikes["nearest_jaccard_mean"] < 0.05


def test_investors_concentrate_on_few_sectors(default):
    events = default.events
    company_names = default.node_names[default.company_ids]
    sector_of_company = np.array([SECTORS.index(name[name.index("(") + 1 : -1]) for name in company_names])
    sectors = sector_of_company[events.sources - 1]
    counts = np.zeros((default.n_nodes + 1, len(SECTORS)))
    np.add.at(counts, (events.destinations, sectors), 1)
    busy = counts.sum(axis=1) >= 20
    top_two_share = np.sort(counts[busy], axis=1)[:, -2:].sum(axis=1) / counts[busy].sum(axis=1)
    assert top_two_share.mean() > 0.5  # uniform over 12 sectors would give about 0.2


def test_investor_kinds_prefer_their_stages(default):
    events, edges = default.events, default.edge_features
    kind_of = np.array([name[name.find("(") + 1 : -1] for name in default.node_names], dtype=object)
    kinds = kind_of[events.destinations]
    seed_round = edges[events.edge_idxs, 2] == 1
    assert seed_round[kinds == "angel"].mean() > 0.5
    assert seed_round[kinds == "growth fund"].mean() < 0.1


def test_nodes_arrive_over_time(default):
    events = default.events
    middle = np.quantile(events.timestamps, 0.5)
    first_seen = np.full(default.n_nodes + 1, np.inf)
    np.minimum.at(first_seen, events.destinations, events.timestamps)
    active = np.isfinite(first_seen)
    assert np.mean(first_seen[active] > middle) > 0.2


def test_arrival_sampler_draws_only_arrived_items_by_weight():
    # group 0: item 10 (arrives at 0.0, weight 1), item 11 (arrives at 0.5, weight 3);
    # group 1: item 20 (arrives at 0.8, weight 1)
    sampler = ArrivalSampler.from_entries(
        group=np.array([0.0, 0.0, 1.0, 1.0]),
        item=np.array([10, 11, 20, 21]),
        arrival=np.array([0.0, 0.5, 0.8, 0.1]),
        weight=np.array([1.0, 3.0, 1.0, 0.0]),
    )
    n = 4000
    uniform = np.random.default_rng(0).random(n)
    early = sampler.sample(np.zeros(n, dtype=np.int64), np.full(n, 0.2), uniform)
    assert np.all(early == 10)
    late = sampler.sample(np.zeros(n, dtype=np.int64), np.full(n, 0.9), uniform)
    assert set(np.unique(late)) == {10, 11}
    assert abs(np.mean(late == 11) - 0.75) < 0.03
    assert np.all(sampler.sample(np.ones(3, dtype=np.int64), np.full(3, 0.5), uniform[:3]) == -1)
    assert np.all(sampler.sample(np.ones(3, dtype=np.int64), np.full(3, 0.9), uniform[:3]) == 20)


def test_fill_syndicates_keeps_follow_ons_then_first_distinct_candidates():
    # Wave of rounds 5 and 6. Round 5: follow-on investor 1, 2 new seats; round 6: lead 4, 1 new seat.
    rounds, people = fill_syndicates(
        first=5,
        n_new=np.array([2, 1]),
        follow_round=np.array([5]),
        follow_investor=np.array([1]),
        lead_round=np.array([6]),
        lead_investor=np.array([4]),
        candidate_round=np.array([5, 5, 5, 5, 6, 6]),
        candidate_investor=np.array([1, -1, 3, 2, 4, 0]),
        n_investors=10,
    )
    got = sorted(zip(rounds.tolist(), people.tolist()))
    # round 5: 1 (follow-on), then candidates 1 (duplicate), -1 (none), 3, 2 -> seats for 3 and 2
    # round 6: lead 4 fills its only seat
    assert got == [(5, 1), (5, 2), (5, 3), (6, 4)]
