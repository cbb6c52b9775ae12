"""Which edge columns hold a round's amount and its stage, found by name, for the stage-aware pair features.

A Crunchbase import names its edge columns ``log1p_amount``, ``amount_missing``, ``stage=seed``,
``stage=a``, ``stage=b``, ``stage=later``, ``round_type=...``; the synthetic generator ``round=seed`` ...
``round=growth``. The stage columns are read in their stored order, which both write from the earliest
stage to the latest, so "the next stage" of a round is the column after its own. A dataset whose edge
columns are unnamed (a plain TGN ``ml_`` dataset) has neither: the features that need them are missing
values, which the boosted trees route on their own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

AMOUNT_COLUMN = "log1p_amount"
AMOUNT_MISSING_COLUMN = "amount_missing"
# Ordered stage columns, by the first prefix that names any column (round_type= is not ordered).
STAGE_PREFIXES = ("stage=", "round=")


@dataclass(frozen=True)
class RoundColumns:
    """Indices of the amount, amount-missing and ordered stage columns (None / empty where absent)."""

    amount: int | None = None
    amount_missing: int | None = None
    stages: tuple[int, ...] = ()

    @classmethod
    def from_names(cls, edge_names) -> "RoundColumns":
        names = list(edge_names or ())
        stages: tuple[int, ...] = ()
        for prefix in STAGE_PREFIXES:
            stages = tuple(k for k, name in enumerate(names) if name.startswith(prefix))
            if stages:
                break
        return cls(
            amount=names.index(AMOUNT_COLUMN) if AMOUNT_COLUMN in names else None,
            amount_missing=names.index(AMOUNT_MISSING_COLUMN) if AMOUNT_MISSING_COLUMN in names else None,
            stages=stages,
        )

    def amounts(self, edge_rows: np.ndarray) -> np.ndarray:
        """(n,) the rounds' log amounts, NaN where unknown (no amount column, or flagged missing)."""
        if self.amount is None:
            return np.full(len(edge_rows), np.nan)
        amounts = np.asarray(edge_rows[:, self.amount], dtype=np.float64).copy()
        if self.amount_missing is not None:
            amounts[edge_rows[:, self.amount_missing] > 0.5] = np.nan
        return amounts

    def stage_mix(self, edge_rows: np.ndarray) -> np.ndarray:
        """(n, n_stages) the rounds' stage columns."""
        return np.asarray(edge_rows[:, list(self.stages)], dtype=np.float64).reshape(len(edge_rows), -1)

    def next_stage(self, edge_rows: np.ndarray) -> np.ndarray:
        """(n, n_stages) one-hot of the stage after each round's (the latest stays the latest); zero rows
        for rounds without a stage."""
        mix = self.stage_mix(edge_rows)
        out = np.zeros_like(mix)
        if mix.shape[1] == 0:
            return out
        has_stage = mix.sum(axis=1) > 0
        following = np.minimum(np.argmax(mix, axis=1) + 1, mix.shape[1] - 1)
        out[np.flatnonzero(has_stage), following[has_stage]] = 1.0
        return out
