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

    def forward_own(self, rest_of_messages: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        """``forward(cat([memory, rest_of_messages], 1), memory)`` for messages that start with the node's
        own memory (TGN's raw messages with the identity message function), where ``memory (M, d)`` gives
        the memories of the first ``M`` of the ``R`` rows of ``rest_of_messages`` and the other rows have
        a zero memory (a node's memory is zero until its first message is committed: a third to a half
        of the rows in training); only the ``M`` memories are multiplied.

        The own-memory block of the input weights and the hidden weights multiply the same vector, so
        where the cell adds their products (every gate of the RNN, the reset and update gates of the
        GRU) their sum multiplies it once: a fifth fewer multiply-adds for the GRU, half for the RNN.
        Equal to :meth:`forward` up to float32 rounding.
        """
        cell, size, n_with = self.cell, self.cell.hidden_size, len(memory)
        own_weight, rest_weight = cell.weight_ih.split([size, cell.input_size - size], dim=1)
        if isinstance(cell, nn.RNNCell):
            from_rest = torch.addmm(cell.bias_ih + cell.bias_hh, rest_of_messages, rest_weight.T)
            with_memory = torch.addmm(from_rest[:n_with], memory, (own_weight + cell.weight_hh).T)
            activation = torch.tanh if cell.nonlinearity == "tanh" else torch.relu
            return activation(torch.cat([with_memory, from_rest[n_with:]]))
        gates = 2 * size  # reset and update; the new gate keeps the hidden part apart (the reset gate scales it)
        memory_weight = torch.cat([own_weight[:gates] + cell.weight_hh[:gates], own_weight[gates:]])
        input_bias = torch.cat([cell.bias_ih[:gates] + cell.bias_hh[:gates], cell.bias_ih[gates:]])
        hidden_bias = cell.bias_hh[gates:]
        from_rest = torch.addmm(input_bias, rest_of_messages, rest_weight.T)
        with_memory = _gru_gates(torch.addmm(from_rest[:n_with], memory, memory_weight.T),
                                 torch.addmm(hidden_bias, memory, cell.weight_hh[gates:].T), memory)
        without_memory = _gru_gates(from_rest[n_with:], hidden_bias, None)
        return torch.cat([with_memory, without_memory])


def _gru_gates(inputs: torch.Tensor, hidden_new: torch.Tensor, memory: torch.Tensor | None) -> torch.Tensor:
    """The GRU's new memory from its gates' input sums ``(R, 3d)`` (reset, update, new) and the hidden part
    of the new gate ``(R, d)`` (or ``(d,)``); ``memory`` None is a zero memory."""
    size = inputs.shape[1] // 3
    gate_inputs, new_inputs = inputs.split([2 * size, size], dim=1)  # a split's backward is one concatenation
    reset, update = torch.sigmoid(gate_inputs).chunk(2, dim=1)
    new = torch.tanh(new_inputs + reset * hidden_new)
    return new - update * new if memory is None else new + update * (memory - new)
