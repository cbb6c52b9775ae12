"""Range checks of the negative samplers' settings, run where a sampler is built or its share changed.

The training configuration checks the same ranges for the command line; these checks are for library
users who build a sampler directly. Messages name the command-line flag, the accepted range and the value.
"""

from __future__ import annotations

import math
import numbers

from tgnrank.errors import ConfigError
from tgnrank.sampling.multihop import validate_multihop_params, validate_negative_shares


def validate_hard_negative_params(hard_neg_ratio: float, hard_neg_temperature: float, hard_neg_topk: int) -> None:
    """Raise :class:`ConfigError` naming the flag when a hard-negative setting is out of range."""
    if not (isinstance(hard_neg_ratio, numbers.Real) and 0.0 <= hard_neg_ratio <= 1.0):
        raise ConfigError(
            f"hard_neg_ratio must lie in [0, 1] (share of hard negatives), got {hard_neg_ratio}",
            parameters=("hard_neg_ratio",),
        )
    if not (isinstance(hard_neg_temperature, numbers.Real) and math.isfinite(hard_neg_temperature)
            and hard_neg_temperature > 0):
        raise ConfigError(
            f"hard_neg_temperature must be a finite number > 0, got {hard_neg_temperature}",
            parameters=("hard_neg_temperature",),
        )
    if isinstance(hard_neg_topk, bool) or not isinstance(hard_neg_topk, numbers.Integral) or hard_neg_topk < 1:
        raise ConfigError(f"hard_neg_topk must be an integer >= 1, got {hard_neg_topk}", parameters=("hard_neg_topk",))


def validate_n_neg(n_neg: int) -> None:
    """Raise :class:`ConfigError` unless ``n_neg`` (negatives per positive) is an integer >= 1."""
    if isinstance(n_neg, bool) or not isinstance(n_neg, numbers.Integral) or n_neg < 1:
        raise ConfigError(f"n_neg must be an integer >= 1 (negatives per positive), got {n_neg}", parameters=("n_neg",))


def validate_sampler_settings(
    hard_neg_ratio: float,
    hard_neg_temperature: float,
    hard_neg_topk: int,
    multihop_neg_ratio: float = 0.0,
    multihop_topk: int = 1,
) -> None:
    """Every range a hard (and multi-hop) sampler needs, and the rule that their shares sum to at most 1."""
    validate_hard_negative_params(hard_neg_ratio, hard_neg_temperature, hard_neg_topk)
    validate_multihop_params(multihop_neg_ratio, multihop_topk)
    validate_negative_shares(hard_neg_ratio, multihop_neg_ratio)
