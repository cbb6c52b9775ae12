"""The learned fusion: pair features computed by hand, the fit/apply split, and a case that needs two signals."""

import dataclasses

import numpy as np
import pytest

from tgnrank.data.events import Interactions
from tgnrank.errors import ConfigError
from tgnrank.eval.fusion import (
    FITTING_STAGE, FusionOptions, company_model_path, fit_fusion, fitting_windows, sample_window,
)
from tgnrank.eval.metrics import ranking_metrics
from tgnrank.eval.pair_features import FEATURE_NAMES, PairFeatures, _last_event_of_group
from tgnrank.eval.protocol import build_candidates
from tgnrank.eval.scoring import rank_candidates


def _events(pairs_and_times) -> Interactions:
    pairs_and_times = sorted(pairs_and_times, key=lambda row: row[2])
    sources = np.array([row[0] for row in pairs_and_times], dtype=np.int64)
    destinations = np.array([row[1] for row in pairs_and_times], dtype=np.int64)
    timestamps = np.array([row[2] for row in pairs_and_times], dtype=np.float64)
    n = len(sources)
    return Interactions(sources, destinations, timestamps, np.arange(1, n + 1), np.zeros(n))


def _feature(features: PairFeatures, name: str) -> np.ndarray:
    return features.block(0, features.candidates.n_companies)[:, :, FEATURE_NAMES.index(name)]


def test_pair_features_match_hand_computed_values():
    # Companies 1, 2, 3; investors 4, 5, 6. History up to t=10: 1-4 (t=0), 2-4 (t=10), 2-5 (t=10),
    # 3-6 (t=5). Window (10, 20]: 1-5 is new (company 1, investor 5 both known).
    events = _events([(1, 4, 0.0), (2, 4, 10.0), (2, 5, 10.0), (3, 6, 5.0), (1, 5, 15.0)])
    candidates = build_candidates(events, 10.0, 20.0)
    assert list(candidates.companies) == [1] and list(candidates.investors) == [4, 5, 6]
    static = np.zeros((7, 2))
    static[1] = [1.0, 0.0]
    static[2] = [1.0, 0.0]
    static[3] = [0.0, 1.0]
    edge = np.zeros((6, 2))
    edge[[1, 3]] = [2.0, 0.0]  # events in time order: 1-4, 3-6, 2-4, 2-5, 1-5 (the last in the window)
    edge[[2, 4]] = [0.0, 1.0]
    features = PairFeatures.from_candidates(candidates, static, edge, half_life=10.0)

    # Investor 5 co-invested with company 1's investor 4 once (in company 2); investor 6 never.
    assert _feature(features, "log_coinvestment")[0, 1:].tolist() == pytest.approx([np.log1p(1), 0.0])
    # Decayed path 1 -4- 2 -5: decay(1-4) * decay(2-4) * decay(2-5) = 0.5 ** (10 / 10) * 1 * 1.
    assert _feature(features, "log_decayed_coinvestment")[0, 1] == pytest.approx(np.log1p(0.5))
    assert _feature(features, "log_coinvestors")[0, 1:].tolist() == pytest.approx([np.log1p(1), 0.0])
    # 4 and 5 entered company 2 in the same round (t=10).
    assert _feature(features, "log_same_round")[0, 1:].tolist() == pytest.approx([np.log1p(1), 0.0])
    # Resource allocation of 1 -4- 2 -5: 1 / deg(4) / deg(2) = 1 / 2 / 2, scaled by 1e3 before log1p.
    assert _feature(features, "resource_allocation")[0, 1] == pytest.approx(np.log1p(1e3 / 4))
    # Investor 4: two events, the last at t=10 (0 days ago), the first 10 days ago.
    assert _feature(features, "investor_log_events")[0].tolist() == pytest.approx(np.log1p([2, 1, 1]))
    assert _feature(features, "investor_log_days_since_last")[0].tolist() == pytest.approx(np.log1p([0, 0, 5]))
    assert _feature(features, "investor_log_days_since_first")[0].tolist() == pytest.approx(np.log1p([10, 0, 5]))
    # Investor 4's deals: company 1's first round (t=0) and company 2's first round: both first deals.
    assert _feature(features, "investor_new_company_share")[0, 0] == pytest.approx(1.0)
    # Company 1 funded only by 4, once, 10 days ago.
    assert _feature(features, "company_log_investors")[0, 0] == pytest.approx(np.log1p(1))
    assert _feature(features, "company_log_days_since_last")[0, 0] == pytest.approx(np.log1p(10))
    # Static profile: investors 4 and 5 funded only [1, 0]-companies, 6 only a [0, 1]-company.
    assert _feature(features, "static_similarity")[0].tolist() == pytest.approx([1.0, 1.0, 0.0])
    assert _feature(features, "static_share")[0].tolist() == pytest.approx([1.0, 1.0, 0.0])
    # Decayed deals in company 1's profile: 4 funded [1, 0]-companies 10 days ago (0.5) and now (1).
    assert _feature(features, "log_decayed_category_deals")[0].tolist() == pytest.approx(np.log1p([1.5, 1.0, 0.0]))
    # Company 1's last round is of the first kind, as are all of 4's deals; 5 and 6 did the second kind only.
    assert _feature(features, "recent_round_similarity")[0].tolist() == pytest.approx([1.0, 0.0, 0.0])


def test_category_entries_count_only_the_first_deal_with_each_company():
    # Investor 4 entered companies 1 (t=0) and 2 (t=5) and funded 2 again at t=10; 5 funded company 3.
    events = _events([(1, 4, 0.0), (2, 4, 5.0), (2, 4, 10.0), (3, 5, 2.0), (1, 5, 15.0)])
    candidates = build_candidates(events, 10.0, 20.0)
    assert list(candidates.companies) == [1] and list(candidates.investors) == [4, 5]
    static = np.zeros((6, 2))
    static[[1, 2]] = [1.0, 0.0]
    static[3] = [0.0, 1.0]
    features = PairFeatures.from_candidates(candidates, static, np.zeros((6, 1)), half_life=10.0)
    deals = 0.5 + 0.5**0.5 + 1.0  # decays at t_start = 10 of the deals at t = 0, 5 and 10
    entries = 0.5 + 0.5**0.5  # the follow-on at t = 10 is not an entry
    assert _feature(features, "log_decayed_category_deals")[0].tolist() == pytest.approx(np.log1p([deals, 0.0]))
    assert _feature(features, "log_decayed_category_entries")[0].tolist() == pytest.approx(np.log1p([entries, 0.0]))


def test_follow_features_count_who_entered_a_company_after_whom():
    # Company 2 took investor 4 at t=1, then 5 at t=3 (5 followed 4), and 6 together with 5 at t=3.
    events = _events([(1, 4, 0.0), (2, 4, 1.0), (2, 5, 3.0), (2, 6, 3.0), (3, 6, 2.0), (1, 5, 5.0)])
    candidates = build_candidates(events, 3.0, 10.0)
    assert list(candidates.companies) == [1] and list(candidates.investors) == [4, 5, 6]
    features = PairFeatures.from_candidates(candidates, np.zeros((7, 1)), np.zeros((7, 1)), half_life=2.0)
    # Company 1's investor is 4: both 5 and 6 entered company 2 after 4 did, at t=3 = t_start (no decay).
    assert _feature(features, "log_follows")[0, 1:].tolist() == pytest.approx(np.log1p([1, 1]))
    assert _feature(features, "log_decayed_follows")[0, 1:].tolist() == pytest.approx(np.log1p([1, 1]))
    # Nobody entered a company in the same round as 4.
    assert _feature(features, "log_same_round")[0, 1:].tolist() == pytest.approx([0.0, 0.0])


def test_pair_features_read_nothing_of_the_window():
    events = _events([(1, 4, 0.0), (2, 4, 10.0), (2, 5, 10.0), (3, 6, 5.0), (1, 5, 15.0), (3, 5, 18.0)])
    candidates = build_candidates(events, 10.0, 20.0)
    static, edge = np.eye(7), np.ones((7, 1))
    reference = PairFeatures.from_candidates(candidates, static, edge).block(0, 1)
    moved_edge = edge.copy()
    moved_edge[5:] = 99.0  # the window's edge features
    changed = PairFeatures.from_candidates(candidates, static, moved_edge).block(0, 1)
    np.testing.assert_array_equal(reference, changed)


def _two_signal_events(seed: int):
    """Companies 1..40, investors 41..100. Every company and investor has history up to t=0; in each
    later window a company newly links exactly to the investors where both hidden bits agree:
    ``a`` is a per-investor bit (like activity), ``b`` a per-pair bit (like a shared syndicate)."""
    rng = np.random.default_rng(seed)
    companies, investors = np.arange(1, 41), np.arange(41, 101)
    a = rng.random(len(investors)) < 0.5
    b = rng.random((len(companies), len(investors))) < 0.5
    rows = [(c, investors[j % len(investors)], -1.0 - j) for j, c in enumerate(companies)]
    rows += [(companies[j % len(companies)], i, -100.0 - j) for j, i in enumerate(investors)]
    history_pairs = {(row[0], row[1]) for row in rows}
    windows = [(0.0, 10.0), (10.0, 20.0), (20.0, 30.0)]
    for w, (start, _) in enumerate(windows):
        for r, c in enumerate(companies[w::3]):
            for j in np.flatnonzero(a & b[c - 1]):
                if (c, investors[j]) not in history_pairs:
                    rows.append((c, investors[j], start + 5.0))
    events = _events(rows)
    return events, a, b, companies, investors


class _Signal:
    """An extra scorer reading one hidden bit for the candidate grid."""

    def __init__(self, candidates, values):
        self.rows = values[candidates.companies - 1] if values.ndim == 2 else np.broadcast_to(
            values, (candidates.n_companies, len(values))
        )
        self.cols = candidates.investors - 41

    def score_block(self, row_start, row_stop):
        return self.rows[row_start:row_stop][:, self.cols].astype(np.float64)


def test_fusion_beats_each_of_two_signals_it_needs_together():
    events, a, b, _, _ = _two_signal_events(0)
    extras = {
        "activity_bit": lambda candidates: _Signal(candidates, a.astype(float)),
        "pair_bit": lambda candidates: _Signal(candidates, b.astype(float)),
    }
    static = np.zeros((101, 1))
    edge = np.zeros((len(events) + 1, 1))
    options = FusionOptions(fusion_windows=2, fusion_window_step=1.0, fusion_negatives=60, fusion_trees=30,
                            fusion_min_leaf=5)
    ranker = fit_fusion(events, 10.0, 20.0, static, edge, options, extras)
    assert [window.t_end for window in ranker.windows] == [20.0, 10.0]
    test = build_candidates(events, 20.0, 30.0)
    fused = ranking_metrics(rank_candidates(test, ranker.scorer(test, static, edge, extras)).ranks)
    for name, factory in extras.items():
        alone = ranking_metrics(rank_candidates(test, factory(test)).ranks)
        assert fused["mrr"] > alone["mrr"] + 0.05, name
    assert set(ranker.importances()) == set(FEATURE_NAMES) | set(extras)
    assert sum(ranker.importances().values()) == pytest.approx(1.0)


def test_an_extra_scorer_missing_on_the_earlier_windows_is_learnt_from_the_latest():
    # A model's logit exists on the latest fitting window only (the earlier ones lie in its training period):
    # its column is missing there, and the fusion still needs it and the activity bit together.
    events, a, b, _, _ = _two_signal_events(0)
    pair_bit = lambda candidates: _Signal(candidates, b.astype(float))  # noqa: E731
    extras = {
        "activity_bit": lambda candidates: _Signal(candidates, a.astype(float)),
        "pair_bit": lambda candidates: pair_bit(candidates) if candidates.t_end >= 20.0 else None,
    }
    static = np.zeros((101, 1))
    edge = np.zeros((len(events) + 1, 1))
    options = FusionOptions(fusion_windows=2, fusion_window_step=1.0, fusion_negatives=60, fusion_trees=30,
                            fusion_min_leaf=5)
    earlier = build_candidates(events, 0.0, 10.0)
    rows = sample_window(earlier, PairFeatures.from_candidates(earlier, static, edge),
                         [extras["activity_bit"](earlier), None], 20, np.random.default_rng(0))[0]
    assert np.isnan(rows[:, -1]).all() and not np.isnan(rows[:, -2]).any()

    ranker = fit_fusion(events, 10.0, 20.0, static, edge, options, extras)
    assert [window.t_end for window in ranker.windows] == [20.0, 10.0]
    test = build_candidates(events, 20.0, 30.0)
    fused = ranking_metrics(rank_candidates(test, ranker.scorer(test, static, edge, extras)).ranks)
    for alone in (_Signal(test, a.astype(float)), pair_bit(test)):
        assert fused["mrr"] > ranking_metrics(rank_candidates(test, alone).ranks)["mrr"] + 0.05


def test_fusion_never_reads_the_labels_of_the_window_it_ranks():
    events, *_ = _two_signal_events(1)
    static = np.zeros((101, 1))
    edge = np.zeros((len(events) + 1, 1))
    options = FusionOptions(fusion_windows=2, fusion_window_step=1.0, fusion_negatives=30, fusion_trees=10,
                            fusion_min_leaf=5)
    ranker = fit_fusion(events, 10.0, 20.0, static, edge, options)
    # Corrupt the test window (20, 30]: other investors, other times. The fitted trees must not change.
    in_test = events.timestamps > 20.0
    corrupted_destinations = events.destinations.copy()
    corrupted_destinations[in_test] = 41 + (corrupted_destinations[in_test] * 7) % 60
    corrupted = Interactions(
        events.sources, corrupted_destinations, np.where(in_test, 29.0, events.timestamps),
        events.edge_idxs, events.labels,
    )
    again = fit_fusion(corrupted, 10.0, 20.0, static, edge, options)
    assert again.booster.model_to_string() == ranker.booster.model_to_string()
    assert again.company_booster.model_to_string() == ranker.company_booster.model_to_string()


def test_fitting_windows_skip_earlier_windows_without_positives():
    events, *_ = _two_signal_events(2)
    windows = fitting_windows(events, 10.0, 20.0, n_windows=5)
    assert [(w.t_start, w.t_end) for w in windows] == [(10.0, 20.0), (0.0, 10.0)]


def test_fitting_windows_step_back_a_share_of_the_window_length():
    events, *_ = _two_signal_events(2)
    windows = fitting_windows(events, 10.0, 20.0, n_windows=3, step=0.5)
    assert [(w.t_start, w.t_end) for w in windows] == [(10.0, 20.0), (5.0, 15.0), (0.0, 10.0)]


def test_fusion_options_name_the_bad_setting():
    with pytest.raises(ConfigError, match="fusion_windows"):
        FusionOptions(fusion_windows=0)
    with pytest.raises(ConfigError, match="fusion_window_step"):
        FusionOptions(fusion_window_step=0.0)
    with pytest.raises(ConfigError, match="fusion_learning_rate"):
        FusionOptions(fusion_learning_rate=0.0)


def test_saved_fusion_reloads_with_the_same_predictions(tmp_path):
    import lightgbm

    events, *_ = _two_signal_events(3)
    static = np.zeros((101, 1))
    edge = np.zeros((len(events) + 1, 1))
    ranker = fit_fusion(events, 10.0, 20.0, static, edge, FusionOptions(fusion_windows=1, fusion_trees=5, fusion_min_leaf=5))
    path = tmp_path / "fusion.lgb.txt"
    ranker.save(path)
    rows = np.random.default_rng(0).random((10, len(ranker.feature_names)))
    reloaded = lightgbm.Booster(model_file=str(path))
    np.testing.assert_allclose(reloaded.predict(rows), ranker.booster.predict(rows))
    assert company_model_path(path) == tmp_path / "fusion.companies.lgb.txt"
    companies = np.random.default_rng(1).random((10, len(ranker.company_feature_names)))
    reloaded = lightgbm.Booster(model_file=str(company_model_path(path)))
    np.testing.assert_allclose(reloaded.predict(companies), ranker.company_booster.predict(companies))


def test_fused_pair_scores_equal_the_block_scores_in_any_order():
    events, *_ = _two_signal_events(4)
    static = np.zeros((101, 1))
    edge = np.zeros((len(events) + 1, 1))
    ranker = fit_fusion(events, 10.0, 20.0, static, edge, FusionOptions(fusion_windows=1, fusion_trees=5, fusion_min_leaf=5))
    test = build_candidates(events, 20.0, 30.0)
    scorer = ranker.scorer(test, static, edge)
    block = scorer.score_block(0, test.n_companies)
    rng = np.random.default_rng(0)
    rows = rng.integers(0, test.n_companies, 50)
    cols = rng.integers(0, test.n_investors, 50)
    np.testing.assert_allclose(scorer.score_pairs(rows, cols), block[rows, cols], rtol=1e-6)


def test_rows_scored_for_the_positives_are_read_back_by_the_blocks_not_scored_twice():
    events, *_ = _two_signal_events(5)
    static, edge = np.zeros((101, 1)), np.zeros((len(events) + 1, 1))
    options = FusionOptions(fusion_windows=1, fusion_negatives=30, fusion_trees=10, fusion_min_leaf=5)
    ranker = fit_fusion(events, 10.0, 20.0, static, edge, options)
    test = build_candidates(events, 20.0, 30.0)

    class BlocksOnly:  # the ranking then reads the positives' scores from the blocks
        def __init__(self, scorer):
            self.score_block = scorer.score_block

    expected = rank_candidates(test, BlocksOnly(ranker.scorer(test, static, edge)))
    scorer = ranker.scorer(test, static, edge)
    predict, predicted_rows = scorer.ranker.booster.predict, []
    scorer.ranker.booster.predict = lambda rows: predicted_rows.append(len(rows)) or predict(rows)
    ranking = rank_candidates(test, scorer)
    assert sum(predicted_rows) == test.n_companies * test.n_investors
    for name in ("greater", "tied", "filtered_greater", "filtered_tied"):
        np.testing.assert_array_equal(getattr(ranking.ranks, name), getattr(expected.ranks, name))
    for name in ("rows", "cols", "scores"):
        np.testing.assert_array_equal(getattr(ranking.top, name), getattr(expected.top, name))


def test_a_fit_reports_every_company_of_each_window_in_turn():
    events, *_ = _two_signal_events(5)
    static, edge = np.zeros((101, 1)), np.zeros((len(events) + 1, 1))
    options = FusionOptions(fusion_windows=2, fusion_window_step=1.0, fusion_negatives=30, fusion_trees=5,
                            fusion_min_leaf=5)
    calls = []
    fit_fusion(events, 10.0, 20.0, static, edge, options, progress=lambda *call: calls.append(call))
    stages = list(dict.fromkeys(stage for stage, _, _ in calls))
    assert stages == [f"{FITTING_STAGE} (window 1 of 2)", f"{FITTING_STAGE} (window 2 of 2)"]
    for stage in stages:
        done = [(count, total) for name, count, total in calls if name == stage]
        assert done[-1][0] == done[-1][1] > 0 and [count for count, _ in done] == sorted(count for count, _ in done)


def test_the_last_event_of_each_group_breaks_ties_by_event_order():
    timestamps = np.array([1.0, 5.0, 5.0, 2.0, 0.0])
    groups = np.array([0, 0, 0, 2, 2])
    assert _last_event_of_group(timestamps, groups, 4).tolist() == [2, 0, 3, 0]


def test_company_rates_spread_each_company_s_expected_links_and_keep_its_order():
    from scipy.special import logsumexp

    events, *_ = _two_signal_events(5)
    static = np.zeros((101, 1))
    edge = np.zeros((len(events) + 1, 1))
    options = FusionOptions(fusion_windows=2, fusion_window_step=1.0, fusion_negatives=30, fusion_trees=10,
                            fusion_min_leaf=5)
    within = fit_fusion(events, 10.0, 20.0, static, edge, dataclasses.replace(options, fusion_company_rates=False))
    across = fit_fusion(events, 10.0, 20.0, static, edge, options)
    assert within.company_booster is None and across.booster.model_to_string() == within.booster.model_to_string()
    test = build_candidates(events, 20.0, 30.0)
    plain, rated = within.scorer(test, static, edge), across.scorer(test, static, edge)
    plain_scores, rated_scores = plain.score_block(0, test.n_companies), rated.score_block(0, test.n_companies)
    is_candidate = test.block_mask(0, test.n_companies)
    # exp(score) summed over a company's candidates is its expected number of new links ...
    totals = logsumexp(np.where(is_candidate, rated_scores, -np.inf), axis=1)
    np.testing.assert_allclose(totals, rated.log_rates, rtol=1e-6)
    # ... and within a company the scores move by one constant, so its order (MRR) is the lambdarank one.
    shift = np.where(is_candidate, rated_scores - plain_scores, np.nan)
    np.testing.assert_allclose(np.nanmax(shift, axis=1), np.nanmin(shift, axis=1), atol=1e-9)
    plain_metrics = ranking_metrics(rank_candidates(test, plain).ranks)
    rated_metrics = ranking_metrics(rank_candidates(test, rated).ranks)
    assert rated_metrics["mrr"] == pytest.approx(plain_metrics["mrr"])
    assert set(across.summary()["company_importances"]) == set(across.company_feature_names)


def test_a_bagged_fusion_is_the_unbagged_one_plus_other_draws():
    events, *_ = _two_signal_events(0)
    static, edge = np.zeros((101, 1)), np.zeros((len(events) + 1, 1))
    small = dict(fusion_windows=2, fusion_window_step=1.0, fusion_negatives=20, fusion_trees=10, fusion_min_leaf=5)
    single = fit_fusion(events, 10.0, 20.0, static, edge, FusionOptions(fusion_bags=1, **small))
    bagged = fit_fusion(events, 10.0, 20.0, static, edge, FusionOptions(fusion_bags=3, **small))
    again = fit_fusion(events, 10.0, 20.0, static, edge, FusionOptions(fusion_bags=3, **small))
    assert bagged.booster.num_trees() == 3 * single.booster.num_trees()
    assert bagged.booster.model_to_string() == again.booster.model_to_string()
    # Bag 0 is the unbagged fusion: its trees, scaled by 1/3, open the bagged model.
    first_tree = single.booster.dump_model()["tree_info"][0]["tree_structure"]
    bagged_first = bagged.booster.dump_model()["tree_info"][0]["tree_structure"]
    assert bagged_first["split_feature"] == first_tree["split_feature"]
    assert bagged_first["threshold"] == pytest.approx(first_tree["threshold"])
