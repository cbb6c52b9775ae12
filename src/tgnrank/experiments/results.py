"""The comparison's results as typed records, and their ``compare.json`` form.

``ComparisonResults.to_dict()`` writes the layout of ``compare.json`` and ``from_dict`` reads it back
(older files without an ensemble included), so the report reads attributes, never string keys.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

RANK_QUANTILE_LEVELS = np.linspace(0.0, 1.0, 101)


def _compact(value):
    """A dataclass as a dict without its unset (None) optional entries, recursively."""
    if dataclasses.is_dataclass(value):
        return {f.name: _compact(getattr(value, f.name)) for f in dataclasses.fields(value)
                if getattr(value, f.name) is not None}
    if isinstance(value, dict):
        return {key: _compact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_compact(item) for item in value]
    return value


def _known(cls, values: dict) -> dict:
    names = {f.name for f in dataclasses.fields(cls)}
    return {key: value for key, value in values.items() if key in names}


@dataclass
class RecallCurve:
    """Recall@K at increasing K: ``k`` and ``recall`` have one entry per point, K ascending."""

    k: list[int]
    recall: list[float]


@dataclass
class RankQuantiles:
    """The positives' rank as a percentage of the candidates, sampled as an ECDF (see :func:`rank_quantiles`):
    a share ``levels[j]`` of the positives rank at or above ``rank_pct[j]`` percent (both (101,))."""

    levels: list[float]
    rank_pct: list[float]


@dataclass
class TopPrediction:
    """One of the best-scored candidate pairs: its rank (1 = best), names and node ids, its score, and
    whether it is a new link of the window."""

    rank: int
    company: str
    investor: str
    company_id: int
    investor_id: int
    score: float
    hit: bool


@dataclass
class Diagnostic:
    """One scorer's diagnostic on the window: metrics by name, and (not for random) its curves."""

    metrics: dict
    seconds: float = 0.0
    recall_curve: RecallCurve | None = None
    rank_quantiles: RankQuantiles | None = None
    top_predictions: list[TopPrediction] | None = None

    @classmethod
    def from_dict(cls, values: dict) -> "Diagnostic":
        values = _known(cls, values)
        for name, record in (("recall_curve", RecallCurve), ("rank_quantiles", RankQuantiles)):
            if values.get(name) is not None:
                values[name] = record(**values[name])
        if values.get("top_predictions") is not None:
            values["top_predictions"] = [TopPrediction(**item) for item in values["top_predictions"]]
        return cls(**values)


@dataclass
class TrainingRecord:
    """What training recorded for one run (per-epoch lists and the test scores)."""

    train_losses: list
    val_aps: list
    best_epoch: int | None
    epochs_completed: int
    stopped_early: bool
    test_ap: float | None = None
    test_auc: float | None = None
    val_mrrs: list | None = None  # the per-epoch validation ranking's MRR (None for older runs)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainingRecord":
        return cls(**_known(cls, values))


@dataclass
class RunEntry:
    """One model of one seed: a trained configuration, the ensemble of the seed's models, or the
    seed's learned fusion (with its ``importances``: feature -> share of the split gain)."""

    seed: int
    prefix: str
    diagnostic: Diagnostic
    beats_best_baseline: bool = False
    configuration: str | None = None
    checkpoint: str | None = None
    training_seconds: float | None = None
    training: TrainingRecord | None = None
    members: list | None = None
    fitting_seconds: float | None = None
    importances: dict | None = None

    @classmethod
    def from_dict(cls, values: dict) -> "RunEntry":
        values = _known(cls, values)
        values["diagnostic"] = Diagnostic.from_dict(values["diagnostic"])
        if values.get("training") is not None:
            values["training"] = TrainingRecord.from_dict(values["training"])
        return cls(**values)


@dataclass
class MetricSummary:
    """Mean and (population) std of one metric over ``n`` seeds."""

    mean: float
    std: float
    n: int


@dataclass
class ModelColumn:
    """A configuration (with its ``flags``), the ensemble (with ``combination`` and ``members``) or the
    fusion (with ``combination``)."""

    name: str
    label: str
    runs: list[RunEntry]
    summary: dict[str, MetricSummary]
    flags: str | None = None
    combination: str | None = None
    members: list | None = None

    @classmethod
    def from_dict(cls, values: dict) -> "ModelColumn":
        values = _known(cls, values)
        values["runs"] = [RunEntry.from_dict(run) for run in values["runs"]]
        values["summary"] = {key: MetricSummary(**item) for key, item in values["summary"].items()}
        return cls(**values)


@dataclass
class WindowSummary:
    """The ranked window: its bounds (days) and its candidate counts."""

    window: str
    t_start: float
    t_end: float
    n_history_events: int
    n_positives: int
    n_candidate_companies: int
    n_candidate_investors: int
    n_candidates: int


@dataclass
class ComparisonResults:
    """Everything ``compare.json`` holds: the window, the shared ``training`` settings, one column per
    configuration, the ensemble (None in files older than it), the learned fusion (None unless the
    comparison has one), every baseline's diagnostic (random
    included), the best baseline and the best configuration (by mean metrics)."""

    dataset: str
    window: WindowSummary
    ks: list[int]
    lift_k: int
    seeds: list[int]
    training: dict
    configurations: list[ModelColumn]
    baselines: dict[str, Diagnostic]
    baseline_names: list[str]
    best_baseline: str
    best_configuration: str
    ensemble: ModelColumn | None = None
    fusion: ModelColumn | None = None

    @property
    def model_columns(self) -> list[ModelColumn]:
        """The configurations, then the ensemble and the fusion when there are."""
        return [*self.configurations, *(column for column in (self.ensemble, self.fusion) if column)]

    def to_dict(self) -> dict:
        return _compact(self)

    @classmethod
    def from_dict(cls, values: dict) -> "ComparisonResults":
        values = _known(cls, values)
        values["window"] = WindowSummary(**_known(WindowSummary, values["window"]))
        values["configurations"] = [ModelColumn.from_dict(item) for item in values["configurations"]]
        values["baselines"] = {name: Diagnostic.from_dict(item) for name, item in values["baselines"].items()}
        if values.get("ensemble") is not None:
            values["ensemble"] = ModelColumn.from_dict(values["ensemble"])
        if values.get("fusion") is not None:
            values["fusion"] = ModelColumn.from_dict(values["fusion"])
        return cls(**values)


def rank_quantiles(mean_ranks: np.ndarray, n_candidates: int) -> dict:
    """The quantiles of the positives' rank as a percentage of the candidates.

    Returns ``{"levels": (101,), "rank_pct": (101,)}``: ``rank_pct[j]`` is the rank percentile below
    which a share ``levels[j]`` of the positives fall (an ECDF, sampled).
    """
    percentiles = 100.0 * np.asarray(mean_ranks, dtype=np.float64) / n_candidates
    return {
        "levels": RANK_QUANTILE_LEVELS.tolist(),
        "rank_pct": np.quantile(percentiles, RANK_QUANTILE_LEVELS).tolist(),
    }


def summarize_runs(runs: list[dict]) -> dict:
    """Mean and (population) std over seeds of every diagnostic metric: ``{metric: {mean, std, n}}``."""
    names = runs[0]["diagnostic"]["metrics"].keys()
    summary = {}
    for name in names:
        values = np.array([run["diagnostic"]["metrics"][name] for run in runs], dtype=np.float64)
        summary[name] = {"mean": float(values.mean()), "std": float(values.std()), "n": len(values)}
    return summary
