"""A comparison's runs as Ray Tune trials: each (configuration, seed) still to train is one trial that
trains it and runs its diagnostic with the very functions the local executor uses
(:func:`~tgnrank.experiments.compare.train_entry`, :func:`~tgnrank.experiments.compare.diagnose_entry`),
so the results are the same whichever executor ran them.

A trial reads the dataset and writes its checkpoint and its trial record under the comparison's
folder (absolute paths, see ``--storage``), never under its own working directory; the driver takes
each record into the state as the trial finishes (:func:`~tgnrank.experiments.state.merge_trial_records`),
and again on the next run if it was killed first. A trial killed midway leaves its epoch checkpoints: the
next run's trial continues after the last completed epoch (``train_entry`` trains with ``resume``).
"""

from __future__ import annotations

import logging

from tgnrank.experiments.presets import CompareSettings, Configuration
from tgnrank.experiments.ray_options import ExecutorOptions
from tgnrank.experiments.state import ComparisonState, merge_trial_records

logger = logging.getLogger(__name__)

EXPERIMENT = "compare"


def train_on_ray(settings: CompareSettings, state: ComparisonState, pending: list[tuple[Configuration, int]],
                 executor: ExecutorOptions) -> None:
    """Train and diagnose the ``pending`` (configuration, seed) pairs as Ray Tune trials, recording each
    finished one in ``state`` as it comes back."""
    from tgnrank.experiments.ray_tune import run_trials

    keys = [ComparisonState.run_key(configuration.name, seed) for configuration, seed in pending]
    if not keys:
        return
    logger.info("Ray executor: %d run(s) to train: %s", len(keys), ", ".join(keys))
    try:
        run_trials(compare_trial, keys, executor, settings.out_dir, EXPERIMENT,
                   on_trial_done=lambda key: merge_trial_records(settings, state),
                   settings=settings, device_name=executor.device_name)
    finally:
        merge_trial_records(settings, state)  # those finished while the driver was stopping


def compare_trial(config: dict, settings: CompareSettings, device_name: str) -> None:
    """One Ray trial: train and diagnose ``config["key"]`` (``{configuration}@{seed}``) and write its record."""
    import torch

    from tgnrank.eval.protocol import build_window
    from tgnrank.experiments.compare import diagnose_entry, train_entry
    from tgnrank.experiments.ray_tune import report_done, set_threads
    from tgnrank.experiments.state import TRIALS_DIR, dataset_fingerprint, write_trial_record
    from tgnrank.train.outputs import attach_log_file
    from tgnrank.train.training_data import load_training_data

    set_threads(config["threads"])
    configuration, seed = pair_of_key(settings, config["key"])
    handler = attach_log_file(settings.out_dir / TRIALS_DIR / f"{config['key']}.log")
    try:
        training_data = load_training_data(settings.base)
        data, split = training_data.data, settings.base.dataset
        candidates = build_window(data.events, settings.window, split.train_quantile, split.val_quantile)
        device = torch.device(device_name)
        entry = train_entry(settings, configuration, seed, device, None, training_data)
        diagnose_entry(settings, entry, data, candidates, device, None)
        write_trial_record(settings, entry, dataset_fingerprint(data))
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    report_done(key=config["key"])


def pair_of_key(settings: CompareSettings, key: str) -> tuple[Configuration, int]:
    """The (configuration, seed) of a run key ``{configuration}@{seed}``."""
    name, _, seed = key.rpartition("@")
    configuration = next(c for c in settings.configurations if c.name == name)
    return configuration, int(seed)
