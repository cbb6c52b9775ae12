"""``tgnrank recommend --new_company NAME --category C [--country X] [--round_type seed]``: investors for a
company that is not in the data, scored by the model from its attributes (see
:mod:`tgnrank.eval.recommend_new`)."""

from __future__ import annotations

import argparse
import json

from tgnrank.errors import ConfigError

# recommend's flags that need the company's own history.
HISTORY_FLAGS = ("company", "explain", "calibrate", "fusion")


def add_new_company_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("a company not in the data (instead of --company)")
    group.add_argument("--new_company", default=None,
                       help="name of a company absent from the data, ranked from --category/--country alone")
    group.add_argument("--category", default=None,
                       help="its category labels, '|'-separated, among the dataset's company:category columns")
    group.add_argument("--country", default=None, help="its country, among the dataset's company:country columns")
    group.add_argument("--round_type", default=None,
                       help="the round it raises (e.g. seed): adds each investor's share of deals of that type")


def run_new_company(args: argparse.Namespace) -> int:
    from tgnrank.cli.diagnose import check_batch_size
    from tgnrank.data import open_dataset
    from tgnrank.eval.recommend import parse_at
    from tgnrank.eval.recommend_new import NewCompany, format_new_company, new_company_json, recommend_for_new_company
    from tgnrank.train.checkpoint import load_checkpoint
    from tgnrank.train.device import select_device

    given = [name for name in HISTORY_FLAGS if getattr(args, name, None)]
    if given:
        raise ConfigError(f"new_company is a company without history; {', '.join(given)} need(s) one",
                          ("new_company", *given))
    if args.format == "html":
        raise ConfigError("new_company prints text or json (format html shows explanations, which need a history)",
                          ("new_company", "format"))
    if args.k < 1:
        raise ConfigError(f"k must be an integer >= 1, got {args.k}", ("k",))
    check_batch_size(args.batch_size)
    checkpoint = load_checkpoint(args.model_path)
    data = open_dataset(args.data or checkpoint["config"].get("dataset") or "synthetic", args.data_dir)
    labels = tuple(label.strip() for label in (args.category or "").split("|") if label.strip())
    company = NewCompany(args.new_company, labels, args.country, args.round_type)
    result = recommend_for_new_company(checkpoint, data, company, parse_at(args.at, data), args.k,
                                       select_device(args.gpu), args.batch_size)
    text = json.dumps(new_company_json(result), indent=2) if args.format == "json" else format_new_company(result, data)
    if args.output is None:
        print(text)
        return 0
    from tgnrank.data.events import atomic_write

    atomic_write(args.output, lambda handle: handle.write((text + "\n").encode("utf-8")))
    print(f"wrote {args.output}")
    return 0
