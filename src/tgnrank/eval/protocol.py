"""The temporal validation protocol: which (company, investor) pairs are ranked, and which are true.

For a window W = (t_start, t_end] and the history H = every event with t <= t_start (docs/design.md):

* positives: distinct (company, investor) pairs with an event in W that never occurred in H, whose
  company and investor both occur in H;
* candidates: every company that has a positive, crossed with every investor that occurs in H, minus
  the pairs already linked in H.

Candidates form a grid of ``companies x investors`` with holes (the history links), so they are never
listed one by one: scorers fill blocks of rows of that grid and :meth:`CandidateSet.block_mask` says
which cells of a block are candidates.

The *scope* (``SCOPES``) says which companies are ranked: ``known`` is the protocol above;
``new_companies`` (:func:`build_new_company_candidates`) ranks the brand-new companies of the window,
those without any event in H, against the investors of H; ``all`` is the union of both grids
(:func:`merge_candidates`), reported beside each part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from tgnrank.config.scope import ALL, KNOWN, NEW_COMPANIES, SCOPES
from tgnrank.data.arrays import distinct, distinct_union
from tgnrank.data.events import Interactions
from tgnrank.data.splits import DEFAULT_TRAIN_QUANTILE, DEFAULT_VAL_QUANTILE, chronological_split
from tgnrank.errors import ConfigError, TgnrankError

WINDOWS = ("val", "test")


@dataclass(frozen=True)
class CandidateSet:
    """The candidates and positives of one window.

    ``companies`` (C,) and ``investors`` (I,) are sorted node ids; row ``r`` of the candidate grid is
    company ``companies[r]`` and column ``j`` investor ``investors[j]``. ``history_links`` is a (C, I)
    boolean CSR matrix of the pairs linked in H (not candidates). ``positive_rows`` and
    ``positive_cols`` (P,) locate the positives in the grid, sorted by row then column.
    """

    window: str
    t_start: float
    t_end: float
    history: Interactions
    companies: np.ndarray
    investors: np.ndarray
    history_links: sparse.csr_matrix
    positive_rows: np.ndarray
    positive_cols: np.ndarray

    @classmethod
    def from_positive_ids(
        cls, window: str, t_start: float, t_end: float, history: Interactions, companies: np.ndarray,
        investors: np.ndarray, history_links: sparse.csr_matrix, positive_companies: np.ndarray,
        positive_investors: np.ndarray,
    ) -> "CandidateSet":
        """The set whose positives are the pairs of node ids ``(positive_companies, positive_investors)``
        (P,), listed in (company, investor) order, each in ``companies`` and ``investors``."""
        return cls(
            window=window,
            t_start=float(t_start),
            t_end=float(t_end),
            history=history,
            companies=companies,
            investors=investors,
            history_links=history_links,
            positive_rows=np.searchsorted(companies, positive_companies).astype(np.int64),
            positive_cols=np.searchsorted(investors, positive_investors).astype(np.int64),
        )

    @property
    def n_companies(self) -> int:
        return len(self.companies)

    @property
    def n_investors(self) -> int:
        return len(self.investors)

    @property
    def n_positives(self) -> int:
        return len(self.positive_rows)

    @property
    def n_candidates(self) -> int:
        return self.n_companies * self.n_investors - int(self.history_links.nnz)

    @property
    def positive_companies(self) -> np.ndarray:
        return self.companies[self.positive_rows]

    @property
    def positive_investors(self) -> np.ndarray:
        return self.investors[self.positive_cols]

    def candidates_per_company(self) -> np.ndarray:
        """(C,) number of candidate investors of each candidate company."""
        return self.n_investors - np.diff(self.history_links.indptr)

    def positives_per_company(self) -> np.ndarray:
        """(C,) number of positives of each candidate company (every entry is at least 1)."""
        return np.bincount(self.positive_rows, minlength=self.n_companies)

    def block_mask(self, row_start: int, row_stop: int) -> np.ndarray:
        """(row_stop - row_start, I) boolean: True where the cell is a candidate pair."""
        return ~self.history_links[row_start:row_stop].toarray()

    def block_positives(self, row_start: int, row_stop: int) -> slice:
        """The slice of ``positive_rows``/``positive_cols`` that falls in rows ``[row_start, row_stop)``."""
        first, last = np.searchsorted(self.positive_rows, [row_start, row_stop], side="left")
        return slice(int(first), int(last))

    def row_blocks(self, block_rows: int):
        """Yield ``(row_start, row_stop)`` covering every candidate company, ``block_rows`` at a time."""
        for row_start in range(0, self.n_companies, block_rows):
            yield row_start, min(row_start + block_rows, self.n_companies)

    def summary(self) -> dict[str, float | int | str]:
        return {
            "window": self.window,
            "t_start": float(self.t_start),
            "t_end": float(self.t_end),
            "n_history_events": len(self.history),
            "n_positives": self.n_positives,
            "n_candidate_companies": self.n_companies,
            "n_candidate_investors": self.n_investors,
            "n_candidates": self.n_candidates,
        }


def window_bounds(
    events: Interactions,
    window: str,
    train_quantile: float = DEFAULT_TRAIN_QUANTILE,
    val_quantile: float = DEFAULT_VAL_QUANTILE,
) -> tuple[float, float]:
    """(t_start, t_end) of the "val" window (val_time, test_time] or the "test" window (test_time, max t]."""
    if window not in WINDOWS:
        raise ConfigError(f"window must be one of {list(WINDOWS)}, got {window!r}", parameters=("window",))
    if len(events) == 0:
        raise TgnrankError("the dataset has no events: there is no window to evaluate")
    try:
        split = chronological_split(events, train_quantile, val_quantile)
    except ValueError as error:
        raise ConfigError(str(error)) from error
    if window == "val":
        return float(split.val_time), float(split.test_time)
    return float(split.test_time), float(np.max(events.timestamps))


def build_window(
    events: Interactions,
    window: str = "test",
    train_quantile: float = DEFAULT_TRAIN_QUANTILE,
    val_quantile: float = DEFAULT_VAL_QUANTILE,
) -> CandidateSet:
    """The candidate set of the named window, with the chronological split's time quantiles."""
    t_start, t_end = window_bounds(events, window, train_quantile, val_quantile)
    return build_candidates(events, t_start, t_end, window=window)


def build_candidates(events: Interactions, t_start: float, t_end: float, window: str = "custom") -> CandidateSet:
    """The candidate set of the window (t_start, t_end]; fails with a TgnrankError if it has no positives."""
    history = events.select(events.timestamps <= t_start)
    in_window = events.select((events.timestamps > t_start) & (events.timestamps <= t_end))

    history_companies = distinct(history.sources)
    investors = distinct(history.destinations)
    key_base = int(max(events.sources.max(initial=0), events.destinations.max(initial=0))) + 1
    history_keys = distinct(history.sources * key_base + history.destinations)
    window_keys = distinct(in_window.sources * key_base + in_window.destinations)

    new_keys = window_keys[~np.isin(window_keys, history_keys, assume_unique=True)]
    new_companies, new_investors = new_keys // key_base, new_keys % key_base
    known = np.isin(new_companies, history_companies) & np.isin(new_investors, investors)
    if not known.any():
        raise TgnrankError(_no_positive_message(window, t_start, t_end, in_window, window_keys, new_keys))
    positive_companies, positive_investors = new_companies[known], new_investors[known]

    companies = distinct(positive_companies)
    history_companies_of = history_keys // key_base
    linked = np.isin(history_companies_of, companies)
    history_links = sparse.csr_matrix(
        (
            np.ones(int(linked.sum()), dtype=bool),
            (
                np.searchsorted(companies, history_companies_of[linked]),
                np.searchsorted(investors, history_keys[linked] % key_base),
            ),
        ),
        shape=(len(companies), len(investors)),
    )
    history_links.sort_indices()
    # new_keys is sorted by company then investor, so the positives come out sorted by (row, column).
    return CandidateSet.from_positive_ids(
        window, t_start, t_end, history, companies, investors, history_links, positive_companies, positive_investors
    )


def _no_positive_message(window, t_start, t_end, in_window, window_keys, new_keys) -> str:
    return (
        f"the {window} window ({t_start:g}, {t_end:g}] has no positive pair to rank: it holds "
        f"{len(in_window)} event(s) over {len(window_keys)} distinct (company, investor) pair(s), of which "
        f"{len(window_keys) - len(new_keys)} already occurred in the history and the other {len(new_keys)} "
        "involve a company or an investor absent from the history. Evaluate another window "
        "or a dataset whose evaluation period holds new links between known companies and investors."
    )


def build_new_company_candidates(
    events: Interactions, t_start: float, t_end: float, window: str = "custom"
) -> CandidateSet:
    """The brand-new companies of the window (t_start, t_end]; fails with a TgnrankError if it has none.

    Positives: the distinct pairs with an event in the window whose company has no event in the history
    H (t <= t_start) and whose investor has one; every such pair is the pair's first link. Candidates:
    every company with a positive crossed with every investor of H; no pair is linked in H.
    """
    history = events.select(events.timestamps <= t_start)
    in_window = events.select((events.timestamps > t_start) & (events.timestamps <= t_end))
    investors = distinct(history.destinations)
    key_base = int(max(events.sources.max(initial=0), events.destinations.max(initial=0))) + 1
    window_keys = distinct(in_window.sources * key_base + in_window.destinations)
    window_companies, window_investors = window_keys // key_base, window_keys % key_base
    new_company = ~np.isin(window_companies, distinct(history.sources))
    positive = new_company & np.isin(window_investors, investors)
    if not positive.any():
        raise TgnrankError(
            f"the {window} window ({t_start:g}, {t_end:g}] has no brand-new company to rank: of its "
            f"{len(distinct(window_companies))} companies, {len(distinct(window_companies[new_company]))} have no "
            f"event before it, and none of those has a link to an investor of the history. Evaluate another "
            "window, or scope known", parameters=("scope",)
        )
    companies = distinct(window_companies[positive])
    history_links = sparse.csr_matrix((len(companies), len(investors)), dtype=bool)
    # window_keys is sorted by company then investor, so the positives come out sorted by (row, column).
    return CandidateSet.from_positive_ids(
        window, t_start, t_end, history, companies, investors, history_links,
        window_companies[positive], window_investors[positive],
    )


def merge_candidates(first: CandidateSet, second: CandidateSet) -> CandidateSet:
    """The union of two candidate sets of one window whose companies differ (the known and the brand-new
    companies): rows of both, sorted by company id, over the same investors and history."""
    if (first.t_start, first.t_end) != (second.t_start, second.t_end) or not np.array_equal(
        first.investors, second.investors
    ):
        raise ValueError("merge_candidates needs two candidate sets of one window (same bounds and investors)")
    if len(distinct_union(first.companies, second.companies)) != first.n_companies + second.n_companies:
        raise ValueError("merge_candidates needs candidate sets without a company in common")
    stacked = np.concatenate([first.companies, second.companies])
    order = np.argsort(stacked, kind="stable")
    row_of = np.empty(len(order), dtype=np.int64)
    row_of[order] = np.arange(len(order))
    links = sparse.vstack([first.history_links, second.history_links]).tocsr()[order]
    links.sort_indices()
    rows = row_of[np.concatenate([first.positive_rows, second.positive_rows + first.n_companies])]
    cols = np.concatenate([first.positive_cols, second.positive_cols])
    by_cell = np.lexsort((cols, rows))
    return CandidateSet(
        window=first.window,
        t_start=first.t_start,
        t_end=first.t_end,
        history=first.history,
        companies=stacked[order],
        investors=first.investors,
        history_links=links,
        positive_rows=rows[by_cell],
        positive_cols=cols[by_cell],
    )


def build_scope_candidates(
    events: Interactions, t_start: float, t_end: float, scope: str = KNOWN, window: str = "custom"
) -> dict[str, CandidateSet]:
    """The candidate sets that ``scope`` reports, by part name: ``{"known": ...}``,
    ``{"new_companies": ...}``, or for ``all`` both parts and their union under ``"all"``."""
    if scope not in SCOPES:
        raise ConfigError(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}", parameters=("scope",))
    parts = {}
    if scope in (KNOWN, ALL):
        parts[KNOWN] = build_candidates(events, t_start, t_end, window=window)
    if scope in (NEW_COMPANIES, ALL):
        parts[NEW_COMPANIES] = build_new_company_candidates(events, t_start, t_end, window=window)
    if scope == ALL:
        parts[ALL] = merge_candidates(parts[KNOWN], parts[NEW_COMPANIES])
    return parts


def build_scope_window(
    events: Interactions,
    window: str = "test",
    scope: str = KNOWN,
    train_quantile: float = DEFAULT_TRAIN_QUANTILE,
    val_quantile: float = DEFAULT_VAL_QUANTILE,
) -> dict[str, CandidateSet]:
    """:func:`build_scope_candidates` for the named window of the chronological split."""
    t_start, t_end = window_bounds(events, window, train_quantile, val_quantile)
    return build_scope_candidates(events, t_start, t_end, scope, window=window)
