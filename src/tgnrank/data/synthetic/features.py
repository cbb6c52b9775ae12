"""What the synthetic export shows of its latents: edge features of the rounds, noisy node features in
the importer's kinds of columns, and node names.
"""

from __future__ import annotations

import numpy as np

from tgnrank.data.events import COMPANY, INVESTOR
from tgnrank.data.synthetic.latents import Companies, Investors, dirichlet_rows
from tgnrank.data.synthetic.parameters import (
    COUNTRIES,
    EDGE_FEATURE_NAMES,
    END_DAY,
    FEATURE_NOISE,
    INVESTOR_CATEGORY_NOISE,
    INVESTOR_KINDS,
    KIND_LABEL_NOISE,
    KIND_STAGE_PREFERENCE,
    NODE_FEATURE_NAMES,
    SECTORS,
    SECTOR_LABEL_NOISE,
    SPAN_DAYS,
    STAGE_LOG_AMOUNT,
)
from tgnrank.data.synthetic.rounds import Rounds


def edge_feature_matrix(rounds: Rounds, event_round: np.ndarray) -> np.ndarray:
    """(n_events + 1, 2 + n_stages): log1p(round amount) or 0, amount-missing flag, round type one-hot."""
    features = np.zeros((len(event_round) + 1, len(EDGE_FEATURE_NAMES)), dtype=np.float32)
    missing = rounds.amount_missing[event_round]
    features[1:, 0] = np.where(missing, 0.0, np.log1p(rounds.amount[event_round]))
    features[1:, 1] = missing
    features[np.arange(1, len(event_round) + 1), 2 + rounds.stage[event_round]] = 1.0
    return features


def node_feature_matrix(rng: np.random.Generator, companies: Companies, investors: Investors) -> np.ndarray:
    """(U + I + 1, len(NODE_FEATURE_NAMES)) standardised noisy views of the latents; row 0 is zero."""
    raw = np.vstack([_company_features(rng, companies), _investor_features(rng, investors)])
    spread = raw.std(axis=0)
    standardised = (raw - raw.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    return np.vstack([np.zeros((1, raw.shape[1])), standardised]).astype(np.float32)


def _column(name: str) -> int:
    return NODE_FEATURE_NAMES.index(name)


def _company_features(rng: np.random.Generator, companies: Companies) -> np.ndarray:
    n = len(companies.sector)
    raw = np.zeros((n, len(NODE_FEATURE_NAMES)))
    relabel = rng.random(n) < SECTOR_LABEL_NOISE
    category = np.where(relabel, rng.integers(len(SECTORS), size=n), companies.sector)
    rows = np.arange(n)
    raw[:, _column("is_company")] = 1.0
    raw[rows, _column(f"category={SECTORS[0]}") + category] = 1.0
    raw[rows, _column(f"country={COUNTRIES[0]}") + companies.country] = 1.0
    noise = FEATURE_NOISE * rng.standard_normal((n, 3))
    raw[:, _column("log_amount")] = STAGE_LOG_AMOUNT[1] + 1.2 * companies.quality + noise[:, 0]
    raw[:, _column("log_count")] = np.log1p(np.exp(0.5 * companies.quality + noise[:, 1]))
    raw[:, _column("years_active")] = np.maximum((END_DAY - companies.founded) / 365.25 + 2 * noise[:, 2], 0.0)
    return raw


def _investor_features(rng: np.random.Generator, investors: Investors) -> np.ndarray:
    n = len(investors.kind)
    raw = np.zeros((n, len(NODE_FEATURE_NAMES)))
    rows = np.arange(n)
    declared = np.argmax(investors.sector_preference, axis=1)
    cumulative = np.cumsum(investors.sector_preference, axis=1)
    sampled = np.minimum((cumulative < rng.random(n)[:, None]).sum(axis=1), len(SECTORS) - 1)
    category = np.where(rng.random(n) < INVESTOR_CATEGORY_NOISE, sampled, declared)
    raw[rows, _column(f"category={SECTORS[0]}") + category] = 1.0
    raw[rows, _column(f"country={COUNTRIES[0]}") + investors.country] = 1.0

    stage_fit = KIND_STAGE_PREFERENCE[investors.kind]
    stage_mix = dirichlet_rows(rng, 8.0 * stage_fit + 0.2)
    raw[:, _column("stage_share=seed") : _column("stage_share=later")] = stage_mix[:, :3]
    raw[:, _column("stage_share=later")] = stage_mix[:, 3:].sum(axis=1)
    noise = FEATURE_NOISE * rng.standard_normal((n, 4))
    raw[:, _column("log_amount")] = stage_mix @ STAGE_LOG_AMOUNT + noise[:, 0]
    raw[:, _column("log_count")] = np.log(investors.activity) + noise[:, 1]
    raw[:, _column("years_active")] = np.maximum((1.0 - investors.arrival) * SPAN_DAYS / 365.25 + 2 * noise[:, 2], 0.0)
    raw[:, _column("log_co_investors")] = np.log(investors.activity) + noise[:, 3]

    mislabel = rng.random(n) < KIND_LABEL_NOISE
    shown_kind = np.where(mislabel, rng.integers(len(INVESTOR_KINDS), size=n), investors.kind)
    raw[rows, _column(f"investor_type={INVESTOR_KINDS[0]}") + shown_kind] = 1.0
    return raw


def names_and_kinds(companies: Companies, investors: Investors) -> tuple[np.ndarray, np.ndarray]:
    """Names like "Company 0042 (fintech)" / "Investor 0007 (VC tier 1)" and kinds, entry 0 empty."""
    n_companies, n_investors = len(companies.sector), len(investors.kind)
    company_width = max(4, len(str(n_companies - 1)))
    investor_width = max(4, len(str(n_investors - 1)))
    sector_names = np.array(SECTORS, dtype=object)[companies.sector]
    kind_names = np.array(INVESTOR_KINDS, dtype=object)[investors.kind]
    company_names = [f"Company {k:0{company_width}d} ({s})" for k, s in enumerate(sector_names)]
    investor_names = [f"Investor {k:0{investor_width}d} ({t})" for k, t in enumerate(kind_names)]
    names = np.array([""] + company_names + investor_names, dtype=object)
    kinds = np.array([""] + [COMPANY] * n_companies + [INVESTOR] * n_investors, dtype=object)
    return names, kinds
