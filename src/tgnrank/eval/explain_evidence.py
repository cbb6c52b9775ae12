"""The evidence for one (company c, investor i) pair, from a :class:`~tgnrank.eval.explain_history.HistoryIndex`.

* **Co-investors**: c's past investors j that funded a company c' (other than c) that i funded too.
  Per partner: how many such companies (its share of the co-investment baseline's count), how many
  rounds (company, day) j and i joined together, the latest of them, and the shared companies,
  most recent first, each with j's and i's latest deal there.
* **Paths**: the 3-hop paths c -j- c' -i behind the personalised PageRank and walk signals, heaviest
  first. ``walk_probability`` = 1 / (deg c * deg j * deg c'), the chance that a random walk from c
  follows the path (PageRank's restart only scales all paths of one length alike), and
  ``decayed_weight`` the product of the three links' recency-decayed event weights (half-life one
  year), the path's term in the decayed co-investment and the walk encoding.
* **Activity**: i's deals in the last 365 days against its long-run yearly rate (deals since its first
  one divided by the years since then, at least one), for all its deals, those in companies sharing a
  category label with c, and those at c's current stage (the stage of c's latest round).
* **Similar deals**: the companies i funded whose static features are closest to c's (cosine; among
  equals, the latest deal first), with i's latest deal there and the category labels they share with c.

Each is a few sparse slices of the history for one pair: the loops here run over the handful of items
shown, never over events.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tgnrank.eval.explain_history import Deal, HistoryIndex

RECENT_DAYS = 365.0
SHOWN_COINVESTORS = 5
SHOWN_SHARED = 3
SHOWN_PATHS = 5
SHOWN_RECENT_DEALS = 3
SHOWN_SIMILAR = 3


@dataclass(frozen=True)
class Coinvestor:
    """One of c's past investors that co-invested with i (see the module docstring)."""

    partner_id: int
    partner: str
    deal_in_company: Deal  # the partner's latest deal in c
    n_shared_companies: int
    n_joint_rounds: int
    last_joint_round: list[Deal]  # the partner's and i's deals of their latest joint round, or []
    shared: list[list[Deal]]  # per shared company, most recent first: [partner's deal, i's deal]


@dataclass(frozen=True)
class ThreeHopPath:
    """c -partner- via -i, with the three links' latest deals in path order."""

    partner: str
    via: str
    walk_probability: float
    decayed_weight: float
    deals: list[Deal]


@dataclass(frozen=True)
class Activity:
    """i's deals in one scope (``all``, ``category``, ``stage``): the last 365 days against the long run."""

    scope: str
    description: str
    deals_last_12_months: int
    deals_total: int
    long_run_per_year: float
    recent_deals: list[Deal]  # the latest ones in the last 365 days


@dataclass(frozen=True)
class SimilarDeal:
    """A company i funded, its static-feature similarity to c, and the category labels both carry."""

    similarity: float
    shared_categories: list[str]
    deal: Deal


@dataclass(frozen=True)
class PairEvidence:
    n_coinvestors: int
    n_paths: int
    coinvestors: list[Coinvestor]
    paths: list[ThreeHopPath]
    activity: list[Activity]
    similar_deals: list[SimilarDeal]

    def cited_deals(self) -> list[Deal]:
        """Every deal this evidence cites."""
        deals = []
        for partner in self.coinvestors:
            deals += [partner.deal_in_company, *partner.last_joint_round, *(d for pair in partner.shared for d in pair)]
        for path in self.paths:
            deals += path.deals
        for scope in self.activity:
            deals += scope.recent_deals
        return deals + [similar.deal for similar in self.similar_deals]


def pair_evidence(index: HistoryIndex, company_id: int, investor_id: int) -> PairEvidence:
    """The evidence for (company_id, investor_id); the investor must occur in the history."""
    row, col = index.company_row(company_id), index.investor_col(investor_id)
    if col < 0:
        raise ValueError(f"investor {investor_id} has no deal in the history up to day {index.at:g}")
    via_rows, partner_cols = _paths(index, row, col)
    return PairEvidence(
        n_coinvestors=len(np.unique(partner_cols)),
        n_paths=len(via_rows),
        coinvestors=_coinvestors(index, row, col, via_rows, partner_cols),
        paths=_top_paths(index, row, col, via_rows, partner_cols),
        activity=_activity(index, company_id, row, col),
        similar_deals=_similar_deals(index, company_id, col),
    )


def _paths(index: HistoryIndex, row: int, col: int) -> tuple[np.ndarray, np.ndarray]:
    """(P,) company rows c' and partner columns j of the paths c -j- c' -i (c' != c)."""
    if row < 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    partners = index.links.indices[index.links.indptr[row] : index.links.indptr[row + 1]]
    funded = index.links_csc.indices[index.links_csc.indptr[col] : index.links_csc.indptr[col + 1]]
    funded = funded[funded != row]
    shared = index.links[funded][:, partners].tocoo()
    return funded[shared.row].astype(np.int64), partners[shared.col].astype(np.int64)


def _coinvestors(index, row, col, via_rows, partner_cols) -> list[Coinvestor]:
    if len(partner_cols) == 0:
        return []
    joint_partners, joint_rounds = _joint_rounds(index, row, col)
    partners, n_shared = np.unique(partner_cols, return_counts=True)
    n_joint = np.bincount(np.searchsorted(partners, joint_partners), minlength=len(partners))
    # Recency of a shared company: the later of the partner's and i's latest deals there.
    recency = np.maximum(
        index.pair_last[index.pair_positions(via_rows, partner_cols)],
        index.pair_last[index.pair_positions(via_rows, np.full(len(via_rows), col))],
    )
    last_shared = np.full(len(partners), -np.inf)
    np.maximum.at(last_shared, np.searchsorted(partners, partner_cols), recency)
    top = np.lexsort((partners, -last_shared, -n_joint, -n_shared))[:SHOWN_COINVESTORS]
    out = []
    for k in top:
        partner = partners[k]
        mine = np.flatnonzero(partner_cols == partner)
        mine = mine[np.argsort(-recency[mine], kind="stable")][:SHOWN_SHARED]
        rounds = joint_rounds[joint_partners == partner]
        latest = [] if len(rounds) == 0 else _round_deals(index, rounds[np.argmax(index.round_day[rounds])], partner, col)
        out.append(Coinvestor(
            partner_id=int(index.investors[partner]),
            partner=str(index.data.node_names[index.investors[partner]]),
            deal_in_company=index.last_deals(np.array([row]), np.array([partner]))[0],
            n_shared_companies=int(n_shared[k]),
            n_joint_rounds=int(n_joint[k]),
            last_joint_round=latest,
            shared=[
                index.last_deals(np.array([via, via]), np.array([partner, col]))
                for via in via_rows[mine]
            ],
        ))
    return out


def _joint_rounds(index: HistoryIndex, row: int, col: int) -> tuple[np.ndarray, np.ndarray]:
    """(partner columns, rounds) of the rounds that i and one of c's past investors joined together."""
    partners = index.links.indices[index.links.indptr[row] : index.links.indptr[row + 1]]
    rounds = index.round_links_csc.indices[index.round_links_csc.indptr[col] : index.round_links_csc.indptr[col + 1]]
    rounds = rounds[index.round_company[rounds] != row]
    together = index.round_links[rounds][:, partners].tocoo()
    return partners[together.col].astype(np.int64), rounds[together.row].astype(np.int64)


def _round_deals(index: HistoryIndex, round_id: int, partner: int, col: int) -> list[Deal]:
    company = index.companies[index.round_company[round_id]]
    day = index.round_day[round_id]
    return [index.deal(company, index.investors[partner], day), index.deal(company, index.investors[col], day)]


def _top_paths(index, row, col, via_rows, partner_cols) -> list[ThreeHopPath]:
    if len(via_rows) == 0:
        return []
    own = np.full(len(via_rows), row)
    mine = np.full(len(via_rows), col)
    walk = 1.0 / (
        index.company_degree[row] * index.investor_degree[partner_cols] * index.company_degree[via_rows]
    )
    decayed = (
        index.pair_decay[index.pair_positions(own, partner_cols)]
        * index.pair_decay[index.pair_positions(via_rows, partner_cols)]
        * index.pair_decay[index.pair_positions(via_rows, mine)]
    )
    top = np.lexsort((via_rows, partner_cols, -decayed, -walk))[:SHOWN_PATHS]
    names = index.data.node_names
    return [
        ThreeHopPath(
            partner=str(names[index.investors[partner_cols[k]]]),
            via=str(names[index.companies[via_rows[k]]]),
            walk_probability=float(walk[k]),
            decayed_weight=float(decayed[k]),
            deals=index.last_deals(
                np.array([row, via_rows[k], via_rows[k]]), np.array([partner_cols[k], partner_cols[k], col])
            ),
        )
        for k in top
    ]


def _activity(index: HistoryIndex, company_id: int, row: int, col: int) -> list[Activity]:
    positions = index.investor_events(col)
    days = index.history_days[positions]
    scopes = [("all", "all its deals", np.ones(len(positions), dtype=bool))]
    labels = index.company_categories([company_id])[0]
    if labels.any():
        funded = index.company_categories(index.history_sources[positions])
        names = ", ".join(np.array(index.category_labels)[labels])
        scopes.append(("category", f"deals in companies of a category of this one ({names})", (funded & labels).any(axis=1)))
    stage = _current_stage(index, row)
    if stage >= 0:
        scopes.append(("stage", f"deals at this company's stage ({index.stage_names[stage]})",
                       index.event_stage[positions] == stage))
    years = max((index.at - days[0]) / RECENT_DAYS, 1.0) if len(days) else 1.0
    out = []
    for scope, description, mask in scopes:
        recent = mask & (days > index.at - RECENT_DAYS)
        latest = positions[recent][::-1][:SHOWN_RECENT_DEALS]
        out.append(Activity(
            scope=scope, description=description,
            deals_last_12_months=int(recent.sum()), deals_total=int(mask.sum()),
            long_run_per_year=float(mask.sum() / years),
            recent_deals=[index.deal(index.history_sources[p], index.history_destinations[p], index.history_days[p])
                          for p in latest],
        ))
    return out


def _current_stage(index: HistoryIndex, row: int) -> int:
    """The stage of the company's latest round (the latest of its deals with a stage), -1 when unknown."""
    if row < 0:
        return -1
    company = index.companies[row]
    mine = np.flatnonzero((index.history_sources == company) & (index.event_stage >= 0))
    return -1 if len(mine) == 0 else int(index.event_stage[mine[np.argmax(index.history_days[mine])]])


def _similar_deals(index: HistoryIndex, company_id: int, col: int) -> list[SimilarDeal]:
    funded_rows = index.links_csc.indices[index.links_csc.indptr[col] : index.links_csc.indptr[col + 1]]
    funded = index.companies[funded_rows]
    keep = funded != company_id
    funded_rows, funded = funded_rows[keep], funded[keep]
    if len(funded) == 0:
        return []
    similarity = index.static_similarity(company_id, funded)
    # Many companies share their static features exactly (one category, one country): the latest deal first.
    last = index.pair_last[index.pair_positions(funded_rows, np.full(len(funded_rows), col))]
    top = np.lexsort((funded, -last, -similarity))[:SHOWN_SIMILAR]
    labels = index.company_categories(np.concatenate([[company_id], funded[top]]))
    deals = index.last_deals(funded_rows[top], np.full(len(top), col))
    return [
        SimilarDeal(
            similarity=float(similarity[k]),
            shared_categories=[str(index.category_labels[j]) for j in np.flatnonzero(labels[0] & labels[1 + n])],
            deal=deal,
        )
        for n, (k, deal) in enumerate(zip(top, deals))
    ]
