"""Summarise a dataset: counts, time span, degrees, repeated pairs, syndicates, features, splits and how
similar the node features of true pairs are compared with random pairs (why hard negatives matter).
Timestamps are days since 1970-01-01 and are shown as dates."""

from __future__ import annotations

import argparse
import json

from tgnrank.cli.flags import add_setting
from tgnrank.config.sections import DataConfig
from tgnrank.errors import ConfigError

HELP = "summarise a dataset (counts, time span, degrees, syndicates, splits, feature similarity)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default="synthetic", help="dataset name: reads data/ml_{data}.* (default: synthetic)")
    parser.add_argument("--data_dir", default="data", help="directory holding the dataset (default: data)")
    for name in ("train_quantile", "val_quantile"):
        add_setting(parser, name)
    parser.add_argument("--json", action="store_true", help="print the statistics as JSON instead of text")


def run(args: argparse.Namespace) -> int:
    from tgnrank.data import open_dataset
    from tgnrank.data.activity import feature_kinds
    from tgnrank.data.stats import dataset_statistics

    DataConfig(train_quantile=args.train_quantile, val_quantile=args.val_quantile)  # the declared checks
    data = open_dataset(args.data, args.data_dir)
    if data.n_events == 0:
        raise ConfigError(f"--data {args.data}: the dataset in {args.data_dir} has no events")
    stats = dataset_statistics(data, train_quantile=args.train_quantile, val_quantile=args.val_quantile)
    stats["features"].update(feature_kinds(data))
    print(json.dumps(stats, indent=2) if args.json else "\n".join(format_statistics(stats)))
    return 0


def format_statistics(stats: dict) -> list[str]:
    """Readable lines for the dict of ``tgnrank.data.stats.dataset_statistics``."""
    return [
        *_counts_lines(stats),
        *_degree_lines(stats["degrees"]),
        *_structure_lines(stats),
        *_split_lines(stats),
        *_similarity_lines(stats["similarity"]),
    ]


def _counts_lines(stats: dict) -> list[str]:
    counts, span, precision = stats["counts"], stats["time"], stats["date_precision"]
    return [
        f"dataset '{stats['name']}'",
        f"  events      {counts['events']:,}",
        f"  companies   {counts['companies']:,} ({counts['active_companies']:,} with events)",
        f"  investors   {counts['investors']:,} ({counts['active_investors']:,} with events)",
        f"  time span   {span['first_date']} .. {span['last_date']} ({span['years']:.1f} years, "
        f"{span['distinct_timestamps']:,} distinct timestamps; timestamps are days since 1970-01-01)",
        f"  dates       {precision['month_start_share']:.1%} fall on the 1st of a month, "
        f"{precision['year_start_share']:.1%} on January 1st (known only to the month or year)",
    ]


def _degree_lines(degrees: dict) -> list[str]:
    header = f"  {'degree':<11}{'nodes':>8}{'mean':>8}{'median':>8}{'p90':>8}{'p99':>8}{'max':>7}  top-1% share"
    lines = ["degrees (events per node, nodes with events)", header]
    for kind, label in (("company", "companies"), ("investor", "investors")):
        row = degrees[kind]
        lines.append(
            f"  {label:<11}{row['nodes']:>8,}{row['mean']:>8.1f}{row['median']:>8.1f}{row['p90']:>8.1f}"
            f"{row['p99']:>8.1f}{row['max']:>7,}  {row['top1_share']:.1%} of events"
        )
    return lines


def _structure_lines(stats: dict) -> list[str]:
    repeated, syndicates, features = stats["repeated_pairs"], stats["syndicates"], stats["features"]
    histogram = "  ".join(f"{size}: {count:,}" for size, count in syndicates["histogram"].items())
    return [
        f"repeated pairs  {repeated['share']:.1%} of events repeat an earlier (company, investor) pair "
        f"({repeated['distinct_pairs']:,} distinct pairs)",
        f"syndicates      {syndicates['rounds']:,} rounds (events sharing a company and a timestamp): "
        f"mean {syndicates['mean']:.2f} investors, median {syndicates['median']:.0f}, max {syndicates['max']}, "
        f"{syndicates['single_share']:.1%} single-investor",
        f"  investors per round  {histogram}",
        f"features        node {features['node_dim']} dims, edge {features['edge_dim']} dims",
        *_feature_kind_lines(features),
    ]


def _feature_kind_lines(features: dict) -> list[str]:
    """Which node inputs are static (stored) and which time-aware (computed as of each prediction)."""
    if "static" not in features:
        return []
    return [
        f"  static      {len(features['static'])} node columns, the same at every time: {_abbreviate(features['static'])}",
        f"  time-aware  {len(features['time_aware'])} activity columns from each node's events strictly before the "
        f"prediction time (when activity features are enabled): {_abbreviate(features['time_aware'])}",
    ]


def _abbreviate(names: list[str], shown: int = 8) -> str:
    more = f", ... ({len(names) - shown} more)" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _split_lines(stats: dict) -> list[str]:
    splits, new_links = stats["splits"], stats["new_links"]
    lines = [
        f"splits ({splits['train_quantile']:.0%} / {splits['val_quantile']:.0%} time quantiles)  "
        f"train {splits['train']:,}, validation {splits['val']:,} after {splits['val_date']}, "
        f"test {splits['test']:,} after {splits['test_date']}; new-node validation {splits['new_node_val']:,}, "
        f"new-node test {splits['new_node_test']:,}",
    ]
    for period in ("validation", "test"):
        row = new_links[period]
        lines.append(
            f"  new links in {period:<10} {row['new_pairs']:,} pairs, {row['unseen_node_share']:.1%} involve a "
            f"company or investor unseen before; {row['evaluable']:,} between known nodes (ranking positives)"
        )
    return lines


def _similarity_lines(similarity: dict) -> list[str]:
    lines = ["node-feature cosine similarity (AUC: how well similarity alone separates true from random pairs)"]
    labels = {
        "company_investor": ("company-investor", "funded pairs", "random investor"),
        "coinvestors": ("investor-investor", "co-invested", "random pairs"),
    }
    for key, (title, true_label, random_label) in labels.items():
        if key not in similarity:
            continue
        row = similarity[key]
        lines.append(
            f"  {title:<18} {true_label} {row['true_mean']:+.3f} vs {random_label} {row['random_mean']:+.3f} "
            f"(AUC {row['auc']:.3f}, {row['pairs']:,} pairs)"
        )
    if "lookalikes" in similarity:
        row = similarity["lookalikes"]
        lines.append(
            f"  look-alike investors  {row['twin_share']:.1%} have a feature twin (cosine > {row['twin_cosine']}; "
            f"median nearest {row['nearest_cosine_median']:.3f}) yet share few companies with it (mean Jaccard "
            f"{row['nearest_jaccard_mean']:.3f}; {row['investors']:,} investors sampled)"
        )
    return lines
