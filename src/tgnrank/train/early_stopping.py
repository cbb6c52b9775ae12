"""Early stopping on a validation score, with TGN's ``EarlyStopMonitor`` semantics.

The score is the validation AP (TGN) or a ranking metric of the validation window
(:mod:`tgnrank.train.ranking_validation`); all of them are higher-is-better.
"""

from __future__ import annotations

import math
from typing import Mapping

from tgnrank.errors import ConfigError

EARLY_STOP_METRICS = ("mrr", "recall@1000", "ap")
DEFAULT_EARLY_STOP_METRIC = "mrr"


def validate_early_stop_metric(metric: str) -> None:
    if metric not in EARLY_STOP_METRICS:
        raise ConfigError(
            f"early_stop_metric must be one of {', '.join(EARLY_STOP_METRICS)}, got {metric!r}",
            parameters=("early_stop_metric",),
        )


def early_stop_score(metric: str, val_ap: float, val_ranking: Mapping[str, float] | None) -> float:
    """The epoch's score for ``--early_stop_metric``: ``val_ap``, or that key of the validation ranking's
    metrics (NaN when the epoch has no ranking, which never counts as an improvement)."""
    validate_early_stop_metric(metric)
    if metric == "ap":
        return float(val_ap)
    return float(val_ranking[metric]) if val_ranking is not None else math.nan


class EarlyStopping:
    """Track a score per epoch; say when it has not improved for ``patience`` epochs in a row.

    The first epoch is the first best. A later epoch is an improvement when it beats the best by more
    than ``tolerance`` relative to the best's magnitude (TGN's rule). Epochs are numbered from 0 in
    the order of ``step`` calls. A NaN score never counts as an improvement.
    """

    def __init__(self, patience: int, higher_is_better: bool = True, tolerance: float = 1e-10) -> None:
        if patience < 1:
            raise ValueError(f"patience must be >= 1, got {patience}")
        self.patience = patience
        self.higher_is_better = higher_is_better
        self.tolerance = tolerance
        self.best_epoch: int | None = None
        self.best_score: float | None = None
        self.epochs_without_improvement = 0
        self.n_epochs = 0

    def step(self, score: float) -> bool:
        """Record this epoch's score; return True when training should stop now."""
        epoch = self.n_epochs
        self.n_epochs += 1
        if self._improves(score):
            self.best_epoch, self.best_score = epoch, float(score)
            self.epochs_without_improvement = 0
        else:
            self.epochs_without_improvement += 1
        return self.epochs_without_improvement >= self.patience

    def _improves(self, score: float) -> bool:
        if math.isnan(score):
            return False
        if self.best_score is None:
            return True
        gain = score - self.best_score if self.higher_is_better else self.best_score - score
        return gain > self.tolerance * max(abs(self.best_score), 1e-12)
