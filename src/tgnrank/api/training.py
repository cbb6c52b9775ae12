"""Training and checkpoints in the Python API: :func:`train_model`, :func:`load_model`.

Training takes the command line's configuration object, :class:`~tgnrank.train.config.TrainConfig`
(built from sections such as ``ModelConfig(use_memory=True)`` or flat names such as ``lr=1e-3``), and
runs exactly what ``tgnrank train`` runs (:func:`tgnrank.train.runs.train_runs`), writing the same files
under ``root``. The function is ``train_model``, not ``train``: ``tgnrank.train`` is the package that
holds the training code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from tgnrank.api.progress import TrainingProgress, progress_callback
from tgnrank.train.config import TrainConfig

# Per-epoch columns of a checkpoint's metrics, as the history DataFrame names them.
HISTORY_COLUMNS = {
    "train_losses": "train_loss",
    "val_aps": "val_ap",
    "val_aucs": "val_auc",
    "new_nodes_val_aps": "new_node_val_ap",
    "new_nodes_val_aucs": "new_node_val_auc",
    "val_mrrs": "val_mrr",
    "val_recalls_at_1000": "val_recall_at_1000",
    "val_median_rank_pcts": "val_median_rank_pct",
    "early_stop_scores": "early_stop_score",
    "epoch_times": "epoch_time",
    "total_epoch_times": "total_epoch_time",
    "events_per_second": "events_per_second",
    "hard_neg_ratios": "hard_neg_ratio",
}
TEST_METRICS = ("test_ap", "test_auc", "new_node_test_ap", "new_node_test_auc")


@dataclass(frozen=True, eq=False)
class TrainedModel:
    """A checkpoint written by training: ``path`` and its contents (``checkpoint``, as
    :func:`tgnrank.train.checkpoint.load_checkpoint` returns it). :func:`tgnrank.diagnose`,
    :func:`tgnrank.recommend` and :func:`tgnrank.fuse` take it wherever they take a model."""

    path: Path
    checkpoint: dict = field(repr=False)

    @property
    def name(self) -> str:
        """The model's column name in a diagnostic: the checkpoint's file name without ``.pth``."""
        return self.path.stem

    @property
    def dataset(self) -> str | None:
        """The name of the dataset it was trained on."""
        return self.checkpoint["config"].get("dataset")

    @cached_property
    def config(self) -> TrainConfig:
        """The configuration it was trained with (upgraded from older checkpoint formats)."""
        from tgnrank.train.checkpoint import stored_config

        return stored_config(self.checkpoint)

    @property
    def metrics(self) -> dict:
        """The run's metrics as stored: per-epoch lists, the best epoch and the test scores."""
        return self.checkpoint["metrics"]

    @property
    def history(self) -> pd.DataFrame:
        """One row per completed epoch (``epoch`` from 0): losses, validation AP/AUC and ranking, timings."""
        metrics = self.metrics
        columns = {name: metrics[key] for key, name in HISTORY_COLUMNS.items() if key in metrics}
        frame = pd.DataFrame(columns)
        frame.insert(0, "epoch", range(len(frame)))
        return frame


@dataclass(frozen=True, eq=False)
class TrainingResult:
    """What :func:`train_model` produced: one model per run (seed), a row per run and per epoch.

    ``runs`` has one row per run: ``run``, ``seed``, ``best_epoch``, ``stopped_early``, the test
    AP/AUC (all and new nodes) and ``model_path``; ``history`` one row per run and epoch (the
    columns of :attr:`TrainedModel.history` with ``run``); ``results_path`` is the results JSON.
    """

    models: list[TrainedModel]
    runs: pd.DataFrame = field(repr=False)
    history: pd.DataFrame = field(repr=False)
    results_path: Path

    @property
    def model(self) -> TrainedModel:
        """The first run's model (the only one unless ``n_runs > 1``)."""
        return self.models[0]


def train_model(
    config: TrainConfig,
    root: str | Path = ".",
    device=None,
    progress=None,
    callbacks=None,
) -> TrainingResult:
    """Train as ``tgnrank train`` does with the same settings and return the models and their scores.

    Writes under ``root`` what the command writes under the working directory (``saved_models/``,
    ``saved_checkpoints/``, ``results/``), but no log file and nothing on the screen: records go to
    the ``logging`` module and progress to ``progress`` (None, True for tqdm bars, or a callable
    ``(stage, events done, events in the epoch)``). ``device``: a torch device or its name (default:
    ``config``'s ``gpu``, the CPU without CUDA). ``callbacks``: extra
    :class:`~tgnrank.train.records.TrainingCallbacks` (or a list of them), e.g. to watch each
    :class:`~tgnrank.train.records.EpochRecord`.
    """
    from tgnrank.train.outputs import RunPaths
    from tgnrank.train.runs import train_runs
    from tgnrank.train.tracking import CallbackList, WandbCallbacks

    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    hooks = [] if callbacks is None else list(callbacks) if isinstance(callbacks, (list, tuple)) else [callbacks]
    report = progress_callback(progress)
    if report is not None:
        hooks.append(TrainingProgress(report))
    if config.run.wandb:
        hooks.append(WandbCallbacks(config.run_name))
    paths = RunPaths(config.run.prefix, config.dataset.data, root=Path(root))
    try:
        summary = train_runs(config, resolve_device(device, config.run.gpu), paths, CallbackList(hooks))
    finally:
        if hasattr(report, "close"):
            report.close()
    models = [load_model(run.model_path) for run in summary.runs]
    return TrainingResult(
        models=models,
        runs=pd.DataFrame([_run_row(run) for run in summary.runs]),
        history=pd.concat([model.history.assign(run=run.run) for model, run in zip(models, summary.runs)],
                          ignore_index=True),
        results_path=summary.results_path,
    )


def load_model(path: str | Path) -> TrainedModel:
    """The checkpoint at ``path`` (written by training), checked as the commands check it."""
    from tgnrank.train.checkpoint import load_checkpoint

    return TrainedModel(Path(path), load_checkpoint(path))


def as_model(model) -> TrainedModel:
    """A TrainedModel from a TrainedModel or a checkpoint path."""
    if isinstance(model, TrainedModel):
        return model
    if isinstance(model, (str, Path)):
        return load_model(model)
    raise TypeError(f"model must be a TrainedModel or a checkpoint path, got {type(model).__name__}")


def resolve_device(device, gpu: int = 0):
    """A torch device: ``device`` itself or by name, else the one ``--gpu gpu`` selects."""
    import torch

    if device is None:
        from tgnrank.train.device import select_device

        return select_device(gpu)
    return torch.device(device)


def _run_row(run) -> dict:
    return {
        "run": run.run,
        "seed": run.seed,
        "best_epoch": run.best_epoch,
        "stopped_early": run.stopped_early,
        **{name: float(getattr(run, name)) for name in TEST_METRICS},
        "model_path": Path(run.model_path),
    }
