"""Latent traits of the synthetic population: each company's sector, quality and founding day, each
investor's kind, community, sector preferences, activity and arrival.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tgnrank.data.synthetic.parameters import (
    ACTIVITY_CAP,
    ACTIVITY_PARETO_SHAPE,
    COMMUNITY_FOCUS_CONCENTRATION,
    COUNTRIES,
    COUNTRY_SHARE,
    ECOSYSTEM_GROWTH,
    FIRST_ROUND_DELAY_DAYS,
    FOUNDING_INVESTOR_SHARE,
    INVESTORS_PER_COMMUNITY,
    INVESTOR_KINDS,
    KIND_ACTIVITY,
    KIND_SHARE,
    PREFERENCE_BACKGROUND,
    PREFERENCE_CONCENTRATION,
    QUALITY_CUTS,
    SECTORS,
    SPAN_DAYS,
    START_DAY,
)


@dataclass(frozen=True)
class Companies:
    """Latent company traits, each of shape (U,)."""

    sector: np.ndarray
    quality: np.ndarray
    quality_bucket: np.ndarray
    founded: np.ndarray
    country: np.ndarray


@dataclass(frozen=True)
class Investors:
    """Latent investor traits: kind, community, activity, arrival (I,), sector_preference (I, n_sectors)."""

    kind: np.ndarray
    community: np.ndarray
    sector_preference: np.ndarray
    activity: np.ndarray
    arrival: np.ndarray
    country: np.ndarray


def draw_companies(rng: np.random.Generator, n: int) -> Companies:
    quality = rng.standard_normal(n)
    return Companies(
        sector=rng.integers(len(SECTORS), size=n),
        quality=quality,
        quality_bucket=np.searchsorted(QUALITY_CUTS, quality),
        founded=START_DAY + _growing_fraction(rng, n) * (SPAN_DAYS - FIRST_ROUND_DELAY_DAYS),
        country=rng.choice(len(COUNTRIES), size=n, p=COUNTRY_SHARE),
    )


def _growing_fraction(rng: np.random.Generator, n: int) -> np.ndarray:
    """Fractions in [0, 1) with a density growing exponentially ``ECOSYSTEM_GROWTH``-fold over the window."""
    rate = np.log(ECOSYSTEM_GROWTH)
    return np.log1p(rng.random(n) * (ECOSYSTEM_GROWTH - 1.0)) / rate


def draw_investors(rng: np.random.Generator, n: int) -> Investors:
    kind = rng.choice(len(INVESTOR_KINDS), size=n, p=KIND_SHARE)
    n_communities = max(1, n // INVESTORS_PER_COMMUNITY)
    community = rng.integers(n_communities, size=n)
    focus = rng.dirichlet(np.full(len(SECTORS), COMMUNITY_FOCUS_CONCENTRATION), size=n_communities)
    sector_preference = dirichlet_rows(rng, PREFERENCE_CONCENTRATION * focus[community] + PREFERENCE_BACKGROUND)
    activity = np.minimum(rng.pareto(ACTIVITY_PARETO_SHAPE, size=n) + 1.0, ACTIVITY_CAP) * KIND_ACTIVITY[kind]
    founding = rng.random(n) < FOUNDING_INVESTOR_SHARE
    founding[0] = True  # someone must be there to fund the first rounds
    arrival = np.where(founding, 0.0, _growing_fraction(rng, n) * 0.9)
    return Investors(
        kind=kind,
        community=community,
        sector_preference=sector_preference,
        activity=activity,
        arrival=arrival,
        country=rng.choice(len(COUNTRIES), size=n, p=COUNTRY_SHARE),
    )


def dirichlet_rows(rng: np.random.Generator, alpha: np.ndarray) -> np.ndarray:
    """One Dirichlet draw per row of ``alpha`` (N, K), vectorised through normalised gamma variates."""
    draws = rng.gamma(alpha)
    return draws / draws.sum(axis=1, keepdims=True)
