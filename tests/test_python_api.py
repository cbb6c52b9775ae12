"""The Python API (``import tgnrank``): return types, silence, progress, and the same results as the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

import tgnrank
from tgnrank.cli.main import main
from tgnrank.errors import ConfigError
from tgnrank.train.records import TrainingCallbacks

SMALL_MODEL = dict(use_memory=True, memory_dim=16, node_dim=16, time_dim=8, message_dim=16, n_degree=5, bs=200)
SMALL_FLAGS = ["--use_memory", "--memory_dim", "16", "--node_dim", "16", "--time_dim", "8", "--message_dim", "16",
               "--n_degree", "5", "--bs", "200", "--n_epoch", "1"]
FAST_FUSION = dict(fusion_trees=10, fusion_negatives=30, fusion_min_leaf=5, fusion_windows=2)
FAST_FUSION_FLAGS = [f"--{name}={value}" for name, value in FAST_FUSION.items()]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(root, data, training result): the small synthetic dataset and a model trained on it for one epoch."""
    root = tmp_path_factory.mktemp("api")
    data = tgnrank.generate_synthetic("small", n_companies=200, n_investors=80, seed=1, data_dir=root / "data")
    config = tgnrank.TrainConfig(data="small", data_dir=str(root / "data"), prefix="api", n_epoch=1, **SMALL_MODEL)
    return root, data, tgnrank.train_model(config, root=root)


def cli_json(capsys, argv: list[str]) -> dict:
    capsys.readouterr()
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_import_is_cheap_and_changes_nothing():
    code = ("import os, sys; before = dict(os.environ); import tgnrank; tgnrank.diagnose; tgnrank.TrainConfig; "
            "print(dict(os.environ) == before, 'torch' in sys.modules)")
    printed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert printed.stdout.split() == ["True", "False"]
    assert printed.stderr == ""


def test_every_public_name_resolves_and_unknown_names_fail():
    for name in tgnrank.__all__:
        assert getattr(tgnrank, name) is not None
    assert set(tgnrank.__all__) <= set(dir(tgnrank))
    assert tgnrank.TrainConfig is __import__("tgnrank.train.config", fromlist=["TrainConfig"]).TrainConfig
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        tgnrank.nope


def test_datasets_are_written_and_loaded_back(tmp_path, capsys):
    data = tgnrank.generate_synthetic("gen", n_companies=30, n_investors=12, seed=3, data_dir=tmp_path)
    loaded = tgnrank.load_dataset("gen", tmp_path)
    assert isinstance(loaded, tgnrank.EventData) and loaded.n_events == data.n_events > 0
    assert (loaded.events.timestamps == data.events.timestamps).all()
    unsaved = tgnrank.generate_synthetic("other", n_companies=30, n_investors=12, seed=3, data_dir=tmp_path, save=False)
    assert unsaved.n_events == data.n_events and not (tmp_path / "ml_other.csv").exists()
    assert capsys.readouterr() == ("", "")
    with pytest.raises(ConfigError, match="n_companies must be an integer >= 1"):
        tgnrank.generate_synthetic("bad", n_companies=0, data_dir=tmp_path)
    with pytest.raises(ConfigError, match="name must be a non-empty file-name stem"):
        tgnrank.generate_synthetic("a/b", n_companies=3, data_dir=tmp_path)


def test_import_crunchbase_returns_the_data_and_its_summary(tmp_path, capsys):
    export = tmp_path / "export.csv"
    export.write_text("company_name,investor_name,funded_at\nAcme,Fund A,2010-01-05\nAcme,Fund B,2010-03-01\n"
                      "Beta,Fund A,2011-06-01\nGamma,Fund B,2011-09-01\n", encoding="utf-8")
    data, summary = tgnrank.import_crunchbase(export, name="cb", data_dir=tmp_path / "data")
    assert data.n_events == 4 and summary.lines()
    assert tgnrank.load_dataset("cb", tmp_path / "data").n_events == 4
    assert capsys.readouterr() == ("", "")


def test_training_returns_models_and_tables_and_prints_nothing(trained, capsys):
    root, data, result = trained
    assert isinstance(result, tgnrank.TrainingResult) and len(result.models) == 1
    model = result.model
    assert isinstance(model, tgnrank.TrainedModel) and model.path == root / "saved_models" / "api-small.pth"
    assert model.name == "api-small" and model.dataset == "small" and model.config.memory_dim == 16
    assert isinstance(result.runs, pd.DataFrame) and list(result.runs["run"]) == [0]
    assert {"seed", "best_epoch", "test_ap", "new_node_test_auc", "model_path"} <= set(result.runs.columns)
    assert isinstance(result.history, pd.DataFrame) and len(result.history) == 1
    assert {"epoch", "train_loss", "val_ap", "val_mrr", "run"} <= set(result.history.columns)
    assert result.results_path.exists()
    assert tgnrank.load_model(model.path).metrics["test_ap"] == result.runs["test_ap"][0]


def test_training_reports_progress_to_a_callback_and_only_there(tmp_path, trained, capsys):
    root, _, _ = trained
    config = tgnrank.TrainConfig(data="small", data_dir=str(root / "data"), prefix="cb", n_epoch=1, **SMALL_MODEL)
    seen = []

    class Epochs(TrainingCallbacks):
        records = []

        def on_epoch_end(self, record):
            self.records.append(record)

    result = tgnrank.train_model(config, root=tmp_path, progress=lambda *event: seen.append(event), callbacks=Epochs())
    assert capsys.readouterr() == ("", "")
    assert [record.epoch for record in Epochs.records] == [0]
    assert Epochs.records[0].train_loss == result.history["train_loss"][0]
    assert seen[0] == ("run 0 epoch 0", 0, seen[-1][2]) and seen[-1][1] == seen[-1][2] > 0
    assert all(stage == "run 0 epoch 0" for stage, _, _ in seen)
    with pytest.raises(TypeError, match="config must be a TrainConfig"):
        tgnrank.train_model({"data": "small"})


def test_training_equals_the_command_on_the_same_seed(trained, tmp_path, monkeypatch, capsys):
    root, _, result = trained
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--data", "small", "--data_dir", str(root / "data"), "--prefix", "api", *SMALL_FLAGS]) == 0
    capsys.readouterr()
    from_cli = tgnrank.load_model(tmp_path / "saved_models" / "api-small.pth")
    for key in ("train_losses", "val_aps", "val_mrrs", "test_ap", "test_auc", "new_node_test_ap"):
        assert from_cli.metrics[key] == result.model.metrics[key], key
    assert from_cli.checkpoint["config"] == result.model.checkpoint["config"]


def test_diagnose_returns_dataframes_equal_to_the_command(trained, tmp_path, capsys):
    root, data, result = trained
    path = result.model.path
    diagnostic = tgnrank.diagnose(result.model, data_dir=root / "data", ks=(10, 100))
    assert capsys.readouterr() == ("", "")
    assert isinstance(diagnostic, tgnrank.DiagnosticResult) and diagnostic.model == "api-small"
    metrics = diagnostic.metrics
    assert isinstance(metrics, pd.DataFrame)
    assert list(metrics.index) == ["api-small", "random", "popularity", "recency", "coinvestment", "ppr"]
    assert {"precision@10", "recall@100", "median_rank", "mrr", "hits@10"} <= set(metrics.columns)
    assert list(diagnostic.top_predictions.columns) == ["rank", "company", "investor", "company_id", "investor_id",
                                                        "score", "hit"]
    assert len(diagnostic.top_predictions) == 20
    assert set(diagnostic.recall_curves["scorer"]) == set(metrics.index) - {"random"}
    assert diagnostic.fusion_importances is None and diagnostic.best_baseline in metrics.index
    assert diagnostic.report().startswith("Temporal validation diagnostic: dataset 'small'")
    assert repr(diagnostic).startswith("DiagnosticResult(model='api-small', test window: ")

    assert main(["diagnose", "--model_path", str(path), "--auto_detect_params", "--data_dir", str(root / "data"),
                 "--k", "10,100", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    cli = json.loads((tmp_path / "diagnostic-api-small-test.json").read_text())
    for key in ("window", "top_predictions", "best_baseline", "model_beats_best_baseline", "checkpoint"):
        assert diagnostic.raw[key] == cli[key], key
    for name, entry in cli["scorers"].items():
        assert diagnostic.raw["scorers"][name]["metrics"] == entry["metrics"], name
    diagnostic.save(tmp_path / "api.json")
    assert json.loads((tmp_path / "api.json").read_text())["scorers"].keys() == cli["scorers"].keys()


def test_diagnose_with_baselines_only_and_an_ensemble(trained, tmp_path, capsys):
    root, data, result = trained
    alone = tgnrank.diagnose(data=data, baselines=["popularity"], window="val", ks=(10,))
    assert alone.model is None and list(alone.metrics.index) == ["random", "popularity"]
    copy = tmp_path / "copy.pth"
    copy.write_bytes(result.model.path.read_bytes())
    both = tgnrank.diagnose([result.model, copy], data=data, baselines=("ppr",), weights=[2, 1], ks=(10,))
    assert list(both.metrics.index) == ["api-small", "copy", "ensemble", "random", "ppr"]
    assert both.raw["member_weights"] == pytest.approx([2 / 3, 1 / 3])
    assert both.metrics.loc["api-small", "mrr"] == both.metrics.loc["ensemble", "mrr"]
    assert capsys.readouterr() == ("", "")
    for bad, message in ((dict(ks=(0,)), "ks must be integers >= 1"), (dict(baselines=["nope"]), "unknown"),
                         (dict(batch_size=0), "batch_size must be")):
        with pytest.raises(ConfigError, match=message):
            tgnrank.diagnose(data=data, **bad)


def test_diagnose_reports_progress_per_scorer(trained, capsys):
    _, data, result = trained
    seen = []
    tgnrank.diagnose(result.model, data=data, baselines=["ppr"], progress=lambda *event: seen.append(event))
    assert {stage for stage, _, _ in seen} == {"api-small", "ppr"}
    assert all(done <= total for _, done, total in seen)
    tgnrank.diagnose(data=data, baselines=["ppr"], progress=True)
    out, err = capsys.readouterr()
    assert out == "" and "ppr" in err  # the tqdm bar


@pytest.fixture(scope="module")
def fused(trained, tmp_path_factory):
    """(the API's fuse result, the command's result JSON, the booster the command wrote) for the trained model."""
    root, _, result = trained
    out = tmp_path_factory.mktemp("fuse")
    api = tgnrank.fuse(result.model, data_dir=root / "data", options=tgnrank.FusionOptions(**FAST_FUSION))
    assert main(["fuse", "--model_path", str(result.model.path), "--auto_detect_params", "--data_dir",
                 str(root / "data"), "--out", str(out), *FAST_FUSION_FLAGS]) == 0
    cli = json.loads((out / "diagnostic-fusion-api-small-test.json").read_text())
    return api, cli, out / "diagnostic-fusion-api-small-test.lgb.txt"


def test_fuse_equals_the_command(fused, capsys):
    api, cli, _ = fused
    assert api.model == "fusion" and "api-small" in api.metrics.index
    assert list(api.fusion_importances.columns) == ["feature", "gain"]
    assert "api-small_score" in set(api.fusion_importances["feature"])
    assert api.ranker is not None and len(api.raw["fusion"]["windows"]) == 2
    assert api.raw["fusion"] == cli["fusion"]
    for name, entry in cli["scorers"].items():
        assert api.raw["scorers"][name]["metrics"] == entry["metrics"], name


def test_fuse_prints_nothing(trained, capsys):
    _, data, _ = trained
    tgnrank.fuse(data=data, options=tgnrank.FusionOptions(**FAST_FUSION), baselines=["ppr"], ks=(10,))
    assert capsys.readouterr() == ("", "")


def test_recommend_returns_a_dataframe_equal_to_the_command(trained, capsys):
    root, data, result = trained
    frame = tgnrank.recommend(result.model, "#5", k=5, at="2014-01-01", data_dir=root / "data")
    assert capsys.readouterr() == ("", "")
    assert isinstance(frame, pd.DataFrame) and list(frame["rank"]) == [1, 2, 3, 4, 5]
    assert list(frame.columns[:6]) == ["rank", "investor_id", "investor", "score", "percentile", "invested_later"]
    assert frame["score"].is_monotonic_decreasing
    assert frame.attrs["company_id"] == 5 and frame.attrs["at"] == "2014-01-01"
    by_name = tgnrank.recommend(result.model.path, frame.attrs["company"], k=5, at="2014-01-01", data=data)
    pd.testing.assert_frame_equal(by_name, frame)
    cli = cli_json(capsys, ["recommend", "--model_path", str(result.model.path), "--company", "#5", "--k", "5",
                            "--at", "2014-01-01", "--data_dir", str(root / "data"), "--format", "json"])
    assert frame.to_dict("records") == cli["recommendations"]
    assert {key: value for key, value in frame.attrs.items()} == {k: v for k, v in cli.items() if k != "recommendations"}
    with pytest.raises(ConfigError, match="k must be an integer >= 1"):
        tgnrank.recommend(result.model, 5, k=0, data=data)


def test_recommend_calibrated_adds_the_probability_column(trained, capsys):
    _, data, result = trained
    frame = tgnrank.recommend(result.model, 5, k=3, data=data, calibrate=True, calibration_negatives=500)
    assert capsys.readouterr() == ("", "")
    probability = [column for column in frame.columns if column.startswith("p_new_link_within_")]
    assert len(probability) == 1 and frame[probability[0]].between(0, 1).all()
    assert "calibration" in frame.attrs


@pytest.mark.parametrize("progress", ["bars", 1])
def test_a_bad_progress_argument_is_a_type_error(trained, progress):
    _, data, _ = trained
    with pytest.raises(TypeError, match="progress must be None, True or a callable"):
        tgnrank.diagnose(data=data, progress=progress)


def test_the_api_sets_no_environment_variable(trained):
    before = dict(os.environ)
    _, data, result = trained
    tgnrank.recommend(result.model, 5, k=2, data=data, device=torch.device("cpu"))
    assert dict(os.environ) == before


def busiest_company(data) -> int:
    return int(np.bincount(data.events.sources).argmax())


def test_explain_returns_the_evidence_as_dataframes_equal_to_the_command(trained, capsys):
    root, data, result = trained
    company = busiest_company(data)
    top = tgnrank.recommend(result.model, company, k=3, data=data)
    investor = int(top["investor_id"][1])
    explained = tgnrank.explain(result.model, company, investor, data=data)
    assert capsys.readouterr() == ("", "")
    assert isinstance(explained, tgnrank.InvestorExplanation)
    summary = explained.summary
    assert (summary["rank"], summary["investor_id"], summary["ranker"]) == (2, investor, "model")
    assert summary["score"] == pytest.approx(top["score"][1])
    for table, columns in ((explained.coinvestors, {"partner", "n_shared_companies", "n_joint_rounds"}),
                           (explained.paths, {"partner", "via", "walk_probability"}),
                           (explained.activity, {"scope", "deals_last_12_months", "long_run_per_year"}),
                           (explained.similar_deals, {"company", "date", "similarity"}),
                           (explained.cited_deals, {"company", "investor", "day", "date"})):
        assert isinstance(table, pd.DataFrame) and columns <= set(table.columns)
    assert list(explained.activity["scope"])[0] == "all"
    assert (explained.cited_deals["day"] <= data.events.timestamps.max()).all()
    assert explained.contributions is None
    assert explained.text().startswith(f"#2 {summary['investor']}")
    assert explained.html().startswith("<!DOCTYPE html>")
    cli = cli_json(capsys, ["explain", "--model_path", str(result.model.path), "--company", f"#{company}",
                            "--investor", f"#{investor}", "--data_dir", str(root / "data"), "--format", "json"])
    assert json.loads(json.dumps(explained.to_dict())) == cli["explanations"][0]


def test_explain_refuses_a_past_investor(trained):
    _, data, result = trained
    company = busiest_company(data)
    past = int(data.events.destinations[data.events.sources == company][0])
    with pytest.raises(ConfigError, match="already invested") as error:
        tgnrank.explain(result.model, company, past, data=data)
    assert error.value.parameters == ("investor",)


def test_recommend_explained_and_fused_equal_the_command(trained, fused, capsys):
    root, data, result = trained
    _, _, booster = fused
    company = busiest_company(data)
    frame = tgnrank.recommend(result.model, company, k=3, data=data, explain=True)
    assert all(isinstance(item, tgnrank.InvestorExplanation) for item in frame["explanation"])
    assert [item.summary["investor_id"] for item in frame["explanation"]] == list(frame["investor_id"])
    cli = cli_json(capsys, ["recommend", "--model_path", str(result.model.path), "--company", f"#{company}", "--k",
                            "3", "--data_dir", str(root / "data"), "--format", "json", "--explain"])
    assert [json.loads(json.dumps(item.to_dict())) for item in frame["explanation"]] == cli["explanations"]

    api_fused, _, _ = fused
    in_memory = tgnrank.recommend(result.model, company, k=3, data=data, fusion=api_fused, explain=True)
    from_file = tgnrank.recommend(result.model, company, k=3, data=data, fusion=booster)
    assert in_memory.attrs["ranker"] == "fusion" and list(in_memory["investor_id"]) == list(from_file["investor_id"])
    contributions = in_memory["explanation"][0].contributions
    assert list(contributions.columns) == ["feature", "value", "contribution"]
    assert set(contributions["feature"]) == set(api_fused.ranker.feature_names)
    assert {"fused_score", "expected_value"} <= set(contributions.attrs)
    # the company model moves all of one company's scores together, so recommend shows the within-company
    # scores, as from the saved booster, and the contributions add up to them
    np.testing.assert_allclose(in_memory["score"], from_file["score"], rtol=1e-6)
    assert contributions["contribution"].sum() + contributions.attrs["expected_value"] == pytest.approx(
        in_memory["score"].iloc[0], rel=1e-5)
    cli = cli_json(capsys, ["recommend", "--model_path", str(result.model.path), "--company", f"#{company}", "--k",
                            "3", "--data_dir", str(root / "data"), "--format", "json", "--fusion", str(booster)])
    assert from_file.to_dict("records") == cli["recommendations"]
    assert capsys.readouterr() == ("", "")
