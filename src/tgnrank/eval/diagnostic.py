"""The temporal validation diagnostic: a model and the baselines ranked on the same candidates.

:func:`run_diagnostic` scores every candidate pair of a window with each scorer (streamed, see
:mod:`tgnrank.eval.scoring`) and returns a JSON-ready dict; :func:`format_report` turns that dict into
the text a person reads: the metrics table (model beside the baselines), the candidate counts, the best
baseline and the top predicted new links by name, each marked hit or miss.

For an ensemble, the model is the :class:`~tgnrank.eval.scoring.EnsembleScorer` and its ``members``
are ranked too, each shown as its own column before the ensemble's.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

from tgnrank.data.events import EventData
from tgnrank.errors import ConfigError
from tgnrank.eval.baselines import BASELINES, RANDOM, best_baseline, build_baselines, comparison_key
from tgnrank.eval.metrics import DEFAULT_KS, HITS_K, LIFT_K, random_ranking_metrics, ranking_metrics, recall_curve
from tgnrank.eval.protocol import CandidateSet
from tgnrank.eval.scoring import DEFAULT_BLOCK_PAIRS, TOP_PAIRS, CandidateScorer, ScoredRanking, rank_candidates
from tgnrank.tables import text_table

logger = logging.getLogger(__name__)

RECALL_CURVE_POINTS = 60


@dataclass(frozen=True)
class DiagnosticOptions:
    """What to compute: the K of Precision/Recall@K, which baselines, the block size and top list length."""

    ks: tuple[int, ...] = DEFAULT_KS
    baselines: tuple[str, ...] = BASELINES
    block_pairs: int = DEFAULT_BLOCK_PAIRS
    top_k: int = TOP_PAIRS


def run_diagnostic(
    data: EventData,
    candidates: CandidateSet,
    model_scorer: CandidateScorer | None = None,
    model_name: str = "model",
    options: DiagnosticOptions = DiagnosticOptions(),
    progress: Callable[[str, int, int], None] | None = None,
    members: Mapping[str, CandidateScorer] | None = None,
    extra_baselines: Mapping[str, CandidateScorer] | None = None,
) -> dict:
    """Rank the candidates with the model (if given) and every baseline; return the result dict.

    The dict holds ``dataset``, ``window`` (the candidate counts), ``ks``, ``scorers`` (per scorer:
    ``metrics``, ``seconds``, ``recall_curve``, ``positive_mean_ranks``), ``model`` (its name or
    None), ``best_baseline``, ``model_beats_best_baseline`` and ``top_predictions`` (the model's, or
    the best baseline's without a model). ``progress`` is called with (scorer name, candidate companies
    done, candidate companies in all) as blocks are ranked.

    ``members`` (name -> scorer), given with an ensemble ``model_scorer``, are ranked as well; the dict
    then also holds ``members`` (their names, in order) and ``beats_best_baseline`` (per model, members
    and ensemble). The top predictions stay the ensemble's.

    ``extra_baselines`` (name -> scorer) are baselines built by the caller (e.g. category popularity,
    which needs node attributes), ranked and compared like the named ones.
    """
    extra_baselines = dict(extra_baselines or {})
    members = dict(members or {})
    if members and model_scorer is None:
        raise ValueError("members are the parts of an ensemble model_scorer, which is missing")
    baseline_names = [RANDOM, *options.baselines, *extra_baselines]
    check_model_names([*members, *([model_name] if model_scorer is not None else [])], tuple(baseline_names[1:]))
    scorers: dict[str, dict] = {}
    rankings: dict[str, ScoredRanking] = {}
    named = {**build_baselines(candidates, options.baselines), **extra_baselines}
    if model_scorer is not None:
        named = {**members, model_name: model_scorer, **named}
    for name, scorer in named.items():
        logger.debug("Ranking %d candidate pairs with %s", candidates.n_candidates, name)
        started = time.perf_counter()
        report = None if progress is None else functools.partial(progress, name)
        rankings[name] = rank_candidates(candidates, scorer, options.block_pairs, options.top_k, report)
        scorers[name] = _scorer_entry(rankings[name], options.ks, time.perf_counter() - started)
    scorers[RANDOM] = {
        "metrics": random_ranking_metrics(
            candidates.candidates_per_company(), candidates.positives_per_company(), options.ks
        ),
        "seconds": 0.0,
    }
    best = best_baseline({name: scorers[name]["metrics"] for name in baseline_names})
    shown = model_name if model_scorer is not None else best
    top = rankings[shown].top if shown in rankings else None
    result = {
        "dataset": data.name,
        "window": candidates.summary(),
        "ks": [int(k) for k in options.ks],
        "lift_k": LIFT_K,
        "hits_k": HITS_K,
        "model": model_name if model_scorer is not None else None,
        "baselines": baseline_names,
        "scorers": scorers,
        "best_baseline": best,
        "model_beats_best_baseline": (
            None
            if model_scorer is None
            else comparison_key(scorers[model_name]["metrics"]) < comparison_key(scorers[best]["metrics"])
        ),
        "top_predictions_by": shown,
        "top_predictions": [] if top is None else _named_top(data, candidates, top),
    }
    if members:
        best_key = comparison_key(scorers[best]["metrics"])
        result["members"] = list(members)
        result["beats_best_baseline"] = {
            name: comparison_key(scorers[name]["metrics"]) < best_key for name in [*members, model_name]
        }
    return result


def check_model_names(model_names: list[str], baselines: tuple[str, ...]) -> None:
    """Every model needs its own column: ConfigError unless the names differ from each other and from the baselines."""
    taken = {RANDOM, *baselines}
    clashes = sorted({name for name in model_names if name in taken or model_names.count(name) > 1})
    if clashes:
        raise ConfigError(
            f"model names must differ from each other and from the baselines ({', '.join(sorted(taken))}); "
            f"clashing: {', '.join(clashes)} (rename the checkpoint file)"
        )


def _scorer_entry(ranking: ScoredRanking, ks, seconds: float) -> dict:
    ranks = ranking.ranks
    curve_ks = np.unique(np.geomspace(1, ranks.n_candidates, RECALL_CURVE_POINTS).round().astype(np.int64))
    return {
        "metrics": ranking_metrics(ranks, ks),
        "seconds": seconds,
        "recall_curve": {"k": curve_ks.tolist(), "recall": recall_curve(ranks, curve_ks).tolist()},
        "positive_mean_ranks": ranks.mean_ranks().tolist(),
    }


def _named_top(data: EventData, candidates: CandidateSet, top) -> list[dict]:
    positive_keys = set(zip(candidates.positive_rows.tolist(), candidates.positive_cols.tolist()))
    return [
        {
            "rank": rank,
            "company": str(data.node_names[candidates.companies[row]]),
            "investor": str(data.node_names[candidates.investors[col]]),
            "company_id": int(candidates.companies[row]),
            "investor_id": int(candidates.investors[col]),
            "score": float(score),
            "hit": (row, col) in positive_keys,
        }
        for rank, (row, col, score) in enumerate(zip(top.rows.tolist(), top.cols.tolist(), top.scores.tolist()), 1)
    ]


def format_report(result: dict) -> str:
    """The diagnostic as text: counts, the metrics table, the best baseline and the top predictions."""
    window = result["window"]
    lines = [
        f"Temporal validation diagnostic: dataset '{result['dataset']}', {window['window']} window "
        f"({window['t_start']:g}, {window['t_end']:g}] days, history of {window['n_history_events']:,} events",
        f"  positives (new links): {window['n_positives']:,}   candidate companies: "
        f"{window['n_candidate_companies']:,}   investors: {window['n_candidate_investors']:,}   "
        f"candidate pairs: {window['n_candidates']:,}",
        "",
        *_metrics_table(result),
        "",
        f"Best baseline: {result['best_baseline']} (highest Precision@{result['lift_k']}, ties by median rank)",
    ]
    if "fusion" in result:
        lines += _fusion_lines(result)
    if result.get("members"):
        if "fusion" not in result:
            lines.append(f"Ensemble '{result['model']}': {_combination(result)}.")
        for name, beats in result["beats_best_baseline"].items():
            lines.append(f"{name} {'beats' if beats else 'does NOT beat'} the best baseline.")
    elif result["model"] is not None:
        verdict = "beats" if result["model_beats_best_baseline"] else "does NOT beat"
        lines.append(f"The model {verdict} the best baseline.")
    if result["top_predictions"]:
        hits = sum(item["hit"] for item in result["top_predictions"])
        lines += [
            "",
            f"Top {len(result['top_predictions'])} predicted new links ({result['top_predictions_by']}); "
            f"{hits} hit(s):",
        ]
        lines += [
            f"  {item['rank']:>3}. {item['company']} -> {item['investor']}   score {item['score']:.4g}   "
            f"{'HIT' if item['hit'] else 'miss'}"
            for item in result["top_predictions"]
        ]
    return "\n".join(lines)


def _fusion_lines(result: dict) -> list[str]:
    fusion = result["fusion"]
    windows = ", ".join(
        f"({w['t_start']:g}, {w['t_end']:g}] ({w['n_positives']:,} new links)" for w in fusion["windows"]
    )
    importances = [[name, f"{share:.1%}"] for name, share in fusion["importances"].items()]
    return [
        f"'{result['model']}' is the learned fusion (LightGBM lambdarank), fitted on {windows}.",
        "Feature importances (share of split gain):",
        *text_table(["feature", "gain"], importances, indent=2),
    ]


def _combination(result: dict) -> str:
    weights = result.get("member_weights")
    if weights is None or len(set(weights)) == 1:
        return f"mean logit of {', '.join(result['members'])}"
    parts = ", ".join(f"{name} x {weight:.3g}" for name, weight in zip(result["members"], weights))
    return f"weighted mean logit of {parts}"


def _metrics_table(result: dict) -> list[str]:
    models = [*result.get("members", []), result["model"]] if result["model"] is not None else []
    columns = models + result["baselines"]
    n_candidates = result["window"]["n_candidates"]
    rows = [(f"Precision@{k}", f"precision@{k}", _percent) for k in result["ks"]]
    rows += [(f"Recall@{k}", f"recall@{k}", _percent) for k in result["ks"]]
    rows += [
        ("Median rank", "median_rank", lambda value: f"{value:,.0f}"),
        ("Median rank %", "median_rank_pct", lambda value: f"{value:.2f}%"),
        (f"vs Random (lift@{result['lift_k']})", f"lift@{result['lift_k']}", lambda value: f"{value:.2f}x"),
        ("MRR (per company)", "mrr", lambda value: f"{value:.4f}"),
        (f"Hits@{result['hits_k']} (per company)", f"hits@{result['hits_k']}", _percent),
    ]
    cells = [[label, *(show(result["scorers"][name]["metrics"][key]) for name in columns)] for label, key, show in rows]
    return [*text_table(["Metric", *columns], cells, min_width=10),
            f"(ranks among {n_candidates:,} candidate pairs; ties count by expectation)"]


def _percent(value: float) -> str:
    return f"{100 * value:.2f}%"


def checkpoint_mismatches(stored: dict, requested: dict) -> dict[str, str]:
    """For every requested value that differs from the checkpoint's, its setting's name and the line
    "name: requested X, checkpoint Y" (the command line spells the name as its flag)."""
    return {
        name: f"{name}: requested {value!r}, checkpoint {stored.get(name)!r}"
        for name, value in requested.items()
        if stored.get(name) != value
    }
