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
    assert lines == {"use_memory": "use_memory: requested False, checkpoint True",
                     "memory_dim": "memory_dim: requested 100, checkpoint 172"}


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


# ---- the model --------------------------------------------------------------------------------------

import torch  # noqa: E402

from tgnrank.data.events import EventData, Interactions  # noqa: E402
from tgnrank.eval.protocol import build_candidates  # noqa: E402
from tgnrank.eval.scoring import ReluLinearKernel, model_scorer_from_checkpoint, rank_candidates  # noqa: E402
from tgnrank.train.checkpoint import checkpoint_config, make_checkpoint, save_checkpoint  # noqa: E402
from tgnrank.train.config import TrainConfig  # noqa: E402
from tgnrank.train.model_setup import build_neighbor_finder, build_training_model  # noqa: E402

SMALL_MODEL = dict(use_memory=True, memory_dim=16, node_dim=16, time_dim=8, message_dim=16, n_degree=5, bs=50)


@pytest.fixture(scope="module")
def model_data():
    return generate_synthetic(n_companies=200, n_investors=80, seed=1, name="small")


def untrained_checkpoint(data: EventData, **flags) -> dict:
    config = TrainConfig(data=data.name, **{**SMALL_MODEL, **flags})
    torch.manual_seed(0)
    finder = build_neighbor_finder(data.events, data.n_nodes, config)
    model = build_training_model(config, data, finder, torch.device("cpu"))
    return make_checkpoint(checkpoint_config(config, data), model, metrics={})


def test_relu_linear_kernel_matches_the_dense_formula():
    rng = np.random.default_rng(0)
    sources, destinations = rng.standard_normal((37, 9)), rng.standard_normal((150, 9))
    weight, bias = rng.standard_normal(9), 0.3
    expected = np.maximum(sources[:, None, :] + destinations[None, :, :], 0) @ weight + bias
    for threads in (1, 2, 3):
        kernel = ReluLinearKernel(sources, destinations, weight, bias, threads=threads)
        np.testing.assert_allclose(kernel.score_block(0, 37), expected, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(kernel.score_block(5, 22), expected[5:22], rtol=1e-5, atol=1e-5)


def test_model_scores_match_the_link_predictor(model_data):
    candidates = build_window(model_data.events, "test")
    scorer, _ = model_scorer_from_checkpoint(untrained_checkpoint(model_data), model_data, candidates, torch.device("cpu"))
    assert scorer.kernel is not None
    block = scorer.score_block(0, candidates.n_companies)
    assert block.shape == (candidates.n_companies, candidates.n_investors) and block.dtype == np.float32
    np.testing.assert_allclose(block, scorer._score_block_with_torch(0, candidates.n_companies), rtol=1e-4, atol=1e-5)
    rows, cols = np.nonzero(np.ones_like(block, dtype=bool))
    np.testing.assert_allclose(scorer.score_pairs(rows, cols), block[rows, cols], rtol=1e-4, atol=1e-5)


def _with_altered_window(data: EventData, t_start: float) -> EventData:
    """The same history; every window event moved to another known investor, time and edge feature."""
    events = data.events
    in_window = events.timestamps > t_start
    rng = np.random.default_rng(5)
    investors = np.unique(events.destinations[~in_window])
    destinations = events.destinations.copy()
    destinations[in_window] = rng.choice(investors, size=int(in_window.sum()))
    timestamps = events.timestamps.copy()
    timestamps[in_window] = np.sort(rng.uniform(t_start + 1, events.timestamps.max(), size=int(in_window.sum())))
    edge_features = data.edge_features.copy()
    edge_features[events.edge_idxs[in_window]] = rng.standard_normal((int(in_window.sum()), edge_features.shape[1]))
    altered = Interactions(events.sources, destinations, timestamps, events.edge_idxs, events.labels)
    return EventData(data.name, altered, edge_features, data.node_features, data.node_names, data.node_kinds)


def test_model_scores_see_nothing_of_the_window(model_data):
    t_start, t_end = 16375.0, float(model_data.events.timestamps.max())
    altered = _with_altered_window(model_data, t_start)
    checkpoint = untrained_checkpoint(model_data)
    scores = []
    for data in (model_data, altered):
        candidates = build_candidates(data.events, t_start, t_end)
        scorer, _ = model_scorer_from_checkpoint(checkpoint, data, candidates, torch.device("cpu"))
        block = scorer.score_block(0, candidates.n_companies)
        scores.append({(c, i): block[r, k] for r, c in enumerate(candidates.companies) for k, i in enumerate(candidates.investors)})
    common = scores[0].keys() & scores[1].keys()
    assert len(common) > 100
    # The window's companies differ, so the companies are embedded in batches of another size, and CPU
    # matrix products round a row differently with the batch's size: equal within float32 rounding.
    before, after = (np.array([run[pair] for pair in sorted(common)]) for run in scores)
    np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-6)


def test_model_ranking_is_consistent_with_its_scores(model_data):
    candidates = build_window(model_data.events, "test")
    scorer, _ = model_scorer_from_checkpoint(untrained_checkpoint(model_data), model_data, candidates, torch.device("cpu"))
    streamed = rank_candidates(candidates, scorer, block_pairs=100)
    block = scorer.score_block(0, candidates.n_companies)
    block[candidates.positive_rows, candidates.positive_cols] = scorer.score_pairs(
        candidates.positive_rows, candidates.positive_cols
    )
    is_candidate = candidates.block_mask(0, candidates.n_companies)
    positive_scores = block[candidates.positive_rows, candidates.positive_cols]
    expected_greater = [(block[is_candidate] > s).sum() for s in positive_scores]
    np.testing.assert_array_equal(streamed.ranks.greater, expected_greater)
    assert streamed.top.scores[0] == block[is_candidate].max()


def _diagnose(data_dir, out_dir, model_path, *flags):
    return main(["diagnose", "--data", "small", "--data_dir", str(data_dir), "--model_path", str(model_path),
                 "--out", str(out_dir), "--baselines", "popularity", *flags])


def test_auto_detect_params_round_trip_and_mismatch(model_data, tmp_path, capsys):
    save_dataset(model_data, tmp_path / "data")
    flags = dict(embedding_module="graph_sum", n_layer=2)
    path = save_checkpoint(tmp_path / "m.pth", untrained_checkpoint(model_data, **flags))

    assert _diagnose(tmp_path / "data", tmp_path / "auto", path, "--auto_detect_params") == 0
    auto = json.loads((tmp_path / "auto" / "diagnostic-m-test.json").read_text())
    explicit_flags = ["--use_memory", "--memory_dim", "16", "--node_dim", "16", "--time_dim", "8", "--message_dim", "16",
                      "--n_degree", "5", "--embedding_module", "graph_sum", "--n_layer", "2"]
    assert _diagnose(tmp_path / "data", tmp_path / "explicit", path, *explicit_flags) == 0
    explicit = json.loads((tmp_path / "explicit" / "diagnostic-m-test.json").read_text())
    assert auto["scorers"]["m"]["metrics"] == explicit["scorers"]["m"]["metrics"]
    assert auto["top_predictions_by"] == "m" and len(auto["top_predictions"]) == 20
    capsys.readouterr()

    assert _diagnose(tmp_path / "data", tmp_path / "bad", path, "--use_memory", "--memory_dim", "32") == 2
    error = capsys.readouterr().err
    for fragment in ("--memory_dim: requested 32, checkpoint 16", "--n_degree: requested 10, checkpoint 5",
                     "--embedding_module", "--auto_detect_params"):
        assert fragment in error
    assert "--use_memory" not in error


def test_cli_end_to_end_with_a_model_trained_one_epoch(model_data, tmp_path, monkeypatch, capsys):
    from tgnrank.train.runs import train_runs
    from tgnrank.train.outputs import RunPaths

    save_dataset(model_data, tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    config = TrainConfig(data="small", data_dir="data", prefix="one", n_epoch=1, **SMALL_MODEL)
    summary = train_runs(config, torch.device("cpu"), RunPaths("one", "small"))
    model_path = summary.runs[0].model_path
    capsys.readouterr()

    code = main(["diagnose", "--data", "small", "--model_path", str(model_path), "--use_memory",
                 "--auto_detect_params", "--window", "val"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "one-small" in printed and "Top 20 predicted new links (one-small)" in printed
    result = json.loads((tmp_path / "results" / "diagnostic-one-small-val.json").read_text())
    assert result["model"] == "one-small" and result["checkpoint"] == str(model_path)
    assert set(result["scorers"]) == {"one-small", "random", *BASELINES}
    assert isinstance(result["model_beats_best_baseline"], bool)


def test_settings_added_after_format_1_follow_the_checkpoint_when_not_given(model_data, tmp_path, capsys):
    save_dataset(model_data, tmp_path / "data")
    path = save_checkpoint(tmp_path / "m.pth", untrained_checkpoint(model_data, activity_features=False))
    flags = ["--use_memory", "--memory_dim", "16", "--node_dim", "16", "--time_dim", "8", "--message_dim", "16",
             "--n_degree", "5"]
    assert TrainConfig().activity_features is True
    assert _diagnose(tmp_path / "data", tmp_path / "unspoken", path, *flags) == 0
    assert _diagnose(tmp_path / "data", tmp_path / "spoken", path, *flags, "--activity_features") == 2
    assert "--activity_features: requested True, checkpoint False" in capsys.readouterr().err
