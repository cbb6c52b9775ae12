"""Streaming all-pairs scoring: every candidate pair is scored once, block by block, never stored.

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

Ensembles (:class:`EnsembleScorer`) compose member scorers block by block: each block is the weighted
mean of the members' blocks, so an ensemble of M models costs M times the scoring of one model but no
more memory than two blocks (the running mean and one member's block), whatever M.
"""

from __future__ import annotations

import functools
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterable, Protocol, Sequence

import numpy as np

from tgnrank.errors import ConfigError, DataFormatError
from tgnrank.eval.metrics import GlobalRankCounter, PositiveRanks
from tgnrank.eval.protocol import CandidateSet

logger = logging.getLogger(__name__)

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

        # The neighbour finder returns interactions strictly before the query time; querying just
        # after t_start lets the events at exactly t_start (part of the history) be seen.
        at = float(np.nextafter(candidates.t_start, np.inf))
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
        bounds = np.linspace(row_start, row_stop, min(self.threads, row_stop - row_start) + 1).astype(int)
        parts = list(zip(bounds[:-1], bounds[1:]))
        if len(parts) == 1:
            self._fill(out, row_start, *parts[0])
        else:
            with ThreadPoolExecutor(len(parts)) as pool:
                list(pool.map(lambda part: self._fill(out, row_start, *part), parts))
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


def replay_history(model, history, batch_size: int, n_neighbors: int, progress: Progress | None = None) -> None:
    """Reset the model's memory and feed it ``history`` (Interactions) in chronological batches, without gradients."""
    import torch

    model.reset_memory()
    n_events = len(history)
    with torch.no_grad():
        for first in range(0, n_events, batch_size):
            batch = slice(first, min(first + batch_size, n_events))
            model.process_events(
                history.sources[batch],
                history.destinations[batch],
                history.timestamps[batch],
                history.edge_idxs[batch],
                n_neighbors,
            )
            if progress is not None:
                progress(batch.stop, n_events)


def model_scorer_from_checkpoint(
    checkpoint: dict,
    data,
    candidates: CandidateSet,
    device,
    batch_size: int | None = None,
    tile_pairs: int = DEFAULT_TILE_PAIRS,
    progress: Progress | None = None,
):
    """Rebuild the checkpoint's model, replay the history through it and return ``(ModelScorer, TrainConfig)``.

    The neighbour finder covers the history only, the memory is reset and rebuilt from the history in
    batches of ``batch_size`` events (default: the training batch size), so nothing of the window is
    seen. ``progress`` is called with (events replayed, events in the history).
    """
    from tgnrank.train.checkpoint import build_model_from_checkpoint
    from tgnrank.train.config import TrainConfig
    from tgnrank.train.model_setup import build_neighbor_finder

    try:
        stored = TrainConfig.from_dict(checkpoint["config"])
    except ConfigError as error:
        raise DataFormatError(f"checkpoint configuration is invalid: {error}") from error
    finder = build_neighbor_finder(candidates.history, data.n_nodes, stored)
    model, config = build_model_from_checkpoint(checkpoint, data, finder, device)
    model.eval()
    replay_history(model, candidates.history, batch_size or config.bs, config.n_degree, progress)
    return ModelScorer.from_model(model, candidates, config.n_degree, tile_pairs), config


class EnsembleScorer:
    """The weighted mean of several scorers' scores (for models: of their logits), block by block.

    Why the mean logit: models trained on the same data with the same link predictor produce logits on
    comparable scales (BCE and focal loss both fit a logistic output), and averaging logits is the
    geometric mean of the models' odds, so one confident model moves the ensemble without saturating
    it as averaging probabilities would. ``weights`` (M,) default to equal; they are normalised to sum to 1.
    """

    def __init__(self, members: Sequence[CandidateScorer], weights: Sequence[float] | None = None):
        if not members:
            raise ValueError("an ensemble needs at least one member scorer")
        self.members = list(members)
        self.weights = normalized_weights(weights, len(self.members))
        if all(hasattr(member, "score_pairs") for member in self.members):
            # Only then can rank_candidates fetch the positives' scores directly (see _positive_scores).
            self.score_pairs = self._score_pairs

    def score_block(self, row_start: int, row_stop: int) -> np.ndarray:
        """(row_stop - row_start, I) float32 weighted mean of the members' blocks."""
        total = None
        for weight, member in zip(self.weights, self.members):
            block = np.asarray(member.score_block(row_start, row_stop), dtype=np.float32)
            if total is None:
                total = np.multiply(block, np.float32(weight), dtype=np.float32)
            else:
                total += np.float32(weight) * block
        return total

    def _score_pairs(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """(P,) float32 weighted mean of the members' scores of the cells (rows[k], cols[k])."""
        total = np.zeros(len(rows), dtype=np.float32)
        for weight, member in zip(self.weights, self.members):
            total += np.float32(weight) * np.asarray(member.score_pairs(rows, cols), dtype=np.float32)
        return total


def normalized_weights(weights: Sequence[float] | None, n_members: int) -> np.ndarray:
    """(n_members,) float64 weights summing to 1: equal by default, else ``weights`` rescaled.

    Raises ConfigError (naming ``--ensemble_weights``) unless there is one finite weight >= 0 per
    member and at least one is positive.
    """
    if weights is None:
        return np.full(n_members, 1.0 / n_members)
    values = np.asarray(weights, dtype=np.float64)
    if values.shape != (n_members,) or not np.all(np.isfinite(values)) or values.min() < 0 or values.sum() <= 0:
        raise ConfigError(
            f"--ensemble_weights must be {n_members} comma-separated numbers >= 0 (one per model, not all 0), "
            f"got {list(np.atleast_1d(values))}"
        )
    return values / values.sum()


def check_same_dataset(datasets: dict[str, str | None]) -> None:
    """ConfigError unless every checkpoint (key: its path or label) names the same dataset (value)."""
    if len(set(datasets.values())) > 1:
        listed = ", ".join(f"{source} ({name or 'unknown dataset'})" for source, name in datasets.items())
        raise ConfigError(
            f"--model_path: an ensemble combines models of one dataset, but these checkpoints were trained on "
            f"{len(set(datasets.values()))} datasets: {listed}"
        )


def ensemble_scorer_from_checkpoints(
    checkpoints: Iterable[dict],
    data,
    candidates: CandidateSet,
    device,
    weights: Sequence[float] | None = None,
    batch_size: int | None = None,
    tile_pairs: int = DEFAULT_TILE_PAIRS,
    progress: Callable[[int, int, int], None] | None = None,
):
    """Rebuild every checkpoint's model (see :func:`model_scorer_from_checkpoint`) and combine them.

    Returns ``(EnsembleScorer, member ModelScorers, member TrainConfigs)``. ``checkpoints`` are taken one
    at a time (a generator that loads each from disk keeps one in memory), and each model keeps only its
    projected embeddings once its history is replayed. Raises ConfigError when the checkpoints were
    trained on different datasets. ``progress`` is called with (member index, events replayed, events
    in the history).
    """
    scorers, configs, datasets = [], [], {}
    for index, checkpoint in enumerate(checkpoints):
        datasets[f"model {index + 1}"] = checkpoint["config"].get("dataset")
        check_same_dataset(datasets)
        report = None if progress is None else functools.partial(progress, index)
        scorer, config = model_scorer_from_checkpoint(checkpoint, data, candidates, device, batch_size, tile_pairs, report)
        scorers.append(scorer)
        configs.append(config)
    return EnsembleScorer(scorers, weights), scorers, configs
