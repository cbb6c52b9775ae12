"""Per-node memory state: the memory vectors, their last-update times and the pending messages.

With the memory updated at the start of a batch (TGN's default), a batch stores the raw messages of
its interactions and the *next* batch that involves the node applies them. A node's pending messages
always come from the last batch it took part in (they are replaced whenever it interacts again), and
TGN aggregates raw messages before the message function, so one aggregated raw message per node is
all that has to be stored: dense ``(n_rows, raw_message_dim)`` slots, no per-node lists.

Everything here is a non-persistent buffer: it follows ``.to(device)`` but stays out of the model's
``state_dict``; checkpoints take it from :meth:`Memory.state_tensors`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from tgnrank.model.state_tensors import load_checked_state

STATE_KEYS = ("memory", "last_update", "pending_messages", "pending_times", "has_pending")


@dataclass(frozen=True)
class MemoryBackup:
    """Detached copies of every memory tensor (see :meth:`Memory.backup`)."""

    tensors: dict


class Memory(nn.Module):
    """Memory of ``n_rows`` nodes (row 0 is the padding node and never receives messages).

    ``memory (n_rows, memory_dim)``, ``last_update (n_rows,)`` float64, and, when
    ``raw_message_dim > 0``, ``pending_messages (n_rows, raw_message_dim)``, ``pending_times (n_rows,)``
    float64 and ``has_pending (n_rows,)`` bool.
    """

    def __init__(self, n_rows: int, memory_dim: int, raw_message_dim: int = 0):
        super().__init__()
        self.n_rows = n_rows
        self.memory_dim = memory_dim
        self.raw_message_dim = raw_message_dim
        self.register_buffer("memory", torch.zeros(n_rows, memory_dim), persistent=False)
        self.register_buffer("last_update", torch.zeros(n_rows, dtype=torch.float64), persistent=False)
        self.register_buffer("pending_messages", torch.zeros(n_rows, raw_message_dim), persistent=False)
        self.register_buffer("pending_times", torch.zeros(n_rows, dtype=torch.float64), persistent=False)
        self.register_buffer("has_pending", torch.zeros(n_rows, dtype=torch.bool), persistent=False)

    def reset(self) -> None:
        """Zero memory, zero last-update times, no pending messages (start of an epoch)."""
        for key in STATE_KEYS:
            setattr(self, key, torch.zeros_like(getattr(self, key)))

    def detach(self) -> None:
        """Cut the autograd history so the next backward pass stops here."""
        self.memory = self.memory.detach()
        self.pending_messages = self.pending_messages.detach()

    def read(self, nodes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(N,)`` node ids -> memory ``(N, memory_dim)`` and last-update times ``(N,)``."""
        return self.memory.index_select(0, nodes), self.last_update.index_select(0, nodes)

    def write(self, nodes: torch.Tensor, values: torch.Tensor, times: torch.Tensor) -> None:
        """Set the memory of distinct ``nodes (U,)`` to ``values (U, memory_dim)`` as of ``times (U,)``."""
        # In place: nothing saves the whole tensor for backward (reads are index copies), and a
        # copy of the full memory per batch would dominate the cost of small batches.
        self.memory[nodes] = values
        self.last_update[nodes] = times.to(self.last_update.dtype)

    def pending(self, nodes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Pending state of ``nodes (N,)``: whether each has a message ``(N,)``, messages, times."""
        return (self.has_pending.index_select(0, nodes), self.pending_messages.index_select(0, nodes),
                self.pending_times.index_select(0, nodes))

    def store_pending(self, nodes: torch.Tensor, messages: torch.Tensor, times: torch.Tensor) -> None:
        """Replace the pending message of distinct ``nodes (U,)`` with ``messages (U, D)`` at ``times (U,)``."""
        self.pending_messages[nodes] = messages
        self.pending_times[nodes] = times.to(self.pending_times.dtype)
        self.has_pending[nodes] = True

    def clear_pending(self, nodes: torch.Tensor) -> None:
        self.has_pending[nodes] = False

    def backup(self) -> MemoryBackup:
        return MemoryBackup({key: getattr(self, key).detach().clone() for key in STATE_KEYS})

    def restore(self, backup: MemoryBackup) -> None:
        for key in STATE_KEYS:
            setattr(self, key, backup.tensors[key].clone())

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """Detached CPU copies of the whole state, for checkpoints."""
        return {key: getattr(self, key).detach().cpu().clone() for key in STATE_KEYS}

    def load_state_tensors(self, state: dict) -> None:
        """Inverse of :meth:`state_tensors`; shapes must match this memory."""
        load_checked_state(self, state, STATE_KEYS, "memory state", "memory_dim")
