"""Generate the synthetic Crunchbase-like dataset into data/ml_{name}.* (deterministic for a given seed)."""

from __future__ import annotations

import argparse
import time

from tgnrank.errors import ConfigError

HELP = "generate a synthetic Crunchbase-like funding dataset into data/ml_{name}.*"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # Defaults resolve in run() so that building the parser does not import the data layer.
    parser.add_argument("--name", default="synthetic", help="dataset name: writes ml_{name}.* (default: synthetic)")
    parser.add_argument(
        "--companies", type=int, default=None,
        help="number of companies, about five events each (default: the default dataset's, ~40,000 events in all)",
    )
    parser.add_argument(
        "--investors", type=int, default=None,
        help="number of investors (default: the default dataset's)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="random seed; the same seed writes the same bytes (default: 0)"
    )
    parser.add_argument("--data_dir", default="data", help="directory to write the dataset to (default: data)")


def run(args: argparse.Namespace) -> int:
    from tgnrank.data.events import save_dataset
    from tgnrank.data.dates import day_to_iso
    from tgnrank.data.synthetic import DEFAULT_COMPANIES, DEFAULT_INVESTORS, generate_synthetic

    n_companies = DEFAULT_COMPANIES if args.companies is None else args.companies
    n_investors = DEFAULT_INVESTORS if args.investors is None else args.investors
    for flag, value in (("--companies", n_companies), ("--investors", n_investors)):
        if value < 1:
            raise ConfigError(f"{flag} must be an integer >= 1, got {value}")
    if args.seed < 0:
        raise ConfigError(f"--seed must be an integer >= 0, got {args.seed}")
    if not args.name or "/" in args.name:
        raise ConfigError(f"--name must be a non-empty file-name stem without '/', got {args.name!r}")

    started = time.perf_counter()
    data = generate_synthetic(n_companies=n_companies, n_investors=n_investors, seed=args.seed, name=args.name)
    elapsed = time.perf_counter() - started
    paths = save_dataset(data, args.data_dir)
    timestamps = data.events.timestamps
    span = f", {day_to_iso(timestamps.min())} .. {day_to_iso(timestamps.max())}" if data.n_events else ""
    print(
        f"generated '{args.name}' (seed {args.seed}) in {elapsed:.1f}s: {data.n_events:,} events, "
        f"{n_companies:,} companies, {n_investors:,} investors{span}"
    )
    print("wrote " + ", ".join(str(path) for path in paths.values()))
    print(f"summarise it with: tgnrank info --data {args.name} --data_dir {args.data_dir}")
    return 0
