"""Scoring every candidate pair of a window, gathered under one name; each job has its own module:

* :mod:`tgnrank.eval.ranking`: the streaming ranking engine (:func:`rank_candidates`) and the
  :class:`CandidateScorer` protocol;
* :mod:`tgnrank.eval.model_scorer`: a trained TGN as a scorer (:class:`ModelScorer`) and the numpy kernel
  of its output layer (:class:`ReluLinearKernel`);
* :mod:`tgnrank.eval.checkpoint_scorer`: a checkpoint to a scorer, its memory rebuilt from the history;
* :mod:`tgnrank.eval.ensemble`: the weighted mean of several scorers or checkpoints.
"""

from tgnrank.eval.checkpoint_scorer import model_scorer_from_checkpoint, replay_history
from tgnrank.eval.ensemble import (
    EnsembleScorer,
    check_same_dataset,
    ensemble_scorer_from_checkpoints,
    normalized_weights,
)
from tgnrank.eval.model_scorer import DEFAULT_TILE_PAIRS, ModelScorer, ReluLinearKernel, scorer_for_model
from tgnrank.eval.ranking import (
    DEFAULT_BLOCK_PAIRS,
    TOP_PAIRS,
    CandidateScorer,
    Progress,
    ScoredRanking,
    TopPairs,
    rank_candidates,
)

__all__ = [
    "DEFAULT_BLOCK_PAIRS",
    "DEFAULT_TILE_PAIRS",
    "TOP_PAIRS",
    "CandidateScorer",
    "EnsembleScorer",
    "ModelScorer",
    "Progress",
    "ReluLinearKernel",
    "ScoredRanking",
    "TopPairs",
    "check_same_dataset",
    "ensemble_scorer_from_checkpoints",
    "model_scorer_from_checkpoint",
    "normalized_weights",
    "rank_candidates",
    "scorer_for_model",
]
