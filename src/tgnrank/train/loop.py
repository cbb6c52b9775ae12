"""Self-supervised link-prediction training of TGN, with the original script's memory semantics.

Per epoch: reset the memory; train on the training events in chronological batches with the
training-only neighbour finder (backpropagate every ``backprop_every`` batches, then detach the
memory); validate with the full neighbour finder on old then new nodes, backing up and restoring the
memory around the new-node validation so that the model leaves validation with the memory it had
after the old-node validation. Early stopping watches the validation AP and the best epoch is
restored at the end. The test then runs from the memory at the end of validation, old nodes first,
new nodes from the same restored memory.

Negatives: at the start of each epoch the sampler's hard share follows ``--hard_neg_curriculum``, and
with ``--hard_neg_similarity memory`` its top-k lists are recomputed (from epoch 1 on) from the
investors' memory as it was at the end of the previous epoch's training pass.

Nothing here prints: progress goes through ``TrainingCallbacks`` and ``logging``.
"""

from __future__ import annotations

import logging
import math
import random
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from tgnrank.data import EventData, TemporalSplit, chronological_split, open_dataset
from tgnrank.data.arrays import distinct
from tgnrank.data.events import Interactions
from tgnrank.errors import TgnrankError
from tgnrank.sampling.curriculum import hard_ratio_at
from tgnrank.train.checkpoint import checkpoint_config, load_checkpoint, make_checkpoint, save_checkpoint
from tgnrank.train.config import TrainConfig
from tgnrank.train.early_stopping import EarlyStopping
from tgnrank.train.losses import LossFunction, link_prediction_loss, make_loss
from tgnrank.train.model_setup import build_neighbor_finder, build_training_model
from tgnrank.train.outputs import RunPaths, write_json, write_pickle

logger = logging.getLogger(__name__)

EVAL_BATCH_SIZE = 200  # TGN evaluates in batches of 200 whatever --bs is, and averages per-batch AP/AUC
VAL_NEGATIVE_SEED, NEW_NODE_VAL_NEGATIVE_SEED = 0, 1
TEST_NEGATIVE_SEED, NEW_NODE_TEST_NEGATIVE_SEED = 2, 3


class TrainingDiverged(TgnrankError):
    """The loss became NaN or infinite."""


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
    before the epoch (None when they were not recomputed).
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
        "sampler_stats": [_plain(record.sampler_stats) for record in history],
        "hard_neg_ratios": column("hard_neg_ratio"),
        "similarity_refresh_seconds": [record.similarity_refresh_seconds for record in history],
    }


@dataclass
class TrainingSummary:
    runs: list[RunResult]
    results_path: Path

    def mean_std(self, name: str) -> tuple[float, float]:
        values = np.array([getattr(run, name) for run in self.runs], dtype=np.float64)
        return float(np.mean(values)), float(np.std(values))


@dataclass(frozen=True)
class TrainingData:
    """The dataset and its chronological split, prepared once for all runs."""

    data: EventData
    split: TemporalSplit

    @cached_property
    def eval_candidates(self) -> np.ndarray:
        """Investors that evaluation negatives are drawn from: every destination of the full data (as TGN);
        computed once, as every validation and test split draws from them."""
        return distinct(self.split.full.destinations)


def load_training_data(config: TrainConfig) -> TrainingData:
    data = open_dataset(config.data, config.data_dir)
    split = chronological_split(data.events, different_new_nodes=config.different_new_nodes)
    summary = split.summary()
    logger.info(
        "Dataset %s: %d nodes, %d events; train %d, val %d (new nodes %d), test %d (new nodes %d)",
        data.name, data.n_nodes, data.n_events, summary["train"], summary["val"], summary["new_node_val"],
        summary["test"], summary["new_node_test"],
    )
    if summary["train"] == 0 or summary["val"] == 0:
        raise TgnrankError(f"dataset '{data.name}' is too small to split: {summary}")
    return TrainingData(data=data, split=split)


def set_seeds(seed: int) -> None:
    """Seed every global generator a run may touch (torch, numpy's legacy one, Python's)."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def train_runs(
    config: TrainConfig,
    device: torch.device,
    paths: RunPaths,
    callbacks: TrainingCallbacks | None = None,
    training_data: TrainingData | None = None,
) -> TrainingSummary:
    """``config.n_runs`` runs with seeds ``seed, seed + 1, ...``; results JSON rewritten after each."""
    callbacks = callbacks or TrainingCallbacks()
    config.model_config()  # model-level checks (e.g. --n_head vs dimensions) fail before any data is read
    logger.info("Configuration: %s", ", ".join(f"{key}={value}" for key, value in config.to_dict().items()))
    training_data = training_data or load_training_data(config)
    runs: list[RunResult] = []
    for run in range(config.n_runs):
        run_config = config.with_seed(config.seed + run)
        runs.append(train_run(run_config, training_data, device, paths, run=run, callbacks=callbacks))
        summary = TrainingSummary(runs=runs, results_path=paths.results_json_path())
        write_json(summary.results_path, _results_payload(config, training_data.data, summary))
    return summary


def train_run(
    config: TrainConfig,
    training_data: TrainingData,
    device: torch.device,
    paths: RunPaths,
    run: int = 0,
    callbacks: TrainingCallbacks | None = None,
) -> RunResult:
    """One complete run: epochs with validation and early stopping, the test, the final checkpoint."""
    callbacks = callbacks or TrainingCallbacks()
    set_seeds(config.seed)
    parts = _RunParts.build(config, training_data, device)
    state = _RunState()
    callbacks.on_run_start(run, config)
    logger.info("Run %d (seed %d) on %s: %s", run, config.seed, device, _describe(config))
    try:
        stopper = _train_epochs(parts, config, training_data, paths, run, callbacks, state)
        result = _finish_run(parts, config, training_data, paths, run, stopper, state)
    except KeyboardInterrupt:
        raise TrainingInterrupted(len(state.history), state.last_checkpoint) from None
    logger.info(
        "Run %d: test AP %.4f AUC %.4f, new-node test AP %.4f AUC %.4f; model saved to %s",
        run, result.test_ap, result.test_auc, result.new_node_test_ap, result.new_node_test_auc, result.model_path,
    )
    callbacks.on_run_end(result)
    return result


@dataclass
class _RunParts:
    """What one run trains and evaluates with."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    criterion: LossFunction
    sampler: object
    train_finder: object
    full_finder: object
    config_entry: dict

    @classmethod
    def build(cls, config: TrainConfig, training_data: TrainingData, device: torch.device) -> "_RunParts":
        data, split = training_data.data, training_data.split
        train_finder = build_neighbor_finder(split.train, data.n_nodes, config)
        model = build_training_model(config, data, train_finder, device)
        return cls(
            model=model,
            optimizer=torch.optim.Adam(model.parameters(), lr=config.lr),
            criterion=make_loss(config.use_focal_loss, config.focal_alpha, config.focal_gamma),
            sampler=_training_sampler(config, data, split.train, device),
            train_finder=train_finder,
            full_finder=build_neighbor_finder(split.full, data.n_nodes, config),
            config_entry=checkpoint_config(config, data),
        )


@dataclass
class _RunState:
    """Completed epochs so far, and the checkpoint of the last one (what Ctrl-C leaves behind)."""

    history: list[EpochRecord] = field(default_factory=list)
    last_checkpoint: Path | None = None
    investor_memory: np.ndarray | None = None  # memory after the last training pass, for memory similarity


def _train_epochs(parts: _RunParts, config: TrainConfig, training_data: TrainingData, paths: RunPaths, run: int,
                  callbacks: TrainingCallbacks, state: _RunState) -> EarlyStopping:
    """Train and validate epoch after epoch, checkpointing each, until ``n_epoch`` or early stopping."""
    stopper = EarlyStopping(config.patience)
    n_train = len(training_data.split.train)
    for epoch in range(config.n_epoch):
        start = time.perf_counter()
        hard_ratio, refresh_seconds = _prepare_negatives(parts.sampler, config, epoch, state)
        parts.model.set_neighbor_finder(parts.train_finder)
        train_loss, epoch_time = train_epoch(
            parts.model, parts.optimizer, parts.criterion, training_data.split.train, parts.sampler, config, epoch,
            callbacks,
        )
        if config.hard_neg_similarity == "memory":
            state.investor_memory = _memory_vectors(parts.model)
        validation = validate(parts.model, training_data, parts.full_finder, config)
        record = EpochRecord(
            run=run,
            epoch=epoch,
            train_loss=train_loss,
            epoch_time=epoch_time,
            total_epoch_time=time.perf_counter() - start,
            events_per_second=n_train / max(epoch_time, 1e-9),
            sampler_stats=_plain(parts.sampler.stats()) if hasattr(parts.sampler, "stats") else {},
            hard_neg_ratio=hard_ratio,
            similarity_refresh_seconds=refresh_seconds,
            **validation,
        )
        state.history.append(record)
        progress = history_metrics(run, config.seed, state.history)
        save_checkpoint(paths.epoch_checkpoint_path(epoch), make_checkpoint(parts.config_entry, parts.model, progress))
        state.last_checkpoint = paths.epoch_checkpoint_path(epoch)
        write_pickle(paths.results_pickle_path(run), progress)
        _log_epoch(record)
        callbacks.on_epoch_end(record)
        stop = stopper.step(record.val_ap)
        if not config.keep_epoch_checkpoints:
            _prune_epoch_checkpoints(paths, epoch, keep={epoch, stopper.best_epoch})
        if stop:
            logger.info("No improvement over %d epochs, stop training", config.patience)
            break
    return stopper


def _prepare_negatives(sampler, config: TrainConfig, epoch: int, state: _RunState) -> tuple[float, float | None]:
    """Set the epoch's hard share (curriculum) and refresh the top-k from the memory; returns the share
    and the refresh time (None when not refreshed)."""
    hard_ratio = 0.0
    if config.use_hard_negatives:
        hard_ratio = hard_ratio_at(epoch, config.hard_neg_ratio, config.hard_neg_curriculum, config.curriculum_epochs)
    if config.hard_neg_curriculum != "none":
        sampler.set_hard_ratio(hard_ratio)
        logger.info("epoch %d: hard-negative ratio %.4f (%s curriculum over %d epochs)", epoch, hard_ratio,
                    config.hard_neg_curriculum, config.curriculum_epochs)
    if state.investor_memory is None:
        return hard_ratio, None
    refresh_seconds = sampler.refresh_similarity(state.investor_memory)
    state.investor_memory = None
    logger.info("epoch %d: hard negatives' top-%d recomputed from the memory in %.2f s", epoch,
                sampler.similarity.topk, refresh_seconds)
    return hard_ratio, refresh_seconds


def _memory_vectors(model) -> np.ndarray:
    """A copy of every node's memory, ``(n_nodes + 1, memory_dim)`` float32 on the CPU."""
    return model.memory.memory.detach().to("cpu", copy=True).numpy()


def _prune_epoch_checkpoints(paths: RunPaths, last_epoch: int, keep: set) -> None:
    """Delete the epoch checkpoints of this run other than ``keep`` (the best and the last epoch):
    a checkpoint holds the whole memory, so fifty of them would fill a disk for nothing."""
    for epoch in range(last_epoch + 1):
        if epoch not in keep:
            paths.epoch_checkpoint_path(epoch).unlink(missing_ok=True)


def _finish_run(parts: _RunParts, config: TrainConfig, training_data: TrainingData, paths: RunPaths, run: int,
                stopper: EarlyStopping, state: _RunState) -> RunResult:
    """Restore the best epoch, test it, and save the final checkpoint and results of the run."""
    history = state.history
    best_epoch = stopper.best_epoch if stopper.best_epoch is not None else history[-1].epoch
    if best_epoch != history[-1].epoch:
        _restore_epoch(parts.model, paths.epoch_checkpoint_path(best_epoch), config)
        logger.info("Restored the best model, from epoch %d (val AP %.4f)", best_epoch, history[best_epoch].val_ap)
    result = RunResult(
        run=run,
        seed=config.seed,
        history=history,
        best_epoch=best_epoch,
        stopped_early=len(history) < config.n_epoch,
        model_path=paths.model_path(run),
        **evaluate_test_sets(parts.model, training_data, parts.full_finder, config),
    )
    metrics = result.metrics()
    save_checkpoint(result.model_path, make_checkpoint(parts.config_entry, parts.model, metrics))
    write_pickle(paths.results_pickle_path(run), metrics)
    return result


def train_epoch(
    model,
    optimizer: torch.optim.Optimizer,
    criterion: LossFunction,
    events: Interactions,
    sampler,
    config: TrainConfig,
    epoch: int,
    callbacks: TrainingCallbacks,
) -> tuple[float, float]:
    """One pass over ``events`` in chronological batches of ``config.bs``; returns (mean loss, seconds).

    The loss of ``backprop_every`` consecutive batches is averaged before each optimiser step, then
    the memory is detached so gradients never reach further back than those batches.
    """
    start = time.perf_counter()
    if config.use_memory:
        model.reset_memory()
    if hasattr(sampler, "reset_stats"):
        sampler.reset_stats()
    model.train()
    n_events = len(events)
    n_batches = math.ceil(n_events / config.bs)
    callbacks.on_epoch_start(epoch, n_events)
    step_losses = []
    for first_batch in range(0, n_batches, config.backprop_every):
        optimizer.zero_grad()
        batches = range(first_batch, min(first_batch + config.backprop_every, n_batches))
        loss = sum(_batch_loss(model, criterion, events, sampler, config, batch) for batch in batches) / len(batches)
        loss_value = loss.item()  # the step's one device sync
        if not math.isfinite(loss_value):
            raise TrainingDiverged(
                f"the training loss became {loss_value} at epoch {epoch}, batch {batches[-1] + 1} of {n_batches}; "
                f"try a lower --lr (currently {config.lr:g})"
            )
        loss.backward()
        optimizer.step()
        if config.use_memory:
            model.detach_memory()
        step_losses.append(loss_value)
        callbacks.on_batch_end(epoch, min((batches[-1] + 1) * config.bs, n_events), step_losses[-1])
    return float(np.mean(step_losses)), time.perf_counter() - start


def _batch_loss(model, criterion: LossFunction, events: Interactions, sampler, config: TrainConfig, batch: int):
    chunk = slice(batch * config.bs, (batch + 1) * config.bs)
    sources, destinations = events.sources[chunk], events.destinations[chunk]
    negatives = sampler.sample(sources, destinations, n_neg=config.n_neg)
    positive_logits, negative_logits = model.compute_edge_logits(
        sources, destinations, negatives, events.timestamps[chunk], events.edge_idxs[chunk], config.n_degree
    )
    return link_prediction_loss(criterion, positive_logits, negative_logits)


def validate(model, training_data: TrainingData, full_finder, config: TrainConfig) -> dict[str, float]:
    """Validation AP/AUC on old then new nodes; leaves the memory as after the old-node validation."""
    split = training_data.split
    (val_ap, val_auc), (new_ap, new_auc) = _evaluate_old_then_new(
        model, training_data, full_finder, config, (split.val, VAL_NEGATIVE_SEED),
        (split.new_node_val, NEW_NODE_VAL_NEGATIVE_SEED), keep_old_node_memory=True,
    )
    return {"val_ap": val_ap, "val_auc": val_auc, "new_node_val_ap": new_ap, "new_node_val_auc": new_auc}


def evaluate_test_sets(model, training_data: TrainingData, full_finder, config: TrainConfig) -> dict[str, float]:
    """Test AP/AUC on old then new nodes, both from the memory at the end of validation (restored after)."""
    split = training_data.split
    (test_ap, test_auc), (new_ap, new_auc) = _evaluate_old_then_new(
        model, training_data, full_finder, config, (split.test, TEST_NEGATIVE_SEED),
        (split.new_node_test, NEW_NODE_TEST_NEGATIVE_SEED), keep_old_node_memory=False,
    )
    return {"test_ap": test_ap, "test_auc": test_auc, "new_node_test_ap": new_ap, "new_node_test_auc": new_auc}


def _evaluate_old_then_new(model, training_data: TrainingData, full_finder, config: TrainConfig,
                           old: tuple[Interactions, int], new: tuple[Interactions, int],
                           keep_old_node_memory: bool) -> tuple[tuple[float, float], tuple[float, float]]:
    """AP/AUC of the old-node then the new-node ``(events, negative seed)``, both from the current memory.

    Afterwards the memory is as after the old-node evaluation (``keep_old_node_memory``) or as before both.
    """
    (old_events, old_seed), (new_events, new_seed) = old, new
    model.set_neighbor_finder(full_finder)
    start_memory = model.backup_memory() if config.use_memory else None
    old_scores = _evaluate_split(model, old_events, training_data, old_seed, config)
    if config.use_memory:
        end_memory = model.backup_memory() if keep_old_node_memory else start_memory
        model.restore_memory(start_memory)
    new_scores = _evaluate_split(model, new_events, training_data, new_seed, config)
    if config.use_memory:
        model.restore_memory(end_memory)
    return old_scores, new_scores


def evaluate_link_prediction(
    model, events: Interactions, sampler, n_neighbors: int, batch_size: int = EVAL_BATCH_SIZE
) -> tuple[float, float]:
    """TGN's evaluation: per batch, AP and AUC of sigmoid scores of positives against one random
    negative each; returns the means over batches, or NaNs when ``events`` is empty.

    The model's memory advances through ``events`` as it scores them (TGN's behaviour).
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    if len(events) == 0:
        return math.nan, math.nan
    model.eval()
    aps, aucs = [], []
    with torch.no_grad():
        for start in range(0, len(events), batch_size):
            chunk = slice(start, start + batch_size)
            sources, destinations = events.sources[chunk], events.destinations[chunk]
            negatives = sampler.sample(sources, destinations, n_neg=1)
            positive_logits, negative_logits = model.compute_edge_logits(
                sources, destinations, negatives, events.timestamps[chunk], events.edge_idxs[chunk], n_neighbors
            )
            logits = torch.cat([positive_logits.reshape(-1), negative_logits.reshape(-1)]).double()
            scores = torch.sigmoid(logits).cpu().numpy()
            labels = np.concatenate([np.ones(len(sources)), np.zeros(len(sources))])
            aps.append(average_precision_score(labels, scores))
            aucs.append(roc_auc_score(labels, scores))
    return float(np.mean(aps)), float(np.mean(aucs))


def _training_sampler(config: TrainConfig, data: EventData, train: Interactions, device: torch.device):
    from tgnrank.sampling.negatives import create_negative_sampler

    return create_negative_sampler(
        use_hard_negatives=config.use_hard_negatives,
        hard_neg_ratio=config.hard_neg_ratio,
        hard_neg_temperature=config.hard_neg_temperature,
        hard_neg_topk=config.hard_neg_topk,
        node_features=data.node_features,
        train=train,
        seed=config.seed,
        device=str(device),
        multihop_neg_ratio=config.multihop_neg_ratio,
        multihop_topk=config.multihop_topk,
    )


def _evaluate_split(model, events: Interactions, training_data: TrainingData, negative_seed: int,
                    config: TrainConfig) -> tuple[float, float]:
    """AP and AUC on ``events`` against random investors drawn afresh from ``negative_seed`` (as TGN)."""
    from tgnrank.sampling.negatives import RandomNegativeSampler

    sampler = RandomNegativeSampler(training_data.eval_candidates, seed=negative_seed)
    return evaluate_link_prediction(model, events, sampler, config.n_degree)


def _restore_epoch(model, path: Path, config: TrainConfig) -> None:
    checkpoint = load_checkpoint(path, map_location=next(model.parameters()).device)
    model.load_state_dict(checkpoint["model_state"])
    if config.use_memory:
        model.load_memory_state_dict(checkpoint["memory_state"])


def _results_payload(config: TrainConfig, data: EventData, summary: TrainingSummary) -> dict:
    aggregate = {}
    for name in ("test_ap", "test_auc", "new_node_test_ap", "new_node_test_auc"):
        mean, std = summary.mean_std(name)
        aggregate[f"{name}_mean"], aggregate[f"{name}_std"] = mean, std
    return {
        "config": checkpoint_config(config, data),
        "n_runs_completed": len(summary.runs),
        "summary": aggregate,
        "runs": [{**run.metrics(), "model_path": str(run.model_path)} for run in summary.runs],
    }


def _log_epoch(record: EpochRecord) -> None:
    logger.info(
        "epoch %d: train %.1fs (%.0f events/s), total %.1fs, mean loss %.4f", record.epoch, record.epoch_time,
        record.events_per_second, record.total_epoch_time, record.train_loss,
    )
    logger.info("  val AP %.4f AUC %.4f | new-node val AP %.4f AUC %.4f",
                record.val_ap, record.val_auc, record.new_node_val_ap, record.new_node_val_auc)
    if record.sampler_stats:
        logger.info("  negatives: %s", ", ".join(f"{k}={_fmt(v)}" for k, v in record.sampler_stats.items()))


def _describe(config: TrainConfig) -> str:
    loss = "BCE"
    if config.use_focal_loss:
        loss = f"focal loss (alpha {config.focal_alpha:g}, gamma {config.focal_gamma:g})"
    negatives = (
        f"hard negatives (ratio {config.hard_neg_ratio:g}, temperature {config.hard_neg_temperature:g}, "
        f"top-k {config.hard_neg_topk}, {config.hard_neg_similarity} similarity, "
        f"curriculum {config.hard_neg_curriculum})" if config.use_hard_negatives else "random negatives"
    )
    if config.multihop_neg_ratio > 0:
        negatives += f" + multi-hop (ratio {config.multihop_neg_ratio:g}, top-k {config.multihop_topk})"
    memory = "memory" if config.use_memory else "no memory"
    return f"{config.embedding_module}, {memory}, {loss}, {negatives} x{config.n_neg}, lr {config.lr:g}, bs {config.bs}"


def _fmt(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _plain(value):
    """Numpy scalars and arrays to plain Python, so metrics pickle anywhere and load with weights_only."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
