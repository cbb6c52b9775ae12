"""Curricula for the share of hard negatives: start with easy (random) negatives, end at the target share.

* ``none``: every epoch uses ``hard_neg_ratio``.
* ``linear``: epoch ``e`` (from 0) uses ``hard_neg_ratio * min(1, (e + 1) / curriculum_epochs)``, so the
  share climbs in equal steps and reaches ``hard_neg_ratio`` at epoch ``curriculum_epochs - 1``.

This module imports nothing heavy, so the training configuration can validate with it.
"""

from __future__ import annotations

import numbers

from tgnrank.errors import ConfigError

CURRICULA = ("none", "linear")
DEFAULT_CURRICULUM = "none"
DEFAULT_CURRICULUM_EPOCHS = 10


def validate_curriculum(curriculum: str, curriculum_epochs: int) -> None:
    """Raise :class:`ConfigError` naming the flag when the curriculum settings are out of range."""
    if curriculum not in CURRICULA:
        raise ConfigError(
            f"hard_neg_curriculum must be one of {', '.join(CURRICULA)}; got {curriculum!r}",
            parameters=("hard_neg_curriculum",),
        )
    integral = isinstance(curriculum_epochs, numbers.Integral) and not isinstance(curriculum_epochs, bool)
    if not integral or curriculum_epochs < 1:
        raise ConfigError(
            f"curriculum_epochs must be an integer >= 1, got {curriculum_epochs!r}",
            parameters=("curriculum_epochs",),
        )


def hard_ratio_at(epoch: int, final_ratio: float, curriculum: str = DEFAULT_CURRICULUM,
                  curriculum_epochs: int = DEFAULT_CURRICULUM_EPOCHS) -> float:
    """The share of hard negatives to use at ``epoch`` (0-based) under ``curriculum``."""
    validate_curriculum(curriculum, curriculum_epochs)
    if curriculum == "none":
        return float(final_ratio)
    return float(final_ratio) * min(1.0, (epoch + 1) / curriculum_epochs)
