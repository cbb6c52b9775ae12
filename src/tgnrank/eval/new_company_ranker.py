"""A learned ranker for brand-new companies: LightGBM ``lambdarank`` over their attribute features.

It is fitted exactly as the fusion of known pairs is (:mod:`tgnrank.eval.fusion`): on the window of
the same length that ends where the ranked window starts (for the test window: the validation window)
and the ``nc_windows - 1`` windows before it, each built as a ``new_companies`` diagnostic window
(its own history, its brand-new companies' first links as positives,
:func:`tgnrank.eval.protocol.build_new_company_candidates`); per company, every positive and
``nc_negatives`` candidate investors drawn uniformly with a seed, one query group per company. Only
events up to the ranked window's start are read when fitting, so its labels are never seen.
Applying it builds the ranked window's :class:`~tgnrank.eval.new_company_features.NewCompanyFeatures`
and streams the grid block by block.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from tgnrank.config.params import Boolean, Interval, Section, setting
from tgnrank.data.events import EventData
from tgnrank.eval.fusion import (
    FittedWindow,
    FusedRanker,
    FusedScorer,
    fitting_windows,
    lightgbm_params,
    sample_window,
    train_lambdarank,
)
from tgnrank.eval.new_company_features import NewCompanyFeatures
from tgnrank.eval.fusion_window import fitting_bounds
from tgnrank.eval.protocol import CandidateSet, build_new_company_candidates

logger = logging.getLogger(__name__)

NEW_COMPANY_RANKER = "new_company_ranker"
_AT_LEAST_ONE = Interval(int, 1)


@dataclass(frozen=True)
class NewCompanyRankerOptions(Section):
    """How the new-company ranker is fitted (``--scope new_companies`` or ``all``)."""

    TITLE = "learned new-company ranker (LightGBM lambdarank over attribute and investor features)"

    new_company_ranker: bool = setting(False, Boolean(), "add the learned ranker's column for the brand-new "
                                       "companies (fitted on the windows before the ranked one)")
    nc_windows: int = setting(3, _AT_LEAST_ONE, "fitting windows: the one of the same length just before the "
                              "ranked window (for the test window: the validation window) and those before it")
    nc_negatives: int = setting(200, _AT_LEAST_ONE, "candidate investors drawn per company of a fitting window, "
                                "besides its positives")
    nc_trees: int = setting(150, _AT_LEAST_ONE, "boosting rounds")
    nc_learning_rate: float = setting(0.05, Interval(float, 0.0, 1.0, closed="right"), "boosting learning rate")
    nc_leaves: int = setting(15, Interval(int, 2), "leaves per tree")
    nc_min_leaf: int = setting(50, _AT_LEAST_ONE, "fewest sampled pairs in a leaf")
    nc_seed: int = setting(0, Interval(int, 0, 2**31 - 1), "seed of the negative draws and of LightGBM")


def fit_new_company_ranker(
    data: EventData, t_start: float, t_end: float, options: NewCompanyRankerOptions = NewCompanyRankerOptions()
) -> FusedRanker:
    """Fit on the new-company window (t_start, t_end] and the ``options.nc_windows - 1`` before it.

    Only events with t <= t_end are read (the events and the first round types alike).
    """
    past = data.events.select(data.events.timestamps <= t_end)
    rng = np.random.default_rng(options.nc_seed)
    matrices, labels, groups, fitted, names = [], [], [], [], ()
    for candidates in fitting_windows(past, t_start, t_end, options.nc_windows, build=build_new_company_candidates):
        features = NewCompanyFeatures.from_candidates(candidates, data)
        x, y, g = sample_window(candidates, features, [], options.nc_negatives, rng)
        matrices.append(x)
        labels.append(y)
        groups.append(g)
        fitted.append(FittedWindow(candidates.t_start, candidates.t_end, candidates.n_positives, len(y)))
        names = features.names
    params = lightgbm_params("lambdarank", options.nc_learning_rate, options.nc_leaves, options.nc_min_leaf,
                             options.nc_seed)
    booster = train_lambdarank(params, matrices, labels, groups, names, options.nc_trees)
    return FusedRanker(booster, names, (), fitted)


def new_company_ranker_scorer(
    data: EventData,
    candidates: CandidateSet,
    quantiles: tuple[float, float],
    options: NewCompanyRankerOptions = NewCompanyRankerOptions(),
) -> tuple[FusedScorer, FusedRanker]:
    """Fit the ranker for ``candidates``' window (brand-new companies) and return its scorer there."""
    fit_start, fit_end = fitting_bounds(data, candidates, quantiles)
    logger.info("Fitting the new-company ranker on (%g, %g] and %d earlier window(s)",
                fit_start, fit_end, options.nc_windows - 1)
    ranker = fit_new_company_ranker(data, fit_start, fit_end, options)
    return FusedScorer(ranker, NewCompanyFeatures.from_candidates(candidates, data), []), ranker
