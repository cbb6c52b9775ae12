"""Fit the learned fusion and rank a window with it, beside the baselines (and a model, if given).

The same as ``tgnrank diagnose --fusion``, with the model optional: without ``--model_path`` the fusion
combines the history's signals alone (the baselines' scores, investor activity, company-investor
affinity). The fitted booster is written beside the result JSON as LightGBM's text model.
"""

from __future__ import annotations

import argparse

from tgnrank.cli import diagnose
from tgnrank.cli.fusion import HELP


def add_arguments(parser: argparse.ArgumentParser) -> None:
    diagnose.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    args.fusion = True
    if not args.model_path:
        args.baselines_only = True
    return diagnose.run(args)
