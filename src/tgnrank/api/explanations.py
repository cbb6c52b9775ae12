"""Explanations in the Python API: :func:`explain`, and the evidence behind each recommended investor.

They run what ``tgnrank explain`` and ``recommend --explain`` run (:mod:`tgnrank.eval.explain`): the
evidence comes from the history up to the recommendation time only, by name and date, and each kind of
evidence is a DataFrame of :class:`InvestorExplanation`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tgnrank.api.recommendations import recommendation_inputs

DEAL_COLUMNS = ["company_id", "company", "investor_id", "investor", "day", "date"]


@dataclass(frozen=True, eq=False)
class InvestorExplanation:
    """Why one investor is ranked where it is for a company: ``explanation`` is the library's
    :class:`~tgnrank.eval.explain.Explanation`, ``recommendations`` the one-investor
    :class:`~tgnrank.eval.recommend.Recommendations` it explains."""

    explanation: object = field(repr=False)
    recommendations: object = field(repr=False)

    def __repr__(self) -> str:
        e = self.explanation
        return (f"InvestorExplanation({e.investor!r} for {self.recommendations.company!r}: rank {e.rank} of "
                f"{e.n_candidates}, score {e.score:.4g}, {e.evidence.n_coinvestors} co-investor(s))")

    @property
    def summary(self) -> dict:
        """The ranker's view: company, investor, ``rank`` of ``n_candidates``, ``score``, ``percentile``,
        ``ranker`` (model or fusion) and the recommendation date ``at``."""
        from tgnrank.data.dates import day_to_iso

        e, r = self.explanation, self.recommendations
        return {"company": r.company, "company_id": r.company_id, "investor": e.investor,
                "investor_id": e.investor_id, "rank": e.rank, "n_candidates": e.n_candidates, "score": e.score,
                "percentile": e.percentile, "ranker": e.ranker, "at": day_to_iso(r.at)}

    @property
    def coinvestors(self) -> pd.DataFrame:
        """The company's past investors that co-invested with this one: companies shared, joint rounds,
        the latest joint round's date and the shared companies, most recent first."""
        rows = [{
            "partner_id": partner.partner_id,
            "partner": partner.partner,
            "n_shared_companies": partner.n_shared_companies,
            "n_joint_rounds": partner.n_joint_rounds,
            "last_joint_round": partner.last_joint_round[0].date if partner.last_joint_round else None,
            "partner_deal_in_company": partner.deal_in_company.date,
            "shared_companies": [pair[0].company for pair in partner.shared],
        } for partner in self.explanation.evidence.coinvestors]
        return pd.DataFrame(rows, columns=["partner_id", "partner", "n_shared_companies", "n_joint_rounds",
                                           "last_joint_round", "partner_deal_in_company", "shared_companies"])

    @property
    def paths(self) -> pd.DataFrame:
        """The heaviest company -> partner -> via -> investor paths, with the dates of their three deals."""
        rows = [{"partner": path.partner, "via": path.via, "walk_probability": path.walk_probability,
                 "decayed_weight": path.decayed_weight, "dates": [deal.date for deal in path.deals]}
                for path in self.explanation.evidence.paths]
        return pd.DataFrame(rows, columns=["partner", "via", "walk_probability", "decayed_weight", "dates"])

    @property
    def activity(self) -> pd.DataFrame:
        """Deals in the last 12 months against the long-run yearly rate: overall, in the company's
        categories and at its stage (one row per ``scope``)."""
        rows = [{"scope": scope.scope, "description": scope.description,
                 "deals_last_12_months": scope.deals_last_12_months, "deals_total": scope.deals_total,
                 "long_run_per_year": scope.long_run_per_year} for scope in self.explanation.evidence.activity]
        return pd.DataFrame(rows, columns=["scope", "description", "deals_last_12_months", "deals_total",
                                           "long_run_per_year"])

    @property
    def similar_deals(self) -> pd.DataFrame:
        """The investor's past deals in the companies most like this one (cosine of static features)."""
        rows = [{"company_id": similar.deal.company_id, "company": similar.deal.company, "date": similar.deal.date,
                 "similarity": similar.similarity, "shared_categories": list(similar.shared_categories)}
                for similar in self.explanation.evidence.similar_deals]
        return pd.DataFrame(rows, columns=["company_id", "company", "date", "similarity", "shared_categories"])

    @property
    def contributions(self) -> pd.DataFrame | None:
        """With the fusion ranking: each signal's value and contribution to the fused score, largest
        first (``attrs``: ``fused_score`` and ``expected_value``, which the contributions add up from)."""
        fused = self.explanation.contributions
        if fused is None:
            return None
        frame = pd.DataFrame([{"feature": item.feature, "value": item.value, "contribution": item.contribution}
                              for item in fused.items], columns=["feature", "value", "contribution"])
        frame.attrs.update(fused_score=fused.fused_score, expected_value=fused.expected_value)
        return frame

    @property
    def cited_deals(self) -> pd.DataFrame:
        """Every deal the evidence cites (each one an event of the history up to the date)."""
        return pd.DataFrame([vars(deal) for deal in self.explanation.cited_deals()], columns=DEAL_COLUMNS)

    def to_dict(self) -> dict:
        """The JSON object of ``--format json``'s ``explanations``."""
        from tgnrank.eval.explain import explanation_json

        return explanation_json(self.explanation)

    def text(self) -> str:
        """The text ``tgnrank explain`` prints under "Why"."""
        from tgnrank.eval.explain_format import format_explanations

        return format_explanations([self.explanation])

    def html(self) -> str:
        """The self-contained page of ``tgnrank explain --format html``."""
        from tgnrank.eval.explain_format import explanations_html

        return explanations_html(self.recommendations, [self.explanation])


def explain(
    model,
    company: str | int,
    investor: str | int,
    at=None,
    data=None,
    data_dir: str | Path = "data",
    fusion=None,
    device=None,
    batch_size: int | None = None,
) -> InvestorExplanation:
    """Why ``model`` (or, with ``fusion``, the learned fusion) ranks ``investor`` where it does for
    ``company`` at ``at``, as ``tgnrank explain``: the investor is ranked among all the company's
    candidates and its evidence read from the history up to ``at``.

    ``company`` and ``investor``: a name (case-insensitive) or a node id; ``at``, ``data`` and ``fusion``
    as for :func:`tgnrank.recommend`. A past investor of the company, or one without a deal by ``at``,
    is refused (ConfigError).
    """
    from tgnrank.data.events import INVESTOR
    from tgnrank.eval.explain import investor_recommendation
    from tgnrank.eval.recommend import find_node

    model, data, company_id, when, device, ranker = recommendation_inputs(
        model, company, at, data, data_dir, device, batch_size, fusion
    )
    investor_id = find_node(data, f"#{investor}" if isinstance(investor, int) else investor, INVESTOR, "investor")
    found = investor_recommendation(model.checkpoint, data, company_id, investor_id, when, device, batch_size, ranker)
    return explanations_of(found, data)[0]


def explanations_of(recommendations, data) -> list[InvestorExplanation]:
    """One InvestorExplanation per recommended investor, in rank order."""
    import dataclasses

    from tgnrank.eval.explain import explain_recommendations

    explained = explain_recommendations(recommendations, data)
    return [InvestorExplanation(explanation, dataclasses.replace(recommendations, items=[item]))
            for explanation, item in zip(explained, recommendations.items)]
