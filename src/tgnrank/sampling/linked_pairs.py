"""The training pairs that a hard sampler must never draw, as sorted keys searched in bulk."""

from __future__ import annotations

import numpy as np

from tgnrank.data.arrays import distinct


class LinkedPairs:
    """The (company, investor) pairs of the training data as sorted int64 keys ``company * M + position``.

    ``position`` is the investor's index in the candidate pool (length ``M``); investors outside the
    pool can never be drawn, so their links are dropped.
    """

    def __init__(self, sources: np.ndarray, destinations: np.ndarray, pool: np.ndarray):
        self.n_pool = len(pool)
        sources = np.asarray(sources, dtype=np.int64)
        positions, in_pool = pool_positions(pool, np.asarray(destinations, dtype=np.int64))
        self.keys = distinct(sources[in_pool] * self.n_pool + positions[in_pool])

    def contains(self, companies: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """Whether each (company, pool position) pair is linked; the arguments broadcast."""
        query = np.asarray(companies, dtype=np.int64) * self.n_pool + positions
        if len(self.keys) == 0:
            return np.zeros(query.shape, dtype=bool)
        found = np.searchsorted(self.keys, query)
        return self.keys[np.minimum(found, len(self.keys) - 1)] == query

    def uniform_allowed(
        self, companies: np.ndarray, excluded_positions: np.ndarray, has_excluded: np.ndarray, uniforms: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact uniform draws over pool positions not linked to the company nor equal to the excluded one.

        All arguments are ``(R,)``; ``uniforms`` in [0, 1). Returns the positions and a mask of the rows
        where at least one position was allowed (other rows' positions are meaningless). The r-th
        allowed position is found by a vectorised binary search on "allowed positions up to p".
        """
        base = companies * self.n_pool
        first = np.searchsorted(self.keys, base)
        n_linked = np.searchsorted(self.keys, base + self.n_pool) - first
        extra = has_excluded & ~self.contains(companies, excluded_positions)
        n_allowed = self.n_pool - n_linked - extra
        possible = n_allowed > 0
        rank = np.minimum((uniforms * n_allowed).astype(np.int64), np.maximum(n_allowed - 1, 0))
        low = np.zeros(len(companies), dtype=np.int64)
        high = np.full(len(companies), self.n_pool - 1, dtype=np.int64)
        while np.any(low < high):
            mid = (low + high) // 2
            excluded_upto = np.searchsorted(self.keys, base + mid, side="right") - first
            excluded_upto += extra & (excluded_positions <= mid)
            enough = mid + 1 - excluded_upto >= rank + 1
            high = np.where(enough, mid, high)
            low = np.where(enough, low, mid + 1)
        return low, possible


def pool_positions(pool: np.ndarray, node_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of each node id in the sorted ``pool`` and whether it is there. ``(B,) -> (B,), (B,)``."""
    positions = np.minimum(np.searchsorted(pool, node_ids), len(pool) - 1)
    return positions, pool[positions] == node_ids
