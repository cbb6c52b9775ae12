"""The split quantiles of a diagnostic's window (tgnrank.eval.split_quantiles)."""

import pytest

from tgnrank.errors import ConfigError
from tgnrank.eval.split_quantiles import window_quantiles
from tgnrank.train.config import TrainConfig


def test_without_a_model_the_training_defaults_place_the_window():
    defaults = TrainConfig().dataset
    assert window_quantiles({}) == (defaults.train_quantile, defaults.val_quantile)


def test_the_models_quantiles_unless_given():
    configs = {"a.pth": TrainConfig(train_quantile=0.6, val_quantile=0.8)}
    assert window_quantiles(configs) == (0.6, 0.8)
    assert window_quantiles(configs, val_quantile=0.9) == (0.6, 0.9)


def test_models_that_disagree_need_the_value_given():
    configs = {"a.pth": TrainConfig(train_quantile=0.6), "b.pth": TrainConfig(train_quantile=0.65)}
    with pytest.raises(ConfigError, match=r"different train_quantile \(\[0.6, 0.65\]\); pass train_quantile") as error:
        window_quantiles(configs)
    assert error.value.parameters == ("train_quantile",)
    assert window_quantiles(configs, train_quantile=0.7)[0] == 0.7
