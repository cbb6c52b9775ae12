"""The new_companies and all scopes of the protocol on a tiny hand-built graph (docs/design.md,
"Brand-new companies")."""

import numpy as np
import pytest

from tgnrank.data.events import Interactions
from tgnrank.errors import ConfigError, TgnrankError
from tgnrank.eval.protocol import (
    build_candidates,
    build_new_company_candidates,
    build_scope_candidates,
    merge_candidates,
)


def make_events(rows):
    rows = np.array(rows, dtype=np.float64)
    return Interactions(
        sources=rows[:, 0].astype(np.int64),
        destinations=rows[:, 1].astype(np.int64),
        timestamps=rows[:, 2],
        edge_idxs=np.arange(1, len(rows) + 1),
        labels=np.zeros(len(rows)),
    )


# Companies 1..5, investors 6..10. History H = events with t <= 10.
HISTORY = [(1, 6, 1), (1, 7, 2), (2, 6, 3), (2, 8, 5), (2, 6, 10)]
WINDOW = [
    (3, 6, 11),  # company 3 has no event in H: a first link to a known investor
    (3, 6, 12),  # the same pair again: one positive
    (3, 7, 13),  # positive
    (3, 9, 14),  # investor 9 is absent from H: excluded
    (4, 9, 15),  # company 4's only link in the window is to an unseen investor: not a candidate
    (1, 8, 16),  # a known company's new link: the known scope's positive
    (5, 8, 20),  # positive, at exactly t_end
]
AFTER = [(4, 6, 25), (3, 8, 30)]  # beyond t_end


def events():
    return make_events(HISTORY + WINDOW + AFTER)


def test_new_companies_candidates_and_positives():
    candidates = build_new_company_candidates(events(), 10.0, 20.0, window="test")
    np.testing.assert_array_equal(candidates.companies, [3, 5])
    np.testing.assert_array_equal(candidates.investors, [6, 7, 8])
    assert list(zip(candidates.positive_companies.tolist(), candidates.positive_investors.tolist())) == [
        (3, 6), (3, 7), (5, 8)
    ]
    assert candidates.history_links.nnz == 0 and candidates.n_candidates == 6
    np.testing.assert_array_equal(candidates.candidates_per_company(), [3, 3])
    assert len(candidates.history) == len(HISTORY)


def test_a_company_with_an_event_at_the_window_start_is_known():
    candidates = build_new_company_candidates(make_events(HISTORY + [(3, 6, 10), *WINDOW]), 10.0, 20.0)
    np.testing.assert_array_equal(candidates.companies, [5])


def test_all_is_the_union_of_both_grids():
    parts = build_scope_candidates(events(), 10.0, 20.0, scope="all", window="test")
    assert list(parts) == ["known", "new_companies", "all"]
    union = parts["all"]
    np.testing.assert_array_equal(union.companies, [1, 3, 5])
    assert list(zip(union.positive_rows.tolist(), union.positive_cols.tolist())) == [(0, 2), (1, 0), (1, 1), (2, 2)]
    np.testing.assert_array_equal(union.history_links.toarray(), [[1, 1, 0], [0, 0, 0], [0, 0, 0]])
    assert union.n_candidates == parts["known"].n_candidates + parts["new_companies"].n_candidates == 7
    known = build_candidates(events(), 10.0, 20.0)
    np.testing.assert_array_equal(parts["known"].companies, known.companies)


def test_known_scope_is_todays_protocol_and_bad_scopes_are_refused():
    parts = build_scope_candidates(events(), 10.0, 20.0)
    known = build_candidates(events(), 10.0, 20.0)
    assert list(parts) == ["known"] and parts["known"].summary() == known.summary()
    with pytest.raises(ConfigError, match="scope must be one of known, new_companies, all"):
        build_scope_candidates(events(), 10.0, 20.0, scope="new")


def test_a_window_without_brand_new_companies_fails_clearly():
    with pytest.raises(TgnrankError, match="no brand-new company"):
        build_new_company_candidates(make_events(HISTORY + [(1, 8, 16), (4, 9, 15)]), 10.0, 20.0)


def test_merge_refuses_overlapping_companies():
    new = build_new_company_candidates(events(), 10.0, 20.0)
    with pytest.raises(ValueError, match="without a company in common"):
        merge_candidates(new, new)
