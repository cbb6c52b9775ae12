"""A sweep's trials as Ray Tune trials: each Tune trial runs one trial of the sweep's Optuna study,
which lives in a journal file under ``--storage`` that every worker opens (Optuna's way of sharing a
study between processes), so the TPE sampler sees every finished trial and the median pruner compares
a trial with the others, wherever they ran.

Tune only schedules: ``n`` trials, at most ``--max_concurrent`` at once, each with its share of the
CPUs. Each worker's sampler is seeded from the sweep's seed, the trials the study held when the command
started and the worker's slot, so concurrent workers do not draw the same settings (a parallel sweep
is therefore not the same sequence as a local one) and a resumed sweep draws new ones.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Callable

from tgnrank.experiments.ray_options import ExecutorOptions
from tgnrank.experiments.sweep import SweepSettings

logger = logging.getLogger(__name__)

EXPERIMENT = "sweep"
SLOT_SEED_STRIDE = 1_000_003  # keeps the seeds of different starts apart


def run_trials_on_ray(settings: SweepSettings, n_trials: int, started_with: int, executor: ExecutorOptions,
                      on_trial_done: Callable[[], None]) -> None:
    """Run ``n_trials`` more trials of the study as Ray Tune trials; ``on_trial_done`` after each."""
    from tgnrank.experiments.ray_tune import run_trials

    keys = [str(slot) for slot in range(n_trials)]
    logger.info("Ray executor: %d sweep trial(s)", n_trials)
    run_trials(sweep_trial, keys, executor, settings.storage, EXPERIMENT,
               on_trial_done=lambda key: on_trial_done(), settings=dataclasses.replace(settings, restart=False),
               device_name=executor.device_name,
               seed_base=settings.seed * SLOT_SEED_STRIDE + started_with)


def sweep_trial(config: dict, settings: SweepSettings, device_name: str, seed_base: int) -> None:
    """One Ray trial: one trial of the shared study (``config["key"]`` is the worker's slot)."""
    import torch

    from tgnrank.errors import ConfigError
    from tgnrank.experiments.ray_tune import report_done, set_threads
    from tgnrank.experiments.sweep import make_pruner, open_study, require_optuna, train_trial
    from tgnrank.train.outputs import attach_log_file
    from tgnrank.train.training_data import load_training_data

    set_threads(config["threads"])
    optuna = require_optuna()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    handler = attach_log_file(settings.storage / "trials" / f"slot{int(config['key']):03d}.log")
    try:
        sampler = optuna.samplers.TPESampler(seed=seed_base + int(config["key"]), constant_liar=True)
        study = open_study(optuna, settings, sampler, make_pruner(optuna, settings.pruner))
        training_data = load_training_data(settings.base)
        device = torch.device(device_name)
        study.optimize(lambda trial: train_trial(settings, trial, device, training_data, optuna.TrialPruned),
                       n_trials=1, catch=(ConfigError,))
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    report_done(slot=int(config["key"]))
