"""Ensembles of scorers, and of checkpoints, combined block by block.

An :class:`EnsembleScorer` composes member scorers block by block: each block is the weighted mean of
the members' blocks, so an ensemble of M models costs M times the scoring of one model but no more
memory than two blocks (the running mean and one member's block), whatever M.
"""

from __future__ import annotations

import functools
from typing import Callable, Iterable, Sequence

import numpy as np

from tgnrank.errors import ConfigError
from tgnrank.eval.checkpoint_scorer import model_scorer_from_checkpoint
from tgnrank.eval.model_scorer import DEFAULT_TILE_PAIRS
from tgnrank.eval.protocol import CandidateSet
from tgnrank.eval.ranking import CandidateScorer


class EnsembleScorer:
    """The weighted mean of several scorers' scores (for models: of their logits), block by block.

    Why the mean logit: models trained on the same data with the same link predictor produce logits on
    comparable scales (BCE and focal loss both fit a logistic output), and averaging logits is the
    geometric mean of the models' odds, so one confident model moves the ensemble without saturating
    it as averaging probabilities would. ``weights`` (M,) default to equal; they are normalised to sum to 1.
    """

    def __init__(self, members: Sequence[CandidateScorer], weights: Sequence[float] | None = None):
        if not members:
            raise ValueError("an ensemble needs at least one member scorer")
        self.members = list(members)
        self.weights = normalized_weights(weights, len(self.members))
        if all(hasattr(member, "score_pairs") for member in self.members):
            # Only then can rank_candidates fetch the positives' scores directly (see _positive_scores).
            self.score_pairs = self._score_pairs

    def score_block(self, row_start: int, row_stop: int) -> np.ndarray:
        """(row_stop - row_start, I) float32 weighted mean of the members' blocks."""
        total = None
        for weight, member in zip(self.weights, self.members):
            block = np.asarray(member.score_block(row_start, row_stop), dtype=np.float32)
            if total is None:
                total = np.multiply(block, np.float32(weight), dtype=np.float32)
            else:
                total += np.float32(weight) * block
        return total

    def _score_pairs(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """(P,) float32 weighted mean of the members' scores of the cells (rows[k], cols[k])."""
        total = np.zeros(len(rows), dtype=np.float32)
        for weight, member in zip(self.weights, self.members):
            total += np.float32(weight) * np.asarray(member.score_pairs(rows, cols), dtype=np.float32)
        return total


def normalized_weights(weights: Sequence[float] | None, n_members: int) -> np.ndarray:
    """(n_members,) float64 weights summing to 1: equal by default, else ``weights`` rescaled.

    Raises ConfigError (naming ``ensemble_weights``) unless there is one finite weight >= 0 per
    member and at least one is positive.
    """
    if weights is None:
        return np.full(n_members, 1.0 / n_members)
    values = np.asarray(weights, dtype=np.float64)
    if values.shape != (n_members,) or not np.all(np.isfinite(values)) or values.min() < 0 or values.sum() <= 0:
        raise ConfigError(
            f"ensemble_weights must be {n_members} comma-separated numbers >= 0 (one per model, not all 0), "
            f"got {list(np.atleast_1d(values))}", parameters=("ensemble_weights",)
        )
    return values / values.sum()


def check_same_dataset(datasets: dict[str, str | None]) -> None:
    """ConfigError unless every checkpoint (key: its path or label) names the same dataset (value)."""
    if len(set(datasets.values())) > 1:
        listed = ", ".join(f"{source} ({name or 'unknown dataset'})" for source, name in datasets.items())
        raise ConfigError(
            f"model_path: an ensemble combines models of one dataset, but these checkpoints were trained on "
            f"{len(set(datasets.values()))} datasets: {listed}", parameters=("model_path",)
        )


def ensemble_scorer_from_checkpoints(
    checkpoints: Iterable[dict],
    data,
    candidates: CandidateSet,
    device,
    weights: Sequence[float] | None = None,
    batch_size: int | None = None,
    tile_pairs: int = DEFAULT_TILE_PAIRS,
    progress: Callable[[int, int, int], None] | None = None,
):
    """Rebuild every checkpoint's model (see :func:`model_scorer_from_checkpoint`) and combine them.

    Returns ``(EnsembleScorer, member ModelScorers, member TrainConfigs)``. ``checkpoints`` are taken one
    at a time (a generator that loads each from disk keeps one in memory), and each model keeps only its
    projected embeddings once its history is replayed. Raises ConfigError when the checkpoints were
    trained on different datasets. ``progress`` is called with (member index, events replayed, events
    in the history).
    """
    scorers, configs, datasets = [], [], {}
    for index, checkpoint in enumerate(checkpoints):
        datasets[f"model {index + 1}"] = checkpoint["config"].get("dataset")
        check_same_dataset(datasets)
        report = None if progress is None else functools.partial(progress, index)
        scorer, config = model_scorer_from_checkpoint(checkpoint, data, candidates, device, batch_size, tile_pairs, report)
        scorers.append(scorer)
        configs.append(config)
    return EnsembleScorer(scorers, weights), scorers, configs
