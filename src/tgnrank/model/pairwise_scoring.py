"""Streamed scoring of company x investor blocks with :class:`PairwiseLinkPredictor`, pairs never stored.

The predictor's pre-activation for (c, i) is ``p[c] + q[i] + r(c, i)``: ``p``, ``q`` the node
projections of ``fc1`` (computed once per node), ``r = Wp signed_log1p(e(c, i))`` its pair part,
``e`` the walk encoding (followed, with ``--path_counts``, by the pair's exact path counts and walk
probabilities, which
:class:`~tgnrank.model.path_counts.PathGrid` forms for a stripe with sparse products). For a stripe of
companies the encodings of every investor are one (rows x d) @ (d x investors) product per term of
:data:`~tgnrank.model.walks.PAIR_TERMS`; the hidden
layer is then formed tile by tile (one company x ``TILE_COLS`` investors, a buffer that stays in cache) with
relu(x + q) = q + max(x, -q), so ``w . q`` is paid once per investor. Memory beyond the inputs: one
stripe of encodings (``TILE_ROWS`` x investors x 6 floats, 11 with the path inputs) and one tile per thread. Every investor's walk
vectors are read from memory once per stripe, so the stripe is tall: at 10M candidates on 2 cores,
64 rows scored 1.42x the pairs/s of 16 with ``walk_dim`` 512 and 1.09x with 32
(``benchmarks/diagnostic_throughput.py`` grids, medians of 4 alternating passes). The products run with one
BLAS thread each, the scorer's own threads sharing the rows: nested BLAS threads oversubscribed the
cores (5x slower on 2 busy cores).
"""

from __future__ import annotations

import functools
import os

import numpy as np
import torch
from threadpoolctl import ThreadpoolController

from tgnrank.model.path_counts import PathGrid
from tgnrank.model.walks import PAIR_TERMS
from tgnrank.parallel import fill_rows_in_threads

TILE_ROWS = 64
TILE_COLS = 512


class PairwiseBlockScorer:
    """Logits of company x investor cells from node projections and propagated walk vectors.

    ``company_projections (C, H)`` / ``investor_projections (I, H)`` come from the predictor's
    ``project_sources`` / ``project_destinations``; ``company_walks (4, C, d)`` / ``investor_walks
    (4, I, d)`` from :meth:`TemporalWalks.node_vectors` at the scoring time. Rows of a block are shared
    among ``threads`` threads (numpy's products release the GIL).
    """

    def __init__(self, predictor, company_projections, investor_projections, company_walks, investor_walks,
                 threads: int | None = None, paths: PathGrid | None = None):
        def array(values) -> np.ndarray:
            return np.ascontiguousarray(torch.as_tensor(values).detach().cpu().numpy(), dtype=np.float32)

        dim = predictor.dim
        weight = array(predictor.fc1.weight)
        self.pair_weight = np.ascontiguousarray(weight[:, 2 * dim :].T)  # (n_pair, H)
        self.head = array(predictor.fc2.weight)[0]
        self.sources = array(company_projections)
        self.negated_destinations = -array(investor_projections)
        self.destination_terms = self.negated_destinations @ -self.head + np.float32(predictor.fc2.bias.item())
        self.left = array(company_walks)
        self.right_t = np.ascontiguousarray(array(investor_walks).transpose(0, 2, 1))  # (4, d, I)
        self.threads = max(1, threads if threads is not None else min(2, os.cpu_count() or 1))
        self.paths = paths
        n_inputs = len(PAIR_TERMS) + (paths.n_features if paths is not None else 0)
        if self.pair_weight.shape[0] != n_inputs:
            raise ValueError(
                f"the predictor reads {self.pair_weight.shape[0]} pair inputs, the scorer gives {n_inputs}"
            )

    @classmethod
    def from_embeddings(cls, predictor, company_embeddings, investor_embeddings, company_walks, investor_walks,
                        threads: int | None = None, paths: PathGrid | None = None) -> "PairwiseBlockScorer":
        """Project ``company_embeddings (C, dim)`` and ``investor_embeddings (I, dim)`` with ``predictor`` first."""
        with torch.no_grad():
            sources = predictor.project_sources(company_embeddings)
            destinations = predictor.project_destinations(investor_embeddings)
        return cls(predictor, sources, destinations, company_walks, investor_walks, threads, paths)

    @classmethod
    def from_model(cls, model, companies, investors, at: float, n_neighbors: int,
                   threads: int | None = None) -> "PairwiseBlockScorer":
        """Grid rows ``companies (C,)`` and columns ``investors (I,)`` scored by a
        :class:`~tgnrank.model.pairwise_tgn.PairwiseTGN` at time ``at``, its memory and walks as they are."""
        with torch.no_grad():
            company_embeddings = model.compute_node_embeddings(companies, np.full(len(companies), at), n_neighbors)
            investor_embeddings = model.compute_node_embeddings(investors, np.full(len(investors), at), n_neighbors)
            company_walks, investor_walks = model.walk_vectors(companies, at), model.walk_vectors(investors, at)
        paths = model.path_counter().grid(at, companies, investors) if model.path_counts else None
        return cls.from_embeddings(
            model.link_predictor, company_embeddings, investor_embeddings, company_walks, investor_walks, threads, paths
        )

    def score_block(self, row_start: int, row_stop: int) -> np.ndarray:
        """(row_stop - row_start, I) float32 logits of those companies against every investor."""
        out = np.empty((row_stop - row_start, self.right_t.shape[2]), dtype=np.float32)
        with _blas_controller().limit(limits=1, user_api="blas"):
            fill_rows_in_threads(out, row_start, row_stop, self.threads, self._fill)
        return out

    def score_pairs(self, rows: np.ndarray, cols: np.ndarray, chunk: int = 1 << 14) -> np.ndarray:
        """(P,) float32 logits of the cells (rows[k], cols[k]), ``chunk`` pairs at a time."""
        out = np.empty(len(rows), dtype=np.float32)
        for first in range(0, len(rows), chunk):
            part = slice(first, first + chunk)
            left, right = self.left[:, rows[part]], self.right_t[:, :, cols[part]]
            encodings = [np.einsum("pd,dp->p", left[a], right[b]) for a, b in PAIR_TERMS]
            if self.paths is not None:
                encodings.extend(self.paths.pairs(rows[part], cols[part]).T)
            encodings = np.stack(encodings, axis=-1)
            hidden = _signed_log1p(encodings) @ self.pair_weight + self.sources[rows[part]]
            np.maximum(hidden, self.negated_destinations[cols[part]], out=hidden)
            out[part] = hidden @ self.head + self.destination_terms[cols[part]]
        return out

    def _fill(self, out: np.ndarray, offset: int, row_start: int, row_stop: int) -> None:
        n_cols, hidden = self.negated_destinations.shape
        n_pair = self.pair_weight.shape[0]
        # A constant last input carries each company's projection through the product with the pair weights.
        weight = np.concatenate([self.pair_weight, np.zeros((1, hidden), dtype=np.float32)])
        buffer = np.empty((TILE_COLS, hidden), dtype=np.float32)
        for first_row in range(row_start, row_stop, TILE_ROWS):
            last_row = min(first_row + TILE_ROWS, row_stop)
            encodings = np.empty((n_pair, last_row - first_row, n_cols), dtype=np.float32)
            for term, (a, b) in enumerate(PAIR_TERMS):
                np.matmul(self.left[a, first_row:last_row], self.right_t[b], out=encodings[term])
            if self.paths is not None:
                encodings[len(PAIR_TERMS) :] = self.paths.block(first_row, last_row)
            # Pairs as rows of n_pair + 1 contiguous inputs: what the tile products below read fastest.
            stripe = np.ones((last_row - first_row, n_cols, n_pair + 1), dtype=np.float32)
            stripe[:, :, :n_pair] = _signed_log1p(encodings).transpose(1, 2, 0)
            for row in range(first_row, last_row):
                weight[n_pair] = self.sources[row]
                target = out[row - offset]
                for first_col in range(0, n_cols, TILE_COLS):
                    last_col = min(first_col + TILE_COLS, n_cols)
                    tile = buffer[: last_col - first_col]
                    np.matmul(stripe[row - first_row, first_col:last_col], weight, out=tile)
                    np.maximum(tile, self.negated_destinations[first_col:last_col], out=tile)
                    np.matmul(tile, self.head, out=target[first_col:last_col])
                target += self.destination_terms


@functools.cache
def _blas_controller() -> ThreadpoolController:
    return ThreadpoolController()


def _signed_log1p(values: np.ndarray) -> np.ndarray:
    return np.copysign(np.log1p(np.abs(values)), values)
