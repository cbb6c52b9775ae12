"""The comparison report rendered from a hand-made results dict."""

from __future__ import annotations

import base64
import json
import re

import pytest

from tgnrank.experiments.report import FIGURES, format_table, guide_table, render_html, render_markdown, write_report
from tgnrank.experiments.results import (
    ComparisonResults,
    RankQuantiles,
    RecallCurve,
    TopPrediction,
    rank_quantiles,
    summarize_runs,
)

LABELS = {"baseline": "Baseline", "focal": "Focal", "hardneg": "Hard Neg", "focal-hardneg": "Focal+Hard"}
N_CANDIDATES = 50_000


def metrics(precision: float, recall: float, median_rank: float, lift: float) -> dict:
    return {
        "precision@100": precision, "recall@100": recall / 4, "precision@1000": precision, "recall@1000": recall,
        "median_rank": median_rank, "median_rank_pct": 100 * median_rank / N_CANDIDATES, "lift@1000": lift,
        "mrr": 0.1, "hits@10": 0.2, "n_positives": 100, "n_candidates": N_CANDIDATES,
    }


def run(name: str, seed: int, values: tuple, beats: bool, top=None) -> dict:
    return {
        "seed": seed,
        "prefix": f"{name}-s{seed}",
        "checkpoint": f"out/saved_models/{name}-s{seed}-x.pth",
        "training_seconds": 12.0,
        "training": {"train_losses": [0.9, 0.7, 0.6], "val_aps": [0.6, 0.7, None], "best_epoch": 1,
                     "epochs_completed": 3, "stopped_early": False, "test_ap": 0.71, "test_auc": 0.7},
        "diagnostic": {
            "metrics": metrics(*values),
            "seconds": 1.5,
            "recall_curve": {"k": [1, 10, 100, 1000, 10000, N_CANDIDATES], "recall": [0.0, 0.01, 0.05, 0.2, 0.6, 1.0]},
            "rank_quantiles": rank_quantiles([10.0 + seed, 500.0, 20_000.0, 40_000.0], N_CANDIDATES),
            "top_predictions": top or [],
        },
        "beats_best_baseline": beats,
    }


def configuration(name: str, runs: list[dict]) -> dict:
    return {"name": name, "label": LABELS[name], "flags": f"--{name}", "runs": runs, "summary": summarize_runs(runs)}


def baseline_entry(values: tuple) -> dict:
    return {
        "metrics": metrics(*values),
        "seconds": 0.5,
        "recall_curve": {"k": [1, 100, N_CANDIDATES], "recall": [0.0, 0.1, 1.0]},
        "rank_quantiles": rank_quantiles([100.0, 1000.0, 30_000.0], N_CANDIDATES),
    }


TOP = [{"rank": 1, "company": "Acme <Labs> & Co", "investor": "Sequoia | Capital", "company_id": 1, "investor_id": 9,
        "score": 2.5, "hit": True}]


def results(seeds=(0, 1)) -> ComparisonResults:
    return ComparisonResults.from_dict(results_dict(seeds))


def results_dict(seeds=(0, 1)) -> dict:
    """compare.json's layout. Per seed: (precision@1000, recall@1000, median rank, lift)."""
    values = {
        "baseline": [(0.005, 0.05, 1000.0, 10.0), (0.015, 0.07, 3000.0, 14.0)],
        "focal": [(0.003, 0.058, 5623.0, 9.8), (0.003, 0.058, 5623.0, 9.8)],
        "hardneg": [(0.01, 0.1, 2000.0, 20.0), (0.02, 0.2, 1000.0, 30.0)],
        "focal-hardneg": [(0.02, 0.2, 1500.0, 40.0), (0.03, 0.3, 500.0, 60.0)],
    }
    configurations = [
        configuration(name, [run(name, seed, values[name][i], beats=name == "focal-hardneg",
                                 top=TOP if name == "focal-hardneg" else None)
                             for i, seed in enumerate(seeds)])
        for name in LABELS
    ]
    random = {"metrics": metrics(0.002, 0.02, 25_000.0, 1.0), "seconds": 0.0}
    return {
        "dataset": "x",
        "window": {"window": "test", "t_start": 100.0, "t_end": 200.0, "n_history_events": 1000, "n_positives": 100,
                   "n_candidate_companies": 50, "n_candidate_investors": 1000, "n_candidates": N_CANDIDATES},
        "ks": [100, 1000],
        "lift_k": 1000,
        "seeds": list(seeds),
        "training": {"n_epoch": 3, "bs": 200, "use_memory": True},
        "configurations": configurations,
        "baselines": {"random": random, "ppr": baseline_entry((0.012, 0.12, 900.0, 12.0))},
        "baseline_names": ["random", "ppr"],
        "best_baseline": "ppr",
        "best_configuration": "focal-hardneg",
    }


def cells(text: str, row: str) -> list[str]:
    line = next(line for line in text.splitlines() if line.startswith(row))
    return re.split(r"\s{2,}", line.strip())[1:]


def test_guide_table_shows_mean_and_std_over_seeds_beside_the_best_baseline():
    text = format_table(results())
    assert "(mean ± std over seeds)" in text
    header = next(line for line in text.splitlines() if line.startswith("Metric"))
    columns = ["Metric", "Baseline", "Focal", "Hard Neg", "Focal+Hard", "ppr (best baseline)"]
    assert re.split(r"\s{2,}", header.strip()) == columns
    expected = {
        "Precision@1000": ["1.00% ± 0.50%", "0.30% ± 0.00%", "1.50% ± 0.50%", "2.50% ± 0.50%", "1.20%"],
        "Recall@1000": ["6.00% ± 1.00%", "5.80% ± 0.00%", "15.00% ± 5.00%", "25.00% ± 5.00%", "12.00%"],
        "Median Rank": ["2,000 ± 1,000", "5,623 ± 0", "1,500 ± 500", "1,000 ± 500", "900"],
        "vs Random": ["12.00x ± 2.00x", "9.80x ± 0.00x", "25.00x ± 5.00x", "50.00x ± 10.00x", "12.00x"],
    }
    for row, values in expected.items():
        assert cells(text, row) == values
    assert "Focal+Hard: beats it in 2 of 2 seed(s)." in text and "Baseline: beats it in 0 of 2 seed(s)." in text
    assert "Best configuration by mean Precision@1000: focal-hardneg." in text


def test_one_seed_shows_plain_values():
    header, rows = guide_table(results(seeds=(7,)))
    assert rows[0] == ["Precision@1000", "0.50%", "0.30%", "1.00%", "2.00%", "1.20%"]
    assert "±" not in format_table(results(seeds=(7,)))


def test_markdown_has_the_tables_the_figures_and_the_runs():
    page = render_markdown(results(), {name: f"{name}.png" for name in FIGURES})
    assert "| Precision@1000 | 1.00% ± 0.50% | 0.30% ± 0.00% | 1.50% ± 0.50% | 2.50% ± 0.50% | 1.20% |" in page
    for name in FIGURES:
        assert f"]({name}.png)" in page
    assert "| MRR (per company) |" in page and "| Hits@10 (per company) |" in page
    assert "out/saved_models/focal-s1-x.pth" in page
    assert "Sequoia \\| Capital" in page  # a pipe in a name does not break the table


def test_html_is_self_contained_and_escapes_names():
    images = {name: b"\x89PNG fake " + name.encode() for name in FIGURES}
    page = render_html(results(), images)
    embedded = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert sorted(base64.b64decode(item) for item in embedded) == sorted(images.values())
    assert not re.search(r"(src|href)=\"(?!data:)", page) and "http" not in page
    assert "Acme &lt;Labs&gt; &amp; Co" in page and "<Labs>" not in page
    assert "<td>1.00% ± 0.50%</td>" in page


def test_write_report_draws_real_pngs(tmp_path):
    paths = write_report(results(), tmp_path)
    for name in FIGURES:
        assert paths[name].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = paths["html"].read_text()
    assert page.count("data:image/png;base64,") == len(FIGURES)
    assert paths["markdown"].read_text().startswith("# Comparison on 'x'")


def test_rank_quantiles_are_percentiles_of_the_candidates():
    quantiles = rank_quantiles([500.0, 1000.0, 1500.0], n_candidates=10_000)
    assert quantiles["levels"][0] == 0.0 and quantiles["levels"][-1] == 1.0 and len(quantiles["levels"]) == 101
    assert quantiles["rank_pct"][0] == pytest.approx(5.0)
    assert quantiles["rank_pct"][50] == pytest.approx(10.0)
    assert quantiles["rank_pct"][-1] == pytest.approx(15.0)


def test_curves_and_top_predictions_are_typed_and_compare_json_is_unchanged():
    layout = results_dict()
    typed = ComparisonResults.from_dict(layout)
    best = next(c for c in typed.configurations if c.name == "focal-hardneg").runs[0].diagnostic
    assert best.top_predictions == [TopPrediction(rank=1, company="Acme <Labs> & Co", investor="Sequoia | Capital",
                                                  company_id=1, investor_id=9, score=2.5, hit=True)]
    assert isinstance(best.recall_curve, RecallCurve) and best.recall_curve.k[-1] == N_CANDIDATES
    assert isinstance(best.rank_quantiles, RankQuantiles) and len(best.rank_quantiles.levels) == 101
    assert typed.baselines["random"].recall_curve is None and typed.baselines["ppr"].top_predictions is None
    written = typed.to_dict()
    assert json.dumps(written, sort_keys=True) == json.dumps(layout, sort_keys=True)
    # The curves and the top predictions keep the key order of the dicts compare.json held before.
    for column, given in zip(written["configurations"], layout["configurations"]):
        for run_written, run_given in zip(column["runs"], given["runs"]):
            for key in ("recall_curve", "rank_quantiles", "top_predictions"):
                assert json.dumps(run_written["diagnostic"][key]) == json.dumps(run_given["diagnostic"][key])
    assert json.dumps(written["baselines"]["ppr"]) == json.dumps(layout["baselines"]["ppr"])


def with_fusion(seeds=(0, 1)) -> ComparisonResults:
    """results() plus a fusion column: recall@1000 0.30 / 0.40 and MRR 0.25 / 0.35 over the seeds."""
    base = results(seeds).to_dict()
    runs = []
    for i, seed in enumerate(seeds):
        entry = run("fusion", seed, (0.03, 0.3 + 0.1 * i, 400.0, 70.0), beats=True)
        entry["diagnostic"]["metrics"]["mrr"] = 0.25 + 0.1 * i
        entry["importances"] = {"ppr": 0.6 - 0.2 * i, "recency": 0.4 + 0.2 * i}
        runs.append(entry)
    base["fusion"] = {"name": "fusion", "label": "Fusion", "combination": "lambdarank", "runs": runs,
                      "summary": summarize_runs(runs)}
    return ComparisonResults.from_dict(base)


def test_fusion_is_a_column_with_its_contribution_and_importances():
    text = format_table(with_fusion())
    header = next(line for line in text.splitlines() if line.startswith("Metric"))
    assert re.split(r"\s{2,}", header.strip())[-2:] == ["Fusion", "ppr (best baseline)"]
    assert cells(text, "Recall@1000")[-2] == "35.00% ± 5.00%"
    # mean recall@1000: hardneg 15%, baseline 6% (every MRR of results() is 0.1); fusion 35%, MRR 0.3 vs ppr 12%, 0.1
    assert "Hard Neg vs Baseline: Recall@1000 +9.00 points, MRR +0.0000" in text
    assert "Fusion vs ppr (best baseline): Recall@1000 +23.00 points, MRR +0.2000" in text
    assert "Fusion vs Baseline" not in text
    assert cells(text, "ppr") == ["50.0%"] and cells(text, "recency") == ["50.0%"]


def test_report_with_a_fusion_draws_its_importances(tmp_path):
    paths = write_report(with_fusion(seeds=(3,)), tmp_path)
    assert paths["fusion_importances"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = paths["markdown"].read_text()
    assert "](fusion_importances.png)" in page and "| ppr | 60.0% |" in page
    assert "## Contribution of each component" in page and "| Fusion | ppr (best baseline) |" in page
    assert paths["html"].read_text().count("data:image/png;base64,") == len(FIGURES) + 1


def test_a_report_without_fusion_has_no_ablation_sections(tmp_path):
    paths = write_report(results(), tmp_path)
    assert "fusion_importances" not in paths
    assert "Contribution" not in paths["markdown"].read_text() and "importances" not in format_table(results())


def test_the_training_curves_plot_the_validation_mrr_beside_the_ap(monkeypatch):
    from tgnrank.experiments import figures

    drawn = []
    make_figure = figures._figure
    monkeypatch.setattr(figures, "_figure", lambda *args, **kwargs: drawn.append(make_figure(*args, **kwargs)) or drawn[-1])
    with_mrr = results(seeds=(0,))
    with_mrr.configurations[0].runs[0].training.val_mrrs = [0.01, 0.03, 0.02]
    figures._training_figure(with_mrr)
    _, (_, _, mrr_axes) = drawn[-1]
    lines = [list(line.get_ydata()) for line in mrr_axes.get_lines()]
    assert [0.01, 0.03, 0.02] in lines and [0.03] in lines  # the curve and the star at the epoch kept
    figures._training_figure(results(seeds=(0,)))  # runs recorded before the ranking: no MRR curve, no error
    assert all(len(line.get_ydata()) == 0 for line in drawn[-1][1][2].get_lines())
