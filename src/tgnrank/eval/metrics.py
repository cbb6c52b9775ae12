"""Ranking metrics over the global ranking of every candidate pair, with ties resolved by expectation.

A positive's place in a ranking is summarised by two counts: ``greater`` (g), the candidates scored
strictly higher, and ``tied`` (t >= 1), the candidates with exactly its score, itself included. Under
uniformly random tie-breaking its rank is uniform over g+1 .. g+t, so every metric that sums over
positives uses the expectation over that block:

* P(rank <= K) = clip((K - g) / t, 0, 1), which gives the expected hits in the top K;
* E[1 / rank] = (H(g + t) - H(g)) / t with H the harmonic numbers;
* the median rank uses each positive's mean rank g + (t + 1) / 2 (pessimistic for heavily tied scorers).

A constant scorer therefore earns exactly the metrics of a random ranking
(:func:`random_ranking_metrics`). When K exceeds the number of candidates N, the top-K list holds only
N pairs: Precision@K is the hits divided by min(K, N) and Recall@K is the hits over all positives.

Counts are accumulated chunk by chunk (:class:`GlobalRankCounter`), so scores never need to be held
all at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma

DEFAULT_KS = (100, 1000, 10000)
LIFT_K = 1000
HITS_K = 10


@dataclass(frozen=True)
class PositiveRanks:
    """Where every positive falls, as tied blocks.

    ``greater`` / ``tied`` (P,) int64 place each positive in the global ranking of all ``n_candidates``
    candidates; ``filtered_greater`` / ``filtered_tied`` (P,) place it among its own company's
    candidates with the company's other positives removed. ``tied`` counts the positive itself.
    """

    greater: np.ndarray
    tied: np.ndarray
    filtered_greater: np.ndarray
    filtered_tied: np.ndarray
    n_candidates: int

    @property
    def n_positives(self) -> int:
        return len(self.greater)

    def mean_ranks(self) -> np.ndarray:
        """(P,) float64 expected global rank (1 = best) of each positive."""
        return self.greater + (self.tied + 1) / 2.0


def expected_hits(greater: np.ndarray, tied: np.ndarray, k: int) -> float:
    """Expected number of positives ranked within the top ``k``."""
    return float(np.clip((k - greater) / tied, 0.0, 1.0).sum())


def expected_reciprocal_ranks(greater: np.ndarray, tied: np.ndarray) -> np.ndarray:
    """(P,) mean of 1/r over r = g+1 .. g+t, i.e. (H(g+t) - H(g)) / t."""
    greater = np.asarray(greater, dtype=np.float64)
    tied = np.asarray(tied, dtype=np.float64)
    spread = (digamma(greater + tied + 1.0) - digamma(greater + 1.0)) / tied
    return np.where(tied == 1, 1.0 / (greater + 1.0), spread)


def recall_curve(ranks: PositiveRanks, ks: np.ndarray) -> np.ndarray:
    """(len(ks),) expected Recall@K for each K (for plots of recall against K)."""
    return np.array([expected_hits(ranks.greater, ranks.tied, int(k)) for k in ks]) / ranks.n_positives


def ranking_metrics(ranks: PositiveRanks, ks=DEFAULT_KS, lift_k: int = LIFT_K, hits_k: int = HITS_K) -> dict:
    """Precision@K, Recall@K, median rank (and % of candidates), lift@lift_k vs random, filtered MRR and Hits@k.

    Returns a flat dict of floats (JSON-ready) keyed ``precision@K``, ``recall@K``, ``median_rank``,
    ``median_rank_pct``, ``lift@{lift_k}``, ``mrr``, ``hits@{hits_k}``, plus ``n_positives`` and
    ``n_candidates``.
    """
    n_candidates, n_positives = ranks.n_candidates, ranks.n_positives
    metrics: dict[str, float | int] = {}
    for k in sorted(set(int(k) for k in ks) | {lift_k}):
        hits = expected_hits(ranks.greater, ranks.tied, k)
        metrics[f"precision@{k}"] = hits / min(k, n_candidates)
        metrics[f"recall@{k}"] = hits / n_positives
    median_rank = float(np.median(ranks.mean_ranks()))
    metrics["median_rank"] = median_rank
    metrics["median_rank_pct"] = 100.0 * median_rank / n_candidates
    metrics[f"lift@{lift_k}"] = metrics[f"precision@{lift_k}"] / (n_positives / n_candidates)
    metrics["mrr"] = float(expected_reciprocal_ranks(ranks.filtered_greater, ranks.filtered_tied).mean())
    metrics[f"hits@{hits_k}"] = expected_hits(ranks.filtered_greater, ranks.filtered_tied, hits_k) / n_positives
    metrics["n_positives"] = n_positives
    metrics["n_candidates"] = n_candidates
    return metrics


def random_ranking_metrics(
    candidates_per_company: np.ndarray,
    positives_per_company: np.ndarray,
    ks=DEFAULT_KS,
    lift_k: int = LIFT_K,
    hits_k: int = HITS_K,
) -> dict:
    """The expected metrics of a uniformly random ranking, in closed form (same keys as ranking_metrics).

    ``candidates_per_company`` and ``positives_per_company`` (C,) describe the candidate set. A random
    ranking puts K * P / N positives in the top K in expectation; each positive's expected rank is
    (N + 1) / 2; among its company's m = n_c - p_c + 1 filtered candidates its expected reciprocal rank
    is H(m) / m and its chance to be in the top k is min(k, m) / m.
    """
    n_candidates = int(np.sum(candidates_per_company))
    n_positives = int(np.sum(positives_per_company))
    metrics: dict[str, float | int] = {}
    for k in sorted(set(int(k) for k in ks) | {lift_k}):
        shown = min(k, n_candidates)
        metrics[f"precision@{k}"] = n_positives / n_candidates
        metrics[f"recall@{k}"] = shown / n_candidates
    metrics["median_rank"] = (n_candidates + 1) / 2.0
    metrics["median_rank_pct"] = 100.0 * metrics["median_rank"] / n_candidates
    metrics[f"lift@{lift_k}"] = 1.0
    filtered_size = np.asarray(candidates_per_company, dtype=np.float64) - positives_per_company + 1
    weights = np.asarray(positives_per_company, dtype=np.float64)
    harmonic = digamma(filtered_size + 1.0) + np.euler_gamma
    metrics["mrr"] = float(np.sum(weights * harmonic / filtered_size) / n_positives)
    metrics[f"hits@{hits_k}"] = float(np.sum(weights * np.minimum(hits_k, filtered_size) / filtered_size) / n_positives)
    metrics["n_positives"] = n_positives
    metrics["n_candidates"] = n_candidates
    return metrics


class GlobalRankCounter:
    """Accumulates, over chunks of candidate scores, each positive's ``greater`` and ``tied`` counts.

    ``positive_scores`` (P,) are the positives' scores; the chunks passed to :meth:`update` must hold
    every candidate exactly once over the whole pass, positives included with exactly these scores
    (so that each positive counts itself as tied). Chunks are cast to the dtype of ``positive_scores``.
    Each chunk is sorted once and every distinct positive score located in it by binary search (far
    cheaper than searching every candidate among the positives).
    """

    def __init__(self, positive_scores: np.ndarray):
        positive_scores = np.asarray(positive_scores)
        _check_finite(positive_scores, "positive scores")
        self._distinct, self._position = np.unique(positive_scores, return_inverse=True)
        self._greater = np.zeros(len(self._distinct), dtype=np.int64)
        self._equal = np.zeros(len(self._distinct), dtype=np.int64)

    @property
    def dtype(self) -> np.dtype:
        return self._distinct.dtype

    def update(self, scores: np.ndarray) -> None:
        """Count a chunk of candidate scores (any shape)."""
        ordered = np.sort(np.asarray(scores, dtype=self.dtype), axis=None)
        # NaN sorts last and -inf first, so the two ends tell whether every score is finite.
        _check_finite(ordered[[0, -1]] if len(ordered) else ordered, "candidate scores")
        below_or_level = np.searchsorted(ordered, self._distinct, side="right")
        below = np.searchsorted(ordered, self._distinct, side="left")
        self._greater += len(ordered) - below_or_level
        self._equal += below_or_level - below

    def counts(self) -> tuple[np.ndarray, np.ndarray]:
        """((P,) greater, (P,) tied) for the positives in the order given at construction."""
        return self._greater[self._position], self._equal[self._position]


def rank_positives_in_scores(
    candidate_scores: np.ndarray, positive_index: np.ndarray, candidate_group: np.ndarray | None = None
) -> PositiveRanks:
    """PositiveRanks from a full score vector (small problems, tests).

    ``candidate_scores`` (N,) scores every candidate, ``positive_index`` (P,) says which candidates are
    positives, and ``candidate_group`` (N,) optionally gives each candidate's company for the filtered
    per-company counts (all candidates in one group when omitted).
    """
    candidate_scores = np.asarray(candidate_scores)
    positive_index = np.asarray(positive_index, dtype=np.int64)
    counter = GlobalRankCounter(candidate_scores[positive_index])
    counter.update(candidate_scores)
    greater, tied = counter.counts()
    group = np.zeros(len(candidate_scores), dtype=np.int64) if candidate_group is None else candidate_group
    is_positive = np.zeros(len(candidate_scores), dtype=bool)
    is_positive[positive_index] = True
    filtered_greater, filtered_tied = filtered_counts(
        candidate_scores[positive_index], group[positive_index], candidate_scores[~is_positive], group[~is_positive]
    )
    return PositiveRanks(greater, tied, filtered_greater, filtered_tied, len(candidate_scores))


def filtered_counts(
    positive_scores: np.ndarray, positive_group: np.ndarray, other_scores: np.ndarray, other_group: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-group counts of the non-positive candidates scored above / equal to each positive.

    Returns ((P,) greater, (P,) tied) where ``tied`` includes the positive itself but no other positive.
    """
    _check_finite(other_scores, "candidate scores")
    scores = np.concatenate([other_scores, positive_scores])
    groups = np.concatenate([other_group, positive_group])
    is_other = np.concatenate([np.ones(len(other_scores), bool), np.zeros(len(positive_scores), bool)])
    n_other = len(other_scores)
    # Sorting by (group, score) with others placed after equal-scored positives, a running count of
    # others reaches, at each positive, the others of earlier groups plus those of its group scored
    # strictly lower; placing them before equal-scored positives gives those scored lower or equal.
    lower = _others_before(groups, scores, is_other, others_first=False)[n_other:]
    lower_or_equal = _others_before(groups, scores, is_other, others_first=True)[n_other:]
    others_per_group_end = np.searchsorted(np.sort(other_group), positive_group, side="right")
    return (others_per_group_end - lower_or_equal).astype(np.int64), (lower_or_equal - lower + 1).astype(np.int64)


def _others_before(groups: np.ndarray, scores: np.ndarray, is_other: np.ndarray, others_first: bool) -> np.ndarray:
    """For every element, the number of "other" elements sorted before it by (group, score, kind)."""
    kind = ~is_other if others_first else is_other
    order = np.lexsort((kind, scores, groups))
    before = np.empty(len(order), dtype=np.int64)
    before[order] = np.cumsum(is_other[order]) - is_other[order]
    return before


def _check_finite(values: np.ndarray, what: str) -> None:
    if values.size and not np.all(np.isfinite(values)):
        raise ValueError(f"{what} contain NaN or infinite values; every candidate needs a finite score")
