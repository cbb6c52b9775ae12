"""The funding rounds of every company, planned wave by wave (the k-th round of every company at once),
with the coarse dates of real exports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tgnrank.data.synthetic.latents import Companies
from tgnrank.data.synthetic.parameters import (
    AMOUNT_MISSING_SHARE,
    AMOUNT_NOISE,
    AMOUNT_QUALITY,
    BRIDGE_ROUND_SHARE,
    CONTINUE_BIAS,
    CONTINUE_QUALITY,
    CONTINUE_STAGE,
    END_DAY,
    FIRST_ROUND_DELAY_DAYS,
    FIRST_STAGE_SHARE,
    MAX_ROUNDS,
    MONTH_ONLY_SHARE,
    ROUND_INTERVAL_DAYS,
    ROUND_INTERVAL_SHAPE,
    STAGES,
    STAGE_LOG_AMOUNT,
    YEAR_ONLY_SHARE,
)


@dataclass(frozen=True)
class Rounds:
    """Funding rounds, each array of shape (R,), stored wave by wave (``wave_bounds`` has n_waves + 1 entries)."""

    company: np.ndarray
    stage: np.ndarray
    day: np.ndarray
    observed_day: np.ndarray
    amount: np.ndarray
    amount_missing: np.ndarray
    wave_bounds: np.ndarray


def plan_rounds(rng: np.random.Generator, companies: Companies) -> Rounds:
    """Successive rounds of every company, wave by wave, until it stops or the window closes."""
    n = len(companies.sector)
    alive = np.arange(n)
    stage = rng.choice(len(FIRST_STAGE_SHARE), size=n, p=FIRST_STAGE_SHARE)
    day = np.floor(companies.founded + rng.gamma(1.5, FIRST_ROUND_DELAY_DAYS / 1.5, size=n))
    last_observed = np.full(n, -np.inf)
    parts: dict[str, list[np.ndarray]] = {key: [] for key in ("company", "stage", "day", "observed_day")}
    for _ in range(MAX_ROUNDS):
        open_window = day <= END_DAY
        alive, stage, day = alive[open_window], stage[open_window], day[open_window]
        if len(alive) == 0:
            break
        coarse = _coarsen_dates(rng, day)
        # A coarse date must not reach back to the previous round (which would merge two syndicates);
        # the exact day always lies after it.
        observed = np.where(coarse > last_observed[alive], coarse, day)
        last_observed[alive] = observed
        for key, value in (("company", alive), ("stage", stage), ("day", day), ("observed_day", observed)):
            parts[key].append(value)
        logit = CONTINUE_BIAS + CONTINUE_QUALITY * companies.quality[alive] - CONTINUE_STAGE * stage
        survives = rng.random(len(alive)) < 1.0 / (1.0 + np.exp(-logit))
        advances = rng.random(len(alive)) >= BRIDGE_ROUND_SHARE
        next_stage = np.minimum(stage + advances, len(STAGES) - 1)
        next_day = day + np.floor(
            rng.gamma(ROUND_INTERVAL_SHAPE, ROUND_INTERVAL_DAYS / ROUND_INTERVAL_SHAPE, size=len(alive))
        ) + 1
        alive, stage, day = alive[survives], next_stage[survives], next_day[survives]

    company = concatenate(parts["company"], np.int64)
    stage = concatenate(parts["stage"], np.int64)
    n_rounds = len(company)
    log_amount = (
        STAGE_LOG_AMOUNT[stage]
        + AMOUNT_QUALITY * companies.quality[company]
        + AMOUNT_NOISE * rng.standard_normal(n_rounds)
    )
    return Rounds(
        company=company,
        stage=stage,
        day=concatenate(parts["day"], np.float64),
        observed_day=concatenate(parts["observed_day"], np.float64),
        amount=np.round(np.exp(log_amount), -3),
        amount_missing=rng.random(n_rounds) < AMOUNT_MISSING_SHARE,
        wave_bounds=np.cumsum([0] + [len(part) for part in parts["company"]]),
    )


def concatenate(parts: list[np.ndarray], dtype) -> np.ndarray:
    """Concatenation that also accepts no parts at all (tiny populations may raise no round)."""
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)


def _coarsen_dates(rng: np.random.Generator, day: np.ndarray) -> np.ndarray:
    """Replace a share of days by the first day of their month or of their year."""
    dates = day.astype(np.int64).astype("datetime64[D]")
    month_start = dates.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    year_start = dates.astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    precision = rng.random(len(day))
    coarse = np.where(precision < YEAR_ONLY_SHARE, year_start, month_start)
    return np.where(precision < YEAR_ONLY_SHARE + MONTH_ONLY_SHARE, coarse, day).astype(np.float64)
