"""Per-epoch validation on the ranking the product is judged by, for model selection.

The validation window's candidates (the diagnostic's protocol, :func:`tgnrank.eval.protocol.build_window`)
are ranked by the model as it stands after an epoch's training pass: its memory holds the training
events and nothing of the window is replayed; the embeddings are taken at the window start, where the
neighbour finder only returns history events. The memory (and the model's train/eval mode and neighbour
finder) are restored afterwards, so the AP validation that follows sees exactly what it saw before.

Ranking every candidate company each epoch can cost more than the epoch, so :class:`ValidationRanking`
can rank a fixed, seeded sample of the candidate companies (each against every candidate investor),
the same sample every epoch. Per-company metrics (MRR, Hits@10) and the median rank percentage are then
estimates of the full window's; Precision@K and Recall@K are those of the smaller grid (higher than the
full window's for the same model), comparable between epochs but not with the diagnostic's figures.
"""

from __future__ import annotations

import contextlib
import dataclasses
import numbers
import time

import numpy as np
import torch

from tgnrank.data.events import Interactions
from tgnrank.errors import ConfigError
from tgnrank.eval.metrics import DEFAULT_KS, ranking_metrics
from tgnrank.eval.protocol import CandidateSet, build_window
from tgnrank.eval.scoring import DEFAULT_BLOCK_PAIRS, rank_candidates, scorer_for_model

DEFAULT_VAL_RANK_COMPANIES = 500


def validate_val_rank_companies(n_companies: int) -> None:
    """Raise :class:`ConfigError` naming the setting unless ``n_companies`` is an integer >= 0 (0 = all)."""
    if isinstance(n_companies, bool) or not isinstance(n_companies, numbers.Integral) or n_companies < 0:
        raise ConfigError(
            f"val_rank_companies must be an integer >= 0 (0 = every company), got {n_companies!r}",
            parameters=("val_rank_companies",),
        )


def sample_company_rows(n_total: int, n_companies: int, seed: int) -> np.ndarray:
    """Sorted rows of ``n_companies`` of ``n_total`` candidate companies drawn without replacement from
    ``seed`` (every row when ``n_companies`` is 0 or at least ``n_total``)."""
    validate_val_rank_companies(n_companies)
    if n_companies == 0 or n_companies >= n_total:
        return np.arange(n_total, dtype=np.int64)
    return np.sort(np.random.default_rng(seed).choice(n_total, size=n_companies, replace=False)).astype(np.int64)


def restrict_to_companies(candidates: CandidateSet, rows: np.ndarray) -> CandidateSet:
    """The candidate set of the companies at sorted grid ``rows`` only (same investors, history, window)."""
    rows = np.asarray(rows, dtype=np.int64)
    keep = np.isin(candidates.positive_rows, rows)
    history_links = candidates.history_links[rows]
    history_links.sort_indices()
    return dataclasses.replace(
        candidates,
        companies=candidates.companies[rows],
        history_links=history_links,
        positive_rows=np.searchsorted(rows, candidates.positive_rows[keep]).astype(np.int64),
        positive_cols=candidates.positive_cols[keep],
    )


class ValidationRanking:
    """The validation window's ranking, with a company sample fixed once for every epoch of a run.

    Args:
        candidates: the validation window's :class:`CandidateSet`.
        n_companies: candidate companies to rank (``--val_rank_companies``; 0 = all).
        seed: seed of the company sample.
        ks: the K of Precision@K and Recall@K (1000 is always included).
        block_pairs: cells per scored block (memory bound, see :mod:`tgnrank.eval.scoring`).
    """

    def __init__(self, candidates: CandidateSet, n_companies: int = DEFAULT_VAL_RANK_COMPANIES, seed: int = 0,
                 ks: tuple[int, ...] = DEFAULT_KS, block_pairs: int = DEFAULT_BLOCK_PAIRS):
        self.full = candidates
        self.seed = seed
        self.rows = sample_company_rows(candidates.n_companies, n_companies, seed)
        self.candidates = candidates if len(self.rows) == candidates.n_companies else restrict_to_companies(candidates, self.rows)
        self.ks = ks
        self.block_pairs = block_pairs

    @classmethod
    def from_events(cls, events: Interactions, n_companies: int = DEFAULT_VAL_RANK_COMPANIES, seed: int = 0,
                    train_quantile: float = 0.70, val_quantile: float = 0.85, **options) -> "ValidationRanking":
        """The ranking of the "val" window of ``events`` (all events), with the training split's quantiles."""
        return cls(build_window(events, "val", train_quantile, val_quantile), n_companies, seed, **options)

    @property
    def sampled(self) -> bool:
        return self.candidates.n_companies < self.full.n_companies

    def describe(self) -> str:
        """One log line: what is ranked each epoch, and whether it is a sample."""
        ranked, full = self.candidates, self.full
        scope = (
            f"a fixed sample (seed {self.seed}) of {ranked.n_companies:,} of {full.n_companies:,} candidate companies"
            if self.sampled else f"all {full.n_companies:,} candidate companies"
        )
        return (
            f"validation ranking: {scope}, {ranked.n_positives:,} of {full.n_positives:,} positives, "
            f"{ranked.n_candidates:,} candidate pairs, at day {full.t_start:g}"
        )

    def rank(self, model, n_neighbors: int, neighbor_finder=None) -> dict:
        """Rank the candidates with ``model`` as it is; returns the metrics and what was ranked.

        The dict holds :func:`~tgnrank.eval.metrics.ranking_metrics`' keys (``mrr``, ``recall@1000``,
        ``precision@1000``, ``median_rank_pct``, ...) plus ``n_companies_ranked``, ``n_companies_total``,
        ``n_positives_total``, ``sampled``, ``sample_seed`` and ``seconds``. ``neighbor_finder`` (e.g. the
        full-data finder) is used for the ranking only; default: the model's own.
        """
        started = time.perf_counter()
        # Inference mode inside the state guard only: the restored memory must stay an ordinary tensor.
        with _model_state_kept(model, neighbor_finder), torch.inference_mode():
            scorer = scorer_for_model(model, self.candidates, n_neighbors)
            ranking = rank_candidates(self.candidates, scorer, self.block_pairs, top_k=0)
        return {
            **ranking_metrics(ranking.ranks, self.ks),
            "n_companies_ranked": self.candidates.n_companies,
            "n_companies_total": self.full.n_companies,
            "n_positives_total": self.full.n_positives,
            "sampled": self.sampled,
            "sample_seed": self.seed,
            "seconds": time.perf_counter() - started,
        }


@contextlib.contextmanager
def _model_state_kept(model, neighbor_finder):
    """Eval mode and ``neighbor_finder`` (if given) inside; the memory, the mode and the finder restored after."""
    was_training = model.training
    previous_finder = getattr(model, "neighbor_finder", None)
    memory = model.backup_memory()
    model.eval()
    if neighbor_finder is not None:
        model.set_neighbor_finder(neighbor_finder)
    try:
        yield model
    finally:
        model.restore_memory(memory)
        model.train(was_training)
        if neighbor_finder is not None:
            model.set_neighbor_finder(previous_finder)
