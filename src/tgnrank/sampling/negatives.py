"""Negative samplers for self-supervised link prediction: random (TGN's) and hard negatives.

For a positive (company c, investor i) a negative is an investor i' forming the corrupted pair (c, i').

* Random: uniform over the candidate investors (:class:`RandomNegativeSampler`, TGN's behaviour).
* Hard (:class:`BatchedHardNegativeSampler`, vectorised; :class:`HardNegativeSampler`, the plain
  per-positive reference): of the ``n_neg`` negatives of a positive, ``floor(r * n_neg)`` plus one
  more with probability ``frac(r * n_neg)`` are hard (``r = hard_neg_ratio``), so with one negative
  per positive each negative is hard with probability ``r``. A hard negative is drawn from i's top-k
  most similar investors (cosine similarity of raw node features) with probability
  softmax(similarity / temperature) over those not linked to c; the others are uniform over the
  candidates not linked to c. Investors linked to c in the training data, and i itself, are never
  drawn. When every top-k neighbour of i is linked to c the negative falls back to random (counted).
* Multi-hop (an option of the batched sampler, ``multihop_neg_ratio``): a further share of the
  negatives is drawn among the investors at distance 3 from c in the training graph, weighted by path
  count (:mod:`tgnrank.sampling.multihop`); companies without such investors fall back to random
  (counted). Per positive, hard negatives come first, then multi-hop ones, then random ones; the hard
  and multi-hop counts use the same uniform, so their total is ``floor(s) + [u < frac(s)]`` with
  ``s = (hard_neg_ratio + multihop_neg_ratio) * n_neg`` and never exceeds ``n_neg``.

The batched sampler's hard share can change between epochs (:meth:`BatchedHardNegativeSampler.set_hard_ratio`,
for a curriculum) and its top-k lists can be recomputed from other vectors, such as the model's memory
(:meth:`BatchedHardNegativeSampler.refresh_similarity`).

Both hard samplers keep two random streams: the uniform draws use ``default_rng(seed)`` exactly as
:class:`RandomNegativeSampler`, so with ``hard_neg_ratio = 0`` they return the random sampler's draws,
except where that draw is linked to the company (then it is redrawn from the allowed investors).
"""

from __future__ import annotations

import logging
import math
import numbers
import time

import numpy as np

from tgnrank.data.arrays import distinct
from tgnrank.data.events import Interactions
from tgnrank.errors import ConfigError
from tgnrank.sampling.multihop import (
    DEFAULT_MULTIHOP_NEG_RATIO,
    DEFAULT_MULTIHOP_TOPK,
    SHARE_TOLERANCE,
    MultihopCandidates,
    validate_multihop_params,
    validate_negative_shares,
)
from tgnrank.sampling.similarity import InvestorSimilarity, unit_rows

logger = logging.getLogger(__name__)

DEFAULT_HARD_NEG_RATIO = 0.5
DEFAULT_HARD_NEG_TEMPERATURE = 0.1
DEFAULT_HARD_NEG_TOPK = 50
# Rejection rounds before an exact (masked) draw; each round redraws only the still-excluded rows.
REJECTION_ROUNDS = 4


def validate_hard_negative_params(hard_neg_ratio: float, hard_neg_temperature: float, hard_neg_topk: int) -> None:
    """Raise :class:`ConfigError` naming the flag when a hard-negative setting is out of range."""
    if not (isinstance(hard_neg_ratio, numbers.Real) and 0.0 <= hard_neg_ratio <= 1.0):
        raise ConfigError(f"--hard_neg_ratio must lie in [0, 1] (share of hard negatives), got {hard_neg_ratio}")
    if not (isinstance(hard_neg_temperature, numbers.Real) and math.isfinite(hard_neg_temperature)
            and hard_neg_temperature > 0):
        raise ConfigError(f"--hard_neg_temperature must be a finite number > 0, got {hard_neg_temperature}")
    if isinstance(hard_neg_topk, bool) or not isinstance(hard_neg_topk, numbers.Integral) or hard_neg_topk < 1:
        raise ConfigError(f"--hard_neg_topk must be an integer >= 1, got {hard_neg_topk}")


def validate_n_neg(n_neg: int) -> None:
    """Raise :class:`ConfigError` unless ``n_neg`` (negatives per positive) is an integer >= 1."""
    if isinstance(n_neg, bool) or not isinstance(n_neg, numbers.Integral) or n_neg < 1:
        raise ConfigError(f"--n_neg must be an integer >= 1 (negatives per positive), got {n_neg}")


def build_adjacency_dict(sources: np.ndarray, destinations: np.ndarray) -> dict[int, set[int]]:
    """Map each company (source) to the set of investors (destinations) it interacted with."""
    pairs = np.unique(np.stack([np.asarray(sources, np.int64), np.asarray(destinations, np.int64)], axis=1), axis=0)
    companies, starts = np.unique(pairs[:, 0], return_index=True)
    groups = np.split(pairs[:, 1], starts[1:])
    return {int(company): set(group.tolist()) for company, group in zip(companies, groups)}


def _candidate_pool(candidates: np.ndarray) -> np.ndarray:
    pool = distinct(np.asarray(candidates, dtype=np.int64))
    if len(pool) == 0:
        raise ValueError("negative sampling needs at least one candidate investor (the training data has none)")
    return pool


def _shape_negatives(flat: np.ndarray, batch_size: int, n_neg: int) -> np.ndarray:
    return flat if n_neg == 1 else flat.reshape(batch_size, n_neg)


def _secondary_rng(seed: int | None) -> np.random.Generator:
    """A stream independent of ``default_rng(seed)``, for the coin flips and hard draws."""
    if seed is None:
        return np.random.default_rng()
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(1,)))


class RandomNegativeSampler:
    """Uniform negatives over the unique candidate investors, like TGN's ``RandEdgeSampler``."""

    def __init__(self, candidates: np.ndarray, seed: int | None = None):
        self.pool = _candidate_pool(candidates)
        self.seed = seed
        self._rng = np.random.default_rng(seed)

    def sample(self, sources: np.ndarray, destinations: np.ndarray, n_neg: int = 1) -> np.ndarray:
        """Investor ids ``(B,)`` if ``n_neg == 1`` else ``(B, n_neg)``; sources/destinations are ``(B,)``."""
        validate_n_neg(n_neg)
        batch_size = len(sources)
        positions = self._rng.integers(0, len(self.pool), size=batch_size * n_neg)
        return _shape_negatives(self.pool[positions], batch_size, n_neg)

    def reset_rng(self, seed: int | None = None) -> None:
        self.seed = seed
        self._rng = np.random.default_rng(seed)

    def reset_stats(self) -> None:
        """Random sampling keeps no statistics."""

    def stats(self) -> dict:
        return {}


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


def softmax_cdf(similarities: np.ndarray, temperature: float) -> np.ndarray:
    """Row-wise cumulative softmax(similarities / temperature), ``(Q, k) -> (Q, k)`` float64, last column 1."""
    if similarities.shape[1] == 0:
        return np.zeros(similarities.shape, dtype=np.float64)
    logits = similarities.astype(np.float64) / temperature
    weights = np.exp(logits - logits.max(axis=1, keepdims=True))
    cdf = np.cumsum(weights, axis=1)
    cdf /= np.maximum(cdf[:, -1:], np.finfo(np.float64).tiny)
    cdf[:, -1] = 1.0
    return cdf


def pool_positions(pool: np.ndarray, node_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of each node id in the sorted ``pool`` and whether it is there. ``(B,) -> (B,), (B,)``."""
    positions = np.minimum(np.searchsorted(pool, node_ids), len(pool) - 1)
    return positions, pool[positions] == node_ids


class _HardSamplerStats:
    """Counters shared by both hard samplers."""

    def __init__(self):
        self.reset_stats()

    def reset_stats(self) -> None:
        self._n_negatives = 0
        self._n_hard_requested = 0
        self._n_hard = 0
        self._hard_similarity_sum = 0.0
        self._n_unrestricted = 0

    def stats(self) -> dict:
        """``share_hard``: hard negatives actually drawn / all negatives; ``mean_similarity``: their mean
        cosine similarity to the true investor (nan if none); ``n_fallback``: hard negatives that fell
        back to random; ``n_unrestricted``: negatives drawn although every candidate was excluded."""
        n_negatives = self._n_negatives
        return {
            "share_hard": self._n_hard / n_negatives if n_negatives else 0.0,
            "requested_share_hard": self._n_hard_requested / n_negatives if n_negatives else 0.0,
            "mean_similarity": self._hard_similarity_sum / self._n_hard if self._n_hard else float("nan"),
            "n_fallback": self._n_hard_requested - self._n_hard,
            "n_negatives": n_negatives,
            "n_hard": self._n_hard,
            "n_unrestricted": self._n_unrestricted,
        }

    def _record(self, n_negatives: int, n_hard_requested: int, hard_similarities: np.ndarray, n_unrestricted: int):
        self._n_negatives += n_negatives
        self._n_hard_requested += n_hard_requested
        self._n_hard += len(hard_similarities)
        self._hard_similarity_sum += float(np.sum(hard_similarities, dtype=np.float64))
        self._n_unrestricted += n_unrestricted


class BatchedHardNegativeSampler(_HardSamplerStats):
    """Hard negative sampler vectorised over the batch; per batch O(batch x top-k) numpy work.

    Hard draws use each top-k row's softmax CDF (precomputed once for the temperature) and reject
    neighbours linked to the company; rows still rejected after a few rounds get an exact masked
    Gumbel-max draw, which also detects the fallback case. Excluded random draws are redrawn the same
    way, ending with an exact uniform draw over the allowed investors.

    Args:
        node_features: ``(n_nodes + 1, d)`` raw node features indexed by node id.
        linked_sources, linked_destinations: ``(E,)`` training (company, investor) pairs, never drawn.
        candidates: investor ids that may be drawn (default: the unique ``linked_destinations``).
        hard_neg_ratio, hard_neg_temperature, hard_neg_topk: see the module docstring; fixed at construction.
        seed: seeds both random streams (``None``: fresh entropy).
        similarity: a precomputed :class:`InvestorSimilarity` over the same pool, to share between
            samplers (its top-k must be ``min(hard_neg_topk, M - 1)``).
        device: where the top-k lists are computed.
        multihop_neg_ratio: share of multi-hop negatives; ``hard_neg_ratio + multihop_neg_ratio <= 1``.
        multihop_topk: candidates kept per company by path count.
        multihop: precomputed :class:`MultihopCandidates` over the same pool (computed when needed otherwise).
    """

    def __init__(
        self,
        node_features: np.ndarray,
        linked_sources: np.ndarray,
        linked_destinations: np.ndarray,
        candidates: np.ndarray | None = None,
        hard_neg_ratio: float = DEFAULT_HARD_NEG_RATIO,
        hard_neg_temperature: float = DEFAULT_HARD_NEG_TEMPERATURE,
        hard_neg_topk: int = DEFAULT_HARD_NEG_TOPK,
        seed: int | None = None,
        similarity: InvestorSimilarity | None = None,
        device: str = "cpu",
        multihop_neg_ratio: float = DEFAULT_MULTIHOP_NEG_RATIO,
        multihop_topk: int = DEFAULT_MULTIHOP_TOPK,
        multihop: MultihopCandidates | None = None,
    ):
        validate_hard_negative_params(hard_neg_ratio, hard_neg_temperature, hard_neg_topk)
        validate_multihop_params(multihop_neg_ratio, multihop_topk)
        validate_negative_shares(hard_neg_ratio, multihop_neg_ratio)
        super().__init__()
        self.pool = _candidate_pool(linked_destinations if candidates is None else candidates)
        self._ratio = float(hard_neg_ratio)
        self._temperature = float(hard_neg_temperature)
        self.hard_neg_topk = int(hard_neg_topk)
        self.multihop_neg_ratio = float(multihop_neg_ratio)
        self.device = device
        started = time.perf_counter()
        if similarity is None:
            similarity = InvestorSimilarity.compute(node_features, self.pool, hard_neg_topk, device=device)
        self._install_similarity(similarity)
        self.linked = LinkedPairs(linked_sources, linked_destinations, self.pool)
        self._position_of = np.full(similarity.unit_features.shape[0], -1, dtype=np.int64)
        self._position_of[self.pool] = np.arange(len(self.pool))
        self.precompute_seconds = time.perf_counter() - started
        self.multihop, self.multihop_precompute_seconds = multihop, 0.0
        if self.multihop is None and self.multihop_neg_ratio > 0:
            started = time.perf_counter()
            self.multihop = MultihopCandidates.compute(
                linked_sources, linked_destinations, self.pool, similarity.unit_features.shape[0], multihop_topk, seed
            )
            self.multihop_precompute_seconds = time.perf_counter() - started
        self.reset_rng(seed)

    @property
    def hard_neg_ratio(self) -> float:
        return self._ratio

    @property
    def hard_neg_temperature(self) -> float:
        return self._temperature

    def set_hard_ratio(self, hard_neg_ratio: float) -> None:
        """Change the share of hard negatives for the following draws (e.g. at an epoch of a curriculum)."""
        validate_hard_negative_params(hard_neg_ratio, self._temperature, self.hard_neg_topk)
        validate_negative_shares(hard_neg_ratio, self.multihop_neg_ratio)
        self._ratio = float(hard_neg_ratio)

    def refresh_similarity(self, node_vectors: np.ndarray) -> float:
        """Recompute the top-k lists from ``node_vectors (n_nodes + 1, d)`` (indexed by node id, e.g. the
        model's memory) with the same pool and top-k; returns the seconds it took.

        From then on ``mean_similarity`` in :meth:`stats` is the cosine similarity of these vectors.
        """
        if node_vectors.shape[0] != len(self._position_of):
            raise ValueError(f"node_vectors has {node_vectors.shape[0]} rows, expected {len(self._position_of)}")
        started = time.perf_counter()
        self._install_similarity(
            InvestorSimilarity.compute(node_vectors, self.pool, self.hard_neg_topk, device=self.device)
        )
        return time.perf_counter() - started

    def _install_similarity(self, similarity: InvestorSimilarity) -> None:
        if not np.array_equal(similarity.pool, self.pool):
            raise ValueError("the precomputed similarity was built over a different candidate pool")
        self.similarity = similarity
        self._neighbor_cdf = softmax_cdf(similarity.neighbor_similarities, self._temperature)

    def reset_rng(self, seed: int | None = None) -> None:
        self.seed = seed
        self._rng_uniform = np.random.default_rng(seed)
        self._rng_hard = _secondary_rng(seed)

    def reset_stats(self) -> None:
        super().reset_stats()
        self._n_multihop_requested = 0
        self._n_multihop = 0

    def stats(self) -> dict:
        """The hard-negative statistics; with multi-hop negatives also ``share_multihop`` (drawn at distance
        3 / all negatives), ``requested_share_multihop`` and ``n_multihop_fallback`` (fell back to random)."""
        stats = super().stats()
        if self.multihop is not None:
            n_negatives = stats["n_negatives"]
            stats["share_multihop"] = self._n_multihop / n_negatives if n_negatives else 0.0
            stats["requested_share_multihop"] = self._n_multihop_requested / n_negatives if n_negatives else 0.0
            stats["n_multihop_fallback"] = self._n_multihop_requested - self._n_multihop
        return stats

    def sample(self, sources: np.ndarray, destinations: np.ndarray, n_neg: int = 1) -> np.ndarray:
        """Investor ids ``(B,)`` if ``n_neg == 1`` else ``(B, n_neg)``; sources/destinations are ``(B,)``.

        Hard negatives of a positive occupy its first columns.
        """
        validate_n_neg(n_neg)
        batch_size = len(sources)
        companies = np.repeat(np.asarray(sources, dtype=np.int64), n_neg)
        trues = np.repeat(np.asarray(destinations, dtype=np.int64), n_neg)
        negatives = self._rng_uniform.integers(0, len(self.pool), size=batch_size * n_neg)

        is_hard, is_multihop = self._slot_kinds(batch_size, n_neg)
        is_random = ~(is_hard | is_multihop)
        hard_rows = np.flatnonzero(is_hard)
        hard_positions, hard_similarities, drawn = self._draw_hard(companies[hard_rows], trues[hard_rows])
        negatives[hard_rows[drawn]] = hard_positions[drawn]
        is_random[hard_rows[~drawn]] = True
        self._draw_multihop(np.flatnonzero(is_multihop), companies, negatives, is_random)

        n_unrestricted = self._redraw_excluded(negatives, is_random, companies, trues)
        self._record(len(negatives), len(hard_rows), hard_similarities[drawn], n_unrestricted)
        return _shape_negatives(self.pool[negatives], batch_size, n_neg)

    def _slot_kinds(self, batch_size: int, n_neg: int) -> tuple[np.ndarray, np.ndarray]:
        """``(B * n_neg,)`` masks of the hard and of the multi-hop negatives.

        Per positive ``floor(r n) + [u < frac(r n)]`` slots are hard and the hard plus multi-hop ones
        number ``floor(s) + [u < frac(s)]`` with ``s = (r + m) n`` and the same uniform ``u`` (drawn only
        when a share is fractional, so without multi-hop negatives the draws are the hard sampler's own).
        """
        hard_share = self._ratio * n_neg
        total_share = hard_share + self.multihop_neg_ratio * n_neg
        if total_share > n_neg and total_share <= n_neg * (1 + SHARE_TOLERANCE):
            total_share = float(n_neg)
        hard_fraction = hard_share - math.floor(hard_share)
        total_fraction = total_share - math.floor(total_share)
        if hard_fraction > 0 or total_fraction > 0:
            uniforms = self._rng_hard.random(batch_size)
        else:
            uniforms = np.ones(batch_size)
        n_hard = math.floor(hard_share) + (uniforms < hard_fraction)
        n_total = np.maximum(math.floor(total_share) + (uniforms < total_fraction), n_hard)
        slots = np.arange(n_neg)[None, :]
        is_hard = slots < n_hard[:, None]
        return is_hard.ravel(), (~is_hard & (slots < n_total[:, None])).ravel()

    def _draw_multihop(self, rows: np.ndarray, companies: np.ndarray, negatives: np.ndarray,
                       is_random: np.ndarray) -> None:
        """Fill ``negatives[rows]`` (pool positions, in place) with multi-hop draws; rows whose company has
        no candidate are marked random."""
        if rows.size == 0:
            return
        positions, found = self.multihop.draw(companies[rows], self._rng_hard.random(len(rows)))
        negatives[rows[found]] = positions[found]
        is_random[rows[~found]] = True
        self._n_multihop_requested += len(rows)
        self._n_multihop += int(np.count_nonzero(found))

    def _draw_hard(self, companies: np.ndarray, trues: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Softmax draws from each true investor's top-k, excluding the company's links. All ``(H,)``.

        Returns pool positions, similarities and a mask of the rows that had an allowed neighbour.
        """
        rows = self.similarity.rows_of(trues)
        positions = np.zeros(len(trues), dtype=np.int64)
        similarities = np.zeros(len(trues), dtype=np.float32)
        drawn = np.zeros(len(trues), dtype=bool)
        pending = np.flatnonzero(rows >= 0) if self.similarity.topk else np.empty(0, dtype=np.int64)
        for _ in range(REJECTION_ROUNDS):
            if pending.size == 0:
                return positions, similarities, drawn
            pending_rows = rows[pending]
            uniforms = self._rng_hard.random(len(pending))
            columns = np.sum(self._neighbor_cdf[pending_rows] <= uniforms[:, None], axis=1)
            candidates = self.similarity.neighbor_positions[pending_rows, columns]
            accepted = ~self.linked.contains(companies[pending], candidates)
            done = pending[accepted]
            positions[done] = candidates[accepted]
            similarities[done] = self.similarity.neighbor_similarities[pending_rows[accepted], columns[accepted]]
            drawn[done] = True
            pending = pending[~accepted]
        if pending.size:
            positions[pending], similarities[pending], drawn[pending] = self._masked_gumbel(
                companies[pending], rows[pending]
            )
        return positions, similarities, drawn

    def _masked_gumbel(self, companies: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Exact Gumbel-max draw over each row's top-k with the company's links masked out. All ``(R,)``."""
        neighbors = self.similarity.neighbor_positions[rows]
        neighbor_similarities = self.similarity.neighbor_similarities[rows]
        allowed = ~self.linked.contains(companies[:, None], neighbors)
        scores = neighbor_similarities / self._temperature + self._rng_hard.gumbel(size=neighbors.shape)
        choice = np.argmax(np.where(allowed, scores, -np.inf), axis=1)
        picked = np.arange(len(rows))
        return neighbors[picked, choice], neighbor_similarities[picked, choice], allowed.any(axis=1)

    def _redraw_excluded(self, negatives: np.ndarray, is_random: np.ndarray, companies: np.ndarray,
                         trues: np.ndarray) -> int:
        """Redraw, in place, random negatives linked to their company or equal to the true investor.

        Returns how many could not be fixed because every candidate is excluded (they stay as drawn).
        """
        pending = np.flatnonzero(is_random)
        true_positions = self._position_of[trues[pending]]
        for round_index in range(REJECTION_ROUNDS + 1):
            excluded = self.linked.contains(companies[pending], negatives[pending])
            excluded |= negatives[pending] == true_positions
            pending, true_positions = pending[excluded], true_positions[excluded]
            if pending.size == 0 or round_index == REJECTION_ROUNDS:
                break
            negatives[pending] = self._rng_hard.integers(0, len(self.pool), size=len(pending))
        if pending.size == 0:
            return 0
        redrawn, possible = self.linked.uniform_allowed(
            companies[pending], true_positions, true_positions >= 0, self._rng_hard.random(len(pending))
        )
        negatives[pending[possible]] = redrawn[possible]
        return int(np.count_nonzero(~possible))


class HardNegativeSampler(_HardSamplerStats):
    """Plain per-positive reference implementation of :class:`BatchedHardNegativeSampler`'s distribution.

    It recomputes each true investor's top-k by sorting its similarity to every candidate and uses an
    adjacency dict for exclusions; slow, for tests and small graphs. Same arguments as the batched
    sampler (without ``similarity``/``device``); a single random stream.
    """

    def __init__(
        self,
        node_features: np.ndarray,
        linked_sources: np.ndarray,
        linked_destinations: np.ndarray,
        candidates: np.ndarray | None = None,
        hard_neg_ratio: float = DEFAULT_HARD_NEG_RATIO,
        hard_neg_temperature: float = DEFAULT_HARD_NEG_TEMPERATURE,
        hard_neg_topk: int = DEFAULT_HARD_NEG_TOPK,
        seed: int | None = None,
    ):
        validate_hard_negative_params(hard_neg_ratio, hard_neg_temperature, hard_neg_topk)
        super().__init__()
        self.pool = _candidate_pool(linked_destinations if candidates is None else candidates)
        self.hard_neg_ratio = float(hard_neg_ratio)
        self.hard_neg_temperature = float(hard_neg_temperature)
        self.topk = max(0, min(int(hard_neg_topk), len(self.pool) - 1))
        self.adjacency = build_adjacency_dict(linked_sources, linked_destinations)
        self._pool_members = set(self.pool.tolist())
        self.unit_features = unit_rows(node_features)
        self.reset_rng(seed)

    def reset_rng(self, seed: int | None = None) -> None:
        self.seed = seed
        self._rng = np.random.default_rng(seed)

    def sample(self, sources: np.ndarray, destinations: np.ndarray, n_neg: int = 1) -> np.ndarray:
        """Investor ids ``(B,)`` if ``n_neg == 1`` else ``(B, n_neg)``; hard ones in the first columns."""
        validate_n_neg(n_neg)
        rows = [self._sample_one(int(c), int(i), n_neg) for c, i in zip(sources, destinations)]
        flat = np.array([node for row in rows for node in row], dtype=np.int64)
        return _shape_negatives(flat, len(rows), n_neg)

    def _sample_one(self, company: int, true_investor: int, n_neg: int) -> list[int]:
        share = self.hard_neg_ratio * n_neg
        n_hard = math.floor(share) + int(self._rng.random() < share - math.floor(share))
        linked = self.adjacency.get(company, set())
        negatives, hard_similarities, n_unrestricted = [], [], 0
        for slot in range(n_neg):
            hard = self._hard_choice(linked, true_investor) if slot < n_hard else None
            if hard is not None:
                negatives.append(hard[0])
                hard_similarities.append(hard[1])
                continue
            allowed = [int(node) for node in self.pool if node not in linked and node != true_investor]
            if not allowed:
                allowed, n_unrestricted = self.pool.tolist(), n_unrestricted + 1
            negatives.append(allowed[self._rng.integers(len(allowed))])
        self._record(n_neg, n_hard, np.array(hard_similarities, dtype=np.float64), n_unrestricted)
        return negatives

    def _hard_choice(self, linked: set[int], true_investor: int) -> tuple[int, float] | None:
        """A (investor, similarity) draw from the allowed top-k of ``true_investor``, or None to fall back."""
        if true_investor not in self._pool_members or self.topk == 0:
            return None
        others = self.pool[self.pool != true_investor]
        similarities = self.unit_features[others] @ self.unit_features[true_investor]
        top = np.argsort(-similarities, kind="stable")[: self.topk]
        candidates = [(int(others[j]), float(similarities[j])) for j in top if int(others[j]) not in linked]
        if not candidates:
            return None
        logits = np.array([similarity for _, similarity in candidates]) / self.hard_neg_temperature
        weights = np.exp(logits - logits.max())
        return candidates[self._rng.choice(len(candidates), p=weights / weights.sum())]


def create_negative_sampler(
    use_hard_negatives: bool,
    hard_neg_ratio: float,
    hard_neg_temperature: float,
    hard_neg_topk: int,
    node_features: np.ndarray,
    train: Interactions,
    seed: int | None = None,
    device: str = "cpu",
    multihop_neg_ratio: float = DEFAULT_MULTIHOP_NEG_RATIO,
    multihop_topk: int = DEFAULT_MULTIHOP_TOPK,
) -> RandomNegativeSampler | BatchedHardNegativeSampler:
    """The training sampler: random over ``train``'s investors, or hard and/or multi-hop negatives
    excluding ``train``'s links (multi-hop without hard negatives: a batched sampler with no hard share,
    which skips the similarity top-k).

    The settings are validated even when unused, so a bad flag never passes silently.
    """
    validate_hard_negative_params(hard_neg_ratio, hard_neg_temperature, hard_neg_topk)
    validate_multihop_params(multihop_neg_ratio, multihop_topk)
    if use_hard_negatives:
        validate_negative_shares(hard_neg_ratio, multihop_neg_ratio)
    elif multihop_neg_ratio == 0:
        return RandomNegativeSampler(train.destinations, seed=seed)
    pool = _candidate_pool(train.destinations)
    sampler = BatchedHardNegativeSampler(
        node_features,
        train.sources,
        train.destinations,
        hard_neg_ratio=hard_neg_ratio if use_hard_negatives else 0.0,
        hard_neg_temperature=hard_neg_temperature,
        hard_neg_topk=hard_neg_topk,
        seed=seed,
        similarity=None if use_hard_negatives else InvestorSimilarity.empty(pool, node_features.shape[0]),
        device=device,
        multihop_neg_ratio=multihop_neg_ratio,
        multihop_topk=multihop_topk,
    )
    if use_hard_negatives:
        logger.info(
            "hard negatives: top-%d similar investors of %d candidates precomputed in %.2f s",
            sampler.similarity.topk, len(sampler.pool), sampler.precompute_seconds,
        )
    if sampler.multihop is not None:
        companies = distinct(train.sources)
        n_with = int(np.count_nonzero(sampler.multihop.n_candidates(companies)))
        logger.info(
            "multi-hop negatives: up to %d distance-3 investors for %d of %d companies precomputed in %.2f s",
            multihop_topk, n_with, len(companies), sampler.multihop_precompute_seconds,
        )
    return sampler
