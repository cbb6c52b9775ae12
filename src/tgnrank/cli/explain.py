"""Explain why a trained model ranks an investor for a company: the evidence of the history up to --at.

The model (or, with --fusion, the learned fusion) scores the company against every investor of the
history up to --at, as tgnrank recommend does; the investor's score, rank and percentile among those
candidates are shown with the evidence behind them, all from events on or before --at: the company's
past investors that co-invested with it, the heaviest company -> investor -> company -> investor
paths, its recent activity against its long-run rate (overall, in the company's categories, at its
stage), its most similar past deals and, with --fusion, each signal's contribution to the fused score.
"""

from __future__ import annotations

import argparse

from tgnrank.cli.recommend import add_common_arguments, emit, load_inputs

HELP = "why an investor is ranked where it is for a company: co-investments, paths, activity, similar deals"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument("--investor", required=True,
                        help="investor name as in data/ml_{data}_nodes.csv (case-insensitive), or #ID for a node id")


def run(args: argparse.Namespace) -> int:
    from tgnrank.data.events import INVESTOR
    from tgnrank.eval.explain import investor_recommendation
    from tgnrank.eval.recommend import find_node

    checkpoint, data, company, at, device, fusion = load_inputs(args)
    investor = find_node(data, args.investor, INVESTOR, "investor")
    recommendation = investor_recommendation(checkpoint, data, company, investor, at, device, args.batch_size, fusion)
    emit(args, data, recommendation, explain=True)
    return 0
