"""Why each recommended investor: the evidence of the history behind a recommendation, by name and date.

For each recommended (company, investor) pair the explanation holds (see
:mod:`tgnrank.eval.explain_evidence` for the exact definitions):

* the ranker's view: the model's score, its rank and percentile among the company's candidates, and,
  when the learned fusion ranks, each signal's contribution to the fused score
  (:mod:`tgnrank.eval.explain_fusion`);
* the co-investment paths (the company's past investors that co-invested with this one) and the
  heaviest 3-hop paths company -> investor -> company -> investor;
* the investor's recent activity against its long-run rate, overall, in the company's categories and
  at its stage;
* its most similar past deals.

Everything is read from the history up to the recommendation time ``at`` (t <= at, the events the
model replayed); :meth:`Explanation.cited_deals` lists every deal cited, so that a test can check
each of them against the history.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from tgnrank.data.dates import day_to_iso
from tgnrank.data.events import EventData
from tgnrank.errors import ConfigError
from tgnrank.eval.explain_evidence import PairEvidence, pair_evidence
from tgnrank.eval.explain_fusion import FusedContributions, pair_contributions
from tgnrank.eval.explain_history import Deal, HistoryIndex
from tgnrank.eval.recommend import Recommendation, Recommendations, recommend_investors


@dataclass(frozen=True)
class Explanation:
    """The evidence for one recommended investor; ``contributions`` is None unless the fusion ranks."""

    rank: int
    investor_id: int
    investor: str
    score: float
    percentile: float
    n_candidates: int
    ranker: str
    contributions: FusedContributions | None
    evidence: PairEvidence

    def cited_deals(self) -> list[Deal]:
        return self.evidence.cited_deals()


def explain_recommendations(
    recommendations: Recommendations, data: EventData, index: HistoryIndex | None = None
) -> list[Explanation]:
    """One :class:`Explanation` per recommended investor, in rank order.

    ``index`` is the history index at ``recommendations.at`` (built when not given).
    """
    r = recommendations
    index = index if index is not None else HistoryIndex.build(data, r.at)
    contributions: list[FusedContributions | None] = [None] * len(r.items)
    if r.fused is not None and r.items:
        columns = np.searchsorted(r.fused.features.candidates.investors, [item.investor_id for item in r.items])
        contributions = pair_contributions(r.fused, 0, columns)
    return [
        _explanation(index, r, item, contribution) for item, contribution in zip(r.items, contributions)
    ]


def _explanation(index, r: Recommendations, item: Recommendation, contributions) -> Explanation:
    return Explanation(
        rank=item.rank,
        investor_id=item.investor_id,
        investor=item.investor,
        score=item.score,
        percentile=item.percentile,
        n_candidates=r.n_candidates,
        ranker=r.ranker,
        contributions=contributions,
        evidence=pair_evidence(index, r.company_id, item.investor_id),
    )


def explanation_json(explanation: Explanation) -> dict:
    """JSON-ready: every field, deals as objects with their names, day and ISO date."""
    return dataclasses.asdict(explanation)


def select_investor(recommendations: Recommendations, investor_id: int) -> Recommendations:
    """The recommendations narrowed to one investor (``explain``): its rank among all the candidates stays."""
    items = [item for item in recommendations.items if item.investor_id == investor_id]
    return dataclasses.replace(recommendations, items=items)


def investor_recommendation(
    checkpoint: dict, data: EventData, company_id: int, investor_id: int, at: float,
    device=None, batch_size: int | None = None, fusion=None,
) -> Recommendations:
    """The recommendations of ``company_id`` at ``at`` narrowed to ``investor_id`` (``tgnrank explain``),
    ranked among all the company's candidates as :func:`recommend_investors` ranks them.

    ConfigError naming ``investor`` when the pair is already linked by ``at`` (not a new link) or the
    investor has no deal by then (the model cannot rank it).
    """
    events = data.events
    seen = events.timestamps <= at
    name = str(data.node_names[investor_id])
    past = seen & (events.sources == company_id) & (events.destinations == investor_id)
    if past.any():
        raise ConfigError(
            f"investor {name!r} already invested in {data.node_names[company_id]} on "
            f"{day_to_iso(float(events.timestamps[past].min()))}: it is not a candidate for a new link", ("investor",)
        )
    if not (seen & (events.destinations == investor_id)).any():
        raise ConfigError(f"investor {name!r} has no deal up to {day_to_iso(at)}: the model cannot rank it yet",
                          ("investor",))
    everyone = recommend_investors(checkpoint, data, company_id, at, data.n_nodes, device, batch_size, None, fusion)
    return select_investor(everyone, investor_id)
