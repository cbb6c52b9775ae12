"""Cosine similarity between investors and each investor's top-k most similar investors.

The top-k lists are computed once, in chunks of rows against all investors, so memory stays at
``chunk_rows x n_investors`` and no ``n x n`` matrix is ever built.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from tgnrank.data.arrays import distinct, unit_rows

logger = logging.getLogger(__name__)

# Elements per (chunk x all investors) block: 2**24 float32 values = 64 MiB.
SIMILARITY_BLOCK_ELEMENTS = 2**24


class InvestorSimilarity:
    """Top-k cosine neighbours of query investors among a pool of candidate investors.

    Attributes:
        pool: ``(M,)`` sorted unique node ids that may be drawn as negatives.
        query_ids: ``(Q,)`` sorted unique node ids whose neighbour lists are stored.
        neighbor_positions: ``(Q, k)`` int64 positions into ``pool``, most similar first; a query never
            lists itself.
        neighbor_similarities: ``(Q, k)`` float32 cosine similarities matching ``neighbor_positions``.
        unit_features: ``(n_nodes + 1, d)`` row-normalised node features, for pairwise similarities.
    """

    def __init__(
        self,
        pool: np.ndarray,
        query_ids: np.ndarray,
        neighbor_positions: np.ndarray,
        neighbor_similarities: np.ndarray,
        unit_features: np.ndarray,
    ):
        self.pool = pool
        self.query_ids = query_ids
        self.neighbor_positions = neighbor_positions
        self.neighbor_similarities = neighbor_similarities
        self.unit_features = unit_features
        self._query_row = np.full(unit_features.shape[0], -1, dtype=np.int64)
        self._query_row[query_ids] = np.arange(len(query_ids))

    @property
    def topk(self) -> int:
        return self.neighbor_positions.shape[1]

    @classmethod
    def compute(
        cls,
        node_features: np.ndarray,
        pool: np.ndarray,
        topk: int,
        query_ids: np.ndarray | None = None,
        chunk_rows: int | None = None,
        device: torch.device | str = "cpu",
    ) -> "InvestorSimilarity":
        """Compute each query's ``min(topk, M - 1)`` most similar pool investors (itself excluded).

        ``node_features`` is ``(n_nodes + 1, d)`` indexed by node id; ``pool`` and ``query_ids``
        (default: the pool) are node ids.
        """
        pool = distinct(np.asarray(pool, dtype=np.int64))
        query_ids = pool if query_ids is None else distinct(np.asarray(query_ids, dtype=np.int64))
        unit_features = unit_rows(node_features)
        k = max(0, min(int(topk), len(pool) - 1))
        if chunk_rows is None:
            chunk_rows = max(1, SIMILARITY_BLOCK_ELEMENTS // max(len(pool), 1))
        positions, similarities = _chunked_topk(unit_features, pool, query_ids, k, chunk_rows, device)
        return cls(pool, query_ids, positions, similarities, unit_features)

    @classmethod
    def empty(cls, pool: np.ndarray, n_rows: int) -> "InvestorSimilarity":
        """No neighbour lists at all (``k = 0``), for a sampler that draws no hard negatives.

        ``n_rows`` exceeds every node id; the unit features have zero columns (every similarity is 0).
        """
        pool = distinct(np.asarray(pool, dtype=np.int64))
        return cls(pool, np.empty(0, dtype=np.int64), np.empty((0, 0), dtype=np.int64),
                   np.empty((0, 0), dtype=np.float32), np.zeros((n_rows, 0), dtype=np.float32))

    def rows_of(self, node_ids: np.ndarray) -> np.ndarray:
        """Row of each node's neighbour list, ``-1`` for nodes without one. ``(B,) -> (B,)``."""
        return self._query_row[node_ids]

    def pairwise(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Cosine similarity of node ``a[j]`` with node ``b[j]``; ``b`` may have extra trailing axes."""
        a = np.asarray(a)
        b = np.asarray(b)
        left = self.unit_features[a].reshape(a.shape + (1,) * (b.ndim - a.ndim) + (-1,))
        return np.sum(left * self.unit_features[b], axis=-1)


def _chunked_topk(
    unit_features: np.ndarray,
    pool: np.ndarray,
    query_ids: np.ndarray,
    k: int,
    chunk_rows: int,
    device: torch.device | str,
) -> tuple[np.ndarray, np.ndarray]:
    """``(Q, k)`` pool positions and similarities of each query's top-k, self excluded."""
    n_queries = len(query_ids)
    positions = np.empty((n_queries, k), dtype=np.int64)
    similarities = np.empty((n_queries, k), dtype=np.float32)
    if k == 0 or n_queries == 0:
        return positions, similarities
    pool_matrix = torch.from_numpy(unit_features[pool]).to(device)
    self_position = np.searchsorted(pool, query_ids)
    in_pool = (self_position < len(pool)) & (pool[np.minimum(self_position, len(pool) - 1)] == query_ids)
    with torch.no_grad():
        for start in range(0, n_queries, chunk_rows):
            stop = min(start + chunk_rows, n_queries)
            queries = torch.from_numpy(unit_features[query_ids[start:stop]]).to(device)
            block = queries @ pool_matrix.T
            rows = np.flatnonzero(in_pool[start:stop])
            block[torch.from_numpy(rows).to(device), torch.from_numpy(self_position[start:stop][rows]).to(device)] = (
                -torch.inf
            )
            values, indices = torch.topk(block, k, dim=1)
            positions[start:stop] = indices.cpu().numpy()
            similarities[start:stop] = values.cpu().numpy()
    logger.debug("top-%d similar investors computed for %d queries over %d candidates", k, n_queries, len(pool))
    return positions, similarities
