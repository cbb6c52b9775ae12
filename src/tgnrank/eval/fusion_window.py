"""The learned fusion as a window's scorer: which window it is fitted on, and the model's logit as a feature.

Used by ``tgnrank diagnose --fusion``, ``tgnrank fuse`` and :func:`tgnrank.fuse`. The fusion ranking a
window is fitted on the window of the same length that ends where it starts (for the test window: the
validation window of the split) and, with ``fusion_windows`` N, the N - 1 windows before that (see
:mod:`tgnrank.eval.fusion`). With a model, its logit is one more feature, scored on the latest fitting
window only and missing on the earlier ones: those lie inside the model's training period, where its
scores were fitted to the very links the fusion would learn from. Every window still teaches the
other features.
"""

from __future__ import annotations

import logging
from typing import Callable

from tgnrank.data.events import EventData
from tgnrank.data.feature_schema import feature_schema_of
from tgnrank.eval.fusion import FusedRanker, FusedScorer, FusionOptions, fit_fusion
from tgnrank.eval.protocol import CandidateSet, window_bounds

logger = logging.getLogger(__name__)


def fitting_bounds(data: EventData, candidates: CandidateSet, quantiles: tuple[float, float]) -> tuple[float, float]:
    """(t_start, t_end) of the latest fitting window: the split's validation window for the test window,
    else the window of the same length ending where ``candidates`` starts. ``quantiles``: (train, val)."""
    if candidates.window == "test":
        return window_bounds(data.events, "val", *quantiles)
    length = candidates.t_end - candidates.t_start
    return candidates.t_start - length, candidates.t_start


def _model_scorer_on(window: CandidateSet, candidates: CandidateSet, model_scorer, scorer_factory, fit_end: float):
    """The model's scorer on ``window``: the given one on the ranked window, a new one on the latest fitting
    window (the one ending at ``fit_end``), None (no fair score) on the earlier fitting windows."""
    if window is candidates:
        return model_scorer
    return scorer_factory(window) if window.t_end == fit_end else None


def fused_scorer(
    data: EventData,
    candidates: CandidateSet,
    quantiles: tuple[float, float],
    options: FusionOptions = FusionOptions(),
    model_scorer=None,
    model_name: str = "model",
    scorer_factory: Callable[[CandidateSet], object] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[FusedScorer, FusedRanker]:
    """Fit the fusion for ``candidates``' window and return its scorer there, with the fitted ranker.

    With ``model_scorer`` (the model's scorer on ``candidates``), the feature ``{model_name}_score`` is
    its logit; ``scorer_factory(window)`` builds the model's scorer on a fitting window. ``progress``
    follows the fit (:func:`~tgnrank.eval.fusion.fit_fusion`).
    """
    fit_start, fit_end = fitting_bounds(data, candidates, quantiles)
    extras = {}
    if model_scorer is not None:
        if scorer_factory is None:
            raise ValueError("a model_scorer needs its scorer_factory, to score the fitting windows")
        extras = {f"{model_name}_score": lambda window: _model_scorer_on(window, candidates, model_scorer,
                                                                         scorer_factory, fit_end)}
        if options.fusion_windows > 1:
            logger.info("fusion with a model: its score is a feature on the latest fitting window only (the "
                        "earlier ones lie in the model's training period)")
    logger.info("Fitting the fusion on (%g, %g] and %d earlier window(s)", fit_start, fit_end, options.fusion_windows - 1)
    edge_names = feature_schema_of(data).edge_names
    ranker = fit_fusion(data.events, fit_start, fit_end, data.node_features, data.edge_features, options, extras,
                        edge_names=edge_names, progress=progress)
    return ranker.scorer(candidates, data.node_features, data.edge_features, extras, edge_names=edge_names), ranker
