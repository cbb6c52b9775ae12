"""One training pass over the events: batches, negatives, loss and optimiser steps."""

from __future__ import annotations

import math
import time

import numpy as np
import torch

from tgnrank.data import EventData
from tgnrank.data.events import Interactions
from tgnrank.errors import TgnrankError
from tgnrank.train.config import TrainConfig
from tgnrank.train.losses import PairLoss
from tgnrank.train.records import TrainingCallbacks


class TrainingDiverged(TgnrankError):
    """The loss became NaN or infinite."""


def train_epoch(
    model,
    optimizer: torch.optim.Optimizer,
    criterion: PairLoss,
    events: Interactions,
    sampler,
    config: TrainConfig,
    epoch: int,
    callbacks: TrainingCallbacks,
) -> tuple[float, float]:
    """One pass over ``events`` in chronological batches of ``config.optim.bs``; returns (mean loss, seconds).

    ``criterion`` maps a batch's ``(positive_logits, negative_logits)`` to its loss (``make_pair_loss``).

    The loss of ``backprop_every`` consecutive batches is averaged before each optimiser step, then
    the memory is detached so gradients never reach further back than those batches.
    """
    start = time.perf_counter()
    optim = config.optim
    model.reset_memory()  # and the walks of a pairwise model, with or without memory
    if hasattr(sampler, "reset_stats"):
        sampler.reset_stats()
    model.train()
    n_events = len(events)
    n_batches = math.ceil(n_events / optim.bs)
    callbacks.on_epoch_start(epoch, n_events)
    step_losses = []
    for first_batch in range(0, n_batches, optim.backprop_every):
        optimizer.zero_grad()
        batches = range(first_batch, min(first_batch + optim.backprop_every, n_batches))
        loss = sum(_batch_loss(model, criterion, events, sampler, config, batch) for batch in batches) / len(batches)
        loss_value = loss.item()  # the step's one device sync
        if not math.isfinite(loss_value):
            raise TrainingDiverged(
                f"the training loss became {loss_value} at epoch {epoch}, batch {batches[-1] + 1} of {n_batches}; "
                f"try a lower lr (currently {optim.lr:g})",
                parameters=("lr",),
            )
        loss.backward()
        optimizer.step()
        model.detach_memory()
        step_losses.append(loss_value)
        callbacks.on_batch_end(epoch, min((batches[-1] + 1) * optim.bs, n_events), step_losses[-1])
    return float(np.mean(step_losses)), time.perf_counter() - start


def _batch_loss(model, criterion: PairLoss, events: Interactions, sampler, config: TrainConfig, batch: int):
    chunk = slice(batch * config.optim.bs, (batch + 1) * config.optim.bs)
    sources, destinations = events.sources[chunk], events.destinations[chunk]
    timestamps = events.timestamps[chunk]
    negatives = sampler.sample(sources, destinations, n_neg=config.negatives.n_neg, timestamps=timestamps)
    positive_logits, negative_logits = model.compute_edge_logits(
        sources, destinations, negatives, timestamps, events.edge_idxs[chunk], config.neighbors.n_degree
    )
    return criterion(positive_logits, negative_logits)


def training_sampler(config: TrainConfig, data: EventData, train: Interactions, device: torch.device):
    """The negative sampler of a run, from its negatives section; hard negatives compare investors by
    their static features and their activity as of the end of ``train`` (nothing later)."""
    from tgnrank.data.activity import similarity_features
    from tgnrank.sampling.negatives import create_negative_sampler

    negatives = config.negatives
    # Without hard negatives the sampler only reads the number of rows.
    vectors = similarity_features(data, train) if negatives.use_hard_negatives else data.node_features
    return create_negative_sampler(
        use_hard_negatives=negatives.use_hard_negatives,
        hard_neg_ratio=negatives.hard_neg_ratio,
        hard_neg_temperature=negatives.hard_neg_temperature,
        hard_neg_topk=negatives.hard_neg_topk,
        node_features=vectors,
        train=train,
        seed=config.run.seed,
        device=str(device),
        multihop_neg_ratio=negatives.multihop_neg_ratio,
        multihop_topk=negatives.multihop_topk,
        neg_sampling=negatives.neg_sampling,
        neg_degree_power=negatives.neg_degree_power,
        neg_recent_days=negatives.neg_recent_days,
    )
