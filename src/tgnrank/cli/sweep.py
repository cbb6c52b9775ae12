"""Search training settings with Optuna: each trial trains one model (a seeded TPE sampler picks its
settings from a search space, the median rule prunes trials trailing after an epoch), the validation
ranking's --metric is maximised, and the best trial is re-diagnosed on the test window beside the
baselines.

The search space is a TOML file (--space) with one table per setting, e.g. ``[lr] low = 1e-5
high = 1e-3 log = true`` or ``[loss] choices = ["bce", "softmax"]``; --preset ranking uses the shipped
one (learning rate, loss and temperature, negatives, dropout). Training flags given here are every
trial's base. Writes, under --storage: the trials' checkpoints, sweep.json (every trial and the best
configuration as a ready `tgnrank train` command), sweep.md, sweep.html and sweep.png. Needs the
optional extra: pip install -e '.[distributed]'.

Run again with the same arguments, an interrupted sweep resumes: finished trials are kept, an
interrupted one runs again with its settings. --executor ray runs the trials in parallel as Ray Tune
trials sharing one Optuna study under --storage (a folder every Ray node sees; given, the dataset is
copied to STORAGE/data).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tgnrank.cli.flags import add_section, add_setting, add_settings, section_from_args, settings_from_args
from tgnrank.cli.spelling import spell_flags_in

HELP = "search training settings with Optuna (TPE, median pruning); reports the best as a train command"

# Set by the sweep for each trial, or by the flags of the "sweep" group.
CONTROLLED_FIELDS = {"data", "data_dir", "prefix", "n_runs", "seed", "early_stop_metric", "wandb", "resume"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from tgnrank.experiments.ray_options import ExecutorOptions
    from tgnrank.experiments.sweep import METRICS, PRUNERS

    main = parser.add_argument_group("sweep")
    for name in ("data", "data_dir"):
        add_setting(main, name)
    space = main.add_mutually_exclusive_group()
    space.add_argument("--space", default=None, help="search space TOML file (one table per training setting)")
    space.add_argument("--preset", default=None, choices=("ranking",),
                       help="the shipped search space (the default when --space is not given)")
    main.add_argument("--trials", type=int, default=20, help="trials to run (default %(default)s)")
    main.add_argument("--metric", default="mrr", choices=tuple(METRICS),
                      help="per-epoch validation ranking metric maximised (default %(default)s)")
    main.add_argument("--pruner", default="median", choices=PRUNERS,
                      help="median: stop a trial whose epoch value is below the median of the earlier trials at "
                           "that epoch; none: train every trial fully (default %(default)s)")
    main.add_argument("--storage", default=None,
                      help="output folder, shared by the Ray nodes with --executor ray (default reports/sweep-{data}); "
                           "when given, the dataset is copied to STORAGE/data and the trials read it there")
    main.add_argument("--restart", action="store_true",
                      help="discard the trials recorded under --storage and start the search again")
    add_setting(main, "seed", help="seed of the sampler and of every trial's training")
    main.add_argument("--baselines", default="all",
                      help="baselines beside the best trial on the test window, comma-separated among "
                           "popularity,recency,coinvestment,ppr, or 'all' (default %(default)s)")
    add_settings(parser, exclude=CONTROLLED_FIELDS, title="training flags shared by every trial (before its values)")
    add_section(parser, ExecutorOptions)


def sweep_settings_from_args(args: argparse.Namespace):
    """The validated SweepSettings of parsed arguments (ConfigError names a bad flag or space entry)."""
    from tgnrank.cli.diagnose import parse_baselines
    from tgnrank.eval.diagnostic import DiagnosticOptions
    from tgnrank.experiments.search_space import load_space, preset_space_path
    from tgnrank.experiments.sweep import SweepSettings
    from tgnrank.train.config import TrainConfig

    values = settings_from_args(args)
    values["data_dir"] = str(Path(args.data_dir).expanduser().resolve())  # trials never depend on the cwd
    base = TrainConfig(**values, early_stop_metric=args.metric)
    space = load_space(Path(args.space) if args.space else preset_space_path(args.preset or "ranking"))
    return SweepSettings(
        base=base,
        space=space,
        n_trials=args.trials,
        storage=Path(args.storage or f"reports/sweep-{base.dataset.data}"),
        metric=args.metric,
        pruner=args.pruner,
        options=DiagnosticOptions(baselines=parse_baselines(args.baselines)),
        restart=args.restart,
    )


def staged_settings(settings, given_storage: str | None):
    """``settings`` reading the dataset from its copy under an explicit --storage (made now), or as they are."""
    import dataclasses

    from tgnrank.experiments.ray_storage import stage_dataset

    if given_storage is None:
        return settings
    dataset = settings.base.dataset
    data_dir = stage_dataset(dataset.data, dataset.data_dir, settings.storage)
    return dataclasses.replace(settings, base=settings.base.replace(data_dir=str(data_dir)))


def run(args: argparse.Namespace) -> int:
    import logging
    import sys

    from tgnrank.experiments.ray_options import ExecutorOptions, require_ray
    from tgnrank.experiments.ray_tune import TrialsInterrupted
    from tgnrank.experiments.sweep import SWEEP_FILE, require_optuna, run_sweep
    from tgnrank.experiments.sweep_report import write_sweep_report
    from tgnrank.train.device import select_device
    from tgnrank.train.outputs import attach_log_file
    from tgnrank.train.records import TrainingInterrupted

    require_optuna()
    executor = section_from_args(ExecutorOptions, args)
    if executor.uses_ray:
        require_ray()
    settings = sweep_settings_from_args(args)  # every check, the space's included, before any file is touched
    log_path = settings.storage / "sweep.log"
    handler = spell_flags_in(attach_log_file(log_path))
    logging.getLogger(__name__).info("Logging to %s", log_path)
    try:
        settings = staged_settings(settings, args.storage)
        results = run_sweep(settings, select_device(args.gpu), executor=executor)
    except (TrainingInterrupted, TrialsInterrupted) as stop:
        print(f"{stop}\nthe finished trials are recorded in {settings.storage / SWEEP_FILE}: run the same command "
              "again to resume", file=sys.stderr)
        return 130
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    paths = write_sweep_report(results, settings.storage)
    best = results["best"]
    if best is None:
        print("no trial finished (all pruned or refused): no best configuration")
    else:
        print(f"best trial {best['number']}: validation {settings.metric} {best['value']:.4f}\n{best['command']}")
    print(f"report: {paths['html']} and {paths['markdown']}; results: {settings.storage / SWEEP_FILE}")
    return 0
