"""The temporal validation protocol on a tiny hand-built graph (the definitions of docs/design.md)."""

import numpy as np
import pytest

from tgnrank.data.events import Interactions
from tgnrank.errors import ConfigError, TgnrankError
from tgnrank.eval.protocol import build_candidates, build_window, window_bounds


def make_events(rows):
    rows = np.array(rows, dtype=np.float64)
    return Interactions(
        sources=rows[:, 0].astype(np.int64),
        destinations=rows[:, 1].astype(np.int64),
        timestamps=rows[:, 2],
        edge_idxs=np.arange(1, len(rows) + 1),
        labels=np.zeros(len(rows)),
    )


# Companies 1..4, investors 5..9. History H = events with t <= 10 (the event at t = 10 included).
HISTORY = [(1, 5, 1), (1, 6, 2), (2, 5, 3), (2, 7, 4), (4, 8, 5), (4, 5, 10)]
WINDOW = [
    (1, 5, 12),  # repeats a pair of H: not a positive
    (1, 7, 13),  # positive
    (1, 7, 14),  # the same pair again: one positive
    (2, 6, 15),  # positive
    (3, 5, 16),  # company 3 is absent from H
    (2, 9, 17),  # investor 9 is absent from H
    (4, 5, 18),  # repeats the pair of H at exactly t_start
    (4, 6, 20),  # positive, at exactly t_end
]
AFTER = [(1, 8, 25), (3, 6, 26)]  # beyond t_end


def tiny_candidates():
    return build_candidates(make_events(HISTORY + WINDOW + AFTER), 10.0, 20.0, window="test")


def test_positives_are_new_pairs_between_known_nodes():
    candidates = tiny_candidates()
    pairs = set(zip(candidates.positive_companies.tolist(), candidates.positive_investors.tolist()))
    assert pairs == {(1, 7), (2, 6), (4, 6)}
    assert candidates.n_positives == 3


def test_candidates_are_positive_companies_times_history_investors_minus_history_links():
    candidates = tiny_candidates()
    assert candidates.companies.tolist() == [1, 2, 4]
    assert candidates.investors.tolist() == [5, 6, 7, 8]
    grid = candidates.block_mask(0, candidates.n_companies)
    listed = {
        (int(candidates.companies[r]), int(candidates.investors[c])) for r, c in zip(*np.nonzero(grid))
    }
    # Company 1 is linked in H to 5 and 6, company 2 to 5 and 7, company 4 to 8 and 5.
    assert listed == {(1, 7), (1, 8), (2, 6), (2, 8), (4, 6), (4, 7)}
    assert candidates.n_candidates == 6
    assert candidates.candidates_per_company().tolist() == [2, 2, 2]
    assert candidates.positives_per_company().tolist() == [1, 1, 1]
    assert len(candidates.history) == len(HISTORY)
    summary = candidates.summary()
    assert (summary["n_positives"], summary["n_candidate_companies"], summary["n_candidate_investors"]) == (3, 3, 4)


def test_blocks_cover_rows_and_locate_their_positives():
    candidates = tiny_candidates()
    assert list(candidates.row_blocks(2)) == [(0, 2), (2, 3)]
    block = candidates.block_positives(0, 2)
    assert candidates.positive_rows[block].tolist() == [0, 1]
    np.testing.assert_array_equal(candidates.block_mask(1, 3), candidates.block_mask(0, 3)[1:])


def test_a_window_without_positives_fails_with_a_clear_message():
    events = make_events(HISTORY + [(1, 5, 12), (3, 5, 16), (2, 9, 17)])
    with pytest.raises(TgnrankError, match=r"no positive pair.*3 event\(s\).*1 already occurred"):
        build_candidates(events, 10.0, 20.0, window="val")


def test_window_bounds_follow_the_chronological_split():
    events = make_events([(1, 5, t) for t in range(1, 101)])
    val_start, val_end = window_bounds(events, "val")
    test_start, test_end = window_bounds(events, "test")
    assert (val_start, val_end) == pytest.approx(tuple(np.quantile(np.arange(1, 101), [0.70, 0.85])))
    assert test_start == val_end and test_end == 100.0
    assert window_bounds(events, "val", 0.5, 0.6) == pytest.approx(tuple(np.quantile(np.arange(1, 101), [0.5, 0.6])))


def test_invalid_window_settings_name_the_flag():
    events = make_events(HISTORY + WINDOW)
    with pytest.raises(ConfigError, match="window must be one of") as error:
        build_window(events, window="train")
    assert error.value.parameters == ("window",)  # the command line spells it --window
    with pytest.raises(ConfigError, match="quantiles"):
        build_window(events, "test", 0.9, 0.8)


def test_build_window_uses_the_named_window():
    events = make_events(HISTORY + WINDOW + AFTER)
    candidates = build_window(events, "test", train_quantile=0.3, val_quantile=0.4)
    t_start, t_end = window_bounds(events, "test", 0.3, 0.4)
    assert (candidates.t_start, candidates.t_end, candidates.window) == (t_start, t_end, "test")
    assert np.all(candidates.history.timestamps <= t_start)
