"""The learned-fusion column of the diagnostic (``--fusion``) and ``tgnrank fuse``.

Which window the fusion is fitted on, and how a model's logit joins it: :mod:`tgnrank.eval.fusion_window`.
"""

from __future__ import annotations

import argparse

from tgnrank.cli.flags import add_section

HELP = "fit the learned fusion on the validation window and rank the test window with it, beside the baselines"


def add_fusion_arguments(parser: argparse.ArgumentParser) -> None:
    from tgnrank.eval.fusion import FusionOptions

    parser.add_argument("--fusion", action="store_true",
                        help="add the learned fusion's column (LightGBM lambdarank over the baselines' scores, "
                             "activity and affinity features and the model's logit, fitted on the window before)")
    add_section(parser, FusionOptions)
