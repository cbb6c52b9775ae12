"""Negative samplers for self-supervised link prediction: random (TGN's) and hard negatives.

For a positive (company c, investor i) a negative is an investor i' forming the corrupted pair (c, i').

* Random: uniform over the candidate investors (:class:`RandomNegativeSampler`, TGN's behaviour).
* Hard (:class:`BatchedHardNegativeSampler`, vectorised; :class:`HardNegativeSampler`, the plain
  per-positive reference): of the ``n_neg`` negatives of a positive, ``floor(r * n_neg)`` plus one
  more with probability ``frac(r * n_neg)`` are hard (``r = hard_neg_ratio``), so with one negative
  per positive each negative is hard with probability ``r``. A hard negative is drawn from i's top-k
  most similar investors (cosine similarity of raw node features) with probability
  softmax(similarity / temperature) over those not linked to c; the others are uniform over the
  candidates not linked to c. Investors linked to c in the training data, and i itself, are never
  drawn. When every top-k neighbour of i is linked to c the negative falls back to random (counted).
* Multi-hop (an option of the batched sampler, ``multihop_neg_ratio``): a further share of the
  negatives is drawn among the investors at distance 3 from c in the training graph, weighted by path
  count (:mod:`tgnrank.sampling.multihop`); companies without such investors fall back to random
  (counted). Per positive, hard negatives come first, then multi-hop ones, then random ones; the hard
  and multi-hop counts use the same uniform, so their total is ``floor(s) + [u < frac(s)]`` with
  ``s = (hard_neg_ratio + multihop_neg_ratio) * n_neg`` and never exceeds ``n_neg``.

The batched sampler's hard share can change between epochs (:meth:`BatchedHardNegativeSampler.set_hard_ratio`,
for a curriculum) and its top-k lists can be recomputed from other vectors, such as the model's memory
(:meth:`BatchedHardNegativeSampler.refresh_similarity`).

The batched sampler keeps two random streams: the uniform draws use ``default_rng(seed)`` exactly as
:class:`RandomNegativeSampler`, so with ``hard_neg_ratio = 0`` it returns the random sampler's draws,
except where that draw is linked to the company (then it is redrawn from the allowed investors).

This module gathers the public names; each job lives in its own module: :mod:`~tgnrank.sampling.validation`
(range checks), :mod:`~tgnrank.sampling.random_negatives`, :mod:`~tgnrank.sampling.linked_pairs` (the
exclusion index), :mod:`~tgnrank.sampling.sampler_stats`, :mod:`~tgnrank.sampling.hard` (the batched
sampler), :mod:`~tgnrank.sampling.reference` (the per-positive sampler) and :mod:`~tgnrank.sampling.factory`.
"""

from tgnrank.sampling.factory import create_negative_sampler
from tgnrank.sampling.hard import (
    DEFAULT_HARD_NEG_RATIO,
    DEFAULT_HARD_NEG_TEMPERATURE,
    DEFAULT_HARD_NEG_TOPK,
    BatchedHardNegativeSampler,
    softmax_cdf,
)
from tgnrank.sampling.linked_pairs import LinkedPairs, pool_positions
from tgnrank.sampling.random_negatives import RandomNegativeSampler
from tgnrank.sampling.reference import HardNegativeSampler, build_adjacency_dict
from tgnrank.sampling.validation import validate_hard_negative_params, validate_n_neg, validate_sampler_settings

__all__ = [
    "DEFAULT_HARD_NEG_RATIO",
    "DEFAULT_HARD_NEG_TEMPERATURE",
    "DEFAULT_HARD_NEG_TOPK",
    "BatchedHardNegativeSampler",
    "HardNegativeSampler",
    "LinkedPairs",
    "RandomNegativeSampler",
    "build_adjacency_dict",
    "create_negative_sampler",
    "pool_positions",
    "softmax_cdf",
    "validate_hard_negative_params",
    "validate_n_neg",
    "validate_sampler_settings",
]
