"""Per-pair features of a brand-new company's candidate grid, for the learned new-company ranker.

For a window starting at ``t_start``, a (company c, investor i) pair is described by what is known
then: the history H (events with t <= t_start) for the investor, and c's static attributes (category
labels) and first round type for the company (:mod:`tgnrank.eval.company_profiles`). c has no event
in H, so every company-side signal is an attribute. Columns:

* investor-only (I,): the time-aware activity statistics of :mod:`tgnrank.data.activity` as of just
  after ``t_start`` (event count, years since the first and last event, events in the last year,
  partners, the mean of the edge columns: stage and round-type shares, amounts), the
  recency-weighted event count, the share of its deals that were a company's first round, and its
  first rounds in the last year;
* pairwise (C, I), with n(i, k) the events of i in companies labelled k: the category count
  sum_k v_c[k] n(i, k) (the category-popularity baseline), the same over i's events as a share, with
  a one-year half-life, in the last year and over first rounds only (count and share of i's first
  rounds), and the specialisation: i's category share over the share of c's categories among all
  events of H; i's share of deals and of first rounds of c's round type;
* company-only (C,): number of labels, whether the first round type is known.

``NewCompanyFeatures.block(row_start, row_stop)`` returns a (rows, I, F) float32 array, so the ranker
scores the grid block by block like the fusion (:class:`tgnrank.eval.fusion.FusedScorer`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from tgnrank.data.activity import RECENT_DAYS, ActivityFeatures
from tgnrank.data.events import EventData
from tgnrank.eval.baselines import RECENCY_HALF_LIFE_DAYS
from tgnrank.eval.company_profiles import (
    NO_ROUND_TYPE,
    first_round_types,
    node_categories,
    round_type_columns,
)
from tgnrank.eval.protocol import CandidateSet

INVESTOR_EXTRA = ("investor_log_recency", "investor_first_round_share", "investor_log_first_rounds_last_year")
PAIR_FEATURES = (
    "log_category_events",
    "category_share",
    "log_decayed_category_events",
    "log_category_events_last_year",
    "log_category_first_rounds",
    "category_first_round_share",
    "category_specialisation",
    "round_type_share",
    "round_type_first_round_share",
)
COMPANY_FEATURES = ("company_n_labels", "company_has_round_type")


@dataclass
class NewCompanyFeatures:
    """Feature blocks of one brand-new-company grid; build with :meth:`from_candidates`."""

    candidates: CandidateSet
    investor_names: tuple[str, ...]
    investor_columns: np.ndarray  # (I, len(investor_names))
    company_categories: np.ndarray  # (C, K) 0/1
    round_types: np.ndarray  # (C,) index into the round-type columns, NO_ROUND_TYPE if unknown
    category_counts: np.ndarray  # (I, K) n(i, k); the other (I, K) tables the same with weights
    decayed_counts: np.ndarray
    recent_counts: np.ndarray
    first_round_counts: np.ndarray
    category_rates: np.ndarray  # (K,) share of H's events whose company carries label k
    events_per_investor: np.ndarray  # (I,)
    first_rounds_per_investor: np.ndarray  # (I,)
    round_type_shares: np.ndarray  # (I, T) share of i's deals of each round type
    round_type_first_shares: np.ndarray  # (I, T) share of i's first rounds of each round type

    @property
    def names(self) -> tuple[str, ...]:
        return self.investor_names + PAIR_FEATURES + COMPANY_FEATURES

    @classmethod
    def from_candidates(
        cls, candidates: CandidateSet, data: EventData, half_life: float = RECENCY_HALF_LIFE_DAYS
    ) -> "NewCompanyFeatures":
        """Build from the window's candidate set and ``data``'s static node and edge features; of the
        window, only each candidate company's first round type is read."""
        history, t_start = candidates.history, candidates.t_start
        cols = np.searchsorted(candidates.investors, history.destinations)
        n_investors = candidates.n_investors
        categories = node_categories(data)
        event_categories = categories[history.sources]  # (E, K)
        age = t_start - history.timestamps
        first_round = _first_round_events(history)
        weights = {
            "category_counts": np.ones(len(cols)),
            "decayed_counts": 0.5 ** (age / half_life),
            "recent_counts": (age <= RECENT_DAYS).astype(np.float64),
            "first_round_counts": first_round,
        }
        tables = {name: _per_investor(cols, w, event_categories, n_investors) for name, w in weights.items()}
        events = np.bincount(cols, minlength=n_investors).astype(np.float64)
        first_rounds = np.bincount(cols, weights=first_round, minlength=n_investors)
        round_columns = round_type_columns(data)
        event_rounds = data.edge_features[history.edge_idxs][:, round_columns.positions].astype(np.float64)
        activity = ActivityFeatures.from_data(data, history)
        at = float(np.nextafter(t_start, np.inf))  # activity reads strictly earlier events: include t_start's
        investor_columns = np.column_stack([
            activity.at(candidates.investors, at),
            np.log1p(np.bincount(cols, weights=weights["decayed_counts"], minlength=n_investors)),
            first_rounds / np.maximum(events, 1.0),
            np.log1p(np.bincount(cols, weights=first_round * weights["recent_counts"], minlength=n_investors)),
        ]).astype(np.float32)
        return cls(
            candidates=candidates,
            investor_names=tuple(_plain_name(name) for name in activity.names) + INVESTOR_EXTRA,
            investor_columns=investor_columns,
            company_categories=categories[candidates.companies],
            round_types=first_round_types(
                data.events, data.edge_features, round_columns, candidates.companies, t_start, candidates.t_end
            ),
            **tables,
            category_rates=event_categories.sum(axis=0) / max(len(cols), 1),
            events_per_investor=events,
            first_rounds_per_investor=first_rounds,
            round_type_shares=_per_investor(cols, np.ones(len(cols)), event_rounds, n_investors)
            / np.maximum(events, 1.0)[:, None],
            round_type_first_shares=_per_investor(cols, first_round, event_rounds, n_investors)
            / np.maximum(first_rounds, 1.0)[:, None],
        )

    def block(self, row_start: int, row_stop: int) -> np.ndarray:
        """(rows, I, F) float32 features of candidate companies [row_start, row_stop) x every investor."""
        labels = self.company_categories[row_start:row_stop]  # (B, K)
        n_rows, n_investors = len(labels), self.candidates.n_investors
        counts = labels @ self.category_counts.T
        first = labels @ self.first_round_counts.T
        share = counts / np.maximum(self.events_per_investor, 1.0)
        base_rate = labels @ self.category_rates  # (B,)
        types = self.round_types[row_start:row_stop]
        known_type = types != NO_ROUND_TYPE
        pair = [
            np.log1p(counts),
            share,
            np.log1p(labels @ self.decayed_counts.T),
            np.log1p(labels @ self.recent_counts.T),
            np.log1p(first),
            first / np.maximum(self.first_rounds_per_investor, 1.0),
            share / np.maximum(base_rate, 1e-9)[:, None],
            _type_columns(self.round_type_shares, types, known_type),
            _type_columns(self.round_type_first_shares, types, known_type),
        ]
        company = [labels.sum(axis=1), known_type.astype(np.float64)]
        out = np.empty((n_rows, n_investors, len(self.names)), dtype=np.float32)
        n_investor_columns = self.investor_columns.shape[1]
        out[:, :, :n_investor_columns] = self.investor_columns[None]
        out[:, :, n_investor_columns : n_investor_columns + len(pair)] = np.stack(pair, axis=2)
        out[:, :, n_investor_columns + len(pair):] = np.stack(company, axis=1)[:, None, :]
        return out


def _first_round_events(history) -> np.ndarray:
    """(E,) 1.0 where the event is at its company's first timestamp in the history (its first round)."""
    if len(history) == 0:
        return np.zeros(0)
    first = np.full(int(history.sources.max()) + 1, np.inf)
    np.minimum.at(first, history.sources, history.timestamps)
    return (history.timestamps == first[history.sources]).astype(np.float64)


def _per_investor(cols: np.ndarray, weights: np.ndarray, values: np.ndarray, n_investors: int) -> np.ndarray:
    """(I, V): per investor, the sum over its events of weight x the event's ``values`` row (E, V)."""
    incidence = sparse.csr_matrix((weights, (cols, np.arange(len(cols)))), shape=(n_investors, len(cols)))
    return np.asarray(incidence @ values)


def _type_columns(table: np.ndarray, types: np.ndarray, known: np.ndarray) -> np.ndarray:
    """(B, I): each company's column ``types[b]`` of ``table`` (I, T); 0 where the type is unknown."""
    if table.shape[1] == 0:
        return np.zeros((len(types), table.shape[0]))
    return np.where(known[:, None], table[:, np.where(known, types, 0)].T, 0.0)


def _plain_name(activity_name: str) -> str:
    """``activity:mean:round_type=seed`` -> ``investor_mean_round_type_seed`` (LightGBM refuses ``:``)."""
    return "investor_" + activity_name.removeprefix("activity:").replace(":", "_").replace("=", "_")
