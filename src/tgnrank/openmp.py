"""The OpenMP wait policy that the command-line entry points apply before torch loads OpenMP.

torch's OpenMP worker threads spin while they wait. When another process holds one of the cores,
spinning threads starve each other: one training batch measured 12x slower with 2 threads on a
2-core machine under load, while passive waiting costs about 30% on an idle machine, a price worth
a bounded worst case. OpenMP reads the variable once, when torch loads it, so it only takes effect
if set before the first ``import torch``. Library users choose for themselves: export the variable,
or call :func:`apply_wait_policy` before importing torch.
"""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping

WAIT_POLICY_VARIABLE = "OMP_WAIT_POLICY"
DEFAULT_WAIT_POLICY = "PASSIVE"


def apply_wait_policy(environ: MutableMapping[str, str] = os.environ) -> bool:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` in ``environ`` unless the user set it.

    Returns whether the policy in ``environ`` can still take effect, i.e. torch is not imported yet
    (a value the user exported always wins).
    """
    environ.setdefault(WAIT_POLICY_VARIABLE, DEFAULT_WAIT_POLICY)
    return "torch" not in sys.modules
