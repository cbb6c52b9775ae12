"""Temporal neighbour lookup on CSR arrays, vectorised over a whole batch of (node, time) queries.

Every interaction is stored twice, once under each endpoint, because neighbourhoods are undirected:
a company's neighbours are its investors and an investor's neighbours are its companies (as TGN).
Within a node, entries are sorted by time, ties kept in event order, so "the ``n`` most recent
interactions strictly before ``t``" is the block just left of a ``searchsorted`` position.

A single ``searchsorted`` answers all queries at once: each entry gets the integer key
``node * (n_distinct_times + 1) + rank(time)``, which sorts the CSR arrays globally, and a query
``(v, t)`` looks up ``v * (n_distinct_times + 1) + (number of distinct times < t)``.
"""

from __future__ import annotations

import numpy as np

from tgnrank.data.events import Interactions


class NeighborFinder:
    """The ``n`` most recent (or ``n`` uniformly drawn) interactions of nodes before given times.

    Built from CSR arrays of length ``2 * n_interactions``: entries of node ``v`` are
    ``[offsets[v], offsets[v + 1])`` and hold the neighbour id, the edge id and the time.
    """

    def __init__(
        self,
        offsets: np.ndarray,
        neighbors: np.ndarray,
        edge_idxs: np.ndarray,
        times: np.ndarray,
        uniform: bool = False,
        seed: int | None = None,
        events: Interactions | None = None,
    ):
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.neighbors = np.asarray(neighbors, dtype=np.int64)
        self.edge_idxs = np.asarray(edge_idxs, dtype=np.int64)
        self.times = np.asarray(times, dtype=np.float64)
        self.uniform = bool(uniform)
        self.events = events
        self.n_nodes = len(self.offsets) - 2
        self._distinct_times = np.unique(self.times)
        self._key_stride = np.int64(len(self._distinct_times) + 1)
        node_of_entry = np.repeat(np.arange(self.n_nodes + 1, dtype=np.int64), np.diff(self.offsets))
        self._keys = node_of_entry * self._key_stride + np.searchsorted(self._distinct_times, self.times)
        # Entry 0 of these copies is the padding answer, so one gather serves valid and padded slots.
        self._padded = tuple(np.concatenate([[0], values]) for values in (self.neighbors, self.edge_idxs, self.times))
        self.rng = np.random.default_rng(seed)

    @classmethod
    def from_interactions(
        cls, interactions: Interactions, n_nodes: int, uniform: bool = False, seed: int | None = None
    ) -> "NeighborFinder":
        """Index ``interactions`` among nodes ``0..n_nodes`` (node 0 is padding and has no entries)."""
        owners, neighbors, times, edge_idxs = interactions.by_endpoint(n_nodes)
        counts = np.bincount(owners, minlength=n_nodes + 1)
        offsets = np.concatenate([[0], np.cumsum(counts)])
        return cls(
            offsets,
            neighbors,
            edge_idxs,
            times,
            uniform=uniform,
            seed=seed,
            events=interactions,
        )

    def reset_rng(self, seed: int | None) -> None:
        self.rng = np.random.default_rng(seed)

    @property
    def n_distinct_times(self) -> int:
        return len(self._distinct_times)

    def time_ranks(self, timestamps) -> np.ndarray:
        """(N,) int64: how many distinct indexed times lie strictly before each of ``timestamps``, so
        that "before t" is "rank below t's"."""
        ranks = np.searchsorted(self._distinct_times, np.asarray(timestamps, dtype=np.float64), side="left")
        return ranks.astype(np.int64, copy=False)

    def ranges_before(self, nodes: np.ndarray, timestamps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each query, the CSR range ``[start, end)`` of its interactions strictly before its time."""
        nodes = np.asarray(nodes, dtype=np.int64)
        if len(nodes) and (nodes.min() < 0 or nodes.max() > self.n_nodes):
            raise ValueError(f"query node ids must lie in 0..{self.n_nodes}, found {nodes.min()}..{nodes.max()}")
        time_ranks = self.time_ranks(timestamps)
        end = np.searchsorted(self._keys, nodes * self._key_stride + time_ranks, side="left")
        return self.offsets[nodes], end

    def get_temporal_neighbor(
        self, nodes: np.ndarray, timestamps: np.ndarray, n_neighbors: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Neighbours of ``nodes`` (B,) strictly before ``timestamps`` (B,).

        Returns ``(neighbor_ids, edge_idxs, edge_times)``, each ``(B, n_neighbors)``, most recent last,
        padded on the left with 0. In uniform mode ``n_neighbors`` interactions are drawn with
        replacement among all earlier ones (so there is no padding once a node has one), then
        sorted by time, as TGN does.
        """
        start, end = self.ranges_before(nodes, timestamps)
        n_queries = len(start)
        if n_neighbors <= 0 or n_queries == 0 or len(self.neighbors) == 0:
            empty = np.zeros((n_queries, max(n_neighbors, 0)), dtype=np.int64)
            return empty, empty.copy(), empty.astype(np.float64)
        if self.uniform:
            positions, valid = self._uniform_positions(start, end, n_neighbors)
        else:
            positions = end[:, None] - n_neighbors + np.arange(n_neighbors)
            valid = positions >= start[:, None]
        padded_positions = np.where(valid, positions + 1, 0)
        neighbor_ids, edge_idxs, edge_times = (values[padded_positions] for values in self._padded)
        return neighbor_ids, edge_idxs, edge_times

    def _uniform_positions(self, start: np.ndarray, end: np.ndarray, n_neighbors: int) -> tuple[np.ndarray, np.ndarray]:
        """Positions drawn uniformly with replacement in ``[start, end)``, sorted (hence by time)."""
        available = end - start
        draws = self.rng.integers(0, np.maximum(available, 1)[:, None], size=(len(start), n_neighbors))
        positions = np.sort(start[:, None] + draws, axis=1)
        valid = np.broadcast_to((available > 0)[:, None], positions.shape)
        return positions, valid
