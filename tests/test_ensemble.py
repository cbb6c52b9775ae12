"""Ensembles: several checkpoints in the diagnostic (each a column, plus their mean-logit ensemble) and the
Ensemble column of `tgnrank compare`."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil

import numpy as np
import pytest
import torch

from tgnrank.cli.main import main
from tgnrank.data import save_dataset
from tgnrank.data.synthetic import generate_synthetic
from tgnrank.errors import ConfigError
from tgnrank.eval.baselines import BASELINES
from tgnrank.eval.diagnostic import DiagnosticOptions, run_diagnostic
from tgnrank.eval.protocol import build_window
from tgnrank.eval.scoring import (
    EnsembleScorer,
    ensemble_scorer_from_checkpoints,
    model_scorer_from_checkpoint,
    normalized_weights,
    rank_candidates,
)
from tgnrank.train.checkpoint import checkpoint_config, load_checkpoint, make_checkpoint, save_checkpoint
from tgnrank.train.config import TrainConfig
from tgnrank.train.model_setup import build_neighbor_finder, build_training_model

SMALL_MODEL = dict(use_memory=True, memory_dim=16, node_dim=16, time_dim=8, message_dim=16, n_degree=5, bs=50)
CPU = torch.device("cpu")
# The keys of a single model's diagnostic JSON, as they were before ensembles existed.
SINGLE_MODEL_KEYS = {"dataset", "window", "ks", "lift_k", "hits_k", "model", "baselines", "scorers", "best_baseline",
                     "model_beats_best_baseline", "top_predictions_by", "top_predictions", "checkpoint"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny dataset on disk and two models trained one epoch each on it (BCE seed 0, focal loss seed 1)."""
    from tgnrank.train.runs import train_runs
    from tgnrank.train.outputs import RunPaths

    root = tmp_path_factory.mktemp("ensemble")
    data = generate_synthetic(n_companies=200, n_investors=80, seed=1, name="small")
    save_dataset(data, root / "data")
    paths = []
    for prefix, flags in (("bce", {"seed": 0}), ("focal", {"seed": 1, "use_focal_loss": True})):
        config = TrainConfig(data="small", data_dir=str(root / "data"), prefix=prefix, n_epoch=1, **SMALL_MODEL, **flags)
        summary = train_runs(config, CPU, RunPaths(prefix, "small", root=root))
        paths.append(summary.runs[0].model_path)
    return root, data, paths


def _diagnose(root, out, *flags) -> tuple[int, str]:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["diagnose", "--data_dir", str(root / "data"), "--out", str(out), "--baselines", "popularity",
                     "--auto_detect_params", *flags])
    return code, printed.getvalue()


# ---- the scorer -------------------------------------------------------------------------------------


class _Grid:
    """A scorer over a fixed (C, I) array, with or without ``score_pairs``."""

    def __init__(self, scores: np.ndarray, pairs: bool = True):
        self.scores = scores.astype(np.float32)
        if pairs:
            self.score_pairs = lambda rows, cols: self.scores[rows, cols]

    def score_block(self, row_start, row_stop):
        return self.scores[row_start:row_stop]


def test_ensemble_block_is_the_weighted_mean_of_the_members_blocks():
    a = np.array([[1.0, -2.0, 3.0], [0.5, 0.0, 4.0]])
    b = np.array([[3.0, 2.0, -1.0], [1.5, 2.0, 0.0]])
    equal = EnsembleScorer([_Grid(a), _Grid(b)])
    np.testing.assert_allclose(equal.score_block(0, 2), [[2.0, 0.0, 1.0], [1.0, 1.0, 2.0]])
    np.testing.assert_allclose(equal.score_block(1, 2), [[1.0, 1.0, 2.0]])
    np.testing.assert_allclose(equal.score_pairs(np.array([0, 1]), np.array([2, 0])), [1.0, 1.0])
    weighted = EnsembleScorer([_Grid(a), _Grid(b)], weights=[3, 1])  # normalised to 0.75, 0.25
    np.testing.assert_allclose(weighted.score_block(0, 1), [[1.5, -1.0, 2.0]])
    assert not hasattr(EnsembleScorer([_Grid(a), _Grid(b, pairs=False)]), "score_pairs")


def test_weights_are_validated_and_normalised():
    np.testing.assert_allclose(normalized_weights(None, 4), [0.25] * 4)
    np.testing.assert_allclose(normalized_weights([1, 0, 3], 3), [0.25, 0.0, 0.75])
    for bad in ([1, 2], [1, -1, 1], [0, 0, 0], [1, float("nan"), 1]):
        with pytest.raises(ConfigError, match="ensemble_weights"):
            normalized_weights(bad, 3)


def test_ensemble_of_trained_models_scores_the_mean_of_their_logits(trained):
    _, data, paths = trained
    candidates = build_window(data.events, "test")
    checkpoints = [load_checkpoint(path) for path in paths]
    ensemble, members, configs = ensemble_scorer_from_checkpoints(iter(checkpoints), data, candidates, CPU)
    assert [config.use_focal_loss for config in configs] == [False, True]
    alone = [model_scorer_from_checkpoint(c, data, candidates, CPU)[0] for c in checkpoints]
    rows = slice(0, candidates.n_companies)
    blocks = [scorer.score_block(rows.start, rows.stop) for scorer in alone]
    assert not np.allclose(blocks[0], blocks[1])  # two different models, or the test proves nothing
    for member, block in zip(members, blocks):
        np.testing.assert_array_equal(member.score_block(rows.start, rows.stop), block)
    mean = (blocks[0] + blocks[1]) / 2
    np.testing.assert_allclose(ensemble.score_block(rows.start, rows.stop), mean, rtol=1e-6, atol=1e-6)
    pr, pc = candidates.positive_rows, candidates.positive_cols
    np.testing.assert_allclose(ensemble.score_pairs(pr, pc), mean[pr, pc], rtol=1e-5, atol=1e-5)
    # Streamed in small blocks, the ensemble ranks every positive as the dense mean does.
    streamed = rank_candidates(candidates, ensemble, block_pairs=200)
    dense = rank_candidates(candidates, _Grid(ensemble.score_block(rows.start, rows.stop)))
    np.testing.assert_array_equal(streamed.ranks.greater, dense.ranks.greater)
    np.testing.assert_array_equal(streamed.ranks.filtered_greater, dense.ranks.filtered_greater)


def test_members_of_different_datasets_are_refused(trained):
    _, data, paths = trained
    candidates = build_window(data.events, "test")
    other = load_checkpoint(paths[1])
    other["config"]["dataset"] = "elsewhere"
    with pytest.raises(ConfigError, match="model 1 \\(small\\), model 2 \\(elsewhere\\)"):
        ensemble_scorer_from_checkpoints([load_checkpoint(paths[0]), other], data, candidates, CPU)


def test_run_diagnostic_refuses_a_model_named_like_a_baseline(trained):
    _, data, _ = trained
    candidates = build_window(data.events, "test")
    grid = _Grid(np.zeros((candidates.n_companies, candidates.n_investors)))
    with pytest.raises(ConfigError, match="clashing: popularity"):
        run_diagnostic(data, candidates, EnsembleScorer([grid, grid]), "ensemble", members={"popularity": grid, "b": grid})


# ---- the diagnostic CLI ------------------------------------------------------------------------------


def test_a_single_model_path_behaves_as_before(trained, tmp_path):
    root, data, paths = trained
    code, printed = _diagnose(root, tmp_path, "--model_path", str(paths[0]))
    assert code == 0
    result = json.loads((tmp_path / "diagnostic-bce-small-test.json").read_text())
    assert set(result) == SINGLE_MODEL_KEYS
    assert result["model"] == "bce-small" and result["checkpoint"] == str(paths[0])
    assert set(result["scorers"]) == {"bce-small", "random", "popularity"}
    header = next(line for line in printed.splitlines() if line.startswith("Metric"))
    assert header.split() == ["Metric", "bce-small", "random", "popularity"]
    assert re.search(r"^The model (beats|does NOT beat) the best baseline\.$", printed, re.M)
    assert "ensemble" not in printed.lower()
    candidates = build_window(data.events, "test")
    scorer, _ = model_scorer_from_checkpoint(load_checkpoint(paths[0]), data, candidates, CPU)
    direct = run_diagnostic(data, candidates, scorer, "bce-small", DiagnosticOptions(baselines=("popularity",)))
    assert result["scorers"]["bce-small"]["metrics"] == pytest.approx(direct["scorers"]["bce-small"]["metrics"])


def test_several_model_paths_rank_each_model_and_their_ensemble(trained, tmp_path):
    root, data, paths = trained
    code, printed = _diagnose(root, tmp_path / "comma", "--model_path", f"{paths[0]},{paths[1]}")
    assert code == 0
    result = json.loads((tmp_path / "comma" / "diagnostic-ensemble-small-test.json").read_text())
    assert result["model"] == "ensemble" and result["members"] == ["bce-small", "focal-small"]
    assert result["checkpoints"] == [str(path) for path in paths] and result["member_weights"] == [0.5, 0.5]
    assert set(result["scorers"]) == {"bce-small", "focal-small", "ensemble", "random", "popularity"}
    assert set(result["beats_best_baseline"]) == {"bce-small", "focal-small", "ensemble"}
    assert result["top_predictions_by"] == "ensemble"
    header = next(line for line in printed.splitlines() if line.startswith("Metric"))
    assert header.split() == ["Metric", "bce-small", "focal-small", "ensemble", "random", "popularity"]
    assert "Ensemble 'ensemble': mean logit of bce-small, focal-small." in printed
    assert re.search(r"^ensemble (beats|does NOT beat) the best baseline\.$", printed, re.M)
    # Each member's column is what the diagnostic of that checkpoint alone reports.
    assert _diagnose(root, tmp_path / "one", "--model_path", str(paths[1]))[0] == 0
    alone = json.loads((tmp_path / "one" / "diagnostic-focal-small-test.json").read_text())
    assert result["scorers"]["focal-small"]["metrics"] == alone["scorers"]["focal-small"]["metrics"]
    # The ensemble's column is the ranking of the mean logit.
    candidates = build_window(data.events, "test")
    scorers = [model_scorer_from_checkpoint(load_checkpoint(p), data, candidates, CPU)[0] for p in paths]
    rows = (0, candidates.n_companies)
    mean = _Grid((scorers[0].score_block(*rows) + scorers[1].score_block(*rows)) / 2)
    expected = run_diagnostic(data, candidates, mean, "m", DiagnosticOptions(baselines=()))["scorers"]["m"]["metrics"]
    assert result["scorers"]["ensemble"]["metrics"] == pytest.approx(expected, rel=1e-6)
    # The flag repeated means the same as a comma-separated list.
    code, _ = _diagnose(root, tmp_path / "repeated", "--model_path", str(paths[0]), "--model_path", str(paths[1]))
    assert code == 0
    repeated = json.loads((tmp_path / "repeated" / "diagnostic-ensemble-small-test.json").read_text())
    assert {name: entry["metrics"] for name, entry in repeated["scorers"].items()} == {
        name: entry["metrics"] for name, entry in result["scorers"].items()
    }


def test_ensemble_weights_flag(trained, tmp_path, capsys):
    root, _, paths = trained
    both = ["--model_path", f"{paths[0]},{paths[1]}"]
    code, printed = _diagnose(root, tmp_path, *both, "--ensemble_weights", "3,1")
    assert code == 0
    result = json.loads((tmp_path / "diagnostic-ensemble-small-test.json").read_text())
    assert result["member_weights"] == [0.75, 0.25]
    assert "weighted mean logit of bce-small x 0.75, focal-small x 0.25" in printed
    for flags in ([*both, "--ensemble_weights", "1"], [*both, "--ensemble_weights", "1,-1"],
                  [*both, "--ensemble_weights", "a,b"], ["--model_path", str(paths[0]), "--ensemble_weights", "1"]):
        assert _diagnose(root, tmp_path, *flags)[0] == 2
        assert "--ensemble_weights" in capsys.readouterr().err


def test_checkpoints_of_different_datasets_are_refused_before_any_work(trained, tmp_path, capsys):
    root, _, paths = trained
    other = generate_synthetic(n_companies=150, n_investors=60, seed=2, name="other")
    config = TrainConfig(data="other", **SMALL_MODEL)
    finder = build_neighbor_finder(other.events, other.n_nodes, config)
    model = build_training_model(config, other, finder, CPU)
    other_path = save_checkpoint(tmp_path / "other.pth", make_checkpoint(checkpoint_config(config, other), model, {}))
    code, _ = _diagnose(root, tmp_path, "--model_path", f"{paths[0]},{other_path}")
    assert code == 2
    error = capsys.readouterr().err
    assert "--model_path" in error and "one dataset" in error
    assert f"{paths[0]} (small)" in error and f"{other_path} (other)" in error


def test_model_flag_mismatches_name_the_checkpoint_without_auto_detect(trained, tmp_path, capsys):
    root, _, paths = trained
    code = main(["diagnose", "--data_dir", str(root / "data"), "--out", str(tmp_path), "--model_path",
                 f"{paths[0]},{paths[1]}", "--use_memory", "--memory_dim", "16", "--node_dim", "16"])
    assert code == 2
    error = capsys.readouterr().err
    assert f"checkpoint {paths[0]}'s configuration" in error
    assert "--n_degree: requested 10, checkpoint 5" in error and "--auto_detect_params" in error


def test_the_same_checkpoint_twice_is_refused(trained, tmp_path, capsys):
    root, _, paths = trained
    assert _diagnose(root, tmp_path, "--model_path", str(paths[0]), "--model_path", str(paths[0]))[0] == 2
    assert "more than once" in capsys.readouterr().err


# ---- compare ---------------------------------------------------------------------------------------

COMPARE_FLAGS = ["--n_epoch", "1", "--bs", "200", "--memory_dim", "16", "--node_dim", "16", "--time_dim", "8",
                 "--message_dim", "16", "--n_degree", "5"]
CONFIGURATIONS = ["baseline", "focal", "hardneg", "focal-hardneg"]


class TrainingCalled(Exception):
    pass


def _refuse_training(*args, **kwargs):
    raise TrainingCalled("a finished configuration was trained again")


@pytest.fixture(scope="module")
def compared(trained):
    root = trained[0]
    out = root / "compare"
    args = ["compare", "--data", "small", "--data_dir", str(root / "data"), "--out", str(out), *COMPARE_FLAGS]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(args) == 0
    return out, args, printed.getvalue()


def _copy(compared, tmp_path):
    out, args, _ = compared
    shutil.copytree(out, tmp_path / "out")
    at = args.index("--out")
    return tmp_path / "out", [*args[:at + 1], str(tmp_path / "out"), *args[at + 2:]]


def test_compare_table_has_the_ensemble_after_the_four_configurations(compared):
    out, _, printed = compared
    lines = printed.splitlines()
    header = re.split(r"\s{2,}", next(line for line in lines if line.startswith("Metric")).strip())
    assert header[:6] == ["Metric", "Baseline", "Focal", "Hard Neg", "Focal+Hard", "Ensemble"]
    assert header[6].endswith("(best baseline)") and len(header) == 7
    results = json.loads((out / "compare.json").read_text())
    ensemble = results["ensemble"]
    assert ensemble["members"] == CONFIGURATIONS and ensemble["combination"] == "mean logit"
    (run,) = ensemble["runs"]
    assert run["seed"] == 0 and run["prefix"] == "ensemble" and run["members"] == CONFIGURATIONS
    row = re.split(r"\s{2,}", next(line for line in lines if line.startswith("Precision@1000")).strip())
    assert row[5] == f"{100 * run['diagnostic']['metrics']['precision@1000']:.2f}%"
    assert re.search(r"^Ensemble: beats it in [01] of 1 seed\(s\)\.$", printed, re.M)
    assert "| Ensemble |" in (out / "report.md").read_text() and "Ensemble" in (out / "report.html").read_text()


def test_compare_ensemble_equals_the_diagnostic_of_the_four_checkpoints(compared, trained, tmp_path):
    out, _, _ = compared
    results = json.loads((out / "compare.json").read_text())
    paths = ",".join(c["runs"][0]["checkpoint"] for c in results["configurations"])
    code, _ = _diagnose(trained[0], tmp_path, "--model_path", paths)
    assert code == 0
    diagnosed = json.loads((tmp_path / "diagnostic-ensemble-small-test.json").read_text())
    assert results["ensemble"]["runs"][0]["diagnostic"]["metrics"] == diagnosed["scorers"]["ensemble"]["metrics"]


def test_resume_reuses_the_ensemble_and_an_older_state_gets_one_without_training(compared, tmp_path, monkeypatch,
                                                                                  caplog, capsys):
    copy, args = _copy(compared, tmp_path)
    monkeypatch.setattr("tgnrank.train.runs.train_runs", _refuse_training)
    caplog.set_level("INFO", logger="tgnrank.experiments.compare")
    assert main(args) == 0
    assert not any("Diagnostic of ensemble" in record.getMessage() for record in caplog.records)
    assert capsys.readouterr().out.split("\nreport:")[0] == compared[2].split("\nreport:")[0]
    state_path = copy / "compare-state.json"
    state = json.loads(state_path.read_text())
    del state["ensembles"]  # as written before ensembles existed
    state_path.write_text(json.dumps(state))
    caplog.clear()
    assert main(args) == 0
    assert any("Diagnostic of ensemble" in record.getMessage() for record in caplog.records)
    assert capsys.readouterr().out.split("\nreport:")[0] == compared[2].split("\nreport:")[0]


def test_retraining_a_member_drops_the_stored_ensemble(compared, tmp_path, caplog):
    copy, args = _copy(compared, tmp_path)
    (copy / "saved_models" / "focal-small.pth").unlink()
    caplog.set_level("INFO", logger="tgnrank.experiments.compare")
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(args) == 0
    messages = [record.getMessage() for record in caplog.records]
    assert sum("Training" in message for message in messages) == 1
    assert any("Diagnostic of ensemble" in message for message in messages)


def test_member_names_are_file_names_or_paths_and_may_not_clash(trained, tmp_path, capsys):
    root, _, paths = trained
    twin = tmp_path / "twin" / paths[0].name
    twin.parent.mkdir()
    shutil.copy(paths[1], twin)
    assert _diagnose(root, tmp_path / "out", "--model_path", f"{paths[0]},{twin}")[0] == 0
    result = json.loads((tmp_path / "out" / "diagnostic-ensemble-small-test.json").read_text())
    assert result["members"] == [str(paths[0]), str(twin)]  # same file name: the paths tell them apart
    capsys.readouterr()
    clash = tmp_path / "ensemble.pth"
    shutil.copy(paths[1], clash)
    assert _diagnose(root, tmp_path / "out", "--model_path", f"{paths[0]},{clash}")[0] == 2
    assert "clashing: ensemble" in capsys.readouterr().err
