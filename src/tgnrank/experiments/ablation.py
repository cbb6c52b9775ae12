"""What each component of a comparison contributes: differences of mean Recall@K and MRR between columns,
and the learned fusion's feature importances (mean share of the split gain over seeds).

A configuration's contribution is measured against the Baseline configuration (random negatives, BCE),
so each row says what its one change buys; the fusion, which reads no model, is measured against the
best heuristic baseline, the signal it has to beat.
"""

from __future__ import annotations

import numpy as np

from tgnrank.experiments.results import ComparisonResults

REFERENCE_CONFIGURATION = "baseline"


def mean_importances(results: ComparisonResults) -> dict[str, float]:
    """Feature -> mean share over the fusion's seeds, highest first; empty without a fusion."""
    if results.fusion is None:
        return {}
    per_seed = [run.importances or {} for run in results.fusion.runs]
    names = sorted({name for importances in per_seed for name in importances})
    shares = {name: float(np.mean([importances.get(name, 0.0) for importances in per_seed])) for name in names}
    return dict(sorted(shares.items(), key=lambda item: -item[1]))


def importance_table(results: ComparisonResults) -> tuple[list[str], list[list[str]]] | None:
    """(header, rows) of the fusion's importances, or None without a fusion."""
    shares = mean_importances(results)
    if not shares:
        return None
    header = ["Feature", "Share of split gain" + (" (mean over seeds)" if len(results.seeds) > 1 else "")]
    return header, [[name, f"{100 * share:.1f}%"] for name, share in shares.items()]


def _difference(label: str, reference: str, values: dict, reference_values: dict, recall_key: str) -> str:
    recall = 100 * (values[recall_key] - reference_values[recall_key])
    mrr = values["mrr"] - reference_values["mrr"]
    return (f"{label} vs {reference}: Recall@{recall_key.split('@')[1]} {recall:+.2f} points, "
            f"MRR {mrr:+.4f}")


def contribution_lines(results: ComparisonResults) -> list[str]:
    """One line per model column: its mean difference to the Baseline configuration (the fusion: to the
    best baseline) on Recall@``lift_k`` and MRR. Empty when there is nothing to compare with."""
    recall_key = f"recall@{results.lift_k}"
    means = {c.name: {key: item.mean for key, item in c.summary.items()} for c in results.model_columns}
    lines = []
    reference = next((c for c in results.configurations if c.name == REFERENCE_CONFIGURATION), None)
    if reference is not None:
        for column in results.model_columns:
            if column.name not in (reference.name, results.fusion.name if results.fusion else None):
                lines.append(_difference(column.label, reference.label, means[column.name], means[reference.name],
                                         recall_key))
    if results.fusion is not None:
        best = results.best_baseline
        lines.append(_difference(results.fusion.label, f"{best} (best baseline)", means[results.fusion.name],
                                 results.baselines[best].metrics, recall_key))
    return lines
