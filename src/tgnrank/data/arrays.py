"""Array helpers shared by the data layer and everything above it."""

from __future__ import annotations

import numpy as np

# Norms below this count as zero rows (their unit row stays zero instead of dividing by ~0).
ZERO_NORM = 1e-12


def distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values of ``values``, by sorting.

    numpy 2's hash-based ``np.unique`` on integers is about 40 times slower than a sort on a million
    events, and ``np.union1d``/``np.setdiff1d`` inherit it; this is the one place that works around it.
    """
    ordered = np.sort(np.asarray(values).ravel())
    if len(ordered) == 0:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def distinct_union(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Sorted distinct values present in either array (``np.union1d`` without its slow path)."""
    return distinct(np.concatenate([np.asarray(first).ravel(), np.asarray(second).ravel()]))


def unit_rows(features: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm, float32 ``(n, d)``; all-zero rows stay zero (similarity 0 to all)."""
    features = np.asarray(features, dtype=np.float32)
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    return features / np.maximum(norms, ZERO_NORM)


def expand_ranges(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(owners, positions)``, both (sum of lengths,) int64: every position of the concatenated ranges
    ``[starts[k], ends[k])`` and the k each came from, without a loop over the ranges."""
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.asarray(ends, dtype=np.int64) - starts
    owners = np.repeat(np.arange(len(starts)), lengths)
    offsets = np.arange(len(owners)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return owners, starts[owners] + offsets


def group_ids(*keys: np.ndarray) -> np.ndarray:
    """``(n,)`` int64 id of each row's tuple of ``keys`` (each ``(n,)``, any dtype), numbered from 0 in
    order of first appearance: rows share an id exactly when all their keys are equal."""
    import pandas as pd  # here, so that the many importers of this module do not all load pandas

    frame = pd.DataFrame({position: np.asarray(key) for position, key in enumerate(keys)})
    return frame.groupby(list(frame.columns), sort=False, dropna=False).ngroup().to_numpy(dtype=np.int64)
