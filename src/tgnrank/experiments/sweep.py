"""A hyperparameter search over training settings with Optuna: every trial is one training run.

:func:`run_sweep` samples each trial's settings from the search space (:mod:`.search_space`) with a
seeded TPE sampler, trains it with the product's training runs (``--early_stop_metric`` set to the
swept metric, so the epoch kept is the best one by that metric), reports the per-epoch validation
ranking metric to Optuna after every epoch and lets the pruner (median rule, or none) stop a trial
that trails the others. Every trial trains with the same ``--seed``, so trials differ by their settings
only. The best finished trial is then re-diagnosed on the test window beside the baselines.

Everything goes under ``settings.storage`` (absolute; nothing depends on the working directory):
the Optuna study (``optuna-journal.log``, a journal file that several processes, on several machines
of a shared file system, may append to), the trials' checkpoints (``saved_models/trial{NNN}-{data}.pth``...),
``sweep.json`` (rebuilt from the study after every trial), and the reports.

The study is the sweep's record, so a sweep resumes: run again with the same arguments, it keeps the
finished trials (complete, pruned, refused), runs an interrupted trial again with the same settings
(a new trial of the study that continues the interrupted one's files after its last completed epoch,
``resume``), and runs only the trials still missing from ``--trials``. With ``executor.uses_ray`` the
trials are Ray Tune trials (:mod:`.ray_sweep`), each running one trial of the same study.
"""

from __future__ import annotations

import json
import logging
import math
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path

from tgnrank.errors import ConfigError, TgnrankError
from tgnrank.eval.diagnostic import DiagnosticOptions
from tgnrank.experiments.search_space import SearchSpace
from tgnrank.train.config import TrainConfig, declarations
from tgnrank.train.outputs import RunPaths, write_json
from tgnrank.train.records import TrainingCallbacks

logger = logging.getLogger(__name__)

SWEEP_FILE = "sweep.json"
STUDY_FILE = "optuna-journal.log"
STUDY_NAME = "tgnrank-sweep"
EXTRA_HINT = "pip install -e '.[distributed]'"
METRICS = {"mrr": "val_mrr", "recall@1000": "val_recall_at_1000"}  # --metric -> EpochRecord field
PRUNERS = ("median", "none")
MEDIAN_STARTUP_TRIALS = 3  # finished trials before the median rule may prune
MEDIAN_WARMUP_EPOCHS = 1  # epochs of a trial never pruned: its first epoch says little
BEST_NAME = "best-trial"
# Left out of the best configuration's command line: set per trial by the sweep, or derived.
_NOT_IN_COMMAND = {"prefix", "n_runs", "use_focal_loss", "resume"}
# Trial user attributes of the sweep's own bookkeeping, not copied into sweep.json's trials.
_INTERRUPTED, _RETRY_OF = "interrupted", "retry_of"
# The trial whose files (prefix trial{NNN}) a retry continues: the first of a chain of retries.
_FILES_OF = "files_of"


class SweepError(TgnrankError):
    """The sweep cannot go on (its metric is undefined on this dataset, Optuna is missing...)."""


def require_optuna():
    """The ``optuna`` module, or SweepError naming the extra that installs it."""
    try:
        import optuna
    except ImportError:
        raise SweepError(f"tgnrank sweep needs Optuna, which is not installed: {EXTRA_HINT}") from None
    return optuna


@dataclass(frozen=True)
class SweepSettings:
    """What to search: the base training settings (every trial's, before its own values), the space,
    the number of trials, the validation metric maximised, the pruner and where to write.

    ``base.run.seed`` seeds the sampler and every trial's training.
    """

    base: TrainConfig
    space: SearchSpace
    n_trials: int
    storage: Path
    metric: str = "mrr"
    pruner: str = "median"
    options: DiagnosticOptions = field(default_factory=DiagnosticOptions)
    restart: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.n_trials, bool) or not isinstance(self.n_trials, int) or self.n_trials < 1:
            raise ConfigError(f"n_trials must be an integer >= 1, got {self.n_trials!r}", parameters=("n_trials",))
        if self.metric not in METRICS:
            raise ConfigError(f"metric must be one of {', '.join(METRICS)}, got {self.metric!r}",
                              parameters=("metric",))
        if self.pruner not in PRUNERS:
            raise ConfigError(f"pruner must be one of {', '.join(PRUNERS)}, got {self.pruner!r}",
                              parameters=("pruner",))
        object.__setattr__(self, "storage", Path(self.storage).expanduser().resolve())

    @property
    def seed(self) -> int:
        return self.base.run.seed

    def fingerprint(self) -> dict:
        """What the study's trials depend on: a stored study made under another one is not continued."""
        return {"metric": self.metric, "pruner": self.pruner, "space": self.space.to_dict(),
                "training": self.base.fingerprint()}

    def trial_config(self, number: int, params: dict, resume: bool = False) -> TrainConfig:
        """Trial ``number``'s configuration: the base, its values, one run kept by the swept metric;
        ``resume`` continues trial ``number``'s files after their last completed epoch."""
        return self.base.replace(**params, prefix=f"trial{number:03d}", n_runs=1, early_stop_metric=self.metric,
                                 resume=resume)


class TrialReporter(TrainingCallbacks):
    """Reports each epoch's validation metric to the Optuna trial and raises ``TrialPruned`` when the
    pruner says so; ``values`` collects the per-epoch metric."""

    def __init__(self, trial, metric: str, pruned_error: type) -> None:
        self.trial, self.metric, self.pruned_error = trial, metric, pruned_error
        self.values: list[float] = []

    def on_run_resumed(self, history) -> None:
        """A retried trial continues its interrupted files: their epochs count as this trial's."""
        for record in history:
            self._report(record)

    def on_epoch_end(self, record) -> None:
        value = self._report(record)
        if self.trial.should_prune():
            raise self.pruned_error(f"pruned after epoch {record.epoch}: validation {self.metric} {value:.4f}")

    def _report(self, record) -> float:
        value = epoch_metric(record, self.metric)
        self.values.append(value)
        self.trial.report(value, record.epoch)
        return value


def epoch_metric(record, metric: str) -> float:
    """The epoch's validation ``metric``; SweepError when undefined (no new link in the validation window)."""
    value = float(getattr(record, METRICS[metric]))
    if math.isnan(value):
        raise SweepError(f"metric {metric} is undefined: the validation window has no new link to rank; "
                         "choose other train_quantile/val_quantile",
                         parameters=("metric", "train_quantile", "val_quantile"))
    return value


def make_pruner(optuna, name: str):
    if name == "none":
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=MEDIAN_STARTUP_TRIALS, n_warmup_steps=MEDIAN_WARMUP_EPOCHS)


def run_sweep(settings: SweepSettings, device, pruner=None, executor=None) -> dict:
    """Run the trials still missing, diagnose the best one on the test window, write ``sweep.json``;
    return its dict.

    ``pruner`` (an Optuna pruner) replaces the one ``settings.pruner`` names; ``executor`` (an
    :class:`~tgnrank.experiments.ray_options.ExecutorOptions`) runs the trials on Ray when it says so.
    """
    optuna = require_optuna()
    from tgnrank.train.training_data import load_training_data

    training_data = load_training_data(settings.base)
    pruner = pruner if pruner is not None else make_pruner(optuna, settings.pruner)
    study = open_study(optuna, settings, optuna.samplers.TPESampler(seed=settings.seed), pruner)
    remaining = settings.n_trials - resume_study(optuna, study)

    def write_records() -> None:
        write_json(settings.storage / SWEEP_FILE, sweep_payload(settings, study, None, None))

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the sweep logs each trial itself
    if remaining > 0 and executor is not None and executor.uses_ray:
        from tgnrank.experiments.ray_sweep import run_trials_on_ray

        run_trials_on_ray(settings, remaining, len(study.trials), executor, write_records)
    elif remaining > 0:
        def objective(trial) -> float:
            return train_trial(settings, trial, device, training_data, optuna.TrialPruned)

        def after_trial(study, trial) -> None:
            logger.info("Trial %d %s: value %s, %s", trial.number, trial.state.name.lower(), trial.value,
                        trial.params)
            write_records()

        study.optimize(objective, n_trials=remaining, catch=(ConfigError,), callbacks=[after_trial])
    best = best_trial(trial_records(study))
    diagnostic = None
    if best is not None:
        diagnostic = diagnose_best(settings, training_data, settings.storage / best["checkpoint"], device)
    results = sweep_payload(settings, study, best, diagnostic)
    write_json(settings.storage / SWEEP_FILE, results)
    return results


def open_study(optuna, settings: SweepSettings, sampler, pruner):
    """The sweep's study in its journal file under ``settings.storage``: the stored one when made under the
    same settings (SweepError otherwise, unless ``settings.restart`` discards it), else a new one."""
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    path = settings.storage / STUDY_FILE
    if settings.restart and path.exists():
        logger.info("restart: discarding the trials recorded in %s", path, extra={"parameters": ("restart",)})
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    storage = JournalStorage(JournalFileBackend(str(path)))
    study = optuna.create_study(study_name=STUDY_NAME, storage=storage, direction="maximize", sampler=sampler,
                                pruner=pruner, load_if_exists=True)
    wanted = json.loads(json.dumps(settings.fingerprint()))  # as the journal gives it back
    stored = study.user_attrs.get("sweep")
    if stored is None:
        study.set_user_attr("sweep", wanted)
    elif stored != wanted:
        changed = sorted(key for key in wanted if stored.get(key) != wanted[key])
        raise SweepError(f"{str(path)!r} records a sweep made with another {', '.join(changed)}: rerun with the "
                         "same arguments to resume, pass restart to start again, or choose another storage",
                         parameters=("restart", "storage"))
    return study


def resume_study(optuna, study) -> int:
    """Queue again, with the same settings, each trial an interruption stopped (left running, or failed
    with the interruption) and mark it interrupted; return the trials that count as finished."""
    TrialState = optuna.trial.TrialState
    retried = {trial.user_attrs.get(_RETRY_OF) for trial in study.trials}
    finished = 0
    for trial in study.trials:
        stopped = trial.state == TrialState.RUNNING or (trial.state == TrialState.FAIL and
                                                        trial.user_attrs.get(_INTERRUPTED))
        if not stopped:
            finished += trial.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
            continue
        if trial.state == TrialState.RUNNING:
            study._storage.set_trial_user_attr(trial._trial_id, _INTERRUPTED, True)
            study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        if trial.number not in retried:
            logger.info("Trial %d was interrupted: running it again with the same settings %s", trial.number,
                        trial.params)
            study.enqueue_trial(trial.params, user_attrs={_RETRY_OF: trial.number,
                                                          _FILES_OF: trial.user_attrs.get(_FILES_OF, trial.number)})
    if finished:
        logger.info("Resuming the sweep: %d trial(s) already finished", finished)
    return finished


def train_trial(settings: SweepSettings, trial, device, training_data, pruned_error) -> float:
    """Optuna's objective: train one trial's configuration; its bookkeeping goes to the trial's user
    attributes (seconds, best epoch, checkpoint relative to the storage, train command, refusal)."""
    from tgnrank.train.records import TrainingInterrupted
    from tgnrank.train.runs import train_runs

    params = settings.space.suggest(trial)
    started = time.perf_counter()
    try:
        retry = _FILES_OF in trial.user_attrs
        config = settings.trial_config(trial.user_attrs.get(_FILES_OF, trial.number), params, resume=retry)
    except ConfigError as error:  # a combination the model refuses (e.g. n_head not dividing the query)
        trial.set_user_attr("error", str(error))
        logger.warning("Trial %d refused: %s", trial.number, error)
        raise
    reporter = TrialReporter(trial, settings.metric, pruned_error)
    paths = RunPaths(config.run.prefix, config.dataset.data, root=settings.storage)
    try:
        run = train_runs(config, device, paths, reporter, training_data).runs[0]
    except TrainingInterrupted:
        trial.set_user_attr(_INTERRUPTED, True)
        raise
    finally:
        trial.set_user_attr("seconds", time.perf_counter() - started)
    trial.set_user_attr("best_epoch", run.best_epoch)
    trial.set_user_attr("checkpoint", run.model_path.relative_to(settings.storage).as_posix())
    trial.set_user_attr("command", train_command(config))
    return reporter.values[run.best_epoch]


def trial_records(study) -> list[dict]:
    """sweep.json's trials, by number: params, per-epoch metric, state (complete, pruned, fail, running or
    interrupted), value, and what :func:`train_trial` recorded. Queued trials not started are left out."""
    records = []
    for trial in sorted(study.get_trials(deepcopy=False), key=lambda trial: trial.number):
        if trial.state.name == "WAITING":
            continue
        attributes = dict(trial.user_attrs)
        interrupted = attributes.pop(_INTERRUPTED, False)
        records.append({
            "number": trial.number,
            "params": dict(trial.params),
            "values": [trial.intermediate_values[step] for step in sorted(trial.intermediate_values)],
            "state": "interrupted" if interrupted else trial.state.name.lower(),
            "value": trial.value,
            **attributes,
        })
    return records


def best_trial(records: list[dict]) -> dict | None:
    """The finished trial of highest value (the earliest among ties), or None when none finished."""
    finished = [record for record in records if record["state"] == "complete"]
    return max(finished, key=lambda record: (record["value"], -record["number"]), default=None)


def train_command(config: TrainConfig) -> str:
    """The ``tgnrank train`` command line that trains ``config``: every setting that differs from its
    default, floats written exactly."""
    parts = ["tgnrank", "train"]
    for name, (_, default, _) in declarations().items():
        value = getattr(config, name)
        if name in _NOT_IN_COMMAND or value == default:
            continue
        if isinstance(value, bool):
            parts.append(f"--{name}" if value else f"--no-{name}")
        else:
            parts += [f"--{name}", shlex.quote(repr(value) if isinstance(value, float) else str(value))]
    return " ".join(parts)


def diagnose_best(settings: SweepSettings, training_data, checkpoint: Path, device) -> dict:
    """The best trial's model ranked on the test window beside the baselines: metrics per scorer."""
    from tgnrank.eval.checkpoint_scorer import model_scorer_from_checkpoint
    from tgnrank.eval.diagnostic import run_diagnostic
    from tgnrank.eval.protocol import build_window
    from tgnrank.train.checkpoint import load_checkpoint

    data, split = training_data.data, settings.base.dataset
    candidates = build_window(data.events, "test", split.train_quantile, split.val_quantile)
    logger.info("Diagnostic of the best trial (%s) on the test window", checkpoint)
    scorer, _ = model_scorer_from_checkpoint(load_checkpoint(checkpoint), data, candidates, device)
    result = run_diagnostic(data, candidates, scorer, BEST_NAME, settings.options)
    return {
        "window": result["window"],
        "model": BEST_NAME,
        "baselines": result["baselines"],
        "best_baseline": result["best_baseline"],
        "model_beats_best_baseline": result["model_beats_best_baseline"],
        "metrics": {name: entry["metrics"] for name, entry in result["scorers"].items()},
    }


def sweep_payload(settings: SweepSettings, study, best: dict | None, diagnostic: dict | None) -> dict:
    """``sweep.json``: the settings, every trial (params, per-epoch metric, value, state) and the best."""
    return {
        "dataset": settings.base.dataset.data,
        "metric": settings.metric,
        "direction": "maximize",
        "sampler": "TPE",
        "pruner": settings.pruner,
        "seed": settings.seed,
        "n_trials": settings.n_trials,
        "space_file": settings.space.source,
        "space": settings.space.to_dict(),
        "base_command": train_command(settings.base),
        "trials": trial_records(study),
        "best": None if best is None else {key: best[key] for key in
                                            ("number", "value", "params", "best_epoch", "checkpoint", "command")},
        "test_diagnostic": diagnostic,
    }
