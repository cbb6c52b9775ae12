"""Memory updaters: a GRU or vanilla RNN cell that folds a node's aggregated message into its memory."""

from __future__ import annotations

import torch
from torch import nn


class MemoryUpdater(nn.Module):
    """``(U, message_dim)`` messages and ``(U, memory_dim)`` memories -> ``(U, memory_dim)`` new memories."""

    def __init__(self, kind: str, message_dim: int, memory_dim: int):
        super().__init__()
        if kind == "gru":
            self.cell = nn.GRUCell(input_size=message_dim, hidden_size=memory_dim)
        elif kind == "rnn":
            self.cell = nn.RNNCell(input_size=message_dim, hidden_size=memory_dim)
        else:
            raise ValueError(f"unknown memory updater {kind!r}")

    def forward(self, messages: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        return self.cell(messages, memory)
