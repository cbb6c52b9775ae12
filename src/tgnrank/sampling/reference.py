"""A plain per-positive hard sampler: the reference that tests hold the batched sampler to.

It draws from the same distribution as :class:`~tgnrank.sampling.hard.BatchedHardNegativeSampler`
with loops and sets instead of vectorised arrays, so it is slow and meant for tests and small graphs;
the root script ``hard_negative_mining.py`` exports it under the user's guide's name.
"""

from __future__ import annotations

import math

import numpy as np

from tgnrank.data.arrays import unit_rows
from tgnrank.sampling.hard import DEFAULT_HARD_NEG_RATIO, DEFAULT_HARD_NEG_TEMPERATURE, DEFAULT_HARD_NEG_TOPK
from tgnrank.sampling.random_negatives import candidate_pool, shape_negatives
from tgnrank.sampling.sampler_stats import HardSamplerStats
from tgnrank.sampling.validation import validate_n_neg, validate_sampler_settings


def build_adjacency_dict(sources: np.ndarray, destinations: np.ndarray) -> dict[int, set[int]]:
    """Map each company (source) to the set of investors (destinations) it interacted with."""
    pairs = np.unique(np.stack([np.asarray(sources, np.int64), np.asarray(destinations, np.int64)], axis=1), axis=0)
    companies, starts = np.unique(pairs[:, 0], return_index=True)
    groups = np.split(pairs[:, 1], starts[1:])
    return {int(company): set(group.tolist()) for company, group in zip(companies, groups)}


class HardNegativeSampler(HardSamplerStats):
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
        validate_sampler_settings(hard_neg_ratio, hard_neg_temperature, hard_neg_topk)
        super().__init__()
        self.pool = candidate_pool(linked_destinations if candidates is None else candidates)
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
        return shape_negatives(flat, len(rows), n_neg)

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
