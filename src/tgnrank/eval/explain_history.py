"""The history behind an explanation, indexed once per prediction time so that each investor's evidence
is a few sparse slices.

The history is every event with t <= ``at``: exactly what the model replays before it scores at ``at``
(:mod:`tgnrank.eval.recommend`) and what the diagnostic calls H. Nothing after ``at`` is read, so an
explanation cannot cite a deal the model had not seen.

Vocabulary. A *deal* is one event (company, investor, day); a *round* is a (company, day) pair, the
deals of one syndicate; a *link* is a distinct (company, investor) pair. Every cited deal is a
:class:`Deal` built from an event of the history, with its names and ISO date.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from tgnrank.data.arrays import distinct, unit_rows
from tgnrank.data.dates import day_to_iso
from tgnrank.data.events import EventData
from tgnrank.data.feature_schema import feature_schema_of
from tgnrank.errors import TgnrankError

CATEGORY_MARK = "category="
INVESTOR_PREFIX = "investor:"
# Edge columns naming a round's stage, in order of preference: the importer's coarse stages, then the
# synthetic generator's and the importer's round types.
STAGE_PREFIXES = ("stage=", "round=", "round_type=")
UNINFORMATIVE_LABELS = ("other",)
DECAY_HALF_LIFE_DAYS = 365.0


@dataclass(frozen=True)
class Deal:
    """One event of the history: ``investor`` funded ``company`` on ``date`` (``day`` in days since 1970)."""

    company_id: int
    company: str
    investor_id: int
    investor: str
    day: float
    date: str


@dataclass
class HistoryIndex:
    """Sparse views of the history ``t <= at``; build with :meth:`build`.

    Rows index ``companies`` (Nc,), columns ``investors`` (I,), both sorted node ids of the history.
    ``pair_keys`` (L,) are the links as ``row * I + col``, sorted (the order of ``links.data``), with
    their first and last day, event count and recency-decayed weight aligned. ``round_links`` is the
    (R, I) 0/1 matrix of rounds against investors; ``event_order`` / ``event_ptr`` list each
    investor's events (CSR by investor column, oldest first).
    """

    data: EventData
    at: float
    history_days: np.ndarray  # (n,)
    history_sources: np.ndarray  # (n,)
    history_destinations: np.ndarray  # (n,)
    companies: np.ndarray
    investors: np.ndarray
    links: sparse.csr_matrix  # (Nc, I) 0/1
    links_csc: sparse.csc_matrix
    pair_keys: np.ndarray
    pair_first: np.ndarray
    pair_last: np.ndarray
    pair_events: np.ndarray
    pair_decay: np.ndarray
    company_degree: np.ndarray  # (Nc,) distinct investors
    investor_degree: np.ndarray  # (I,) distinct companies
    round_company: np.ndarray  # (R,) company row of each round
    round_day: np.ndarray  # (R,)
    round_links: sparse.csr_matrix  # (R, I) 0/1
    round_links_csc: sparse.csc_matrix
    event_order: np.ndarray  # (n,) history positions grouped by investor column
    event_ptr: np.ndarray  # (I + 1,)
    event_stage: np.ndarray  # (n,) stage column of each event, -1 when none
    stage_names: tuple[str, ...]
    category_columns: np.ndarray  # node-feature columns of company categories
    category_labels: tuple[str, ...]

    @classmethod
    def build(cls, data: EventData, at: float) -> "HistoryIndex":
        events = data.events
        keep = events.timestamps <= at
        if not keep.any():
            raise TgnrankError(f"no event at or before {day_to_iso(at)} (day {at:g}): nothing to explain from")
        sources, destinations = events.sources[keep], events.destinations[keep]
        days, edge_idxs = events.timestamps[keep].astype(np.float64), events.edge_idxs[keep]
        companies, investors = distinct(sources), distinct(destinations)
        rows, cols = np.searchsorted(companies, sources), np.searchsorted(investors, destinations)
        n_investors = len(investors)
        keys = rows.astype(np.int64) * n_investors + cols
        pair_keys, pair_of_event = np.unique(keys, return_inverse=True)
        n_pairs = len(pair_keys)
        pair_first = np.full(n_pairs, np.inf)
        np.minimum.at(pair_first, pair_of_event, days)
        pair_last = np.full(n_pairs, -np.inf)
        np.maximum.at(pair_last, pair_of_event, days)
        decay = 0.5 ** ((at - days) / DECAY_HALF_LIFE_DAYS)
        links = sparse.csr_matrix(
            (np.ones(n_pairs), (pair_keys // n_investors, pair_keys % n_investors)),
            shape=(len(companies), n_investors),
        )
        rounds, round_of_event = np.unique(np.column_stack([rows, days]), axis=0, return_inverse=True)
        round_of_event = round_of_event.ravel()
        round_links = sparse.csr_matrix(
            (np.ones(len(rows)), (round_of_event, cols)), shape=(len(rounds), n_investors)
        )
        round_links.sum_duplicates()
        round_links.data[:] = 1.0
        stage_columns, stage_names = _stage_columns(data)
        category_columns, category_labels = _category_columns(data)
        links_csc = links.tocsc()
        return cls(
            data=data, at=float(at), history_days=days, history_sources=sources, history_destinations=destinations,
            companies=companies, investors=investors, links=links, links_csc=links_csc,
            pair_keys=pair_keys, pair_first=pair_first, pair_last=pair_last,
            pair_events=np.bincount(pair_of_event, minlength=n_pairs),
            pair_decay=np.bincount(pair_of_event, weights=decay, minlength=n_pairs),
            company_degree=np.diff(links.indptr), investor_degree=np.diff(links_csc.indptr),
            round_company=rounds[:, 0].astype(np.int64), round_day=rounds[:, 1],
            round_links=round_links, round_links_csc=round_links.tocsc(),
            event_order=np.argsort(cols, kind="stable"),
            event_ptr=np.concatenate([[0], np.cumsum(np.bincount(cols, minlength=n_investors))]),
            event_stage=_event_stages(data.edge_features[edge_idxs], stage_columns),
            stage_names=stage_names, category_columns=category_columns, category_labels=category_labels,
        )

    def company_row(self, company_id: int) -> int:
        """The row of ``company_id``, or -1 when it has no event in the history."""
        row = int(np.searchsorted(self.companies, company_id))
        return row if row < len(self.companies) and self.companies[row] == company_id else -1

    def investor_col(self, investor_id: int) -> int:
        """The column of ``investor_id``, or -1 when it has no event in the history."""
        col = int(np.searchsorted(self.investors, investor_id))
        return col if col < len(self.investors) and self.investors[col] == investor_id else -1

    def pair_positions(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """(P,) positions in ``pair_keys`` of the links (rows[k], cols[k]); every pair must be linked."""
        keys = np.asarray(rows, dtype=np.int64) * len(self.investors) + np.asarray(cols, dtype=np.int64)
        positions = np.searchsorted(self.pair_keys, keys)
        if len(keys) and not np.array_equal(self.pair_keys[np.minimum(positions, len(self.pair_keys) - 1)], keys):
            raise ValueError("pair_positions: a requested (company, investor) pair is not linked in the history")
        return positions

    def last_deals(self, rows: np.ndarray, cols: np.ndarray) -> list[Deal]:
        """The latest deal of each linked pair (rows[k], cols[k])."""
        days = self.pair_last[self.pair_positions(rows, cols)]
        return [self.deal(self.companies[r], self.investors[c], d) for r, c, d in zip(rows, cols, days)]

    def deal(self, company_id: int, investor_id: int, day: float) -> Deal:
        names = self.data.node_names
        return Deal(int(company_id), str(names[company_id]), int(investor_id), str(names[investor_id]),
                    float(day), day_to_iso(day))

    def investor_events(self, col: int) -> np.ndarray:
        """History positions of the investor's events, oldest first."""
        positions = self.event_order[self.event_ptr[col] : self.event_ptr[col + 1]]
        return positions[np.argsort(self.history_days[positions], kind="stable")]

    def company_categories(self, company_ids: np.ndarray) -> np.ndarray:
        """(n, n_labels) bool: the category labels of each company (a positive feature value: the
        columns are 0/1 indicators, or standardised ones whose members are the positive values)."""
        features = self.data.node_features[np.asarray(company_ids, dtype=np.int64)][:, self.category_columns]
        return features > 0

    def static_similarity(self, company_id: int, company_ids: np.ndarray) -> np.ndarray:
        """(n,) cosine similarity of the static node features of ``company_id`` and each of ``company_ids``."""
        features = self.data.node_features
        target = unit_rows(features[[company_id]])[0]
        return unit_rows(features[np.asarray(company_ids, dtype=np.int64)]) @ target


def _category_columns(data: EventData) -> tuple[np.ndarray, tuple[str, ...]]:
    names = feature_schema_of(data).static_names
    chosen = [
        (k, name.split(CATEGORY_MARK, 1)[1])
        for k, name in enumerate(names)
        if CATEGORY_MARK in name and not name.startswith(INVESTOR_PREFIX)
        and name.split(CATEGORY_MARK, 1)[1] not in UNINFORMATIVE_LABELS
    ]
    return np.array([k for k, _ in chosen], dtype=np.int64), tuple(label for _, label in chosen)


def _stage_columns(data: EventData) -> tuple[np.ndarray, tuple[str, ...]]:
    names = feature_schema_of(data).edge_names
    for prefix in STAGE_PREFIXES:
        chosen = [(k, name[len(prefix):]) for k, name in enumerate(names) if name.startswith(prefix)]
        if chosen:
            return np.array([k for k, _ in chosen], dtype=np.int64), tuple(label for _, label in chosen)
    return np.empty(0, dtype=np.int64), ()


def _event_stages(edge_rows: np.ndarray, stage_columns: np.ndarray) -> np.ndarray:
    """(n,) index into the stage columns of each event's stage (its largest indicator), -1 when none is set."""
    if len(stage_columns) == 0:
        return np.full(len(edge_rows), -1, dtype=np.int64)
    indicators = np.asarray(edge_rows[:, stage_columns], dtype=np.float64)
    return np.where(indicators.max(axis=1) > 0, indicators.argmax(axis=1), -1)
