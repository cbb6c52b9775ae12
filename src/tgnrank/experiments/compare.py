"""The guide's four-way comparison: train baseline, focal, hard-negative and focal + hard-negative
models over one or more seeds, rank the same window's candidates with each, and aggregate.

:func:`run_comparison` trains every (configuration, seed) pair with the training runs, runs the
temporal validation diagnostic on each model (the model-free baselines once, since they do not
depend on the model) and returns the :class:`~tgnrank.experiments.results.ComparisonResults` that
:mod:`tgnrank.experiments.report` renders and ``compare.json`` stores.

For each seed, the four models are also combined into an ensemble (the mean of their logits for each
candidate pair, :class:`~tgnrank.eval.scoring.EnsembleScorer`), diagnosed like one more model. Nothing
is trained for it: it is rebuilt from the stored checkpoints. With ``settings.fusion`` (the ranking
preset), each seed also gets the learned fusion (:mod:`tgnrank.eval.fusion`), fitted on the window
before the compared one and ranked like a model. Finished work is recorded in the state file
(:mod:`tgnrank.experiments.state`), so an interrupted comparison resumes.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Callable

import numpy as np

from tgnrank.eval.baselines import RANDOM, best_baseline, comparison_key
from tgnrank.eval.diagnostic import run_diagnostic
from tgnrank.eval.metrics import LIFT_K
from tgnrank.eval.protocol import CandidateSet, build_window, window_bounds
from tgnrank.experiments.presets import (
    ENSEMBLE_LABEL, ENSEMBLE_NAME, FUSION_LABEL, FUSION_NAME, CompareSettings, Configuration,
)
from tgnrank.experiments.results import ComparisonResults, rank_quantiles, summarize_runs
from tgnrank.experiments.ray_options import ExecutorOptions
from tgnrank.experiments.state import ComparisonState, dataset_fingerprint, merge_trial_records, open_state
from tgnrank.train.outputs import RunPaths, write_json

logger = logging.getLogger(__name__)

RESULTS_FILE = "compare.json"
TRAINING_RECORD = ("train_losses", "val_aps", "val_mrrs", "best_epoch", "epochs_completed", "stopped_early", "test_ap",
                   "test_auc")

RankingProgress = Callable[[str, int, int], None]


def run_comparison(
    settings: CompareSettings,
    device,
    callbacks=None,
    ranking_progress: RankingProgress | None = None,
    executor: ExecutorOptions | None = None,
) -> dict:
    """Train and diagnose every (configuration, seed) not already finished; return the results dict.

    ``callbacks`` are the training runs' (``tgnrank.train.records.TrainingCallbacks``);
    ``ranking_progress`` is the diagnostic's progress callback. The state file is rewritten after each
    finished training and each diagnostic, so an interruption loses at most the run in progress.
    ``compare.json`` is written at the end (see :func:`assemble_results` for its layout). With
    ``executor.uses_ray``, the runs still to train are Ray Tune trials (:mod:`.ray_compare`), each
    trained and diagnosed exactly as here; runs that Ray trials finished without the state hearing of
    it (the command was killed) are taken from their trial records first.
    """
    from tgnrank.train.training_data import load_training_data

    training_data = load_training_data(settings.base)
    data = training_data.data
    state = open_state(settings, dataset_fingerprint(data))
    merge_trial_records(settings, state)
    split = settings.base.dataset
    candidates = build_window(data.events, settings.window, split.train_quantile, split.val_quantile)
    logger.info(
        "%s window: %d positives, %d companies x %d investors = %d candidate pairs", settings.window,
        candidates.n_positives, candidates.n_companies, candidates.n_investors, candidates.n_candidates,
    )
    baselines = _baseline_results(settings, state, data, candidates, ranking_progress)
    pairs = [(configuration, seed) for configuration in settings.configurations for seed in settings.seeds]
    if executor is not None and executor.uses_ray:
        from tgnrank.experiments.ray_compare import train_on_ray

        train_on_ray(settings, state, [pair for pair in pairs if not is_trained(settings, state, *pair)], executor)
    for configuration, seed in pairs:
        entry = _trained_run(settings, state, configuration, seed, device, callbacks, training_data)
        _diagnose_run(settings, state, entry, data, candidates, device, ranking_progress)
    for seed in settings.seeds:
        _diagnose_ensemble(settings, state, seed, data, candidates, device, ranking_progress)
        if settings.fusion:
            _diagnose_fusion(settings, state, seed, data, candidates, ranking_progress)
    results = assemble_results(settings, state, baselines, candidates)
    write_json(settings.out_dir / RESULTS_FILE, results.to_dict())
    return results


def _baseline_results(settings, state: ComparisonState, data, candidates, progress) -> dict:
    wanted = settings.baseline_diagnostic_settings()
    if state.baselines is not None and state.baselines.get("settings") == wanted:
        logger.info("Baselines: already ranked on this window, reusing")
        return state.baselines["scorers"]
    logger.info("Ranking the candidates with the baselines")
    result = run_diagnostic(data, candidates, None, options=settings.options, progress=progress)
    n_candidates = candidates.n_candidates
    scorers = {name: _compact_scorer(entry, n_candidates) for name, entry in result["scorers"].items()}
    state.baselines = {"settings": wanted, "scorers": scorers}
    state.save()
    return scorers


def is_trained(settings, state, configuration: Configuration, seed: int) -> bool:
    """Whether the state records a finished training of (configuration, seed) whose checkpoint exists."""
    entry = state.runs.get(ComparisonState.run_key(configuration.name, seed))
    return entry is not None and settings.checkpoint_path(entry).is_file()


def _trained_run(settings, state, configuration: Configuration, seed: int, device, callbacks, training_data) -> dict:
    key = ComparisonState.run_key(configuration.name, seed)
    entry = state.runs.get(key)
    if is_trained(settings, state, configuration, seed):
        logger.info("%s, seed %d: already trained (%s), skipping training", configuration.name, seed,
                    settings.checkpoint_path(entry))
        return entry
    if entry is not None:
        logger.warning("%s, seed %d: checkpoint %s is missing, training again", configuration.name, seed,
                       settings.checkpoint_path(entry))
    entry = train_entry(settings, configuration, seed, device, callbacks, training_data)
    state.runs[key] = entry
    state.ensembles.pop(str(seed), None)  # its members changed
    state.save()
    return entry


def train_entry(settings, configuration: Configuration, seed: int, device, callbacks, training_data) -> dict:
    """Train (configuration, seed) into ``settings.out_dir``; the state's entry for it (no diagnostic yet).

    A run an interruption stopped midway continues after its last completed epoch (``resume``), unless
    ``settings.restart`` asks to retrain everything."""
    from tgnrank.train import runs

    config = settings.train_config(configuration, seed).replace(resume=not settings.restart)
    logger.info("Training %s, seed %d (%s)", configuration.name, seed, configuration.flags() or "random negatives, BCE")
    started = time.perf_counter()
    paths = RunPaths(config.run.prefix, config.dataset.data, root=settings.out_dir)
    summary = runs.train_runs(config, device, paths, callbacks, training_data)
    run = summary.runs[0]
    metrics = run.metrics()
    return {
        "configuration": configuration.name,
        "seed": seed,
        "prefix": config.run.prefix,
        "checkpoint": run.model_path.relative_to(settings.out_dir).as_posix(),
        "training_seconds": time.perf_counter() - started,
        "training": {
            name: metrics[name]
            for name in TRAINING_RECORD
        },
    }


def _diagnose_run(settings, state, entry: dict, data, candidates: CandidateSet, device, progress) -> None:
    if diagnose_entry(settings, entry, data, candidates, device, progress):
        state.save()


def diagnose_entry(settings, entry: dict, data, candidates: CandidateSet, device, progress) -> bool:
    """Add the run's diagnostic to ``entry`` unless it holds one for these settings; whether it ran."""
    from tgnrank.eval.scoring import model_scorer_from_checkpoint
    from tgnrank.train.checkpoint import load_checkpoint

    wanted = settings.model_diagnostic_settings()
    if entry.get("diagnostic_settings") == wanted:
        return False
    logger.info("Diagnostic of %s on the %s window", entry["prefix"], settings.window)
    scorer, _ = model_scorer_from_checkpoint(load_checkpoint(settings.checkpoint_path(entry)), data, candidates, device)
    entry["diagnostic"] = _model_diagnostic(settings, data, candidates, scorer, entry["prefix"], progress)
    entry["diagnostic_settings"] = wanted
    return True


def _diagnose_ensemble(settings, state, seed: int, data, candidates: CandidateSet, device, progress) -> None:
    """Diagnose the mean-logit ensemble of the seed's models (rebuilt from their checkpoints), unless done."""
    from tgnrank.eval.scoring import ensemble_scorer_from_checkpoints
    from tgnrank.train.checkpoint import load_checkpoint

    members = [state.runs[ComparisonState.run_key(c.name, seed)] for c in settings.configurations]
    wanted = {**settings.model_diagnostic_settings(), "members": [member["prefix"] for member in members]}
    stored = state.ensembles.get(str(seed))
    if stored is not None and stored.get("diagnostic_settings") == wanted:
        return
    prefix = settings.ensemble_prefix(seed)
    logger.info("Diagnostic of %s (mean logit of %s) on the %s window", prefix,
                ", ".join(wanted["members"]), settings.window)
    checkpoints = (load_checkpoint(settings.checkpoint_path(member)) for member in members)
    scorer, _, _ = ensemble_scorer_from_checkpoints(checkpoints, data, candidates, device)
    state.ensembles[str(seed)] = {
        "seed": seed,
        "prefix": prefix,
        "members": wanted["members"],
        "diagnostic": _model_diagnostic(settings, data, candidates, scorer, prefix, progress),
        "diagnostic_settings": wanted,
    }
    state.save()


def fusion_fitting_window(settings: CompareSettings, data, candidates: CandidateSet) -> tuple[float, float]:
    """(t_start, t_end) the fusion is fitted on: the validation window for the test window, else the
    window of the same length ending where the compared one starts (never a label it ranks)."""
    if settings.window == "test":
        split = settings.base.dataset
        return window_bounds(data.events, "val", split.train_quantile, split.val_quantile)
    return candidates.t_start - (candidates.t_end - candidates.t_start), candidates.t_start


def _diagnose_fusion(settings, state, seed: int, data, candidates: CandidateSet, progress) -> None:
    """Fit the seed's fusion and rank the window with it, unless the state holds it for these settings."""
    from tgnrank.data.feature_schema import feature_schema_of
    from tgnrank.eval.fusion import fit_fusion

    wanted = settings.fusion_settings(seed)
    stored = state.fusions.get(str(seed))
    if stored is not None and stored.get("diagnostic_settings") == wanted:
        logger.info("Fusion, seed %d: already fitted and ranked, reusing", seed)
        return
    options = dataclasses.replace(settings.fusion_options, fusion_seed=seed)
    fit_start, fit_end = fusion_fitting_window(settings, data, candidates)
    logger.info("Fitting the fusion (seed %d) on (%g, %g] and %d earlier window(s)", seed, fit_start, fit_end,
                options.fusion_windows - 1)
    started = time.perf_counter()
    edge_names = feature_schema_of(data).edge_names
    ranker = fit_fusion(data.events, fit_start, fit_end, data.node_features, data.edge_features, options,
                        edge_names=edge_names, progress=progress)
    prefix = settings.fusion_prefix(seed)
    scorer = ranker.scorer(candidates, data.node_features, data.edge_features, edge_names=edge_names)
    state.fusions[str(seed)] = {
        "seed": seed,
        "prefix": prefix,
        "fitting_seconds": time.perf_counter() - started,
        "importances": ranker.importances(),
        "diagnostic": _model_diagnostic(settings, data, candidates, scorer, prefix, progress),
        "diagnostic_settings": wanted,
    }
    state.save()


def _model_diagnostic(settings, data, candidates: CandidateSet, scorer, prefix: str, progress) -> dict:
    """The compact diagnostic of one model (or ensemble) scorer, without the baselines (ranked once apart)."""
    options = dataclasses.replace(settings.options, baselines=())
    result = run_diagnostic(data, candidates, scorer, prefix, options, progress)
    return {
        **_compact_scorer(result["scorers"][prefix], candidates.n_candidates),
        "top_predictions": result["top_predictions"],
    }


def _compact_scorer(entry: dict, n_candidates: int) -> dict:
    """A diagnostic scorer entry with the positives' ranks summarised as quantiles of their percentile."""
    compact = {"metrics": entry["metrics"], "seconds": entry.get("seconds", 0.0)}
    if "recall_curve" in entry:
        compact["recall_curve"] = entry["recall_curve"]
    if "positive_mean_ranks" in entry:
        compact["rank_quantiles"] = rank_quantiles(np.asarray(entry["positive_mean_ranks"]), n_candidates)
    return compact


def assemble_results(
    settings: CompareSettings, state: ComparisonState, baselines: dict, candidates: CandidateSet
) -> ComparisonResults:
    """The comparison's results, from the finished runs of ``state`` (see :class:`ComparisonResults`)."""
    best = best_baseline({name: baselines[name]["metrics"] for name in [RANDOM, *settings.options.baselines]})
    best_key = comparison_key(baselines[best]["metrics"])
    configurations = []
    for configuration in settings.configurations:
        runs = []
        for seed in settings.seeds:
            entry = dict(state.runs[ComparisonState.run_key(configuration.name, seed)])
            entry.pop("diagnostic_settings", None)
            entry["checkpoint"] = str(settings.checkpoint_path(entry))
            entry["beats_best_baseline"] = comparison_key(entry["diagnostic"]["metrics"]) < best_key
            runs.append(entry)
        configurations.append({
            "name": configuration.name,
            "label": configuration.label,
            "flags": configuration.flags(),
            "runs": runs,
            "summary": summarize_runs(runs),
        })
    ensemble_runs = _seed_runs(state.ensembles, settings.seeds, best_key)
    fusion = _fusion_column(settings, state, best_key) if settings.fusion else None
    mean_metrics = {c["name"]: {k: v["mean"] for k, v in c["summary"].items()} for c in configurations}
    return ComparisonResults.from_dict({
        "dataset": settings.base.data,
        "window": candidates.summary(),
        "ks": [int(k) for k in settings.options.ks],
        "lift_k": LIFT_K,
        "seeds": list(settings.seeds),
        "training": settings.shared_settings(),
        "configurations": configurations,
        "baselines": baselines,
        "baseline_names": [RANDOM, *settings.options.baselines],
        "best_baseline": best,
        "best_configuration": min(mean_metrics, key=lambda name: comparison_key(mean_metrics[name])),
        "ensemble": {
            "name": ENSEMBLE_NAME,
            "label": ENSEMBLE_LABEL,
            "combination": "mean logit",
            "members": [configuration.name for configuration in settings.configurations],
            "runs": ensemble_runs,
            "summary": summarize_runs(ensemble_runs),
        },
        "fusion": fusion,
    })


def _fusion_column(settings: CompareSettings, state: ComparisonState, best_key) -> dict:
    runs = _seed_runs(state.fusions, settings.seeds, best_key)
    return {
        "name": FUSION_NAME,
        "label": FUSION_LABEL,
        "combination": "LightGBM lambdarank over history-only pair features, fitted on the window before",
        "runs": runs,
        "summary": summarize_runs(runs),
    }


def _seed_runs(stored: dict, seeds, best_key) -> list[dict]:
    """A column's run per seed: a copy of ``stored[str(seed)]`` without the diagnostic settings it was
    cached under, marked with whether it beats the best baseline (whose comparison key is ``best_key``)."""
    runs = []
    for seed in seeds:
        entry = dict(stored[str(seed)])
        entry.pop("diagnostic_settings", None)
        entry["beats_best_baseline"] = comparison_key(entry["diagnostic"]["metrics"]) < best_key
        runs.append(entry)
    return runs
