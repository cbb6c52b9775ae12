"""tgnrank: Temporal Graph Networks that rank future investor-company links."""

import os

__version__ = "0.1.0"

# torch's OpenMP worker threads spin while they wait. When another process holds one of the cores,
# spinning threads starve each other: one training batch measured 12x slower with 2 threads on a
# 2-core machine under load; passive waiting costs about 30% on an idle machine, a price worth a
# bounded worst case. It must be set before torch loads OpenMP; a value the user exported wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
