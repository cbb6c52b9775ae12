"""Time `import_crunchbase` on a messy, export-like CSV (company_name,investor_name,funded_when,amount_usd).

The CSV is generated in a temporary directory: funding rounds with syndicates of 1 to 12 investors,
heavy-tailed investor activity, dates in several formats and precisions, ~9% missing amounts, amounts
as text with thousands separators, stray whitespace and case variants in names, non-ASCII names.

    python benchmarks/import_speed.py [--rows 80000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from tgnrank.data.crunchbase import import_crunchbase
from tgnrank.data.events import save_dataset


def build_export(n_rows: int, seed: int = 0) -> pd.DataFrame:
    """An export-like frame of about ``n_rows`` investment rows (one row per investor per round)."""
    rng = np.random.default_rng(seed)
    n_companies, n_investors = max(n_rows // 4, 10), max(n_rows // 10, 10)
    syndicate_sizes = np.minimum(rng.geometric(0.4, size=n_rows), 12)
    n_rounds = int(np.searchsorted(np.cumsum(syndicate_sizes), n_rows)) + 1
    syndicate_sizes = syndicate_sizes[:n_rounds]
    round_of_row = np.repeat(np.arange(n_rounds), syndicate_sizes)[:n_rows]

    round_company = rng.integers(0, n_companies, size=n_rounds)
    round_day = rng.integers(0, 25 * 365, size=n_rounds) + np.datetime64("1995-01-01")
    round_amount = np.exp(rng.normal(15.0, 1.5, size=n_rounds)).round(-3)
    activity = rng.pareto(1.2, size=n_investors) + 1.0
    investors = rng.choice(n_investors, size=n_rows, p=activity / activity.sum())

    company_names = np.array([f"Company {k:05d}" for k in range(n_companies)], dtype=object)
    company_names[::97] = [f"Société {k} Générale" for k in range(len(company_names[::97]))]
    investor_names = np.array([f"Investor {k:04d} Capital" for k in range(n_investors)], dtype=object)
    investor_names[::53] = [f"北京 Ventures {k}" for k in range(len(investor_names[::53]))]

    days = pd.Series(round_day[round_of_row])
    formats = rng.choice(4, size=n_rows, p=[0.7, 0.15, 0.05, 0.1])
    dates = np.where(
        formats == 0,
        days.dt.strftime("%Y-%m-%d"),
        np.where(formats == 1, days.dt.strftime("%Y-%m"), np.where(formats == 2, days.dt.strftime("%Y"), days.dt.strftime("%m/%d/%Y"))),
    )
    amounts = pd.Series(round_amount[round_of_row]).map("{:,.0f}".format).to_numpy(dtype=object)
    amounts[rng.random(n_rows) < 0.09] = ""
    amounts[rng.random(n_rows) < 0.01] = "-"

    company = company_names[round_company[round_of_row]]
    investor = investor_names[investors]
    noisy = rng.random(n_rows) < 0.05
    investor = np.where(noisy, "  " + pd.Series(investor).str.upper().to_numpy(dtype=object) + " ", investor)
    return pd.DataFrame({"company_name": company, "investor_name": investor, "funded_when": dates, "amount_usd": amounts})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=80_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "investments.csv"
        build_export(args.rows).to_csv(path, index=False)
        print(f"export: {path.stat().st_size / 1e6:.1f} MB, {args.rows:,} rows")
        import_seconds = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            data, summary = import_crunchbase(path, "benchmark")
            import_seconds.append(time.perf_counter() - start)
        start = time.perf_counter()
        save_dataset(data, Path(directory) / "data")
        save_seconds = time.perf_counter() - start
    print("\n".join(summary.lines()))
    print(
        f"import_crunchbase: best {min(import_seconds):.2f} s, median {np.median(import_seconds):.2f} s "
        f"over {args.repeats} runs; save_dataset: {save_seconds:.2f} s"
    )


if __name__ == "__main__":
    main()
