"""Per-pair features of the candidate grid, computed from the history alone, for the learned fusion.

For a window starting at ``t_start`` every feature of a (company c, investor i) pair is a function of
the events with t <= t_start (the history H of the protocol) and of the static node features; nothing
of the window is ever read. Features come in three kinds:

* investor-only (I,): event count, recency-weighted count, events in the last year, days since the
  first and the last event, distinct companies funded, share of its deals that were a first deal
  with the company ("new-company share");
* company-only (C,): distinct investors, events, days since the first and the last round;
* pairwise (C, I): the baselines' co-investment and personalised PageRank scores, the
  recency-decayed co-investment (each co-investment path weighted by the decay of its two links),
  how many of c's investors co-invested with i, how often i entered companies after c's investors
  had (raw and recency-decayed) or in the same round as them, the cosine similarity of c's static features with
  the mean static features of the companies i funded, and the same for the round-type mix (mean edge
  features) of c's rounds and of i's deals; i's recency-decayed deals weighted by c's static features
  (with categories one-hot: its recent deals in c's categories), the same over i's first deal with each
  company only (its recent entries into companies like c, follow-on rounds left out), and the cosine of c's last round with
  i's recency-decayed round mix (is i active lately at the stage c has reached); the gap between the
  log amount of c's last round and i's mean log round amount, and i's recency-decayed share of deals at
  the stage after c's last round (:mod:`tgnrank.eval.round_columns` finds those columns by name; without
  them both are missing values).

``PairFeatures.block(row_start, row_stop)`` returns a (rows, I, F) float32 array for candidate
companies ``[row_start, row_stop)`` against every investor of the grid, so the fusion ranks the
whole grid block by block without holding every pair at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from tgnrank.data.arrays import ZERO_NORM, unit_rows
from tgnrank.eval.baselines import (
    RECENCY_HALF_LIFE_DAYS,
    CoinvestmentScorer,
    HistoryGraph,
    PersonalizedPageRankScorer,
)
from tgnrank.eval.protocol import CandidateSet
from tgnrank.eval.round_columns import RoundColumns

RECENT_DAYS = 365.0
LOCAL_PPR_RESTART = 0.5

INVESTOR_FEATURES = (
    "investor_log_events",
    "investor_log_recency",
    "investor_log_events_last_year",
    "investor_log_days_since_first",
    "investor_log_days_since_last",
    "investor_log_companies",
    "investor_new_company_share",
)
COMPANY_FEATURES = (
    "company_log_investors",
    "company_log_events",
    "company_log_days_since_first",
    "company_log_days_since_last",
)
PAIR_FEATURES = (
    "log_coinvestment",
    "log_decayed_coinvestment",
    "log_coinvestors",
    "log_follows",
    "log_decayed_follows",
    "log_same_round",
    "ppr",
    "local_ppr",
    "resource_allocation",
    "static_similarity",
    "static_share",
    "round_mix_similarity",
    "log_decayed_category_deals",
    "log_decayed_category_entries",
    "recent_round_similarity",
    "amount_gap",
    "next_stage_share",
)
FEATURE_NAMES = INVESTOR_FEATURES + COMPANY_FEATURES + PAIR_FEATURES


@dataclass
class PairFeatures:
    """Feature blocks of one candidate grid; build with :meth:`from_candidates`."""

    candidates: CandidateSet
    investor_columns: np.ndarray  # (I, len(INVESTOR_FEATURES))
    company_columns: np.ndarray  # (C, len(COMPANY_FEATURES))
    coinvestment: CoinvestmentScorer
    ppr: PersonalizedPageRankScorer
    local_ppr: PersonalizedPageRankScorer
    allocation_links: sparse.csr_matrix  # (C_history, I) A / deg(company)
    allocation_links_t: sparse.csr_matrix  # (I, C_history) A^T / deg(investor)
    decayed_links: sparse.csr_matrix  # (C_history, I) sum of decayed event weights per linked pair
    decayed_links_t: sparse.csr_matrix  # its transpose, CSR
    coinvestors: sparse.csr_matrix  # (I, I) 1 where two distinct investors share a company
    follows: sparse.csr_matrix  # (I, I) [j, i]: companies i first entered after j had
    decayed_follows: sparse.csr_matrix  # the same, each follow weighted by the decay of i's entry
    same_round: sparse.csr_matrix  # (I, I) [j, i]: companies j and i first entered at the same time
    candidate_rows: np.ndarray  # (C,) rows of the candidate companies in the history graph
    company_static: np.ndarray  # (C, S) unit rows
    investor_static: np.ndarray  # (I, S) unit rows
    company_static_raw: np.ndarray  # (C, S)
    investor_static_share: np.ndarray  # (I, S) mean static features of the companies each investor funded
    company_rounds: np.ndarray  # (C, E) unit rows
    investor_rounds: np.ndarray  # (I, E) unit rows
    investor_decayed_static: np.ndarray  # (I, S) sum over i's deals of decay * the company's static features
    investor_decayed_entry_static: np.ndarray  # (I, S) the same over i's first deal with each company only
    company_last_round: np.ndarray  # (C, E) unit rows: the column-scaled edge features of c's latest event
    investor_decayed_rounds: np.ndarray  # (I, E) unit rows of the decay-weighted sum of i's deals' edge features
    company_last_amount: np.ndarray  # (C,) log amount of c's latest round, NaN if unknown
    investor_mean_amount: np.ndarray  # (I,) mean log amount of i's deals with a known amount, NaN if none
    company_next_stage: np.ndarray  # (C, n_stages) one-hot of the stage after c's latest round
    investor_stage_share: np.ndarray  # (I, n_stages) i's recency-decayed deals per stage, rows summing to 1
    has_stages: bool  # whether the edge columns name ordered stages

    @property
    def names(self) -> tuple[str, ...]:
        return FEATURE_NAMES

    def company_matrix(self) -> np.ndarray:
        """(C, F_c) float32 features of each candidate company alone (:func:`company_matrix_names`): its
        activity columns, static features, round mix and last round."""
        return np.hstack(
            [self.company_columns, self.company_static_raw, self.company_rounds, self.company_last_round]
        ).astype(np.float32)

    @classmethod
    def from_candidates(
        cls,
        candidates: CandidateSet,
        static_node_features: np.ndarray,
        edge_features: np.ndarray,
        half_life: float = RECENCY_HALF_LIFE_DAYS,
        edge_names=(),
    ) -> "PairFeatures":
        """Build from the window's candidate set, the static node features (N + 1, S) and the edge
        features (n_events + 1, E), whose columns ``edge_names`` names (:class:`RoundColumns`); only the
        history's rows of either are read."""
        history, t_start = candidates.history, candidates.t_start
        graph = HistoryGraph.from_candidates(candidates)
        rows = np.searchsorted(graph.companies, history.sources)
        cols = np.searchsorted(graph.investors, history.destinations)
        shape = (len(graph.companies), len(graph.investors))
        decay = 0.5 ** ((t_start - history.timestamps) / half_life)
        decayed_links = sparse.csr_matrix((decay, (rows, cols)), shape=shape)
        decayed_links.sum_duplicates()

        investor_static_share = _mean_by_group(static_node_features[history.sources], cols, len(graph.investors))
        company_static_raw = np.asarray(static_node_features[candidates.companies], dtype=np.float64)
        company_degree = np.maximum(np.asarray(graph.links.sum(axis=1)).ravel(), 1.0)
        investor_degree = np.maximum(np.asarray(graph.links.sum(axis=0)).ravel(), 1.0)
        round_features = edge_features[history.edge_idxs]
        investor_rounds = unit_rows(_mean_by_group(round_features, cols, len(graph.investors)))
        company_rounds = unit_rows(_mean_by_group(round_features, rows, len(graph.companies)))[
            graph.candidate_rows
        ]
        decayed_by_investor = sparse.csr_matrix(
            (decay, (cols, np.arange(len(cols)))), shape=(len(graph.investors), len(cols))
        )
        entries = _first_deal_of_pair(history.timestamps, rows, cols, len(graph.investors))
        decayed_entries = sparse.csr_matrix(
            (decay[entries], (cols[entries], entries)), shape=(len(graph.investors), len(cols))
        )
        last_event = _last_event_of_group(history.timestamps, rows, len(graph.companies))
        # Each column scaled to at most 1 so that an amount column does not outweigh the round types.
        scaled_rounds = round_features / np.maximum(np.abs(round_features).max(axis=0), ZERO_NORM)
        columns = RoundColumns.from_names(edge_names)
        amounts = columns.amounts(round_features)
        known = ~np.isnan(amounts)
        amount_sums = np.bincount(cols[known], weights=amounts[known], minlength=len(graph.investors))
        amount_counts = np.bincount(cols[known], minlength=len(graph.investors))
        stage_share = np.asarray(decayed_by_investor @ columns.stage_mix(round_features))
        company_last = last_event[graph.candidate_rows]
        return cls(
            candidates=candidates,
            investor_columns=_investor_columns(history, cols, entries, len(graph.investors), t_start, half_life),
            company_columns=_company_columns(history, rows, len(graph.companies), t_start)[graph.candidate_rows],
            coinvestment=CoinvestmentScorer(graph),
            ppr=PersonalizedPageRankScorer(graph),
            local_ppr=PersonalizedPageRankScorer(graph, restart=LOCAL_PPR_RESTART),
            allocation_links=sparse.diags(1.0 / company_degree) @ graph.links,
            allocation_links_t=(graph.links @ sparse.diags(1.0 / investor_degree)).T.tocsr(),
            decayed_links=decayed_links,
            decayed_links_t=decayed_links.T.tocsr(),
            coinvestors=_coinvestor_graph(graph.links),
            **_entry_order_graphs(history, cols, len(graph.investors), t_start, half_life),
            candidate_rows=graph.candidate_rows,
            company_static=unit_rows(company_static_raw),
            investor_static=unit_rows(investor_static_share),
            company_static_raw=company_static_raw,
            investor_static_share=investor_static_share,
            company_rounds=company_rounds,
            investor_rounds=investor_rounds,
            investor_decayed_static=np.asarray(decayed_by_investor @ static_node_features[history.sources]),
            investor_decayed_entry_static=np.asarray(decayed_entries @ static_node_features[history.sources]),
            company_last_round=unit_rows(scaled_rounds[company_last]),
            investor_decayed_rounds=unit_rows(np.asarray(decayed_by_investor @ scaled_rounds)),
            company_last_amount=amounts[company_last],
            investor_mean_amount=np.where(amount_counts > 0, amount_sums / np.maximum(amount_counts, 1), np.nan),
            company_next_stage=columns.next_stage(round_features[company_last]),
            investor_stage_share=stage_share / np.maximum(stage_share.sum(axis=1, keepdims=True), ZERO_NORM),
            has_stages=bool(columns.stages),
        )

    def block(self, row_start: int, row_stop: int) -> np.ndarray:
        """(row_stop - row_start, I, F) float32 features of those candidate companies against every investor."""
        n_rows, n_investors = row_stop - row_start, self.investor_columns.shape[0]
        out = np.empty((n_rows, n_investors, len(FEATURE_NAMES)), dtype=np.float32)
        n_i, n_c = len(INVESTOR_FEATURES), len(COMPANY_FEATURES)
        out[:, :, :n_i] = self.investor_columns[None, :, :]
        out[:, :, n_i : n_i + n_c] = self.company_columns[row_start:row_stop, None, :]
        pairs = out[:, :, n_i + n_c :]
        history_rows = self.candidate_rows[row_start:row_stop]
        pairs[:, :, 0] = np.log1p(self.coinvestment.score_block(row_start, row_stop))
        pairs[:, :, 1] = np.log1p(self._decayed_coinvestment(history_rows))
        pairs[:, :, 2] = np.log1p(self._coinvestors(history_rows))
        own = self.decayed_links[history_rows]
        own.data[:] = 1.0
        for offset, graph in enumerate((self.follows, self.decayed_follows, self.same_round)):
            pairs[:, :, 3 + offset] = np.log1p((own @ graph).toarray())
        pairs[:, :, 6] = self.ppr.score_block(row_start, row_stop)
        pairs[:, :, 7] = self.local_ppr.score_block(row_start, row_stop)
        pairs[:, :, 8] = np.log1p(1e3 * self._resource_allocation(history_rows))
        pairs[:, :, 9] = self.company_static[row_start:row_stop] @ self.investor_static.T
        pairs[:, :, 10] = self.company_static_raw[row_start:row_stop] @ self.investor_static_share.T
        pairs[:, :, 11] = self.company_rounds[row_start:row_stop] @ self.investor_rounds.T
        for offset, profile in enumerate((self.investor_decayed_static, self.investor_decayed_entry_static)):
            weighted = self.company_static_raw[row_start:row_stop] @ profile.T
            pairs[:, :, 12 + offset] = np.sign(weighted) * np.log1p(np.abs(weighted))  # static features may be signed
        pairs[:, :, 14] = self.company_last_round[row_start:row_stop] @ self.investor_decayed_rounds.T
        pairs[:, :, 15] = self.company_last_amount[row_start:row_stop, None] - self.investor_mean_amount[None, :]
        pairs[:, :, 16] = (
            self.company_next_stage[row_start:row_stop] @ self.investor_stage_share.T if self.has_stages else np.nan
        )
        return out

    def _decayed_coinvestment(self, history_rows: np.ndarray) -> np.ndarray:
        """Sum over c's investors j and j's companies c' of decay(c, j) * decay(c', j) * decay(c', i).

        The paths through c' = c only reach investors already linked to c, which are not candidates.
        """
        own = self.decayed_links[history_rows]
        return ((own @ self.decayed_links_t) @ self.decayed_links).toarray()

    def _resource_allocation(self, history_rows: np.ndarray) -> np.ndarray:
        """Paths c -> j -> c' -> i, each weighted by 1 / (deg(j) * deg(c')): shared partners count more when
        they are selective (resource allocation index on the bipartite graph)."""
        own = self.decayed_links[history_rows]
        own.data[:] = 1.0
        return ((own @ self.allocation_links_t) @ self.allocation_links).toarray()

    def _coinvestors(self, history_rows: np.ndarray) -> np.ndarray:
        """How many of c's investors share at least one company with investor i."""
        own = self.decayed_links[history_rows]
        own.data[:] = 1.0
        return (own @ self.coinvestors).toarray()


def company_matrix_names(n_static: int, n_edge: int) -> tuple[str, ...]:
    """Column names of :meth:`PairFeatures.company_matrix` for S static and E edge features."""
    return (
        COMPANY_FEATURES
        + tuple(f"static_{k}" for k in range(n_static))
        + tuple(f"round_mix_{k}" for k in range(n_edge))
        + tuple(f"last_round_{k}" for k in range(n_edge))
    )


def _investor_columns(
    history, cols: np.ndarray, entries: np.ndarray, n_investors: int, t_start: float, half_life: float
) -> np.ndarray:
    """(I, len(INVESTOR_FEATURES)); ``entries`` indexes each (company, investor) pair's first event."""
    events = np.bincount(cols, minlength=n_investors).astype(np.float64)
    decay = 0.5 ** ((t_start - history.timestamps) / half_life)
    recency = np.bincount(cols, weights=decay, minlength=n_investors)
    recent = np.bincount(cols, weights=(t_start - history.timestamps) <= RECENT_DAYS, minlength=n_investors)
    first = np.full(n_investors, np.inf)
    np.minimum.at(first, cols, history.timestamps)
    last = np.full(n_investors, -np.inf)
    np.maximum.at(last, cols, history.timestamps)
    companies = np.bincount(cols[entries], minlength=n_investors).astype(np.float64)
    company_first = _first_event_of_company(history)
    new_company = np.bincount(cols[entries], weights=company_first[entries], minlength=n_investors)
    return np.column_stack(
        [
            np.log1p(events),
            np.log1p(recency),
            np.log1p(recent),
            np.log1p(t_start - first),
            np.log1p(t_start - last),
            np.log1p(companies),
            new_company / np.maximum(companies, 1.0),
        ]
    ).astype(np.float32)


def _first_event_of_company(history) -> np.ndarray:
    """(n_history,) 1.0 where the event is at the company's first timestamp (its first round)."""
    first = np.full(int(history.sources.max()) + 1, np.inf)
    np.minimum.at(first, history.sources, history.timestamps)
    return (history.timestamps == first[history.sources]).astype(np.float64)


def _company_columns(history, rows: np.ndarray, n_companies: int, t_start: float) -> np.ndarray:
    events = np.bincount(rows, minlength=n_companies).astype(np.float64)
    first = np.full(n_companies, np.inf)
    np.minimum.at(first, rows, history.timestamps)
    last = np.full(n_companies, -np.inf)
    np.maximum.at(last, rows, history.timestamps)
    pair_keys = rows.astype(np.int64) * (int(history.destinations.max()) + 1) + history.destinations
    investors = np.bincount(rows[np.unique(pair_keys, return_index=True)[1]], minlength=n_companies)
    return np.column_stack(
        [np.log1p(investors), np.log1p(events), np.log1p(t_start - first), np.log1p(t_start - last)]
    ).astype(np.float32)


def _entry_order_graphs(history, cols: np.ndarray, n_investors: int, t_start: float, half_life: float) -> dict:
    """Who follows whom into companies: for every company, each ordered pair of its investors (j, i)
    by the times they first funded it. ``follows[j, i]`` counts the companies i entered strictly after
    j, ``decayed_follows`` weights each by 0.5 ** ((t_start - t_i) / half_life), ``same_round`` counts
    the companies both entered at the same time (j != i)."""
    import pandas as pd

    entries = (
        pd.DataFrame({"company": history.sources, "investor": cols, "t": history.timestamps})
        .groupby(["company", "investor"], as_index=False, sort=False)["t"]
        .min()
    )
    pairs = entries.merge(entries, on="company", suffixes=("_j", "_i"))
    earlier = (pairs.t_j < pairs.t_i).to_numpy()
    together = ((pairs.t_j == pairs.t_i) & (pairs.investor_j != pairs.investor_i)).to_numpy()
    j, i, t_i = pairs.investor_j.to_numpy(), pairs.investor_i.to_numpy(), pairs.t_i.to_numpy()

    def graph(mask, weights=None):
        values = np.ones(int(mask.sum())) if weights is None else weights[mask]
        matrix = sparse.csr_matrix((values, (j[mask], i[mask])), shape=(n_investors, n_investors))
        matrix.sum_duplicates()
        return matrix

    return {
        "follows": graph(earlier),
        "decayed_follows": graph(earlier, 0.5 ** ((t_start - t_i) / half_life)),
        "same_round": graph(together),
    }


def _coinvestor_graph(links: sparse.csr_matrix) -> sparse.csr_matrix:
    shared = (links.T @ links).tocsr()
    shared.setdiag(0)
    shared.eliminate_zeros()
    shared.data[:] = 1.0
    return shared


def _last_event_of_group(timestamps: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """(n_groups,) index of each group's latest event (the last in order among ties; 0 for an empty group)."""
    order = np.lexsort((np.arange(len(groups)), timestamps, groups))
    sorted_groups = groups[order]
    run_ends = np.flatnonzero(np.append(sorted_groups[1:] != sorted_groups[:-1], True))
    last = np.zeros(n_groups, dtype=np.int64)
    last[sorted_groups[run_ends]] = order[run_ends]
    return last


def _first_deal_of_pair(timestamps: np.ndarray, rows: np.ndarray, cols: np.ndarray, n_investors: int) -> np.ndarray:
    """Indices of each (company row, investor column) pair's earliest event (the first in order among ties)."""
    order = np.lexsort((np.arange(len(rows)), timestamps))
    keys = rows[order].astype(np.int64) * n_investors + cols[order]
    return order[np.unique(keys, return_index=True)[1]]


def _mean_by_group(values: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """(n_groups, D) mean of the rows of ``values`` (n, D) in each group (zeros for empty groups)."""
    membership = sparse.csr_matrix(
        (np.ones(len(groups)), (groups, np.arange(len(groups)))), shape=(n_groups, len(groups))
    )
    counts = np.bincount(groups, minlength=n_groups)
    return np.asarray(membership @ values) / np.maximum(counts, 1)[:, None]

