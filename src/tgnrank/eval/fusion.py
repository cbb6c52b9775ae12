"""A learned fusion of the history's signals: LightGBM ``lambdarank`` over per-pair features.

The fusion is fitted on windows that end where the evaluated window starts, so it never reads a label
of the window it ranks:

* fitting windows: the validation window (t_start, t_end] and, with ``fusion_windows > 1``, earlier windows
  of the same length, (t_start - k s L, t_end - k s L] for k = 1 .. n_windows - 1 (L = t_end - t_start,
  s = ``fusion_window_step``; with s = 0.5 consecutive windows overlap by half, which doubles the companies
  the ranker learns from without reaching further into the past). Each window's features come from its
  own history (events up to its start) and its labels are its new links, exactly as the diagnostic
  defines positives;
* per candidate company of a fitting window: all its positives and ``fusion_negatives`` candidate
  investors drawn uniformly (seeded) among the others. One query group per company, so ``lambdarank``
  learns to order each company's investors, which is what MRR and Hits@10 measure;
* ``fusion_bags`` lambdarank models, each on its own negative draw and LightGBM seed, averaged into one
  booster (:mod:`tgnrank.eval.booster_bag`): on the real export the ranking then depends far less on the
  seed (test MRR std 0.0006 instead of 0.0020 over 3 seeds, same mean within noise).

Extra scorers (a trained model's logit, say) are extra feature columns: ``extra_scorers`` maps a name
to a factory ``candidates -> CandidateScorer`` called once per window, so each window's scores come
from its own history. A factory returns None on a window where its scorer has no fair score (a model on
a window of its own training period): that column is then missing there, which LightGBM sends down
each split's learned default branch, so the trees learn the scorer's splits from the other windows.

Lambdarank orders investors within a company and says nothing about which company's pairs come first,
yet Recall@K and the median rank are read over the whole grid. With ``fusion_company_rates`` (default)
a second, company-level model orders the companies: a LightGBM Poisson regression of each candidate
company's number of new links on its features (:meth:`PairFeatures.company_matrix`), fitted on the same
windows. A pair's score is then log(expected new links of c) + log softmax over c's candidates of the
lambdarank scores: the log of its expected share of c's new links. Within a company the order is the
lambdarank order, so MRR and Hits@10 are unchanged.

Applying the fusion to a window builds that window's features from its history and streams the grid
block by block (:class:`FusedScorer`), so it plugs into :func:`tgnrank.eval.scoring.rank_candidates`
like any scorer.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from tgnrank.config.params import Boolean, Interval, Section, setting
from tgnrank.data.events import Interactions, atomic_write
from tgnrank.errors import ConfigError, TgnrankError
from tgnrank.eval.booster_bag import average_boosters
from tgnrank.eval.pair_features import FEATURE_NAMES, PairFeatures, company_matrix_names
from tgnrank.eval.protocol import CandidateSet, build_candidates

logger = logging.getLogger(__name__)

ScorerFactory = Callable[[CandidateSet], object]
FEATURE_BLOCK_PAIRS = 1 << 18
# The progress stages of a fit begin with this; the window's number and count follow.
FITTING_STAGE = "fitting the fusion"
_AT_LEAST_ONE = Interval(int, 1)
# The company model sees one row per candidate company (about 500 per window on the real export), so it
# stays small; these were chosen on the real export's validation window.
COMPANY_TREES = 100
COMPANY_LEAVES = 7
MIN_RATE = 1e-9


@dataclass(frozen=True)
class FusionOptions(Section):
    """How the fusion is fitted; the defaults were chosen on the real-data benchmark (docs/design.md)."""

    TITLE = "learned fusion (LightGBM lambdarank over history-only pair features)"

    fusion_windows: int = setting(5, _AT_LEAST_ONE, "fitting windows: the validation window and the windows of "
                                  "the same length before it, fusion_window_step window lengths apart")
    fusion_window_step: float = setting(0.5, Interval(float, 0.0, 1.0, closed="right"), "distance between "
                                        "consecutive fitting windows, as a share of the window length (1: back to "
                                        "back, 0.5: each overlaps the next by half)")
    fusion_negatives: int = setting(200, _AT_LEAST_ONE, "candidate investors drawn per company of a fitting "
                                    "window, besides its positives")
    fusion_bags: int = setting(5, _AT_LEAST_ONE, "lambdarank models averaged into one, each fitted on its own "
                               "negative draw with its own seed (fusion_seed, then streams derived from it)")
    fusion_trees: int = setting(150, _AT_LEAST_ONE, "boosting rounds of each bagged model")
    fusion_learning_rate: float = setting(0.05, Interval(float, 0.0, 1.0, closed="right"), "boosting learning rate")
    fusion_leaves: int = setting(15, Interval(int, 2), "leaves per tree")
    fusion_min_leaf: int = setting(50, _AT_LEAST_ONE, "fewest sampled pairs in a leaf")
    fusion_seed: int = setting(0, Interval(int, 0, 2**31 - 1), "seed of the negative draws and of LightGBM")
    fusion_company_rates: bool = setting(True, Boolean(), "order the companies too: a pair scores log(expected new "
                                         "links of the company) + log softmax of its score among the company's "
                                         "candidates")


@dataclass
class FittedWindow:
    """What one fitting window contributed: its bounds, positives and sampled rows."""

    t_start: float
    t_end: float
    n_positives: int
    n_rows: int


@dataclass
class FusedRanker:
    """A fitted fusion: the LightGBM booster and the feature columns it reads, in order."""

    booster: object
    feature_names: tuple[str, ...]
    extra_names: tuple[str, ...]
    windows: list[FittedWindow] = field(default_factory=list)
    company_booster: object | None = None
    company_feature_names: tuple[str, ...] = ()

    def importances(self) -> dict[str, float]:
        """Each feature's share of the total split gain (sums to 1), highest first."""
        return _gain_shares(self.booster, self.feature_names)

    def summary(self) -> dict:
        """JSON-ready: the fitting windows and the feature importances (and the company model's)."""
        summary = {
            "windows": [dataclasses.asdict(window) for window in self.windows],
            "importances": self.importances(),
        }
        if self.company_booster is not None:
            summary["company_importances"] = _gain_shares(self.company_booster, self.company_feature_names)
        return summary

    def scorer(
        self,
        candidates: CandidateSet,
        static_node_features: np.ndarray,
        edge_features: np.ndarray,
        extra_scorers: Mapping[str, ScorerFactory] | None = None,
        edge_names=(),
    ) -> "FusedScorer":
        """The fusion's scorer on ``candidates``; ``edge_names`` names the edge columns (see
        :class:`~tgnrank.eval.round_columns.RoundColumns`), as when it was fitted."""
        extras = dict(extra_scorers or {})
        if tuple(extras) != self.extra_names:
            raise ConfigError(
                f"this fusion was fitted with the extra scorers {list(self.extra_names)}, got {list(extras)}"
            )
        features = PairFeatures.from_candidates(candidates, static_node_features, edge_features, edge_names=edge_names)
        return FusedScorer(self, features, [factory(candidates) for factory in extras.values()])

    def save(self, path: str | Path) -> None:
        """Write the booster as LightGBM's text model (atomically), and the company model, when there is
        one, beside it (:func:`company_model_path`)."""
        for target, booster in ((path, self.booster), (company_model_path(path), self.company_booster)):
            if booster is not None:
                text = booster.model_to_string()
                atomic_write(target, lambda handle, text=text: handle.write(text.encode("utf-8")))


def company_model_path(path: str | Path) -> Path:
    """Where :meth:`FusedRanker.save` writes the company model: ``X.lgb.txt`` -> ``X.companies.lgb.txt``."""
    path = Path(path)
    stem = path.name[: -len(".lgb.txt")] if path.name.endswith(".lgb.txt") else path.name
    return path.with_name(f"{stem}.companies.lgb.txt")


class FusedScorer:
    """Scores blocks of the candidate grid with a :class:`FusedRanker` (a CandidateScorer).

    With the company model, a positive's score needs its whole row (the softmax runs over the row), and
    the ranking asks for the positives before it streams the blocks: every row the positives made it
    score is kept in a temporary file (:class:`SpilledRows`) and read back when its block is asked
    for, so the trees score each row once and memory stays flat.
    """

    def __init__(self, ranker: FusedRanker, features: PairFeatures, extra_scorers: list):
        self.ranker, self.features, self.extra_scorers = ranker, features, extra_scorers
        self.log_rates = None
        self.spilled = None
        if ranker.company_booster is not None:
            rates = ranker.company_booster.predict(features.company_matrix())
            self.log_rates = np.log(np.maximum(rates, MIN_RATE))

    def score_block(self, row_start: int, row_stop: int) -> np.ndarray:
        if self.spilled is not None and self.spilled.holds(row_start, row_stop):
            return self.spilled.read(row_start, row_stop)
        return self._score_rows(row_start, row_stop)

    def _score_rows(self, row_start: int, row_stop: int) -> np.ndarray:
        n_investors = self.features.candidates.n_investors
        parts = []
        for first, last in self._row_steps(row_start, row_stop):
            block = _feature_block(self.features, self.extra_scorers, first, last)
            flat = block.reshape(-1, block.shape[2])
            parts.append(self.ranker.booster.predict(flat).reshape(last - first, n_investors))
        scores = np.concatenate(parts, axis=0)
        return scores if self.log_rates is None else self._across_companies(scores, row_start, row_stop)

    def score_pairs(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """(P,) scores of the cells (rows[k], cols[k]) (the ranking asks for the positives first). The
        features are built for their rows; without the company model the trees only evaluate the
        requested cells, with it they score the whole rows, which the softmax needs, and keep them for
        :meth:`score_block`."""
        order = np.argsort(rows, kind="stable")
        rows, cols = np.asarray(rows)[order], np.asarray(cols)[order]
        out = np.empty(len(rows), dtype=np.float64)
        if len(rows) == 0:
            return out
        for first, last in self._row_steps(int(rows[0]), int(rows[-1]) + 1):
            inside = slice(*np.searchsorted(rows, [first, last]))
            if inside.stop == inside.start:
                continue
            if self.log_rates is not None:
                if self.spilled is None:
                    grid = self.features.candidates
                    self.spilled = SpilledRows(grid.n_companies, grid.n_investors)
                scores = self._score_rows(first, last)
                self.spilled.write(first, scores)
                out[order[inside]] = scores[rows[inside] - first, cols[inside]]
                continue
            block = _feature_block(self.features, self.extra_scorers, first, last)
            out[order[inside]] = self.ranker.booster.predict(block[rows[inside] - first, cols[inside]])
        return out

    def _across_companies(self, scores: np.ndarray, row_start: int, row_stop: int) -> np.ndarray:
        """(rows, I) log expected new links of the company + log softmax of the scores over its candidates."""
        from scipy.special import logsumexp

        is_candidate = self.features.candidates.block_mask(row_start, row_stop)
        log_total = logsumexp(np.where(is_candidate, scores, -np.inf), axis=1, keepdims=True)
        log_total = np.where(np.isfinite(log_total), log_total, 0.0)
        return scores - log_total + self.log_rates[row_start:row_stop, None]

    def _row_steps(self, row_start: int, row_stop: int):
        step = max(1, FEATURE_BLOCK_PAIRS // max(1, self.features.candidates.n_investors))
        for first in range(row_start, row_stop, step):
            yield first, min(first + step, row_stop)


class SpilledRows:
    """Whole rows of float64 scores of an (n_rows, n_cols) grid in an anonymous temporary file (removed
    when closed or collected): 8 bytes of disk per cell, none of memory beyond the block being read."""

    def __init__(self, n_rows: int, n_cols: int):
        self.file = tempfile.TemporaryFile()
        self.n_cols = n_cols
        self.written = np.zeros(n_rows, dtype=bool)

    def write(self, first_row: int, scores: np.ndarray) -> None:
        self.file.seek(first_row * self.n_cols * 8)
        self.file.write(memoryview(np.ascontiguousarray(scores, dtype=np.float64)))
        self.written[first_row : first_row + len(scores)] = True

    def holds(self, row_start: int, row_stop: int) -> bool:
        return bool(self.written[row_start:row_stop].all())

    def read(self, row_start: int, row_stop: int) -> np.ndarray:
        self.file.seek(row_start * self.n_cols * 8)
        values = np.fromfile(self.file, dtype=np.float64, count=(row_stop - row_start) * self.n_cols)
        return values.reshape(row_stop - row_start, self.n_cols)


def fitting_windows(
    events: Interactions, t_start: float, t_end: float, n_windows: int, build=build_candidates, step: float = 1.0
) -> list[CandidateSet]:
    """The candidate sets of the fitting windows ending at ``t_end``, latest first, each ``step`` window
    lengths before the next.

    Earlier windows without a positive (the data starts too late) are skipped; the latest must have one.
    ``build(events, t_start, t_end, window=...)`` builds each (default: the known-pairs protocol).
    """
    length = t_end - t_start
    if not length > 0:
        raise ConfigError(f"the fitting window ({t_start:g}, {t_end:g}] is empty")
    windows = []
    for k in range(n_windows):
        try:
            shift = k * step * length
            windows.append(build(events, t_start - shift, t_end - shift, window=f"fit-{k}"))
        except TgnrankError:
            if k == 0:
                raise
            logger.info("fitting window %d has no positive; skipped", k)
    return windows


def fit_fusion(
    events: Interactions,
    t_start: float,
    t_end: float,
    static_node_features: np.ndarray,
    edge_features: np.ndarray,
    options: FusionOptions = FusionOptions(),
    extra_scorers: Mapping[str, ScorerFactory] | None = None,
    edge_names=(),
    progress: Callable[[str, int, int], None] | None = None,
) -> FusedRanker:
    """Fit the fusion on the window (t_start, t_end] and the ``options.fusion_windows - 1`` windows before it.

    Only events with t <= t_end are ever read, so a fusion fitted on the validation window has seen
    nothing of the test window. ``edge_names`` names the edge columns, so that the amount and stage
    features find theirs (:class:`~tgnrank.eval.round_columns.RoundColumns`). ``progress(stage, done,
    total)`` follows each window's companies, one stage per window (see :data:`FITTING_STAGE`).
    """
    import lightgbm

    extras = dict(extra_scorers or {})
    past = events.select(events.timestamps <= t_end)
    # Bag 0 draws as an unbagged fusion does; the others from independent streams of the same seed.
    rngs = [np.random.default_rng(options.fusion_seed)]
    rngs += [np.random.default_rng([options.fusion_seed, bag]) for bag in range(1, options.fusion_bags)]
    samples = [[] for _ in rngs]  # per bag: each window's (rows, labels, groups)
    fitted, company_rows, company_counts = [], [], []
    window_sets = fitting_windows(past, t_start, t_end, options.fusion_windows, step=options.fusion_window_step)
    for number, candidates in enumerate(window_sets):
        features = PairFeatures.from_candidates(candidates, static_node_features, edge_features, edge_names=edge_names)
        scorers = [factory(candidates) for factory in extras.values()]
        report = None if progress is None else functools.partial(
            progress, f"{FITTING_STAGE} (window {number + 1} of {len(window_sets)})"
        )
        draws = sample_draws(candidates, features, scorers, options.fusion_negatives, rngs, report)
        for bag, draw in zip(samples, draws):
            bag.append(draw)
        company_rows.append(features.company_matrix())
        company_counts.append(np.bincount(candidates.positive_rows, minlength=candidates.n_companies))
        fitted.append(FittedWindow(candidates.t_start, candidates.t_end, candidates.n_positives, len(draws[0][1])))
    names = FEATURE_NAMES + tuple(extras)
    logger.info("Boosting %d lambdarank model(s) on %d sampled pairs of %d window(s)",
                len(samples), sum(len(labels) for _, labels, _ in samples[0]), len(window_sets))
    boosters = []
    for number, windows in enumerate(samples):
        matrices, labels, groups = zip(*windows)
        params = lightgbm_params("lambdarank", options.fusion_learning_rate, options.fusion_leaves,
                                 options.fusion_min_leaf, (options.fusion_seed + number) % 2**31)
        boosters.append(train_lambdarank(params, matrices, labels, groups, names, options.fusion_trees))
    booster = average_boosters(boosters)
    if not options.fusion_company_rates:
        return FusedRanker(booster, names, tuple(extras), fitted)
    company_names = company_matrix_names(static_node_features.shape[1], edge_features.shape[1])
    companies = lightgbm.Dataset(
        np.concatenate(company_rows), np.concatenate(company_counts).astype(np.float64),
        feature_name=list(company_names),
    )
    company_params = lightgbm_params("poisson", options.fusion_learning_rate, COMPANY_LEAVES,
                                     options.fusion_min_leaf, options.fusion_seed)
    company_booster = lightgbm.train(company_params, companies, num_boost_round=COMPANY_TREES)
    return FusedRanker(booster, names, tuple(extras), fitted, company_booster, company_names)


def lightgbm_params(objective: str, learning_rate: float, leaves: int, min_leaf: int, seed: int) -> dict:
    """The boosting parameters every learned ranker of tgnrank uses: bagged, seeded and deterministic."""
    return dict(
        objective=objective,
        learning_rate=learning_rate,
        num_leaves=leaves,
        min_data_in_leaf=min_leaf,
        feature_fraction=0.8,
        bagging_fraction=0.8,
        bagging_freq=1,
        seed=seed,
        deterministic=True,
        force_row_wise=True,
        verbose=-1,
    )


def train_lambdarank(params: dict, matrices: list, labels: list, groups: list, names, trees: int):
    """A LightGBM booster fitted on the windows' sampled rows (``sample_window``'s outputs, one per window)."""
    import lightgbm

    dataset = lightgbm.Dataset(
        np.concatenate(matrices), np.concatenate(labels), group=np.concatenate(groups), feature_name=list(names)
    )
    return lightgbm.train(params, dataset, num_boost_round=trees)


def _gain_shares(booster, names: tuple[str, ...]) -> dict[str, float]:
    """Each feature's share of the booster's total split gain (sums to 1), highest first."""
    gains = np.asarray(booster.feature_importance(importance_type="gain"), dtype=np.float64)
    shares = gains / gains.sum() if gains.sum() > 0 else gains
    order = np.argsort(-shares, kind="stable")
    return {names[j]: float(shares[j]) for j in order}


def _feature_block(features: PairFeatures, extra_scorers: list, row_start: int, row_stop: int) -> np.ndarray:
    """(rows, I, F + extras) float32: the pair features followed by each extra scorer's scores (missing
    values for a scorer that is None: it has no fair score on this window)."""
    block = features.block(row_start, row_stop)
    if not extra_scorers:
        return block
    shape = (row_stop - row_start, features.candidates.n_investors)
    extras = [np.full(shape, np.nan, dtype=np.float32) if scorer is None
              else np.asarray(scorer.score_block(row_start, row_stop), dtype=np.float32) for scorer in extra_scorers]
    return np.concatenate([block, np.stack(extras, axis=2)], axis=2)


def sample_window(
    candidates: CandidateSet, features: PairFeatures, scorers: list, negatives_per_company: int, rng
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Feature rows, 0/1 labels and per-company group sizes: every positive and up to
    ``negatives_per_company`` uniformly drawn other candidates of each candidate company."""
    return sample_draws(candidates, features, scorers, negatives_per_company, [rng])[0]


def sample_draws(
    candidates: CandidateSet, features: PairFeatures, scorers: list, negatives_per_company: int, rngs: list,
    progress: Callable[[int, int], None] | None = None,
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """:func:`sample_window` once per generator of ``rngs``, computing each block of features once;
    ``progress(companies done, companies)`` after each block."""
    step = max(1, FEATURE_BLOCK_PAIRS // max(1, candidates.n_investors))
    draws = [([], [], []) for _ in rngs]
    for row_start in range(0, candidates.n_companies, step):
        row_stop = min(row_start + step, candidates.n_companies)
        is_candidate = candidates.block_mask(row_start, row_stop)
        is_positive = np.zeros_like(is_candidate)
        positives = candidates.block_positives(row_start, row_stop)
        is_positive[candidates.positive_rows[positives] - row_start, candidates.positive_cols[positives]] = True
        block = _feature_block(features, scorers, row_start, row_stop)
        n_negatives = min(negatives_per_company, is_candidate.shape[1])
        for rng, (matrices, labels, groups) in zip(rngs, draws):
            # Each row keeps its positives and the negatives with the smallest random keys.
            keys = rng.random(is_candidate.shape)
            keys[~is_candidate | is_positive] = np.inf
            chosen = np.zeros_like(is_candidate)
            picked = np.argpartition(keys, n_negatives - 1, axis=1)[:, :n_negatives]
            np.put_along_axis(chosen, picked, True, axis=1)
            chosen &= np.isfinite(keys)
            chosen |= is_positive
            rows, cols = np.nonzero(chosen)
            matrices.append(block[rows, cols])
            labels.append(is_positive[rows, cols].astype(np.int32))
            groups.append(np.bincount(rows, minlength=row_stop - row_start))
        if progress is not None:
            progress(row_stop, candidates.n_companies)
    out = []
    for matrices, labels, groups in draws:
        sizes = np.concatenate(groups)
        out.append((np.concatenate(matrices), np.concatenate(labels), sizes[sizes > 0]))
    return out
