"""Dataset statistics on a hand-built example, and the `generate` and `info` subcommands end to end."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from tgnrank.cli.main import main
from tgnrank.data import EventData, Interactions, dataset_paths
from tgnrank.data.stats import (
    coinvestor_pairs,
    cosine_similarity_of_pairs,
    dataset_statistics,
    date_precision,
    degree_summary,
    new_link_statistics,
    repeated_pairs,
    similarity_summary,
    syndicate_sizes,
)


@pytest.fixture
def tiny() -> EventData:
    """Companies 1, 2; investors 3, 4, 5. Day 0 is 1970-01-01 and day 59 is 1970-03-01.

    day 0:   company 1 <- investors 3, 4   (one round of two)
    day 40:  company 2 <- investor 3
    day 59:  company 1 <- investors 3, 5   ((1, 3) repeats)
    day 100: company 2 <- investor 4
    """
    sources = np.array([1, 1, 2, 1, 1, 2])
    destinations = np.array([3, 4, 3, 3, 5, 4])
    timestamps = np.array([0.0, 0.0, 40.0, 59.0, 59.0, 100.0])
    events = Interactions(sources, destinations, timestamps, np.arange(1, 7), np.zeros(6))
    node_features = np.array([[0, 0], [1, 1], [0, 0], [1, 0], [1, 0], [0, 1]], dtype=np.float32)
    return EventData(
        name="tiny",
        events=events,
        edge_features=np.zeros((7, 1), dtype=np.float32),
        node_features=node_features,
        node_names=np.array(["", "A", "B", "X", "Y", "Z"], dtype=object),
        node_kinds=np.array(["", "company", "company", "investor", "investor", "investor"], dtype=object),
    )


def test_degree_summary_by_hand():
    summary = degree_summary(np.array([3, 2, 1, 0]))
    assert summary["nodes"] == 3  # the node without events is left out
    assert summary["mean"] == 2.0 and summary["median"] == 2.0 and summary["max"] == 3
    assert summary["top1_share"] == pytest.approx(0.5)  # the top node holds 3 of 6 events


def test_repeated_pairs_by_hand(tiny):
    assert repeated_pairs(tiny.events) == {"distinct_pairs": 5, "share": pytest.approx(1 / 6)}


def test_syndicate_sizes_by_hand(tiny):
    sizes = syndicate_sizes(tiny.events)
    assert sizes["rounds"] == 4
    assert sizes["mean"] == 1.5 and sizes["median"] == 1.5 and sizes["max"] == 2
    assert sizes["single_share"] == 0.5
    assert sizes["histogram"]["1"] == 2 and sizes["histogram"]["2"] == 2 and sizes["histogram"]["9+"] == 0


def test_date_precision_by_hand(tiny):
    precision = date_precision(tiny.events.timestamps)
    assert precision["month_start_share"] == pytest.approx(4 / 6)  # 1970-01-01 twice, 1970-03-01 twice
    assert precision["year_start_share"] == pytest.approx(2 / 6)


def test_new_links_by_hand(tiny):
    # History up to day 40 links (1,3), (1,4), (2,3). In (40, 100]: (1,3) repeats, (1,5) has an
    # unseen investor, (2,4) joins two known nodes.
    stats = new_link_statistics(tiny.events, 40.0, 100.0)
    assert stats == {"new_pairs": 2, "unseen_node_share": 0.5, "evaluable": 1}


def test_coinvestor_pairs_by_hand(tiny):
    assert coinvestor_pairs(tiny.events).tolist() == [[3, 4], [3, 5]]


def test_cosine_and_auc_by_hand(tiny):
    similarity = cosine_similarity_of_pairs(tiny.node_features, np.array([3, 3, 1, 2]), np.array([4, 5, 3, 3]))
    assert similarity == pytest.approx([1.0, 0.0, np.sqrt(0.5), 0.0])
    # positives 0.9, 0.5 vs negatives 0.1, 0.5: three wins and one tie out of four comparisons
    assert similarity_summary(np.array([0.9, 0.5]), np.array([0.1, 0.5]))["auc"] == pytest.approx(0.875)
    assert similarity_summary(np.ones(3), np.ones(5))["auc"] == pytest.approx(0.5)


def test_dataset_statistics_reports_every_section(tiny):
    stats = dataset_statistics(tiny, n_similarity_pairs=100)
    assert stats["counts"] == {
        "events": 6, "nodes": 5, "companies": 2, "investors": 3, "active_companies": 2, "active_investors": 3,
    }
    assert stats["time"]["first_date"] == "1970-01-01" and stats["time"]["last_date"] == "1970-04-11"
    assert stats["features"] == {"node_dim": 2, "edge_dim": 1}
    assert stats["degrees"]["company"]["max"] == 4
    assert stats["similarity"]["coinvestors"]["true_mean"] == pytest.approx(0.5)
    assert {"train", "val", "test", "new_node_val", "new_node_test", "val_date", "test_date"} <= set(stats["splits"])


def _generate(data_dir, seed=0, name="synthetic"):
    return main(["generate", "--name", name, "--companies", "300", "--investors", "120", "--seed", str(seed),
                 "--data_dir", str(data_dir)])


def test_generate_writes_the_same_bytes_for_a_seed(tmp_path, capsys):
    assert _generate(tmp_path / "a") == 0
    out = capsys.readouterr().out
    assert "events" in out and "300 companies" in out and "120 investors" in out
    assert _generate(tmp_path / "b") == 0
    assert _generate(tmp_path / "c", seed=1) == 0
    first, second, other = (dataset_paths("synthetic", tmp_path / d) for d in "abc")
    for key in first:
        assert first[key].read_bytes() == second[key].read_bytes(), key
    assert first["events"].read_bytes() != other["events"].read_bytes()


def test_info_prints_the_summary(tmp_path, capsys):
    assert _generate(tmp_path, name="small") == 0
    capsys.readouterr()
    assert main(["info", "--data", "small", "--data_dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for expected in ("dataset 'small'", "events", "companies   300", "investors   120", "time span",
                     "days since 1970-01-01", "degrees", "repeated pairs", "syndicates", "investors per round",
                     "features        node", "splits (70% / 85%", "new links in validation", "co-invested",
                     "funded pairs", "look-alike investors"):
        assert expected in out, expected
    assert re.search(r"time span   \d{4}-\d{2}-\d{2} \.\. \d{4}-\d{2}-\d{2}", out)


def test_info_json_matches_the_dataset(tmp_path, capsys):
    assert _generate(tmp_path, name="small") == 0
    capsys.readouterr()
    assert main(["info", "--data", "small", "--data_dir", str(tmp_path), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["counts"]["companies"] == 300 and stats["counts"]["investors"] == 120
    assert stats["syndicates"]["max"] <= 8


def test_info_generates_the_default_synthetic_dataset_when_absent(tmp_path, capsys):
    assert main(["info", "--data", "synthetic", "--data_dir", str(tmp_path)]) == 0
    assert all(path.exists() for path in dataset_paths("synthetic", tmp_path).values())
    assert "dataset 'synthetic'" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["generate", "--companies", "0"], "--companies"),
        (["generate", "--investors", "-3"], "--investors"),
        (["generate", "--seed", "-1"], "--seed"),
        (["info", "--data", "absent"], "absent"),
        (["info", "--train_quantile", "0.9", "--val_quantile", "0.8"], "--train_quantile"),
    ],
)
def test_bad_input_exits_2_with_a_message_naming_it(tmp_path, capsys, argv, flag):
    assert main(argv + ["--data_dir", str(tmp_path)]) == 2
    assert flag in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
