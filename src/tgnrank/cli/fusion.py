"""The learned-fusion column of the diagnostic (``--fusion``) and ``tgnrank fuse``.

Which window the fusion is fitted on, and how a model's logit joins it: :mod:`tgnrank.eval.fusion_window`.
"""

from __future__ import annotations

import argparse

from tgnrank.cli.flags import add_section, section_from_args

HELP = "fit the learned fusion on the validation window and rank the test window with it, beside the baselines"
FUSION = "fusion"


def add_fusion_arguments(parser: argparse.ArgumentParser) -> None:
    from tgnrank.eval.fusion import FusionOptions

    parser.add_argument("--fusion", action="store_true",
                        help="add the learned fusion's column (LightGBM lambdarank over the baselines' scores, "
                             "activity and affinity features and the model's logit, fitted on the window before)")
    add_section(parser, FusionOptions)


def with_fusion(args, data, candidates, quantiles, model_scorer, model_name, members, scorer_factory):
    """(scorer, name, members, ranker): the fusion as the scorer, the model (if any) among the members.

    ``quantiles`` are the split's (train, val) quantiles; ``scorer_factory(candidates)`` builds the
    model's scorer for a fitting window (unused without a model). See :mod:`tgnrank.eval.fusion_window`.
    """
    from tgnrank.eval.fusion import FusionOptions
    from tgnrank.eval.fusion_window import fused_scorer

    options = section_from_args(FusionOptions, args)
    fused, ranker = fused_scorer(data, candidates, quantiles, options, model_scorer, model_name, scorer_factory)
    new_members = {**members, model_name: model_scorer} if model_scorer is not None else dict(members)
    return fused, FUSION, new_members, ranker
