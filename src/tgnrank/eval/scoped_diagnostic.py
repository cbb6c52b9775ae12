"""The diagnostic over a scope's parts: known companies, brand-new companies, or both and their union.

:func:`run_scoped_diagnostic` ranks each part of :func:`tgnrank.eval.protocol.build_scope_candidates`
with :func:`tgnrank.eval.diagnostic.run_diagnostic`, so every part has the metrics, ties and report of
the known protocol. Baselines per part: the brand-new companies have no history of their own, so
co-investment and PageRank (constant there) are left out and category popularity is added; the known
and the union parts keep every requested baseline and category popularity too. One replay of the
history serves the model on every part (:func:`model_scorers_for_parts`).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Mapping

from tgnrank.config.scope import NEW_COMPANIES
from tgnrank.data.events import EventData
from tgnrank.eval.baselines import CATEGORY_POPULARITY, NEW_COMPANY_BASELINES, CategoryPopularityScorer
from tgnrank.eval.company_profiles import node_categories
from tgnrank.eval.diagnostic import DiagnosticOptions, format_report, run_diagnostic
from tgnrank.eval.protocol import CandidateSet
from tgnrank.tables import text_table

PART_TITLES = {
    "known": "known companies (an event before the window)",
    "new_companies": "brand-new companies (no event before the window; scored from their attributes)",
    "all": "all companies (known and brand-new together)",
}
SUMMARY_KEYS = (("P@1000", "precision@1000"), ("R@1000", "recall@1000"), ("median rank", "median_rank"),
                ("MRR", "mrr"))


def part_baselines(part: str, requested: tuple[str, ...]) -> tuple[str, ...]:
    """The model-free baselines ranked on ``part`` among ``requested`` (category popularity aside)."""
    if part != NEW_COMPANIES:
        return requested
    return tuple(name for name in requested if name in NEW_COMPANY_BASELINES)


def run_scoped_diagnostic(
    data: EventData,
    parts: Mapping[str, CandidateSet],
    scope: str,
    model_scorers: Mapping[str, object] | None = None,
    model_name: str = "model",
    options: DiagnosticOptions = DiagnosticOptions(),
    progress: Callable[[str, int, int], None] | None = None,
    rankers: Mapping[str, tuple[str, object]] | None = None,
) -> dict:
    """``{"dataset", "scope", "parts": {part: run_diagnostic's dict}}`` for every part of ``parts``.

    ``model_scorers`` maps a part to the model's scorer there; ``rankers`` a part to (name, scorer) of
    a learned ranker, which then takes the model's column and the model (if any) becomes its member;
    a :class:`~tgnrank.eval.fusion.FusedScorer` ranker's fitting windows and importances are stored
    under the part's ``fusion`` key, as the diagnostic stores the fusion's.
    """
    model_scorers, rankers = dict(model_scorers or {}), dict(rankers or {})
    categories = node_categories(data)
    results = {}
    for part, candidates in parts.items():
        extra = {CATEGORY_POPULARITY: CategoryPopularityScorer(candidates, categories[candidates.companies], categories)}
        part_options = dataclasses.replace(options, baselines=part_baselines(part, options.baselines))
        scorer, name, members = model_scorers.get(part), model_name, {}
        if part in rankers:
            members = {model_name: scorer} if scorer is not None else {}
            name, scorer = rankers[part]
        results[part] = run_diagnostic(data, candidates, scorer, name, part_options, progress, members, extra)
        if part in rankers and hasattr(rankers[part][1], "ranker"):
            # the report then names it a learned LightGBM ranker with its fitting windows, not an ensemble
            results[part]["fusion"] = rankers[part][1].ranker.summary()
    return {"dataset": data.name, "scope": scope, "parts": results}


def format_scoped_report(result: dict) -> str:
    """Each part's report under its title, then (for several parts) one line per part and scorer."""
    sections = []
    for part, part_result in result["parts"].items():
        title = f"=== {PART_TITLES.get(part, part)} ==="
        sections.append(f"{title}\n{format_report(part_result)}")
    if len(result["parts"]) > 1:
        sections.append(summary_table(result))
    return "\n\n".join(sections)


def summary_table(result: dict) -> str:
    """One row per (part, scorer): P@1000, R@1000, median rank and MRR side by side."""
    rows = []
    for part, part_result in result["parts"].items():
        models = [*part_result.get("members", []), *([part_result["model"]] if part_result["model"] else [])]
        for name in [*models, *part_result["baselines"]]:
            metrics = part_result["scorers"][name]["metrics"]
            rows.append([part, name, f"{100 * metrics['precision@1000']:.2f}%", f"{100 * metrics['recall@1000']:.2f}%",
                         f"{metrics['median_rank']:,.0f}", f"{metrics['mrr']:.4f}"])
    header = ["part", "scorer", *(label for label, _ in SUMMARY_KEYS)]
    return "\n".join(["Scope summary:", *text_table(header, rows, indent=2)])


def model_scorers_for_parts(checkpoint: dict, data: EventData, parts: Mapping[str, CandidateSet], device,
                            batch_size: int | None = None) -> dict:
    """The checkpoint's scorer on every part, from one replay of their common history.

    A brand-new company has no event in the history, so the model embeds it from its static node
    features with an empty memory and no neighbour (a node without neighbours gets a zero attention
    output, as in TGN), and with ``activity_features`` an all-zero activity row.
    """
    from tgnrank.eval.checkpoint_scorer import replay_history
    from tgnrank.eval.model_scorer import scorer_for_model
    from tgnrank.train.checkpoint import build_model_from_checkpoint, stored_config
    from tgnrank.train.model_setup import build_neighbor_finder

    history = next(iter(parts.values())).history
    finder = build_neighbor_finder(history, data.n_nodes, stored_config(checkpoint))
    model, config = build_model_from_checkpoint(checkpoint, data, finder, device)
    replay_history(model, history, batch_size or config.bs, config.n_degree)
    return {part: scorer_for_model(model, candidates, config.n_degree) for part, candidates in parts.items()}
