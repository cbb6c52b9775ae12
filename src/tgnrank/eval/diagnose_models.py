"""The diagnostic of trained checkpoints: one model, an ensemble of several, or the baselines alone, and
optionally the learned fusion over them (``tgnrank diagnose`` and :func:`tgnrank.diagnose`).

The window is placed by the split quantiles (:func:`tgnrank.eval.split_quantiles.window_quantiles`);
each model replays the window's history and scores its candidates (:mod:`tgnrank.eval.scoring`);
several models are ranked each as their own column and together as an ensemble, the (weighted) mean of
their logits; the fusion (:mod:`tgnrank.eval.fusion_window`) ranks with the model's logit as a feature.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Mapping, Sequence

from tgnrank.data.events import EventData
from tgnrank.eval.diagnostic import DiagnosticOptions, check_model_names, run_diagnostic

logger = logging.getLogger(__name__)

ENSEMBLE = "ensemble"
FUSION = "fusion"


def member_names(paths: Sequence[str]) -> list[str]:
    """Each model's column name: its checkpoint's file name, or its path when two share a file name."""
    stems = [Path(path).stem for path in paths]
    return stems if len(set(stems)) == len(stems) else [str(path) for path in paths]


def diagnose_models(
    data: EventData,
    checkpoints: Mapping[str, dict],
    window: str = "test",
    options: DiagnosticOptions = DiagnosticOptions(),
    quantiles: tuple[float | None, float | None] = (None, None),
    weights: Sequence[float] | None = None,
    device=None,
    batch_size: int | None = None,
    fusion=None,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[dict, object]:
    """The diagnostic dict of :func:`run_diagnostic` for ``checkpoints`` (path -> checkpoint, in order;
    empty for the baselines alone) on ``window``, and the fitted fusion ranker (None without ``fusion``,
    a :class:`~tgnrank.eval.fusion.FusionOptions`).

    ``quantiles``: the (train, val) split quantiles, each None to take the checkpoints'. The dict also
    holds ``checkpoint`` (the path, or None) or, for several, ``checkpoints`` and ``member_weights``,
    and ``fusion`` (its fitting windows and feature importances) with the fusion.
    """
    import torch

    from tgnrank.eval.protocol import build_window
    from tgnrank.eval.split_quantiles import window_quantiles
    from tgnrank.train.checkpoint import stored_config

    paths, names = list(checkpoints), member_names(list(checkpoints))
    if len(paths) > 1:
        check_model_names([*names, ENSEMBLE], options.baselines)
    split = window_quantiles({path: stored_config(c) for path, c in checkpoints.items()}, *quantiles)
    candidates = build_window(data.events, window, *split)
    logger.info(
        "%s window: %d positives, %d companies x %d investors = %d candidate pairs",
        window, candidates.n_positives, candidates.n_companies, candidates.n_investors, candidates.n_candidates,
    )
    scorer_for = _scorer_factory(list(checkpoints.values()), data, weights, device or torch.device("cpu"), batch_size)
    model_scorer, model_name, members = None, None, {}
    if paths:
        logger.info("Replaying %d history events through %s", len(candidates.history),
                    "the model" if len(paths) == 1 else f"each of the {len(paths)} models")
        model_scorer = scorer_for(candidates)
        model_name = names[0] if len(paths) == 1 else ENSEMBLE
        members = dict(zip(names, model_scorer.members)) if len(paths) > 1 else {}
    ranker = None
    if fusion is not None:
        from tgnrank.eval.fusion_window import fused_scorer

        fused, ranker = fused_scorer(data, candidates, split, fusion, model_scorer, model_name or "model", scorer_for,
                                      progress)
        members = {**members, model_name: model_scorer} if model_scorer is not None else members
        model_scorer, model_name = fused, FUSION
    result = run_diagnostic(data, candidates, model_scorer, model_name or "model", options, progress, members)
    if len(paths) > 1:
        result["checkpoints"] = paths
        result["member_weights"] = members[ENSEMBLE].weights.tolist() if fusion is not None else model_scorer.weights.tolist()
    else:
        result["checkpoint"] = paths[0] if paths else None
    if ranker is not None:
        result["fusion"] = ranker.summary()
    return result, ranker


def _scorer_factory(checkpoints: list[dict], data: EventData, weights, device, batch_size):
    """candidates -> the model's (or the ensemble's) scorer on them; None without a checkpoint."""
    from tgnrank.eval.scoring import ensemble_scorer_from_checkpoints, model_scorer_from_checkpoint

    if not checkpoints:
        return None
    if len(checkpoints) == 1:
        return lambda window: model_scorer_from_checkpoint(checkpoints[0], data, window, device, batch_size)[0]
    return lambda window: ensemble_scorer_from_checkpoints(checkpoints, data, window, device, weights, batch_size)[0]
