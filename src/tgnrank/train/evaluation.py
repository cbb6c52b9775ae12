"""TGN's AP/AUC evaluation on the validation and test events, old nodes then new nodes.

The memory semantics (for the walks of a pairwise model too) are the original script's: validation leaves the model with the memory it had
after the old-node validation (the new-node validation runs from a backup, restored after); the test
runs old and new nodes both from the memory at the end of validation.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import torch

from tgnrank.data.events import Interactions
from tgnrank.train.config import TrainConfig
from tgnrank.train.training_data import TrainingData

EVAL_BATCH_SIZE = 200  # TGN evaluates in batches of 200 whatever --bs is, and averages per-batch AP/AUC
VAL_NEGATIVE_SEED, NEW_NODE_VAL_NEGATIVE_SEED = 0, 1
TEST_NEGATIVE_SEED, NEW_NODE_TEST_NEGATIVE_SEED = 2, 3


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
    n_degree = config.neighbors.n_degree
    model.set_neighbor_finder(full_finder)
    # The model's whole state: the memory, a pairwise model's walks (None for a model without state).
    start_memory = model.backup_memory()
    old_scores = _evaluate_split(model, old_events, training_data, old_seed, n_degree)
    end_memory = model.backup_memory() if keep_old_node_memory else start_memory
    model.restore_memory(start_memory)
    new_scores = _evaluate_split(model, new_events, training_data, new_seed, n_degree)
    model.restore_memory(end_memory)
    return old_scores, new_scores


def evaluate_link_prediction(
    model, events: Interactions, sampler, n_neighbors: int, batch_size: int = EVAL_BATCH_SIZE
) -> tuple[float, float]:
    """TGN's evaluation: per batch, AP and AUC of sigmoid scores of positives against one random
    negative each; returns the means over batches, or NaNs when ``events`` is empty.

    The model's memory advances through ``events`` as it scores them (TGN's behaviour).
    """
    if len(events) == 0:
        return math.nan, math.nan
    model.eval()
    aps, aucs = [], []
    # Inference mode: no autograd bookkeeping at all; the memory is written in place, so its buffers
    # stay ordinary tensors that training can use afterwards.
    with torch.inference_mode(), _pending_committed_on_read(model):
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
            ap, auc = average_precision_and_auc(labels, scores)
            aps.append(ap)
            aucs.append(auc)
    return float(np.mean(aps)), float(np.mean(aucs))


@contextlib.contextmanager
def _pending_committed_on_read(model):
    """The weights are fixed while evaluating, so a TGN may commit what it reads (see
    ``TGN.commit_pending_on_read``); other models are left as they are."""
    if not hasattr(model, "commit_pending_on_read"):
        yield
        return
    previous, model.commit_pending_on_read = model.commit_pending_on_read, True
    try:
        yield
    finally:
        model.commit_pending_on_read = previous


def average_precision_and_auc(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """scikit-learn's ``average_precision_score`` and ``roc_auc_score`` of binary ``labels (N,)`` and
    ``scores (N,)`` (both classes present), computed as it does: one point per distinct score, from
    the highest down; AP sums precision times recall increments, AUC is the trapezoidal area.

    Here rather than through scikit-learn: its import alone can take seconds of a first epoch's
    validation, and its input checks cost more than the sums on a batch of 400 scores.
    """
    order = np.argsort(scores, kind="mergesort")[::-1]
    ranked_scores, ranked_labels = scores[order], labels[order]
    last_of_score = np.r_[np.flatnonzero(np.diff(ranked_scores)), len(ranked_scores) - 1]
    true_positives = np.cumsum(ranked_labels, dtype=np.float64)[last_of_score]
    false_positives = 1 + last_of_score - true_positives
    recall = true_positives / true_positives[-1]
    precision = true_positives / (true_positives + false_positives)
    average_precision = float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
    true_rate = np.r_[0.0, recall]
    false_rate = np.r_[0.0, false_positives / false_positives[-1]]
    return average_precision, float(np.trapezoid(true_rate, false_rate))


def _evaluate_split(model, events: Interactions, training_data: TrainingData, negative_seed: int,
                    n_degree: int) -> tuple[float, float]:
    """AP and AUC on ``events`` against random investors drawn afresh from ``negative_seed`` (as TGN)."""
    from tgnrank.sampling.negatives import RandomNegativeSampler

    sampler = RandomNegativeSampler(training_data.eval_candidates, seed=negative_seed)
    return evaluate_link_prediction(model, events, sampler, n_degree)
