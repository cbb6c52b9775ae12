"""Temporal walk encodings: exact counts, the random-projection bound, decay, causality, state, scoring."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tgnrank.errors import ConfigError
from tgnrank.model import TGN, ModelConfig
from tgnrank.model.link_predictor import PairwiseLinkPredictor
from tgnrank.model.pairwise_scoring import TILE_COLS, TILE_ROWS, PairwiseBlockScorer
from tgnrank.model.pairwise_tgn import PairwiseTGN
from tgnrank.model.walks import (
    MAX_WALK_LENGTH,
    N_PAIR_FEATURES,
    PAIR_TERMS,
    TemporalWalks,
    WalkConfig,
    pair_feature_block,
    signed_log1p,
)
from tgnrank.sampling.neighbors import NeighborFinder

N_COMPANIES, N_INVESTORS = 8, 6
N_ROWS = N_COMPANIES + N_INVESTORS + 1


def random_batches(seed: int = 0, n_events: int = 60, batch: int = 7):
    """Company -> investor events on few distinct days (ties within and across batches), in batches."""
    rng = np.random.default_rng(seed)
    sources = rng.integers(1, N_COMPANIES + 1, size=n_events)
    destinations = rng.integers(N_COMPANIES + 1, N_ROWS, size=n_events)
    times = np.sort(rng.integers(0, 40, size=n_events)).astype(np.float64)
    return [
        (sources[start : start + batch], destinations[start : start + batch], times[start : start + batch])
        for start in range(0, n_events, batch)
    ]


def exact_walks(batches, read_time: float, half_life: float, n_rows: int = N_ROWS) -> list[np.ndarray]:
    """W_0..W_3 at ``read_time``: W_k += E_b W_{k-1} per batch (old W_{k-1}), E_b the batch's decayed adjacency."""
    walks = [np.eye(n_rows)] + [np.zeros((n_rows, n_rows)) for _ in range(MAX_WALK_LENGTH)]
    for sources, destinations, times in batches:
        adjacency = np.zeros((n_rows, n_rows))
        weights = 0.5 ** ((read_time - times) / half_life)
        np.add.at(adjacency, (sources, destinations), weights)
        np.add.at(adjacency, (destinations, sources), weights)
        for length in range(MAX_WALK_LENGTH, 0, -1):
            walks[length] = walks[length] + adjacency @ walks[length - 1]
    return walks


def fed_walks(batches, config: WalkConfig, identity: bool = False, n_rows: int = N_ROWS) -> TemporalWalks:
    walks = TemporalWalks(n_rows, config)
    if identity:  # P = I: every vector is its exact row of W_k
        walks.base = torch.eye(n_rows, config.walk_dim)
    for sources, destinations, times in batches:
        walks.update(sources, destinations, times)
    return walks


def test_hand_computed_walks_respect_batch_order_and_decay():
    company_1, company_2, investor_1, investor_2 = 1, 2, 9, 10
    batches = [
        (np.array([company_1]), np.array([investor_1]), np.array([0.0])),
        (np.array([company_2]), np.array([investor_1]), np.array([10.0])),
        (np.array([company_2]), np.array([investor_2]), np.array([20.0])),
    ]
    walks = fed_walks(batches, WalkConfig(walk_dim=N_ROWS, decay_days=10.0), identity=True)
    vectors = walks.node_vectors(np.arange(N_ROWS), 30.0).double().numpy()
    assert vectors[1, company_1, investor_1] == pytest.approx(0.5**3)
    # i2 -(t=20)- c2 -(t=10)- i1 -(t=0)- c1 goes back in time from i2 only.
    assert vectors[3, investor_2, company_1] == pytest.approx(0.5 * 0.5**2 * 0.5**3)
    assert vectors[3, company_1, investor_2] == 0
    # Events of one batch never chain: one batch of three events leaves no walk of length 2.
    one_batch = [(np.array([1, 2, 2]), np.array([9, 9, 10]), np.array([5.0, 5.0, 5.0]))]
    single = fed_walks(one_batch, WalkConfig(walk_dim=N_ROWS, decay_days=10.0), identity=True)
    assert torch.count_nonzero(single.walks[1]) == 0 and torch.count_nonzero(single.walks[0]) == 6


def test_propagation_with_identity_projection_equals_exact_walk_matrices():
    batches = random_batches()
    read_time = 45.0
    walks = fed_walks(batches, WalkConfig(walk_dim=N_ROWS, decay_days=15.0), identity=True)
    vectors = walks.node_vectors(np.arange(N_ROWS), read_time).double().numpy()
    exact = exact_walks(batches, read_time, 15.0)
    for length in range(1, MAX_WALK_LENGTH + 1):
        np.testing.assert_allclose(vectors[length], exact[length], rtol=1e-5, atol=1e-6)
    assert exact[3].max() > 1  # the graph has many length-3 walks, so this checks something


def test_random_projection_encodings_are_within_the_dimension_bound():
    batches = random_batches(seed=1)
    read_time, dim = 45.0, 4096
    walks = fed_walks(batches, WalkConfig(walk_dim=dim, decay_days=15.0, seed=3))
    exact = exact_walks(batches, read_time, 15.0)
    companies, investors = np.arange(1, N_COMPANIES + 1), np.arange(N_COMPANIES + 1, N_ROWS)
    rows, cols = np.repeat(companies, len(investors)), np.tile(investors, len(companies))
    estimates = walks.pair_features(rows, cols, read_time).double().numpy()
    for term, (a, b) in enumerate(PAIR_TERMS):
        left, right = exact[a][rows], exact[b][cols]
        truth = (left * right).sum(1)
        # Gaussian projections: Var = (|W_a[c]|^2 |W_b[i]|^2 + truth^2) / d.
        std = np.sqrt(((left**2).sum(1) * (right**2).sum(1) + truth**2) / dim)
        assert np.all(np.abs(estimates[:, term] - truth) <= 5 * std + 1e-6), (a, b)
        assert np.linalg.norm(estimates[:, term] - truth) < 0.1 * np.linalg.norm(truth), (a, b)


def test_decay_is_exact_and_finite_over_twenty_years():
    batches = [
        (np.array([1]), np.array([9]), np.array([0.0])),
        (np.array([2]), np.array([9]), np.array([7000.0])),
        (np.array([1]), np.array([10]), np.array([7300.0])),
    ]
    walks = fed_walks(batches, WalkConfig(walk_dim=N_ROWS, decay_days=30.0), identity=True)
    vectors = walks.node_vectors(np.arange(N_ROWS), 7305.0).double().numpy()
    exact = exact_walks(batches, 7305.0, 30.0)
    assert np.all(np.isfinite(vectors))
    for length in range(1, MAX_WALK_LENGTH + 1):
        np.testing.assert_allclose(vectors[length], exact[length], rtol=1e-5, atol=1e-30)
    assert vectors[1, 2, 9] == pytest.approx(0.5 ** (305 / 30), rel=1e-6)


def test_reading_before_a_nodes_last_update_fails():
    walks = fed_walks([(np.array([1]), np.array([9]), np.array([10.0]))], WalkConfig(walk_dim=4))
    with pytest.raises(ValueError, match="chronological"):
        walks.node_vectors(np.array([1]), 9.0)
    walks.node_vectors(np.array([2]), 9.0)  # a node no batch touched has nothing to go back on


@pytest.mark.parametrize(
    "options, name",
    [(dict(walk_dim=0), "walk_dim"), (dict(walk_dim=2.5), "walk_dim"), (dict(decay_days=0), "walk_decay_days"),
     (dict(decay_days=float("inf")), "walk_decay_days")],
)
def test_invalid_walk_settings_name_their_setting(options, name):
    with pytest.raises(ConfigError, match=f"^{name} must be") as raised:
        WalkConfig(**options)
    assert raised.value.parameters == (name,)


def test_walk_defaults_are_the_declared_model_settings():
    settings = ModelConfig()
    assert (WalkConfig().walk_dim, WalkConfig().decay_days) == (settings.walk_dim, settings.walk_decay_days)


# ----------------------------------------------------------------- the model


class Graph:
    """90 company -> investor events on few distinct days, node and edge features, negatives."""

    def __init__(self, seed: int = 0, n_events: int = 90):
        rng = np.random.default_rng(seed)
        self.sources = rng.integers(1, N_COMPANIES + 1, size=n_events)
        self.destinations = rng.integers(N_COMPANIES + 1, N_ROWS, size=n_events)
        self.times = np.sort(rng.integers(0, 30, size=n_events)).astype(np.float64)
        self.edge_idxs = np.arange(1, n_events + 1)
        self.negatives = rng.integers(N_COMPANIES + 1, N_ROWS, size=n_events)
        self.node_features = rng.normal(size=(N_ROWS, 5)).astype(np.float32)
        self.edge_features = rng.normal(size=(n_events + 1, 3)).astype(np.float32)

    def finder(self) -> NeighborFinder:
        from tgnrank.data.events import Interactions

        events = Interactions(self.sources, self.destinations, self.times, self.edge_idxs, np.zeros(len(self.times)))
        return NeighborFinder.from_interactions(events, N_ROWS - 1, uniform=False, seed=0)

    def model(self, cls=PairwiseTGN, seed: int = 0, **options) -> TGN:
        torch.manual_seed(seed)
        config = ModelConfig(use_memory=True, memory_dim=8, time_dim=4, node_dim=6, message_dim=5)
        extra = {"walks": WalkConfig(walk_dim=16, decay_days=10.0)} if cls is PairwiseTGN else {}
        model = cls(config, self.node_features, self.edge_features, self.finder(), "cpu", **extra, **options)
        return model.eval()

    def logits(self, model: TGN, batch: slice):
        with torch.no_grad():
            positive, negative = model.compute_edge_logits(
                self.sources[batch], self.destinations[batch], self.negatives[batch], self.times[batch],
                self.edge_idxs[batch], 3,
            )
        return torch.cat([positive, negative])


BATCHES = [slice(start, start + 15) for start in range(0, 90, 15)]


@pytest.mark.parametrize("path_counts", [False, True])
def test_future_events_change_no_logit_of_earlier_pairs(path_counts):
    graph, corrupted = Graph(), Graph()
    cut = BATCHES[3].start
    corrupted.destinations[cut:] = corrupted.destinations[cut:][::-1]
    model, other = graph.model(path_counts=path_counts), corrupted.model(path_counts=path_counts)
    for batch in BATCHES[:3]:
        torch.testing.assert_close(graph.logits(model, batch), corrupted.logits(other, batch), rtol=0, atol=0)
    # The negatives of the first corrupted batch are read before its own events are fed; those at its
    # first time also see no corrupted neighbour (the neighbour finder looks strictly before).
    n = BATCHES[3].stop - BATCHES[3].start
    first = n + np.flatnonzero(graph.times[BATCHES[3]] == graph.times[cut])
    torch.testing.assert_close(graph.logits(model, BATCHES[3])[first], corrupted.logits(other, BATCHES[3])[first])


def test_events_at_the_same_time_in_one_batch_do_not_see_each_other():
    graph = Graph()
    index, batch = next(
        (index, batch) for index, batch in enumerate(BATCHES[1:], 1)
        if np.count_nonzero(graph.times[batch] == graph.times[batch][-1]) >= 2
    )
    last = batch.stop - 1
    tied = np.flatnonzero(graph.times[batch] == graph.times[last])[:-1] + batch.start
    changed = Graph()
    # Were the batch's events fed before its pairs are read, these would add walks to the last pair.
    changed.destinations[tied] = graph.destinations[last]
    model, other = graph.model(), changed.model()
    for earlier in BATCHES[:index]:
        graph.logits(model, earlier)
        changed.logits(other, earlier)
    encoding = model.walks.pair_features([graph.sources[last]], [graph.destinations[last]], graph.times[last])
    assert encoding.abs().sum() > 0
    n = batch.stop - batch.start
    logits, other_logits = graph.logits(model, batch), changed.logits(other, batch)
    for row in (n - 1, 2 * n - 1):  # the last positive and its negative
        torch.testing.assert_close(logits[row], other_logits[row])


def test_reset_backup_restore_and_checkpoint_state_cover_the_walks():
    graph = Graph()
    model = graph.model()
    for batch in BATCHES[:2]:
        graph.logits(model, batch)
    backup = model.backup_memory()
    saved = {key: value.clone() for key, value in model.memory_state_dict().items()}
    expected = graph.logits(model, BATCHES[2])
    model.restore_memory(backup)
    torch.testing.assert_close(graph.logits(model, BATCHES[2]), expected)
    model.restore_memory(backup)  # the batch since then changed the model's state, not the backup
    torch.testing.assert_close(graph.logits(model, BATCHES[2]), expected)

    restored = graph.model(seed=1)
    restored.load_state_dict(model.state_dict())
    restored.load_memory_state_dict(saved)
    assert {"walks.walks", "walks.reference_time", "memory"} <= set(saved)
    torch.testing.assert_close(graph.logits(restored, BATCHES[2]), expected)

    base = model.walks.base.clone()
    model.reset_memory()
    assert torch.count_nonzero(model.walks.walks) == 0 and torch.equal(model.walks.base, base)
    fresh = graph.model()
    torch.testing.assert_close(graph.logits(model, BATCHES[0]), graph.logits(fresh, BATCHES[0]))


def test_a_backup_reuses_the_tensors_of_a_dropped_one_and_never_those_of_a_live_one():
    graph = Graph()
    model = graph.model()
    graph.logits(model, BATCHES[0])
    first = model.walks.backup()
    first_walks = first.tensors["walks"].clone()
    graph.logits(model, BATCHES[1])
    second = model.walks.backup()
    assert second.tensors["walks"].data_ptr() != first.tensors["walks"].data_ptr()
    torch.testing.assert_close(first.tensors["walks"], first_walks)
    reused = first.tensors["walks"].data_ptr()
    del first
    graph.logits(model, BATCHES[2])
    third = model.walks.backup()
    assert third.tensors["walks"].data_ptr() == reused
    torch.testing.assert_close(third.tensors["walks"], model.walks.walks)
    torch.testing.assert_close(third.tensors["reference_time"], model.walks.reference_time)
    assert not torch.equal(second.tensors["walks"], third.tensors["walks"])


def test_models_without_walks_keep_their_state_dict_and_predictor():
    graph = Graph()
    plain = graph.model(cls=TGN)
    assert not any(key.startswith("walks.") for key in plain.state_dict())
    assert plain.link_predictor.fc1.in_features == 2 * 8
    assert graph.model().link_predictor.fc1.in_features == 2 * 8 + N_PAIR_FEATURES


# ----------------------------------------------------------------- streamed scoring


@pytest.mark.parametrize("walk_dim", [8, 512])
def test_score_block_equals_the_per_pair_forward(walk_dim):
    torch.manual_seed(0)
    dim, n_companies, n_investors = 12, TILE_ROWS + 5, TILE_COLS + 37
    predictor = PairwiseLinkPredictor(dim, N_PAIR_FEATURES)
    companies, investors = torch.randn(n_companies, dim), torch.randn(n_investors, dim)
    company_walks = torch.randn(MAX_WALK_LENGTH + 1, n_companies, walk_dim) * 3
    investor_walks = torch.randn(MAX_WALK_LENGTH + 1, n_investors, walk_dim) * 3
    scorer = PairwiseBlockScorer.from_embeddings(predictor, companies, investors, company_walks, investor_walks, threads=2)
    encodings = pair_feature_block(company_walks, investor_walks)
    assert encodings.shape == (n_companies, n_investors, N_PAIR_FEATURES)
    with torch.no_grad():
        expected = predictor(
            companies[:, None].expand(-1, n_investors, -1).reshape(-1, dim),
            investors[None].expand(n_companies, -1, -1).reshape(-1, dim),
            encodings.reshape(-1, N_PAIR_FEATURES),
        ).reshape(n_companies, n_investors).numpy()
    np.testing.assert_allclose(scorer.score_block(0, n_companies), expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(scorer.score_block(3, 9), expected[3:9], rtol=1e-4, atol=1e-4)
    rows, cols = np.array([0, 4, n_companies - 1]), np.array([n_investors - 1, 2, 0])
    np.testing.assert_allclose(scorer.score_pairs(rows, cols), expected[rows, cols], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("path_counts", [False, True])
def test_block_scores_of_a_model_equal_its_training_logits(path_counts):
    graph = Graph()
    model = graph.model(path_counts=path_counts)
    for batch in BATCHES[:4]:
        graph.logits(model, batch)
    at = float(graph.times[BATCHES[4].start])
    companies, investors = np.arange(1, N_COMPANIES + 1), np.arange(N_COMPANIES + 1, N_ROWS)
    scorer = PairwiseBlockScorer.from_model(model, companies, investors, at, 3)
    rows, cols = np.repeat(np.arange(N_COMPANIES), N_INVESTORS), np.tile(np.arange(N_INVESTORS), N_COMPANIES)
    with torch.no_grad():
        expected, _ = model.compute_edge_logits(
            companies[rows], investors[cols], investors[cols], np.full(len(rows), at), np.ones(len(rows), int), 3
        )
    np.testing.assert_allclose(scorer.score_block(0, N_COMPANIES).reshape(-1), expected.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(scorer.score_pairs(rows, cols), expected.numpy(), rtol=1e-4, atol=1e-4)


def test_signed_log1p_keeps_sign_and_compresses():
    values = torch.tensor([-99.0, -1.0, 0.0, 1.0, 99.0])
    torch.testing.assert_close(signed_log1p(values), torch.tensor([-np.log(100), -np.log(2), 0, np.log(2), np.log(100)], dtype=torch.float32))
