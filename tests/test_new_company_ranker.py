"""The brand-new-company features (causal: only the history and the first round's type) and the
learned ranker (fitted on earlier windows, blind to the ranked window's labels)."""

import dataclasses

import numpy as np
import pytest
from new_company_data import sector_data

from tgnrank.data.events import EventData, Interactions
from tgnrank.eval.baselines import CategoryPopularityScorer
from tgnrank.eval.company_profiles import node_categories
from tgnrank.eval.metrics import ranking_metrics
from tgnrank.eval.new_company_features import NewCompanyFeatures
from tgnrank.eval.new_company_ranker import NewCompanyRankerOptions, fit_new_company_ranker, new_company_ranker_scorer
from tgnrank.eval.protocol import build_new_company_candidates, window_bounds
from tgnrank.eval.ranking import rank_candidates

FAST = NewCompanyRankerOptions(nc_windows=2, nc_negatives=20, nc_trees=20, nc_min_leaf=5)


@pytest.fixture(scope="module")
def data():
    return sector_data(seed=0)


def corrupt_after(data: EventData, t_start: float, keep_first_rounds: bool, seed: int = 3) -> EventData:
    """Every event after ``t_start`` moved to another investor of the history, with new amounts and
    (unless it is a company's first event after ``t_start`` and ``keep_first_rounds``) round types."""
    events = data.events
    rng = np.random.default_rng(seed)
    later = events.timestamps > t_start
    destinations = events.destinations.copy()
    destinations[later] = rng.choice(np.unique(events.destinations[~later]), size=int(later.sum()))
    edge_features = data.edge_features.copy()
    rows = events.edge_idxs[later]
    edge_features[rows, 0] = rng.uniform(0, 30, len(rows))
    kept = np.zeros(len(events), dtype=bool)
    if keep_first_rounds:
        index = np.flatnonzero(later)
        kept[index[np.unique(events.sources[index], return_index=True)[1]]] = True
    shuffled = later & ~kept
    types = np.zeros((int(shuffled.sum()), edge_features.shape[1] - 1), dtype=np.float32)
    types[np.arange(len(types)), rng.integers(0, types.shape[1], len(types))] = 1.0
    edge_features[events.edge_idxs[shuffled], 1:] = types
    altered = Interactions(events.sources, destinations, events.timestamps, events.edge_idxs, events.labels)
    return dataclasses.replace(data, events=altered, edge_features=edge_features)


def feature_rows(data, t_start, t_end):
    candidates = build_new_company_candidates(data.events, t_start, t_end)
    block = NewCompanyFeatures.from_candidates(candidates, data).block(0, candidates.n_companies)
    return {int(company): block[row] for row, company in enumerate(candidates.companies)}, candidates


def test_features_at_the_window_start_ignore_the_window_and_later(data):
    t_start, t_end = window_bounds(data.events, "test")
    base, _ = feature_rows(data, t_start, t_end)
    altered, _ = feature_rows(corrupt_after(data, t_start, keep_first_rounds=True), t_start, t_end)
    common = base.keys() & altered.keys()
    assert len(common) >= 10
    for company in common:
        np.testing.assert_array_equal(altered[company], base[company], err_msg=f"company {company}")


def test_the_first_rounds_type_is_the_one_window_fact_read(data):
    t_start, t_end = window_bounds(data.events, "test")
    base, candidates = feature_rows(data, t_start, t_end)
    altered, _ = feature_rows(corrupt_after(data, t_start, keep_first_rounds=False), t_start, t_end)
    names = NewCompanyFeatures.from_candidates(candidates, data).names
    type_columns = [names.index("round_type_share"), names.index("round_type_first_round_share")]
    others = np.setdiff1d(np.arange(len(names)), type_columns)
    differs = False
    for company in base.keys() & altered.keys():
        np.testing.assert_array_equal(altered[company][:, others], base[company][:, others])
        differs |= not np.array_equal(altered[company][:, type_columns], base[company][:, type_columns])
    assert differs


def test_feature_block_layout(data):
    t_start, t_end = window_bounds(data.events, "test")
    candidates = build_new_company_candidates(data.events, t_start, t_end)
    features = NewCompanyFeatures.from_candidates(candidates, data)
    block = features.block(2, 5)
    assert block.shape == (3, candidates.n_investors, len(features.names)) and block.dtype == np.float32
    np.testing.assert_array_equal(features.block(0, candidates.n_companies)[2:5], block)
    assert all(":" not in name for name in features.names)  # LightGBM refuses JSON characters
    categories = node_categories(data)
    category_scores = CategoryPopularityScorer(candidates, categories[candidates.companies], categories).score_block(2, 5)
    np.testing.assert_allclose(block[:, :, features.names.index("log_category_events")],
                               np.log1p(np.floor(category_scores)), rtol=1e-6)


def test_the_fit_never_reads_the_ranked_windows_labels(data):
    fit_start, fit_end = window_bounds(data.events, "val")
    base = fit_new_company_ranker(data, fit_start, fit_end, FAST)
    altered = fit_new_company_ranker(corrupt_after(data, fit_end, keep_first_rounds=False), fit_start, fit_end, FAST)
    assert base.booster.model_to_string() == altered.booster.model_to_string()
    assert [window.t_end for window in base.windows] == [fit_end, fit_start]


def test_the_ranker_scores_the_grid_and_learns_the_sectors(data):
    candidates = build_new_company_candidates(data.events, *window_bounds(data.events, "test"), window="test")
    scorer, ranker = new_company_ranker_scorer(data, candidates, (0.70, 0.85), FAST)
    block = scorer.score_block(0, candidates.n_companies)
    assert block.shape == (candidates.n_companies, candidates.n_investors)
    np.testing.assert_allclose(scorer.score_pairs(candidates.positive_rows, candidates.positive_cols),
                               block[candidates.positive_rows, candidates.positive_cols], rtol=1e-6)
    mrr = ranking_metrics(rank_candidates(candidates, scorer).ranks)["mrr"]
    random_mrr = np.mean(np.log(candidates.n_investors) / candidates.n_investors)
    assert mrr > 2 * random_mrr
    assert set(ranker.importances()) == set(NewCompanyFeatures.from_candidates(candidates, data).names)


def test_ranker_options_are_validated():
    from tgnrank.errors import ConfigError

    with pytest.raises(ConfigError, match="nc_windows must be an integer >= 1, got 0"):
        NewCompanyRankerOptions(nc_windows=0)
