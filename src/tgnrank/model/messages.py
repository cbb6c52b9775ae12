"""Message functions (identity, MLP) and message aggregators (last, mean), as in TGN.

A raw message of node ``i`` for an interaction with ``j`` at time ``t`` is
``[memory_i, memory_j, edge_features, time_encoding(t - last_update_i)]``; the aggregators reduce
all raw messages of a node to one, then the message function maps it to ``message_dim``.
"""

from __future__ import annotations

import torch
from torch import nn


class IdentityMessageFunction(nn.Module):
    """The raw message is the message: ``(M, raw_dim) -> (M, raw_dim)``."""

    def __init__(self, raw_message_dim: int):
        super().__init__()
        self.output_dim = raw_message_dim

    def forward(self, raw_messages: torch.Tensor) -> torch.Tensor:
        return raw_messages


class MLPMessageFunction(nn.Module):
    """Two-layer MLP ``(M, raw_dim) -> (M, message_dim)`` with a hidden layer of ``raw_dim // 2``."""

    def __init__(self, raw_message_dim: int, message_dim: int):
        super().__init__()
        self.output_dim = message_dim
        hidden = max(raw_message_dim // 2, 1)
        self.mlp = nn.Sequential(nn.Linear(raw_message_dim, hidden), nn.ReLU(), nn.Linear(hidden, message_dim))

    def forward(self, raw_messages: torch.Tensor) -> torch.Tensor:
        return self.mlp(raw_messages)


def build_message_function(kind: str, raw_message_dim: int, message_dim: int) -> nn.Module:
    if kind == "identity":
        return IdentityMessageFunction(raw_message_dim)
    if kind == "mlp":
        return MLPMessageFunction(raw_message_dim, message_dim)
    raise ValueError(f"unknown message function {kind!r}")


class LastMessageAggregator(nn.Module):
    """Keep each node's last message.

    Input ``node_ids (M,)``, ``messages (M, D)``, ``times (M,)`` in chronological order; output the
    distinct nodes ``(U,)`` (sorted), their messages ``(U, D)`` and times ``(U,)``.
    """

    def forward(self, node_ids: torch.Tensor, messages: torch.Tensor, times: torch.Tensor):
        nodes, inverse = torch.unique(node_ids, return_inverse=True)
        last_rows = last_row_per_group(inverse, len(nodes))
        return nodes, messages[last_rows], times[last_rows]


class MeanMessageAggregator(nn.Module):
    """Average each node's messages; the time is that of its last message (as TGN).

    Same shapes as :class:`LastMessageAggregator`.
    """

    def forward(self, node_ids: torch.Tensor, messages: torch.Tensor, times: torch.Tensor):
        nodes, inverse = torch.unique(node_ids, return_inverse=True)
        counts = torch.bincount(inverse, minlength=len(nodes)).to(messages.dtype)
        sums = torch.zeros(len(nodes), messages.shape[1], dtype=messages.dtype, device=messages.device)
        sums = sums.index_add(0, inverse, messages)
        return nodes, sums / counts.unsqueeze(1), times[last_row_per_group(inverse, len(nodes))]


def last_row_per_group(group_of_row: torch.Tensor, n_groups: int) -> torch.Tensor:
    """Index of the last row of each group: ``(M,)`` group ids in ``0..n_groups-1`` -> ``(n_groups,)``."""
    rows = torch.arange(len(group_of_row), device=group_of_row.device)
    last = torch.full((n_groups,), -1, dtype=rows.dtype, device=rows.device)
    return last.scatter_reduce(0, group_of_row, rows, reduce="amax")


def build_aggregator(kind: str) -> nn.Module:
    if kind == "last":
        return LastMessageAggregator()
    if kind == "mean":
        return MeanMessageAggregator()
    raise ValueError(f"unknown message aggregator {kind!r}")
