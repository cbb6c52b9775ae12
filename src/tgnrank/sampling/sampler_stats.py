"""Counters of what the hard samplers actually drew, reported per epoch."""

from __future__ import annotations

import numpy as np


class HardSamplerStats:
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
