"""The vectorised hard (and multi-hop) negative sampler; see :mod:`tgnrank.sampling.negatives` for the
distribution it draws from."""

from __future__ import annotations

import math
import time

import numpy as np

from tgnrank.sampling.linked_pairs import LinkedPairs
from tgnrank.sampling.multihop import (
    DEFAULT_MULTIHOP_NEG_RATIO,
    DEFAULT_MULTIHOP_TOPK,
    SHARE_TOLERANCE,
    MultihopCandidates,
)
from tgnrank.sampling.random_negatives import candidate_pool, shape_negatives
from tgnrank.sampling.sampler_stats import HardSamplerStats
from tgnrank.sampling.similarity import InvestorSimilarity
from tgnrank.sampling.validation import validate_n_neg, validate_sampler_settings

DEFAULT_HARD_NEG_RATIO = 0.5
DEFAULT_HARD_NEG_TEMPERATURE = 0.1
DEFAULT_HARD_NEG_TOPK = 50
# Rejection rounds before an exact (masked) draw; each round redraws only the still-excluded rows.
REJECTION_ROUNDS = 4


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


def _secondary_rng(seed: int | None) -> np.random.Generator:
    """A stream independent of ``default_rng(seed)``, for the coin flips and hard draws."""
    if seed is None:
        return np.random.default_rng()
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(1,)))


class BatchedHardNegativeSampler(HardSamplerStats):
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
        base: the sampler of the slots that are neither hard nor multi-hop (``--neg_sampling``), over the
            same pool, with ``draw_positions(companies, true investors, at_time)`` such as
            :class:`~tgnrank.sampling.activity_negatives.DegreeNegativeSampler`; ``sample`` then needs
            the batch's timestamps. None: uniform over the investors not linked to the company.
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
        base=None,
    ):
        validate_sampler_settings(hard_neg_ratio, hard_neg_temperature, hard_neg_topk, multihop_neg_ratio, multihop_topk)
        self.base = base
        super().__init__()
        self.pool = candidate_pool(linked_destinations if candidates is None else candidates)
        if base is not None and not np.array_equal(base.pool, self.pool):
            raise ValueError("the base sampler draws from a different candidate pool than the hard sampler")
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
        validate_sampler_settings(hard_neg_ratio, self._temperature, self.hard_neg_topk, self.multihop_neg_ratio)
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
        if self.base is not None:
            self.base.reset_rng(seed)

    def reset_stats(self) -> None:
        super().reset_stats()
        self._n_multihop_requested = 0
        self._n_multihop = 0
        if self.base is not None:
            self.base.reset_stats()

    def stats(self) -> dict:
        """The hard-negative statistics; with multi-hop negatives also ``share_multihop`` (drawn at distance
        3 / all negatives), ``requested_share_multihop`` and ``n_multihop_fallback`` (fell back to random)."""
        stats = super().stats()
        if self.base is not None:
            stats.update({f"base_{name}": value for name, value in self.base.stats().items()})
        if self.multihop is not None:
            n_negatives = stats["n_negatives"]
            stats["share_multihop"] = self._n_multihop / n_negatives if n_negatives else 0.0
            stats["requested_share_multihop"] = self._n_multihop_requested / n_negatives if n_negatives else 0.0
            stats["n_multihop_fallback"] = self._n_multihop_requested - self._n_multihop
        return stats

    def sample(self, sources: np.ndarray, destinations: np.ndarray, n_neg: int = 1,
               timestamps: np.ndarray | None = None) -> np.ndarray:
        """Investor ids ``(B,)`` if ``n_neg == 1`` else ``(B, n_neg)``; sources/destinations are ``(B,)``.

        Hard negatives of a positive occupy its first columns. ``timestamps (B,)`` are needed with a
        ``base`` sampler (its activity is taken at the batch's first timestamp), ignored otherwise.
        """
        validate_n_neg(n_neg)
        if self.base is not None and (timestamps is None or len(timestamps) != len(sources)):
            raise ValueError(f"with a base sampler ({type(self.base).__name__}) sample needs the batch's timestamps, "
                             f"one per positive ({len(sources)})")
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

        if self.base is None:
            n_unrestricted = self._redraw_excluded(negatives, is_random, companies, trues)
        else:
            n_unrestricted = self._draw_from_base(negatives, is_random, companies, trues, timestamps)
        self._record(len(negatives), len(hard_rows), hard_similarities[drawn], n_unrestricted)
        return shape_negatives(self.pool[negatives], batch_size, n_neg)

    def _draw_from_base(self, negatives: np.ndarray, is_random: np.ndarray, companies: np.ndarray,
                        trues: np.ndarray, timestamps: np.ndarray) -> int:
        """Fill the non-hard, non-multi-hop slots (pool positions, in place) from the base sampler; returns 0,
        as the base sampler counts its own unrestricted draws (``base_n_unrestricted`` in :meth:`stats`)."""
        rows = np.flatnonzero(is_random)
        if rows.size:
            negatives[rows] = self.base.draw_positions(companies[rows], trues[rows], float(np.min(timestamps)))
        return 0

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
