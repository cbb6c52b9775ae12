"""Baselines on hand-built graphs, and the absence of leakage from the evaluation window."""

import numpy as np
import pytest

from tgnrank.data.events import Interactions
from tgnrank.eval.baselines import (
    BASELINES,
    CoinvestmentScorer,
    HistoryGraph,
    PersonalizedPageRankScorer,
    best_baseline,
    build_baselines,
    popularity_scorer,
    recency_scorer,
)
from tgnrank.eval.protocol import build_candidates


def make_events(rows):
    rows = np.array(rows, dtype=np.float64)
    return Interactions(
        sources=rows[:, 0].astype(np.int64),
        destinations=rows[:, 1].astype(np.int64),
        timestamps=rows[:, 2],
        edge_idxs=np.arange(1, len(rows) + 1),
        labels=np.zeros(len(rows)),
    )


# Companies 1..3, investors 10..13. Distinct links: 1-{10,11}, 2-{10,11,12}, 3-{11,13}; (1,10) twice.
HISTORY = make_events([(1, 10, 1), (1, 11, 2), (2, 10, 3), (2, 11, 4), (2, 12, 5), (3, 11, 6), (1, 10, 8), (3, 13, 9)])
INVESTORS = np.array([10, 11, 12, 13])


def graph(candidate_companies=(1, 2, 3), t_start=9.0):
    return HistoryGraph.build(HISTORY, t_start, np.array(candidate_companies), INVESTORS)


def full_block(scorer, n_rows):
    return scorer.score_block(0, n_rows)


def test_popularity_counts_events():
    scores = full_block(popularity_scorer(graph()), 3)
    np.testing.assert_array_equal(scores, np.tile([3.0, 3.0, 1.0, 1.0], (3, 1)))


def test_recency_weights_events_by_their_age():
    scorer = recency_scorer(graph(t_start=10.0), half_life=2.0)
    expected = [0.5**4.5 + 0.5**3.5 + 0.5**1, 0.5**4 + 0.5**3 + 0.5**2, 0.5**2.5, 0.5**0.5]
    np.testing.assert_allclose(full_block(scorer, 1)[0], expected, rtol=1e-12)
    with pytest.raises(ValueError, match="half_life"):
        recency_scorer(graph(), half_life=0)


def test_coinvestment_counts_coinvestments_with_past_investors():
    # C (investors sharing companies, diagonal zeroed): C[10,11]=2, C[10,12]=1, C[11,12]=1, C[11,13]=1.
    scorer = CoinvestmentScorer(graph(candidate_companies=(1, 3)))
    expected = np.array(
        [
            [2.0, 2.0, 2.0, 1.0],  # company 1 (past 10, 11): e.g. 12 -> C[10,12] + C[11,12] = 2
            [2.0, 1.0, 1.0, 1.0],  # company 3 (past 11, 13): e.g. 10 -> C[11,10] + C[13,10] = 2
        ]
    )
    np.testing.assert_array_equal(full_block(scorer, 2), expected)
    rows, cols = np.array([0, 1, 1]), np.array([2, 0, 3])
    np.testing.assert_array_equal(scorer.score_pairs(rows, cols), expected[rows, cols])


def test_ppr_on_a_single_link_matches_the_closed_form():
    events = make_events([(1, 10, 1)])
    scorer = PersonalizedPageRankScorer(
        HistoryGraph.build(events, 1.0, np.array([1]), np.array([10])), max_iterations=500
    )
    # pi_c = 0.15 + 0.85 pi_i and pi_i = 0.85 pi_c, so pi_i = 0.85 * 0.15 / (1 - 0.85 ** 2).
    assert scorer.score_block(0, 1)[0, 0] == pytest.approx(0.85 * 0.15 / (1 - 0.85**2), rel=1e-7)


def test_ppr_matches_the_linear_solve_and_splits_large_blocks():
    # Transition matrix over nodes [companies 1, 2, 3, investors 10, 11, 12, 13], uniform over distinct links.
    links = np.array([[1, 1, 0, 0], [1, 1, 1, 0], [0, 1, 0, 1]], dtype=float)
    n_c = 3
    transition = np.zeros((7, 7))
    transition[:n_c, n_c:] = links / links.sum(axis=1, keepdims=True)
    transition[n_c:, :n_c] = (links / links.sum(axis=0, keepdims=True)).T
    restart = np.eye(7)[:n_c] * 0.15
    exact = restart @ np.linalg.inv(np.eye(7) - 0.85 * transition)  # rows: sources; pi = 0.15 e + 0.85 pi P
    # state_cells=7 forces one source per pass, exercising the split of a block.
    scorer = PersonalizedPageRankScorer(graph(), max_iterations=500, state_cells=7)
    np.testing.assert_allclose(full_block(scorer, 3), exact[:, n_c:], atol=1e-9)
    np.testing.assert_allclose(scorer.score_block(1, 3), exact[1:, n_c:], atol=1e-9)


def test_best_baseline_prefers_precision_then_median_rank():
    results = {
        "a": {"precision@1000": 0.01, "median_rank": 50.0},
        "b": {"precision@1000": 0.02, "median_rank": 90.0},
        "c": {"precision@1000": 0.02, "median_rank": 70.0},
    }
    assert best_baseline(results) == "c"


def test_baselines_see_nothing_of_the_window():
    # Same history; the window's events differ entirely (other investors, more events, other times).
    window_a = [(1, 12, 10), (1, 13, 11), (3, 10, 12), (2, 13, 15)]
    window_b = [(1, 12, 14), (3, 12, 10.5), (3, 10, 16), (2, 13, 13), (3, 12, 11), (1, 13, 19), (2, 13, 19.5)]
    history_rows = list(zip(HISTORY.sources, HISTORY.destinations, HISTORY.timestamps))
    a = build_candidates(make_events(history_rows + window_a), 9.0, 20.0)
    b = build_candidates(make_events(history_rows + window_b), 9.0, 20.0)
    np.testing.assert_array_equal(a.companies, b.companies)
    np.testing.assert_array_equal(a.investors, b.investors)
    assert set(zip(a.positive_rows, a.positive_cols)) != set(zip(b.positive_rows, b.positive_cols))
    scorers_a, scorers_b = build_baselines(a), build_baselines(b)
    assert sorted(scorers_a) == sorted(BASELINES)
    for name in BASELINES:
        np.testing.assert_array_equal(
            scorers_a[name].score_block(0, a.n_companies), scorers_b[name].score_block(0, b.n_companies), err_msg=name
        )
