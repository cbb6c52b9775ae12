"""Recommend, for one company, the investors a trained model finds most likely to newly invest in it.

The model replays every event up to --at (default: the whole dataset) and scores the company against
every investor seen so far; the company's past investors are excluded. Each investor gets the model's
score (its logit: the model learnt against sampled negatives, so the score ranks but is not calibrated),
its rank among all the company's candidate investors and its percentile among them; --calibrate adds
the probability of a new link within the validation window's length, fitted on that window (see
tgnrank.eval.calibration). With --at before
the end of the data, the investors that did invest in the company later are marked.
"""

from __future__ import annotations

import argparse
import json

from tgnrank.errors import ConfigError

HELP = "the investors a trained model finds most likely to newly invest in a company, by name"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model_path", required=True, help="checkpoint written by train_self_supervised.py")
    parser.add_argument("--company", required=True,
                        help="company name as in data/ml_{data}_nodes.csv (case-insensitive), or #ID for a node id")
    parser.add_argument("--k", type=int, default=20, help="number of investors to list (default %(default)s)")
    parser.add_argument("--at", default=None,
                        help="date YYYY-MM-DD (or days since 1970-01-01) to recommend at: the history is every event "
                             "up to it (default: the last event, i.e. all the data)")
    parser.add_argument("-d", "--data", default=None, help="dataset name (default: the checkpoint's dataset)")
    parser.add_argument("--data_dir", default="data", help="folder holding the ml_ files (default %(default)s)")
    parser.add_argument("--gpu", type=int, default=0,
                        help="CUDA device index, used when CUDA is available; -1 forces the CPU (default %(default)s)")
    parser.add_argument("--batch_size", "--bs", dest="batch_size", type=int, default=None,
                        help="events per batch when replaying the history (default: the checkpoint's batch size)")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="output: a table (text) or one JSON object (default %(default)s)")
    parser.add_argument("--calibrate", action="store_true",
                        help="add p_new_link_within_N_days: the score calibrated (isotonic) on the validation "
                             "window, N its length in days (replays and scores that window once more)")
    parser.add_argument("--calibration_negatives", type=int, default=None,
                        help="negatives sampled from the validation window for --calibrate (default 200000)")
    parser.add_argument("--calibration_seed", type=int, default=0,
                        help="seed of that sample (default %(default)s)")


def run(args: argparse.Namespace) -> int:
    from tgnrank.cli.diagnose import check_batch_size
    from tgnrank.data import open_dataset
    from tgnrank.eval.recommend import (
        find_company, format_recommendations, parse_at, recommend_investors, recommendations_json,
    )
    from tgnrank.train.checkpoint import load_checkpoint
    from tgnrank.train.device import select_device

    if args.k < 1:
        raise ConfigError(f"--k must be an integer >= 1, got {args.k}")
    check_batch_size(args.batch_size)
    checkpoint = load_checkpoint(args.model_path)
    data = open_dataset(args.data or checkpoint["config"].get("dataset") or "synthetic", args.data_dir)
    company = find_company(data, args.company)
    at = parse_at(args.at, data)
    device = select_device(args.gpu)
    calibration = None
    if args.calibrate:
        from tgnrank.eval.calibration import DEFAULT_NEGATIVES, fit_calibration

        n_negatives = DEFAULT_NEGATIVES if args.calibration_negatives is None else args.calibration_negatives
        calibration = fit_calibration(checkpoint, data, device, args.batch_size, n_negatives, args.calibration_seed)
    recommendations = recommend_investors(checkpoint, data, company, at, args.k, device, args.batch_size, calibration)
    if args.format == "json":
        print(json.dumps(recommendations_json(recommendations), indent=2))
    else:
        print(format_recommendations(recommendations))
    return 0
