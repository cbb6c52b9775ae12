"""Threads: the CPUs this process may use, and sharing the rows of a score block among threads that each
fill their own part of one output array."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def machine_cpus() -> int:
    """The CPUs this process may use (the affinity mask, where the platform has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def fill_rows_in_threads(out: np.ndarray, row_start: int, row_stop: int, threads: int,
                         fill: Callable[[np.ndarray, int, int, int], None]) -> None:
    """Call ``fill(out, row_start, part_start, part_stop)`` on up to ``threads`` contiguous parts of
    ``[row_start, row_stop)``, in parallel when there is more than one part.

    ``out (row_stop - row_start, ...)`` holds row ``r`` at ``out[r - row_start]``; each call writes only
    its own rows, so the threads never share a cell. ``fill`` should release the GIL (numpy products
    do) for the threads to pay off.
    """
    bounds = np.linspace(row_start, row_stop, min(threads, row_stop - row_start) + 1).astype(int)
    parts = list(zip(bounds[:-1], bounds[1:]))
    if len(parts) == 1:
        fill(out, row_start, *parts[0])
    elif parts:
        with ThreadPoolExecutor(len(parts)) as pool:
            list(pool.map(lambda part: fill(out, row_start, *part), parts))
