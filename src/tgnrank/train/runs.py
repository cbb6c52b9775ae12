"""Training runs: ``n_runs`` seeds of one configuration, each restored to its best epoch and tested,
with the final checkpoint and the results files.

Early stopping watches ``--early_stop_metric`` (the per-epoch validation ranking's MRR by default)
and the best epoch is restored at the end; the test then
runs from the memory at the end of validation (see :mod:`tgnrank.train.evaluation`). Nothing here
prints: progress goes through ``TrainingCallbacks`` and ``logging``.
"""

from __future__ import annotations

import logging

import torch

from tgnrank.data import EventData
from tgnrank.train.checkpoint import checkpoint_config, make_checkpoint, restore_epoch, save_checkpoint
from tgnrank.train.config import TrainConfig
from tgnrank.train.device import cpu_threads_for
from tgnrank.train.early_stopping import EarlyStopping
from tgnrank.train.epochs import RunParts, RunState, initial_state, train_epochs
from tgnrank.train.evaluation import evaluate_test_sets
from tgnrank.train.logs import describe
from tgnrank.train.outputs import RunPaths, write_json, write_pickle
from tgnrank.train.records import RunResult, TrainingCallbacks, TrainingInterrupted, TrainingSummary
from tgnrank.train.training_data import TrainingData, load_training_data, set_seeds

logger = logging.getLogger(__name__)

def train_runs(
    config: TrainConfig,
    device: torch.device,
    paths: RunPaths,
    callbacks: TrainingCallbacks | None = None,
    training_data: TrainingData | None = None,
) -> TrainingSummary:
    """``n_runs`` runs with seeds ``seed, seed + 1, ...``; results JSON rewritten after each."""
    callbacks = callbacks or TrainingCallbacks()
    logger.info("Configuration: %s", ", ".join(f"{key}={value}" for key, value in config.to_dict().items()))
    training_data = training_data or load_training_data(config)
    runs: list[RunResult] = []
    for run in range(config.run.n_runs):
        run_config = config.with_seed(config.run.seed + run)
        runs.append(train_run(run_config, training_data, device, paths, run=run, callbacks=callbacks))
        summary = TrainingSummary(runs=runs, results_path=paths.results_json_path())
        write_json(summary.results_path, results_payload(config, training_data.data, summary))
    return summary


def train_run(
    config: TrainConfig,
    training_data: TrainingData,
    device: torch.device,
    paths: RunPaths,
    run: int = 0,
    callbacks: TrainingCallbacks | None = None,
) -> RunResult:
    """One complete run: epochs with validation and early stopping, the test, the final checkpoint, with
    torch's CPU threads as ``cpu_threads`` sets them (restored afterwards)."""
    with cpu_threads_for(device, config.run.cpu_threads):
        return _train_run(config, training_data, device, paths, run, callbacks)


def _train_run(
    config: TrainConfig,
    training_data: TrainingData,
    device: torch.device,
    paths: RunPaths,
    run: int,
    callbacks: TrainingCallbacks | None,
) -> RunResult:
    callbacks = callbacks or TrainingCallbacks()
    set_seeds(config.run.seed)
    parts = RunParts.build(config, training_data, device)
    callbacks.on_run_start(run, config)
    logger.info("Run %d (seed %d) on %s: %s", run, config.run.seed, device, describe(config))
    state = initial_state(parts, config, paths, run)
    if state.history:
        callbacks.on_run_resumed(state.history)
    try:
        stopper = train_epochs(parts, config, training_data, paths, run, callbacks, state)
        result = _finish_run(parts, config, training_data, paths, run, stopper, state)
    except KeyboardInterrupt:
        raise TrainingInterrupted(len(state.history), state.last_checkpoint) from None
    logger.info(
        "Run %d: test AP %.4f AUC %.4f, new-node test AP %.4f AUC %.4f; model saved to %s",
        run, result.test_ap, result.test_auc, result.new_node_test_ap, result.new_node_test_auc, result.model_path,
    )
    callbacks.on_run_end(result)
    return result


def _finish_run(parts: RunParts, config: TrainConfig, training_data: TrainingData, paths: RunPaths, run: int,
                stopper: EarlyStopping, state: RunState) -> RunResult:
    """Restore the best epoch, test it, and save the final checkpoint and results of the run."""
    history = state.history
    best_epoch = stopper.best_epoch if stopper.best_epoch is not None else history[-1].epoch
    if best_epoch != history[-1].epoch:
        restore_epoch(parts.model, paths.epoch_checkpoint_path(best_epoch))
        logger.info("Restored the best model, from epoch %d (val %s %.4f, val AP %.4f)", best_epoch,
                    config.run.early_stop_metric, history[best_epoch].early_stop_score, history[best_epoch].val_ap)
    result = RunResult(
        run=run,
        seed=config.run.seed,
        history=history,
        best_epoch=best_epoch,
        stopped_early=len(history) < config.optim.n_epoch,
        model_path=paths.model_path(run),
        **evaluate_test_sets(parts.model, training_data, parts.full_finder, config),
    )
    metrics = result.metrics()
    save_checkpoint(result.model_path, make_checkpoint(parts.config_entry, parts.model, metrics))
    write_pickle(paths.results_pickle_path(run), metrics)
    return result


def results_payload(config: TrainConfig, data: EventData, summary: TrainingSummary) -> dict:
    """``results/{prefix}-{data}.json``: the configuration, the mean and std of the test scores, every run."""
    aggregate = {}
    for name in ("test_ap", "test_auc", "new_node_test_ap", "new_node_test_auc"):
        mean, std = summary.mean_std(name)
        aggregate[f"{name}_mean"], aggregate[f"{name}_std"] = mean, std
    return {
        "config": checkpoint_config(config, data),
        "n_runs_completed": len(summary.runs),
        "summary": aggregate,
        "runs": [{**run.metrics(), "model_path": str(run.model_path)} for run in summary.runs],
    }
