"""AP/AUC of the per-epoch link-prediction validation, against scikit-learn's definitions."""

from __future__ import annotations

import numpy as np
import pytest

from tgnrank.train.evaluation import average_precision_and_auc


def test_average_precision_and_auc_by_hand():
    # ranked: 0.9 (+), 0.8 (-), 0.7 (+), 0.1 (-): AP = 1/2 * 1 + 1/2 * 2/3; AUC = 3 of 4 pairs in order
    ap, auc = average_precision_and_auc(np.array([1, 0, 1, 0]), np.array([0.9, 0.8, 0.7, 0.1]))
    assert ap == pytest.approx(0.5 + 1 / 3) and auc == pytest.approx(0.75)


def test_tied_scores_count_as_one_threshold():
    # all tied: precision 1/2 at the only threshold, AUC of a constant scorer 1/2
    ap, auc = average_precision_and_auc(np.array([1, 0, 1, 0]), np.full(4, 0.3))
    assert (ap, auc) == (0.5, 0.5)


@pytest.mark.parametrize("seed", range(5))
def test_equal_to_scikit_learn_with_many_ties(seed):
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(seed)
    labels = np.r_[np.ones(200), np.zeros(200)]
    scores = np.round(rng.random(400), 2)  # about 100 distinct values: many ties across classes
    ap, auc = average_precision_and_auc(labels, scores)
    assert ap == pytest.approx(sklearn_metrics.average_precision_score(labels, scores), abs=1e-12)
    assert auc == pytest.approx(sklearn_metrics.roc_auc_score(labels, scores), abs=1e-12)
