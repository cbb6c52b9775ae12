"""Multi-hop negatives: investors at graph distance 3 from a company in the training graph.

For a company c the candidates are the investors who co-invested with c's investors elsewhere
(c -> its investors -> their other companies -> those companies' investors) but never invested in c.
With ``A`` the binary (company x investor) training biadjacency, ``(A Aᵀ A)[c, j]`` counts the paths
c - i - c' - j, so the candidates of c are the nonzero entries of row c of ``A Aᵀ A`` minus those of
``A``. Each company keeps its ``topk`` candidates with the most paths (ties broken by a seeded random
order) and a negative is drawn with probability proportional to the path count: an investor reached
through many shared syndicates is closer to the company, so harder to tell from a true investor.

The products are computed in chunks of company rows whose number of length-3 walks stays under a
budget, so the sparse intermediates stay bounded on big graphs. The lists are built once from the whole
training graph (like the hard negatives' exclusions), not per batch time.
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp

from tgnrank.errors import ConfigError

DEFAULT_MULTIHOP_NEG_RATIO = 0.0
DEFAULT_MULTIHOP_TOPK = 100
# Length-3 walks per chunk of company rows: the nonzeros of a chunk's product never exceed them.
MULTIHOP_BLOCK_WALKS = 2**24
# Shares are floats: (0.1 + 0.2) must still count as 0.3 when compared with 1.
SHARE_TOLERANCE = 1e-9
# Random tie-break values among candidates with equal path counts.
TIE_BREAK_SPAN = 2**20


def validate_multihop_params(multihop_neg_ratio: float, multihop_topk: int) -> None:
    """Raise :class:`ConfigError` naming the flag when a multi-hop setting is out of range."""
    if not (isinstance(multihop_neg_ratio, numbers.Real) and not isinstance(multihop_neg_ratio, bool)
            and 0.0 <= multihop_neg_ratio <= 1.0):
        raise ConfigError(
            f"multihop_neg_ratio must lie in [0, 1] (share of multi-hop negatives), got {multihop_neg_ratio!r}",
            parameters=("multihop_neg_ratio",),
        )
    if isinstance(multihop_topk, bool) or not isinstance(multihop_topk, numbers.Integral) or multihop_topk < 1:
        raise ConfigError(
            f"multihop_topk must be an integer >= 1, got {multihop_topk!r}",
            parameters=("multihop_topk",),
        )


def validate_negative_shares(hard_neg_ratio: float, multihop_neg_ratio: float) -> None:
    """Hard and multi-hop negatives share the negatives of a positive: their shares may not exceed 1."""
    if hard_neg_ratio + multihop_neg_ratio > 1.0 + SHARE_TOLERANCE:
        raise ConfigError(
            f"hard_neg_ratio + multihop_neg_ratio must be <= 1 (the rest of the negatives are random), "
            f"got {hard_neg_ratio} + {multihop_neg_ratio}", parameters=("hard_neg_ratio", "multihop_neg_ratio")
        )


def biadjacency(sources: np.ndarray, destinations: np.ndarray, pool: np.ndarray, n_rows: int) -> sp.csr_matrix:
    """Binary ``(n_rows, M)`` int64 CSR: row = company node id, column = investor position in sorted ``pool``.

    Investors outside the pool are dropped (they can never be drawn, and paths through them are lost).
    """
    sources = np.asarray(sources, dtype=np.int64)
    destinations = np.asarray(destinations, dtype=np.int64)
    positions = np.minimum(np.searchsorted(pool, destinations), max(len(pool) - 1, 0))
    in_pool = pool[positions] == destinations if len(pool) else np.zeros(len(destinations), dtype=bool)
    matrix = sp.csr_matrix(
        (np.ones(int(in_pool.sum()), dtype=np.int64), (sources[in_pool], positions[in_pool])),
        shape=(n_rows, len(pool)),
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1
    return matrix


class MultihopCandidates:
    """Per-company lists of distance-3 investors, most paths first, as CSR arrays.

    Attributes:
        indptr: ``(n_rows + 1,)`` int64; company ``c``'s candidates are entries ``indptr[c]:indptr[c + 1]``.
        positions: ``(nnz,)`` int64 pool positions of the candidates.
        path_counts: ``(nnz,)`` int64 number of paths c - i - c' - j to each candidate.
    """

    def __init__(self, indptr: np.ndarray, positions: np.ndarray, path_counts: np.ndarray):
        self.indptr = indptr
        self.positions = positions
        self.path_counts = path_counts
        # Integer counts, so the float64 running sums are exact well past any real graph's size.
        self._cumulative = np.concatenate([[0.0], np.cumsum(path_counts, dtype=np.float64)])

    @classmethod
    def compute(
        cls,
        sources: np.ndarray,
        destinations: np.ndarray,
        pool: np.ndarray,
        n_rows: int,
        topk: int = DEFAULT_MULTIHOP_TOPK,
        seed: int | None = 0,
        block_walks: int = MULTIHOP_BLOCK_WALKS,
    ) -> "MultihopCandidates":
        """Candidates of every company from the training pairs ``(sources (E,), destinations (E,))``.

        ``pool`` is the sorted array of investor ids that may be drawn, ``n_rows`` exceeds every node id.
        """
        validate_multihop_params(0.0, topk)
        adjacency = biadjacency(sources, destinations, pool, n_rows)
        transposed = adjacency.T.tocsr()
        rng = np.random.default_rng(seed)
        rows, columns, counts = [], [], []
        for start, stop in _row_chunks(_walks_per_row(adjacency, transposed), block_walks):
            block = adjacency[start:stop]
            paths = ((block @ transposed) @ adjacency).tocsr()
            paths = (paths - paths.multiply(block)).tocoo()
            paths.eliminate_zeros()
            keep_rows, keep_columns, keep_counts = _row_topk(paths.row, paths.col, paths.data, topk, rng)
            rows.append(keep_rows + start)
            columns.append(keep_columns)
            counts.append(keep_counts)
        rows = np.concatenate(rows) if rows else np.empty(0, dtype=np.int64)
        indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n_rows))]).astype(np.int64)
        positions = np.concatenate(columns).astype(np.int64) if columns else np.empty(0, dtype=np.int64)
        path_counts = np.concatenate(counts).astype(np.int64) if counts else np.empty(0, dtype=np.int64)
        return cls(indptr, positions, path_counts)

    @property
    def n_rows(self) -> int:
        return len(self.indptr) - 1

    def n_candidates(self, companies: np.ndarray) -> np.ndarray:
        """Number of candidates of each company, ``(B,) -> (B,)``."""
        companies = np.asarray(companies, dtype=np.int64)
        return self.indptr[companies + 1] - self.indptr[companies]

    def candidates_of(self, company: int) -> tuple[np.ndarray, np.ndarray]:
        """Pool positions ``(n,)`` and path counts ``(n,)`` of one company's candidates, most paths first."""
        span = slice(self.indptr[company], self.indptr[company + 1])
        return self.positions[span], self.path_counts[span]

    def draw(self, companies: np.ndarray, uniforms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One candidate per company, with probability proportional to its path count. All ``(B,)``.

        ``uniforms`` lie in [0, 1). Returns pool positions and a mask of the companies that have a
        candidate (other rows' positions are 0 and meaningless).
        """
        companies = np.asarray(companies, dtype=np.int64)
        start, stop = self.indptr[companies], self.indptr[companies + 1]
        found = stop > start
        positions = np.zeros(len(companies), dtype=np.int64)
        if not found.any():
            return positions, found
        low, high = self._cumulative[start], self._cumulative[stop]
        entries = np.searchsorted(self._cumulative, low + uniforms * (high - low), side="right") - 1
        entries = np.clip(entries, start, np.maximum(stop - 1, start))
        positions[found] = self.positions[entries[found]]
        return positions, found


def _walks_per_row(adjacency: sp.csr_matrix, transposed: sp.csr_matrix) -> np.ndarray:
    """Length-3 walks from each company, ``(n_rows,)``: an upper bound on its row's nonzeros in every product."""
    company_degrees = np.asarray(adjacency.sum(axis=1)).ravel()
    return adjacency @ (transposed @ company_degrees)


def _row_chunks(costs: np.ndarray, budget: int) -> list[tuple[int, int]]:
    """Consecutive ``[start, stop)`` row ranges whose summed cost stays under ``budget`` (at least one row each)."""
    cumulative = np.concatenate([[0], np.cumsum(costs, dtype=np.float64)])
    chunks, start, n_rows = [], 0, len(costs)
    while start < n_rows:
        stop = int(np.searchsorted(cumulative, cumulative[start] + budget, side="right")) - 1
        stop = min(max(stop, start + 1), n_rows)
        chunks.append((start, stop))
        start = stop
    return chunks


def _row_topk(rows: np.ndarray, columns: np.ndarray, counts: np.ndarray, topk: int,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``topk`` entries of each row with the largest counts (random among ties), sorted by row then count."""
    order = _row_count_order(rows, counts, rng)
    rows, columns, counts = rows[order], columns[order], counts[order]
    first_of_row = np.searchsorted(rows, rows, side="left")
    keep = np.arange(len(rows)) - first_of_row < topk
    return rows[keep].astype(np.int64), columns[keep], counts[keep]


def _row_count_order(rows: np.ndarray, counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Order by row, then count descending, then a random tie-break: one int64 sort key when it fits
    (several times faster than a three-key lexsort on millions of entries)."""
    if len(rows) == 0:
        return np.empty(0, dtype=np.int64)
    count_span = int(counts.max()) + 1
    if (int(rows.max()) + 1) * count_span < 2**63 // TIE_BREAK_SPAN:
        key = (rows.astype(np.int64) * count_span + (count_span - 1 - counts)) * TIE_BREAK_SPAN
        key += rng.integers(0, TIE_BREAK_SPAN, size=len(rows))
        return np.argsort(key)
    return np.lexsort((rng.random(len(rows)), -counts, rows))
