"""Running a list of independent trials with Ray Tune: the Ray session, each trial's resources, the
Tuner over the trials' keys, and what came back.

Tune schedules; the caller records. Each trial is a function of ``{"key": ..., "cpus": ...}`` that does
its whole job (train, diagnose) and writes what it finished under the storage path itself, so a
finished trial is on disk whether or not the driver lived to see it; a run of the command is one Tune
experiment over the keys still to do (the callers' own records decide which), so nothing depends on
Tune's experiment state surviving an interruption.
"""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path
from typing import Callable

from tgnrank.errors import TgnrankError
from tgnrank.experiments.ray_options import ExecutorOptions, require_ray
from tgnrank.parallel import machine_cpus

logger = logging.getLogger(__name__)

RAY_RESULTS = "ray_results"  # Tune's own files, under the storage path


class TrialsInterrupted(Exception):
    """The command was interrupted while Ray trials ran; the finished ones are recorded."""


class TrialFailed(TgnrankError):
    """A Ray trial raised: the message carries the trial's key and its error."""


@contextlib.contextmanager
def ray_session(options: ExecutorOptions):
    """Ray, connected: to ``--ray_address`` when given, else to a Ray started here with this machine's
    CPUs; an already initialised Ray (a test's, a notebook's) is used as it is. Shut down on exit only
    when started here."""
    ray = require_ray()
    started = not ray.is_initialized()
    if started and options.ray_address:
        logger.info("Connecting to the Ray cluster at %s", options.ray_address)
        ray.init(address=options.ray_address, log_to_driver=False)
    elif started:
        logger.info("Starting a local Ray with %d CPUs", machine_cpus())
        ray.init(num_cpus=machine_cpus(), include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


def trial_resources(ray, options: ExecutorOptions, n_trials: int) -> dict:
    """CPUs and GPUs each trial reserves (what Ray schedules by): the cluster's CPUs shared among
    ``--max_concurrent`` trials (else among all), at least one, at most one node's."""
    total = int(ray.cluster_resources().get("CPU", 1))
    largest = max((int(node["Resources"].get("CPU", 0)) for node in ray.nodes() if node.get("Alive")), default=1)
    at_once = options.max_concurrent or n_trials
    cpus = max(1, min(largest, total // max(at_once, 1)))
    return {"cpu": cpus, "gpu": options.gpus_per_run}


def trial_threads(options: ExecutorOptions) -> int:
    """A trial's torch threads: ``--threads_per_run``, else this process's, since float sums depend on
    the thread count and a trial should compute what the local executor would."""
    import torch

    return options.threads_per_run or torch.get_num_threads()


def run_trials(trainable: Callable, keys: list[str], options: ExecutorOptions, storage: Path, name: str,
               on_trial_done: Callable[[str], None] | None = None, **parameters) -> None:
    """Run ``trainable(config, **parameters)`` as one Tune trial per key (``config["key"]``, and
    ``config["threads"]``, its torch threads), at most
    ``--max_concurrent`` at once; ``on_trial_done(key)`` runs on the driver as each one finishes.

    Raises TrialsInterrupted when Ctrl-C stopped the experiment, TrialFailed when a trial raised.
    """
    if not keys:
        return
    from ray import tune

    with ray_session(options) as ray:
        resources = trial_resources(ray, options, len(keys))
        logger.info("Ray Tune: %d trial(s), each with %s, at most %s at once", len(keys), resources,
                    options.max_concurrent or "as many as fit")
        tuner = tune.Tuner(
            tune.with_resources(tune.with_parameters(trainable, **parameters), resources),
            param_space={"key": tune.grid_search(list(keys)), "threads": trial_threads(options)},
            tune_config=tune.TuneConfig(max_concurrent_trials=options.max_concurrent or None),
            run_config=tune.RunConfig(
                storage_path=str(storage / RAY_RESULTS), name=f"{name}-{time.strftime('%Y%m%d-%H%M%S')}",
                verbose=1, callbacks=[_done_callback(on_trial_done)] if on_trial_done else None,
            ),
        )
        grid = tuner.fit()
    failed = [(result.config.get("key"), result.error) for result in grid if result.error is not None]
    finished = sum(1 for result in grid if result.error is None and result.metrics.get("done"))
    if failed:
        key, error = failed[0]
        raise TrialFailed(f"{len(failed)} Ray trial(s) failed; the first, {key}: {error}")
    if finished < len(keys):
        raise TrialsInterrupted(f"interrupted: {finished} of {len(keys)} Ray trial(s) finished")


def _done_callback(on_trial_done: Callable[[str], None]):
    from ray.tune import Callback

    class TrialDone(Callback):
        def on_trial_complete(self, iteration, trials, trial, **info) -> None:
            on_trial_done(trial.config["key"])

    return TrialDone()


def report_done(**metrics) -> None:
    """Inside a trial: tell Tune it finished (what it produced is already on disk)."""
    from ray import tune

    tune.report({"done": 1, **metrics})


def set_threads(threads: int) -> None:
    """Inside a trial: torch's threads (Ray sets them from the trial's CPUs otherwise)."""
    import torch

    torch.set_num_threads(max(1, int(threads)))
