"""Scoring candidate cells with a trained TGN: embeddings and their projections once, pairs tile by tile."""

from __future__ import annotations

import logging
import os

import numpy as np

from tgnrank.eval.protocol import CandidateSet
from tgnrank.parallel import fill_rows_in_threads

logger = logging.getLogger(__name__)

DEFAULT_TILE_PAIRS = 1 << 16
CPU_TILE_ROWS = 16
CPU_TILE_COLS = 64
PROBE_PAIRS = 64


class ModelScorer:
    """Scores candidate cells with a trained TGN whose memory holds the history.

    Embeddings of the candidate companies and investors are computed once, at the window start, and so
    are their projections by the link predictor's first layer (``project_sources`` /
    ``project_destinations``). Pairs are then scored tile by tile, so no (pairs x embedding) tensor
    larger than one tile ever exists: on the CPU by :class:`ReluLinearKernel` (the link predictor's
    ``fc2(relu(.))`` head in numpy, several times faster than torch's broadcasting), elsewhere by
    ``score_projected`` on tiles of ``tile_pairs`` pairs.
    """

    def __init__(self, predictor, sources, destinations, tile_pairs: int = DEFAULT_TILE_PAIRS, threads: int | None = None):
        """``sources`` (C, H) and ``destinations`` (I, H) are the projected embeddings of the grid's rows and columns."""
        self.predictor = predictor
        self.sources, self.destinations = sources, destinations
        self.tile_pairs = tile_pairs
        self.kernel = None
        if sources.device.type == "cpu":
            self.kernel = ReluLinearKernel.for_predictor(predictor, sources, destinations, threads)

    @classmethod
    def from_model(
        cls, model, candidates: CandidateSet, n_neighbors: int, tile_pairs: int = DEFAULT_TILE_PAIRS,
        threads: int | None = None,
    ) -> "ModelScorer":
        """Embed the candidate companies and investors at the window start with ``model`` (memory as it is)."""
        import torch

        at = scoring_time(candidates)
        predictor = model.link_predictor
        with torch.no_grad():
            companies = model.compute_node_embeddings(candidates.companies, np.full(candidates.n_companies, at), n_neighbors)
            investors = model.compute_node_embeddings(candidates.investors, np.full(candidates.n_investors, at), n_neighbors)
            sources = predictor.project_sources(companies)
            destinations = predictor.project_destinations(investors)
        return cls(predictor, sources, destinations, tile_pairs, threads)

    def score_block(self, row_start: int, row_stop: int) -> np.ndarray:
        """(row_stop - row_start, I) float32 logits of those companies against every investor."""
        if self.kernel is not None:
            return self.kernel.score_block(row_start, row_stop)
        return self._score_block_with_torch(row_start, row_stop)

    def score_pairs(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """(P,) float32 logits of the given grid cells."""
        import torch

        if self.kernel is not None:
            return self.kernel.score_pairs(rows, cols)
        rows_t = torch.as_tensor(rows, device=self.sources.device)
        cols_t = torch.as_tensor(cols, device=self.sources.device)
        with torch.no_grad():
            logits = self.predictor.score_projected(self.sources[rows_t], self.destinations[cols_t])
        return logits.float().cpu().numpy()

    def _score_block_with_torch(self, row_start: int, row_stop: int) -> np.ndarray:
        import torch

        n_investors = self.destinations.shape[0]
        rows_per_tile = max(1, self.tile_pairs // max(1, n_investors))
        cols_per_tile = min(n_investors, self.tile_pairs)
        out = torch.empty((row_stop - row_start, n_investors), dtype=torch.float32)
        with torch.no_grad():
            for first_row in range(row_start, row_stop, rows_per_tile):
                last_row = min(first_row + rows_per_tile, row_stop)
                sources = self.sources[first_row:last_row, None, :]
                for first_col in range(0, n_investors, cols_per_tile):
                    last_col = min(first_col + cols_per_tile, n_investors)
                    tile = self.predictor.score_projected(sources, self.destinations[None, first_col:last_col, :])
                    out[first_row - row_start : last_row - row_start, first_col:last_col] = tile.float().cpu()
        return out.numpy()


def scorer_for_model(model, candidates: CandidateSet, n_neighbors: int, tile_pairs: int = DEFAULT_TILE_PAIRS,
                     threads: int | None = None):
    """The scorer of ``candidates`` for ``model`` as it is (memory holding the history): a
    :class:`~tgnrank.model.pairwise_scoring.PairwiseBlockScorer` for a pairwise model (it reads the
    pairs' walk encodings), else a :class:`ModelScorer`. Both embed at the window start."""
    if not hasattr(model, "walk_vectors"):
        return ModelScorer.from_model(model, candidates, n_neighbors, tile_pairs, threads)
    from tgnrank.model.pairwise_scoring import PairwiseBlockScorer

    return PairwiseBlockScorer.from_model(model, candidates.companies, candidates.investors, scoring_time(candidates),
                                          n_neighbors, threads)


def scoring_time(candidates: CandidateSet) -> float:
    """Just after the window start: the neighbour finder returns interactions strictly before the query
    time, so the events at exactly ``t_start`` (part of the history) are seen."""
    return float(np.nextafter(candidates.t_start, np.inf))


class ReluLinearKernel:
    """All-pairs ``w . relu(p + q) + b`` for source projections p (C, H) and destination projections q (I, H).

    Uses relu(p + q) = q + max(p, -q), so each pair costs one elementwise maximum and one dot product:
    score = b + w . q + w . max(p, -q), with w . q computed once per destination. Tiles of
    ``CPU_TILE_ROWS x CPU_TILE_COLS`` pairs keep the (rows, cols, H) buffer in cache; rows of a block
    are shared among ``threads`` threads (numpy releases the GIL).
    """

    def __init__(self, sources: np.ndarray, destinations: np.ndarray, weight: np.ndarray, bias: float, threads: int | None = None):
        self.sources = np.ascontiguousarray(sources, dtype=np.float32)
        self.negated_destinations = np.ascontiguousarray(-destinations, dtype=np.float32)
        self.weight = np.ascontiguousarray(weight, dtype=np.float32)
        self.destination_terms = (destinations.astype(np.float32) @ self.weight + np.float32(bias)).astype(np.float32)
        self.threads = max(1, threads if threads is not None else min(2, os.cpu_count() or 1))

    @classmethod
    def for_predictor(cls, predictor, sources, destinations, threads: int | None = None) -> "ReluLinearKernel | None":
        """The kernel of a link predictor whose ``score_projected`` is ``fc2(relu(p + q))`` with a one-output
        linear ``fc2`` (checked on a few pairs), else None."""
        import torch

        head = getattr(predictor, "fc2", None)
        if not isinstance(head, torch.nn.Linear) or head.out_features != 1 or head.bias is None:
            return None
        kernel = cls(
            sources.detach().numpy(), destinations.detach().numpy(),
            head.weight.detach().numpy()[0], float(head.bias.detach()[0]), threads,
        )
        rows = np.arange(min(PROBE_PAIRS, sources.shape[0]))
        cols = np.arange(len(rows)) % destinations.shape[0]
        with torch.no_grad():
            expected = predictor.score_projected(sources[rows], destinations[cols]).numpy()
        actual = kernel.score_block(0, len(rows))[rows, cols]
        if not np.allclose(actual, expected, rtol=1e-4, atol=1e-4):
            logger.warning("link predictor is not fc2(relu(p + q)): scoring with score_projected (slower)")
            return None
        return kernel

    def score_block(self, row_start: int, row_stop: int) -> np.ndarray:
        """(row_stop - row_start, I) float32 scores."""
        out = np.empty((row_stop - row_start, len(self.destination_terms)), dtype=np.float32)
        fill_rows_in_threads(out, row_start, row_stop, self.threads, self._fill)
        return out

    def score_pairs(self, rows: np.ndarray, cols: np.ndarray, chunk: int = 1 << 14) -> np.ndarray:
        """(P,) float32 scores of the cells (rows[k], cols[k]), ``chunk`` pairs at a time."""
        out = np.empty(len(rows), dtype=np.float32)
        for first in range(0, len(rows), chunk):
            part = slice(first, first + chunk)
            larger = np.maximum(self.sources[rows[part]], self.negated_destinations[cols[part]])
            out[part] = larger @ self.weight + self.destination_terms[cols[part]]
        return out

    def _fill(self, out: np.ndarray, offset: int, row_start: int, row_stop: int) -> None:
        n_cols, hidden = self.negated_destinations.shape
        buffer = np.empty((CPU_TILE_ROWS, CPU_TILE_COLS, hidden), dtype=np.float32)
        for first_row in range(row_start, row_stop, CPU_TILE_ROWS):
            last_row = min(first_row + CPU_TILE_ROWS, row_stop)
            sources = self.sources[first_row:last_row, None, :]
            target = out[first_row - offset : last_row - offset]
            for first_col in range(0, n_cols, CPU_TILE_COLS):
                last_col = min(first_col + CPU_TILE_COLS, n_cols)
                tile = buffer[: last_row - first_row, : last_col - first_col]
                np.maximum(self.negated_destinations[None, first_col:last_col], sources, out=tile)
                np.matmul(tile, self.weight, out=target[:, first_col:last_col])
            target += self.destination_terms
