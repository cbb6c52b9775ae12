"""A small random dataset where investors favour a sector, for the tests of brand-new companies.

Not a test module: imported by test_new_company_ranker.py and test_diagnose_scope.py.
"""

from __future__ import annotations

import numpy as np

from tgnrank.data.events import COMPANY, INVESTOR, EventData, Interactions
from tgnrank.data.feature_schema import FeatureSchema

LABELS = ("software", "biotech", "energy", "retail")
ROUND_TYPES = ("seed", "series_a", "series_b")
STATIC_NAMES = ("is_company",) + tuple(f"company:category={label}" for label in LABELS) + ("company:category=other",)
EDGE_NAMES = ("log1p_amount",) + tuple(f"round_type={kind}" for kind in ROUND_TYPES)


def sector_data(seed: int = 0, n_companies: int = 240, n_investors: int = 40, days: float = 3000.0,
                name: str = "sectors") -> EventData:
    """Companies 1..C each in one sector (some in two) arrive uniformly over ``days`` and raise 1-3
    rounds a year apart (seed, series_a, series_b); each round draws 1-3 investors, those of the
    company's sector (investor k's sector is k mod 4) eight times likelier."""
    rng = np.random.default_rng(seed)
    sector = np.arange(n_companies) % len(LABELS)
    second = np.where(rng.random(n_companies) < 0.2, (sector + 1) % len(LABELS), -1)
    investor_sector = np.arange(n_investors) % len(LABELS)
    activity = rng.lognormal(0.0, 0.7, n_investors)
    rows = []
    for company in range(n_companies):
        start = rng.uniform(0, days)
        for round_index in range(int(rng.integers(1, 4))):
            when = np.floor(start + 365.0 * round_index)
            affinity = np.where(investor_sector == sector[company], 8.0, 1.0) * activity
            chosen = rng.choice(n_investors, size=int(rng.integers(1, 4)), replace=False, p=affinity / affinity.sum())
            rows += [(company + 1, n_companies + 1 + investor, when, round_index) for investor in chosen]
    rows.sort(key=lambda row: row[2])
    sources, destinations, times, rounds = (np.array(column) for column in zip(*rows))
    node_features = np.zeros((n_companies + n_investors + 1, len(STATIC_NAMES)), dtype=np.float32)
    node_features[1 : n_companies + 1, 0] = 1.0
    node_features[np.arange(1, n_companies + 1), 1 + sector] = 1.0
    with_second = np.flatnonzero(second >= 0)
    node_features[with_second + 1, 1 + second[with_second]] = 1.0
    edge_features = np.zeros((len(rows) + 1, len(EDGE_NAMES)), dtype=np.float32)
    edge_features[1:, 0] = rng.uniform(10, 16, len(rows))
    edge_features[np.arange(1, len(rows) + 1), 1 + rounds] = 1.0
    return EventData(
        name=name,
        events=Interactions(sources.astype(np.int64), destinations.astype(np.int64), times.astype(np.float64),
                            np.arange(1, len(rows) + 1), np.zeros(len(rows))),
        edge_features=edge_features,
        node_features=node_features,
        node_names=np.array([""] + [f"company {k}" for k in range(1, n_companies + 1)]
                            + [f"investor {k}" for k in range(1, n_investors + 1)], dtype=object),
        node_kinds=np.array([""] + [COMPANY] * n_companies + [INVESTOR] * n_investors, dtype=object),
        feature_schema=FeatureSchema(STATIC_NAMES, EDGE_NAMES, tuple(range(len(EDGE_NAMES)))),
    )
