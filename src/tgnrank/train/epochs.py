"""The epoch loop of one run: prepare the negatives, train, validate, checkpoint, early-stop.

Per epoch: the sampler's hard share follows ``--hard_neg_curriculum``, and with
``--hard_neg_similarity memory`` its top-k lists are recomputed (from epoch 1 on) from the investors'
memory as it was at the end of the previous epoch's training pass; then one training pass with the
training-only neighbour finder; then the validation window is ranked from the memory at the end of
training (:mod:`tgnrank.train.ranking_validation`; the state is restored after), and AP/AUC
validation runs with the full finder. Early stopping watches ``--early_stop_metric`` (the ranking's
MRR or Recall@1000, or the AP). Every epoch is checkpointed with its resume state
(:mod:`tgnrank.train.resume`); only the best and the last are kept unless ``--keep_epoch_checkpoints``.
With ``--resume`` a run continues after the last epoch its files hold.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from tgnrank.nested import to_plain
from tgnrank.sampling.curriculum import hard_ratio_at
from tgnrank.train.checkpoint import checkpoint_config, make_checkpoint, prune_epoch_checkpoints, save_checkpoint
from tgnrank.train.config import TrainConfig
from tgnrank.train.device import training_pass_threads
from tgnrank.train.early_stopping import EarlyStopping, early_stop_score
from tgnrank.train.evaluation import validate
from tgnrank.train.logs import log_epoch
from tgnrank.train.losses import PairLoss, make_pair_loss
from tgnrank.train.model_setup import build_neighbor_finder, build_training_model
from tgnrank.train.outputs import RunPaths, write_pickle
from tgnrank.train.ranking_validation import ValidationRanking
from tgnrank.train.records import EpochRecord, TrainingCallbacks, history_metrics
from tgnrank.train.resume import resume_point, save_resume_state
from tgnrank.train.steps import train_epoch, training_sampler
from tgnrank.train.training_data import TrainingData

logger = logging.getLogger(__name__)


@dataclass
class RunParts:
    """What one run trains and evaluates with."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    criterion: PairLoss
    sampler: object
    train_finder: object
    full_finder: object
    config_entry: dict
    ranking: ValidationRanking

    @classmethod
    def build(cls, config: TrainConfig, training_data: TrainingData, device: torch.device) -> "RunParts":
        data, split = training_data.data, training_data.split
        ranking = validation_ranking(config, training_data)
        train_finder = build_neighbor_finder(split.train, data.n_nodes, config)
        model = build_training_model(config, data, train_finder, device)
        loss = config.objective
        return cls(
            model=model,
            optimizer=make_optimizer(model, config.optim.lr, device),
            criterion=make_pair_loss(loss.loss, loss.focal_alpha, loss.focal_gamma, loss.softmax_temperature),
            sampler=training_sampler(config, data, split.train, device),
            train_finder=train_finder,
            full_finder=build_neighbor_finder(split.full, data.n_nodes, config),
            config_entry=checkpoint_config(config, data),
            ranking=ranking,
        )


def make_optimizer(model: torch.nn.Module, lr: float, device: torch.device) -> torch.optim.Optimizer:
    """Adam over ``model``'s parameters; the fused kernel on the CPU and CUDA (one pass per parameter
    instead of about ten small kernels; same update up to float32 rounding)."""
    return torch.optim.Adam(model.parameters(), lr=lr, fused=torch.device(device).type in ("cpu", "cuda"))


def validation_ranking(config: TrainConfig, training_data: TrainingData) -> ValidationRanking:
    """The validation window's ranking of a run (its company sample drawn from the run's seed), logged."""
    dataset = config.dataset
    ranking = ValidationRanking.from_events(
        training_data.data.events, config.run.val_rank_companies, seed=config.run.seed,
        train_quantile=dataset.train_quantile, val_quantile=dataset.val_quantile,
    )
    logger.info("Per-epoch %s (val_rank_companies %d)", ranking.describe(), config.run.val_rank_companies,
                extra={"parameters": ("val_rank_companies",)})
    if ranking.candidates.n_positives == 0 and config.run.early_stop_metric != "ap":
        logger.warning("the validation window has no new link to rank: early stopping uses the validation AP "
                       "instead of %s", config.run.early_stop_metric)
    return ranking


@dataclass
class RunState:
    """Completed epochs so far, and the checkpoint of the last one (what Ctrl-C leaves behind)."""

    history: list[EpochRecord] = field(default_factory=list)
    last_checkpoint: Path | None = None
    investor_memory: np.ndarray | None = None  # memory after the last training pass, for memory similarity
    stopper: EarlyStopping | None = None  # a resumed run's early stopping as the last completed epoch left it
    stopped: bool = False  # that early stopping had already said stop


def initial_state(parts: RunParts, config: TrainConfig, paths: RunPaths, run: int) -> RunState:
    """A fresh run's state, or with ``--resume`` the state after the run's last epoch on disk (restored
    into ``parts``) when there is one written with the same settings."""
    point = resume_point(parts, paths, config.run.patience, run) if config.run.resume else None
    if point is None:
        return RunState()
    return RunState(history=point.history, last_checkpoint=point.checkpoint, investor_memory=point.investor_memory,
                    stopper=point.stopper, stopped=point.stopped)


def train_epochs(parts: RunParts, config: TrainConfig, training_data: TrainingData, paths: RunPaths, run: int,
                 callbacks: TrainingCallbacks, state: RunState) -> EarlyStopping:
    """Train and validate epoch after epoch, checkpointing each, until ``n_epoch`` or early stopping;
    a resumed ``state`` continues after its last epoch."""
    stopper = state.stopper or EarlyStopping(config.run.patience)
    n_train = len(training_data.split.train)
    if state.stopped:
        logger.info("Run %d had already stopped early after epoch %d", run, state.history[-1].epoch)
        return stopper
    for epoch in range(len(state.history), config.optim.n_epoch):
        start = time.perf_counter()
        hard_ratio, refresh_seconds = prepare_negatives(parts.sampler, config, epoch, state)
        parts.model.set_neighbor_finder(parts.train_finder)
        with training_pass_threads(parts.model.device, config.run.cpu_threads):
            train_loss, epoch_time = train_epoch(
                parts.model, parts.optimizer, parts.criterion, training_data.split.train, parts.sampler, config,
                epoch, callbacks,
            )
        if config.negatives.hard_neg_similarity == "memory":
            state.investor_memory = memory_vectors(parts.model)
        ranking = rank_validation(parts, config)
        validation = validate(parts.model, training_data, parts.full_finder, config)
        record = EpochRecord(
            run=run,
            epoch=epoch,
            train_loss=train_loss,
            epoch_time=epoch_time,
            total_epoch_time=time.perf_counter() - start,
            events_per_second=n_train / max(epoch_time, 1e-9),
            sampler_stats=to_plain(parts.sampler.stats()) if hasattr(parts.sampler, "stats") else {},
            hard_neg_ratio=hard_ratio,
            similarity_refresh_seconds=refresh_seconds,
            **ranking_fields(ranking),
            **validation,
        )
        record.early_stop_score = stopping_score(config, record.val_ap, ranking)
        state.history.append(record)
        stop = stopper.step(record.early_stop_score)
        _save_epoch(parts, config, paths, run, state, stopper, stop)
        log_epoch(record)
        callbacks.on_epoch_end(record)
        if not config.run.keep_epoch_checkpoints:
            prune_epoch_checkpoints(paths, epoch, keep={epoch, stopper.best_epoch})
        if stop:
            logger.info("No improvement over %d epochs, stop training", config.run.patience)
            break
    return stopper


def rank_validation(parts: RunParts, config: TrainConfig) -> dict | None:
    """The validation ranking's metrics for the model as it is (memory at the end of training, restored
    after), or None when the window has no new link to rank."""
    if parts.ranking.candidates.n_positives == 0:
        return None
    return parts.ranking.rank(parts.model, config.neighbors.n_degree, neighbor_finder=parts.full_finder)


def ranking_fields(ranking: dict | None) -> dict:
    """The :class:`EpochRecord` fields of a validation ranking (NaN metrics without one)."""
    if ranking is None:
        return {}
    return {
        "val_mrr": ranking["mrr"],
        "val_recall_at_1000": ranking["recall@1000"],
        "val_median_rank_pct": ranking["median_rank_pct"],
        "val_rank_seconds": ranking["seconds"],
    }


def stopping_score(config: TrainConfig, val_ap: float, ranking: dict | None) -> float:
    """The epoch's ``--early_stop_metric``; the AP when there is no ranking (see :func:`validation_ranking`)."""
    metric = config.run.early_stop_metric if ranking is not None else "ap"
    return early_stop_score(metric, val_ap, ranking)


def _save_epoch(parts: RunParts, config: TrainConfig, paths: RunPaths, run: int, state: RunState,
                stopper: EarlyStopping, stop: bool) -> None:
    """The epoch's checkpoint, what resuming after it needs, and the run's progress so far (what an
    interruption leaves behind). The old resume state goes first, so none ever sits beside another checkpoint."""
    epoch = state.history[-1].epoch
    progress = history_metrics(run, config.run.seed, state.history)
    paths.resume_state_path(epoch).unlink(missing_ok=True)
    save_checkpoint(paths.epoch_checkpoint_path(epoch), make_checkpoint(parts.config_entry, parts.model, progress))
    save_resume_state(paths.resume_state_path(epoch), parts, state.history, stopper, stop, state.investor_memory, run)
    state.last_checkpoint = paths.epoch_checkpoint_path(epoch)
    write_pickle(paths.results_pickle_path(run), progress)


def prepare_negatives(sampler, config: TrainConfig, epoch: int, state: RunState) -> tuple[float, float | None]:
    """Set the epoch's hard share (curriculum) and refresh the top-k from the memory; returns the share
    and the refresh time (None when not refreshed)."""
    negatives = config.negatives
    hard_ratio = 0.0
    if negatives.use_hard_negatives:
        hard_ratio = hard_ratio_at(epoch, negatives.hard_neg_ratio, negatives.hard_neg_curriculum,
                                   negatives.curriculum_epochs)
    if negatives.hard_neg_curriculum != "none":
        sampler.set_hard_ratio(hard_ratio)
        logger.info("epoch %d: hard-negative ratio %.4f (%s curriculum over %d epochs)", epoch, hard_ratio,
                    negatives.hard_neg_curriculum, negatives.curriculum_epochs)
    if state.investor_memory is None:
        return hard_ratio, None
    refresh_seconds = sampler.refresh_similarity(state.investor_memory)
    state.investor_memory = None
    logger.info("epoch %d: hard negatives' top-%d recomputed from the memory in %.2f s", epoch,
                sampler.similarity.topk, refresh_seconds)
    return hard_ratio, refresh_seconds


def memory_vectors(model) -> np.ndarray:
    """A copy of every node's memory, ``(n_nodes + 1, memory_dim)`` float32 on the CPU."""
    return model.memory.memory.detach().to("cpu", copy=True).numpy()
