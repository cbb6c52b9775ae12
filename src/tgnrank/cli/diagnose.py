"""Rank every candidate (company, investor) pair of a future window and report Precision@K, Recall@K and the
median rank of the true new links, for a trained model beside model-free baselines.

The window is the validation period (val_time, test_time] or the test period (test_time, last event];
the history is every event up to its start. See DESIGN.md, "The temporal validation protocol".
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from tgnrank.errors import ConfigError

HELP = "temporal validation diagnostic: Precision@K, Recall@K, median rank of new links, model vs baselines"

logger = logging.getLogger(__name__)

INT_MODEL_FLAGS = ("n_degree", "n_head", "n_layer", "node_dim", "time_dim", "message_dim", "memory_dim")
BOOL_MODEL_FLAGS = (
    "use_memory",
    "uniform",
    "randomize_features",
    "memory_update_at_end",
    "use_destination_embedding_in_message",
    "use_source_embedding_in_message",
    "dyrep",
)
CHOICE_MODEL_FLAGS = ("embedding_module", "message_function", "memory_updater", "aggregator")
MODEL_FLAGS = INT_MODEL_FLAGS + ("drop_out",) + CHOICE_MODEL_FLAGS + BOOL_MODEL_FLAGS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from tgnrank.train.config import AGGREGATORS, EMBEDDING_MODULES, MEMORY_UPDATERS, MESSAGE_FUNCTIONS

    main = parser.add_argument_group("what to evaluate")
    main.add_argument("-d", "--data", default=None,
                      help="dataset name: data/ml_{data}.* (default: the checkpoint's dataset, or 'synthetic')")
    main.add_argument("--data_dir", default="data", help="folder holding the ml_ files (default %(default)s)")
    main.add_argument("--model_path", default=None, help="checkpoint written by train_self_supervised.py")
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
    main.add_argument("--train_quantile", type=float, default=0.70,
                      help="time quantile where the validation window starts (default %(default)s)")
    main.add_argument("--val_quantile", type=float, default=0.85,
                      help="time quantile where the test window starts (default %(default)s)")
    main.add_argument("--out", default="results",
                      help="folder of the result JSON diagnostic-{model}-{window}.json (default %(default)s)")
    main.add_argument("--gpu", type=int, default=0,
                      help="CUDA device index, used when CUDA is available; -1 forces the CPU (default %(default)s)")
    main.add_argument("--batch_size", "--bs", dest="batch_size", type=int, default=None,
                      help="events per batch when replaying the history (default: the checkpoint's batch size)")

    model = parser.add_argument_group(
        "model (must match the checkpoint unless --auto_detect_params; defaults are train_self_supervised.py's)"
    )
    same = "as given to train_self_supervised.py"
    for name in INT_MODEL_FLAGS:
        model.add_argument(f"--{name}", type=int, default=None, help=same)
    model.add_argument("--drop_out", type=float, default=None, help=same)
    for name, choices in zip(CHOICE_MODEL_FLAGS, (EMBEDDING_MODULES, MESSAGE_FUNCTIONS, MEMORY_UPDATERS, AGGREGATORS)):
        model.add_argument(f"--{name}", choices=choices, default=None, help=same)
    for name in BOOL_MODEL_FLAGS:
        model.add_argument(f"--{name}", action="store_true", default=None, help=same)


def run(args: argparse.Namespace) -> int:
    from tgnrank.data import atomic_write, open_dataset
    from tgnrank.eval.diagnostic import DiagnosticOptions, format_report, run_diagnostic
    from tgnrank.eval.protocol import build_window

    options = DiagnosticOptions(ks=parse_ks(args.k), baselines=parse_baselines(args.baselines))
    checkpoint = None
    if not args.baselines_only:
        if args.model_path is None:
            raise ConfigError("--model_path is required (or pass --baselines-only to rank with the baselines alone)")
        from tgnrank.train.checkpoint import load_checkpoint

        checkpoint = load_checkpoint(args.model_path)
        check_model_flags(args, checkpoint["config"])
    data_name = args.data or (checkpoint["config"].get("dataset") if checkpoint else None) or "synthetic"
    data = open_dataset(data_name, args.data_dir)
    candidates = build_window(data.events, args.window, args.train_quantile, args.val_quantile)
    logger.info(
        "%s window: %d positives, %d companies x %d investors = %d candidate pairs",
        args.window, candidates.n_positives, candidates.n_companies, candidates.n_investors, candidates.n_candidates,
    )

    model_scorer, model_name = None, None
    if checkpoint is not None:
        model_scorer, model_name = _model_scorer(args, checkpoint, data, candidates)
    with ProgressBars() as progress:
        result = run_diagnostic(data, candidates, model_scorer, model_name or "model", options, progress)
    result["checkpoint"] = None if checkpoint is None else str(args.model_path)

    print(format_report(result))
    out_path = Path(args.out) / f"diagnostic-{model_name or f'baselines-{data.name}'}-{args.window}.json"
    atomic_write(out_path, lambda handle: handle.write(json.dumps(result, indent=1).encode("utf-8")))
    print(f"\nresults: {out_path}")
    return 0


def _model_scorer(args, checkpoint: dict, data, candidates):
    from tgnrank.eval.scoring import model_scorer_from_checkpoint
    from tgnrank.train.device import select_device

    if args.batch_size is not None and args.batch_size < 1:
        raise ConfigError(f"--batch_size must be an integer >= 1, got {args.batch_size}")
    logger.info("Replaying %d history events through the model", len(candidates.history))
    scorer, _ = model_scorer_from_checkpoint(checkpoint, data, candidates, select_device(args.gpu), args.batch_size)
    return scorer, Path(args.model_path).stem


def check_model_flags(args: argparse.Namespace, stored: dict) -> None:
    """Without --auto_detect_params the model flags (given or defaulted) must equal the checkpoint's."""
    from tgnrank.eval.diagnostic import checkpoint_mismatches
    from tgnrank.train.config import TrainConfig

    defaults = TrainConfig()
    given = {name: getattr(args, name) for name in MODEL_FLAGS if getattr(args, name) is not None}
    if args.auto_detect_params:
        for line in checkpoint_mismatches(stored, given):
            logger.warning("ignoring %s (--auto_detect_params uses the checkpoint's configuration)", line)
        return
    requested = {name: given.get(name, getattr(defaults, name)) for name in MODEL_FLAGS}
    mismatches = checkpoint_mismatches(stored, requested)
    if mismatches:
        raise ConfigError(
            "the model flags do not match the checkpoint's configuration:\n  "
            + "\n  ".join(mismatches)
            + "\npass these flags with the checkpoint's values, or --auto_detect_params to rebuild the model from it"
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


class ProgressBars:
    """One tqdm bar (on stderr) per scorer, over the candidate companies ranked."""

    def __init__(self) -> None:
        self.bar = None
        self.name = None

    def __call__(self, name: str, done: int, total: int) -> None:
        from tqdm import tqdm

        if name != self.name:
            self.close()
            self.bar = tqdm(total=total, desc=f"ranking with {name}", unit="company", leave=False, file=sys.stderr)
            self.name = name
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> "ProgressBars":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
