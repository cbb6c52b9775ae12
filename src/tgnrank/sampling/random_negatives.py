"""Uniform negatives over the candidate investors (TGN's behaviour), and the helpers every sampler shares."""

from __future__ import annotations

import numpy as np

from tgnrank.data.arrays import distinct
from tgnrank.sampling.validation import validate_n_neg


def candidate_pool(candidates: np.ndarray) -> np.ndarray:
    """The sorted distinct investor ids ``(M,)`` that may be drawn; ValueError when there are none."""
    pool = distinct(np.asarray(candidates, dtype=np.int64))
    if len(pool) == 0:
        raise ValueError("negative sampling needs at least one candidate investor (the training data has none)")
    return pool


def shape_negatives(flat: np.ndarray, batch_size: int, n_neg: int) -> np.ndarray:
    """``(B * n_neg,)`` draws as ``(B,)`` when ``n_neg == 1``, else ``(B, n_neg)``."""
    return flat if n_neg == 1 else flat.reshape(batch_size, n_neg)


class RandomNegativeSampler:
    """Uniform negatives over the unique candidate investors, like TGN's ``RandEdgeSampler``."""

    def __init__(self, candidates: np.ndarray, seed: int | None = None):
        self.pool = candidate_pool(candidates)
        self.seed = seed
        self._rng = np.random.default_rng(seed)

    def sample(self, sources: np.ndarray, destinations: np.ndarray, n_neg: int = 1,
               timestamps: np.ndarray | None = None) -> np.ndarray:
        """Investor ids ``(B,)`` if ``n_neg == 1`` else ``(B, n_neg)``; sources/destinations are ``(B,)``.

        ``timestamps`` is accepted (and ignored) so that every sampler is called the same way."""
        validate_n_neg(n_neg)
        batch_size = len(sources)
        positions = self._rng.integers(0, len(self.pool), size=batch_size * n_neg)
        return shape_negatives(self.pool[positions], batch_size, n_neg)

    def reset_rng(self, seed: int | None = None) -> None:
        self.seed = seed
        self._rng = np.random.default_rng(seed)

    def reset_stats(self) -> None:
        """Random sampling keeps no statistics."""

    def stats(self) -> dict:
        return {}
