"""Rank every candidate (company, investor) pair of a future window and report Precision@K, Recall@K, median rank.

A thin, seed-compatible entry point: all logic lives in the `tgnrank` package.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from tgnrank.cli.main import standalone_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(standalone_main("tgnrank.cli.diagnose", prog=Path(__file__).name))
