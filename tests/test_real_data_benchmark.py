"""benchmarks/real_data_ranking.py: the table's arithmetic on hand-built diagnostics, its fallbacks with a
fake command runner, and one end-to-end run of the product's commands on a tiny export written here."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SPEC = importlib.util.spec_from_file_location("real_data_ranking", ROOT / "benchmarks" / "real_data_ranking.py")
bench = importlib.util.module_from_spec(SPEC)
sys.modules[SPEC.name] = bench  # dataclasses look their module up there
SPEC.loader.exec_module(bench)

TINY_MODEL = "--memory_dim 8 --node_dim 8 --time_dim 8 --message_dim 8 --bs 50 --gpu -1"


def write_export(path: Path, n_rows: int = 400, seed: int = 0) -> Path:
    """An export with the real one's columns: ~60 companies, 30 investors (heavy-tailed activity), 2005-2012,
    NA for missing codes and amounts; random pairs over time give val and test windows new links between
    nodes already seen."""
    rng = np.random.default_rng(seed)
    companies = rng.integers(0, 60, n_rows)
    investors = (rng.zipf(1.6, n_rows) - 1) % 30
    first, last = dt.date(2005, 1, 1).toordinal(), dt.date(2012, 12, 31).toordinal()
    days = np.sort(rng.integers(first, last, n_rows))
    categories = ("Software", "Biotech", "Hardware + Software", "Mobile")
    round_types, codes = ("venture", "seed", "angel"), ("A", "B", "C", "NA")
    lines = ["company_name,company_category_list,investor_name,funding_round_type,funding_round_code,funded_at,"
             "raised_amount_usd"]
    for company, investor, day in zip(companies, investors, days):
        amount = "NA" if rng.random() < 0.2 else str(int(rng.integers(1, 50)) * 100_000)
        lines.append(f"Company {company},{categories[company % 4]},Investor {investor},"
                     f"{round_types[rng.integers(3)]},{codes[rng.integers(4)]},"
                     f"{dt.date.fromordinal(int(day)).isoformat()},{amount}")
    path.write_text("\n".join(lines) + "\n")
    return path


def metrics(recall: float, mrr: float, median_pct: float, precision: float = 0.01, hits: float = 0.1) -> dict:
    return {"precision@1000": precision, "recall@1000": recall, "median_rank_pct": median_pct, "mrr": mrr,
            "hits@10": hits}


def diagnostic(scorers: dict[str, dict], best: str = "ppr") -> dict:
    baselines = {name: metrics(0.1, 0.02, 20.0) for name in bench.BASELINES}
    baselines["ppr"] = metrics(0.2, 0.05, 2.0)
    return {"window": {"n_positives": 5, "n_candidates": 100}, "best_baseline": best,
            "scorers": {name: {"metrics": value} for name, value in {**scorers, **baselines}.items()}}


def test_rows_hold_mean_std_and_ratios_to_the_best_baseline():
    runs = {"baseline": ("model", [metrics(0.1, 0.04, 4.0), metrics(0.3, 0.06, 2.0)])}
    rows = bench.window_rows(runs, diagnostic({}))
    assert [row["name"] for row in rows] == ["baseline", *bench.BASELINES]
    model = rows[0]
    assert model["n"] == 2 and model["mean"]["recall@1000"] == pytest.approx(0.2)
    assert model["std"]["mrr"] == pytest.approx(np.std([0.04, 0.06], ddof=1))
    # best (ppr): R@1000 0.2, MRR 0.05, median 2%; the model's means: 0.2, 0.05, 3% -> 2 / 3 on the median
    assert model["ratios"] == pytest.approx({"recall@1000": 1.0, "mrr": 1.0, "median_rank_pct": 2.0 / 3.0})
    best = next(row for row in rows if row["best_baseline"])
    assert best["name"] == "ppr" and best["ratios"] == pytest.approx({key: 1.0 for key in best["ratios"]})
    popularity = next(row for row in rows if row["name"] == "popularity")
    assert popularity["ratios"] == pytest.approx({"recall@1000": 0.5, "mrr": 0.4, "median_rank_pct": 0.1})


def test_ratio_without_a_denominator_is_shown_as_not_available():
    rows = bench.window_rows({}, {**diagnostic({}), "best_baseline": "random"} | {
        "scorers": {name: {"metrics": metrics(0.0, 0.0, 50.0)} for name in bench.BASELINES}})
    assert rows[0]["ratios"]["recall@1000"] is None
    assert "n/a" in bench.markdown_table(rows)[2]


def test_one_seed_shows_no_spread_and_percentages_are_scaled():
    rows = bench.window_rows({"baseline": ("model", [metrics(0.25, 0.0123, 3.5)])}, diagnostic({}))
    cells = bench.markdown_table(rows)[2].split(" | ")
    assert "±" not in bench.markdown_table(rows)[2]
    assert cells[3:6] == ["25.00%", "3.50%", "0.0123"]


def test_error_line_names_the_refusal():
    done = subprocess.CompletedProcess([], 2, stdout="", stderr="usage: ...\ntgnrank train: error: unrecognized "
                                                                 "arguments: --nope\n")
    assert bench.error_line(done) == "tgnrank train: error: unrecognized arguments: --nope"


def test_unknown_config_or_window_is_refused_naming_the_flag(tmp_path):
    csv = write_export(tmp_path / "export.csv", n_rows=5)
    with pytest.raises(SystemExit, match="--configs .*baseline"):
        bench.main(["--csv", str(csv), "--configs", "nope"])
    with pytest.raises(SystemExit, match="--windows"):
        bench.main(["--csv", str(csv), "--windows", "train"])


class FakeRun:
    """Stands for :class:`Runner`: answers each command with a diagnostic JSON, failing ``fail`` stages."""

    def __init__(self, work: Path, fail: str = "") -> None:
        self.work, self.fail, self.commands = work, fail, []

    def __call__(self, name: str, command: list[str]) -> subprocess.CompletedProcess:
        self.commands.append(command)
        if self.fail and name.startswith(self.fail):
            return subprocess.CompletedProcess(command, 2, "", "tgnrank fuse: error: no lightgbm\n")
        stem = Path(command[command.index("--model_path") + 1]).stem if "--model_path" in command else None
        scorers = {stem: metrics(0.2, 0.05, 2.0)} if stem else {}
        if "--fusion" in command or "fuse" in command:
            scorers[bench.FUSION] = metrics(0.3, 0.06, 1.0)
        path = self.work / f"{name}.json"
        path.write_text(json.dumps(diagnostic(scorers)))
        return subprocess.CompletedProcess(command, 0, f"results: {path.name}\n", "")


def window_args(fusion: bool):
    return bench.build_parser().parse_args(["--csv", "x.csv", *([] if fusion else ["--no-fusion"])])


def test_without_fusion_each_model_gets_a_plain_diagnostic(tmp_path):
    run = FakeRun(tmp_path)
    table, failures = bench.run_window(run, "test", {"baseline": ["baseline-s0-cbbench"]}, window_args(False), [])
    assert failures == {} and [command[3] for command in run.commands] == ["diagnose"]
    assert "--fusion" not in run.commands[0]
    assert [row["name"] for row in table["rows"]] == ["baseline", *bench.BASELINES]


def test_a_failing_fusion_is_reported_and_the_models_still_ranked(tmp_path):
    run = FakeRun(tmp_path, fail="fuse")
    table, failures = bench.run_window(run, "val", {"baseline": ["baseline-s0-cbbench"]}, window_args(True), [])
    assert failures == {"fusion": "tgnrank fuse: error: no lightgbm"}
    assert "--fusion" not in run.commands[-1] and "--window" in run.commands[-1]
    assert [row["name"] for row in table["rows"]] == ["baseline", *bench.BASELINES]


def test_without_models_the_baselines_come_from_a_baselines_only_diagnostic(tmp_path):
    run = FakeRun(tmp_path)
    table, _ = bench.run_window(run, "test", {}, window_args(False), [])
    assert "--baselines-only" in run.commands[0]
    assert [row["name"] for row in table["rows"]] == list(bench.BASELINES)


def test_end_to_end_on_a_tiny_export(tmp_path, monkeypatch):
    csv = write_export(tmp_path / "export.csv")
    work = tmp_path / "work"
    monkeypatch.setitem(bench.CONFIGS, "refused", ("--use_memory", "--no_such_flag"))
    summary = bench.main(["--csv", str(csv), "--configs", "baseline,refused", "--n_epoch", "1", "--seeds", "0",
                          "--work", str(work), "--train_args", TINY_MODEL])

    assert "no_such_flag" in summary["skipped"]["refused"] and len(summary["skipped"]) == 1
    table = summary["windows"]["test"]
    rows = {row["name"]: row for row in table["rows"]}
    assert list(rows) == ["baseline", bench.FUSION_ALONE, "fusion + baseline", *bench.BASELINES]
    assert rows[table["best_baseline"]]["best_baseline"]
    # the model's row is its column in the fused diagnostic's JSON
    fused = json.loads((work / "results" / "diagnostic-fusion-baseline-s0-cbbench-test.json").read_text())
    assert rows["baseline"]["mean"]["mrr"] == pytest.approx(fused["scorers"]["baseline-s0-cbbench"]["metrics"]["mrr"])
    assert rows["fusion + baseline"]["mean"]["mrr"] == pytest.approx(fused["scorers"]["fusion"]["metrics"]["mrr"])
    best = rows[table["best_baseline"]]["mean"]
    for row in rows.values():
        assert all(0 < value < np.inf for value in row["ratios"].values())
        assert row["ratios"]["mrr"] == pytest.approx(row["mean"]["mrr"] / best["mrr"])
        assert row["ratios"]["median_rank_pct"] == pytest.approx(best["median_rank_pct"] / row["mean"]["median_rank_pct"])
    # every pair fits in the top 1000 here, so the best baseline is the one with the lowest median rank
    assert all(rows[name]["ratios"]["median_rank_pct"] <= 1.0 for name in bench.BASELINES)
    assert rows["random"]["ratios"]["median_rank_pct"] < 1.0

    markdown = (work / "real_data_ranking.md").read_text()
    assert all(f"| {name}" in markdown for name in rows) and "no_such_flag" in markdown
    assert json.loads((work / "real_data_ranking.json").read_text())["windows"]["test"]["rows"] == table["rows"]
    assert [stage["name"] for stage in summary["stages"]][:3] == ["import", "train-baseline-s0", "train-refused-s0"]
    assert (work / "data" / "ml_cbbench.csv").is_file() and not (ROOT / "data" / "ml_cbbench.csv").exists()
