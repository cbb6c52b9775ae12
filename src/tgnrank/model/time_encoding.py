"""Functional time encoding (TGAT / TGN) and the statistics that normalise Jodie's time deltas."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class TimeEncoder(nn.Module):
    """``cos(w * t + b)`` with ``w`` initialised to ``10 ** -linspace(0, 9, dim)`` and ``b`` to 0, as TGN.

    Input ``(...)`` time deltas, output ``(..., dim)``. The frequencies stay trainable.
    """

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim
        self.linear = nn.Linear(1, dim)
        with torch.no_grad():
            frequencies = 1.0 / 10 ** np.linspace(0, 9, dim, dtype=np.float64)
            self.linear.weight.copy_(torch.as_tensor(frequencies, dtype=torch.float32).reshape(dim, 1))
            self.linear.bias.zero_()

    def forward(self, deltas: torch.Tensor) -> torch.Tensor:
        return torch.cos(self.linear(deltas.unsqueeze(-1)))


def time_shift_statistics(sources: np.ndarray, destinations: np.ndarray, timestamps: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of the time since a node's previous event in the same role.

    TGN computes these separately for sources and destinations (a node's first event counts from
    time 0); here both roles are pooled so that a node's embedding depends only on (node, time),
    which the ranking diagnostic needs. Returns ``(0.0, 1.0)`` for no events.
    """
    deltas = np.concatenate(
        [_deltas_since_previous(sources, timestamps), _deltas_since_previous(destinations, timestamps)]
    )
    if len(deltas) == 0:
        return 0.0, 1.0
    std = float(np.std(deltas))
    return float(np.mean(deltas)), std if std > 0 else 1.0


def _deltas_since_previous(nodes: np.ndarray, timestamps: np.ndarray) -> np.ndarray:
    """For each event (chronological order), its time minus the previous event time of the same node."""
    nodes = np.asarray(nodes)
    timestamps = np.asarray(timestamps, dtype=np.float64)
    order = np.argsort(nodes, kind="stable")
    sorted_nodes, sorted_times = nodes[order], timestamps[order]
    previous = np.concatenate([[0.0], sorted_times[:-1]]) if len(order) else sorted_times
    first_of_node = np.concatenate([[True], sorted_nodes[1:] != sorted_nodes[:-1]]) if len(order) else np.zeros(0, bool)
    return sorted_times - np.where(first_of_node, 0.0, previous)
