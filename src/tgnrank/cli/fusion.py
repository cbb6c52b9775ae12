"""The learned-fusion column of the diagnostic (``--fusion``) and ``tgnrank fuse``.

The fusion ranking a window is fitted on the window of the same length that ends where it starts (for
the test window: the validation window) and, with ``--fusion_windows N``, the N - 1 windows before that;
see :mod:`tgnrank.eval.fusion`. With a model, its logit is one more feature and only the latest fitting
window is used: earlier ones lie inside the model's training period, where its scores were fitted to
the very links the fusion would learn from.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path

from tgnrank.cli.flags import add_section, section_from_args

HELP = "fit the learned fusion on the validation window and rank the test window with it, beside the baselines"
FUSION = "fusion"

logger = logging.getLogger(__name__)


def add_fusion_arguments(parser: argparse.ArgumentParser) -> None:
    from tgnrank.eval.fusion import FusionOptions

    parser.add_argument("--fusion", action="store_true",
                        help="add the learned fusion's column (LightGBM lambdarank over the baselines' scores, "
                             "activity and affinity features and the model's logit, fitted on the window before)")
    add_section(parser, FusionOptions)


def with_fusion(args, data, candidates, quantiles, model_scorer, model_name, members, scorer_factory):
    """(scorer, name, members, ranker): the fusion as the scorer, the model (if any) among the members.

    ``quantiles`` are the split's (train, val) quantiles; ``scorer_factory(candidates)`` builds the
    model's scorer for a fitting window (unused without a model).
    """
    from tgnrank.eval.fusion import FusionOptions, fit_fusion
    from tgnrank.eval.protocol import window_bounds

    options = section_from_args(FusionOptions, args)
    extras = {}
    if model_scorer is not None:
        extras = {f"{model_name}_score": lambda window: model_scorer if window is candidates else scorer_factory(window)}
        if options.fusion_windows > 1:
            logger.info("fusion with a model: fitting on the latest window only (the earlier ones lie in the "
                        "model's training period)")
            options = dataclasses.replace(options, fusion_windows=1)
    if args.window == "test":
        fit_start, fit_end = window_bounds(data.events, "val", *quantiles)
    else:
        fit_end = candidates.t_start
        fit_start = fit_end - (candidates.t_end - candidates.t_start)
    logger.info("Fitting the fusion on (%g, %g] and %d earlier window(s)", fit_start, fit_end, options.fusion_windows - 1)
    ranker = fit_fusion(data.events, fit_start, fit_end, data.node_features, data.edge_features, options, extras)
    fused = ranker.scorer(candidates, data.node_features, data.edge_features, extras)
    new_members = {**members, model_name: model_scorer} if model_scorer is not None else dict(members)
    return fused, FUSION, new_members, ranker

