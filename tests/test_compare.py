"""`tgnrank compare`: the guide's four configurations end to end on a tiny dataset, resuming, refusals."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil

import numpy as np
import pytest

from tgnrank.cli.main import main
from tgnrank.data import save_dataset
from tgnrank.data.synthetic import generate_synthetic
from tgnrank.errors import ConfigError
from tgnrank.experiments.presets import GUIDE_CONFIGURATIONS, CompareSettings
from tgnrank.experiments.results import summarize_runs
from tgnrank.experiments.state import STATE_FILE
from tgnrank.train.config import TrainConfig

SMALL_FLAGS = ["--n_epoch", "1", "--bs", "200", "--memory_dim", "16", "--node_dim", "16", "--time_dim", "8",
               "--message_dim", "16", "--n_degree", "5"]
GUIDE_ROWS = ("Precision@1000", "Recall@1000", "Median Rank", "vs Random")
NAMES = ["baseline", "focal", "hardneg", "focal-hardneg"]


class TrainingCalled(Exception):
    pass


def _refuse_training(*args, **kwargs):
    raise TrainingCalled("a finished configuration was trained again")


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """One comparison (four configurations, one seed, one epoch) shared by the tests of this module."""
    root = tmp_path_factory.mktemp("compare")
    save_dataset(generate_synthetic(n_companies=200, n_investors=80, seed=1, name="small"), root / "data")
    out = root / "out"
    args = ["compare", "--data", "small", "--data_dir", str(root / "data"), "--out", str(out), *SMALL_FLAGS]
    return root, out, args


@pytest.fixture(scope="module")
def first_run(compared):
    _, _, args = compared
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(args)
    assert code == 0
    return printed.getvalue()


def _copy(compared, tmp_path):
    """A copy of the finished comparison's folder (tests that change the state work on their own copy)."""
    _, out, args = compared
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    return copy, [*args[:args.index("--out") + 1], str(copy), *args[args.index("--out") + 2:]]


def test_prints_the_guides_table_with_one_column_per_configuration(first_run):
    lines = first_run.splitlines()
    header = next(line for line in lines if line.startswith("Metric"))
    assert re.split(r"\s{2,}", header.strip()) == ["Metric", "Baseline", "Focal", "Hard Neg", "Focal+Hard", "Ensemble",
                                                   header.split()[-3] + " (best baseline)"]
    for row in GUIDE_ROWS:
        line = next(line for line in lines if line.startswith(row))
        assert len(re.split(r"\s{2,}", line.strip())) == 7
        assert "±" not in line  # one seed: no spread to show
    assert "Best baseline:" in first_run and "Best configuration by mean Precision@1000:" in first_run


def test_writes_results_json_report_and_checkpoints(compared, first_run):
    _, out, _ = compared
    results = json.loads((out / "compare.json").read_text())
    assert [c["name"] for c in results["configurations"]] == NAMES
    assert results["seeds"] == [0] and results["window"]["window"] == "test"
    for configuration in results["configurations"]:
        (run,) = configuration["runs"]
        assert run["prefix"] == configuration["name"]
        assert run["checkpoint"].endswith(f"saved_models/{configuration['name']}-small.pth")
        assert (out / "saved_models" / f"{configuration['name']}-small.pth").is_file()
        assert len(run["training"]["train_losses"]) == 1 and len(run["training"]["val_aps"]) == 1
        assert set(run["diagnostic"]) >= {"metrics", "recall_curve", "rank_quantiles", "top_predictions"}
        assert configuration["summary"]["precision@1000"]["n"] == 1
    flags = {c["name"]: c["flags"] for c in results["configurations"]}
    assert flags["focal-hardneg"] == ("--use_focal_loss --focal_alpha 0.25 --focal_gamma 2 --use_hard_negatives "
                                      "--hard_neg_ratio 0.5 --hard_neg_temperature 0.1")
    assert results["training"]["use_memory"] is True and results["training"]["bs"] == 200
    assert set(results["baselines"]) == {"random", "popularity", "recency", "coinvestment", "ppr"}
    assert results["best_baseline"] in results["baselines"]
    for name in ("report.md", "recall_at_k.png", "rank_distribution.png", "training_curves.png"):
        assert (out / name).is_file()
    assert "](recall_at_k.png)" in (out / "report.md").read_text()


def test_html_report_is_self_contained(compared, first_run):
    _, out, _ = compared
    page = (out / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 3
    assert not re.search(r"(src|href)=\"(?!data:)", page)
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert "Focal+Hard" in page and "Métriques à comparer" in page


def test_a_second_run_resumes_without_training(compared, first_run, tmp_path, monkeypatch, capsys, caplog):
    copy, args = _copy(compared, tmp_path)
    monkeypatch.setattr("tgnrank.train.runs.train_runs", _refuse_training)
    caplog.set_level("INFO", logger="tgnrank.experiments.compare")
    assert main(args) == 0
    assert capsys.readouterr().out.split("\nreport:")[0] == first_run.split("\nreport:")[0]
    skipped = [r.getMessage() for r in caplog.records if "skipping training" in r.getMessage()]
    assert len(skipped) == 4
    assert any("Baselines: already ranked" in r.getMessage() for r in caplog.records)


def test_a_moved_folder_still_resumes(compared, first_run, tmp_path, monkeypatch):
    copy, args = _copy(compared, tmp_path)
    monkeypatch.setattr("tgnrank.train.runs.train_runs", _refuse_training)
    assert main(args) == 0
    results = json.loads((copy / "compare.json").read_text())
    assert all(run["checkpoint"].startswith(str(copy)) for c in results["configurations"] for run in c["runs"])


def test_a_missing_checkpoint_is_trained_again(compared, first_run, tmp_path, monkeypatch):
    copy, args = _copy(compared, tmp_path)
    (copy / "saved_models" / "hardneg-small.pth").unlink()
    calls = []

    def record(config, *rest, **kwargs):
        calls.append(config.prefix)
        raise TrainingCalled

    monkeypatch.setattr("tgnrank.train.runs.train_runs", record)
    with pytest.raises(TrainingCalled):
        main(args)
    assert calls == ["hardneg"]


def test_another_window_rediagnoses_without_training(compared, first_run, tmp_path, monkeypatch):
    copy, args = _copy(compared, tmp_path)
    monkeypatch.setattr("tgnrank.train.runs.train_runs", _refuse_training)
    assert main([*args, "--window", "val"]) == 0
    results = json.loads((copy / "compare.json").read_text())
    before = json.loads((compared[1] / "compare.json").read_text())
    assert results["window"]["window"] == "val"
    assert results["window"]["t_start"] < before["window"]["t_start"]
    state = json.loads((copy / STATE_FILE).read_text())
    assert all(run["diagnostic_settings"]["window"] == "val" for run in state["runs"].values())


def test_changed_training_arguments_are_refused_or_restarted(compared, first_run, tmp_path, monkeypatch, capsys):
    copy, args = _copy(compared, tmp_path)
    monkeypatch.setattr("tgnrank.train.runs.train_runs", _refuse_training)
    changed = [*args, "--lr", "0.001"]
    assert main(changed) == 2
    error = capsys.readouterr().err
    assert "--lr: stored 0.0001, now 0.001" in error and "--restart" in error
    assert error.count("--lr:") == 1  # one line, not one per configuration
    with pytest.raises(TrainingCalled):
        main([*changed, "--restart"])


def test_seeds_flag_is_validated(compared, capsys):
    _, _, args = compared
    assert main([*args, "--seeds", "1,1"]) == 2
    assert "--seeds" in capsys.readouterr().err


def test_configurations_follow_the_guide():
    base = TrainConfig(data="crunchbase", bs=123, use_memory=True, use_focal_loss=True)
    one = CompareSettings(base=base, seeds=(0,))
    three = CompareSettings(base=base, seeds=(0, 1, 2))
    baseline, focal, hardneg, both = GUIDE_CONFIGURATIONS
    assert [c.name for c in GUIDE_CONFIGURATIONS] == NAMES
    assert one.prefix(focal, 0) == "focal" and three.prefix(focal, 2) == "focal-s2"
    config = three.train_config(both, 2)
    assert (config.prefix, config.seed, config.n_runs) == ("focal-hardneg-s2", 2, 1)
    assert config.bs == 123 and config.use_memory
    assert (config.use_focal_loss, config.focal_alpha, config.focal_gamma) == (True, 0.25, 2.0)
    assert (config.use_hard_negatives, config.hard_neg_ratio, config.hard_neg_temperature) == (True, 0.5, 0.1)
    plain = one.train_config(baseline, 0)
    assert not plain.use_focal_loss and not plain.use_hard_negatives  # the base's focal flag does not leak in
    assert one.train_config(hardneg, 0).use_hard_negatives and not one.train_config(hardneg, 0).use_focal_loss
    with pytest.raises(ConfigError, match=r"^seeds must be distinct integers >= 0 .*, got \[\]$") as raised:
        CompareSettings(base=base, seeds=())
    assert raised.value.parameters == ("seeds",)


def test_summary_is_mean_and_population_std_over_seeds():
    runs = [{"diagnostic": {"metrics": {"precision@1000": p, "median_rank": m}}} for p, m in ((0.01, 100), (0.03, 300))]
    summary = summarize_runs(runs)
    assert summary["precision@1000"] == {"mean": pytest.approx(0.02), "std": pytest.approx(0.01), "n": 2}
    assert summary["median_rank"]["mean"] == 200 and summary["median_rank"]["std"] == 100
    assert np.isclose(summarize_runs(runs[:1])["median_rank"]["std"], 0.0)


def test_a_changed_dataset_is_refused(compared, first_run, tmp_path, monkeypatch, capsys):
    copy, args = _copy(compared, tmp_path)
    save_dataset(generate_synthetic(n_companies=200, n_investors=80, seed=2, name="small"), tmp_path / "other")
    monkeypatch.setattr("tgnrank.train.runs.train_runs", _refuse_training)
    moved = [*args, "--data_dir", str(tmp_path / "other")]
    assert main(moved) == 2
    error = capsys.readouterr().err
    assert "dataset 'small' changed" in error and "--restart" in error


TINY_FUSION = ["--fusion_trees", "10", "--fusion_negatives", "20", "--fusion_windows", "1", "--fusion_min_leaf", "5"]


@pytest.fixture(scope="module")
def ranking_run(compared):
    """One ``--preset ranking`` comparison (one seed, one epoch, a ten-tree fusion) on the same dataset."""
    root, _, args = compared
    out = root / "ranking"
    ranking_args = [*args[:args.index("--out") + 1], str(out), *args[args.index("--out") + 2:],
                    "--preset", "ranking", *TINY_FUSION]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(ranking_args) == 0
    return out, ranking_args, printed.getvalue()


def test_ranking_preset_adds_the_wired_configurations_and_a_fusion_column(ranking_run):
    from tgnrank.experiments.presets import preset_configurations

    out, _, printed = ranking_run
    results = json.loads((out / "compare.json").read_text())
    expected = [c.name for c in preset_configurations("ranking")]  # the refusal table as it is now
    assert [c["name"] for c in results["configurations"]] == expected and expected[:4] == NAMES
    assert "softmax" in expected  # --loss softmax trains
    (fusion_run,) = results["fusion"]["runs"]
    assert fusion_run["prefix"] == "fusion" and set(fusion_run["diagnostic"]) >= {"metrics", "recall_curve"}
    assert sum(fusion_run["importances"].values()) == pytest.approx(1.0)
    assert results["fusion"]["summary"]["mrr"]["n"] == 1
    assert results["ensemble"]["members"] == expected
    header = next(line for line in printed.splitlines() if line.startswith("Metric"))
    assert re.split(r"\s{2,}", header.strip())[-3:-1] == ["Ensemble", "Fusion"]
    report = (out / "report.md").read_text()
    assert "| Ensemble | Fusion | " in report
    assert "## Learned fusion: feature importances" in report and "](fusion_importances.png)" in report
    assert "Softmax vs Baseline: Recall@1000" in report and "Fusion vs " in report
    assert (out / "fusion_importances.png").is_file()
    assert (out / "report.html").read_text().count('src="data:image/png;base64,') == 4


def test_ranking_preset_resumes_without_training_or_refitting(ranking_run, tmp_path, monkeypatch, capsys):
    out, args, printed = ranking_run
    copy = tmp_path / "ranking"
    shutil.copytree(out, copy)
    monkeypatch.setattr("tgnrank.train.runs.train_runs", _refuse_training)
    monkeypatch.setattr("tgnrank.eval.fusion.fit_fusion", _refuse_training)
    assert main([*args[:args.index("--out") + 1], str(copy), *args[args.index("--out") + 2:]]) == 0
    assert capsys.readouterr().out.split("\nreport:")[0] == printed.split("\nreport:")[0]

    class Refitted(Exception):
        pass

    def refit(*rest, **kwargs):
        raise Refitted

    monkeypatch.setattr("tgnrank.eval.fusion.fit_fusion", refit)
    with pytest.raises(Refitted):  # other fusion options refit the fusion, and train nothing
        main([*args[:args.index("--out") + 1], str(copy), *args[args.index("--out") + 2:], "--fusion_trees", "11"])


def test_the_fusion_is_fitted_before_the_compared_window(ranking_run):
    from tgnrank.data import load_dataset
    from tgnrank.eval.protocol import build_window
    from tgnrank.experiments.compare import fusion_fitting_window
    from tgnrank.experiments.presets import CompareSettings

    out, _, _ = ranking_run
    data = load_dataset("small", out.parent / "data")
    for window in ("test", "val"):
        settings = CompareSettings(base=TrainConfig(data="small"), window=window)
        candidates = build_window(data.events, window, 0.70, 0.85)
        start, end = fusion_fitting_window(settings, data, candidates)
        assert end == pytest.approx(candidates.t_start) and start < end


def test_ranking_preset_leaves_out_what_training_refuses(monkeypatch, caplog):
    from tgnrank.experiments.presets import preset_configurations

    refusing = {"neg_sampling": ("uniform",), "link_predictor": ("mlp",), "early_stop_metric": ("ap",)}
    caplog.set_level("WARNING", logger="tgnrank.experiments.presets")
    names = [c.name for c in preset_configurations("ranking", refusing)]
    assert names == [*NAMES, "softmax"]
    notes = {r.getMessage(): r.parameters for r in caplog.records}
    left_out = "preset ranking: left out '{}' ({} is not implemented by training yet)"
    assert notes[left_out.format("degree", "neg_sampling degree")] == ("preset", "neg_sampling")
    assert notes[left_out.format("pairwise", "link_predictor pairwise")] == ("preset", "link_predictor")
    monkeypatch.setattr("tgnrank.train.runs.NOT_YET_IMPLEMENTED", {"loss": ("bce", "focal")}, raising=False)
    assert [c.name for c in preset_configurations("ranking")] == [*NAMES, "pairwise"]  # read at call time
    with pytest.raises(ConfigError, match=r"^preset must be one of \['guide', 'ranking'\], got 'everything'$"):
        preset_configurations("everything")


def test_the_guide_preset_is_the_default_and_has_no_fusion(compared, first_run):
    from tgnrank.cli.compare import settings_from_args
    from tgnrank.cli.main import build_parser

    _, out, args = compared
    settings = settings_from_args(build_parser().parse_args(args))
    assert settings.configurations == GUIDE_CONFIGURATIONS and not settings.fusion
    results = json.loads((out / "compare.json").read_text())
    assert "fusion" not in results and "fusions" in json.loads((out / STATE_FILE).read_text())
    assert "Contribution" not in (out / "report.md").read_text() and not (out / "fusion_importances.png").exists()
