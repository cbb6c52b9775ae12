"""Import a Crunchbase investments CSV export into data/ml_{name}.* (the TGN format) and print what was
kept and dropped. Static node features (kind, category, country) and every vocabulary use only events up to the
end of the training period (or --feature_cutoff); activity statistics are time-aware, computed for each prediction
from earlier events, and not stored."""

from __future__ import annotations

import argparse

from tgnrank.cli.flags import add_setting
from tgnrank.cli.spelling import spell_as_flags

HELP = "import a Crunchbase investments CSV export into data/ml_{name}.*"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="the Crunchbase investments export (CSV)")
    parser.add_argument("--name", default="crunchbase", help="dataset name: writes ml_{name}.* (default: crunchbase)")
    parser.add_argument("--data_dir", default="data", help="directory to write the dataset to (default: data)")
    parser.add_argument(
        "--feature_cutoff",
        default=None,
        metavar="DATE",
        help="take static node attributes and vocabularies from events up to this date (default: the "
        "--train_quantile time quantile, where training ends); time-aware activity features do not use it",
    )
    add_setting(parser, "train_quantile", help="time quantile ending the training period, the default --feature_cutoff")


def run(args: argparse.Namespace) -> int:
    from tgnrank.data.crunchbase import import_crunchbase
    from tgnrank.data.events import save_dataset

    data, summary = import_crunchbase(
        args.path, args.name, feature_cutoff=args.feature_cutoff, train_quantile=args.train_quantile
    )
    paths = save_dataset(data, args.data_dir)
    print("\n".join(spell_as_flags(line, ("feature_cutoff",)) for line in summary.lines()))
    print("wrote " + ", ".join(str(path) for path in paths.values()))
    return 0
