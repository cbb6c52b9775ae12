"""tgnrank diagnose --scope new_companies|all end to end on a small dataset, and the model on brand-new
companies (scored from their attributes, blind to the window)."""

import dataclasses
import json

import numpy as np
import pytest
import torch
from new_company_data import sector_data

from tgnrank.cli.main import main
from tgnrank.data import save_dataset
from tgnrank.eval.protocol import build_new_company_candidates, build_scope_window, window_bounds
from tgnrank.eval.scoped_diagnostic import model_scorers_for_parts
from tgnrank.train.checkpoint import checkpoint_config, make_checkpoint, save_checkpoint
from tgnrank.train.config import TrainConfig
from tgnrank.train.model_setup import build_neighbor_finder, build_training_model

SMALL_MODEL = dict(use_memory=True, memory_dim=16, node_dim=16, time_dim=8, message_dim=16, n_degree=5, bs=50,
                   activity_features=True)
FAST_RANKER = ["--nc_windows", "2", "--nc_negatives", "20", "--nc_trees", "10", "--nc_min_leaf", "5"]


@pytest.fixture(scope="module")
def data():
    return sector_data(seed=1, name="sectors")


def untrained_checkpoint(data) -> dict:
    config = TrainConfig(data=data.name, **SMALL_MODEL)
    torch.manual_seed(0)
    finder = build_neighbor_finder(data.events, data.n_nodes, config)
    model = build_training_model(config, data, finder, torch.device("cpu"))
    return make_checkpoint(checkpoint_config(config, data), model, metrics={})


def diagnose(tmp_path, *flags):
    return main(["diagnose", "--data", "sectors", "--data_dir", str(tmp_path / "data"), "--out", str(tmp_path / "out"),
                 "--k", "10,100", *flags])


def test_baselines_on_brand_new_companies(data, tmp_path, capsys):
    save_dataset(data, tmp_path / "data")
    assert diagnose(tmp_path, "--baselines-only", "--scope", "new_companies") == 0
    result = json.loads((tmp_path / "out" / "diagnostic-baselines-sectors-test-new_companies.json").read_text())
    assert result["scope"] == "new_companies" and list(result["parts"]) == ["new_companies"]
    part = result["parts"]["new_companies"]
    expected = build_new_company_candidates(data.events, *window_bounds(data.events, "test"), window="test")
    assert part["window"] == expected.summary()
    assert part["baselines"] == ["random", "popularity", "recency", "category_popularity"]
    # investors favour their sector eightfold, so the company's category ranks them best
    assert part["best_baseline"] == "category_popularity"
    assert "brand-new companies" in capsys.readouterr().out


def test_all_reports_each_part_and_the_union(data, tmp_path, capsys):
    save_dataset(data, tmp_path / "data")
    assert diagnose(tmp_path, "--baselines-only", "--scope", "all") == 0
    result = json.loads((tmp_path / "out" / "diagnostic-baselines-sectors-test-all.json").read_text())
    parts = result["parts"]
    assert list(parts) == ["known", "new_companies", "all"]
    assert parts["all"]["window"]["n_positives"] == (
        parts["known"]["window"]["n_positives"] + parts["new_companies"]["window"]["n_positives"])
    assert parts["known"]["baselines"] == ["random", "popularity", "recency", "coinvestment", "ppr", "category_popularity"]
    text = capsys.readouterr().out
    assert "known companies" in text and "all companies" in text and "Scope summary" in text


def test_model_and_learned_ranker_columns(data, tmp_path, capsys):
    save_dataset(data, tmp_path / "data")
    path = save_checkpoint(tmp_path / "m.pth", untrained_checkpoint(data))
    assert diagnose(tmp_path, "--model_path", str(path), "--auto_detect_params", "--scope", "new_companies",
                    "--new_company_ranker", *FAST_RANKER) == 0
    result = json.loads((tmp_path / "out" / "diagnostic-m-test-new_companies.json").read_text())
    part = result["parts"]["new_companies"]
    assert part["model"] == "new_company_ranker" and part["members"] == ["m"]
    assert {"m", "new_company_ranker", "category_popularity"} <= set(part["scorers"])
    fit_end = window_bounds(data.events, "val")[1]
    assert result["new_company_ranker"]["windows"][0]["t_end"] == fit_end
    assert (tmp_path / "out" / "diagnostic-m-test-new_companies.lgb.txt").exists()
    assert part["fusion"]["windows"] == result["new_company_ranker"]["windows"]
    text = capsys.readouterr().out
    assert "'new_company_ranker' is the learned fusion (LightGBM lambdarank), fitted on" in text
    assert "Ensemble" not in text


def test_flags_of_the_other_scope_are_refused(data, tmp_path, capsys):
    save_dataset(data, tmp_path / "data")
    assert diagnose(tmp_path, "--baselines-only", "--new_company_ranker") == 2
    assert "--new_company_ranker" in capsys.readouterr().err
    assert diagnose(tmp_path, "--baselines-only", "--scope", "new_companies", "--fusion") == 2
    assert "--fusion" in capsys.readouterr().err
    assert diagnose(tmp_path, "--baselines-only", "--scope", "brand_new") == 2
    assert "--scope must be one of known, new_companies, all" in capsys.readouterr().err


def test_known_scope_is_unchanged(data, tmp_path):
    save_dataset(data, tmp_path / "data")
    assert diagnose(tmp_path, "--baselines-only") == 0
    assert diagnose(tmp_path, "--baselines-only", "--scope", "known", "--out", str(tmp_path / "known")) == 0
    default = json.loads((tmp_path / "out" / "diagnostic-baselines-sectors-test.json").read_text())
    explicit = json.loads((tmp_path / "known" / "diagnostic-baselines-sectors-test.json").read_text())
    assert {name: entry["metrics"] for name, entry in default["scorers"].items()} == {
        name: entry["metrics"] for name, entry in explicit["scorers"].items()}
    assert "category_popularity" not in default["scorers"] and "scope" not in default


def test_the_model_scores_brand_new_companies_from_their_attributes_only(data):
    checkpoint = untrained_checkpoint(data)
    t_start = window_bounds(data.events, "test")[0]
    parts = build_scope_window(data.events, "test", "new_companies")
    base = model_scorers_for_parts(checkpoint, data, parts, torch.device("cpu"))["new_companies"]
    candidates = parts["new_companies"]
    scores = base.score_block(0, candidates.n_companies)

    events = data.events
    later = events.timestamps > t_start
    destinations = events.destinations.copy()
    destinations[later] = np.random.default_rng(0).choice(candidates.investors, size=int(later.sum()))
    edge_features = data.edge_features.copy()
    edge_features[events.edge_idxs[later]] = 7.0
    corrupted = dataclasses.replace(data, events=dataclasses.replace(events, destinations=destinations),
                                    edge_features=edge_features)
    again = model_scorers_for_parts(checkpoint, corrupted, {"new_companies": candidates}, torch.device("cpu"))
    np.testing.assert_array_equal(again["new_companies"].score_block(0, candidates.n_companies), scores)

    relabelled = data.node_features.copy()
    relabelled[candidates.companies[0], 1:] = relabelled[candidates.companies[0], 1:][::-1]
    changed = model_scorers_for_parts(checkpoint, dataclasses.replace(data, node_features=relabelled),
                                      {"new_companies": candidates}, torch.device("cpu"))["new_companies"]
    assert not np.allclose(changed.score_block(0, 1), scores[:1])
