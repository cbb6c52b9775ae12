"""Generate the synthetic Crunchbase-like dataset into data/ml_{name}.* (deterministic for a given seed)."""

from __future__ import annotations

import argparse
import time

from tgnrank.errors import ConfigError

HELP = "generate a synthetic Crunchbase-like funding dataset into data/ml_{name}.*"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from tgnrank.data.synthetic import DEFAULT_COMPANIES, DEFAULT_INVESTORS

    parser.add_argument("--name", default="synthetic", help="dataset name: writes ml_{name}.* (default: synthetic)")
    parser.add_argument(
        "--companies", type=int, default=DEFAULT_COMPANIES,
        help=f"number of companies, about five events each (default: {DEFAULT_COMPANIES})",
    )
    parser.add_argument(
        "--investors", type=int, default=DEFAULT_INVESTORS,
        help=f"number of investors (default: {DEFAULT_INVESTORS})",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same seed writes the same bytes (default: 0)")
    parser.add_argument("--data_dir", default="data", help="directory to write the dataset to (default: data)")


def run(args: argparse.Namespace) -> int:
    from tgnrank.data.events import save_dataset
    from tgnrank.data.stats import day_to_iso
    from tgnrank.data.synthetic import generate_synthetic

    for flag, value in (("--companies", args.companies), ("--investors", args.investors)):
        if value < 1:
            raise ConfigError(f"{flag} must be an integer >= 1, got {value}")
    if args.seed < 0:
        raise ConfigError(f"--seed must be an integer >= 0, got {args.seed}")
    if not args.name or "/" in args.name:
        raise ConfigError(f"--name must be a non-empty file-name stem without '/', got {args.name!r}")

    started = time.perf_counter()
    data = generate_synthetic(n_companies=args.companies, n_investors=args.investors, seed=args.seed, name=args.name)
    elapsed = time.perf_counter() - started
    paths = save_dataset(data, args.data_dir)
    timestamps = data.events.timestamps
    print(
        f"generated '{args.name}' (seed {args.seed}) in {elapsed:.1f}s: {data.n_events:,} events, "
        f"{args.companies:,} companies, {args.investors:,} investors, "
        f"{day_to_iso(timestamps.min())} .. {day_to_iso(timestamps.max())}"
    )
    print("wrote " + ", ".join(str(path) for path in paths.values()))
    print(f"summarise it with: tgnrank info --data {args.name} --data_dir {args.data_dir}")
    return 0
