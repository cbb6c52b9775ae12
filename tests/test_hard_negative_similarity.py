"""Hard negatives on a dataset without investor attributes (issue 9): investors are compared by their
activity up to the end of training, so the similarity does not tie everywhere and hard negatives are
not simply the lowest-id investors."""

import numpy as np
import pytest

from tgnrank.cli.main import standalone_main
from tgnrank.data import EventData, save_dataset
from tgnrank.data.events import Interactions
from tgnrank.data.synthetic import generate_synthetic
from tgnrank.train.config import TrainConfig
from tgnrank.train.steps import training_sampler

N_TRAIN = 6


def _events(destinations_after_training=(9, 9, 9)) -> Interactions:
    """Companies 1..6, investors 7..10. In training 7 and 9 make one deal each at t = 10; 8 and 10 two
    deals each at t = 100 and 300 (8 with companies 3 and 4, 10 with 5 and 6). Later events follow."""
    sources = [1, 2, 3, 5, 4, 6, 1, 2, 3]
    destinations = [7, 9, 8, 10, 8, 10, *destinations_after_training]
    timestamps = [10.0, 10.0, 100.0, 100.0, 300.0, 300.0, 500.0, 510.0, 520.0]
    n = len(sources)
    return Interactions(np.array(sources), np.array(destinations), np.array(timestamps),
                        np.arange(1, n + 1), np.zeros(n))


def _dataset(events: Interactions) -> EventData:
    """Node features: one 'is company' column, so every investor row is all zeros."""
    node_features = np.zeros((11, 1), dtype=np.float32)
    node_features[1:7] = 1.0
    names = np.array([""] + [f"node {k}" for k in range(1, 11)], dtype=object)
    kinds = np.array([""] + ["company"] * 6 + ["investor"] * 4, dtype=object)
    return EventData("twins", events, np.zeros((len(events) + 1, 0), dtype=np.float32), node_features, names, kinds)


def _hard_sampler(data: EventData, topk: int):
    config = TrainConfig(use_hard_negatives=True, hard_neg_ratio=1.0, hard_neg_topk=topk, seed=0)
    return training_sampler(config, data, data.events.select(np.arange(N_TRAIN)), "cpu")


def test_hard_negatives_are_the_activity_twins_not_the_lowest_ids():
    sampler = _hard_sampler(_dataset(_events()), topk=1)
    # zero investor rows would tie everywhere and give 8 -> 7 and 7 -> 8
    assert np.all(sampler.sample(np.full(50, 3), np.full(50, 8), n_neg=1) == 10)
    assert np.all(sampler.sample(np.full(50, 1), np.full(50, 7), n_neg=1) == 9)


def test_the_similarity_top_k_is_not_all_ties():
    similarity = _hard_sampler(_dataset(_events()), topk=3).similarity
    rows = similarity.neighbor_similarities[similarity.rows_of(np.array([7, 8, 9, 10]))]
    assert rows[:, 0] == pytest.approx(1.0)  # each investor's twin
    assert np.all(rows[:, 1] < rows[:, 0] - 0.1)


def test_events_after_the_training_cut_off_do_not_move_the_similarity():
    """Investor 7 turns into a copy of 8 only after training: its twin must still be 9."""
    reference = _hard_sampler(_dataset(_events()), topk=3).similarity
    corrupted = _hard_sampler(_dataset(_events((7, 7, 7))), topk=3).similarity
    np.testing.assert_array_equal(corrupted.neighbor_positions, reference.neighbor_positions)
    np.testing.assert_array_equal(corrupted.neighbor_similarities, reference.neighbor_similarities)


def test_the_self_test_passes_without_investor_attributes(tmp_path, capsys):
    data = generate_synthetic(n_companies=300, n_investors=120, seed=1, name="bare")
    features = data.node_features.copy()
    features[np.asarray(data.node_kinds) == "investor"] = 0.0
    save_dataset(EventData(**{**data.__dict__, "node_features": features}), tmp_path)
    argv = ["--data", "bare", "--data_dir", str(tmp_path), "--n_positives", "400", "--n_examples", "1"]
    assert standalone_main("tgnrank.cli.mine", prog="hard_negative_mining.py", argv=argv) == 0
    assert "PASS  hard negatives (T=0.1) more similar than random ones" in capsys.readouterr().out
