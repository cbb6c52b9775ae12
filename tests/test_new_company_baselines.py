"""Category popularity (hand-computed), the baselines on brand-new companies, and what the profiles
of brand-new companies read (static attributes and the first round's type only)."""

import numpy as np
import pytest

from tgnrank.data.events import COMPANY, INVESTOR, EventData, Interactions
from tgnrank.data.feature_schema import FeatureSchema
from tgnrank.errors import ConfigError
from tgnrank.eval.baselines import (
    CategoryPopularityScorer,
    CoinvestmentScorer,
    HistoryGraph,
    PersonalizedPageRankScorer,
    build_baselines,
)
from tgnrank.eval.company_profiles import (
    NO_ROUND_TYPE,
    category_columns,
    first_round_types,
    node_categories,
    profile_vector,
    round_type_columns,
    round_type_index,
)
from tgnrank.eval.metrics import ranking_metrics
from tgnrank.eval.protocol import build_new_company_candidates, build_scope_candidates
from tgnrank.eval.ranking import rank_candidates

# Companies 1..5, investors 6..9; the window is (10, 20].
EVENTS = [
    (1, 6, 1, "seed"), (1, 7, 2, "series_a"), (2, 6, 3, "seed"), (2, 8, 5, ""), (2, 6, 10, "series_a"),
    (3, 6, 11, "series_a"), (3, 6, 12, "seed"), (3, 7, 13, "seed"), (3, 9, 14, "seed"), (4, 9, 15, "seed"),
    (1, 8, 16, "seed"), (5, 8, 20, ""), (4, 6, 25, "seed"), (3, 8, 30, "seed"),
]
# Labels a, b: 1 = a, 2 = a|b, 3 = b, 4 = a, 5 = none.
CATEGORIES = {1: (1, 0), 2: (1, 1), 3: (0, 1), 4: (1, 0), 5: (0, 0)}
STATIC_NAMES = ("is_company", "company:category=a", "company:category=b", "company:category=other")
EDGE_NAMES = ("log1p_amount", "round_type=seed", "round_type=series_a")


def tiny_data(events=EVENTS) -> EventData:
    node_features = np.zeros((10, len(STATIC_NAMES)), dtype=np.float32)
    for company, labels in CATEGORIES.items():
        node_features[company, :3] = (1, *labels)
    edge_features = np.zeros((len(events) + 1, len(EDGE_NAMES)), dtype=np.float32)
    for row, (_, _, _, round_type) in enumerate(events, 1):
        if round_type:
            edge_features[row, EDGE_NAMES.index(f"round_type={round_type}")] = 1.0
    return EventData(
        name="tiny",
        events=Interactions(
            sources=np.array([e[0] for e in events]), destinations=np.array([e[1] for e in events]),
            timestamps=np.array([e[2] for e in events], dtype=np.float64),
            edge_idxs=np.arange(1, len(events) + 1), labels=np.zeros(len(events)),
        ),
        edge_features=edge_features,
        node_features=node_features,
        node_names=np.array([""] + [f"node{k}" for k in range(1, 10)], dtype=object),
        node_kinds=np.array([""] + [COMPANY] * 5 + [INVESTOR] * 4, dtype=object),
        feature_schema=FeatureSchema(STATIC_NAMES, EDGE_NAMES, (0, 1, 2)),
    )


def new_candidates(data):
    return build_new_company_candidates(data.events, 10.0, 20.0, window="test")


def category_scorer(data, candidates):
    categories = node_categories(data)
    return CategoryPopularityScorer(candidates, categories[candidates.companies], categories)


def test_category_popularity_hand_computed():
    data = tiny_data()
    candidates = new_candidates(data)  # companies 3 (b) and 5 (none) x investors 6, 7, 8
    # n(i, a), n(i, b) over H: investor 6 funded 1 (a), 2 (a, b) twice -> 3, 2; 7 funded 1 -> 1, 0;
    # 8 funded 2 -> 1, 1. Popularity 3, 1, 1, so the tie-breaks are 3/4, 1/4, 1/4.
    scores = category_scorer(data, candidates).score_block(0, 2)
    np.testing.assert_allclose(scores, [[2.75, 0.25, 1.25], [0.75, 0.25, 0.25]])
    ranked = rank_candidates(candidates, category_scorer(data, candidates))
    # Filtered reciprocal ranks: (3, 6) first; (3, 7) behind 8 -> 1/2; (5, 8) behind 6, level with 7 ->
    # (1/2 + 1/3) / 2.
    assert ranking_metrics(ranked.ranks)["mrr"] == pytest.approx((1 + 1 / 2 + 5 / 12) / 3)


def test_category_popularity_pairs_agree_with_blocks():
    data = tiny_data()
    candidates = new_candidates(data)
    scorer = category_scorer(data, candidates)
    rows, cols = np.array([0, 0, 1, 1]), np.array([2, 0, 1, 0])
    np.testing.assert_array_equal(scorer.score_pairs(rows, cols), scorer.score_block(0, 2)[rows, cols])


def test_history_baselines_give_brand_new_companies_a_constant():
    data = tiny_data()
    parts = build_scope_candidates(data.events, 10.0, 20.0, scope="all")
    graph = HistoryGraph.from_candidates(parts["all"])
    np.testing.assert_array_equal(graph.companies, [1, 2, 3, 5])
    for scorer in (CoinvestmentScorer(graph), PersonalizedPageRankScorer(graph)):
        scores = scorer.score_block(0, 3)
        np.testing.assert_array_equal(scores[1:], 0.0)  # companies 3 and 5 have no link in H
        assert scores[0].max() > 0
    known_graph = HistoryGraph.from_candidates(parts["known"])
    np.testing.assert_array_equal(
        build_baselines(parts["known"])["coinvestment"].score_block(0, 1), CoinvestmentScorer(known_graph).score_block(0, 1)
    )


def test_profiles_read_the_category_columns_and_the_first_rounds_type():
    data = tiny_data()
    assert category_columns(data).labels == ("a", "b")
    assert round_type_columns(data).labels == ("seed", "series_a")
    types = first_round_types(data.events, data.edge_features, round_type_columns(data), np.array([3, 5]), 10.0, 20.0)
    # 3's first round (t = 11) is series_a (its later ones are seed); 5's has a blank type
    np.testing.assert_array_equal(types, [1, NO_ROUND_TYPE])


def test_profiles_do_not_read_the_window_beyond_the_first_round():
    base = tiny_data()
    corrupted = [e if not (e[2] > 11 or (e[2] > 10 and e[0] != 3)) else (e[0], 9, e[2] + 0.5, "series_a") for e in EVENTS]
    data = tiny_data(corrupted)
    args = (round_type_columns(data), np.array([3, 5]), 10.0, 40.0)
    np.testing.assert_array_equal(
        first_round_types(data.events, data.edge_features, *args)[:1],
        first_round_types(base.events, base.edge_features, *args)[:1],
    )
    np.testing.assert_array_equal(node_categories(data), node_categories(base))


def test_profile_from_attributes_names_the_refused_parameter_bare():
    data = tiny_data()
    np.testing.assert_array_equal(profile_vector(data, ["B", "a"], None), [1, 1, 1, 0])
    assert round_type_index(data, "Series-A") == 1 and round_type_index(data, None) == NO_ROUND_TYPE
    with pytest.raises(ConfigError, match="^categories 'fintech' is not among.*accepted: a, b$") as raised:
        profile_vector(data, ["fintech"], None)
    assert raised.value.parameters == ("categories",)
    with pytest.raises(ConfigError, match="^country 'FRA'.*accepted: none") as raised:
        profile_vector(data, ["a"], "FRA")
    assert raised.value.parameters == ("country",)
    with pytest.raises(ConfigError, match="^round_type 'ipo'.*accepted: seed, series_a$") as raised:
        round_type_index(data, "ipo")
    assert raised.value.parameters == ("round_type",)
