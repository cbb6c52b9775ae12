"""The hard-negative self-test behind ``python hard_negative_mining.py``: samples, measures, checks.

:class:`SelfTest` draws random and hard negatives for training positives of one dataset and returns
(a) example lines by name, (b) similarity summaries per temperature, (c) PASS/FAIL :class:`Check`s;
the command line only prints them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tgnrank.data.arrays import distinct
from tgnrank.sampling.negatives import BatchedHardNegativeSampler
from tgnrank.tables import text_table

TABLE_TEMPERATURES = (1.0, 0.5, 0.1, 0.01)
NEGATIVES_PER_POSITIVE = 5
EXAMPLE_NEGATIVES = 3
TOLERANCE_SDS = 4.0
RATIO_CHECK_NEGATIVES = (1, 4)
RATIO_CHECK_ROUNDS = 5
NAME_WIDTH = 36


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class SimilaritySummary:
    """Similarity to the true investor of one sampler's negatives; the standard error is over positives."""

    label: str
    mean: float
    median: float
    standard_error: float
    fallback_share: float | None


class SelfTest:
    """The self-test's sampling and measurements, over one dataset's training split.

    ``node_features (n_nodes + 1, d)`` are the vectors ``similarity`` was computed from: the command line
    passes those training compares investors by (:func:`~tgnrank.data.activity.similarity_features`).
    """

    def __init__(self, node_names, train, node_features, similarity, seed: int):
        self.node_names = node_names
        self.train = train
        self.node_features = node_features
        self.similarity = similarity
        self.seed = seed
        self._rng = np.random.default_rng(seed)

    def sampler(self, ratio: float, temperature: float):
        return BatchedHardNegativeSampler(
            self.node_features, self.train.sources, self.train.destinations,
            hard_neg_ratio=ratio, hard_neg_temperature=temperature, hard_neg_topk=max(self.similarity.topk, 1),
            seed=self.seed, similarity=self.similarity,
        )

    def choose_positives(self, n_positives: int) -> np.ndarray:
        """Indices of ``min(n_positives, len(train))`` distinct training events."""
        return np.sort(self._rng.choice(len(self.train), size=min(n_positives, len(self.train)), replace=False))

    def example_lines(self, n_examples: int, temperature: float) -> list[str]:
        positives = self.choose_positives(n_examples)
        companies, investors = self.train.sources[positives], self.train.destinations[positives]
        random_negatives = self.sampler(0.0, temperature).sample(companies, investors, EXAMPLE_NEGATIVES)
        hard_negatives = self.sampler(1.0, temperature).sample(companies, investors, EXAMPLE_NEGATIVES)
        lines = []
        for company, investor, randoms, hards in zip(companies, investors, random_negatives, hard_negatives):
            lines.append(f"  {self.node_names[company]}  ->  {self.node_names[investor]}")
            rows = [
                [self._name(r), f"{self.similarity.pairwise(investor, r):+.3f}",
                 self._name(h), f"{self.similarity.pairwise(investor, h):+.3f}"]
                for r, h in zip(randoms, hards)
            ]
            lines += text_table(["random negative", "sim", "hard negative", "sim"], rows, "lrlr", gap=3, indent=6)
            lines.append("")
        return lines

    def similarity_summaries(self, positives: np.ndarray, temperatures) -> list[SimilaritySummary]:
        """Random negatives first, then hard negatives (ratio 1) at each temperature."""
        summaries = [self._summarise("random", self.sampler(0.0, 1.0), positives, with_fallbacks=False)]
        for temperature in temperatures:
            summaries.append(self._summarise(f"hard, T={temperature:g}", self.sampler(1.0, temperature), positives))
        return summaries

    def _summarise(self, label: str, sampler, positives: np.ndarray, with_fallbacks: bool = True):
        negatives = self._sample(sampler, positives, NEGATIVES_PER_POSITIVE)
        similarities = self.similarity.pairwise(self.train.destinations[positives], negatives)
        per_positive = similarities.mean(axis=1)
        fallback = sampler.stats()["n_fallback"] / negatives.size if with_fallbacks else None
        return SimilaritySummary(
            label=label,
            mean=float(similarities.mean()),
            median=float(np.median(similarities)),
            standard_error=float(per_positive.std(ddof=1) / np.sqrt(len(per_positive))) if len(per_positive) > 1 else 0.0,
            fallback_share=fallback,
        )

    def _sample(self, sampler, positives: np.ndarray, n_neg: int) -> np.ndarray:
        sampled = sampler.sample(self.train.sources[positives], self.train.destinations[positives], n_neg)
        return sampled.reshape(len(positives), n_neg)

    def _name(self, node_id: int) -> str:
        name = str(self.node_names[node_id])
        return name if len(name) <= NAME_WIDTH else name[: NAME_WIDTH - 1] + "…"

    def checks(self, positives, summaries, temperature: float, ratio: float) -> list[Check]:
        by_label = {summary.label: summary for summary in summaries}
        label = f"hard, T={temperature:g}"
        hard = by_label.get(label) or self._summarise(label, self.sampler(1.0, temperature), positives)
        checks = [
            check_hard_more_similar(by_label["random"], hard),
            check_temperature_monotone([s for s in summaries if s.label.startswith("hard")]),
            self.check_exclusions(positives, ratio, temperature),
        ]
        checks += [self.check_ratio(positives, ratio, temperature, n_neg) for n_neg in RATIO_CHECK_NEGATIVES]
        return checks

    def check_exclusions(self, positives, ratio: float, temperature: float) -> Check:
        """Negatives of samplers at ratios 0, ``ratio`` and 1 are never linked to their company in training."""
        n_nodes = len(self.node_names)
        linked_keys = distinct(self.train.sources * n_nodes + self.train.destinations)
        companies = self.train.sources[positives][:, None]
        trues = self.train.destinations[positives][:, None]
        n_linked = n_true = n_total = 0
        for sampler_ratio in sorted({0.0, ratio, 1.0}):
            negatives = self._sample(self.sampler(sampler_ratio, temperature), positives, NEGATIVES_PER_POSITIVE)
            n_linked += int(np.isin(companies * n_nodes + negatives, linked_keys).sum())
            n_true += int((negatives == trues).sum())
            n_total += negatives.size
        return Check(
            "no negative linked to its company in training, none equal to the true investor",
            n_linked == 0 and n_true == 0,
            f"{n_linked} linked and {n_true} true investors among {n_total:,} negatives (ratios 0, {ratio:g}, 1)",
        )

    def check_ratio(self, positives, ratio: float, temperature: float, n_neg: int) -> Check:
        """The share of hard draws matches ``ratio`` within TOLERANCE_SDS binomial standard deviations.

        Each positive draws ``floor(ratio n_neg)`` hard negatives plus one with probability
        ``frac(ratio n_neg)``, so the share's deviation is binomial over positives.
        """
        sampler = self.sampler(ratio, temperature)
        repeated = np.tile(positives, RATIO_CHECK_ROUNDS)
        self._sample(sampler, repeated, n_neg)
        stats = sampler.stats()
        share = ratio * n_neg
        fraction = share - np.floor(share)
        sd = np.sqrt(fraction * (1 - fraction) * len(repeated)) / (len(repeated) * n_neg)
        tolerance = TOLERANCE_SDS * sd + 1e-12
        requested = stats["requested_share_hard"]
        return Check(
            f"hard share honours --hard_neg_ratio {ratio:g} with {n_neg} negative(s) per positive",
            abs(requested - ratio) <= tolerance,
            f"{requested:.3f} hard (tolerance ±{tolerance:.3f}); {stats['share_hard']:.3f} drawn from the top-k, "
            f"{stats['n_fallback']} fell back to random",
        )


def check_hard_more_similar(random: SimilaritySummary, hard: SimilaritySummary) -> Check:
    margin = hard.mean - random.mean
    tolerance = TOLERANCE_SDS * np.hypot(random.standard_error, hard.standard_error)
    return Check(
        f"hard negatives ({hard.label.removeprefix('hard, ')}) more similar than random ones",
        bool(margin > tolerance),
        f"mean {hard.mean:+.3f} vs {random.mean:+.3f}, margin {margin:+.3f} (needs > {tolerance:.3f})",
    )


def check_temperature_monotone(hard_summaries: list[SimilaritySummary]) -> Check:
    """Mean similarity does not decrease, beyond the tolerance, from each temperature to the next lower one."""
    steps = []
    for higher_t, lower_t in zip(hard_summaries, hard_summaries[1:]):
        drop = higher_t.mean - lower_t.mean
        tolerance = TOLERANCE_SDS * np.hypot(higher_t.standard_error, lower_t.standard_error)
        steps.append((drop - tolerance, drop, tolerance))
    worst_excess, worst_drop, worst_tolerance = max(steps, default=(0.0, 0.0, 0.0))
    means = ", ".join(f"{summary.mean:+.3f}" for summary in hard_summaries)
    return Check(
        "lower temperature gives more similar hard negatives",
        bool(worst_excess <= 0),
        f"means {means}; largest drop {max(worst_drop, 0.0):.3f} (allowed {worst_tolerance:.3f})",
    )


def summary_table(summaries: list[SimilaritySummary]) -> list[str]:
    rows = [
        [s.label, f"{s.mean:+.3f}", f"{s.median:+.3f}",
         "-" if s.fallback_share is None else f"{100 * s.fallback_share:.1f}%"]
        for s in summaries
    ]
    return text_table(["negatives", "mean sim", "median sim", "fallback"], rows, "lrrr", gap=3, indent=2)
