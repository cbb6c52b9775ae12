"""Train the guide's four configurations (baseline; focal loss; hard negatives; focal loss + hard
negatives), rank the candidates of a future window with each, and report the guide's table
(Precision@1000, Recall@1000, median rank, vs Random) beside the best baseline, with one more column:
the ensemble of the four models of each seed (the mean of their logits for each candidate pair, rebuilt
from the checkpoints, nothing more to train).

``--preset ranking`` adds the softmax loss (5 negatives), degree-weighted negatives and the pairwise
predictor (each left out, with a logged note, while training still refuses its setting), and per seed
the learned fusion (fitted on the window before the compared one, ``--fusion_*`` flags); the report
then states what each component contributes and the fusion's feature importances.

Every configuration uses the guide's settings (focal alpha 0.25, gamma 2.0; hard-negative ratio 0.5,
temperature 0.1) and the shared flags below. Writes, under --out: saved_models/{prefix}-{data}.pth per
model (prefix = the configuration's name, with -s{seed} when several seeds are compared), compare.json,
report.md, report.html (self-contained, plots embedded) and the plots as PNG files. An interrupted
comparison resumes where it stopped when run again with the same arguments.

--executor ray trains each (configuration, seed) as a Ray Tune trial, on a Ray started for the command
or on the cluster at --ray_address; --storage names a folder every node sees (the dataset is copied
there, --out goes under it). Same seeds, same results, whichever executor.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from tgnrank.cli.diagnose import ProgressBars
from tgnrank.cli.flags import add_section, add_setting, add_settings, section_from_args
from tgnrank.cli.flags import settings_from_args as given_settings
from tgnrank.cli.spelling import spell_flags_in
from tgnrank.errors import ConfigError
from tgnrank.train.config import TrainConfig

HELP = ("train the guide's four configurations (or --preset ranking's ablation) over seeds and compare them "
        "(table, report.md, report.html)")

# Settings each configuration or seed sets itself, or that make no sense for a comparison.
CONTROLLED_FIELDS = {
    "data", "data_dir", "n_epoch", "gpu", "use_memory", "prefix", "seed", "n_runs", "wandb",
    "loss", "use_focal_loss", "focal_alpha", "focal_gamma", "use_hard_negatives", "hard_neg_ratio",
    "hard_neg_temperature", "resume",
}

# The comparison fits one fusion per training seed and seeds it with that seed.
FUSION_SEED_HELP = ("not used by compare: the fusion of each seed in --seeds draws its negatives and seeds "
                    "LightGBM with that seed (diagnose --fusion and fuse use this flag)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from tgnrank.eval.fusion import FusionOptions
    from tgnrank.experiments.presets import PRESETS
    from tgnrank.experiments.ray_options import ExecutorOptions

    main = parser.add_argument_group("comparison")
    main.add_argument("--preset", default="guide", choices=PRESETS,
                      help="guide = the guide's four configurations; ranking = those, the softmax loss, degree "
                           "negatives, the pairwise predictor and the learned fusion (default %(default)s)")
    for name in ("data", "data_dir"):
        add_setting(main, name)
    add_setting(main, "n_epoch", help="epochs per model")
    main.add_argument("--seeds", default="0",
                      help="comma-separated seeds; every configuration is trained once per seed and the table shows "
                           "mean ± std (default %(default)s)")
    main.add_argument("--out", default=None, help="output folder (default reports/compare-{data})")
    main.add_argument("--storage", default=None,
                      help="folder every trial reads and writes (local, or shared by the Ray nodes): the dataset is "
                           "copied to STORAGE/data and --out (default compare-{data}) is a folder under it")
    main.add_argument("--restart", action="store_true",
                      help="discard the finished runs recorded in --out and train everything again")
    main.add_argument("--window", default="test", choices=("val", "test"),
                      help="window ranked by the diagnostic: val = (val_time, test_time], "
                           "test = (test_time, last event] (default %(default)s)")
    main.add_argument("--k", default="100,1000,10000",
                      help="comma-separated K of Precision@K and Recall@K in the full table (default %(default)s)")
    main.add_argument("--baselines", default="all",
                      help="comma-separated baselines among popularity,recency,coinvestment,ppr, or 'all' "
                           "(default %(default)s)")
    add_setting(main, "gpu")
    main.add_argument("--use_memory", action=argparse.BooleanOptionalAction, default=True,
                      help="TGN's node memory, on in all the guide's configurations "
                           "(default on; --no-use_memory for TGAT)")
    add_settings(parser, exclude=CONTROLLED_FIELDS,
                 title="training flags shared by every configuration (as train_self_supervised.py)")
    add_section(parser, FusionOptions, helps={"fusion_seed": FUSION_SEED_HELP})
    add_section(parser, ExecutorOptions)


def parse_seeds(text: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(part) for part in text.split(","))
    except ValueError:
        seeds = ()
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds must be distinct comma-separated integers >= 0 (e.g. 0,1,2), got {text!r}")
    return seeds


def settings_from_args(args: argparse.Namespace):
    """The validated CompareSettings of parsed arguments (ConfigError names a bad flag)."""
    from tgnrank.cli.diagnose import parse_baselines, parse_ks
    from tgnrank.eval.diagnostic import DiagnosticOptions
    from tgnrank.eval.fusion import FusionOptions
    from tgnrank.experiments.presets import CompareSettings, preset_configurations

    values = given_settings(args)
    values["data_dir"] = str(Path(args.data_dir).expanduser().resolve())  # trials never depend on the cwd
    base = TrainConfig(**values)
    configurations = preset_configurations(args.preset)
    for configuration in configurations:
        base.replace(**configuration.overrides)  # a preset's setting the model refuses is named before training
    return CompareSettings(
        base=base,
        seeds=parse_seeds(args.seeds),
        out_dir=output_folder(args.out, args.storage, base.dataset.data),
        window=args.window,
        options=DiagnosticOptions(ks=parse_ks(args.k), baselines=parse_baselines(args.baselines)),
        restart=args.restart,
        configurations=configurations,
        fusion=args.preset == "ranking",
        fusion_options=section_from_args(FusionOptions, args),
    )


def output_folder(out: str | None, storage: str | None, data: str) -> Path:
    """--out, absolute: under --storage when that is given (default compare-{data}), else from the cwd
    (default reports/compare-{data})."""
    from tgnrank.experiments.ray_storage import storage_root

    if storage is None:
        return Path(out or f"reports/compare-{data}").expanduser().resolve()
    return (storage_root(storage) / Path(out or f"compare-{data}").expanduser()).resolve()


def staged_settings(settings, storage: str | None):
    """``settings`` reading the dataset from its copy under --storage (made now), or as they are."""
    import dataclasses

    from tgnrank.experiments.ray_storage import stage_dataset, storage_root

    if storage is None:
        return settings
    base = settings.base
    data_dir = stage_dataset(base.dataset.data, base.dataset.data_dir, storage_root(storage))
    return dataclasses.replace(settings, base=base.replace(data_dir=str(data_dir)))


def run(args: argparse.Namespace) -> int:
    from tgnrank.cli.train import ProgressBar
    from tgnrank.experiments.compare import RESULTS_FILE, run_comparison
    from tgnrank.experiments.ray_options import ExecutorOptions, require_ray
    from tgnrank.experiments.ray_tune import TrialsInterrupted
    from tgnrank.experiments.report import format_table, write_report
    from tgnrank.experiments.state import STATE_FILE
    from tgnrank.train.device import select_device
    from tgnrank.train.outputs import attach_log_file
    from tgnrank.train.records import TrainingInterrupted

    settings = settings_from_args(args)  # every check, the model's included, before any file is touched
    executor = section_from_args(ExecutorOptions, args)
    if executor.uses_ray:
        require_ray()
    device = select_device(args.gpu)
    log_path = settings.out_dir / "compare.log"
    handler = spell_flags_in(attach_log_file(log_path))
    logging.getLogger(__name__).info("Logging to %s", log_path)
    settings = staged_settings(settings, args.storage)
    training_progress = ProgressBar()
    try:
        with ProgressBars(close_when_done=True) as ranking_progress:
            results = run_comparison(settings, device, training_progress, ranking_progress, executor)
    except (TrainingInterrupted, TrialsInterrupted) as stop:
        print(f"{stop}\nfinished runs are recorded in {settings.out_dir / STATE_FILE}: run the same command again "
              "to resume", file=sys.stderr)
        return 130
    finally:
        training_progress.close()
        logging.getLogger().removeHandler(handler)
        handler.close()
    paths = write_report(results, settings.out_dir)
    print(format_table(results))
    print(f"\nreport: {paths['html']} and {paths['markdown']}; results: {settings.out_dir / RESULTS_FILE}")
    return 0
