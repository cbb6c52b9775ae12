"""Hard negative samplers under the guide's names; run it to print examples and PASS/FAIL checks.

A thin, seed-compatible entry point: all logic lives in the `tgnrank` package.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from tgnrank.cli.main import standalone_main  # noqa: E402
from tgnrank.openmp import apply_wait_policy  # noqa: E402

if __name__ == "__main__":
    apply_wait_policy()  # before the samplers below import torch; importing this file changes nothing

from tgnrank.sampling.negatives import (  # noqa: E402
    BatchedHardNegativeSampler,
    HardNegativeSampler,
    build_adjacency_dict,
)

__all__ = ["BatchedHardNegativeSampler", "HardNegativeSampler", "build_adjacency_dict"]

if __name__ == "__main__":
    sys.exit(standalone_main("tgnrank.cli.mine", prog=Path(__file__).name))
