"""The split quantiles that place a diagnostic's window, from what was asked and what the models were trained on."""

from __future__ import annotations

from typing import Mapping

from tgnrank.errors import ConfigError
from tgnrank.train.config import TrainConfig

NAMES = ("train_quantile", "val_quantile")


def window_quantiles(
    configs: Mapping[str, TrainConfig],
    train_quantile: float | None = None,
    val_quantile: float | None = None,
) -> tuple[float, float]:
    """(train, val) quantiles: each one given, else the one every model in ``configs`` (checkpoint ->
    its TrainConfig) was trained with, else the training default (no model).

    Models trained with different values make a given value necessary: ConfigError naming it.
    """
    quantiles = []
    for name, given in zip(NAMES, (train_quantile, val_quantile)):
        values = {getattr(config.dataset, name) for config in configs.values()} or {getattr(TrainConfig().dataset, name)}
        if given is None and len(values) > 1:
            raise ConfigError(f"the checkpoints were trained with different {name} ({sorted(values)}); "
                              f"pass {name} to choose the window", (name,))
        quantiles.append(given if given is not None else values.pop())
    return quantiles[0], quantiles[1]
