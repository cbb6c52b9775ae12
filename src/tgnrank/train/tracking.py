"""Optional experiment tracking with Weights & Biases, as a training callback.

``wandb`` is imported only when asked for; it is never required to train. Runs log offline unless
``WANDB_MODE`` says otherwise, so no account or network is needed.
"""

from __future__ import annotations

import os

from tgnrank.errors import ConfigError
from tgnrank.train.config import TrainConfig
from tgnrank.train.records import EpochRecord, RunResult, TrainingCallbacks


def import_wandb():
    try:
        import wandb
    except ImportError as error:
        raise ConfigError(
            "--wandb needs the wandb package, which is not installed: `pip install wandb` "
            "(it logs offline unless WANDB_MODE=online), or train without --wandb"
        ) from error
    return wandb


class CallbackList(TrainingCallbacks):
    """Forward every hook to each callback in turn."""

    def __init__(self, callbacks: list[TrainingCallbacks]) -> None:
        self.callbacks = list(callbacks)

    def on_run_start(self, run: int, config: TrainConfig) -> None:
        for callback in self.callbacks:
            callback.on_run_start(run, config)

    def on_run_resumed(self, history: list[EpochRecord]) -> None:
        for callback in self.callbacks:
            callback.on_run_resumed(history)

    def on_epoch_start(self, epoch: int, n_events: int) -> None:
        for callback in self.callbacks:
            callback.on_epoch_start(epoch, n_events)

    def on_batch_end(self, epoch: int, n_events_done: int, loss: float) -> None:
        for callback in self.callbacks:
            callback.on_batch_end(epoch, n_events_done, loss)

    def on_epoch_end(self, record: EpochRecord) -> None:
        for callback in self.callbacks:
            callback.on_epoch_end(record)

    def on_run_end(self, result: RunResult) -> None:
        for callback in self.callbacks:
            callback.on_run_end(result)


class WandbCallbacks(TrainingCallbacks):
    """One wandb run per training run: per-epoch losses and validation scores, test scores at the end."""

    def __init__(self, run_name: str, project: str = "tgnrank") -> None:
        self.wandb = import_wandb()
        self.run_name = run_name
        self.project = project
        self.active = None

    def on_run_start(self, run: int, config: TrainConfig) -> None:
        self.active = self.wandb.init(
            project=self.project,
            name=f"{self.run_name}-run{run}",
            config=config.to_dict(),
            mode=os.environ.get("WANDB_MODE", "offline"),
            reinit=True,
        )

    def on_epoch_end(self, record: EpochRecord) -> None:
        values = {
            "train_loss": record.train_loss,
            "val_ap": record.val_ap,
            "val_auc": record.val_auc,
            "new_node_val_ap": record.new_node_val_ap,
            "new_node_val_auc": record.new_node_val_auc,
            "epoch_time": record.epoch_time,
            "events_per_second": record.events_per_second,
            "negatives/hard_neg_ratio": record.hard_neg_ratio,
            "val_mrr": record.val_mrr,
            "val_recall_at_1000": record.val_recall_at_1000,
            "val_median_rank_pct": record.val_median_rank_pct,
        }
        if record.similarity_refresh_seconds is not None:
            values["negatives/similarity_refresh_seconds"] = record.similarity_refresh_seconds
        values.update({f"negatives/{key}": value for key, value in record.sampler_stats.items()})
        self.active.log(values, step=record.epoch)

    def on_run_end(self, result: RunResult) -> None:
        metrics = result.metrics()
        final_keys = ("best_epoch", "test_ap", "test_auc", "new_node_test_ap", "new_node_test_auc")
        self.active.summary.update({key: metrics[key] for key in final_keys})
        self.active.finish()
        self.active = None
