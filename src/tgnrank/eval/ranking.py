"""Streaming all-pairs ranking: every candidate pair is scored once, block by block, never stored.

A scorer fills blocks of rows of the candidate grid (``companies x investors``, see
:class:`~tgnrank.eval.protocol.CandidateSet`). :func:`rank_candidates` needs the positives' scores
before the pass (to count, in each block, the candidates above and level with each positive), so it
asks the scorer for them first (``score_pairs``, cheap for the model: P pairs), or, for a scorer
without ``score_pairs``, makes an extra pass over the blocks. Within each block the positives' cells
are overwritten with those scores, so that every comparison uses one consistent value per positive
even if scoring a pair alone and within a block rounds differently.

Memory is bounded by the block size, not by the number of candidates: a block of ``block_pairs``
cells (default 2**20) costs a few times 4 bytes per cell (scores, their sorted copy, masks), and the
pass otherwise keeps a few integers per positive, the running top-k pairs and, for a model, the
projected embeddings of the candidate companies and investors. Measured by
``benchmarks/diagnostic_throughput.py``: peak RSS 318 MiB at 1 million candidates, 345 MiB at 10 million
(mostly the Python, numpy and torch runtime).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

from tgnrank.eval.metrics import GlobalRankCounter, PositiveRanks
from tgnrank.eval.protocol import CandidateSet

DEFAULT_BLOCK_PAIRS = 1 << 20
TOP_PAIRS = 20

Progress = Callable[[int, int], None]


class CandidateScorer(Protocol):
    """Scores cells of the candidate grid; higher means a more likely new link.

    ``score_block(row_start, row_stop)`` returns a (row_stop - row_start, I) array for those candidate
    companies against every investor (cells that are not candidates may hold anything finite). A scorer
    may also define ``score_pairs(rows (P,), cols (P,)) -> (P,)``.
    """

    def score_block(self, row_start: int, row_stop: int) -> np.ndarray: ...


@dataclass(frozen=True)
class TopPairs:
    """The best-scored candidates, best first: grid ``rows``, ``cols`` and ``scores`` (k,)."""

    rows: np.ndarray
    cols: np.ndarray
    scores: np.ndarray


@dataclass(frozen=True)
class ScoredRanking:
    ranks: PositiveRanks
    top: TopPairs


def rank_candidates(
    candidates: CandidateSet,
    scorer: CandidateScorer,
    block_pairs: int = DEFAULT_BLOCK_PAIRS,
    top_k: int = TOP_PAIRS,
    progress: Progress | None = None,
) -> ScoredRanking:
    """Score every candidate with ``scorer`` block by block and place each positive in the ranking.

    ``block_pairs`` bounds the cells per block (at least one company row per block); ``progress`` is
    called with (rows done, rows in all) after each block.
    """
    block_rows = max(1, block_pairs // max(1, candidates.n_investors))
    positive_scores = _positive_scores(candidates, scorer, block_rows)
    counter = GlobalRankCounter(positive_scores)
    positive_scores = positive_scores.astype(counter.dtype, copy=False)
    filtered_greater = np.zeros(candidates.n_positives, dtype=np.int64)
    filtered_tied = np.ones(candidates.n_positives, dtype=np.int64)
    top = _TopTracker(top_k)
    for row_start, row_stop in candidates.row_blocks(block_rows):
        scores = np.array(scorer.score_block(row_start, row_stop), dtype=counter.dtype)
        is_candidate = candidates.block_mask(row_start, row_stop)
        block = candidates.block_positives(row_start, row_stop)
        rows = candidates.positive_rows[block] - row_start
        cols = candidates.positive_cols[block]
        scores[rows, cols] = positive_scores[block]
        counter.update(scores[is_candidate])
        is_other = is_candidate.copy()
        is_other[rows, cols] = False
        filtered_greater[block], filtered_tied[block] = _count_within_rows(
            scores, is_other, rows, positive_scores[block]
        )
        top.update(scores, is_candidate, row_start)
        if progress is not None:
            progress(row_stop, candidates.n_companies)
    greater, tied = counter.counts()
    ranks = PositiveRanks(greater, tied, filtered_greater, filtered_tied, candidates.n_candidates)
    return ScoredRanking(ranks=ranks, top=top.result())


def _positive_scores(candidates: CandidateSet, scorer: CandidateScorer, block_rows: int) -> np.ndarray:
    score_pairs = getattr(scorer, "score_pairs", None)
    if score_pairs is not None:
        return np.asarray(score_pairs(candidates.positive_rows, candidates.positive_cols))
    parts = []
    for row_start, row_stop in candidates.row_blocks(block_rows):
        block = candidates.block_positives(row_start, row_stop)
        if block.stop > block.start:
            scores = np.asarray(scorer.score_block(row_start, row_stop))
            parts.append(scores[candidates.positive_rows[block] - row_start, candidates.positive_cols[block]])
    return np.concatenate(parts)


def _count_within_rows(
    scores: np.ndarray, is_other: np.ndarray, rows: np.ndarray, positive_scores: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Filtered counts: in each positive's row, the non-positive candidates above / level with it.

    ``scores`` and ``is_other`` are (B, I), ``rows`` and ``positive_scores`` (Pb,). Positives are taken
    B at a time so that the gathered rows never exceed the size of the block.
    """
    greater = np.empty(len(rows), dtype=np.int64)
    tied = np.empty(len(rows), dtype=np.int64)
    step = max(1, scores.shape[0])
    for first in range(0, len(rows), step):
        part = slice(first, first + step)
        row_scores, others = scores[rows[part]], is_other[rows[part]]
        threshold = positive_scores[part, None]
        greater[part] = np.count_nonzero((row_scores > threshold) & others, axis=1)
        tied[part] = 1 + np.count_nonzero((row_scores == threshold) & others, axis=1)
    return greater, tied


class _TopTracker:
    """Keeps the ``k`` best candidates seen so far; among equal scores the earliest in grid order wins."""

    def __init__(self, k: int):
        self.k = k
        self.rows = np.empty(0, dtype=np.int64)
        self.cols = np.empty(0, dtype=np.int64)
        self.scores = np.empty(0)

    def update(self, scores: np.ndarray, is_candidate: np.ndarray, row_start: int) -> None:
        if self.k == 0:
            return
        keep = is_candidate.copy()
        if len(self.scores) == self.k:
            # Only cells strictly better than the current k-th can enter (equal ones came later in order).
            keep &= scores > self.scores[-1]
        rows, cols = np.nonzero(keep)
        if len(rows) == 0:
            return
        values = scores[rows, cols]
        if len(values) > self.k:
            kth = np.partition(values, len(values) - self.k)[len(values) - self.k]
            above = values > kth
            level = np.flatnonzero(values == kth)[: self.k - int(above.sum())]
            chosen = np.sort(np.concatenate([np.flatnonzero(above), level]))
            rows, cols, values = rows[chosen], cols[chosen], values[chosen]
        merged_rows = np.concatenate([self.rows, rows + row_start])
        merged_cols = np.concatenate([self.cols, cols])
        merged_scores = np.concatenate([self.scores.astype(values.dtype), values])
        order = np.lexsort((merged_cols, merged_rows, -merged_scores))[: self.k]
        self.rows, self.cols, self.scores = merged_rows[order], merged_cols[order], merged_scores[order]

    def result(self) -> TopPairs:
        return TopPairs(rows=self.rows, cols=self.cols, scores=self.scores)
