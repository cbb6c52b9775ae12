"""The diagnostic: result dict, report, CLI end to end; the model's scores and their independence from the window."""

import json

import numpy as np
import pytest

from tgnrank.cli.main import main
from tgnrank.data import save_dataset
from tgnrank.data.synthetic import generate_synthetic
from tgnrank.eval.baselines import BASELINES
from tgnrank.eval.diagnostic import DiagnosticOptions, checkpoint_mismatches, format_report, run_diagnostic
from tgnrank.eval.metrics import random_ranking_metrics
from tgnrank.eval.protocol import build_window


@pytest.fixture(scope="module")
def small_data():
    return generate_synthetic(n_companies=300, n_investors=120, seed=1, name="tiny")


@pytest.fixture(scope="module")
def baseline_result(small_data):
    candidates = build_window(small_data.events, "test")
    return candidates, run_diagnostic(small_data, candidates, options=DiagnosticOptions(ks=(10, 100)))


def test_baseline_result_holds_every_scorer_and_the_counts(baseline_result):
    candidates, result = baseline_result
    assert result["model"] is None
    assert set(result["scorers"]) == {"random", *BASELINES}
    assert result["window"]["n_candidates"] == candidates.n_candidates
    assert result["window"]["n_positives"] == candidates.n_positives
    expected_random = random_ranking_metrics(
        candidates.candidates_per_company(), candidates.positives_per_company(), (10, 100)
    )
    assert result["scorers"]["random"]["metrics"] == pytest.approx(expected_random)
    for name in BASELINES:
        metrics = result["scorers"][name]["metrics"]
        assert {"precision@10", "recall@100", "precision@1000", "median_rank", "lift@1000", "mrr", "hits@10"} <= set(metrics)
        assert len(result["scorers"][name]["positive_mean_ranks"]) == candidates.n_positives
    best = result["best_baseline"]
    assert all(
        result["scorers"][best]["metrics"]["precision@1000"] >= result["scorers"][name]["metrics"]["precision@1000"]
        for name in result["baselines"]
    )
    json.dumps(result)


def test_top_predictions_are_named_and_marked(small_data, baseline_result):
    candidates, result = baseline_result
    top = result["top_predictions"]
    assert len(top) == 20 and result["top_predictions_by"] == result["best_baseline"]
    positives = set(zip(candidates.positive_companies.tolist(), candidates.positive_investors.tolist()))
    history = set(zip(candidates.history.sources.tolist(), candidates.history.destinations.tolist()))
    for item in top:
        pair = (item["company_id"], item["investor_id"])
        assert item["hit"] == (pair in positives)
        assert pair not in history
        assert item["company"] == small_data.node_names[item["company_id"]]
    scores = [item["score"] for item in top]
    assert scores == sorted(scores, reverse=True)


def test_report_shows_the_table_counts_best_baseline_and_top_links(baseline_result):
    _, result = baseline_result
    text = format_report(result)
    for fragment in ("Precision@100", "Recall@10", "Median rank", "vs Random", "MRR", "Hits@10",
                     f"candidate pairs: {result['window']['n_candidates']:,}",
                     f"Best baseline: {result['best_baseline']}", "Top 20 predicted new links"):
        assert fragment in text
    assert text.count(" -> ") == 20
    assert "HIT" in text or "miss" in text


def test_checkpoint_mismatches_list_every_differing_flag():
    stored = {"use_memory": True, "n_degree": 10, "memory_dim": 172}
    lines = checkpoint_mismatches(stored, {"use_memory": False, "n_degree": 10, "memory_dim": 100})
    assert lines == ["--use_memory: requested False, checkpoint True", "--memory_dim: requested 100, checkpoint 172"]


def test_cli_baselines_only_end_to_end(small_data, tmp_path, capsys):
    save_dataset(small_data, tmp_path / "data")
    code = main(["diagnose", "--data", "tiny", "--data_dir", str(tmp_path / "data"), "--baselines-only",
                 "--window", "val", "--k", "10,50", "--baselines", "popularity,ppr", "--out", str(tmp_path / "out")])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Precision@50" in printed and "ppr" in printed and "coinvestment" not in printed
    result = json.loads((tmp_path / "out" / "diagnostic-baselines-tiny-val.json").read_text())
    assert result["window"]["window"] == "val" and result["ks"] == [10, 50]
    assert set(result["scorers"]) == {"random", "popularity", "ppr"}


def test_cli_rejects_bad_flags_with_one_line(small_data, tmp_path, capsys):
    save_dataset(small_data, tmp_path / "data")
    base = ["diagnose", "--data", "tiny", "--data_dir", str(tmp_path / "data")]
    assert main(base + ["--baselines-only", "--k", "10,x"]) == 2
    assert "--k" in capsys.readouterr().err
    assert main(base + ["--baselines-only", "--baselines", "pagerank"]) == 2
    assert "--baselines" in capsys.readouterr().err
    assert main(base) == 2
    assert "--model_path" in capsys.readouterr().err
    assert main(base + ["--model_path", str(tmp_path / "missing.pth")]) == 2
    assert "missing.pth" in capsys.readouterr().err
