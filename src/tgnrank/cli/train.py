"""Train TGN with self-supervised link prediction (the flags of TGN's train_self_supervised.py).

Writes saved_models/{prefix}-{data}.pth (the final checkpoint), saved_checkpoints/{prefix}-{data}-{epoch}.pth
(the best and the last epoch), results/{prefix}-{data}.json and results/{prefix}.pkl, and
logs/{prefix}-{data}-{time}.log.
With an empty --prefix the files are named after the dataset alone (saved_models/{data}.pth, ...).
"""

from __future__ import annotations

import argparse
import sys

from tgnrank.cli.flags import add_settings, settings_from_args
from tgnrank.cli.spelling import flag_spelling, spell_flags_in
from tgnrank.train.config import TrainConfig

HELP = "train TGN (self-supervised link prediction), with focal loss and hard negatives as options"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Every declared training setting, one argument group per section."""
    add_settings(parser)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The validated TrainConfig of parsed arguments (ConfigError names a bad flag)."""
    with flag_spelling():
        return TrainConfig(**settings_from_args(args))


def run(args: argparse.Namespace) -> int:
    import logging

    from tgnrank.train.device import select_device
    from tgnrank.train.records import TrainingInterrupted
    from tgnrank.train.runs import train_runs
    from tgnrank.train.outputs import RunPaths, attach_log_file
    from tgnrank.train.tracking import CallbackList, WandbCallbacks

    config = config_from_args(args)  # every check, the model's included, before any file is touched
    paths = RunPaths(config.run.prefix, config.dataset.data)
    progress = ProgressBar()
    callbacks = [progress]
    if config.run.wandb:
        callbacks.append(WandbCallbacks(config.run_name))
    log_path = paths.log_path()
    handler = spell_flags_in(attach_log_file(log_path))
    logging.getLogger(__name__).info("Logging to %s", log_path)
    try:
        summary = train_runs(config, select_device(config.run.gpu), paths, CallbackList(callbacks))
    except TrainingInterrupted as stop:
        print(f"{stop}", file=sys.stderr)
        return 130
    finally:
        progress.close()
        logging.getLogger().removeHandler(handler)
        handler.close()
    _print_summary(summary)
    return 0


class ProgressBar:
    """A tqdm bar per epoch over the training events, showing the loss and events per second, and the
    previous epoch's validation ranking (MRR, Recall@1000)."""

    def __init__(self) -> None:
        self.bar = None
        self.run = 0
        self.previous = ""

    def on_run_start(self, run, config) -> None:
        self.run = run
        self.previous = ""

    def on_run_resumed(self, history) -> None:
        self._remember(history[-1])

    def on_epoch_start(self, epoch: int, n_events: int) -> None:
        from tqdm import tqdm

        # Redirected to a file, a bar redrawn ten times a second would fill the log: update it rarely.
        refresh_seconds = 0.1 if sys.stderr.isatty() else 30.0
        self.bar = tqdm(
            total=n_events, desc=f"run {self.run} epoch {epoch}{self.previous}", unit="ev", leave=False, file=sys.stderr,
            mininterval=refresh_seconds,
        )

    def on_batch_end(self, epoch: int, n_events_done: int, loss: float) -> None:
        self.bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
        self.bar.update(n_events_done - self.bar.n)
        if n_events_done >= self.bar.total:
            self.bar.close()

    def on_epoch_end(self, record) -> None:
        self.close()
        self._remember(record)

    def _remember(self, record) -> None:
        self.previous = f" (last: val MRR {record.val_mrr:.4f}, R@1000 {record.val_recall_at_1000:.4f})"

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def on_run_end(self, result) -> None:
        pass


def _print_summary(summary) -> None:
    for result in summary.runs:
        print(
            f"run {result.run} (seed {result.seed}): best epoch {result.best_epoch}, "
            f"test AP {result.test_ap:.4f} AUC {result.test_auc:.4f}, "
            f"new-node test AP {result.new_node_test_ap:.4f} AUC {result.new_node_test_auc:.4f} -> {result.model_path}"
        )
    if len(summary.runs) > 1:
        for name, label in (("test_ap", "test AP"), ("test_auc", "test AUC"),
                            ("new_node_test_ap", "new-node test AP"), ("new_node_test_auc", "new-node test AUC")):
            mean, std = summary.mean_std(name)
            print(f"{label}: {mean:.4f} ± {std:.4f} over {len(summary.runs)} runs")
    print(f"results: {summary.results_path}")
