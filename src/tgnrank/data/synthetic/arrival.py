"""Weighted draws among the items that have arrived by a given day, for a whole batch at once.
"""

from __future__ import annotations

import numpy as np



class ArrivalSampler:
    """Weighted draws of one item from a group, among the items that have arrived by a given day.

    Entries (group, item, arrival fraction in [0, 1), weight) are sorted by ``group + arrival``, so
    the items of a group available at a day form a prefix of its block, and one ``searchsorted`` over
    the global cumulative weights draws for a whole batch of (group, day) queries.
    """

    def __init__(self, keys: np.ndarray, items: np.ndarray, weights: np.ndarray):
        """Entries (M,) given as keys ``group + arrival``, item ids and positive weights, sorted by key."""
        self.keys = keys
        self.items = items
        self.cumulative = np.cumsum(weights)

    @classmethod
    def from_entries(
        cls, group: np.ndarray, item: np.ndarray, arrival: np.ndarray, weight: np.ndarray
    ) -> "ArrivalSampler":
        """Sampler over entries in any order (all arrays (M,)); entries of zero weight are dropped."""
        keep = weight > 0
        keys = group[keep] + arrival[keep]
        order = np.argsort(keys, kind="stable")
        return cls(keys[order], item[keep][order], weight[keep][order])

    def sample(self, group: np.ndarray, day_fraction: np.ndarray, uniform: np.ndarray) -> np.ndarray:
        """Item drawn for each query (all arrays (Q,)); -1 where no item of the group has arrived."""
        # Sorted queries walk the tables in order, which is several times faster on large tables.
        order = np.argsort(group + day_fraction, kind="stable")
        group, day_fraction, uniform = group[order].astype(np.float64), day_fraction[order], uniform[order]
        start = np.searchsorted(self.keys, group, side="left")
        end = np.searchsorted(self.keys, group + day_fraction, side="right")
        before = np.where(start > 0, self.cumulative[np.maximum(start - 1, 0)], 0.0)
        through = np.where(end > 0, self.cumulative[np.maximum(end - 1, 0)], 0.0)
        target = before + uniform * (through - before)
        index = np.clip(np.searchsorted(self.cumulative, target, side="right"), start, np.maximum(end - 1, start))
        found = (end > start) & (through > before)
        drawn = np.empty(len(order), dtype=np.int64)
        drawn[order] = np.where(found, self.items[np.minimum(index, len(self.items) - 1)], -1)
        return drawn
