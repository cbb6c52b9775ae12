"""Train TGN with self-supervised link prediction (the guide's training command).

A thin, seed-compatible entry point: all logic lives in the `tgnrank` package.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from tgnrank.cli.main import standalone_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(standalone_main("tgnrank.cli.train", prog=Path(__file__).name))
