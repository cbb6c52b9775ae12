"""Timestamps are float days since 1970-01-01; these convert between them and calendar dates."""

from __future__ import annotations

import numpy as np

EPOCH = np.datetime64("1970-01-01", "D")


def days_since_epoch(dates: np.ndarray) -> np.ndarray:
    """Float days since 1970-01-01 for ``datetime64[D]`` dates. Shape preserved."""
    return (dates - EPOCH).astype(np.int64).astype(np.float64)


def day_to_iso(day: float) -> str:
    """ISO date of a timestamp in days since 1970-01-01 (the inverse of ``days_since_epoch``)."""
    return str(np.datetime64(int(np.floor(day)), "D"))
