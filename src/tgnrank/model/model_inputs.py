"""The checked inputs of :class:`tgnrank.model.tgn.TGN`: its feature matrices, the numpy batches of its
public methods, and Jodie's time-shift statistics from its neighbour finder's events."""

from __future__ import annotations

import numpy as np
import torch

from tgnrank.model.time_encoding import time_shift_statistics


def as_feature_matrix(values: np.ndarray, name: str) -> torch.Tensor:
    """``values`` as a contiguous float32 ``(rows, features)`` tensor; ValueError naming ``name`` otherwise."""
    matrix = np.asarray(values, dtype=np.float32)
    if matrix.ndim != 2:
        raise ValueError(f"{name} must be a 2-d array (rows x features, row 0 padding), got shape {matrix.shape}")
    return torch.from_numpy(np.ascontiguousarray(matrix))


def as_batch(sources, destinations, timestamps, edge_idxs):
    """The four columns of a batch as int64/float64 numpy arrays, checked to be 1-d of one length."""
    sources = np.asarray(sources, dtype=np.int64)
    arrays = (
        sources,
        np.asarray(destinations, dtype=np.int64),
        np.asarray(timestamps, dtype=np.float64),
        np.asarray(edge_idxs, dtype=np.int64),
    )
    if any(array.shape != sources.shape or array.ndim != 1 for array in arrays):
        raise ValueError(
            "sources, destinations, timestamps and edge_idxs must be 1-d of one length, "
            f"got shapes {[array.shape for array in arrays]}"
        )
    return arrays


def time_shift_from(neighbor_finder) -> list[float]:
    """``[mean, std]`` of the time since a node's previous event over the finder's events (``[0, 1]`` without)."""
    events = getattr(neighbor_finder, "events", None)
    if events is None:
        return [0.0, 1.0]
    return list(time_shift_statistics(events.sources, events.destinations, events.timestamps))
