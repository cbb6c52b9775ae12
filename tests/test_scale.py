"""benchmarks/scale.py end to end on a tiny dataset: every stage runs in its own process and reports
figures that agree with the files it wrote."""

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from tgnrank.data import open_dataset
from tgnrank.eval.protocol import build_window

ROOT = Path(__file__).resolve().parents[1]


def _scale_module():
    spec = importlib.util.spec_from_file_location("scale_benchmark", ROOT / "benchmarks" / "scale.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_scale_benchmark_reports_consistent_figures_on_a_tiny_dataset(tmp_path, capsys):
    scale = _scale_module()
    report = scale.main(["--events", "1500", "--workdir", str(tmp_path), "--threads", "1",
                         "--json", str(tmp_path / "scale.json")])
    assert json.loads((tmp_path / "scale.json").read_text()) == report
    assert json.loads(capsys.readouterr().out) == report

    generated, train, diagnose, summary = report["generate"], report["train"], report["diagnose"], report["summary"]
    data = open_dataset("scale", tmp_path / "data")
    assert generated["n_events"] == data.n_events == summary["n_events"]
    assert 1000 <= data.n_events <= 2000  # about the requested 1500
    assert generated["n_investors"] == round(generated["n_companies"] * 2500 / 8000)

    assert train["n_train_events"] > 0 and train["epoch_seconds"] > 0
    assert train["events_per_second"] == pytest.approx(train["n_train_events"] / train["epoch_seconds"], rel=0.05)
    checkpoint = Path(train["checkpoint"])
    assert train["checkpoint_mb"] == round(checkpoint.stat().st_size / 1e6, 2)
    stored = torch.load(checkpoint, weights_only=True)
    assert stored["memory_state"]["encoding"] and "pending_blocks" in train["checkpoint_parts_mb"]
    assert set(train["dense_memory_state_parts_mb"]) >= {"memory", "pending_messages"}

    config = stored["config"]
    candidates = build_window(data.events, "test", config["train_quantile"], config["val_quantile"])
    assert diagnose["n_candidates"] == candidates.n_candidates == summary["n_candidate_pairs"]
    assert diagnose["n_positives"] == candidates.n_positives > 0
    assert diagnose["n_history_events"] == len(candidates.history)
    assert diagnose["candidate_pairs_per_second"] > 0 and 0 <= diagnose["recall@1000"] <= 1
    assert diagnose["peak_rss_mb"] >= diagnose["peak_rss_mb_before_ranking"] > 0
    during = diagnose["rss_mb_during_model_ranking"]
    assert during["blocks"] >= 1 and 0 < during["first_block"] <= during["max"] <= diagnose["peak_rss_mb"]
    assert report["peak_rss_mb"] == max(report[stage]["peak_rss_mb"] for stage in ("generate", "train", "diagnose"))
    assert 0 < report["peak_rss_mb"] < 8000


def test_the_scale_benchmark_refuses_too_few_events(capsys):
    with pytest.raises(SystemExit):
        _scale_module().main(["--events", "10"])
    assert "--events must be an integer >= 1000" in capsys.readouterr().err


def test_the_rss_watch_reports_the_first_middle_and_last_blocks(monkeypatch):
    scale = _scale_module()
    readings = iter([100.0, 120.0, 110.0, 105.0])
    monkeypatch.setattr(scale, "current_rss_mb", lambda: next(readings))
    watch = scale.RssWatch()
    for done in (10, 20, 30, 40):
        watch("tgn", done, 40)
    assert watch.figures("tgn") == {"first_block": 100.0, "half": 120.0, "last_block": 105.0, "max": 120.0, "blocks": 4}
