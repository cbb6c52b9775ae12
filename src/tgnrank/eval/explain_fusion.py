"""The learned fusion in ``recommend`` / ``explain``: loading a fitted booster and each signal's contribution.

``tgnrank fuse`` and ``tgnrank diagnose --fusion`` write the fitted LightGBM booster as a text model
(``diagnostic-fusion-...-{window}.lgb.txt``). Its feature names are the history's pair features
(:data:`tgnrank.eval.pair_features.FEATURE_NAMES`) followed, when it was fitted with a model, by that
model's logit (``{checkpoint stem}_score``), which the recommending model supplies here.

A pair's contributions are LightGBM's ``pred_contrib`` on its feature row: one value per feature (its
SHAP value for the trees) and the trees' expected value, summing exactly to the fused score.
"""

from __future__ import annotations

import dataclasses

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tgnrank.data.feature_schema import feature_schema_of
from tgnrank.errors import ConfigError
from tgnrank.eval.fusion import FusedRanker, FusedScorer
from tgnrank.eval.pair_features import FEATURE_NAMES

logger = logging.getLogger(__name__)

SCORE_SUFFIX = "_score"


@dataclass(frozen=True)
class Contribution:
    """One feature of the fused ranker: its value for the pair and its contribution to the fused score."""

    feature: str
    value: float
    contribution: float


@dataclass(frozen=True)
class FusedContributions:
    """``items`` sorted by decreasing |contribution|; ``expected_value`` + their sum = ``fused_score``."""

    fused_score: float
    expected_value: float
    items: list[Contribution]


def load_fusion(path: str | Path, model_path: str | Path | None = None) -> FusedRanker:
    """The fused ranker saved at ``path`` (``--fusion``); ``model_path`` is the checkpoint that will feed
    its model-score feature, if it has one (a different checkpoint name is only warned about)."""
    import lightgbm

    if not Path(path).is_file():
        raise ConfigError(
            f"fusion {str(path)!r}: no such file (the .lgb.txt that tgnrank fuse writes beside its JSON)",
            parameters=("fusion",),
        )
    try:
        booster = lightgbm.Booster(model_file=str(path))
    except lightgbm.basic.LightGBMError as error:
        raise ConfigError(
            f"fusion {str(path)!r}: not a LightGBM text model ({error})", parameters=("fusion",)
        ) from error
    names = tuple(booster.feature_name())
    if names[: len(FEATURE_NAMES)] != FEATURE_NAMES or len(names) > len(FEATURE_NAMES) + 1:
        raise ConfigError(
            f"fusion {str(path)!r}: its features {list(names)} are not this version's pair features followed by "
            "at most one model score (refit it with tgnrank fuse, with a single model_path)",
            parameters=("fusion", "model_path"),
        )
    extras = names[len(FEATURE_NAMES):]
    if extras and model_path is not None and extras[0] != Path(model_path).stem + SCORE_SUFFIX:
        logger.warning("fusion was fitted with the feature %s; model_path %s supplies it", extras[0], model_path,
                       extra={"parameters": ("fusion", "model_path")})
    return FusedRanker(booster, names, extras)


def fused_scorer(ranker: FusedRanker, model_scorer, grid, data) -> FusedScorer:
    """The fusion over ``grid`` (a one-company candidate set), the model's scorer feeding its model feature."""
    extras = {name: (lambda _candidates: model_scorer) for name in ranker.extra_names}
    # One company's investors: its company model would add one constant to all of them, so the scores
    # stay the lambdarank ones, which the per-feature contributions add up to.
    within_company = dataclasses.replace(ranker, company_booster=None)
    edge_names = feature_schema_of(data).edge_names
    return within_company.scorer(grid, data.node_features, data.edge_features, extras, edge_names=edge_names)


def pair_contributions(fused: FusedScorer, row: int, cols: np.ndarray) -> list[FusedContributions]:
    """The contributions of the grid cells (row, cols[k]) to their fused scores, one per column."""
    cols = np.asarray(cols, dtype=np.int64)
    values = fused.features.block(row, row + 1)[0][cols]
    extra_values = [np.asarray(scorer.score_block(row, row + 1), dtype=np.float32)[0][cols] for scorer in fused.extra_scorers]
    if extra_values:
        values = np.column_stack([values, *extra_values]).astype(np.float32)
    contributions = np.asarray(fused.ranker.booster.predict(values, pred_contrib=True), dtype=np.float64)
    names = fused.ranker.feature_names
    out = []
    for value_row, contribution_row in zip(values, contributions):
        order = np.argsort(-np.abs(contribution_row[:-1]), kind="stable")
        out.append(FusedContributions(
            fused_score=float(contribution_row.sum()),
            expected_value=float(contribution_row[-1]),
            items=[Contribution(names[j], float(value_row[j]), float(contribution_row[j])) for j in order],
        ))
    return out
