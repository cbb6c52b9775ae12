"""Exact counts of the 3-step paths company - investor - company - investor before a time.

For a pair (c, i) at time t, with ``n_t(x, y)`` the number of events between company x and investor
y strictly before t (follow-on rounds count, as in the neighbour finder)::

    paths_t(c, i) = sum over investors j and companies d of n_t(c, j) * n_t(d, j) * n_t(d, i)

that is ``(A A^T A)[c, i]`` for the event-count matrix A of the events before t: how often i invested
beside the companies that c's investors funded. It is the co-investment signal behind the
co-investment baseline and the random-projection walk encodings, without their noise and without
their time order. For a pair never linked before t (every candidate of the diagnostic) the paths
through d = c or j = i are empty, so no term says "already linked". The second count weights each
path by ``1 / (deg_t(j) deg_t(d))``, the events of j and of d before t (resource allocation: a
partner that funds few companies says more), times :data:`ALLOCATION_SCALE` so that its values span
the same orders of magnitude as the first once the predictor takes their log. The third weights each
path by its three events' recency, ``0.5 ** ((t - s) / half_life)`` for an event at time s (the walk
encodings' half-life): the same paths, the recent ones first.

:class:`PathCounter` answers it for a batch of pairs, each at its own time, from a neighbour finder's
CSR index (three range lookups and one ``searchsorted``, no Python loop over events);
:meth:`PathCounter.grid` gives whole rows of a candidate grid at one time with sparse products. Both
read only events strictly before the asked time, so the future changes no count.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from tgnrank.data.arrays import expand_ranges

COUNT_FEATURES = ("paths", "allocation", "decayed_paths")
WALK_FEATURES = ("walk3", "walk5")
ALLOCATION_SCALE = 1000.0
WALK_SCALE = 1e6


def path_features(walks: bool) -> tuple[str, ...]:
    """The names of the path inputs, in order: the counts, then (``walks``) the walk probabilities."""
    return COUNT_FEATURES + (WALK_FEATURES if walks else ())


class PathCounter:
    """``paths_t(c, i)`` over the events that ``finder`` (a
    :class:`~tgnrank.sampling.neighbors.NeighborFinder` built from interactions) indexes; with ``walks``
    the walk probabilities (:class:`WalkProbabilities`) follow the counts."""

    def __init__(self, finder, half_life: float, walks: bool = True):
        if finder.events is None:
            raise ValueError("path counts need a neighbour finder built from interactions (from_interactions)")
        self.finder, self.half_life = finder, float(half_life)
        self.features = path_features(walks)
        events = finder.events
        self.sources, self.destinations = events.sources, events.destinations
        self.timestamps = np.asarray(events.timestamps, dtype=np.float64)
        self.n_rows = finder.n_nodes + 1
        # Events sorted by (company, investor, time): the events of a pair before t are one searchsorted.
        self.time_stride = np.int64(finder.n_distinct_times + 1)
        keys = self._pair_keys(self.sources, self.destinations) * self.time_stride + finder.time_ranks(self.timestamps)
        order = np.argsort(keys, kind="stable")
        self.sorted_keys, self.sorted_times = keys[order], self.timestamps[order]
        self._walks = self._distinct_links = None

    def pairs(self, companies, investors, times) -> np.ndarray:
        """(P, len(features)) float64 inputs of the pairs (companies[k], investors[k]): the counts at
        ``times[k]``, the walk probabilities at the earliest of ``times`` (the start of a training batch)."""
        companies = np.asarray(companies, dtype=np.int64)
        investors = np.asarray(investors, dtype=np.int64)
        times = np.broadcast_to(np.asarray(times, dtype=np.float64), companies.shape)
        # c -> j: every event of c before t; j -> d: every event of j before t; d -> i: each event of the pair.
        pair_of_step1, positions = expand_ranges(*self.finder.ranges_before(companies, times))
        middle = self.finder.neighbors[positions]
        step1_recency = self._recency(self.finder.times[positions], times[pair_of_step1])
        middle_ranges = self.finder.ranges_before(middle, times[pair_of_step1])
        step1_of_step2, positions = expand_ranges(*middle_ranges)
        pair_of_step2 = pair_of_step1[step1_of_step2]
        ends, end_times = self.finder.neighbors[positions], times[pair_of_step2]
        recency = step1_recency[step1_of_step2] * self._recency(self.finder.times[positions], end_times)
        step2_of_step3, last = expand_ranges(*self._pair_events_before(ends, investors[pair_of_step2], end_times))
        counts = np.bincount(step2_of_step3, minlength=len(ends)).astype(np.float64)
        recency = np.bincount(step2_of_step3, weights=recency[step2_of_step3] * self._recency(
            self.sorted_times[last], end_times[step2_of_step3]), minlength=len(ends))
        start, stop = self.finder.ranges_before(ends, end_times)
        middle_degree = (middle_ranges[1] - middle_ranges[0])[step1_of_step2]
        allocation = counts * ALLOCATION_SCALE / (middle_degree * np.maximum(stop - start, 1))
        exact = np.stack([np.bincount(pair_of_step2, weights=weights, minlength=len(companies))
                          for weights in (counts, allocation, recency)], axis=1)
        if len(self.features) == len(COUNT_FEATURES):
            return exact
        if len(companies) == 0:
            return np.zeros((0, len(self.features)))
        return np.hstack([exact, self.walks_at(float(times.min())).pairs(companies, investors)])

    def walks_at(self, at: float) -> "WalkProbabilities":
        """The walk probabilities of the graph of the events strictly before ``at`` (the last one is kept:
        a batch asks for its positives, then for its negatives)."""
        if self._walks is None or self._walks.at != at:
            if self._distinct_links is None:
                self._distinct_links = DistinctLinks(self.sources, self.destinations, self.timestamps, self.n_rows)
            self._walks = self._distinct_links.walks_at(at)
        return self._walks

    def grid(self, at: float, companies: np.ndarray, investors: np.ndarray) -> "PathGrid":
        """The counts of the grid of ``companies`` (rows) x ``investors`` (columns) at time ``at`` (events
        strictly before it)."""
        before = self.timestamps < at
        endpoints = (self.sources[before], self.destinations[before])
        links, decayed = (
            sparse.csr_matrix((weights, endpoints), shape=(self.n_rows, self.n_rows))
            for weights in (np.ones(int(before.sum())), self._recency(self.timestamps[before], at))
        )
        links.sum_duplicates()
        decayed.sum_duplicates()
        walks = self.walks_at(at) if len(self.features) > len(COUNT_FEATURES) else None
        return PathGrid(links, decayed, companies, investors, walks)

    def _pair_events_before(self, companies: np.ndarray, investors: np.ndarray, times: np.ndarray):
        """The ranges of ``sorted_keys`` holding each pair's events before its time."""
        pair = self._pair_keys(companies, investors) * self.time_stride
        return (np.searchsorted(self.sorted_keys, pair, side="left"),
                np.searchsorted(self.sorted_keys, pair + self.finder.time_ranks(times), side="left"))

    def _recency(self, event_times: np.ndarray, at) -> np.ndarray:
        return 0.5 ** ((at - event_times) / self.half_life)

    def _pair_keys(self, companies: np.ndarray, investors: np.ndarray) -> np.ndarray:
        return np.asarray(companies, dtype=np.int64) * self.n_rows + np.asarray(investors, dtype=np.int64)


class PathGrid:
    """The counts of a candidate grid at one time (see :meth:`PathCounter.grid`): row r is company
    ``companies[r]``, column k investor ``investors[k]``."""

    def __init__(self, links: sparse.csr_matrix, decayed: sparse.csr_matrix, companies, investors,
                 walks: "WalkProbabilities | None" = None):
        """``links``: the event counts of each (company, investor) before the time; ``decayed``: their
        summed recency weights; ``walks``: the walk probabilities at the same time, or None for the
        counts alone."""
        self.companies = np.asarray(companies, dtype=np.int64)
        self.investors = investors = np.asarray(investors, dtype=np.int64)
        self.links, self.decayed = links, decayed
        self.walks = walks
        self.walk_ends = walks.ends(investors) if walks is not None else None
        self.n_features = len(path_features(walks is not None))
        links_t, decayed_t = links.T.tocsr(), decayed.T.tocsr()
        degree = np.asarray(links.sum(axis=0)).ravel() + np.asarray(links.sum(axis=1)).ravel()
        inverse = sparse.diags(1.0 / np.maximum(degree, 1.0))
        # A with each column (investor j) divided by deg(j), and A^T with each column (company d) by deg(d).
        self.allocation_links = (links @ inverse).tocsr()
        # The two middle steps, then the grid's investors: computed once, every block reuses them.
        self.links_t, self.decayed_t, self.allocation_links_t = links_t, decayed_t, (links_t @ inverse).tocsr()
        self.ends, self.decayed_ends = links[:, investors].tocsc(), decayed[:, investors].tocsc()
        self.end_rows, self.decayed_end_rows = links_t[investors], decayed_t[investors]

    def block(self, row_start: int, row_stop: int) -> np.ndarray:
        """(n_features, rows, investors) float32 inputs of grid rows [row_start, row_stop)."""
        rows = self.companies[row_start:row_stop]
        paths = (self.links[rows] @ self.links_t) @ self.ends
        allocation = (self.allocation_links[rows] @ self.allocation_links_t) @ self.ends
        recency = (self.decayed[rows] @ self.decayed_t) @ self.decayed_ends
        counts = [paths.toarray(), ALLOCATION_SCALE * allocation.toarray(), recency.toarray()]
        if self.walks is not None:
            counts.extend(self.walks.grid_block(rows, self.investors, self.walk_ends))
        return np.stack(counts).astype(np.float32)

    def pairs(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """(P, n_features) float32 inputs of the grid cells (rows[k], cols[k])."""
        companies = self.companies[np.asarray(rows, dtype=np.int64)]
        cols = np.asarray(cols, dtype=np.int64)
        ends, decayed_ends = self.end_rows[cols], self.decayed_end_rows[cols]
        paths = (self.links[companies] @ self.links_t).multiply(ends).sum(axis=1)
        allocation = (self.allocation_links[companies] @ self.allocation_links_t).multiply(ends).sum(axis=1)
        recency = (self.decayed[companies] @ self.decayed_t).multiply(decayed_ends).sum(axis=1)
        inputs = [np.asarray(paths), ALLOCATION_SCALE * np.asarray(allocation), np.asarray(recency)]
        if self.walks is not None:
            inputs.append(self.walks.pairs(companies, self.investors[cols]))
        return np.hstack(inputs).astype(np.float32)


class DistinctLinks:
    """Every distinct (company, investor) link of a set of events with the time of its first event,
    held by company and by investor (rows sorted, so that the links before a time, masked, are already
    in CSR order): :meth:`walks_at` builds the walk matrices of any time in a few vectorised passes."""

    def __init__(self, sources: np.ndarray, destinations: np.ndarray, timestamps: np.ndarray, n_rows: int):
        self.n_rows = n_rows
        keys = np.asarray(sources, dtype=np.int64) * n_rows + np.asarray(destinations, dtype=np.int64)
        order = np.lexsort((timestamps, keys))
        keys = keys[order]
        first = np.ones(len(keys), dtype=bool)
        first[1:] = keys[1:] != keys[:-1]
        self.companies, self.investors = keys[first] // n_rows, keys[first] % n_rows
        self.first_times = np.asarray(timestamps, dtype=np.float64)[order][first]
        self.by_investor = np.argsort(self.investors, kind="stable")

    def walks_at(self, at: float) -> "WalkProbabilities":
        """The walk probabilities of the links whose first event is strictly before ``at``."""
        keep = self.first_times < at
        companies, investors = self.companies[keep], self.investors[keep]
        company_degree = np.bincount(companies, minlength=self.n_rows)
        investor_degree = np.bincount(investors, minlength=self.n_rows)
        by_investor = self.by_investor[keep[self.by_investor]]
        investor_rows, company_cols = self.investors[by_investor], self.companies[by_investor]

        def csr(rows, cols, data, degree):
            indptr = np.zeros(self.n_rows + 1, dtype=np.int64)
            np.cumsum(degree, out=indptr[1:])
            return sparse.csr_matrix((data, cols, indptr), shape=(self.n_rows, self.n_rows))

        inverse_company, inverse_investor = 1.0 / np.maximum(company_degree, 1), 1.0 / np.maximum(investor_degree, 1)
        return WalkProbabilities(
            at,
            to_investors=csr(companies, investors, inverse_company[companies], company_degree),
            into_companies=csr(companies, investors, inverse_investor[investors], company_degree),
            to_companies=csr(investor_rows, company_cols, inverse_investor[investor_rows], investor_degree),
            into_investors=csr(investor_rows, company_cols, inverse_company[company_cols], investor_degree),
        )


class WalkProbabilities:
    """Random-walk probabilities from a company to an investor in 3 and 5 steps on the graph of distinct
    links (each step picks one of the node's distinct partners uniformly), times :data:`WALK_SCALE`.

    Unlike the counts, a walk divides by the company's own degree, so that the values of two companies
    compare (what lets personalised PageRank rank across companies), and the 5-step walk reaches the
    partners of partners' partners. ``at`` is the time whose strict past the graph holds. The four
    transition matrices (built by :meth:`DistinctLinks.walks_at`) are P(c -> j) by company rows and its
    transpose by investor rows (``into_investors``), P(j -> d) by investor rows and its transpose by
    company rows (``into_companies``).
    """

    def __init__(self, at: float, to_investors, into_companies, to_companies, into_investors):
        self.at = at
        self.to_investors, self.into_companies = to_investors, into_companies
        self.to_companies, self.into_investors = to_companies, into_investors
        self._last_three_steps: tuple[np.ndarray, sparse.csr_matrix] | None = None

    def pairs(self, companies: np.ndarray, investors: np.ndarray) -> np.ndarray:
        """(P, 2) the 3- and 5-step walk probabilities (scaled) of the pairs (companies[k], investors[k])."""
        distinct, row_of_pair = np.unique(companies, return_inverse=True)
        three_steps = self._distinct_three_steps(distinct)[row_of_pair]
        # The last two steps walked backwards from each investor: P(j -> d -> i) for every investor j.
        two_back = self.into_investors[investors] @ self.into_companies
        walk3 = np.asarray(three_steps[np.arange(len(companies)), investors]).ravel()
        walk5 = np.asarray(three_steps.multiply(two_back).sum(axis=1)).ravel()
        return WALK_SCALE * np.stack([walk3, walk5], axis=1)

    def ends(self, investors: np.ndarray) -> sparse.csr_matrix:
        """The last two steps into ``investors``: (nodes, len(investors)) P(j -> d -> i), for :meth:`grid_block`."""
        return (self.to_companies @ self.to_investors[:, investors]).tocsr()

    def grid_block(self, companies: np.ndarray, investors: np.ndarray, ends: sparse.csr_matrix):
        """(walk3, walk5), each (len(companies), len(investors)) dense and scaled."""
        three_steps = self._three_steps(companies)
        return (WALK_SCALE * three_steps[:, investors].toarray(), WALK_SCALE * (three_steps @ ends).toarray())

    def _distinct_three_steps(self, distinct: np.ndarray) -> sparse.csr_matrix:
        """The 3-step rows of sorted distinct companies; a batch asks for the same rows for its positives,
        then for its negatives, so the last answer is kept."""
        last = self._last_three_steps
        if last is None or not np.array_equal(last[0], distinct):
            last = self._last_three_steps = (distinct, self._three_steps(distinct))
        return last[1]

    def _three_steps(self, companies: np.ndarray) -> sparse.csr_matrix:
        return ((self.to_investors[companies] @ self.to_companies) @ self.to_investors).tocsr()
