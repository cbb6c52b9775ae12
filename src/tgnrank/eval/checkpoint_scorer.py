"""From a stored checkpoint to a scorer: rebuild the model and replay the history through its memory."""

from __future__ import annotations

from tgnrank.eval.model_scorer import DEFAULT_TILE_PAIRS, scorer_for_model
from tgnrank.eval.protocol import CandidateSet
from tgnrank.eval.ranking import Progress


def replay_history(model, history, batch_size: int, n_neighbors: int, progress: Progress | None = None) -> None:
    """Reset the model's memory and feed it ``history`` (Interactions) in chronological batches, without gradients."""
    import torch

    model.reset_memory()
    n_events = len(history)
    with torch.no_grad():
        for first in range(0, n_events, batch_size):
            batch = slice(first, min(first + batch_size, n_events))
            model.process_events(
                history.sources[batch],
                history.destinations[batch],
                history.timestamps[batch],
                history.edge_idxs[batch],
                n_neighbors,
            )
            if progress is not None:
                progress(batch.stop, n_events)


def model_scorer_from_checkpoint(
    checkpoint: dict,
    data,
    candidates: CandidateSet,
    device,
    batch_size: int | None = None,
    tile_pairs: int = DEFAULT_TILE_PAIRS,
    progress: Progress | None = None,
):
    """Rebuild the checkpoint's model, replay the history through it and return ``(scorer, TrainConfig)``.

    The scorer is a ``ModelScorer``, or a ``PairwiseBlockScorer`` for a pairwise model (see
    :func:`~tgnrank.eval.model_scorer.scorer_for_model`). The configuration is the checkpoint's,
    upgraded from older formats. The neighbour finder covers the history only, the memory (and walks)
    are reset and rebuilt from the history in batches of ``batch_size`` events (default: the training
    batch size), so nothing of the window is seen. ``progress`` is called with (events replayed, events
    in the history).
    """
    from tgnrank.train.checkpoint import build_model_from_checkpoint, stored_config
    from tgnrank.train.model_setup import build_neighbor_finder

    stored = stored_config(checkpoint)
    finder = build_neighbor_finder(candidates.history, data.n_nodes, stored)
    model, config = build_model_from_checkpoint(checkpoint, data, finder, device)
    model.eval()
    replay_history(model, candidates.history, batch_size or config.bs, config.n_degree, progress)
    return scorer_for_model(model, candidates, config.n_degree, tile_pairs), config
