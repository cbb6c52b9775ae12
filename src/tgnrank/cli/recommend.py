"""Recommend, for one company, the investors a trained model finds most likely to newly invest in it.

The model replays every event up to --at (default: the whole dataset) and scores the company against
every investor seen so far; the company's past investors are excluded. Each investor gets the model's
score (its logit: the model learnt against sampled negatives, so the score ranks but is not calibrated),
its rank among all the company's candidate investors and its percentile among them; --calibrate adds
the probability of a new link within the validation window's length, fitted on that window (see
tgnrank.eval.calibration). With --at before
the end of the data, the investors that did invest in the company later are marked.

--explain adds, for each investor, the evidence of the history up to --at behind it (co-investment and
3-hop paths, recent activity, similar past deals, and with --fusion each signal's contribution to the
fused score); --format html writes one self-contained page with the list and that evidence.
"""

from __future__ import annotations

import argparse
import json

from tgnrank.errors import ConfigError

FORMATS = ("text", "json", "html")
HELP = "the investors a trained model finds most likely to newly invest in a company, by name"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from tgnrank.cli.recommend_new import add_new_company_arguments

    add_common_arguments(parser, company_required=False)
    add_new_company_arguments(parser)
    parser.add_argument("--k", type=int, default=20, help="number of investors to list (default %(default)s)")
    parser.add_argument("--explain", action="store_true",
                        help="add each investor's evidence from the history up to --at (text and json; html always has it)")
    parser.add_argument("--calibrate", action="store_true",
                        help="add p_new_link_within_N_days: the score calibrated (isotonic) on the validation "
                             "window, N its length in days (replays and scores that window once more)")
    parser.add_argument("--calibration_negatives", type=int, default=None,
                        help="negatives sampled from the validation window for --calibrate (default 200000)")
    parser.add_argument("--calibration_seed", type=int, default=0,
                        help="seed of that sample (default %(default)s)")


def add_common_arguments(parser: argparse.ArgumentParser, company_required: bool = True) -> None:
    """The flags that ``recommend`` and ``explain`` share (recommend takes --new_company instead of
    --company, so it checks --company itself)."""
    parser.add_argument("--model_path", required=True, help="checkpoint written by train_self_supervised.py")
    parser.add_argument("--company", required=company_required,
                        help="company name as in data/ml_{data}_nodes.csv (case-insensitive), or #ID for a node id")
    parser.add_argument("--at", default=None,
                        help="date YYYY-MM-DD (or days since 1970-01-01) to recommend at: the history is every event "
                             "up to it (default: the last event, i.e. all the data)")
    parser.add_argument("-d", "--data", default=None, help="dataset name (default: the checkpoint's dataset)")
    parser.add_argument("--data_dir", default="data", help="folder holding the ml_ files (default %(default)s)")
    parser.add_argument("--gpu", type=int, default=0,
                        help="CUDA device index, used when CUDA is available; -1 forces the CPU (default %(default)s)")
    parser.add_argument("--batch_size", "--bs", dest="batch_size", type=int, default=None,
                        help="events per batch when replaying the history (default: the checkpoint's batch size)")
    parser.add_argument("--format", choices=FORMATS, default="text",
                        help="output: a table (text), one JSON object (json) or one self-contained HTML page "
                             "(html) (default %(default)s)")
    parser.add_argument("--output", default=None,
                        help="write the output to this file (atomically) instead of printing it")
    parser.add_argument("--fusion", default=None,
                        help="rank with a learned fusion: the .lgb.txt booster that tgnrank fuse (or diagnose "
                             "--fusion) writes; the model of --model_path feeds its model-score feature")


def run(args: argparse.Namespace) -> int:
    from tgnrank.eval.recommend import recommend_investors

    if args.new_company is not None:
        from tgnrank.cli.recommend_new import run_new_company

        return run_new_company(args)
    if args.company is None:
        raise ConfigError("--company is required (or --new_company for a company not in the data)")
    if args.k < 1:
        raise ConfigError(f"--k must be an integer >= 1, got {args.k}")
    checkpoint, data, company, at, device, fusion = load_inputs(args)
    calibration = None
    if args.calibrate:
        from tgnrank.eval.calibration import DEFAULT_NEGATIVES, fit_calibration

        n_negatives = DEFAULT_NEGATIVES if args.calibration_negatives is None else args.calibration_negatives
        calibration = fit_calibration(checkpoint, data, device, args.batch_size, n_negatives, args.calibration_seed)
    recommendations = recommend_investors(
        checkpoint, data, company, at, args.k, device, args.batch_size, calibration, fusion
    )
    emit(args, data, recommendations, explain=args.explain)
    return 0


def load_inputs(args: argparse.Namespace):
    """(checkpoint, data, company id, at, device, fusion or None) from the shared flags."""
    from tgnrank.cli.diagnose import check_batch_size
    from tgnrank.data import open_dataset
    from tgnrank.eval.recommend import find_company, parse_at
    from tgnrank.train.checkpoint import load_checkpoint
    from tgnrank.train.device import select_device

    check_batch_size(args.batch_size)
    checkpoint = load_checkpoint(args.model_path)
    data = open_dataset(args.data or checkpoint["config"].get("dataset") or "synthetic", args.data_dir)
    fusion = None
    if args.fusion:
        from tgnrank.eval.explain_fusion import load_fusion

        fusion = load_fusion(args.fusion, args.model_path)
    return checkpoint, data, find_company(data, args.company), parse_at(args.at, data), select_device(args.gpu), fusion


def emit(args: argparse.Namespace, data, recommendations, explain: bool) -> None:
    """Print (or write to --output) the recommendations in --format, with their explanations when
    ``explain`` or for html."""
    from tgnrank.eval.recommend import format_recommendations, recommendations_json

    explanations = None
    if explain or args.format == "html":
        from tgnrank.eval.explain import explain_recommendations

        explanations = explain_recommendations(recommendations, data)
    if args.format == "html":
        from tgnrank.eval.explain_format import explanations_html

        text = explanations_html(recommendations, explanations)
    elif args.format == "json":
        payload = recommendations_json(recommendations)
        if explanations is not None:
            from tgnrank.eval.explain import explanation_json

            payload["explanations"] = [explanation_json(e) for e in explanations]
        text = json.dumps(payload, indent=2)
    else:
        text = format_recommendations(recommendations)
        if explanations is not None:
            from tgnrank.eval.explain_format import format_explanations

            text += "\n\nWhy (evidence from the history up to the recommendation date):\n\n"
            text += format_explanations(explanations)
    if args.output is None:
        print(text)
        return
    from tgnrank.data.events import atomic_write

    encoded = (text if text.endswith("\n") else text + "\n").encode("utf-8")
    atomic_write(args.output, lambda handle: handle.write(encoded))
    print(f"wrote {args.output}")
