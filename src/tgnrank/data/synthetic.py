"""A synthetic Crunchbase-like funding graph (first version: simple affinity draws).

Timestamps are days since 1970-01-01 (float), as everywhere in ``tgnrank``.
Companies are node ids ``1..U`` and investors ``U+1..U+I``.
"""

from __future__ import annotations

import numpy as np

from tgnrank.data.events import COMPANY, INVESTOR, EventData, Interactions

DEFAULT_COMPANIES = 8000
DEFAULT_INVESTORS = 2500

SECTORS = (
    "fintech", "health", "biotech", "enterprise software", "consumer internet", "e-commerce",
    "cleantech", "hardware", "mobile", "media", "education", "security",
)
STAGES = ("seed", "A", "B", "C", "growth")
INVESTOR_KINDS = ("angel", "accelerator", "VC tier 1", "VC tier 2", "VC tier 3", "corporate", "growth fund")

START_DAY = float(np.datetime64("1995-01-01").astype(np.int64))
END_DAY = float(np.datetime64("2015-12-31").astype(np.int64))


def generate_synthetic(
    n_companies: int = DEFAULT_COMPANIES,
    n_investors: int = DEFAULT_INVESTORS,
    seed: int = 0,
    name: str = "synthetic",
) -> EventData:
    """Generate a deterministic synthetic funding dataset."""
    rng = np.random.default_rng(seed)
    sector = rng.integers(len(SECTORS), size=n_companies)
    kind = rng.integers(len(INVESTOR_KINDS), size=n_investors)
    pref = rng.dirichlet(np.full(len(SECTORS), 0.3), size=n_investors)
    activity = rng.pareto(1.3, size=n_investors) + 1.0
    n_rounds = rng.integers(1, 5, size=n_companies)
    round_company = np.repeat(np.arange(n_companies), n_rounds)
    founded = rng.uniform(START_DAY, END_DAY, size=n_companies)
    round_time = np.floor(founded[round_company] + rng.uniform(0, 2000, size=len(round_company)))
    keep = round_time <= END_DAY
    round_company, round_time = round_company[keep], round_time[keep]
    size = rng.integers(1, 5, size=len(round_company))
    event_round = np.repeat(np.arange(len(round_company)), size)
    cum = np.cumsum(pref.T * activity, axis=1)
    event_sector = sector[round_company[event_round]]
    draw = rng.random(len(event_round)) * cum[event_sector, -1]
    investor = np.empty(len(event_round), dtype=np.int64)
    for s in range(len(SECTORS)):
        in_sector = event_sector == s
        investor[in_sector] = np.searchsorted(cum[s], draw[in_sector])
    pairs = np.unique(np.stack([event_round, investor], axis=1), axis=0)
    event_round, investor = pairs[:, 0], pairs[:, 1]
    amount = np.exp(rng.normal(14.5, 1.5, size=len(round_company)))
    missing = rng.random(len(round_company)) < 0.09
    order = np.lexsort((investor, round_company[event_round], round_time[event_round]))
    event_round, investor = event_round[order], investor[order]
    n_events = len(event_round)
    edge_features = np.zeros((n_events + 1, 2), dtype=np.float32)
    edge_features[1:, 0] = np.where(missing[event_round], 0.0, np.log1p(amount[event_round]))
    edge_features[1:, 1] = missing[event_round]
    raw = np.zeros((n_companies + n_investors, len(SECTORS) + 2))
    raw[np.arange(n_companies), sector] = 1.0
    raw[n_companies:, :len(SECTORS)] = pref + rng.normal(0, 0.2, size=pref.shape)
    raw[:n_companies, -2] = 1.0
    raw[n_companies:, -1] = np.log(activity) + rng.normal(0, 0.5, size=n_investors)
    raw = (raw - raw.mean(axis=0)) / np.maximum(raw.std(axis=0), 1e-9)
    node_features = np.vstack([np.zeros((1, raw.shape[1])), raw]).astype(np.float32)
    names = np.array(
        [""]
        + [f"Company {k:04d} ({SECTORS[s]})" for k, s in enumerate(sector)]
        + [f"Investor {k:04d} ({INVESTOR_KINDS[t]})" for k, t in enumerate(kind)],
        dtype=object,
    )
    kinds = np.array([""] + [COMPANY] * n_companies + [INVESTOR] * n_investors, dtype=object)
    events = Interactions(
        sources=round_company[event_round].astype(np.int64) + 1,
        destinations=investor.astype(np.int64) + n_companies + 1,
        timestamps=round_time[event_round].astype(np.float64),
        edge_idxs=np.arange(1, n_events + 1, dtype=np.int64),
        labels=np.zeros(n_events),
    )
    return EventData(name, events, edge_features, node_features, names, kinds)
