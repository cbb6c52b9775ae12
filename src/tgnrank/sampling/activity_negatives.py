"""Activity-weighted negatives: investors drawn by how active they were *before* the batch.

Uniform negatives are mostly investors with one deal ever, which teaches the model little about ranking
among the active investors that a ranking is decided by. These samplers draw among the active ones:

* degree (:class:`DegreeNegativeSampler`): P(i) proportional to ``n_i(t) ** power``, ``n_i(t)`` the
  training events of investor i strictly before t; ``power = 0`` is uniform over the investors with
  ``n_i(t) > 0``;
* recent (:class:`RecentNegativeSampler`): uniform over the investors with a training event in
  ``[t - recent_days, t)``.

``t`` is the batch's first timestamp, so nothing at or after the batch (the batch itself included)
shapes the draw. When no investor has weight at t (the first batches) the draws are uniform over the
pool (counted as ``n_uniform_fallback``).

For a positive (c, i) at batch time t the negative is never i and never an investor linked to c by a
training event before t (:class:`LinksBefore`, built on the hard sampler's
:class:`~tgnrank.sampling.linked_pairs.LinkedPairs`). Draws come from the batch's global distribution and
excluded ones are redrawn for a few rounds; rows still excluded get an exact draw from their masked
distribution (dense over the pool, for those rows only, in chunks). When no allowed investor has weight
the draw is uniform over the allowed ones; when none is allowed it stays as drawn (``n_unrestricted``).

Both samplers follow the negatives interface (``sample``, ``reset_rng``, ``reset_stats``, ``stats``);
``sample`` also needs the batch's ``timestamps``. :meth:`draw_positions` is the row-level entry that a
composing sampler (hard negatives for a share of the slots) can delegate its other slots to.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from tgnrank.data.arrays import distinct, expand_ranges
from tgnrank.data.events import Interactions
from tgnrank.errors import ConfigError
# The split modules, not tgnrank.sampling.negatives: that one imports the factory, which imports this module.
from tgnrank.sampling.linked_pairs import LinkedPairs, pool_positions
from tgnrank.sampling.random_negatives import RandomNegativeSampler
from tgnrank.sampling.validation import validate_n_neg

NEG_SAMPLINGS = ("uniform", "degree", "recent")
DEFAULT_NEG_DEGREE_POWER = 0.75
DEFAULT_NEG_RECENT_DAYS = 365.0
REJECTION_ROUNDS = 4
EXACT_CHUNK_CELLS = 1 << 22  # rows x pool cells per chunk of exact draws (a few tens of MiB)


def validate_activity_params(neg_sampling: str, neg_degree_power: float, neg_recent_days: float) -> None:
    """Raise :class:`ConfigError` naming the flag when a negative-sampling setting is out of range."""
    if neg_sampling not in NEG_SAMPLINGS:
        raise ConfigError(
            f"neg_sampling must be one of {', '.join(NEG_SAMPLINGS)}, got {neg_sampling!r}",
            parameters=("neg_sampling",),
        )
    if not _finite_real(neg_degree_power) or neg_degree_power < 0:
        raise ConfigError(
            f"neg_degree_power must be a finite number >= 0, got {neg_degree_power!r}",
            parameters=("neg_degree_power",),
        )
    if not _finite_real(neg_recent_days) or neg_recent_days <= 0:
        raise ConfigError(
            f"neg_recent_days must be a finite number of days > 0, got {neg_recent_days!r}",
            parameters=("neg_recent_days",),
        )


def _finite_real(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(value)


def _pool(candidates: np.ndarray) -> np.ndarray:
    pool = distinct(np.asarray(candidates, dtype=np.int64))
    if len(pool) == 0:
        raise ValueError("negative sampling needs at least one candidate investor (the training data has none)")
    return pool


class InvestorActivity:
    """Per-investor counts of events strictly before any time t, in O(M log E) per query, no O(E) pass.

    Each event is keyed ``position * stride + rank(time)`` (its investor's pool position, the rank of its
    time among the distinct times) and the keys are sorted once, so the count of investor j before t is
    one vectorised ``searchsorted`` of ``j * stride + rank(t)``. Queries may come in any time order.
    """

    def __init__(self, destinations: np.ndarray, timestamps: np.ndarray, pool: np.ndarray):
        positions, in_pool = pool_positions(pool, np.asarray(destinations, dtype=np.int64))
        times = np.asarray(timestamps, dtype=np.float64)[in_pool]
        self.times = np.unique(times)
        self.stride = len(self.times) + 1
        self._bases = np.arange(len(pool), dtype=np.int64) * self.stride
        self.keys = np.sort(positions[in_pool] * self.stride + np.searchsorted(self.times, times))
        self._starts = np.searchsorted(self.keys, self._bases)

    def counts_before(self, t: float) -> np.ndarray:
        """(M,) int64 events of each pool investor with time < t."""
        rank = np.searchsorted(self.times, t, side="left")
        return np.searchsorted(self.keys, self._bases + rank) - self._starts


class LinksBefore:
    """The (company, investor) training links with the time each pair first occurred.

    ``pairs`` is a :class:`LinkedPairs` (sorted keys ``company * M + position``); ``first_times`` is
    aligned with its keys, so "linked before t" is a key lookup plus a time comparison.
    """

    def __init__(self, sources: np.ndarray, destinations: np.ndarray, timestamps: np.ndarray, pool: np.ndarray):
        sources, destinations = np.asarray(sources, dtype=np.int64), np.asarray(destinations, dtype=np.int64)
        self.pairs = LinkedPairs(sources, destinations, pool)
        self.n_pool = self.pairs.n_pool
        positions, in_pool = pool_positions(pool, destinations)
        keys = sources[in_pool] * self.n_pool + positions[in_pool]
        times = np.asarray(timestamps, dtype=np.float64)[in_pool]
        order = np.lexsort((times, keys))
        sorted_keys = keys[order]
        first = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]) if len(keys) else np.empty(0, int)
        self.first_times = times[order][first]

    def contains(self, companies: np.ndarray, positions: np.ndarray, t: float) -> np.ndarray:
        """Whether each (company, pool position) pair was linked by an event before t; arguments broadcast."""
        keys = self.pairs.keys
        query = np.asarray(companies, dtype=np.int64) * self.n_pool + positions
        if len(keys) == 0:
            return np.zeros(query.shape, dtype=bool)
        found = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
        return (keys[found] == query) & (self.first_times[found] < t)

    def linked_positions(self, companies: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Every (row, pool position) with ``companies[row]`` linked to that investor before t, flat (L,)."""
        keys = self.pairs.keys
        base = np.asarray(companies, dtype=np.int64) * self.n_pool
        rows, index = expand_ranges(np.searchsorted(keys, base), np.searchsorted(keys, base + self.n_pool))
        keep = self.first_times[index] < t
        return rows[keep], (keys[index] - base[rows])[keep]


class _ActivityNegativeSampler:
    """Shared drawing machinery; subclasses define the (M,) weights of the pool at a time t."""

    def __init__(self, sources: np.ndarray, destinations: np.ndarray, timestamps: np.ndarray,
                 candidates: np.ndarray | None = None, seed: int | None = None):
        self.pool = _pool(destinations if candidates is None else candidates)
        self.activity = InvestorActivity(destinations, timestamps, self.pool)
        self.links = LinksBefore(sources, destinations, timestamps, self.pool)
        self._cached_time: float | None = None
        self._cached: tuple[np.ndarray, np.ndarray, bool] | None = None
        self.reset_rng(seed)
        self.reset_stats()

    def weights_at(self, t: float) -> np.ndarray:
        """(M,) float64 unnormalised probabilities of the pool investors for a batch at time t."""
        raise NotImplementedError

    def reset_rng(self, seed: int | None = None) -> None:
        # Its own stream, distinct from the random and hard samplers' ones for the same seed.
        self.seed = seed
        self._rng = np.random.default_rng(None if seed is None else np.random.SeedSequence(seed, spawn_key=(2,)))

    def reset_stats(self) -> None:
        self._n_negatives = self._n_uniform_fallback = self._n_unrestricted = 0

    def stats(self) -> dict:
        """``n_uniform_fallback``: negatives drawn uniformly because no allowed investor had weight;
        ``n_unrestricted``: negatives drawn although every investor was excluded."""
        n = self._n_negatives
        return {
            "n_negatives": n,
            "share_uniform_fallback": self._n_uniform_fallback / n if n else 0.0,
            "n_uniform_fallback": self._n_uniform_fallback,
            "n_unrestricted": self._n_unrestricted,
        }

    def sample(self, sources: np.ndarray, destinations: np.ndarray, n_neg: int = 1,
               timestamps: np.ndarray | None = None) -> np.ndarray:
        """Investor ids ``(B,)`` if ``n_neg == 1`` else ``(B, n_neg)``; sources, destinations and
        timestamps are the batch's ``(B,)``, and its first timestamp is the time the activity is taken at."""
        validate_n_neg(n_neg)
        batch_size = len(sources)
        if timestamps is None or len(timestamps) != batch_size:
            raise ValueError(f"{type(self).__name__}.sample needs the batch's timestamps, one per positive ({batch_size})")
        at_time = float(np.min(timestamps)) if batch_size else math.inf
        companies = np.repeat(np.asarray(sources, dtype=np.int64), n_neg)
        trues = np.repeat(np.asarray(destinations, dtype=np.int64), n_neg)
        flat = self.pool[self.draw_positions(companies, trues, at_time)]
        return flat if n_neg == 1 else flat.reshape(batch_size, n_neg)

    def draw_positions(self, companies: np.ndarray, true_investors: np.ndarray, at_time: float) -> np.ndarray:
        """(R,) pool positions: one negative per (company, true investor) row for a batch at ``at_time``."""
        weights, cdf, uniform = self._distribution_at(at_time)
        positions = self._from_cdf(cdf, len(companies))
        found, in_pool = pool_positions(self.pool, np.asarray(true_investors, dtype=np.int64))
        true_positions = np.where(in_pool, found, -1)
        pending = np.arange(len(companies))
        for round_index in range(REJECTION_ROUNDS + 1):
            excluded = self.links.contains(companies[pending], positions[pending], at_time)
            excluded |= positions[pending] == true_positions[pending]
            pending = pending[excluded]
            if pending.size == 0 or round_index == REJECTION_ROUNDS:
                break
            positions[pending] = self._from_cdf(cdf, len(pending))
        if pending.size:
            positions[pending] = self._exact(companies[pending], true_positions[pending], at_time, weights, positions[pending])
        self._n_negatives += len(companies)
        self._n_uniform_fallback += len(companies) if uniform else 0
        return positions

    def _distribution_at(self, t: float) -> tuple[np.ndarray, np.ndarray, bool]:
        """The pool's (M,) weights at t (all ones when none has weight), their cumulative sums and whether
        they fell back to uniform; cached, as consecutive batches often share a first timestamp."""
        if self._cached_time != t:
            weights = self.weights_at(t)
            uniform = not np.any(weights > 0)
            weights = np.ones(len(self.pool)) if uniform else weights
            self._cached_time, self._cached = t, (weights, np.cumsum(weights), uniform)
        return self._cached

    def _from_cdf(self, cdf: np.ndarray, n: int) -> np.ndarray:
        return _invert_cdf(cdf, self._rng.random(n))

    def _exact(self, companies: np.ndarray, true_positions: np.ndarray, at_time: float, weights: np.ndarray,
               drawn: np.ndarray) -> np.ndarray:
        """Exact draws from each row's distribution with its exclusions masked, ``(R,)`` in and out;
        uniform over the allowed investors where none of them has weight, ``drawn`` where none is allowed."""
        out = drawn.copy()
        step = max(1, EXACT_CHUNK_CELLS // len(self.pool))
        for first in range(0, len(companies), step):
            part = slice(first, first + step)
            allowed = np.ones((len(companies[part]), len(self.pool)), dtype=bool)
            allowed[self.links.linked_positions(companies[part], at_time)] = False
            rows = np.flatnonzero(true_positions[part] >= 0)
            allowed[rows, true_positions[part][rows]] = False
            masked = np.where(allowed, weights, 0.0)
            no_mass = ~np.any(masked > 0, axis=1)
            masked[no_mass] = allowed[no_mass]
            possible = np.any(allowed, axis=1)
            cdf = np.cumsum(masked, axis=1)
            choice = _invert_cdf_rows(cdf, self._rng.random(len(cdf)))
            out[part] = np.where(possible, choice, drawn[part])
            self._n_uniform_fallback += int(np.count_nonzero(no_mass & possible))
            self._n_unrestricted += int(np.count_nonzero(~possible))
        return out


def _invert_cdf(cdf: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """Indices drawn from the (M,) nondecreasing ``cdf`` (last entry > 0) by inverse transform."""
    targets = np.minimum(uniforms * cdf[-1], np.nextafter(cdf[-1], 0.0))
    return np.searchsorted(cdf, targets, side="right")


def _invert_cdf_rows(cdf: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """Row-wise :func:`_invert_cdf` for ``(R, M)`` cdfs; rows whose total is 0 give M - 1 (unused)."""
    totals = cdf[:, -1]
    targets = np.minimum(uniforms * totals, np.nextafter(totals, 0.0))
    return np.minimum(np.count_nonzero(cdf <= targets[:, None], axis=1), cdf.shape[1] - 1)


class DegreeNegativeSampler(_ActivityNegativeSampler):
    """P(i) proportional to (investor i's training events before the batch) ** ``power``.

    Args:
        sources, destinations, timestamps: ``(E,)`` training events (company, investor, day).
        power: exponent of the count, >= 0 (0: uniform over the investors active before the batch).
        candidates: investor ids that may be drawn (default: the distinct ``destinations``).
        seed: seeds the sampler's random stream (``None``: fresh entropy).
    """

    def __init__(self, sources, destinations, timestamps, power: float = DEFAULT_NEG_DEGREE_POWER,
                 candidates=None, seed: int | None = None):
        validate_activity_params("degree", power, DEFAULT_NEG_RECENT_DAYS)
        self.power = float(power)
        super().__init__(sources, destinations, timestamps, candidates, seed)

    def weights_at(self, t: float) -> np.ndarray:
        counts = self.activity.counts_before(t).astype(np.float64)
        if self.power == 0:
            return (counts > 0).astype(np.float64)  # 0 ** 0 would give inactive investors weight 1
        return counts ** self.power


class RecentNegativeSampler(_ActivityNegativeSampler):
    """Uniform over the investors with a training event in ``[t - recent_days, t)``, t the batch's time.

    Same arguments as :class:`DegreeNegativeSampler`, with ``recent_days`` (> 0) instead of ``power``.
    """

    def __init__(self, sources, destinations, timestamps, recent_days: float = DEFAULT_NEG_RECENT_DAYS,
                 candidates=None, seed: int | None = None):
        validate_activity_params("recent", DEFAULT_NEG_DEGREE_POWER, recent_days)
        self.recent_days = float(recent_days)
        super().__init__(sources, destinations, timestamps, candidates, seed)

    def weights_at(self, t: float) -> np.ndarray:
        in_window = self.activity.counts_before(t) - self.activity.counts_before(t - self.recent_days)
        return (in_window > 0).astype(np.float64)


def create_activity_sampler(
    neg_sampling: str,
    train: Interactions,
    neg_degree_power: float = DEFAULT_NEG_DEGREE_POWER,
    neg_recent_days: float = DEFAULT_NEG_RECENT_DAYS,
    seed: int | None = None,
) -> RandomNegativeSampler | DegreeNegativeSampler | RecentNegativeSampler:
    """The ``--neg_sampling`` sampler over ``train``'s investors: uniform (TGN's random sampler, as
    today), degree or recent. Every setting is validated, even the unused one."""
    validate_activity_params(neg_sampling, neg_degree_power, neg_recent_days)
    events = (train.sources, train.destinations, train.timestamps)
    if neg_sampling == "degree":
        return DegreeNegativeSampler(*events, power=neg_degree_power, seed=seed)
    if neg_sampling == "recent":
        return RecentNegativeSampler(*events, recent_days=neg_recent_days, seed=seed)
    return RandomNegativeSampler(train.destinations, seed=seed)
