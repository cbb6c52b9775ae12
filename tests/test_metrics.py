"""Ranking metrics with ties by expectation, against rankings computed by hand."""

import numpy as np
import pytest

from tgnrank.data.events import Interactions
from tgnrank.eval.metrics import (
    GlobalRankCounter,
    PositiveRanks,
    expected_hits,
    expected_reciprocal_ranks,
    rank_positives_in_scores,
    random_ranking_metrics,
    ranking_metrics,
    recall_curve,
)
from tgnrank.eval.protocol import build_candidates
from tgnrank.eval.scoring import rank_candidates


def test_counts_and_metrics_of_a_small_ranking_with_a_tie():
    # Scores 5 > 4 = 4 > 3 > 2 > 1; positives are the second "4" (index 1) and the "3" (index 3).
    scores = np.array([5.0, 4.0, 4.0, 3.0, 2.0, 1.0])
    ranks = rank_positives_in_scores(scores, positive_index=np.array([1, 3]))
    assert ranks.greater.tolist() == [1, 3]
    assert ranks.tied.tolist() == [2, 1]
    # Filtered: the other positive is removed, so the "4" sees one 5 above and the other 4 level.
    assert ranks.filtered_greater.tolist() == [1, 2]
    assert ranks.filtered_tied.tolist() == [2, 1]

    metrics = ranking_metrics(ranks, ks=(2, 4, 10), lift_k=4)
    # K=2: the "4" is at rank 2 or 3 with probability 1/2 each; the "3" is at rank 4.
    assert metrics["precision@2"] == pytest.approx(0.5 / 2)
    assert metrics["recall@2"] == pytest.approx(0.5 / 2)
    assert metrics["precision@4"] == pytest.approx(2 / 4)
    assert metrics["recall@4"] == pytest.approx(1.0)
    # K = 10 exceeds the 6 candidates: the list holds all 6, with both positives.
    assert metrics["precision@10"] == pytest.approx(2 / 6)
    assert metrics["recall@10"] == pytest.approx(1.0)
    # Mean ranks 2.5 and 4: the median is 3.25, i.e. 3.25/6 of the candidates.
    assert metrics["median_rank"] == pytest.approx(3.25)
    assert metrics["median_rank_pct"] == pytest.approx(100 * 3.25 / 6)
    assert metrics["lift@4"] == pytest.approx((2 / 4) / (2 / 6))
    # Filtered reciprocal ranks: mean(1/2, 1/3) = 5/12 for the tied one, 1/3 for the other.
    assert metrics["mrr"] == pytest.approx((5 / 12 + 1 / 3) / 2)
    assert metrics["hits@10"] == pytest.approx(1.0)
    assert metrics["n_positives"] == 2 and metrics["n_candidates"] == 6


def test_a_tied_block_straddling_k_counts_in_proportion():
    scores = np.array([3.0, 2.0, 2.0, 2.0, 2.0, 1.0])
    ranks = rank_positives_in_scores(scores, positive_index=np.array([2]))
    assert (ranks.greater[0], ranks.tied[0]) == (1, 4)
    # Ranks 2..5 are equally likely: P(rank <= 3) = 2/4.
    assert expected_hits(ranks.greater, ranks.tied, 3) == pytest.approx(0.5)
    assert expected_hits(ranks.greater, ranks.tied, 1) == 0.0
    assert expected_hits(ranks.greater, ranks.tied, 5) == 1.0
    assert ranks.mean_ranks()[0] == pytest.approx(3.5)


def test_expected_reciprocal_rank_is_the_mean_over_the_tied_block():
    greater = np.array([0, 0, 3, 10, 999])
    tied = np.array([1, 4, 1, 7, 50])
    expected = [np.mean(1.0 / np.arange(g + 1, g + t + 1)) for g, t in zip(greater, tied)]
    assert expected_reciprocal_ranks(greater, tied) == pytest.approx(expected, rel=1e-12)


def test_counts_match_brute_force_on_heavily_tied_scores():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 6, size=300).astype(np.float32)
    positive_index = rng.choice(300, size=25, replace=False)
    groups = rng.integers(0, 7, size=300)
    ranks = rank_positives_in_scores(scores, positive_index, groups)
    is_positive = np.zeros(300, bool)
    is_positive[positive_index] = True
    for k, p in enumerate(positive_index):
        s = scores[p]
        assert ranks.greater[k] == np.sum(scores > s)
        assert ranks.tied[k] == np.sum(scores == s)
        others = (groups == groups[p]) & ~is_positive
        assert ranks.filtered_greater[k] == np.sum(scores[others] > s)
        assert ranks.filtered_tied[k] == 1 + np.sum(scores[others] == s)


def test_counter_gives_the_same_counts_chunk_by_chunk():
    rng = np.random.default_rng(1)
    scores = rng.integers(0, 50, size=1000).astype(np.float64)
    positives = scores[rng.choice(1000, 40, replace=False)]
    whole = GlobalRankCounter(positives)
    whole.update(scores)
    chunked = GlobalRankCounter(positives)
    for chunk in np.array_split(scores, 7):
        chunked.update(chunk)
    for a, b in zip(whole.counts(), chunked.counts()):
        np.testing.assert_array_equal(a, b)


def test_non_finite_scores_are_rejected():
    with pytest.raises(ValueError, match="NaN or infinite"):
        rank_positives_in_scores(np.array([1.0, np.nan, 0.0]), np.array([0]))


def test_a_constant_scorer_earns_exactly_the_random_baseline():
    rng = np.random.default_rng(2)
    candidates_per_company = rng.integers(5, 40, size=12)
    positives_per_company = np.minimum(rng.integers(1, 5, size=12), candidates_per_company)
    groups = np.repeat(np.arange(12), candidates_per_company)
    starts = np.concatenate([[0], np.cumsum(candidates_per_company)[:-1]])
    positive_index = np.concatenate([s + np.arange(p) for s, p in zip(starts, positives_per_company)])
    ranks = rank_positives_in_scores(np.zeros(len(groups)), positive_index, groups)
    ks = (10, 100, 1000)
    constant = ranking_metrics(ranks, ks=ks, lift_k=100)
    random = random_ranking_metrics(candidates_per_company, positives_per_company, ks=ks, lift_k=100)
    assert constant.keys() == random.keys()
    for key in constant:
        assert constant[key] == pytest.approx(random[key], rel=1e-12), key
    assert random["lift@100"] == 1.0


def test_recall_curve_is_expected_hits_over_positives():
    ranks = PositiveRanks(
        greater=np.array([0, 5]), tied=np.array([1, 2]), filtered_greater=np.array([0, 0]),
        filtered_tied=np.array([1, 1]), n_candidates=10,
    )
    assert recall_curve(ranks, np.array([1, 6, 7])).tolist() == pytest.approx([0.5, 0.75, 1.0])


class _TableScorer:
    """Scores cells from a fixed (C, I) table, without score_pairs (so the pass is made twice)."""

    def __init__(self, table):
        self.table = table

    def score_block(self, row_start, row_stop):
        return self.table[row_start:row_stop]


def _tiny_candidate_set():
    # Companies 1..3, investors 4..8; history up to t=10, window (10, 20].
    history = [(1, 4, 1), (1, 5, 2), (2, 4, 3), (3, 6, 4), (2, 7, 5), (3, 8, 6), (1, 8, 7)]
    window = [(1, 6, 11), (1, 7, 12), (2, 5, 13), (2, 8, 14), (3, 4, 15)]
    rows = np.array(history + window, dtype=np.float64)
    events = Interactions(
        sources=rows[:, 0].astype(np.int64), destinations=rows[:, 1].astype(np.int64), timestamps=rows[:, 2],
        edge_idxs=np.arange(1, len(rows) + 1), labels=np.zeros(len(rows)),
    )
    return build_candidates(events, 10.0, 20.0)


@pytest.mark.parametrize("block_pairs", [1, 5, 1000])
def test_streaming_ranking_matches_the_full_score_vector(block_pairs):
    candidates = _tiny_candidate_set()
    rng = np.random.default_rng(3)
    table = rng.integers(0, 4, size=(candidates.n_companies, candidates.n_investors)).astype(np.float64)
    streamed = rank_candidates(candidates, _TableScorer(table), block_pairs=block_pairs, top_k=4)

    is_candidate = candidates.block_mask(0, candidates.n_companies)
    cell_rows, cell_cols = np.nonzero(is_candidate)
    flat_index = {(r, c): k for k, (r, c) in enumerate(zip(cell_rows, cell_cols))}
    positive_index = [flat_index[(r, c)] for r, c in zip(candidates.positive_rows, candidates.positive_cols)]
    full = rank_positives_in_scores(table[cell_rows, cell_cols], np.array(positive_index), cell_rows)
    for field in ("greater", "tied", "filtered_greater", "filtered_tied"):
        np.testing.assert_array_equal(getattr(streamed.ranks, field), getattr(full, field), err_msg=field)
    assert streamed.ranks.n_candidates == full.n_candidates == candidates.n_candidates

    # Top 4 by score, ties in grid order (row, then column).
    order = np.lexsort((cell_cols, cell_rows, -table[cell_rows, cell_cols]))[:4]
    assert streamed.top.rows.tolist() == cell_rows[order].tolist()
    assert streamed.top.cols.tolist() == cell_cols[order].tolist()
