"""Per-epoch validation ranking: hand-computed metrics, company sampling, state restored, nothing of the
window seen; early stopping on a higher-is-better ranking metric keeps the right epoch."""

import math

import numpy as np
import pytest
import torch

from tgnrank.data.events import Interactions
from tgnrank.data.splits import chronological_split
from tgnrank.data.synthetic import generate_synthetic
from tgnrank.errors import ConfigError
from tgnrank.eval.protocol import build_candidates, build_window
from tgnrank.eval.scoring import ModelScorer, rank_candidates
from tgnrank.eval.metrics import ranking_metrics
from tgnrank.model import ModelConfig, build_model
from tgnrank.sampling.neighbors import NeighborFinder
from tgnrank.train.early_stopping import EarlyStopping, early_stop_score, validate_early_stop_metric
from tgnrank.train.ranking_validation import (
    ValidationRanking,
    restrict_to_companies,
    sample_company_rows,
)

# History (day <= 10): 1-3, 2-4, 1-5, 7-6, 7-8. Window (10, 20]: new links 1-4, 2-3, 2-5.
# Candidates: company 1 x {4, 6, 8}, company 2 x {3, 5, 6, 8} (7 has no positive).
HAND = np.array([(1, 3, 1.0), (2, 4, 2.0), (1, 5, 3.0), (7, 6, 4.0), (7, 8, 5.0), (1, 4, 15.0), (2, 3, 16.0), (2, 5, 17.0)])
INVESTOR_SCORES = {3: 0.1, 4: 0.5, 5: 0.9, 6: 0.7, 8: 0.3}


def _events(rows: np.ndarray) -> Interactions:
    n = len(rows)
    return Interactions(rows[:, 0].astype(np.int64), rows[:, 1].astype(np.int64), rows[:, 2], np.arange(1, n + 1), np.zeros(n))


class _Predictor(torch.nn.Module):
    """score = p * q on one-dimensional projections (no fc2, so the torch scoring path)."""

    def project_sources(self, embeddings):
        return embeddings

    def project_destinations(self, embeddings):
        return embeddings

    def score_projected(self, sources, destinations):
        return (sources * destinations).sum(-1)


class ScriptedModel(torch.nn.Module):
    """Company embeddings 1, investor embeddings ``scores`` (default INVESTOR_SCORES); scoring writes
    into its memory."""

    def __init__(self, scores=None):
        super().__init__()
        self.scores = INVESTOR_SCORES if scores is None else scores
        self.link_predictor = _Predictor()
        self.memory = torch.zeros(10)
        self.neighbor_finder = "training finder"
        self.seen_finders = []

    def compute_node_embeddings(self, nodes, timestamps, n_neighbors):
        self.seen_finders.append(self.neighbor_finder)
        self.memory += 1.0  # as if pending messages were applied
        return torch.tensor([[self.scores.get(int(node), 1.0)] for node in nodes])

    def backup_memory(self):
        return self.memory.clone()

    def restore_memory(self, backup):
        self.memory = backup.clone()

    def set_neighbor_finder(self, finder):
        self.neighbor_finder = finder


def test_metrics_of_a_hand_built_window():
    # Company 1: 4 (0.5) vs 6 (0.7), 8 (0.3) -> rank 2. Company 2 (filtered): 3 (0.1) among 3, 6, 8 -> rank 3;
    # 5 (0.9) among 5, 6, 8 -> rank 1. MRR = (1/2 + 1/3 + 1) / 3 = 11/18. Global ranks of the positives
    # among the 7 candidates (0.9, 0.7, 0.7, 0.5, 0.3, 0.3, 0.1): 1, 4, 7 -> median 4.
    candidates = build_candidates(_events(HAND), 10.0, 20.0, window="val")
    model = ScriptedModel()
    model.train()
    result = ValidationRanking(candidates, n_companies=0).rank(model, n_neighbors=5, neighbor_finder="full finder")
    assert result["mrr"] == pytest.approx(11 / 18)
    assert result["median_rank"] == 4 and result["median_rank_pct"] == pytest.approx(100 * 4 / 7)
    assert result["recall@1000"] == 1.0 and result["precision@1000"] == pytest.approx(3 / 7)
    assert result["recall@100"] == 1.0 and result["n_candidates"] == 7 and result["n_positives"] == 3
    assert (result["n_companies_ranked"], result["n_companies_total"], result["sampled"]) == (2, 2, False)
    # the ranking used the given finder; the memory, the mode and the finder are back as they were
    assert set(model.seen_finders) == {"full finder"}
    assert model.neighbor_finder == "training finder" and model.training
    assert torch.equal(model.memory, torch.zeros(10))


def test_a_sampled_company_is_ranked_alone_and_the_result_says_how_many_of_how_many():
    candidates = build_candidates(_events(HAND), 10.0, 20.0, window="val")
    expected_mrr = {1: 1 / 2, 2: (1 / 3 + 1) / 2}
    for seed in range(4):
        ranking = ValidationRanking(candidates, n_companies=1, seed=seed)
        result = ranking.rank(ScriptedModel(), n_neighbors=5)
        company = int(ranking.candidates.companies[0])
        assert result["mrr"] == pytest.approx(expected_mrr[company])
        assert (result["n_companies_ranked"], result["n_companies_total"], result["sampled"]) == (1, 2, True)
        assert result["n_positives_total"] == 3 and result["sample_seed"] == seed
        assert "1 of 2 candidate companies" in ranking.describe()


def test_restrict_to_companies_keeps_their_links_and_positives():
    candidates = build_candidates(_events(HAND), 10.0, 20.0)
    second = restrict_to_companies(candidates, np.array([1]))
    assert second.companies.tolist() == [2] and second.investors.tolist() == candidates.investors.tolist()
    assert second.positive_rows.tolist() == [0, 0]
    assert second.positive_investors.tolist() == [3, 5]
    assert second.n_candidates == 4  # 3, 5, 6, 8 (4 is linked in the history)
    assert second.block_mask(0, 1).tolist() == [[True, False, True, True, True]]


def test_company_sample_is_seeded_sorted_and_zero_means_all():
    first = sample_company_rows(1000, 50, seed=3)
    assert np.array_equal(first, sample_company_rows(1000, 50, seed=3))
    assert not np.array_equal(first, sample_company_rows(1000, 50, seed=4))
    assert len(np.unique(first)) == 50 and np.all(np.diff(first) > 0)
    assert sample_company_rows(40, 0, seed=0).tolist() == list(range(40))
    assert sample_company_rows(40, 500, seed=0).tolist() == list(range(40))
    for bad in (-1, 2.5, True):
        with pytest.raises(ConfigError, match="^val_rank_companies must be"):
            sample_company_rows(40, bad, seed=0)


@pytest.fixture(scope="module")
def trained_like():
    """A small TGN whose memory has consumed the training events, the split and the full-data finder."""
    data = generate_synthetic(n_companies=600, n_investors=200, seed=1)
    split = chronological_split(data.events)
    torch.manual_seed(0)
    config = ModelConfig(memory_dim=8, time_dim=4, node_dim=8, message_dim=8)
    train_finder = NeighborFinder.from_interactions(split.train, data.n_nodes)
    model = build_model(config, data.node_features, data.edge_features, train_finder, "cpu")
    model.eval()
    train = split.train
    with torch.no_grad():
        for start in range(0, len(train), 200):
            batch = slice(start, start + 200)
            model.process_events(train.sources[batch], train.destinations[batch], train.timestamps[batch],
                                 train.edge_idxs[batch], 5)
    return data, split, model


def _memory(model) -> dict:
    return {name: tensor.clone() for name, tensor in model.memory_state_dict().items()}


def test_tgn_memory_is_restored_and_the_validation_window_is_never_seen(trained_like):
    data, split, model = trained_like
    full_finder = NeighborFinder.from_interactions(split.full, data.n_nodes)
    ranking = ValidationRanking.from_events(data.events, n_companies=15, seed=0)
    before = _memory(model)
    first = ranking.rank(model, n_neighbors=5, neighbor_finder=full_finder)
    after = _memory(model)
    assert before.keys() == after.keys() and all(torch.equal(before[key], after[key]) for key in before)
    assert model.neighbor_finder is not full_finder
    # Corrupt the window and everything after it in the finder: the ranking does not move.
    future = data.events.timestamps > ranking.full.t_start
    rng = np.random.default_rng(0)
    corrupted = Interactions(
        data.events.sources, np.where(future, rng.permutation(data.events.destinations), data.events.destinations),
        data.events.timestamps, data.events.edge_idxs, data.events.labels,
    )
    corrupted_finder = NeighborFinder.from_interactions(corrupted, data.n_nodes)
    again = ranking.rank(model, n_neighbors=5, neighbor_finder=corrupted_finder)
    for key in ("mrr", "recall@1000", "precision@1000", "median_rank_pct"):
        assert again[key] == first[key]
    assert first["n_companies_ranked"] == 15 and first["n_companies_total"] == ranking.full.n_companies > 15


def test_sampled_ranking_equals_ranking_the_restricted_window_directly(trained_like):
    data, split, model = trained_like
    full = build_window(data.events, "val")
    ranking = ValidationRanking(full, n_companies=12, seed=5)
    result = ranking.rank(model, n_neighbors=5)
    subset = restrict_to_companies(full, sample_company_rows(full.n_companies, 12, seed=5))
    direct = ranking_metrics(rank_candidates(subset, ModelScorer.from_model(model, subset, 5)).ranks)
    assert {key: result[key] for key in direct} == pytest.approx(direct)


# --- early stopping on a ranking metric -------------------------------------------------------------


def test_early_stopping_on_mrr_keeps_the_best_epoch_while_ap_falls():
    # The failure: AP falls after epoch 0 while the ranking improves until epoch 3.
    val_aps = [0.83, 0.81, 0.75, 0.73, 0.67, 0.69]
    rankings = [{"mrr": m, "recall@1000": r} for m, r in
                [(0.010, 0.002), (0.015, 0.004), (0.018, 0.003), (0.021, 0.006), (0.020, 0.005), (0.019, 0.004)]]
    expected_best = {"ap": 0, "mrr": 3, "recall@1000": 3}
    for metric, best in expected_best.items():
        stopper = EarlyStopping(patience=2)
        stops = [stopper.step(early_stop_score(metric, ap, ranking)) for ap, ranking in zip(val_aps, rankings)]
        assert stopper.best_epoch == best, metric
        assert stopper.best_score == (val_aps[best] if metric == "ap" else rankings[best][metric])
    assert stops == [False, False, False, False, False, True]


def test_early_stop_score_without_a_ranking_never_improves_and_bad_names_fail():
    assert math.isnan(early_stop_score("mrr", 0.9, None))
    assert early_stop_score("ap", 0.9, None) == 0.9
    stopper = EarlyStopping(patience=3)
    for score in (early_stop_score("mrr", 0.9, {"mrr": 0.2}), early_stop_score("mrr", 0.95, None)):
        stopper.step(score)
    assert stopper.best_epoch == 0
    with pytest.raises(ConfigError, match="^early_stop_metric must be one of mrr, recall@1000, ap"):
        validate_early_stop_metric("auc")


def test_early_stopping_on_the_ranking_of_a_tiny_dataset_keeps_the_epoch_with_the_best_mrr():
    # Four "epochs" score the hand-built window's investors differently. MRR by hand:
    # epoch 0: 11/18 (see above); epoch 1: every positive first -> 1; epoch 2: every positive last of
    # three -> 1/3; epoch 3: as epoch 0. Patience 2 stops after epoch 3 and keeps epoch 1.
    candidates = build_candidates(_events(HAND), 10.0, 20.0, window="val")
    epochs = [INVESTOR_SCORES, {3: 0.8, 4: 0.9, 5: 0.95, 6: 0.1, 8: 0.2},
              {3: 0.05, 4: 0.1, 5: 0.2, 6: 0.9, 8: 0.8}, INVESTOR_SCORES, {3: 1.0, 4: 1.0, 5: 1.0, 6: 0.0, 8: 0.0}]
    ranking = ValidationRanking(candidates, n_companies=0)
    stopper, mrrs = EarlyStopping(patience=2), []
    for scores in epochs:
        mrrs.append(ranking.rank(ScriptedModel(scores), n_neighbors=5)["mrr"])
        if stopper.step(early_stop_score("mrr", math.nan, {"mrr": mrrs[-1]})):
            break
    assert mrrs == pytest.approx([11 / 18, 1.0, 1 / 3, 11 / 18])
    assert stopper.best_epoch == 1 and stopper.best_score == pytest.approx(1.0)
