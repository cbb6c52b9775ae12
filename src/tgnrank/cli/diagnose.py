"""Rank every candidate (company, investor) pair of a future window and report Precision@K, Recall@K and the
median rank of the true new links, for a trained model beside model-free baselines.

The window is the validation period (val_time, test_time] or the test period (test_time, last event];
the history is every event up to its start. See docs/design.md, "The evaluation protocol".

Several checkpoints (--model_path a.pth,b.pth or --model_path a.pth --model_path b.pth) are ranked each
as its own column, and together as an ensemble: the mean of their logits for each candidate pair (models
trained on the same data have comparable logit scales), optionally weighted with --ensemble_weights.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from tgnrank.cli.flags import add_setting, section_from_args
from tgnrank.cli.diagnose_scope import add_scope_arguments, run_scope, uses_scope
from tgnrank.cli.fusion import add_fusion_arguments
from tgnrank.cli.spelling import spell_as_flags
from tgnrank.errors import ConfigError
from tgnrank.stage_bars import StageBars
from tgnrank.train.config import section_fields, declarations

HELP = "temporal validation diagnostic: Precision@K, Recall@K, median rank of new links, model vs baselines"

logger = logging.getLogger(__name__)


def model_flags() -> list[str]:
    """The settings a checkpoint's model is rebuilt from: the model and neighbour sections, and the
    settings outside them declared ``model_input`` (e.g. ``randomize_features``)."""
    inputs = [name for name, (_, _, declaration) in declarations().items() if declaration.model_input]
    return section_fields("neighbors", "model") + inputs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    main = parser.add_argument_group("what to evaluate")
    main.add_argument("-d", "--data", default=None,
                      help="dataset name: data/ml_{data}.* (default: the checkpoint's dataset, or 'synthetic')")
    main.add_argument("--data_dir", default="data", help="folder holding the ml_ files (default %(default)s)")
    main.add_argument("--model_path", action="append", default=None,
                      help="checkpoint written by train_self_supervised.py; several (comma-separated, or the flag "
                           "repeated) are also ranked as an ensemble: the mean of their logits")
    main.add_argument("--ensemble_weights", default=None,
                      help="with several --model_path: comma-separated weights >= 0, one per checkpoint in order "
                           "(normalised to sum to 1; default equal)")
    main.add_argument("--auto_detect_params", action="store_true",
                      help="rebuild the model from the checkpoint's stored configuration (model flags are ignored); "
                           "without it the model flags must match the checkpoint")
    main.add_argument("--baselines-only", "--baselines_only", dest="baselines_only", action="store_true",
                      help="rank with the baselines only (no model needed)")
    main.add_argument("--window", default="test", choices=("val", "test"),
                      help="val = (val_time, test_time], test = (test_time, last event] (default %(default)s)")
    main.add_argument("--k", default="100,1000,10000",
                      help="comma-separated K of Precision@K and Recall@K (default %(default)s)")
    main.add_argument("--baselines", default="all",
                      help="comma-separated baselines among popularity,recency,coinvestment,ppr, or 'all' "
                           "(default %(default)s; random is always shown)")
    for name in ("train_quantile", "val_quantile"):
        add_setting(main, name, unset=True, help=declarations()[name][2].help + " (default: the checkpoint's, "
                    "or the training default without a checkpoint)")
    main.add_argument("--out", default="results",
                      help="folder of the result JSON diagnostic-{model}-{window}.json (default %(default)s)")
    main.add_argument("--gpu", type=int, default=0,
                      help="CUDA device index, used when CUDA is available; -1 forces the CPU (default %(default)s)")
    main.add_argument("--batch_size", "--bs", dest="batch_size", type=int, default=None,
                      help="events per batch when replaying the history (default: the checkpoint's batch size)")

    model = parser.add_argument_group(
        "model (must match the checkpoint unless --auto_detect_params; defaults are train_self_supervised.py's)"
    )
    for name in model_flags():
        add_setting(model, name, unset=True, help="as given to train_self_supervised.py")
    add_fusion_arguments(parser)
    add_scope_arguments(parser)


def run(args: argparse.Namespace) -> int:
    if uses_scope(args):
        return run_scope(args)
    from tgnrank.data import open_dataset
    from tgnrank.eval.diagnose_models import ENSEMBLE, FUSION, diagnose_models, member_names
    from tgnrank.eval.diagnostic import DiagnosticOptions, check_model_names, format_report
    from tgnrank.eval.fusion import FusionOptions
    from tgnrank.train.device import select_device

    options = DiagnosticOptions(ks=parse_ks(args.k), baselines=parse_baselines(args.baselines))
    paths = parse_model_paths(args.model_path)
    weights = parse_ensemble_weights(args.ensemble_weights, len(paths))
    checkpoints = {}
    if not args.baselines_only:
        if not paths:
            raise ConfigError("--model_path is required (or pass --baselines-only to rank with the baselines alone)")
        checkpoints = load_checkpoints(args, paths)
        if len(paths) > 1:
            check_model_names([*member_names(paths), ENSEMBLE], options.baselines)
    checkpoint = next(iter(checkpoints.values()), None)
    data_name = args.data or (checkpoint["config"].get("dataset") if checkpoint else None) or "synthetic"
    data = open_dataset(data_name, args.data_dir)
    check_batch_size(args.batch_size)
    fusion = section_from_args(FusionOptions, args) if args.fusion else None
    with ProgressBars() as progress:
        result, ranker = diagnose_models(
            data, checkpoints, args.window, options, (args.train_quantile, args.val_quantile), weights,
            select_device(args.gpu), args.batch_size, fusion, progress,
        )
    names = member_names(list(checkpoints))
    file_stem = f"{ENSEMBLE}-{data.name}" if len(names) > 1 else names[0] if names else f"baselines-{data.name}"
    if ranker is not None:
        file_stem = f"{FUSION}-{file_stem}"
    write_outputs(Path(args.out), f"{file_stem}-{args.window}", result, format_report(result), ranker)
    return 0


def write_outputs(out: Path, stem: str, result: dict, report: str, ranker=None) -> None:
    """Print ``report``; write ``out/diagnostic-{stem}.json`` (and the fitted ranker's ``.lgb.txt``) atomically."""
    from tgnrank.data import atomic_write

    if ranker is not None:
        ranker.save(out / f"diagnostic-{stem}.lgb.txt")
    print(report)
    out_path = out / f"diagnostic-{stem}.json"
    atomic_write(out_path, lambda handle: handle.write(json.dumps(result, indent=1).encode("utf-8")))
    print(f"\nresults: {out_path}")


def check_batch_size(batch_size: int | None) -> None:
    if batch_size is not None and batch_size < 1:
        raise ConfigError(f"--batch_size must be an integer >= 1, got {batch_size}")


def parse_model_paths(values: list[str] | None) -> list[str]:
    """The checkpoints of every --model_path, in order: each value is one path or comma-separated paths.

    A value naming an existing file is taken whole (a path may contain a comma). The same checkpoint
    twice is refused (it would silently weigh double in the ensemble).
    """
    paths = []
    for value in values or []:
        parts = [value] if Path(value).is_file() else [part.strip() for part in value.split(",")]
        if not all(parts):
            raise ConfigError(f"--model_path has an empty entry in {value!r}; expected paths separated by commas")
        paths += parts
    resolved = [Path(path).resolve() for path in paths]
    repeated = sorted({path for path, key in zip(paths, resolved) if resolved.count(key) > 1})
    if repeated:
        raise ConfigError(f"--model_path lists the same checkpoint more than once: {', '.join(repeated)}")
    return paths


def parse_ensemble_weights(text: str | None, n_models: int) -> list[float] | None:
    """The --ensemble_weights as floats (checked against the number of models), or None when not given."""
    from tgnrank.eval.scoring import normalized_weights

    if text is None:
        return None
    if n_models < 2:
        raise ConfigError("--ensemble_weights needs several --model_path (one weight per checkpoint)")
    try:
        weights = [float(part) for part in text.split(",")]
    except ValueError:
        raise ConfigError(f"--ensemble_weights must be comma-separated numbers >= 0, got {text!r}") from None
    normalized_weights(weights, n_models)
    return weights


def load_checkpoints(args: argparse.Namespace, paths: list[str]) -> dict[str, dict]:
    """Every checkpoint by path, each checked against the model flags; several must share one dataset."""
    from tgnrank.eval.scoring import check_same_dataset
    from tgnrank.train.checkpoint import load_checkpoint, stored_config

    checkpoints = {path: load_checkpoint(path) for path in paths}
    if len(checkpoints) > 1:
        check_same_dataset({path: checkpoint["config"].get("dataset") for path, checkpoint in checkpoints.items()})
    for path, checkpoint in checkpoints.items():
        check_model_flags(args, stored_config(checkpoint).to_dict(), path if len(checkpoints) > 1 else None)
    return checkpoints


def check_model_flags(args: argparse.Namespace, stored: dict, path: str | None = None) -> None:
    """Without --auto_detect_params the model flags (given or defaulted) must equal the checkpoint's
    (``stored``: its upgraded configuration, by flat name).

    A setting added after checkpoint format 1 (:data:`LATER_SETTINGS`) that is not given follows
    the checkpoint: a command written before the setting existed cannot spell it, and its default may
    have changed since the checkpoint was written.

    ``path`` names the checkpoint in the message when several are checked.
    """
    from tgnrank.eval.diagnostic import checkpoint_mismatches
    from tgnrank.train.config import LATER_SETTINGS, TrainConfig

    defaults = TrainConfig()
    given = {name: getattr(args, name) for name in model_flags() if getattr(args, name) is not None}
    which = "the checkpoint's" if path is None else f"checkpoint {path}'s"
    if args.auto_detect_params:
        for name, line in checkpoint_mismatches(stored, given).items():
            logger.warning("ignoring %s (--auto_detect_params uses %s configuration)", spell_as_flags(line, (name,)), which)
        return
    unspoken = {name: stored[name] for name in LATER_SETTINGS if name in stored}
    requested = {name: given.get(name, unspoken.get(name, getattr(defaults, name))) for name in model_flags()}
    mismatches = checkpoint_mismatches(stored, requested)
    if mismatches:
        raise ConfigError(
            f"the model flags do not match {which} configuration:\n  "
            + "\n  ".join(mismatches.values())
            + "\npass these flags with the checkpoint's values, or --auto_detect_params to rebuild the model from it",
            parameters=tuple(mismatches),
        )


def parse_ks(text: str) -> tuple[int, ...]:
    try:
        ks = tuple(int(part) for part in text.split(","))
    except ValueError:
        ks = ()
    if not ks or min(ks) < 1:
        raise ConfigError(f"--k must be comma-separated integers >= 1 (e.g. 100,1000,10000), got {text!r}")
    return tuple(sorted(set(ks)))


def parse_baselines(text: str) -> tuple[str, ...]:
    from tgnrank.eval.baselines import BASELINES

    if text.strip() == "all":
        return BASELINES
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = sorted(set(names) - set(BASELINES))
    if unknown:
        raise ConfigError(f"--baselines must be a comma-separated subset of {','.join(BASELINES)}; unknown {unknown}")
    return names


class ProgressBars(StageBars):
    """One tqdm bar per scorer, over the candidate companies ranked, and one per fitting window of a
    fusion; with ``close_when_done`` each closes as soon as its stage is done (several diagnostics run
    in turn)."""

    def __init__(self, close_when_done: bool = False):
        super().__init__(_bar_label, unit="company", close_when_done=close_when_done)


def _bar_label(stage: str) -> str:
    from tgnrank.eval.fusion import FITTING_STAGE

    return stage if stage.startswith(FITTING_STAGE) else f"ranking with {stage}"
