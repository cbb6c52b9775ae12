"""The guide's next steps as training options: curriculum, multi-hop negatives, memory-based hard negatives."""

import json
import math

import numpy as np
import pytest
import torch

from tgnrank.data.events import Interactions
from tgnrank.errors import ConfigError
from tgnrank.sampling.curriculum import hard_ratio_at
from tgnrank.sampling.multihop import DEFAULT_MULTIHOP_TOPK, MultihopCandidates
from tgnrank.sampling.negatives import BatchedHardNegativeSampler, create_negative_sampler
from tgnrank.train.config import TrainConfig


# --- curriculum ----------------------------------------------------------------------------------------

def test_linear_curriculum_ratios_per_epoch():
    # 0.6 * min(1, (e + 1) / 3): 0.2, 0.4, 0.6, then 0.6 for good
    ratios = [hard_ratio_at(epoch, 0.6, "linear", 3) for epoch in range(5)]
    assert ratios == pytest.approx([0.2, 0.4, 0.6, 0.6, 0.6])
    assert [hard_ratio_at(epoch, 0.6, "none", 3) for epoch in range(3)] == [0.6, 0.6, 0.6]
    assert hard_ratio_at(0, 1.0, "linear", 1) == 1.0


def five_investor_graph():
    """Companies 1-2, investors 3-7; investor 3's most similar investor by features is 4, then 5."""
    features = np.zeros((8, 2), dtype=np.float32)
    features[3:8] = [[1.0, 0.0], [0.99, 0.1], [0.9, 0.4], [0.0, 1.0], [-1.0, 0.0]]
    sources = np.array([1, 1, 2, 2, 2])
    destinations = np.array([3, 6, 4, 5, 7])
    return features, sources, destinations


def test_set_hard_ratio_changes_the_share_of_hard_negatives():
    features, sources, destinations = five_investor_graph()
    sampler = BatchedHardNegativeSampler(features, sources, destinations, hard_neg_ratio=1.0, hard_neg_topk=2, seed=0)
    sampler.sample(np.full(100, 1), np.full(100, 3))
    assert sampler.stats()["share_hard"] == 1.0
    sampler.set_hard_ratio(0.0)
    sampler.reset_stats()
    sampler.sample(np.full(100, 1), np.full(100, 3), n_neg=2)
    assert sampler.stats()["share_hard"] == 0.0 and sampler.hard_neg_ratio == 0.0
    sampler.set_hard_ratio(0.5)
    sampler.reset_stats()
    sampler.sample(np.full(100, 1), np.full(100, 3), n_neg=2)
    assert sampler.stats()["share_hard"] == 0.5
    with pytest.raises(ConfigError, match="hard_neg_ratio"):
        sampler.set_hard_ratio(1.5)


def test_prepare_negatives_sets_the_curriculum_ratio_and_refreshes_from_the_stored_memory():
    from tgnrank.train.epochs import RunState as _RunState, prepare_negatives as _prepare_negatives

    class RecordingSampler:
        def __init__(self):
            self.ratios, self.vectors = [], []
            self.similarity = type("S", (), {"topk": 3})()

        def set_hard_ratio(self, ratio):
            self.ratios.append(ratio)

        def refresh_similarity(self, vectors):
            self.vectors.append(vectors)
            return 0.25

    config = TrainConfig(use_hard_negatives=True, use_memory=True, hard_neg_ratio=0.8, hard_neg_curriculum="linear",
                         curriculum_epochs=4, hard_neg_similarity="memory")
    sampler, state = RecordingSampler(), _RunState()
    assert _prepare_negatives(sampler, config, 0, state) == (pytest.approx(0.2), None)
    memory = np.ones((5, 2), dtype=np.float32)
    state.investor_memory = memory
    assert _prepare_negatives(sampler, config, 1, state) == (pytest.approx(0.4), 0.25)
    assert sampler.ratios == pytest.approx([0.2, 0.4]) and sampler.vectors == [memory]
    assert state.investor_memory is None
    plain, plain_sampler = TrainConfig(use_hard_negatives=True, hard_neg_ratio=0.8), RecordingSampler()
    assert _prepare_negatives(plain_sampler, plain, 3, _RunState()) == (0.8, None)
    assert plain_sampler.ratios == []  # without a curriculum the sampler is left exactly as built


# --- multi-hop negatives -------------------------------------------------------------------------------

# Companies 1-4, investors 5-9. c1: {5, 6}; c2: {5, 7}; c3: {6, 7, 8}; c4: {9}.
# Paths c - i - c' - j to investors j not linked to c, by hand:
#   c1: 5-c2-7, 6-c3-7, 6-c3-8        -> {7: 2, 8: 1}
#   c2: 5-c1-6, 7-c3-6, 7-c3-8        -> {6: 2, 8: 1}
#   c3: 6-c1-5, 7-c2-5                -> {5: 2}
#   c4: 9 invests only in c4          -> none
HOP_SOURCES = np.array([1, 1, 2, 2, 3, 3, 3, 4, 1])  # the last pair repeats c1 -> 5 (a follow-on round)
HOP_DESTINATIONS = np.array([5, 6, 5, 7, 6, 7, 8, 9, 5])
HOP_EXPECTED = {1: {7: 2, 8: 1}, 2: {6: 2, 8: 1}, 3: {5: 2}, 4: {}}
HOP_FEATURES = np.random.default_rng(0).normal(size=(10, 3)).astype(np.float32)


def hop_train():
    n = len(HOP_SOURCES)
    return Interactions(HOP_SOURCES, HOP_DESTINATIONS, np.arange(n, dtype=np.float64), np.arange(1, n + 1),
                        np.zeros(n, dtype=np.int64))


def as_dict(candidates, pool, company):
    positions, counts = candidates.candidates_of(company)
    return dict(zip(pool[positions].tolist(), counts.tolist()))


@pytest.mark.parametrize("block_walks", [1, 5, 2**24])
def test_multihop_candidates_are_the_distance_three_investors_with_their_path_counts(block_walks):
    pool = np.unique(HOP_DESTINATIONS)
    candidates = MultihopCandidates.compute(HOP_SOURCES, HOP_DESTINATIONS, pool, 10, topk=10,
                                            block_walks=block_walks)
    for company, expected in HOP_EXPECTED.items():
        assert as_dict(candidates, pool, company) == expected
    # most paths first
    assert pool[candidates.candidates_of(1)[0]].tolist() == [7, 8]


def test_multihop_topk_keeps_the_candidates_with_most_paths():
    pool = np.unique(HOP_DESTINATIONS)
    candidates = MultihopCandidates.compute(HOP_SOURCES, HOP_DESTINATIONS, pool, 10, topk=1)
    assert [as_dict(candidates, pool, company) for company in (1, 2, 3, 4)] == [{7: 2}, {6: 2}, {5: 2}, {}]


def test_multihop_candidates_match_a_dense_matrix_product_on_a_random_graph():
    rng = np.random.default_rng(3)
    sources = rng.integers(1, 41, size=150)
    destinations = rng.integers(41, 71, size=150)
    pool = np.unique(destinations)
    candidates = MultihopCandidates.compute(sources, destinations, pool, 71, topk=1000, block_walks=200)
    adjacency = np.zeros((71, len(pool)), dtype=np.int64)
    adjacency[sources, np.searchsorted(pool, destinations)] = 1
    paths = adjacency @ adjacency.T @ adjacency
    paths[adjacency > 0] = 0
    for company in range(71):
        positions, counts = candidates.candidates_of(company)
        assert dict(zip(positions.tolist(), counts.tolist())) == {
            int(j): int(paths[company, j]) for j in np.flatnonzero(paths[company])}
        assert (np.diff(counts) <= 0).all()


def test_row_order_is_by_row_then_most_paths_with_or_without_the_packed_key():
    from tgnrank.sampling.multihop import _row_count_order

    rows = np.array([2, 0, 2, 0, 1, 2])
    counts = np.array([1, 3, 5, 3, 4, 2])
    for scale in (1, 2**45):  # the second does not fit one int64 key and takes the lexsort
        order = _row_count_order(rows, counts * scale, np.random.default_rng(0))
        assert rows[order].tolist() == [0, 0, 1, 2, 2, 2]
        assert (counts[order]).tolist() == [3, 3, 4, 5, 2, 1]
    # ties are broken at random, not by position
    tied = [tuple(_row_count_order(np.zeros(4, dtype=np.int64), np.ones(4, dtype=np.int64),
                                   np.random.default_rng(seed))) for seed in range(20)]
    assert len(set(tied)) > 1


def test_multihop_draws_only_distance_three_investors_weighted_by_path_count():
    sampler = create_negative_sampler(False, 0.5, 0.1, 5, HOP_FEATURES, hop_train(), seed=0, multihop_neg_ratio=1.0)
    assert isinstance(sampler, BatchedHardNegativeSampler) and sampler.similarity.topk == 0
    n = 6000
    drawn = sampler.sample(np.full(n, 1), np.full(n, 5))
    assert set(np.unique(drawn).tolist()) == {7, 8}
    # c1 reaches 7 by two paths and 8 by one: P(7) = 2/3
    assert abs(np.mean(drawn == 7) - 2 / 3) <= 4 * math.sqrt(2 / 9 / n)
    assert set(np.unique(sampler.sample(np.full(200, 3), np.full(200, 6))).tolist()) == {5}
    stats = sampler.stats()
    assert stats["share_multihop"] == 1.0 and stats["n_multihop_fallback"] == 0 and stats["share_hard"] == 0.0


def test_company_without_multihop_candidates_falls_back_to_random_and_is_counted():
    sampler = create_negative_sampler(False, 0.5, 0.1, 5, HOP_FEATURES, hop_train(), seed=0, multihop_neg_ratio=1.0)
    drawn = sampler.sample(np.array([4] * 50 + [1] * 30), np.array([9] * 50 + [5] * 30))
    stats = sampler.stats()
    assert stats["n_multihop_fallback"] == 50 and stats["share_multihop"] == pytest.approx(30 / 80)
    # the fallback is random over the investors never linked to c4 (never 9, its own investor)
    assert set(np.unique(drawn[:50]).tolist()) <= {5, 6, 7, 8} and len(np.unique(drawn[:50])) > 1


def test_hard_and_multihop_shares_compose_and_never_exceed_the_negatives():
    features = HOP_FEATURES
    sampler = create_negative_sampler(True, 0.5, 0.1, 2, features, hop_train(), seed=1, multihop_neg_ratio=0.5)
    negatives = sampler.sample(np.full(400, 1), np.full(400, 5), n_neg=2)
    stats = sampler.stats()
    assert stats["requested_share_hard"] == 0.5 and stats["requested_share_multihop"] == 0.5
    assert np.isin(negatives[:, 1], [7, 8]).all()  # the second column is the multi-hop one
    sampler.reset_stats()
    n = 4000
    sampler.sample(np.full(n, 2), np.full(n, 7))
    stats = sampler.stats()
    # one negative per positive: exactly one of hard / multi-hop, each about half of the time
    assert stats["requested_share_hard"] + stats["requested_share_multihop"] == 1.0
    assert abs(stats["requested_share_hard"] - 0.5) <= 4 * math.sqrt(0.25 / n)


def test_multihop_share_with_random_rest_and_no_multihop_keys_without_it():
    sampler = create_negative_sampler(True, 0.2, 0.1, 2, HOP_FEATURES, hop_train(), seed=2, multihop_neg_ratio=0.3)
    n = 10000
    sampler.sample(np.full(n, 1), np.full(n, 6))
    stats = sampler.stats()
    assert abs(stats["share_multihop"] - 0.3) <= 4 * math.sqrt(0.21 / n)
    assert abs(stats["requested_share_hard"] - 0.2) <= 4 * math.sqrt(0.16 / n)
    plain = create_negative_sampler(True, 0.2, 0.1, 2, HOP_FEATURES, hop_train(), seed=2)
    assert plain.multihop is None and "share_multihop" not in plain.stats()


def test_without_multihop_the_hard_sampler_draws_exactly_as_before():
    features, sources, destinations = five_investor_graph()
    batch = (np.array([1, 2, 1, 2, 1]), np.array([3, 4, 6, 5, 3]))
    for ratio in (0.0, 0.3, 1.0):
        default = BatchedHardNegativeSampler(features, sources, destinations, hard_neg_ratio=ratio, seed=4,
                                             hard_neg_topk=2)
        explicit = BatchedHardNegativeSampler(features, sources, destinations, hard_neg_ratio=ratio, seed=4,
                                              hard_neg_topk=2, multihop_neg_ratio=0.0)
        for n_neg in (1, 3):
            assert np.array_equal(default.sample(*batch, n_neg=n_neg), explicit.sample(*batch, n_neg=n_neg))


# --- memory (temporal) similarity ----------------------------------------------------------------------

def test_refresh_similarity_from_memory_changes_the_top_k_and_the_draws():
    features, sources, destinations = five_investor_graph()
    sampler = BatchedHardNegativeSampler(features, sources, destinations, hard_neg_ratio=1.0,
                                         hard_neg_temperature=0.01, hard_neg_topk=1, seed=0)
    pool = sampler.pool
    row = sampler.similarity.rows_of(np.array([3]))[0]
    assert pool[sampler.similarity.neighbor_positions[row, 0]] == 4  # by raw features
    assert set(sampler.sample(np.full(50, 1), np.full(50, 3)).tolist()) == {4}
    # hand-built memory: investor 3 now resembles 5 and is orthogonal to 4
    memory = np.zeros((8, 3), dtype=np.float32)
    memory[3:8] = [[1, 0, 0], [0, 1, 0], [0.9, 0, 0.1], [0, 0, 1], [0, 1, 1]]
    seconds = sampler.refresh_similarity(memory)
    assert seconds >= 0
    row = sampler.similarity.rows_of(np.array([3]))[0]
    assert pool[sampler.similarity.neighbor_positions[row, 0]] == 5
    assert sampler.similarity.neighbor_similarities[row, 0] == pytest.approx(0.9 / math.sqrt(0.82), abs=1e-6)
    assert set(sampler.sample(np.full(50, 1), np.full(50, 3)).tolist()) == {5}
    with pytest.raises(ValueError, match="rows"):
        sampler.refresh_similarity(memory[:5])


# --- validation ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "settings, message",
    [
        ({"hard_neg_curriculum": "cosine", "use_hard_negatives": True},
         "hard_neg_curriculum must be one of none, linear"),
        ({"hard_neg_curriculum": "linear"}, "hard_neg_curriculum linear .* needs use_hard_negatives"),
        ({"curriculum_epochs": 0}, "curriculum_epochs must be an integer >= 1"),
        ({"multihop_neg_ratio": -0.1}, r"multihop_neg_ratio must be a finite number in \[0.0, 1.0\]"),
        ({"multihop_neg_ratio": 1.5}, "multihop_neg_ratio"),
        ({"multihop_topk": 0}, "multihop_topk must be an integer >= 1"),
        ({"use_hard_negatives": True, "hard_neg_ratio": 0.7, "multihop_neg_ratio": 0.4},
         r"hard_neg_ratio \+ multihop_neg_ratio must be <= 1"),
        ({"hard_neg_similarity": "embedding"}, "hard_neg_similarity must be one of features, memory"),
        ({"hard_neg_similarity": "memory", "use_hard_negatives": True}, "hard_neg_similarity memory .*use_memory"),
        ({"hard_neg_similarity": "memory", "use_memory": True}, "hard_neg_similarity memory .*use_hard_negatives"),
    ],
)
def test_invalid_strategy_settings_name_the_flag(settings, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**settings)


def test_valid_combinations_and_defaults():
    TrainConfig(use_hard_negatives=True, hard_neg_ratio=0.3, multihop_neg_ratio=0.7)
    TrainConfig(hard_neg_ratio=0.9, multihop_neg_ratio=0.5)  # the hard ratio is unused without hard negatives
    config = TrainConfig()
    assert (config.hard_neg_curriculum, config.curriculum_epochs, config.multihop_neg_ratio,
            config.hard_neg_similarity) == ("none", 10, 0.0, "features")
    assert config.multihop_topk == DEFAULT_MULTIHOP_TOPK


def test_sampler_validation_names_the_flags():
    features, sources, destinations = five_investor_graph()
    with pytest.raises(ConfigError, match=r"hard_neg_ratio \+ multihop_neg_ratio"):
        BatchedHardNegativeSampler(features, sources, destinations, hard_neg_ratio=0.6, multihop_neg_ratio=0.6)
    with pytest.raises(ConfigError, match="multihop_topk"):
        BatchedHardNegativeSampler(features, sources, destinations, multihop_neg_ratio=0.1, multihop_topk=0)
    sampler = BatchedHardNegativeSampler(features, sources, destinations, hard_neg_ratio=0.2, multihop_neg_ratio=0.5)
    with pytest.raises(ConfigError, match=r"hard_neg_ratio \+ multihop_neg_ratio"):
        sampler.set_hard_ratio(0.6)


# --- end to end through the command line ---------------------------------------------------------------

SMALL_MODEL = ["--memory_dim", "16", "--node_dim", "16", "--time_dim", "8", "--message_dim", "16", "--n_degree", "3"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    from tgnrank.data import save_dataset
    from tgnrank.data.synthetic import generate_synthetic

    root = tmp_path_factory.mktemp("strategies")
    save_dataset(generate_synthetic(n_companies=300, n_investors=120, seed=2, name="tiny"), root / "data")
    return root


def train(workdir, monkeypatch, prefix, *flags):
    from tgnrank.cli.main import standalone_main

    monkeypatch.chdir(workdir)
    argv = ["--data", "tiny", "--data_dir", "data", "--n_epoch", "2", "--bs", "100", "--prefix", prefix, *SMALL_MODEL,
            *flags]
    assert standalone_main("tgnrank.cli.train", prog="train_self_supervised.py", argv=argv) == 0
    checkpoint = torch.load(workdir / f"saved_models/{prefix}-tiny.pth", weights_only=True)
    results = json.loads((workdir / f"results/{prefix}-tiny.json").read_text())
    return checkpoint, results["runs"][0]


def test_cli_run_with_curriculum_multihop_and_memory_similarity(workdir, monkeypatch, caplog):
    caplog.set_level("INFO")
    flags = ["--use_memory", "--use_hard_negatives", "--hard_neg_ratio", "0.6", "--hard_neg_topk", "10",
             "--hard_neg_curriculum", "linear", "--curriculum_epochs", "4", "--multihop_neg_ratio", "0.3",
             "--multihop_topk", "20", "--hard_neg_similarity", "memory", "--n_neg", "2"]
    checkpoint, run = train(workdir, monkeypatch, "strategies", *flags)
    config = checkpoint["config"]
    assert {key: config[key] for key in ("hard_neg_curriculum", "curriculum_epochs", "multihop_neg_ratio",
                                         "multihop_topk", "hard_neg_similarity")} == {
        "hard_neg_curriculum": "linear", "curriculum_epochs": 4, "multihop_neg_ratio": 0.3, "multihop_topk": 20,
        "hard_neg_similarity": "memory"}
    # 0.6 * (e + 1) / 4 at epochs 0 and 1
    assert run["hard_neg_ratios"] == pytest.approx([0.15, 0.3])
    assert checkpoint["metrics"]["hard_neg_ratios"] == pytest.approx([0.15, 0.3])
    first, second = run["sampler_stats"]
    # n_neg = 2: hard share 0.15 (0.3), total 0.45 (0.6) => requested multi-hop 0.3 in both epochs
    assert first["requested_share_hard"] == pytest.approx(0.15, abs=0.05)
    assert second["requested_share_hard"] == pytest.approx(0.3, abs=0.05)
    for stats in (first, second):
        assert stats["requested_share_multihop"] == pytest.approx(0.3, abs=0.05)
        assert 0 < stats["share_multihop"] <= stats["requested_share_multihop"]
        assert stats["n_multihop_fallback"] >= 0
    refresh = run["similarity_refresh_seconds"]
    assert refresh[0] is None and refresh[1] > 0
    assert "hard-negative ratio 0.1500" in caplog.text and "recomputed from the memory" in caplog.text


def test_cli_run_with_multihop_negatives_alone(workdir, monkeypatch):
    checkpoint, run = train(workdir, monkeypatch, "multihop", "--multihop_neg_ratio", "0.5", "--n_epoch", "1")
    assert checkpoint["config"]["multihop_neg_ratio"] == 0.5 and checkpoint["config"]["use_hard_negatives"] is False
    stats = run["sampler_stats"][0]
    assert stats["share_hard"] == 0.0 and stats["requested_share_multihop"] == pytest.approx(0.5, abs=0.05)
    assert stats["share_multihop"] + stats["n_multihop_fallback"] / stats["n_negatives"] == pytest.approx(
        stats["requested_share_multihop"])
    assert run["hard_neg_ratios"] == [0.0] and run["similarity_refresh_seconds"] == [None]
