"""Calibration on the validation window: the sample of candidates and the isotonic map, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from tgnrank.data.events import Interactions
from tgnrank.errors import ConfigError
from tgnrank.eval.calibration import Calibration, fit_isotonic, validation_sample
from tgnrank.eval.protocol import build_candidates


def hand_window():
    """History (t=1): 0-10, 1-13, 2-11, 2-12; window (1, 2]: 0-11, 1-12 (the positives).

    Grid rows companies (0, 1), columns investors (10, 11, 12, 13); history links (0, 10) and (1, 13);
    negatives (0, 12), (0, 13), (1, 10), (1, 11).
    """
    sources = np.array([0, 1, 2, 2, 0, 1])
    destinations = np.array([10, 13, 11, 12, 11, 12])
    timestamps = np.array([1.0, 1, 1, 1, 2, 2])
    events = Interactions(sources, destinations, timestamps, np.arange(6), np.zeros(6))
    return build_candidates(events, 1.0, 2.0, window="val")


class GridScorer:
    """Cell (row r, column j) scores 10 r + j, so each sampled score names its cell."""

    def score_block(self, row_start, row_stop):
        return 10.0 * np.arange(row_start, row_stop)[:, None] + np.arange(4)[None, :]


def test_every_positive_and_every_negative_when_the_sample_covers_them():
    scores, labels, weights = validation_sample(hand_window(), GridScorer(), n_negatives=100, seed=0)
    assert sorted(scores[labels == 1].tolist()) == [1.0, 12.0]  # (0, 11) and (1, 12)
    assert sorted(scores[labels == 0].tolist()) == [2.0, 3.0, 10.0, 11.0]  # never a history link (0, 13)
    np.testing.assert_array_equal(weights, np.ones(6))


def test_a_seeded_sample_of_negatives_is_reweighted_to_the_whole_grid():
    candidates = hand_window()
    first = validation_sample(candidates, GridScorer(), n_negatives=2, seed=3)
    again = validation_sample(candidates, GridScorer(), n_negatives=2, seed=3)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    scores, labels, weights = first
    assert sorted(scores[labels == 1].tolist()) == [1.0, 12.0]
    assert set(scores[labels == 0].tolist()) <= {2.0, 3.0, 10.0, 11.0}
    np.testing.assert_allclose(weights[labels == 0], 4 / 2)  # rate 2 of 4 negatives
    np.testing.assert_allclose(weights[labels == 1], 1.0)
    with pytest.raises(ConfigError, match="calibration_negatives"):
        validation_sample(candidates, GridScorer(), n_negatives=0, seed=0)


def test_isotonic_map_uses_the_weights_and_clips():
    # at score 1: one positive against a negative weighing 3 -> 1/4; at score 2: positive only -> 1
    isotonic = fit_isotonic(np.array([0.0, 1.0, 1.0, 2.0]), np.array([0, 0, 1, 1]), np.array([1.0, 3.0, 1.0, 1.0]))
    calibration = Calibration(t_start=100.0, t_end=130.0, n_positives=2, n_negatives=2, n_sampled_negatives=2,
                              isotonic=isotonic)
    np.testing.assert_allclose(calibration(np.array([-5.0, 0.0, 1.0, 2.0, 9.0])), [0.0, 0.0, 0.25, 1.0, 1.0])
    assert calibration.field == "p_new_link_within_30_days"
    assert calibration.describe().startswith("p_new_link_within_30_days: isotonic calibration")
    assert "30 days" in calibration.describe()
