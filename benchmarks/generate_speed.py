"""Seconds to generate the synthetic dataset at its default size and at about 1,000,000 events.

Usage: python benchmarks/generate_speed.py [--events 1000000] [--seed 0]
The large size scales companies and investors together from the default ratio; the target is
under a minute for a million events (issue 2).
"""

from __future__ import annotations

import argparse
import time

from tgnrank.data.synthetic import DEFAULT_COMPANIES, DEFAULT_INVESTORS, generate_synthetic


def timed_generation(n_companies: int, n_investors: int, seed: int) -> tuple[float, int]:
    started = time.perf_counter()
    data = generate_synthetic(n_companies=n_companies, n_investors=n_investors, seed=seed)
    return time.perf_counter() - started, data.n_events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="approximate number of events of the large run")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    seconds, n_events = timed_generation(DEFAULT_COMPANIES, DEFAULT_INVESTORS, args.seed)
    print(f"default   {DEFAULT_COMPANIES:>8,} companies {DEFAULT_INVESTORS:>7,} investors: "
          f"{n_events:>10,} events in {seconds:6.2f} s")
    scale = args.events / n_events
    n_companies, n_investors = round(DEFAULT_COMPANIES * scale), round(DEFAULT_INVESTORS * scale)
    seconds, n_events = timed_generation(n_companies, n_investors, args.seed)
    print(f"large     {n_companies:>8,} companies {n_investors:>7,} investors: "
          f"{n_events:>10,} events in {seconds:6.2f} s ({n_events / seconds:,.0f} events/s)")


if __name__ == "__main__":
    main()
