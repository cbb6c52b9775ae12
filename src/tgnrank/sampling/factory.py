"""The training loop's choice of negative sampler from its settings."""

from __future__ import annotations

import logging

import numpy as np

from tgnrank.data.arrays import distinct
from tgnrank.data.events import Interactions
from tgnrank.sampling.hard import BatchedHardNegativeSampler
from tgnrank.sampling.multihop import DEFAULT_MULTIHOP_NEG_RATIO, DEFAULT_MULTIHOP_TOPK
from tgnrank.sampling.random_negatives import RandomNegativeSampler, candidate_pool
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
) -> RandomNegativeSampler | BatchedHardNegativeSampler:
    """The training sampler: random over ``train``'s investors, or hard and/or multi-hop negatives
    excluding ``train``'s links (multi-hop without hard negatives: a batched sampler with no hard share,
    which skips the similarity top-k). The sampler's constructor checks the settings it uses.
    """
    if not use_hard_negatives and multihop_neg_ratio == 0:
        return RandomNegativeSampler(train.destinations, seed=seed)
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
    )
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
