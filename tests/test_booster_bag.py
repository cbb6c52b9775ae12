"""Averaged boosters: one LightGBM model whose predictions and contributions are the bags' mean."""

import numpy as np
import pytest

from tgnrank.eval.booster_bag import average_boosters
from tgnrank.eval.fusion import lightgbm_params, train_lambdarank


def _boosters(n: int):
    rng = np.random.default_rng(0)
    x = rng.random((600, 3)).astype(np.float32)
    y = (x[:, 0] + 0.3 * rng.random(600) > 0.7).astype(np.int32)
    groups = np.full(30, 20)
    boosters = [
        train_lambdarank(lightgbm_params("lambdarank", 0.1, 7, 5, seed), [x], [y], [groups], ("a", "b", "c"), 15)
        for seed in range(n)
    ]
    return boosters, x


def test_the_average_predicts_the_mean_and_its_contributions_add_up():
    import lightgbm

    boosters, x = _boosters(3)
    merged = average_boosters(boosters)
    mean = np.mean([booster.predict(x) for booster in boosters], axis=0)
    assert merged.num_trees() == sum(booster.num_trees() for booster in boosters)
    assert merged.predict(x) == pytest.approx(mean, abs=1e-12)
    contributions = merged.predict(x, pred_contrib=True)
    assert contributions.sum(axis=1) == pytest.approx(mean, abs=1e-12)
    reloaded = lightgbm.Booster(model_str=merged.model_to_string())
    assert reloaded.predict(x) == pytest.approx(mean, abs=1e-12)
    assert list(reloaded.feature_name()) == ["a", "b", "c"]


def test_one_booster_is_its_own_average():
    boosters, _ = _boosters(1)
    assert average_boosters(boosters) is boosters[0]
