"""Model-free baselines that score every candidate pair from the history alone.

Every baseline is built from the history H (events with t <= t_start), the candidate companies and
the investors of the grid, and scores blocks of candidate companies against all investors (see
:class:`~tgnrank.eval.scoring.CandidateScorer`). Nothing from the evaluation window is ever passed in.

* ``popularity``: the investor's number of events in H (follow-on rounds count, as each is a decision
  to invest);
* ``recency``: the same count with each event weighted 0.5 ** ((t_start - t) / half_life), half-life
  365 days;
* ``coinvestment``: with A the company x investor biadjacency of H (1 where linked) and C = A^T A with
  its diagonal zeroed (how many companies two investors both funded), score(c, i) = (A C)[c, i]: how
  often i co-invested with c's past investors;
* ``ppr``: personalised PageRank from the company on the bipartite graph of H's distinct links,
  restart probability 0.15, score = the stationary mass on the investor;
* ``category_popularity`` (:class:`CategoryPopularityScorer`, for brand-new companies too): the
  investor's events in H whose company shares a category label with c, summed over c's labels,
  ties broken by popularity.

A candidate company absent from H (a brand-new company) has no link: co-investment and PageRank give
it 0 for every investor, a tie that ranks as random.

The random baseline is not a scorer: its metrics are known in closed form
(:func:`tgnrank.eval.metrics.random_ranking_metrics`), which a constant scorer reproduces exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from tgnrank.data.arrays import distinct, distinct_union
from tgnrank.data.events import Interactions
from tgnrank.eval.protocol import CandidateSet

BASELINES = ("popularity", "recency", "coinvestment", "ppr")
CATEGORY_POPULARITY = "category_popularity"
# The baselines that need no history of the company itself.
NEW_COMPANY_BASELINES = ("popularity", "recency", CATEGORY_POPULARITY)
RANDOM = "random"
RECENCY_HALF_LIFE_DAYS = 365.0
PPR_RESTART = 0.15
PPR_TOLERANCE = 1e-8
PPR_MAX_ITERATIONS = 50
PPR_STATE_CELLS = 1 << 22


@dataclass(frozen=True)
class HistoryGraph:
    """The bipartite graph of H restricted to what the baselines need.

    ``companies`` (Nc,) are every company of H and every candidate company (sorted ids; a candidate
    absent from H has an empty row), ``investors`` (I,) the grid's investors, ``links`` the (Nc, I) CSR
    0/1 matrix of distinct linked pairs, ``candidate_rows`` (C,) the row of each candidate company in
    ``companies``.
    """

    history: Interactions
    t_start: float
    companies: np.ndarray
    investors: np.ndarray
    links: sparse.csr_matrix
    candidate_rows: np.ndarray

    @classmethod
    def build(
        cls, history: Interactions, t_start: float, candidate_companies: np.ndarray, investors: np.ndarray
    ) -> "HistoryGraph":
        companies = distinct_union(history.sources, candidate_companies)
        rows = np.searchsorted(companies, history.sources)
        cols = np.searchsorted(investors, history.destinations)
        links = sparse.csr_matrix(
            (np.ones(len(rows)), (rows, cols)), shape=(len(companies), len(investors)), dtype=np.float64
        )
        links.sum_duplicates()
        links.data[:] = 1.0
        return cls(history, float(t_start), companies, investors, links, np.searchsorted(companies, candidate_companies))

    @classmethod
    def from_candidates(cls, candidates: CandidateSet) -> "HistoryGraph":
        return cls.build(candidates.history, candidates.t_start, candidates.companies, candidates.investors)


class InvestorPriorScorer:
    """Scores a pair by a per-investor value only (popularity, recency-weighted popularity)."""

    def __init__(self, investor_scores: np.ndarray):
        self.investor_scores = np.asarray(investor_scores, dtype=np.float64)

    def score_block(self, row_start: int, row_stop: int) -> np.ndarray:
        return np.broadcast_to(self.investor_scores, (row_stop - row_start, len(self.investor_scores))).copy()

    def score_pairs(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return self.investor_scores[cols]


def popularity_scorer(graph: HistoryGraph) -> InvestorPriorScorer:
    """Each investor's number of events in H."""
    cols = np.searchsorted(graph.investors, graph.history.destinations)
    return InvestorPriorScorer(np.bincount(cols, minlength=len(graph.investors)).astype(np.float64))


def recency_scorer(graph: HistoryGraph, half_life: float = RECENCY_HALF_LIFE_DAYS) -> InvestorPriorScorer:
    """Each investor's events in H, weighted 0.5 ** ((t_start - t) / half_life)."""
    if not half_life > 0:
        raise ValueError(f"half_life must be > 0 days, got {half_life}")
    cols = np.searchsorted(graph.investors, graph.history.destinations)
    weights = 0.5 ** ((graph.t_start - graph.history.timestamps) / half_life)
    return InvestorPriorScorer(np.bincount(cols, weights=weights, minlength=len(graph.investors)))


class CategoryPopularityScorer:
    """score(c, i) = sum over c's category labels k of n(i, k) + pop(i) / (max pop + 1).

    n(i, k) counts the events of investor i in H whose company carries label k and pop(i) is i's
    number of events in H; the second term lies in [0, 1), so it only breaks the ties of the integer
    first term. A company without a label is therefore ranked by popularity. ``company_categories``
    (C, K) are the candidate companies' labels and ``node_categories`` (n_nodes + 1, K) every node's
    (:func:`tgnrank.eval.company_profiles.node_categories`), both 0/1.
    """

    def __init__(self, candidates: CandidateSet, company_categories: np.ndarray, node_categories: np.ndarray):
        history = candidates.history
        cols = np.searchsorted(candidates.investors, history.destinations)
        incidence = sparse.csr_matrix(
            (np.ones(len(cols)), (cols, np.arange(len(cols)))), shape=(candidates.n_investors, len(cols))
        )
        self.counts = np.asarray(incidence @ np.asarray(node_categories, dtype=np.float64)[history.sources])
        popularity = np.bincount(cols, minlength=candidates.n_investors).astype(np.float64)
        self.tie_break = popularity / (popularity.max(initial=0.0) + 1.0)
        self.company_categories = np.asarray(company_categories, dtype=np.float64)

    def score_block(self, row_start: int, row_stop: int) -> np.ndarray:
        return self.company_categories[row_start:row_stop] @ self.counts.T + self.tie_break

    def score_pairs(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return np.einsum("pk,pk->p", self.company_categories[rows], self.counts[cols]) + self.tie_break[cols]


class CoinvestmentScorer:
    """score(c, i) = (A C)[c, i] with C = A^T A minus its diagonal, computed as (A_c A^T) A - A_c deg."""

    def __init__(self, graph: HistoryGraph):
        self.graph = graph
        self.links_t = graph.links.T.tocsr()
        self.degree = np.asarray(graph.links.sum(axis=0)).ravel()

    def score_block(self, row_start: int, row_stop: int) -> np.ndarray:
        own = self.graph.links[self.graph.candidate_rows[row_start:row_stop]]
        shared = own @ self.links_t
        return (shared @ self.graph.links).toarray() - own.multiply(self.degree).toarray()

    def score_pairs(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        own = self.graph.links[self.graph.candidate_rows[rows]]
        shared = own @ self.links_t
        paths = np.asarray(shared.multiply(self.links_t[cols]).sum(axis=1)).ravel()
        return paths - own[np.arange(len(rows)), cols].A.ravel() * self.degree[cols]


class PersonalizedPageRankScorer:
    """Personalised PageRank from each candidate company, by power iteration on a block of companies at once.

    The walk moves from a company to one of its investors and from an investor to one of its companies
    uniformly over distinct links, and jumps back to the source company with probability ``restart``.
    Iteration stops when no source's L1 change exceeds ``tolerance`` or after ``max_iterations``.
    Blocks are split so that the dense walk state stays within ``state_cells`` cells per array.
    """

    def __init__(
        self,
        graph: HistoryGraph,
        restart: float = PPR_RESTART,
        tolerance: float = PPR_TOLERANCE,
        max_iterations: int = PPR_MAX_ITERATIONS,
        state_cells: int = PPR_STATE_CELLS,
    ):
        if not 0 < restart < 1:
            raise ValueError(f"restart must lie in (0, 1), got {restart}")
        self.graph = graph
        self.restart, self.tolerance, self.max_iterations = restart, tolerance, max_iterations
        self.sources_per_pass = max(1, state_cells // (len(graph.companies) + len(graph.investors)))
        links = graph.links
        company_degree = np.maximum(np.asarray(links.sum(axis=1)).ravel(), 1.0)
        investor_degree = np.maximum(np.asarray(links.sum(axis=0)).ravel(), 1.0)
        # Transposed transition blocks, so that mass (nodes x sources) moves by sparse @ dense.
        self.to_investors = (sparse.diags(1.0 / company_degree) @ links).T.tocsr()
        self.to_companies = (links @ sparse.diags(1.0 / investor_degree)).tocsr()

    def score_block(self, row_start: int, row_stop: int) -> np.ndarray:
        parts = [
            self._investor_mass(self.graph.candidate_rows[first : min(first + self.sources_per_pass, row_stop)])
            for first in range(row_start, row_stop, self.sources_per_pass)
        ]
        return np.concatenate(parts, axis=0)

    def _investor_mass(self, source_rows: np.ndarray) -> np.ndarray:
        """(len(source_rows), I) PPR mass on every investor for walks restarting at these companies."""
        n_companies, n_sources = len(self.graph.companies), len(source_rows)
        restart_mass = np.zeros((n_companies, n_sources))
        restart_mass[source_rows, np.arange(n_sources)] = self.restart
        company_mass = restart_mass / self.restart
        investor_mass = np.zeros((len(self.graph.investors), n_sources))
        keep = 1.0 - self.restart
        for _ in range(self.max_iterations):
            new_investor_mass = keep * (self.to_investors @ company_mass)
            new_company_mass = restart_mass + keep * (self.to_companies @ investor_mass)
            change = np.abs(new_investor_mass - investor_mass).sum(axis=0) + np.abs(
                new_company_mass - company_mass
            ).sum(axis=0)
            company_mass, investor_mass = new_company_mass, new_investor_mass
            if change.max() < self.tolerance:
                break
        return investor_mass.T


def build_baselines(candidates: CandidateSet, names=BASELINES) -> dict:
    """The named baseline scorers for ``candidates`` (built from its history only)."""
    unknown = sorted(set(names) - set(BASELINES))
    if unknown:
        raise ValueError(f"unknown baseline(s) {unknown}; choose among {list(BASELINES)}")
    if not names:
        return {}  # a model-only diagnostic: no need for the history graph
    graph = HistoryGraph.from_candidates(candidates)
    factories = {
        "popularity": popularity_scorer,
        "recency": recency_scorer,
        "coinvestment": CoinvestmentScorer,
        "ppr": PersonalizedPageRankScorer,
    }
    return {name: factories[name](graph) for name in names}


def comparison_key(metrics: dict) -> tuple[float, float]:
    """Sort key of a scorer's metrics, lower is better: highest Precision@1000, then lowest median rank."""
    return (-metrics["precision@1000"], metrics["median_rank"])


def best_baseline(results: dict[str, dict]) -> str:
    """The name whose metrics have the best :func:`comparison_key` (the first one among exact ties)."""
    return min(results, key=lambda name: comparison_key(results[name]))
