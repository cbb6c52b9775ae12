"""The parameters of the synthetic generator's story: vocabularies, calendar, rates and noise levels.

Sizes and vocabularies are what callers use (the default population, the feature names); the rest are
the knobs of the story told in :mod:`tgnrank.data.synthetic`, kept together so that it can be tuned in
one place.
"""

from __future__ import annotations

import numpy as np

DEFAULT_COMPANIES = 8000
DEFAULT_INVESTORS = 2500

SECTORS = (
    "fintech", "health", "biotech", "enterprise software", "consumer internet", "e-commerce",
    "cleantech", "hardware", "mobile", "media", "education", "security",
)
STAGES = ("seed", "A", "B", "C", "growth")
INVESTOR_KINDS = ("angel", "accelerator", "VC tier 1", "VC tier 2", "VC tier 3", "corporate", "growth fund")
COUNTRIES = ("USA", "GBR", "CHN", "IND", "DEU", "other")

START_DAY = int(np.datetime64("1995-01-01", "D").astype(np.int64))
END_DAY = int(np.datetime64("2015-12-31", "D").astype(np.int64))
SPAN_DAYS = END_DAY - START_DAY + 1

KIND_SHARE = np.array([0.30, 0.04, 0.06, 0.14, 0.24, 0.11, 0.11])
KIND_ACTIVITY = np.array([0.5, 2.5, 3.0, 1.6, 1.0, 0.6, 1.0])
# Rows: investor kinds; columns: seed, A, B, C, growth.
KIND_STAGE_PREFERENCE = np.array(
    [
        [0.78, 0.18, 0.03, 0.005, 0.005],
        [0.92, 0.06, 0.01, 0.005, 0.005],
        [0.08, 0.34, 0.30, 0.16, 0.12],
        [0.14, 0.40, 0.30, 0.11, 0.05],
        [0.35, 0.40, 0.18, 0.05, 0.02],
        [0.04, 0.24, 0.34, 0.24, 0.14],
        [0.01, 0.04, 0.15, 0.33, 0.47],
    ]
)
# Rows: investor kinds; columns: taste for companies of low, middle and high latent quality.
KIND_QUALITY_TASTE = np.array(
    [
        [1.0, 1.0, 1.0],
        [1.0, 1.0, 1.0],
        [0.15, 0.6, 2.5],
        [0.5, 1.2, 1.1],
        [1.5, 1.0, 0.5],
        [0.7, 1.0, 1.2],
        [0.3, 0.8, 1.8],
    ]
)
# Probability that an investor of the previous round follows on, by kind (scaled down by stage fit).
KIND_FOLLOW_ON = np.array([0.25, 0.18, 0.66, 0.60, 0.50, 0.50, 0.60])
QUALITY_CUTS = np.array([-0.43, 0.43])
COUNTRY_SHARE = np.array([0.64, 0.08, 0.06, 0.05, 0.04, 0.13])

INVESTORS_PER_COMMUNITY = 25
COMMUNITY_FOCUS_CONCENTRATION = 0.25
PREFERENCE_CONCENTRATION = 4.0
PREFERENCE_BACKGROUND = 0.1
ACTIVITY_PARETO_SHAPE = 1.25
ACTIVITY_CAP = 150.0
FOUNDING_INVESTOR_SHARE = 0.15
ECOSYSTEM_GROWTH = 15.0

FIRST_STAGE_SHARE = np.array([0.72, 0.23, 0.05])
FIRST_ROUND_DELAY_DAYS = 180.0
ROUND_INTERVAL_DAYS = 480.0
ROUND_INTERVAL_SHAPE = 2.0
BRIDGE_ROUND_SHARE = 0.15
CONTINUE_BIAS = 0.4
CONTINUE_QUALITY = 0.9
CONTINUE_STAGE = 0.15
MAX_ROUNDS = 15

SYNDICATE_MEAN = np.array([2.6, 2.25, 2.35, 2.35, 2.2])
MAX_SYNDICATE = 8
COMMUNITY_TIE_SHARE = 0.5
CANDIDATES_PER_SLOT = 2

STAGE_LOG_AMOUNT = np.log([0.8e6, 6e6, 15e6, 30e6, 60e6])
AMOUNT_QUALITY = 0.5
AMOUNT_NOISE = 0.7
AMOUNT_MISSING_SHARE = 0.09
MONTH_ONLY_SHARE = 0.30
YEAR_ONLY_SHARE = 0.10

SECTOR_LABEL_NOISE = 0.10
INVESTOR_CATEGORY_NOISE = 0.35
KIND_LABEL_NOISE = 0.15
FEATURE_NOISE = 0.6

NODE_FEATURE_NAMES = (
    ("is_company",)
    + tuple(f"category={sector}" for sector in SECTORS)
    + tuple(f"country={country}" for country in COUNTRIES)
    + ("log_amount", "log_count", "years_active")
    + tuple(f"stage_share={stage}" for stage in ("seed", "A", "B", "later"))
    + tuple(f"investor_type={kind}" for kind in INVESTOR_KINDS)
    + ("log_co_investors",)
)
EDGE_FEATURE_NAMES = ("log1p_amount", "amount_missing") + tuple(f"round={stage}" for stage in STAGES)
