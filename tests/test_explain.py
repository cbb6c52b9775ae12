"""Explanations: evidence counted by hand on a tiny graph, read only from the history, every cited deal real."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tgnrank.data.events import COMPANY, INVESTOR, EventData, Interactions
from tgnrank.data.feature_schema import FeatureSchema
from tgnrank.eval.explain import explain_recommendations, explanation_json
from tgnrank.eval.explain_evidence import pair_evidence
from tgnrank.eval.explain_history import HistoryIndex
from tgnrank.eval.recommend import Recommendation, Recommendations

C1, C2, C3, C4 = 1, 2, 3, 4
A, B, X, Y = 5, 6, 7, 8
AT = 45.0
# (company, investor, day, stage): C1's past investors are A and B; X co-invested with A (C2, C3) and
# with B (C3, C4); Y's deal in C3 on day 50 is after AT.
EVENTS = [
    (C2, A, 5.0, "seed"), (C2, X, 5.0, "seed"),
    (C1, A, 10.0, "seed"),
    (C3, A, 12.0, "a"), (C3, B, 12.0, "a"),
    (C3, X, 15.0, "a"),
    (C1, B, 20.0, "a"),
    (C2, X, 30.0, "a"),
    (C4, B, 40.0, "seed"), (C4, X, 40.0, "seed"),
    (C4, Y, 41.0, "seed"),
    (C3, Y, 50.0, "a"),
]
STATIC_NAMES = ("is_company", "company:category=software", "company:category=health", "investor:category=software")
EDGE_NAMES = ("log1p_amount", "stage=seed", "stage=a")


def tiny_data(events=EVENTS) -> EventData:
    events = sorted(events, key=lambda row: row[2])
    n = len(events)
    interactions = Interactions(
        np.array([e[0] for e in events]), np.array([e[1] for e in events]),
        np.array([e[2] for e in events], dtype=np.float64), np.arange(1, n + 1), np.zeros(n),
    )
    edge = np.zeros((n + 1, len(EDGE_NAMES)), dtype=np.float32)
    edge[np.arange(1, n + 1), [EDGE_NAMES.index(f"stage={e[3]}") for e in events]] = 1.0
    static = np.zeros((9, len(STATIC_NAMES)), dtype=np.float32)
    static[1:5, 0] = 1.0
    static[[C1, C2, C4], 1] = 1.0
    static[[C3, C4], 2] = 1.0
    static[[A, X], 3] = 1.0
    names = np.array(["", "C1", "C2", "C3", "C4", "A", "B", "X", "Y"], dtype=object)
    kinds = np.array([""] + [COMPANY] * 4 + [INVESTOR] * 4, dtype=object)
    return EventData("tiny", interactions, edge, static, names, kinds, FeatureSchema(STATIC_NAMES, EDGE_NAMES, ()))


def deal(evidence_deal) -> tuple:
    return (evidence_deal.company, evidence_deal.investor, evidence_deal.day)


def test_coinvestors_counted_by_hand():
    evidence = pair_evidence(HistoryIndex.build(tiny_data(), AT), C1, X)
    assert evidence.n_coinvestors == 2 and evidence.n_paths == 4
    first, second = evidence.coinvestors
    # Both share two companies and one joint round with X; B's latest shared deal (C4, day 40) is the later.
    assert (first.partner, first.n_shared_companies, first.n_joint_rounds) == ("B", 2, 1)
    assert (second.partner, second.n_shared_companies, second.n_joint_rounds) == ("A", 2, 1)
    assert deal(first.deal_in_company) == ("C1", "B", 20.0)
    assert [deal(d) for d in first.last_joint_round] == [("C4", "B", 40.0), ("C4", "X", 40.0)]
    assert [[deal(d) for d in pair] for pair in first.shared] == [
        [("C4", "B", 40.0), ("C4", "X", 40.0)], [("C3", "B", 12.0), ("C3", "X", 15.0)]
    ]
    assert [deal(d) for d in second.last_joint_round] == [("C2", "A", 5.0), ("C2", "X", 5.0)]
    assert [[deal(d) for d in pair] for pair in second.shared] == [
        [("C2", "A", 5.0), ("C2", "X", 30.0)], [("C3", "A", 12.0), ("C3", "X", 15.0)]
    ]


def test_a_partner_without_a_joint_round_and_a_future_deal_left_out():
    evidence = pair_evidence(HistoryIndex.build(tiny_data(), AT), C1, Y)
    # Y's deal in C3 is on day 50, after AT: only C4 (B on day 40, Y on day 41, not the same round).
    assert evidence.n_coinvestors == 1 and evidence.n_paths == 1
    (partner,) = evidence.coinvestors
    assert (partner.partner, partner.n_shared_companies, partner.n_joint_rounds) == ("B", 1, 0)
    assert partner.last_joint_round == []


def test_three_hop_paths_weighted_by_hand():
    evidence = pair_evidence(HistoryIndex.build(tiny_data(), AT), C1, X)
    # deg C1 = 2, deg A = deg B = 3 companies, deg C2 = 2, deg C3 = deg C4 = 3 investors by day 45.
    walks = sorted((p.walk_probability for p in evidence.paths), reverse=True)
    np.testing.assert_allclose(walks, [1 / 12, 1 / 18, 1 / 18, 1 / 18])
    top = evidence.paths[0]
    assert (top.partner, top.via) == ("A", "C2")
    assert [deal(d) for d in top.deals] == [("C1", "A", 10.0), ("C2", "A", 5.0), ("C2", "X", 30.0)]
    decay = lambda day: 0.5 ** ((AT - day) / 365.0)  # noqa: E731
    assert top.decayed_weight == pytest.approx(decay(10) * decay(5) * (decay(5) + decay(30)))


def test_activity_by_scope_by_hand():
    evidence = pair_evidence(HistoryIndex.build(tiny_data(), AT), C1, X)
    by_scope = {scope.scope: scope for scope in evidence.activity}
    # X's deals: C2 (days 5, 30), C3 (15), C4 (40), all within a year, over less than a year (rate / 1 year).
    assert (by_scope["all"].deals_last_12_months, by_scope["all"].deals_total) == (4, 4)
    assert by_scope["all"].long_run_per_year == pytest.approx(4.0)
    assert [deal(d) for d in by_scope["all"].recent_deals] == [("C4", "X", 40.0), ("C2", "X", 30.0), ("C3", "X", 15.0)]
    # C1 is software: C2 and C4 are too, C3 is not.
    assert by_scope["category"].deals_total == 3 and "software" in by_scope["category"].description
    # C1's latest round (B, day 20) is at stage a: X's deals at C3 (15) and C2 (30).
    assert by_scope["stage"].deals_total == 2 and "(a)" in by_scope["stage"].description


def test_similar_deals_by_static_features():
    evidence = pair_evidence(HistoryIndex.build(tiny_data(), AT), C1, X)
    # C1 = (company, software): C2 identical, C4 (company, software, health) 2 / sqrt(6), C3 1 / 2.
    assert [s.deal.company for s in evidence.similar_deals] == ["C2", "C4", "C3"]
    np.testing.assert_allclose([s.similarity for s in evidence.similar_deals], [1.0, 2 / np.sqrt(6), 0.5], rtol=1e-6)
    assert [s.shared_categories for s in evidence.similar_deals] == [["software"], ["software"], []]
    assert deal(evidence.similar_deals[0].deal) == ("C2", "X", 30.0)


def _recommendations(data, company, investors, at) -> Recommendations:
    items = [
        Recommendation(rank=k + 1, investor_id=int(node), investor=str(data.node_names[node]), score=-float(k),
                       percentile=50.0, invested_later=False)
        for k, node in enumerate(investors)
    ]
    return Recommendations(int(company), str(data.node_names[company]), float(at), 0, [], len(items), 0, items)


def test_explanations_read_nothing_after_the_recommendation_time():
    data = tiny_data()
    recommendations = _recommendations(data, C1, [X, Y], AT)
    before = [explanation_json(e) for e in explain_recommendations(recommendations, data)]
    future = [e for e in EVENTS if e[2] <= AT] + [
        (C1, X, 46.0, "seed"), (C2, Y, 47.0, "a"), (C3, X, 60.0, "seed"), (C4, A, 70.0, "a"), (C1, Y, 80.0, "a"),
    ]
    after = [explanation_json(e) for e in explain_recommendations(recommendations, tiny_data(future))]
    assert after == before


def check_cited_deals(data: EventData, explanations, at: float) -> int:
    """Assert every cited deal is an event of ``data`` on or before ``at``, names matching; return how many."""
    events = data.events
    seen = events.timestamps <= at
    keys = set(zip(events.sources[seen].tolist(), events.destinations[seen].tolist(), events.timestamps[seen].tolist()))
    n = 0
    for explanation in explanations:
        for cited in explanation.cited_deals():
            assert (cited.company_id, cited.investor_id, cited.day) in keys, cited
            assert cited.company == data.node_names[cited.company_id]
            assert cited.investor == data.node_names[cited.investor_id]
            assert cited.day <= at
            n += 1
    return n


def test_every_cited_deal_of_the_tiny_graph_is_in_the_history():
    data = tiny_data()
    explanations = explain_recommendations(_recommendations(data, C1, [X, Y], AT), data)
    assert check_cited_deals(data, explanations, AT) > 10


def test_deals_on_the_recommendation_day_are_history():
    # The model replays every event with t <= at, so the explanation cites those of day `at` too.
    evidence = pair_evidence(HistoryIndex.build(tiny_data(), 40.0), C1, X)
    partner = next(p for p in evidence.coinvestors if p.partner == "B")
    assert [deal(d) for d in partner.last_joint_round] == [("C4", "B", 40.0), ("C4", "X", 40.0)]
    earlier = pair_evidence(HistoryIndex.build(tiny_data(), 39.0), C1, X)
    assert {d.day for d in earlier.cited_deals()} <= set(day for _, _, day, _ in EVENTS if day <= 39.0)
    assert next(p for p in earlier.coinvestors if p.partner == "B").n_shared_companies == 1
