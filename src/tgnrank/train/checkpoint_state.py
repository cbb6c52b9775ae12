"""Compact, exact storage of a checkpoint's memory state (format version 3).

The dense state (:meth:`tgnrank.model.memory.Memory.state_tensors`) holds, per node row, the memory
``(n_rows, memory_dim)`` and one pending raw message ``(n_rows, raw_message_dim)``; with the defaults the
messages are three quarters of a checkpoint. Most of that is redundant:

* rows of nodes that never interacted are zero (their memory) or have no message;
* a raw message is ``[memory_i, memory_j, edge_features, time_encoding]`` and, with the last-message
  aggregator, ``memory_i`` is the node's own memory bit for bit and ``memory_j`` often the partner's
  current memory; edge features and time encodings repeat across the syndicate of a round.

So the encoded state keeps only the non-zero rows, and stores each column block of the messages as an
index into a table: the memory rows (for the two memory blocks) followed by the block's distinct rows
that are not memory rows. Rows are compared by their bits, so decoding gives back every tensor exactly
(``-0.0``, NaN included), whatever the aggregator; a block that shares nothing only pays its index.
Keys other than the memory's (a pairwise model's ``walks.*``) pass through unchanged.
"""

from __future__ import annotations

import torch

ENCODING = "tgnrank-sparse-memory-1"
MEMORY_KEYS = ("memory", "last_update", "pending_messages", "pending_times", "has_pending")
HASHED_WORDS = 64
_BITS = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}


def message_blocks(config_entry: dict, pending_dim: int) -> list[tuple[int, bool]]:
    """Column blocks ``[(width, holds memory rows), ...]`` of a raw message, from a checkpoint's config.

    TGN's raw message is ``[memory_i (memory_dim), memory_j (memory_dim), edge features, time encoding
    (time_dim)]``; when the stored sizes do not add up to ``pending_dim`` the message is one block.
    """
    try:
        memory_dim, edge_dim, time_dim = (
            int(config_entry[key]) for key in ("memory_dim", "n_edge_features", "time_dim")
        )
    except (KeyError, TypeError, ValueError):
        return [(pending_dim, False)] if pending_dim else []
    if 2 * memory_dim + edge_dim + time_dim != pending_dim:
        return [(pending_dim, False)] if pending_dim else []
    blocks = [(memory_dim, True), (memory_dim, True), (edge_dim, False), (time_dim, False)]
    return [block for block in blocks if block[0] > 0]


def is_encoded(state) -> bool:
    return isinstance(state, dict) and "encoding" in state


def encode_memory_state(state: dict | None, blocks: list[tuple[int, bool]]) -> dict | None:
    """The compact form of a dense memory state (returned as is when it holds no node memory).

    ``blocks`` (see :func:`message_blocks`) must cover the ``pending_messages`` columns exactly.
    """
    if not state or any(key not in state for key in MEMORY_KEYS):
        return state
    memory, pending = state["memory"], state["pending_messages"]
    if sum(width for width, _ in blocks) != pending.shape[1]:
        raise ValueError(f"message blocks {blocks} do not cover the {pending.shape[1]} message columns")
    memory_rows = _nonzero_rows(memory, state["last_update"])
    pending_rows = _nonzero_rows(pending, state["pending_times"], state["has_pending"])
    encoded_blocks, first = [], 0
    for width, holds_memory in blocks:
        part = pending[pending_rows, first:first + width]
        reference = memory if holds_memory else memory.new_zeros((0, width))
        distinct, index = encode_rows(part, reference)
        encoded_blocks.append({"width": width, "holds_memory": holds_memory, "distinct": distinct, "index": index})
        first += width
    return {
        **{key: value for key, value in state.items() if key not in MEMORY_KEYS},
        "encoding": ENCODING,
        "n_rows": int(memory.shape[0]),
        "memory_dim": int(memory.shape[1]),
        "memory_rows": memory_rows,
        "memory_values": memory[memory_rows.long()].clone(),
        "last_update_values": state["last_update"][memory_rows.long()].clone(),
        "pending_dim": int(pending.shape[1]),
        "pending_dtype_probe": pending.new_zeros(0),
        "pending_rows": pending_rows,
        "pending_times_values": state["pending_times"][pending_rows.long()].clone(),
        "has_pending_values": state["has_pending"][pending_rows.long()].clone(),
        "pending_blocks": encoded_blocks,
    }


def decode_memory_state(state: dict | None) -> dict | None:
    """The dense memory state of an encoded one (a dense state is returned as is).

    Raises ValueError for an unknown encoding or inconsistent parts.
    """
    if not is_encoded(state):
        return state
    if state["encoding"] != ENCODING:
        raise ValueError(f"unknown memory state encoding {state['encoding']!r}; this tgnrank reads {ENCODING!r}")
    n_rows, memory_rows, pending_rows = state["n_rows"], state["memory_rows"].long(), state["pending_rows"].long()
    values = state["memory_values"]
    memory = values.new_zeros((n_rows, state["memory_dim"]))
    memory[memory_rows] = values
    last_update = state["last_update_values"].new_zeros(n_rows)
    last_update[memory_rows] = state["last_update_values"]
    pending = state["pending_dtype_probe"].new_zeros((n_rows, state["pending_dim"]))
    parts = [decode_rows(block["distinct"], block["index"], memory if block["holds_memory"] else None)
             for block in state["pending_blocks"]]
    if parts:
        pending[pending_rows] = torch.cat(parts, dim=1)
    pending_times = state["pending_times_values"].new_zeros(n_rows)
    pending_times[pending_rows] = state["pending_times_values"]
    has_pending = state["has_pending_values"].new_zeros(n_rows)
    has_pending[pending_rows] = state["has_pending_values"]
    dense = dict(memory=memory, last_update=last_update, pending_messages=pending,
                 pending_times=pending_times, has_pending=has_pending)
    passed = {key: value for key, value in state.items() if key not in _ENCODED_KEYS}
    return {**dense, **passed}


def encode_rows(rows: torch.Tensor, reference: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``rows (P, w)`` as ``(distinct (E, w), index (P,) int32)`` with ``rows == cat(reference, distinct)[index]``.

    A row equal (bit for bit) to a row of ``reference (R, w)`` points to the first such row; the others
    point past ``R`` into ``distinct``, which holds each of them once, in order of first appearance.
    """
    n_reference = len(reference)
    if len(rows) == 0:
        return rows.clone(), torch.zeros(0, dtype=torch.int32)
    combined = torch.cat([reference, rows])
    first_row, group = _group_equal_rows(combined)
    in_reference = first_row < n_reference
    row_group = group[n_reference:]
    found = in_reference[row_group]
    # Rows outside the reference: each group's first row (a position in ``rows``) becomes one distinct row.
    new_groups, new_index = torch.unique(row_group[~found], return_inverse=True)
    order = torch.argsort(first_row[new_groups])
    rank = torch.empty_like(order)
    rank[order] = torch.arange(len(order))
    index = torch.empty(len(rows), dtype=torch.int64)
    index[found] = first_row[row_group[found]]
    index[~found] = n_reference + rank[new_index]
    distinct = combined[first_row[new_groups[order]]]
    return distinct, index.to(torch.int32)


def decode_rows(distinct: torch.Tensor, index: torch.Tensor, reference: torch.Tensor | None) -> torch.Tensor:
    """Inverse of :func:`encode_rows`: ``(P, w)``."""
    table = distinct if reference is None else torch.cat([reference, distinct])
    return table[index.long()]


def state_bytes(state) -> dict[str, int]:
    """Bytes of the tensors under each top-level key of ``state`` (nested lists and dicts summed)."""
    return {key: _tensor_bytes(value) for key, value in (state or {}).items()}


_ENCODED_KEYS = frozenset(
    ("encoding", "n_rows", "memory_dim", "memory_rows", "memory_values", "last_update_values", "pending_dim",
     "pending_dtype_probe", "pending_rows", "pending_times_values", "has_pending_values", "pending_blocks")
)


def _tensor_bytes(value) -> int:
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, dict):
        return sum(_tensor_bytes(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_tensor_bytes(item) for item in value)
    return 0


def _bits(values: torch.Tensor) -> torch.Tensor:
    """The same elements reinterpreted as integers of their size, so equality is bitwise."""
    if values.dtype == torch.bool:
        return values.to(torch.uint8)
    return values.contiguous().view(_BITS[values.element_size()])


def _group_equal_rows(matrix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Groups of bitwise-equal rows of ``matrix (N, w)``: ``(first row of each group (G,), group of each row (N,))``.

    Rows are grouped by a hash of up to ``HASHED_WORDS`` of their words (a sort of N integers rather than
    of N rows), then every row is checked against its group's first row; only if two different rows
    shared a hash are the rows sorted whole.
    """
    words = _words(matrix)
    columns = torch.unique(torch.linspace(0, words.shape[1] - 1, HASHED_WORDS).round().long())
    hashed = words[:, columns].long() & 0xFFFFFFFF
    _, group = torch.unique((hashed * _hash_coefficients(len(columns))).sum(dim=1), return_inverse=True)
    first_row = _first_of_groups(group)
    if not _rows_equal(words, first_row[group]):
        _, group = torch.unique(words, dim=0, return_inverse=True)
        first_row = _first_of_groups(group)
    return first_row, group


def _words(matrix: torch.Tensor) -> torch.Tensor:
    """``(N, w)`` elements as integer words (``(N, w * size / 4)`` int32, or int16 for 1- and 2-byte elements)."""
    bits = _bits(matrix)
    if bits.element_size() >= 4:
        return bits.contiguous().view(torch.int32)
    return bits.to(torch.int16)


def _rows_equal(words: torch.Tensor, other_rows: torch.Tensor, chunk: int = 1 << 16) -> bool:
    """Whether each row ``k`` of ``words`` equals row ``other_rows[k]``, a chunk of rows at a time
    (so the check needs no second copy of the matrix)."""
    return all(
        torch.equal(words[first:first + chunk], words[other_rows[first:first + chunk]])
        for first in range(0, len(words), chunk)
    )


def _hash_coefficients(n_words: int) -> torch.Tensor:
    # Below 2**20 so that a sum of HASHED_WORDS words of 32 bits stays inside int64.
    generator = torch.Generator().manual_seed(n_words)
    return torch.randint(1, 1 << 20, (n_words,), generator=generator, dtype=torch.int64)


def _first_of_groups(group: torch.Tensor) -> torch.Tensor:
    n_groups = int(group.max()) + 1 if len(group) else 0
    first = torch.full((n_groups,), len(group), dtype=torch.int64)
    return first.scatter_reduce(0, group, torch.arange(len(group)), reduce="amin", include_self=True)


def _nonzero_rows(matrix: torch.Tensor, *columns: torch.Tensor) -> torch.Tensor:
    """Rows ``(R,) int32`` where ``matrix (n, d)`` or any of the ``(n,)`` ``columns`` has a non-zero bit."""
    used = _bits(matrix).ne(0).any(dim=1) if matrix.shape[1] else torch.zeros(len(matrix), dtype=torch.bool)
    for column in columns:
        used |= _bits(column).ne(0)
    return torch.nonzero(used).flatten().to(torch.int32)
