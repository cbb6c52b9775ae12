"""The new settings wired into training, checkpoints and scoring: activity-weighted negatives (alone and
beside hard ones), the per-epoch validation ranking and early stopping on it, the pairwise predictor
through checkpoints and the diagnostic, time-aware node features, and old checkpoints upgraded."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tgnrank.data import save_dataset
from tgnrank.data.synthetic import generate_synthetic
from tgnrank.eval.protocol import build_window
from tgnrank.eval.scoring import ModelScorer, model_scorer_from_checkpoint, rank_candidates
from tgnrank.eval.metrics import ranking_metrics
from tgnrank.model.pairwise_scoring import PairwiseBlockScorer
from tgnrank.model.pairwise_tgn import PairwiseTGN
from tgnrank.model.path_counts import COUNT_FEATURES
from tgnrank.model.walks import N_PAIR_FEATURES
from tgnrank.sampling.activity_negatives import DegreeNegativeSampler, RecentNegativeSampler
from tgnrank.sampling.hard import BatchedHardNegativeSampler
from tgnrank.train import epochs, runs
from tgnrank.train.checkpoint import FORMAT_VERSION, build_model_from_checkpoint, load_checkpoint
from tgnrank.train.config import TrainConfig, upgrade_flat_config
from tgnrank.train.model_setup import build_neighbor_finder, build_training_model
from tgnrank.train.outputs import RunPaths
from tgnrank.train.steps import train_epoch, training_sampler
from tgnrank.train.records import TrainingCallbacks
from tgnrank.train.training_data import load_training_data

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(memory_dim=8, node_dim=8, time_dim=4, message_dim=8, n_degree=3, n_head=2, bs=100, walk_dim=8)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("wiring")
    save_dataset(generate_synthetic(n_companies=200, n_investors=80, seed=3, name="wire"), root / "data")
    return root / "data"


def _config(data_dir, **flags) -> TrainConfig:
    return TrainConfig(data="wire", data_dir=str(data_dir), lr=0.01, **{**TINY, **flags})


def _train(data_dir, tmp_path, prefix, **flags):
    config = _config(data_dir, prefix=prefix, **flags)
    return runs.train_runs(config, torch.device("cpu"), RunPaths(prefix, "wire", root=tmp_path)), config


# ---- negatives -------------------------------------------------------------------------------------------


class RecordingSampler:
    """Wraps a sampler and keeps the timestamps each ``sample`` call received."""

    def __init__(self, sampler):
        self.sampler, self.timestamps = sampler, []

    def sample(self, sources, destinations, n_neg=1, timestamps=None):
        self.timestamps.append(timestamps)
        return self.sampler.sample(sources, destinations, n_neg=n_neg, timestamps=timestamps)


def test_the_loop_passes_each_batchs_timestamps_to_the_sampler(data_dir):
    config = _config(data_dir, neg_sampling="degree", n_neg=2)
    training = load_training_data(config)
    train = training.split.train
    finder = build_neighbor_finder(train, training.data.n_nodes, config)
    model = build_training_model(config, training.data, finder, torch.device("cpu"))
    sampler = RecordingSampler(training_sampler(config, training.data, train, torch.device("cpu")))
    assert isinstance(sampler.sampler, DegreeNegativeSampler) and sampler.sampler.power == 0.75
    optimizer = torch.optim.Adam(model.parameters())
    from tgnrank.train.losses import make_pair_loss

    train_epoch(model, optimizer, make_pair_loss("bce"), train, sampler, config, 0, TrainingCallbacks())
    assert len(sampler.timestamps) == -(-len(train) // config.bs)
    assert np.array_equal(np.concatenate(sampler.timestamps), train.timestamps)


def test_neg_sampling_picks_the_sampler_and_its_settings(data_dir):
    training = load_training_data(_config(data_dir))
    build = lambda **flags: training_sampler(_config(data_dir, **flags), training.data, training.split.train, "cpu")  # noqa: E731
    assert isinstance(build(neg_sampling="recent", neg_recent_days=30.0), RecentNegativeSampler)
    assert build(neg_sampling="recent", neg_recent_days=30.0).recent_days == 30.0
    assert build(neg_sampling="degree", neg_degree_power=0.0).power == 0.0
    hard = build(neg_sampling="recent", use_hard_negatives=True)
    assert isinstance(hard, BatchedHardNegativeSampler) and isinstance(hard.base, RecentNegativeSampler)
    assert build(use_hard_negatives=True).base is None  # uniform: the hard sampler's own random draws


def test_hard_share_is_hard_and_the_rest_follows_neg_sampling(data_dir):
    training = load_training_data(_config(data_dir))
    train = training.split.train
    sampler = training_sampler(_config(data_dir, neg_sampling="degree", use_hard_negatives=True, hard_neg_ratio=0.5),
                               training.data, train, "cpu")
    batch = slice(len(train) // 2, len(train) // 2 + 100)
    negatives = sampler.sample(train.sources[batch], train.destinations[batch], n_neg=4,
                               timestamps=train.timestamps[batch])
    stats = sampler.stats()
    assert stats["share_hard"] == pytest.approx(0.5, abs=0.05) and stats["base_n_negatives"] == 400 - stats["n_hard"]
    # every non-hard slot is a degree draw: an investor active before the batch
    counts = sampler.base.activity.counts_before(train.timestamps[batch].min())
    assert np.all(counts[np.searchsorted(sampler.base.pool, negatives[:, 2:].ravel())] > 0)
    with pytest.raises(ValueError, match="timestamps"):
        sampler.sample(train.sources[batch], train.destinations[batch], n_neg=4)


# ---- per-epoch validation ranking and early stopping -------------------------------------------------------


def test_each_epoch_ranks_validation_without_changing_training_or_ap(data_dir, tmp_path, monkeypatch):
    summary, config = _train(data_dir, tmp_path, "rank", use_memory=True, n_epoch=2, val_rank_companies=8)
    history = summary.runs[0].history
    assert all(np.isfinite([r.val_mrr, r.val_recall_at_1000, r.val_median_rank_pct]).all() for r in history)
    assert all(r.early_stop_score == r.val_mrr for r in history)  # the default metric is mrr
    stored = json.loads(summary.results_path.read_text())["runs"][0]
    assert stored["val_mrrs"] == pytest.approx([r.val_mrr for r in history])
    assert len(stored["val_recalls_at_1000"]) == len(stored["val_median_rank_pcts"]) == 2
    # the ranking runs from the memory at the end of training, with the sampled companies
    training = load_training_data(config)
    ranking = epochs.validation_ranking(config.with_seed(0), training)
    assert ranking.candidates.n_companies == 8 and ranking.sampled

    monkeypatch.setattr(epochs, "rank_validation", lambda parts, config: None)
    unranked, _ = _train(data_dir, tmp_path / "plain", "rank", use_memory=True, n_epoch=2, val_rank_companies=8)
    assert [r.val_ap for r in unranked.runs[0].history] == [r.val_ap for r in history]  # state restored
    assert [r.train_loss for r in unranked.runs[0].history] == [r.train_loss for r in history]


def test_early_stopping_follows_the_ranking_metric(data_dir, tmp_path, monkeypatch):
    rankings = iter([{"mrr": m, "recall@1000": r, "median_rank_pct": 1.0, "seconds": 0.1}
                     for m, r in [(0.1, 0.5), (0.3, 0.2), (0.2, 0.9), (0.25, 0.1)]])
    aps = iter([0.9, 0.5, 0.4, 0.3])
    monkeypatch.setattr(epochs, "rank_validation", lambda parts, config: next(rankings))
    monkeypatch.setattr(epochs, "validate", lambda *args: {"val_ap": next(aps), "val_auc": 0.5, "new_node_val_ap": 0.5,
                                                           "new_node_val_auc": 0.5})
    summary, _ = _train(data_dir, tmp_path, "stop", n_epoch=4, patience=2, early_stop_metric="mrr")
    result = summary.runs[0]
    assert (result.best_epoch, len(result.history)) == (1, 4)  # AP would have kept epoch 0
    assert [r.val_mrr for r in result.history] == [0.1, 0.3, 0.2, 0.25]


# ---- the pairwise predictor --------------------------------------------------------------------------------


@pytest.mark.parametrize("path_counts, path_walks", [(False, True), (True, False), (True, True)])
def test_a_pairwise_checkpoint_round_trips_through_the_diagnostic(data_dir, tmp_path, path_counts, path_walks):
    summary, config = _train(data_dir, tmp_path, "pw", use_memory=True, n_epoch=1, link_predictor="pairwise",
                             walk_decay_days=90.0, path_counts=path_counts, path_walks=path_walks)
    assert np.isfinite(summary.runs[0].history[0].val_mrr)
    path = summary.runs[0].model_path
    checkpoint = load_checkpoint(path)
    assert checkpoint["config"]["link_predictor"] == "pairwise"
    assert {"walks.walks", "walks.reference_time"} <= set(checkpoint["memory_state"])

    out = tmp_path / "out"
    command = [sys.executable, str(ROOT / "temporal_validation_diagnostic.py"), "--data", "wire", "--data_dir",
               str(data_dir), "--model_path", str(path), "--auto_detect_params", "--gpu", "-1", "--baselines",
               "popularity", "--window", "val", "--out", str(out)]
    subprocess.run(command, check=True, capture_output=True, text=True, cwd=tmp_path)
    diagnosed = json.loads((out / f"diagnostic-{path.stem}-val.json").read_text())["scorers"][path.stem]["metrics"]

    training = load_training_data(config)
    candidates = build_window(training.data.events, "val")
    scorer, stored = model_scorer_from_checkpoint(checkpoint, training.data, candidates, "cpu")
    assert isinstance(scorer, PairwiseBlockScorer) and stored.model.walk_decay_days == 90.0
    assert diagnosed == pytest.approx(ranking_metrics(rank_candidates(candidates, scorer).ranks, (100, 1000, 10000)))
    model, _ = build_model_from_checkpoint(checkpoint, training.data, None, "cpu")
    assert isinstance(model, PairwiseTGN) and model.walks.config.decay_days == 90.0
    assert model.path_counts == stored.model.path_counts == path_counts
    assert model.path_walks == (path_counts and path_walks)


def test_a_path_count_checkpoint_from_before_the_walk_probabilities_loads_with_the_counts_alone(data_dir, tmp_path):
    summary, config = _train(data_dir, tmp_path, "counts", use_memory=True, n_epoch=1, link_predictor="pairwise",
                             path_counts=True, path_walks=False)
    checkpoint = load_checkpoint(summary.runs[0].model_path)
    del checkpoint["config"]["path_walks"]  # as the code before the setting wrote it
    training = load_training_data(config)
    model, stored = build_model_from_checkpoint(checkpoint, training.data, None, "cpu")
    assert stored.model.path_counts and not stored.model.path_walks and not model.path_walks
    assert model.link_predictor.n_pair == N_PAIR_FEATURES + len(COUNT_FEATURES)
    assert upgrade_flat_config({"path_counts": False}, FORMAT_VERSION)["path_walks"]  # it changes nothing there


def test_mlp_checkpoints_keep_their_layout(data_dir, tmp_path):
    without_memory, _ = _train(data_dir, tmp_path, "nomem", n_epoch=1)
    assert load_checkpoint(without_memory.runs[0].model_path)["memory_state"] is None
    with_memory, config = _train(data_dir, tmp_path, "mem", use_memory=True, n_epoch=1)
    checkpoint = load_checkpoint(with_memory.runs[0].model_path)
    assert not any(key.startswith("walks.") for key in checkpoint["memory_state"])
    training = load_training_data(config)
    scorer, _ = model_scorer_from_checkpoint(checkpoint, training.data, build_window(training.data.events, "val"), "cpu")
    assert isinstance(scorer, ModelScorer)


def test_a_pairwise_model_without_memory_resets_and_restores_its_walks(data_dir, tmp_path):
    summary, config = _train(data_dir, tmp_path, "pwnm", n_epoch=2, link_predictor="pairwise")
    checkpoint = load_checkpoint(summary.runs[0].model_path)
    # the walks at the end of validation are stored, although there is no node memory
    assert set(checkpoint["memory_state"]) == {"walks.walks", "walks.reference_time"}
    assert torch.count_nonzero(checkpoint["memory_state"]["walks.walks"]) > 0
    history = summary.runs[0].history
    assert history[0].val_ap != history[1].val_ap or history[0].train_loss != history[1].train_loss


# ---- time-aware node features and old checkpoints ----------------------------------------------------------


def test_activity_features_reach_the_model_and_its_checkpoint(data_dir, tmp_path):
    summary, config = _train(data_dir, tmp_path, "act", use_memory=True, n_epoch=1, activity_features=True)
    training = load_training_data(config)
    checkpoint = load_checkpoint(summary.runs[0].model_path)
    model, stored = build_model_from_checkpoint(checkpoint, training.data, None, "cpu")
    assert stored.activity_features and model.activity_features is not None
    static_dim = training.data.node_features.shape[1]
    plain = build_training_model(_config(data_dir, use_memory=True, activity_features=False), training.data, None, "cpu")
    n_inputs = lambda m: sum(p.numel() for p in m.feature_encoder.parameters())  # noqa: E731
    assert n_inputs(model) > n_inputs(plain) and plain.activity_features is None and static_dim > 0


FIXTURE = ROOT / "tests" / "fixtures" / "checkpoint_v1"


def test_the_checkpoint_scorer_upgrades_version_1_checkpoints(tmp_path, monkeypatch):
    shutil.copytree(FIXTURE, tmp_path / "run")
    monkeypatch.chdir(tmp_path / "run")
    checkpoint = load_checkpoint("old-tiny.pth")
    config = TrainConfig.from_dict(checkpoint["config"])
    training = load_training_data(config)
    _, stored = model_scorer_from_checkpoint(checkpoint, training.data, build_window(training.data.events, "val"), "cpu")
    assert stored.early_stop_metric == "ap" != config.early_stop_metric  # upgraded, not today's default


def test_the_progress_bar_shows_the_last_epochs_validation_ranking(data_dir, tmp_path, capsys):
    from tgnrank.cli.train import ProgressBar

    summary, _ = _train(data_dir, tmp_path, "bar", n_epoch=1, val_rank_companies=8)
    record = summary.runs[0].history[0]
    bar = ProgressBar()
    bar.on_epoch_end(record)
    bar.on_epoch_start(1, 10)
    assert f"val MRR {record.val_mrr:.4f}, R@1000 {record.val_recall_at_1000:.4f}" in bar.bar.desc
    bar.close()


@pytest.mark.parametrize("path_counts", [False, True])
def test_recommend_scores_a_pairwise_checkpoint_as_the_model_does(data_dir, tmp_path, path_counts):
    from tgnrank.eval.checkpoint_scorer import replay_history
    from tgnrank.eval.recommend import recommend_investors

    summary, config = _train(data_dir, tmp_path, "rec", use_memory=True, n_epoch=1, link_predictor="pairwise",
                             path_counts=path_counts)
    checkpoint = load_checkpoint(summary.runs[0].model_path)
    data = load_training_data(config).data
    events = data.events
    at = float(np.quantile(events.timestamps, 0.8))
    company = int(events.sources[events.timestamps <= at][-1])
    recommendations = recommend_investors(checkpoint, data, company, at, k=5)

    history = events.select(events.timestamps <= at)
    model, _ = build_model_from_checkpoint(checkpoint, data, build_neighbor_finder(history, data.n_nodes, config), "cpu")
    replay_history(model, history, config.bs, config.n_degree)
    investors = np.array([item.investor_id for item in recommendations.items])
    times = np.full(len(investors), np.nextafter(at, np.inf))
    with torch.no_grad():
        logits, _ = model.compute_edge_logits(np.full(len(investors), company), investors, investors, times,
                                              np.ones(len(investors), dtype=np.int64), config.n_degree)
    assert [item.score for item in recommendations.items] == pytest.approx(logits.numpy().tolist(), abs=1e-4)
