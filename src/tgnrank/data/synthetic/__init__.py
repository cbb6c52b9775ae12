"""A synthetic Crunchbase-like funding graph that carries the structure making the real problem hard.

Conventions: timestamps are days since 1970-01-01 (floats holding whole days), companies are node ids
``1..U`` and investors ``U+1..U+I``; every event is (company, investor, day) and the investors of one
round share that round's day.

The generative story, in latent traits and then noisy observations of them:

* **Investors** have a kind (angel, accelerator, VC tier 1/2/3, corporate, growth fund) that sets
  their stage preferences, their taste for company quality and their activity level; a heavy-tailed
  (Pareto) activity; an arrival day; and a co-investment community whose sector focus their own
  sector preferences concentrate around.
* **Companies** have a sector, a latent quality and a founding day. They raise successive rounds
  (seed, A, B, C, growth) at irregular (gamma) intervals while they survive, better companies
  surviving longer; rounds after the end of the observation window are never seen.
* **A round** is a syndicate of 1 to 8 investors at one timestamp: investors of the previous round
  follow on with a kind- and stage-dependent probability; the others are drawn by affinity
  (activity x sector preference x stage preference x tier-versus-quality taste), among investors
  that have arrived, and partly from the community of an investor already in the syndicate.
* **Dates** of a share of rounds are known only to the month or to the year, as in real exports.
* **Observed features** use the importer's kinds of columns (category one-hot, country one-hot, log
  amounts, counts, years active, stage mix, investor type) but are noisy views of the latents, so
  that many investors look alike in their features yet fund different companies.

Each step has its module: ``latents`` draws the traits, ``rounds`` plans the rounds, ``syndicates``
(with the sampler of ``arrival``) seats their investors and ``features`` writes what an export shows;
``parameters`` holds the knobs of the story. Everything is vectorised over the rounds of one "wave"
(the k-th round of every company), so a million events take seconds, and the whole output is a
deterministic function of the seed.
"""

from __future__ import annotations

import numpy as np

from tgnrank.data.events import EventData, Interactions
from tgnrank.data.synthetic.features import edge_feature_matrix, names_and_kinds, node_feature_matrix
from tgnrank.data.synthetic.latents import draw_companies, draw_investors
from tgnrank.data.synthetic.parameters import (
    COUNTRIES,
    DEFAULT_COMPANIES,
    DEFAULT_INVESTORS,
    EDGE_FEATURE_NAMES,
    END_DAY,
    INVESTOR_KINDS,
    NODE_FEATURE_NAMES,
    SECTORS,
    SPAN_DAYS,
    STAGES,
    START_DAY,
)
from tgnrank.data.synthetic.rounds import plan_rounds
from tgnrank.data.synthetic.syndicates import assemble_syndicates

__all__ = [
    "COUNTRIES",
    "DEFAULT_COMPANIES",
    "DEFAULT_INVESTORS",
    "EDGE_FEATURE_NAMES",
    "END_DAY",
    "INVESTOR_KINDS",
    "NODE_FEATURE_NAMES",
    "SECTORS",
    "SPAN_DAYS",
    "STAGES",
    "START_DAY",
    "generate_synthetic",
]


def generate_synthetic(
    n_companies: int = DEFAULT_COMPANIES,
    n_investors: int = DEFAULT_INVESTORS,
    seed: int = 0,
    name: str = "synthetic",
) -> EventData:
    """Generate the synthetic funding dataset; the same arguments always give the same arrays.

    The default size gives about 40,000 events; events scale linearly with ``n_companies`` (about
    five per company) when ``n_investors`` grows in proportion.
    """
    if n_companies < 1 or n_investors < 1:
        raise ValueError(f"n_companies ({n_companies}) and n_investors ({n_investors}) must be at least 1")
    rng = np.random.default_rng(seed)
    companies = draw_companies(rng, n_companies)
    investors = draw_investors(rng, n_investors)
    rounds = plan_rounds(rng, companies)
    event_round, event_investor = assemble_syndicates(rng, rounds, companies, investors)

    order = np.lexsort((event_investor, event_round, rounds.observed_day[event_round]))
    event_round, event_investor = event_round[order], event_investor[order]
    n_events = len(event_round)
    events = Interactions(
        sources=rounds.company[event_round].astype(np.int64) + 1,
        destinations=event_investor.astype(np.int64) + n_companies + 1,
        timestamps=rounds.observed_day[event_round].astype(np.float64),
        edge_idxs=np.arange(1, n_events + 1, dtype=np.int64),
        labels=np.zeros(n_events, dtype=np.int64),
    )
    names, kinds = names_and_kinds(companies, investors)
    return EventData(
        name=name,
        events=events,
        edge_features=edge_feature_matrix(rounds, event_round),
        node_features=node_feature_matrix(rng, companies, investors),
        node_names=names,
        node_kinds=kinds,
    )
