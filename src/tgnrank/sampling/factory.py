"""The training loop's choice of negative sampler from its settings."""

from __future__ import annotations

import logging

import numpy as np

from tgnrank.data.arrays import distinct
from tgnrank.data.events import Interactions
from tgnrank.sampling.activity_negatives import (
    DEFAULT_NEG_DEGREE_POWER,
    DEFAULT_NEG_RECENT_DAYS,
    create_activity_sampler,
    validate_activity_params,
)
from tgnrank.sampling.hard import BatchedHardNegativeSampler
from tgnrank.sampling.multihop import DEFAULT_MULTIHOP_NEG_RATIO, DEFAULT_MULTIHOP_TOPK
from tgnrank.sampling.random_negatives import candidate_pool
from tgnrank.sampling.similarity import InvestorSimilarity

logger = logging.getLogger(__name__)


def create_negative_sampler(
    use_hard_negatives: bool,
    hard_neg_ratio: float,
    hard_neg_temperature: float,
    hard_neg_topk: int,
    node_features: np.ndarray,
    train: Interactions,
    seed: int | None = None,
    device: str = "cpu",
    multihop_neg_ratio: float = DEFAULT_MULTIHOP_NEG_RATIO,
    multihop_topk: int = DEFAULT_MULTIHOP_TOPK,
    neg_sampling: str = "uniform",
    neg_degree_power: float = DEFAULT_NEG_DEGREE_POWER,
    neg_recent_days: float = DEFAULT_NEG_RECENT_DAYS,
):
    """The training sampler: ``neg_sampling`` negatives over ``train``'s investors (uniform: TGN's random
    sampler; degree or recent: :mod:`tgnrank.sampling.activity_negatives`), or hard and/or multi-hop
    negatives excluding ``train``'s links (multi-hop without hard negatives: a batched sampler with no hard
    share, which skips the similarity top-k) whose other slots follow ``neg_sampling``. The samplers'
    constructors check the settings they use. ``node_features (n_nodes + 1, d)`` are the vectors whose
    cosine similarity picks hard negatives: training passes
    :func:`~tgnrank.data.activity.similarity_features` of ``train``, so that investors without attributes
    still differ by their activity up to the training cut-off.
    """
    validate_activity_params(neg_sampling, neg_degree_power, neg_recent_days)
    activity = dict(neg_degree_power=neg_degree_power, neg_recent_days=neg_recent_days, seed=seed)
    if not use_hard_negatives and multihop_neg_ratio == 0:
        return create_activity_sampler(neg_sampling, train, **activity)
    base = None if neg_sampling == "uniform" else create_activity_sampler(neg_sampling, train, **activity)
    pool = candidate_pool(train.destinations)
    sampler = BatchedHardNegativeSampler(
        node_features,
        train.sources,
        train.destinations,
        hard_neg_ratio=hard_neg_ratio if use_hard_negatives else 0.0,
        hard_neg_temperature=hard_neg_temperature,
        hard_neg_topk=hard_neg_topk,
        seed=seed,
        similarity=None if use_hard_negatives else InvestorSimilarity.empty(pool, node_features.shape[0]),
        device=device,
        multihop_neg_ratio=multihop_neg_ratio,
        multihop_topk=multihop_topk,
        base=base,
    )
    if base is not None:
        logger.info("negatives besides the hard and multi-hop ones: %s sampling", neg_sampling)
    if use_hard_negatives:
        logger.info(
            "hard negatives: top-%d similar investors of %d candidates precomputed in %.2f s",
            sampler.similarity.topk, len(sampler.pool), sampler.precompute_seconds,
        )
    if sampler.multihop is not None:
        companies = distinct(train.sources)
        n_with = int(np.count_nonzero(sampler.multihop.n_candidates(companies)))
        logger.info(
            "multi-hop negatives: up to %d distance-3 investors for %d of %d companies precomputed in %.2f s",
            multihop_topk, n_with, len(companies), sampler.multihop_precompute_seconds,
        )
    return sampler
