"""Recommendations for a company that is not in the data, from its attributes alone.

A brand-new company has no event, hence an empty memory, no temporal neighbour and (with
``activity_features``) an all-zero activity row: the model embeds it from its static node features
only, exactly as it embeds the brand-new companies of ``diagnose --scope new_companies``. Node 0 is
such a node: the padding row, which no event touches. Its feature row is set to the company's
(:func:`tgnrank.eval.company_profiles.profile_vector`, from its ``categories`` and ``country``) and the
model scores node 0 against every investor of the history. Padded neighbour slots also point at node
0, but the embedding masks them, so no investor's score changes (tested: a profile equal to a real
brand-new company's features gets that company's scores).

Beside the model's score each investor shows what category popularity sees: its deals in each of the
company's categories, summed over them, and, with a ``round_type``, its share of deals of that round type.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from tgnrank.data.dates import day_to_iso
from tgnrank.data.events import EventData
from tgnrank.errors import TgnrankError
from tgnrank.eval.baselines import CategoryPopularityScorer
from tgnrank.eval.company_profiles import (
    NO_ROUND_TYPE,
    category_columns,
    node_categories,
    profile_vector,
    round_type_index,
)
from tgnrank.eval.new_company_features import NewCompanyFeatures
from tgnrank.eval.recommend import Recommendation, Recommendations, company_grid, rank_candidates

PROBE_NODE = 0


@dataclass(frozen=True)
class NewCompany:
    """A company not in the data: its name (shown only), category labels, country and next round type."""

    name: str
    categories: tuple[str, ...] = ()
    country: str | None = None
    round_type: str | None = None


@dataclass(frozen=True)
class NewCompanyRecommendations:
    """The model's recommendations and, per listed investor (same order), its deals in each of the
    company's categories summed over them, and its share of deals of the round type (None without ``round_type``)."""

    company: NewCompany
    recommendations: Recommendations
    category_deals: list[int]
    round_type_shares: list[float] | None


def recommend_for_new_company(
    checkpoint: dict,
    data: EventData,
    company: NewCompany,
    at: float,
    k: int = 20,
    device=None,
    batch_size: int | None = None,
) -> NewCompanyRecommendations:
    """The ``k`` investors the model scores highest for ``company`` at ``at`` (history: t <= at)."""
    import torch

    from tgnrank.eval.scoring import model_scorer_from_checkpoint

    vector = profile_vector(data, list(company.categories), company.country)
    round_type = round_type_index(data, company.round_type)
    history = data.events.select(data.events.timestamps <= at)
    if len(history) == 0:
        raise TgnrankError(f"no event at or before {day_to_iso(at)}: there is no history to recommend from")
    grid = company_grid(history, PROBE_NODE, at)
    features = np.array(data.node_features, copy=True)
    features[PROBE_NODE] = vector
    probed = dataclasses.replace(data, node_features=features)
    scorer, _ = model_scorer_from_checkpoint(checkpoint, probed, grid, device or torch.device("cpu"), batch_size)
    logits = np.asarray(scorer.score_block(0, 1)[0], dtype=np.float64)
    order, percentiles = rank_candidates(logits, grid.investors)
    order, percentiles = order[:k], percentiles[:k]
    items = [
        Recommendation(rank=rank, investor_id=int(grid.investors[column]),
                       investor=str(data.node_names[grid.investors[column]]), score=float(logits[column]),
                       percentile=float(percentile), invested_later=False)
        for rank, (column, percentile) in enumerate(zip(order.tolist(), percentiles.tolist()), 1)
    ]
    recommendations = Recommendations(
        company_id=PROBE_NODE, company=company.name, at=float(at), n_history_events=len(history), past_investors=[],
        n_candidates=grid.n_investors, n_later_events=0, items=items,
    )
    deals, shares = _context(probed, grid, round_type)
    return NewCompanyRecommendations(
        company, recommendations, [int(deals[column]) for column in order],
        None if shares is None else [float(shares[column]) for column in order],
    )


def _context(probed: EventData, grid, round_type: int) -> tuple[np.ndarray, np.ndarray | None]:
    """(I,) deals of each investor in the company's categories, and (I,) its share of ``round_type``."""
    categories = node_categories(probed)
    deals = np.floor(CategoryPopularityScorer(grid, categories[grid.companies], categories).score_block(0, 1)[0])
    if round_type == NO_ROUND_TYPE:
        return deals, None
    features = NewCompanyFeatures.from_candidates(grid, probed)
    return deals, features.round_type_shares[:, round_type]


def new_company_json(result: NewCompanyRecommendations) -> dict:
    """JSON-ready: the company's profile and each recommendation with its context columns."""
    from tgnrank.eval.recommend import recommendations_json

    payload = recommendations_json(result.recommendations)
    payload["company_id"] = None
    payload["new_company"] = dataclasses.asdict(result.company)
    for position, row in enumerate(payload["recommendations"]):
        row.pop("invested_later")
        row["category_deals"] = result.category_deals[position]
        if result.round_type_shares is not None:
            row["round_type_share"] = result.round_type_shares[position]
    return payload


def format_new_company(result: NewCompanyRecommendations, data: EventData) -> str:
    """The recommendations as text: the profile, then rank, investor, score, percentile and context."""
    company, r = result.company, result.recommendations
    labels = ", ".join(company.categories) or "none"
    lines = [
        f"Investors most likely to invest in {company.name} (not in the data: scored from its attributes, with an "
        f"empty memory), as of {day_to_iso(r.at)} (history of {r.n_history_events:,} events; "
        f"{r.n_candidates:,} candidate investors)",
        f"categories: {labels}" + (f"; country: {company.country}" if company.country else "")
        + (f"; round type: {company.round_type}" if company.round_type else ""),
        "score: the model's logit (uncalibrated); category deals: the investor's deals in each of these "
        f"categories, summed over them (category popularity; {len(category_columns(data))} labels known)"
        + ("; round-type share: its share of deals of that round type" if company.round_type else ""),
        "",
    ]
    width = max([len("investor"), *(len(item.investor) for item in r.items)])
    header = f"{'rank':>4}  {'investor'.ljust(width)}  {'score':>8}  {'percentile':>10}  {'category deals':>14}"
    header += "  round-type share" if result.round_type_shares is not None else ""
    lines += [header, "-" * len(header)]
    for position, item in enumerate(r.items):
        line = (f"{item.rank:>4}  {item.investor.ljust(width)}  {item.score:>8.3f}  {item.percentile:>10.2f}  "
                f"{result.category_deals[position]:>14d}")
        if result.round_type_shares is not None:
            line += f"  {result.round_type_shares[position]:>16.2f}"
        lines.append(line)
    return "\n".join(lines)

