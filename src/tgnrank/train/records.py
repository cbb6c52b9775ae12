"""What training produces, as plain records: per-epoch and per-run results, and the progress hooks."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tgnrank.nested import to_plain
from tgnrank.train.config import TrainConfig


class TrainingInterrupted(Exception):
    """Ctrl-C during training; ``checkpoint_path`` is the last completed epoch's checkpoint (or None)."""

    def __init__(self, completed_epochs: int, checkpoint_path: Path | None) -> None:
        self.completed_epochs = completed_epochs
        self.checkpoint_path = checkpoint_path
        where = f"; the last completed epoch is saved in {checkpoint_path}" if checkpoint_path else ""
        super().__init__(f"training interrupted after {completed_epochs} completed epoch(s){where}")


class TrainingCallbacks:
    """Hooks for progress display and experiment tracking; every method is a no-op here."""

    def on_run_start(self, run: int, config: TrainConfig) -> None:
        pass

    def on_run_resumed(self, history: list["EpochRecord"]) -> None:
        """The run continues (``resume``) after these completed epochs, restored from its files."""

    def on_epoch_start(self, epoch: int, n_events: int) -> None:
        pass

    def on_batch_end(self, epoch: int, n_events_done: int, loss: float) -> None:
        pass

    def on_epoch_end(self, record: "EpochRecord") -> None:
        pass

    def on_run_end(self, result: "RunResult") -> None:
        pass


@dataclass
class EpochRecord:
    """What one epoch produced. ``epoch_time`` is training only; ``total_epoch_time`` adds validation.

    ``hard_neg_ratio`` is the share of hard negatives the epoch asked for (0 with random negatives);
    ``similarity_refresh_seconds`` the time to recompute the hard negatives' top-k from the memory
    before the epoch (None when they were not recomputed). ``val_mrr``, ``val_recall_at_1000`` and
    ``val_median_rank_pct`` are the validation window's ranking after the epoch's training pass
    (:mod:`tgnrank.train.ranking_validation`; NaN when the window has no new link to rank), which took
    ``val_rank_seconds``; ``early_stop_score`` is the ``--early_stop_metric`` value early stopping saw.
    """

    run: int
    epoch: int
    train_loss: float
    val_ap: float
    val_auc: float
    new_node_val_ap: float
    new_node_val_auc: float
    epoch_time: float
    total_epoch_time: float
    events_per_second: float
    sampler_stats: dict = field(default_factory=dict)
    hard_neg_ratio: float = 0.0
    similarity_refresh_seconds: float | None = None
    val_mrr: float = math.nan
    val_recall_at_1000: float = math.nan
    val_median_rank_pct: float = math.nan
    val_rank_seconds: float = 0.0
    early_stop_score: float = math.nan


@dataclass
class RunResult:
    """One run (one seed): its history, the restored best epoch and the test scores."""

    run: int
    seed: int
    history: list[EpochRecord]
    best_epoch: int
    stopped_early: bool
    test_ap: float
    test_auc: float
    new_node_test_ap: float
    new_node_test_auc: float
    model_path: Path

    def metrics(self) -> dict:
        """Plain-Python metrics: per-epoch lists under TGN's names plus the test scores."""
        return {
            **history_metrics(self.run, self.seed, self.history),
            "best_epoch": self.best_epoch,
            "stopped_early": self.stopped_early,
            "test_ap": float(self.test_ap),
            "test_auc": float(self.test_auc),
            "new_node_test_ap": float(self.new_node_test_ap),
            "new_node_test_auc": float(self.new_node_test_auc),
        }


def history_metrics(run: int, seed: int, history: list[EpochRecord]) -> dict:
    """Per-epoch lists (TGN's key names where TGN had them), as stored in checkpoints and results."""
    column = lambda name: [float(getattr(record, name)) for record in history]  # noqa: E731
    return {
        "run": run,
        "seed": seed,
        "epochs_completed": len(history),
        "train_losses": column("train_loss"),
        "val_aps": column("val_ap"),
        "val_aucs": column("val_auc"),
        "new_nodes_val_aps": column("new_node_val_ap"),
        "new_nodes_val_aucs": column("new_node_val_auc"),
        "epoch_times": column("epoch_time"),
        "total_epoch_times": column("total_epoch_time"),
        "events_per_second": column("events_per_second"),
        "sampler_stats": [to_plain(record.sampler_stats) for record in history],
        "hard_neg_ratios": column("hard_neg_ratio"),
        "similarity_refresh_seconds": [record.similarity_refresh_seconds for record in history],
        "val_mrrs": column("val_mrr"),
        "val_recalls_at_1000": column("val_recall_at_1000"),
        "val_median_rank_pcts": column("val_median_rank_pct"),
        "val_rank_seconds": column("val_rank_seconds"),
        "early_stop_scores": column("early_stop_score"),
    }


@dataclass
class TrainingSummary:
    runs: list[RunResult]
    results_path: Path

    def mean_std(self, name: str) -> tuple[float, float]:
        values = np.array([getattr(run, name) for run in self.runs], dtype=np.float64)
        return float(np.mean(values)), float(np.std(values))
