"""Negative samplers: exclusions, ratio, temperature, fallback, determinism, distribution vs reference."""

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import chi2_contingency

from tgnrank.data.events import Interactions
from tgnrank.errors import ConfigError
from tgnrank.sampling.negatives import (
    LinkedPairs,
    BatchedHardNegativeSampler,
    HardNegativeSampler,
    RandomNegativeSampler,
    build_adjacency_dict,
    create_negative_sampler,
)
from tgnrank.sampling.similarity import InvestorSimilarity

SAMPLERS = (BatchedHardNegativeSampler, HardNegativeSampler)


def at_angle(cosine: float) -> list[float]:
    return [cosine, math.sqrt(1.0 - cosine**2)]


def five_investor_graph():
    """Companies 1, 2; investors 3..7 with cosine similarity to investor 3 of 0.9, 0.6, 0.2, -0.5.

    Company 1 is linked to investors 3 and 5; company 2 to 4, 6 and 7.
    """
    features = np.array(
        [[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [1.0, 0.0], at_angle(0.9), at_angle(0.6), at_angle(0.2), at_angle(-0.5)],
        dtype=np.float32,
    )
    sources = np.array([1, 1, 2, 2, 2])
    destinations = np.array([3, 5, 4, 6, 7])
    return features, sources, destinations


def random_graph(n_companies=30, n_investors=40, n_links=150, dim=6, seed=0):
    """Random features and links; companies are 1..n_companies, investors follow."""
    rng = np.random.default_rng(seed)
    features = np.vstack([np.zeros((1, dim)), rng.normal(size=(n_companies + n_investors, dim))]).astype(np.float32)
    sources = rng.integers(1, n_companies + 1, size=n_links)
    destinations = rng.integers(n_companies + 1, n_companies + n_investors + 1, size=n_links)
    destinations[:n_investors] = np.arange(n_companies + 1, n_companies + n_investors + 1)
    return features, sources, destinations


def empirical(draws: np.ndarray, support: list[int]) -> np.ndarray:
    return np.array([np.mean(draws == node) for node in support])


def exact_five_investor_distribution(ratio: float, temperature: float) -> dict[int, float]:
    """Positive (1, 3), top-3 = {4: 0.9, 5: 0.6, 6: 0.2}; 5 is linked to company 1, so hard draws are 4 or 6
    with softmax weights, and random draws are uniform over the allowed {4, 6, 7}."""
    w4, w6 = math.exp(0.9 / temperature), math.exp(0.2 / temperature)
    return {
        4: ratio * w4 / (w4 + w6) + (1 - ratio) / 3,
        6: ratio * w6 / (w4 + w6) + (1 - ratio) / 3,
        7: (1 - ratio) / 3,
    }


@pytest.mark.parametrize("sampler_class, n_draws", [(BatchedHardNegativeSampler, 40000), (HardNegativeSampler, 6000)])
def test_distribution_matches_hand_computed_one(sampler_class, n_draws):
    features, sources, destinations = five_investor_graph()
    sampler = sampler_class(features, sources, destinations, hard_neg_ratio=0.5, hard_neg_temperature=0.5,
                            hard_neg_topk=3, seed=1)
    draws = sampler.sample(np.full(n_draws, 1), np.full(n_draws, 3))
    expected = exact_five_investor_distribution(0.5, 0.5)
    assert set(np.unique(draws)) == set(expected)
    total_variation = 0.5 * np.abs(empirical(draws, list(expected)) - np.array(list(expected.values()))).sum()
    assert total_variation < 3.0 / math.sqrt(n_draws)


def test_batched_and_reference_samplers_agree_column_by_column():
    features, sources, destinations = random_graph(seed=3)
    positives = (np.full(3000, sources[0]), np.full(3000, destinations[0]))
    kwargs = dict(hard_neg_ratio=0.6, hard_neg_temperature=0.3, hard_neg_topk=6)
    batched = BatchedHardNegativeSampler(features, sources, destinations, seed=5, **kwargs).sample(*positives, 3)
    reference = HardNegativeSampler(features, sources, destinations, seed=6, **kwargs).sample(*positives, 3)
    for column in range(3):
        support = np.union1d(batched[:, column], reference[:, column])
        table = np.array([[np.sum(draws[:, column] == node) for node in support] for draws in (batched, reference)])
        assert chi2_contingency(table).pvalue > 1e-4, f"column {column} differs"


@pytest.mark.parametrize("sampler_class", SAMPLERS)
def test_never_draws_a_linked_investor_nor_the_true_one(sampler_class):
    features, sources, destinations = random_graph(n_links=400, seed=1)
    adjacency = build_adjacency_dict(sources, destinations)
    sampler = sampler_class(features, sources, destinations, hard_neg_ratio=0.5, hard_neg_temperature=0.1,
                            hard_neg_topk=5, seed=0)
    negatives = sampler.sample(sources, destinations, n_neg=6)
    for company, true_investor, row in zip(sources, destinations, negatives):
        assert not set(row.tolist()) & adjacency[int(company)]
        assert true_investor not in row


def test_candidates_restrict_the_pool():
    features, sources, destinations = random_graph(seed=2)
    candidates = np.unique(destinations)[::2]
    sampler = BatchedHardNegativeSampler(features, sources, destinations, candidates=candidates,
                                         hard_neg_ratio=0.5, hard_neg_topk=4, seed=0)
    negatives = sampler.sample(sources, destinations, n_neg=4)
    assert np.isin(negatives, candidates).all()


@pytest.mark.parametrize("ratio", [0.0, 0.3, 0.5, 1.0])
def test_share_of_hard_negatives_follows_the_ratio_with_one_negative(ratio):
    features, sources, destinations = random_graph(n_investors=60, n_links=90, seed=4)
    sampler = BatchedHardNegativeSampler(features, sources, destinations, hard_neg_ratio=ratio, hard_neg_topk=10,
                                         seed=0)
    n = 20000
    sampler.sample(np.resize(sources, n), np.resize(destinations, n))
    stats = sampler.stats()
    assert stats["n_negatives"] == n
    assert stats["n_fallback"] == 0
    assert abs(stats["share_hard"] - ratio) <= 4 * math.sqrt(ratio * (1 - ratio) / n)


def test_several_negatives_get_the_exact_share_of_hard_ones_in_the_first_columns():
    features, sources, destinations = five_investor_graph()
    sampler = BatchedHardNegativeSampler(features, sources, destinations, hard_neg_ratio=0.5,
                                         hard_neg_temperature=0.01, hard_neg_topk=1, seed=0)
    negatives = sampler.sample(np.full(500, 1), np.full(500, 3), n_neg=4)
    assert sampler.stats()["share_hard"] == 0.5
    # with top-1 and T -> 0, a hard negative of investor 3 is always 4 (its most similar investor)
    assert (negatives[:, :2] == 4).all()
    assert negatives.shape == (500, 4)


def test_fractional_share_rounds_stochastically_per_positive():
    features, sources, destinations = random_graph(n_investors=60, n_links=90, seed=4)
    sampler = BatchedHardNegativeSampler(features, sources, destinations, hard_neg_ratio=0.3, hard_neg_topk=10,
                                         seed=0)
    n = 10000
    sampler.sample(np.resize(sources, n), np.resize(destinations, n), n_neg=3)
    # 0.9 hard per positive: none or one, one with probability 0.9
    assert abs(sampler.stats()["share_hard"] - 0.3) <= 4 * math.sqrt(0.9 * 0.1 / n) / 3


@pytest.mark.parametrize("sampler_class", SAMPLERS)
def test_lower_temperature_gives_more_similar_hard_negatives(sampler_class):
    features, sources, destinations = random_graph(n_investors=80, n_links=100, seed=7)
    n = 3000 if sampler_class is BatchedHardNegativeSampler else 800
    means = []
    for temperature in (1.0, 0.1, 0.01):
        sampler = sampler_class(features, sources, destinations, hard_neg_ratio=1.0,
                                hard_neg_temperature=temperature, hard_neg_topk=15, seed=0)
        sampler.sample(np.resize(sources, n), np.resize(destinations, n))
        means.append(sampler.stats()["mean_similarity"])
    assert means[0] + 0.05 < means[1] < means[2]


@pytest.mark.parametrize("sampler_class", SAMPLERS)
def test_top_k_all_linked_falls_back_to_random_and_is_counted(sampler_class):
    features, _, _ = five_investor_graph()
    # company 1 is linked to investor 3 and to its two most similar investors, 4 and 5
    sources, destinations = np.array([1, 1, 1, 2, 2]), np.array([3, 4, 5, 6, 7])
    sampler = sampler_class(features, sources, destinations, hard_neg_ratio=1.0, hard_neg_topk=2, seed=0)
    negatives = sampler.sample(np.full(300, 1), np.full(300, 3))
    stats = sampler.stats()
    assert stats["n_fallback"] == 300
    assert stats["share_hard"] == 0.0
    assert math.isnan(stats["mean_similarity"])
    assert set(np.unique(negatives)) == {6, 7}


@pytest.mark.parametrize("sampler_class", SAMPLERS)
def test_company_linked_to_every_investor_is_handled(sampler_class):
    features, _, _ = five_investor_graph()
    sources, destinations = np.array([1, 1, 1, 1, 1]), np.array([3, 4, 5, 6, 7])
    sampler = sampler_class(features, sources, destinations, hard_neg_ratio=0.5, hard_neg_topk=2, seed=0)
    negatives = sampler.sample(np.full(50, 1), np.full(50, 3), n_neg=2)
    assert negatives.shape == (50, 2)
    assert np.isin(negatives, [3, 4, 5, 6, 7]).all()
    assert sampler.stats()["n_unrestricted"] == 100


@pytest.mark.parametrize("sampler_class", SAMPLERS)
def test_same_seed_same_draws(sampler_class):
    features, sources, destinations = random_graph(seed=8)
    make = lambda seed: sampler_class(features, sources, destinations, hard_neg_ratio=0.5, hard_neg_topk=5,  # noqa: E731
                                      seed=seed)
    first, second, other = make(11), make(11), make(12)
    draws = first.sample(sources, destinations, 2)
    assert np.array_equal(draws, second.sample(sources, destinations, 2))
    assert not np.array_equal(draws, other.sample(sources, destinations, 2))
    first.reset_rng(11)
    assert np.array_equal(draws, first.sample(sources, destinations, 2))


def test_reset_stats_clears_counters():
    features, sources, destinations = random_graph(seed=8)
    sampler = BatchedHardNegativeSampler(features, sources, destinations, hard_neg_topk=5, seed=0)
    sampler.sample(sources, destinations)
    assert sampler.stats()["n_negatives"] == len(sources)
    sampler.reset_stats()
    assert sampler.stats()["n_negatives"] == 0 and sampler.stats()["share_hard"] == 0.0


def test_ratio_zero_repeats_the_random_samplers_draws_where_they_are_allowed():
    features, sources, destinations = random_graph(n_links=300, seed=9)
    hard = BatchedHardNegativeSampler(features, sources, destinations, hard_neg_ratio=0.0, hard_neg_topk=5, seed=4)
    uniform = RandomNegativeSampler(destinations, seed=4)
    adjacency = build_adjacency_dict(sources, destinations)
    for n_neg in (1, 3):
        from_hard = hard.sample(sources, destinations, n_neg).reshape(len(sources), n_neg)
        from_random = uniform.sample(sources, destinations, n_neg).reshape(len(sources), n_neg)
        allowed = np.array([[node not in adjacency[c] and node != i for node in row]
                            for c, i, row in zip(sources.tolist(), destinations.tolist(), from_random.tolist())])
        assert 0 < allowed.mean() < 1
        assert np.array_equal(from_hard[allowed], from_random[allowed])
    assert hard.stats()["share_hard"] == 0.0


def test_ratio_zero_equals_random_sampling_for_unlinked_companies():
    features, sources, destinations = random_graph(seed=9)
    # company 999 has no training links and investor 1000 is outside the pool: nothing is ever excluded
    batch_sources, batch_destinations = np.full(500, 999), np.full(500, 1000)
    features = np.vstack([features, np.zeros((1000 - features.shape[0] + 1, features.shape[1]), np.float32)])
    hard = BatchedHardNegativeSampler(features, sources, destinations, hard_neg_ratio=0.0, seed=2)
    uniform = RandomNegativeSampler(destinations, seed=2)
    assert np.array_equal(hard.sample(batch_sources, batch_destinations, 4),
                          uniform.sample(batch_sources, batch_destinations, 4))


def test_random_sampler_is_uniform_over_unique_candidates():
    sampler = RandomNegativeSampler(np.array([5, 5, 5, 7, 9]), seed=0)
    draws = sampler.sample(np.zeros(30000, np.int64), np.zeros(30000, np.int64))
    assert set(np.unique(draws)) == {5, 7, 9}
    assert np.abs(empirical(draws, [5, 7, 9]) - 1 / 3).max() < 0.015
    assert sampler.sample(np.zeros(4), np.zeros(4), n_neg=2).shape == (4, 2)
    assert sampler.stats() == {}


def test_zero_feature_investors_have_similarity_zero():
    features, sources, destinations = five_investor_graph()
    features[6] = 0.0
    similarity = InvestorSimilarity.compute(features, np.unique(destinations), topk=4)
    assert similarity.pairwise(np.array([3]), np.array([6]))[0] == 0.0
    row = similarity.rows_of(np.array([3]))[0]
    position_of_6 = np.searchsorted(similarity.pool, 6)
    assert similarity.neighbor_similarities[row][similarity.neighbor_positions[row] == position_of_6] == 0.0
    sampler = BatchedHardNegativeSampler(features, sources, destinations, hard_neg_topk=4, seed=0,
                                         similarity=similarity)
    assert np.isfinite(sampler.sample(np.full(100, 2), np.full(100, 6))).all()


def test_chunked_top_k_matches_brute_force():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(60, 5)).astype(np.float32)
    pool = np.arange(10, 60)
    similarity = InvestorSimilarity.compute(features, pool, topk=7, chunk_rows=6)
    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    full = unit[pool] @ unit[pool].T
    np.fill_diagonal(full, -np.inf)
    expected = np.argsort(-full, axis=1)[:, :7]
    assert np.array_equal(similarity.neighbor_positions, expected)
    assert np.allclose(similarity.neighbor_similarities, np.take_along_axis(full, expected, axis=1), atol=1e-6)


def test_top_k_is_clipped_to_the_other_investors():
    features, sources, destinations = five_investor_graph()
    similarity = InvestorSimilarity.compute(features, np.unique(destinations), topk=50)
    assert similarity.topk == 4
    single = InvestorSimilarity.compute(features, np.array([3]), topk=5)
    assert single.topk == 0
    sampler = BatchedHardNegativeSampler(features, np.array([1]), np.array([3]), hard_neg_ratio=1.0, seed=0)
    assert np.array_equal(sampler.sample(np.array([2, 2]), np.array([3, 3])), [3, 3])
    assert sampler.stats()["n_fallback"] == 2 and sampler.stats()["n_unrestricted"] == 2


def test_build_adjacency_dict():
    assert build_adjacency_dict(np.array([1, 1, 2, 1]), np.array([5, 6, 5, 5])) == {1: {5, 6}, 2: {5}}


@pytest.mark.parametrize(
    "overrides, flag",
    [
        ({"hard_neg_ratio": -0.1}, "hard_neg_ratio"),
        ({"hard_neg_ratio": 1.5}, "hard_neg_ratio"),
        ({"hard_neg_ratio": float("nan")}, "hard_neg_ratio"),
        ({"hard_neg_temperature": 0.0}, "hard_neg_temperature"),
        ({"hard_neg_temperature": -1.0}, "hard_neg_temperature"),
        ({"hard_neg_temperature": float("inf")}, "hard_neg_temperature"),
        ({"hard_neg_topk": 0}, "hard_neg_topk"),
        ({"hard_neg_topk": 2.5}, "hard_neg_topk"),
    ],
)
@pytest.mark.parametrize("sampler_class", SAMPLERS)
def test_invalid_parameters_name_the_flag(sampler_class, overrides, flag):
    features, sources, destinations = five_investor_graph()
    with pytest.raises(ConfigError, match=flag):
        sampler_class(features, sources, destinations, **overrides)
    settings = {"hard_neg_ratio": 0.5, "hard_neg_temperature": 0.1, "hard_neg_topk": 5, **overrides}
    train = Interactions(sources, destinations, np.arange(5.0), np.arange(1, 6), np.zeros(5))
    with pytest.raises(ConfigError, match=flag):
        create_negative_sampler(True, node_features=features, train=train, seed=0, **settings)


@pytest.mark.parametrize("make", [
    lambda f, s, d: BatchedHardNegativeSampler(f, s, d),
    lambda f, s, d: HardNegativeSampler(f, s, d),
    lambda f, s, d: RandomNegativeSampler(d),
])
def test_n_neg_below_one_names_the_flag(make):
    sampler = make(*five_investor_graph())
    with pytest.raises(ConfigError, match="n_neg"):
        sampler.sample(np.array([1]), np.array([3]), n_neg=0)


def test_factory_builds_random_or_hard_sampler_over_training_investors():
    features, sources, destinations = five_investor_graph()
    train = Interactions(sources, destinations, np.arange(5.0), np.arange(1, 6), np.zeros(5))
    settings = dict(hard_neg_ratio=0.5, hard_neg_temperature=0.1, hard_neg_topk=3, node_features=features,
                    train=train, seed=0)
    random = create_negative_sampler(False, **settings)
    assert isinstance(random, RandomNegativeSampler)
    assert np.array_equal(random.pool, [3, 4, 5, 6, 7])
    hard = create_negative_sampler(True, **settings)
    assert isinstance(hard, BatchedHardNegativeSampler)
    assert hard.hard_neg_ratio == 0.5 and hard.similarity.topk == 3
    assert hard.precompute_seconds >= 0


def test_root_script_reexports_the_guides_names():
    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("hard_negative_mining", root / "hard_negative_mining.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.HardNegativeSampler is HardNegativeSampler
    assert module.BatchedHardNegativeSampler is BatchedHardNegativeSampler
    assert module.build_adjacency_dict is build_adjacency_dict


def test_uniform_allowed_finds_the_rth_allowed_position():
    pool = np.arange(10, 20)  # positions 0..9
    linked = LinkedPairs(np.array([1, 1, 1, 2]), np.array([10, 13, 14, 19]), pool)
    # company 1: positions 0, 3, 4 linked and position 6 excluded as the true investor -> allowed 1, 2, 5, 7, 8, 9
    n = 6
    positions, possible = linked.uniform_allowed(
        np.full(n, 1), np.full(n, 6), np.ones(n, bool), (np.arange(n) + 0.5) / n
    )
    assert possible.all()
    assert positions.tolist() == [1, 2, 5, 7, 8, 9]
    full = LinkedPairs(np.ones(10, np.int64), pool, pool)
    assert not full.uniform_allowed(np.array([1]), np.array([-1]), np.array([False]), np.array([0.3]))[1][0]


def test_mostly_linked_company_still_gets_uniform_allowed_negatives():
    n_investors = 40
    features = np.random.default_rng(0).normal(size=(n_investors + 2, 3)).astype(np.float32)
    investors = np.arange(2, n_investors + 2)
    sources = np.concatenate([np.ones(n_investors - 2, np.int64), [0, 0]])
    sampler = BatchedHardNegativeSampler(features, sources, investors, hard_neg_ratio=0.0, seed=0)
    draws = sampler.sample(np.ones(4000, np.int64), np.full(4000, 2))
    assert set(np.unique(draws)) == {n_investors, n_investors + 1}
    assert abs(np.mean(draws == n_investors) - 0.5) < 0.03
