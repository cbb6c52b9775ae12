"""Which window the fusion is fitted on (tgnrank.eval.fusion_window), on a small synthetic dataset."""

import numpy as np
import pytest

from tgnrank.data.synthetic import generate_synthetic
from tgnrank.eval.fusion import FusionOptions
from tgnrank.eval.fusion_window import fitting_bounds, fused_scorer
from tgnrank.eval.protocol import build_window, window_bounds

QUANTILES = (0.7, 0.85)
FAST = FusionOptions(fusion_trees=5, fusion_negatives=20, fusion_min_leaf=5, fusion_windows=2)


@pytest.fixture(scope="module")
def data():
    return generate_synthetic(n_companies=200, n_investors=80, seed=1, name="small")


def test_the_test_window_is_fitted_on_the_validation_window(data):
    test = build_window(data.events, "test", *QUANTILES)
    assert fitting_bounds(data, test, QUANTILES) == window_bounds(data.events, "val", *QUANTILES)


def test_another_window_is_fitted_on_the_window_of_its_length_just_before(data):
    val = build_window(data.events, "val", *QUANTILES)
    start, end = fitting_bounds(data, val, QUANTILES)
    assert end == val.t_start and end - start == pytest.approx(val.t_end - val.t_start)


def test_a_model_is_scored_on_the_latest_fitting_window_only_and_every_window_is_fitted(data):
    test = build_window(data.events, "test", *QUANTILES)
    built = []

    def factory(window):
        built.append(window.t_end)
        return Constant(window)

    _, ranker = fused_scorer(data, test, QUANTILES, FAST, Constant(test), "m", factory)
    _, alone = fused_scorer(data, test, QUANTILES, FAST)
    fitted_ends = [window["t_end"] for window in ranker.summary()["windows"]]
    assert fitted_ends == [window["t_end"] for window in alone.summary()["windows"]]
    assert len(fitted_ends) == 2 and fitted_ends[0] == test.t_start
    assert built == [test.t_start] and "m_score" in ranker.summary()["importances"]


def test_a_model_scorer_without_its_factory_is_refused(data):
    test = build_window(data.events, "test", *QUANTILES)
    with pytest.raises(ValueError, match="scorer_factory"):
        fused_scorer(data, test, QUANTILES, FAST, Constant(test), "m")


class Constant:
    """A scorer giving every pair of ``candidates``' grid the same logit."""

    def __init__(self, candidates):
        self.n_investors = candidates.n_investors

    def score_block(self, row_start, row_stop):
        return np.zeros((row_stop - row_start, self.n_investors), dtype=np.float32)

    def score_pairs(self, rows, cols):
        return np.zeros(len(rows), dtype=np.float32)
