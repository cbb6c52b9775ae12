"""Calibrate the model's scores on the validation window: the probability of a new link within N days.

The model learnt against sampled negatives, so its sigmoid is not a probability. ``--calibrate`` fits
an isotonic regression (scikit-learn) from the model's score to the outcome on the validation window
of the diagnostic protocol (:mod:`tgnrank.eval.protocol`): the history is every event up to the window
start, the candidates are the window's companies x the history's investors minus the pairs already
linked, and a candidate is positive when it becomes a new link inside the window. Every positive is
kept and a seeded Bernoulli sample of the negatives, each weighted by the inverse of the sampling rate,
so the fitted rate is that of the full grid. N is the window's length in days.

The protocol's candidate companies are those that gain at least one new investor in the window, so the
figure is the probability of a new link within N days *given that the company raises from a known
investor in that time*; it is stated with the output.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tgnrank.errors import ConfigError
from tgnrank.eval.protocol import CandidateSet, build_window

BLOCK_CELLS = 1 << 20
DEFAULT_NEGATIVES = 200_000


@dataclass(frozen=True)
class Calibration:
    """A fitted score -> probability map and the validation window it was fitted on (days)."""

    t_start: float
    t_end: float
    n_positives: int
    n_negatives: int
    n_sampled_negatives: int
    isotonic: object

    @property
    def days(self) -> int:
        return int(round(self.t_end - self.t_start))

    @property
    def field(self) -> str:
        return f"p_new_link_within_{self.days}_days"

    def describe(self) -> str:
        from tgnrank.data.dates import day_to_iso

        return (
            f"{self.field}: isotonic calibration of the score on the validation window "
            f"{day_to_iso(self.t_start)}..{day_to_iso(self.t_end)} ({self.days} days; {self.n_positives:,} new links, "
            f"{self.n_sampled_negatives:,} of {self.n_negatives:,} negatives sampled and reweighted), "
            "the probability of a new link within that many days for a company that gains a new known investor"
        )

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        """(N,) scores -> (N,) probabilities in [0, 1]; scores outside the fitted range are clipped."""
        return np.asarray(self.isotonic.predict(np.asarray(scores, dtype=np.float64)), dtype=np.float64)


def validation_sample(
    candidates: CandidateSet, scorer, n_negatives: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(scores, labels, weights)`` (M,): every positive of ``candidates`` (label 1, weight 1) and a
    Bernoulli sample of its other candidates (label 0) at rate ``n_negatives / their number``, each
    weighted by the inverse rate. ``scorer`` fills blocks of rows (``score_block``)."""
    if n_negatives < 1:
        raise ConfigError(
            f"calibration_negatives must be an integer >= 1, got {n_negatives}",
            parameters=("calibration_negatives",),
        )
    total_negatives = candidates.n_candidates - candidates.n_positives
    rate = min(1.0, n_negatives / max(total_negatives, 1))
    rng = np.random.default_rng(seed)
    block_rows = max(1, BLOCK_CELLS // max(candidates.n_investors, 1))
    parts_scores, parts_labels = [], []
    for row_start, row_stop in candidates.row_blocks(block_rows):
        scores = np.asarray(scorer.score_block(row_start, row_stop), dtype=np.float64)
        is_negative = candidates.block_mask(row_start, row_stop)
        block = candidates.block_positives(row_start, row_stop)
        rows, cols = candidates.positive_rows[block] - row_start, candidates.positive_cols[block]
        is_negative[rows, cols] = False
        drawn = is_negative & (rng.random(is_negative.shape) < rate)
        parts_scores += [scores[rows, cols], scores[drawn]]
        parts_labels += [np.ones(len(rows)), np.zeros(int(np.count_nonzero(drawn)))]
    labels = np.concatenate(parts_labels)
    weights = np.where(labels == 1, 1.0, 1.0 / rate)
    return np.concatenate(parts_scores), labels, weights


def fit_isotonic(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray):
    """An increasing isotonic regression of ``labels`` on ``scores`` (all (M,)), clipped to [0, 1]."""
    from sklearn.isotonic import IsotonicRegression

    return IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip").fit(
        scores, labels, sample_weight=weights
    )


def fit_calibration(
    checkpoint: dict,
    data,
    device,
    batch_size: int | None = None,
    n_negatives: int = DEFAULT_NEGATIVES,
    seed: int = 0,
) -> Calibration:
    """Replay the history up to the checkpoint's validation window, score its candidates and fit the map."""
    from tgnrank.eval.scoring import model_scorer_from_checkpoint
    from tgnrank.train.checkpoint import stored_config

    split = stored_config(checkpoint).dataset
    candidates = build_window(data.events, "val", split.train_quantile, split.val_quantile)
    scorer, _ = model_scorer_from_checkpoint(checkpoint, data, candidates, device, batch_size)
    scores, labels, weights = validation_sample(candidates, scorer, n_negatives, seed)
    return Calibration(
        t_start=candidates.t_start,
        t_end=candidates.t_end,
        n_positives=candidates.n_positives,
        n_negatives=candidates.n_candidates - candidates.n_positives,
        n_sampled_negatives=int(np.count_nonzero(labels == 0)),
        isotonic=fit_isotonic(scores, labels, weights),
    )
