"""Embedding modules: temporal graph attention, graph sum, identity and Jodie's time projection.

The graph modules work on a :class:`Neighborhood` sampled once per call, level by level: level 0 are
the query nodes, level ``j + 1`` the ``k`` sampled neighbours of every level-``j`` row (row-major).
All levels are concatenated, so the neighbours of rows ``[0, Q)`` are rows ``[N0, N0 + Q * k)`` and
every layer is one batched call over all the rows it needs, instead of TGN's per-node recursion.
As in TGN, a neighbour's representation is computed at the *query's* time, and padded neighbours
(node 0) are masked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from tgnrank.model.config import ModelConfig
from tgnrank.model.link_predictor import MergeLayer
from tgnrank.model.time_encoding import TimeEncoder


@dataclass(frozen=True)
class Neighborhood:
    """Sampled ``n_hops``-level temporal neighbourhood of ``n_queries`` query nodes.

    ``nodes (N_total,)`` all levels concatenated; ``level_sizes`` the row count of each level
    (``n_hops + 1`` entries). For the rows of levels ``0..n_hops-1`` (``N_inner`` rows):
    ``edge_features (N_inner, k, edge_dim)``, ``edge_deltas (N_inner, k)`` (query time minus
    interaction time) and ``padding (N_inner, k)`` (True where there is no neighbour).
    ``node_ids`` and ``times`` (numpy, ``(N_total,)``) are every row's node and query time, for
    inputs computed on the host (time-aware node features).
    """

    nodes: torch.Tensor
    level_sizes: tuple[int, ...]
    n_neighbors: int
    edge_features: torch.Tensor | None = None
    edge_deltas: torch.Tensor | None = None
    padding: torch.Tensor | None = None
    node_ids: np.ndarray | None = None
    times: np.ndarray | None = None

    @property
    def n_queries(self) -> int:
        return self.level_sizes[0]

    def rows_up_to_level(self, level: int) -> int:
        """Number of rows in levels ``0..level``."""
        return sum(self.level_sizes[: level + 1])


class NodeFeatureEncoder(nn.Module):
    """Raw node features ``(N, feature_dim)`` -> ``(N, embedding_dim)``.

    Used raw when the dimensions match (as TGN), through a learned linear projection when they do not
    (TGN required them to match), and as zeros when there are no features (``feature_dim == 0``).
    With time-aware features, ``feature_dim`` counts the static and the time-aware columns, which
    arrive concatenated.
    """

    def __init__(self, feature_dim: int, embedding_dim: int):
        super().__init__()
        self.embedding_dim = embedding_dim
        self.projection = nn.Linear(feature_dim, embedding_dim) if 0 < feature_dim != embedding_dim else None
        self.feature_dim = feature_dim

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if self.feature_dim == 0:
            return features.new_zeros(features.shape[0], self.embedding_dim)
        return features if self.projection is None else self.projection(features)


@dataclass(frozen=True)
class NeighborSlots:
    """The ``k`` neighbour slots of ``Q`` query rows, for one layer.

    Neighbour representations are rows of ``table (R, d)`` picked by ``rows (Q, k)``, so that a node
    seen in many slots is projected once. ``deltas (Q, k)`` query time minus interaction time,
    ``edge_features (Q, k, e)``, ``padding (Q, k)`` True where there is no neighbour.
    """

    table: torch.Tensor
    rows: torch.Tensor
    deltas: torch.Tensor
    edge_features: torch.Tensor
    padding: torch.Tensor


class TemporalAttention(nn.Module):
    """One TGAT/TGN temporal attention layer (multi-head attention, then a MergeLayer).

    Query ``[h_node, time_encoding(0)]``, keys and values ``[h_neighbour, edge_features,
    time_encoding(delta)]``, as ``torch.nn.MultiheadAttention`` with ``kdim = vdim = d + e + t`` would
    compute them, except that the key/value projection is split by input part: the neighbour part
    is projected once per distinct table row, and padded slots are not projected at all (they are
    masked anyway). A node with no neighbour gets a zero attention output, as in TGN.
    ``h (Q, d)``, ``query_time (Q, t)``, slots of ``Q`` rows -> ``(Q, d)``.
    """

    def __init__(self, embedding_dim: int, edge_dim: int, time_dim: int, n_head: int, dropout: float):
        super().__init__()
        self.query_dim = embedding_dim + time_dim
        self.n_head = n_head
        self.dropout = dropout
        self.parts = (embedding_dim, edge_dim, time_dim)
        key_dim = embedding_dim + edge_dim + time_dim
        self.query = nn.Linear(self.query_dim, self.query_dim)
        # rows [0, query_dim) project keys, rows [query_dim, 2 * query_dim) values
        self.key_value_weight = nn.Parameter(torch.empty(2 * self.query_dim, key_dim))
        self.key_value_bias = nn.Parameter(torch.zeros(2 * self.query_dim))
        self.output = nn.Linear(self.query_dim, self.query_dim)
        keys_weight, values_weight = self.key_value_weight.data.chunk(2)
        for weight in (self.query.weight, keys_weight, values_weight):
            nn.init.xavier_uniform_(weight)
        nn.init.zeros_(self.query.bias)
        nn.init.zeros_(self.output.bias)
        self.merge = MergeLayer(self.query_dim, embedding_dim, embedding_dim, embedding_dim)

    def forward(self, h, query_time, slots: NeighborSlots, encode_time) -> torch.Tensor:
        n_rows, k = slots.padding.shape
        head_dim = self.query_dim // self.n_head
        keys, values = self._keys_and_values(slots, encode_time).view(n_rows, k, 2, self.n_head, head_dim).unbind(2)
        query = self.query(torch.cat([h, query_time], dim=1)).view(n_rows, self.n_head, head_dim)
        scores = torch.einsum("qhd,qkhd->qhk", query, keys) / head_dim**0.5
        no_neighbor = slots.padding.all(dim=1)
        # Rows without any neighbour would softmax over -inf only (NaN): give them zeros instead,
        # their output is zeroed below.
        masked = slots.padding & ~no_neighbor.unsqueeze(1)
        scores = scores.masked_fill(masked.unsqueeze(1), float("-inf"))
        weights = nn.functional.dropout(torch.softmax(scores, dim=-1), self.dropout, self.training)
        attended = torch.einsum("qhk,qkhd->qhd", weights, values).reshape(n_rows, self.query_dim)
        attended = self.output(attended).masked_fill(no_neighbor.unsqueeze(1), 0.0)
        return self.merge(attended, h)

    def _keys_and_values(self, slots: NeighborSlots, encode_time) -> torch.Tensor:
        """``(Q * k, 2 * query_dim)`` keys and values, zero in padded slots."""
        node_dim, edge_dim, _ = self.parts
        weight = self.key_value_weight
        filled = torch.nonzero(~slots.padding.reshape(-1)).squeeze(1)
        node_part = nn.functional.linear(slots.table, weight[:, :node_dim])[slots.rows.reshape(-1)[filled]]
        time_encoding = encode_time(slots.deltas.reshape(-1)[filled])
        time_part = nn.functional.linear(time_encoding, weight[:, node_dim + edge_dim :])
        projected = node_part + time_part + self.key_value_bias
        if edge_dim:
            edge_features = slots.edge_features.reshape(-1, edge_dim)[filled]
            projected = projected + nn.functional.linear(edge_features, weight[:, node_dim : node_dim + edge_dim])
        dense = projected.new_zeros(slots.padding.numel(), 2 * self.query_dim)
        return dense.index_put((filled,), projected)


class GraphSumLayer(nn.Module):
    """TGN's graph-sum layer: ``linear_2([relu(sum_k linear_1([h_nbr, time, edge])), h, time(0)])``.

    Same shapes as :class:`TemporalAttention`. Unlike TGN, padded neighbours are left out of the sum.
    """

    def __init__(self, embedding_dim: int, edge_dim: int, time_dim: int):
        super().__init__()
        self.neighbor_linear = nn.Linear(embedding_dim + time_dim + edge_dim, embedding_dim)
        self.output_linear = nn.Linear(2 * embedding_dim + time_dim, embedding_dim)

    def forward(self, h, query_time, slots: NeighborSlots, encode_time) -> torch.Tensor:
        neighbors = slots.table[slots.rows]
        inputs = torch.cat([neighbors, encode_time(slots.deltas), slots.edge_features], dim=2)
        messages = self.neighbor_linear(inputs).masked_fill(slots.padding.unsqueeze(2), 0.0)
        return self.output_linear(torch.cat([torch.relu(messages.sum(dim=1)), h, query_time], dim=1))


class GraphEmbedding(nn.Module):
    """``n_layer`` stacked neighbourhood layers over ``memory + features`` (or features alone)."""

    def __init__(self, layers: list[nn.Module], time_encoder: TimeEncoder):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.time_encoder = time_encoder

    @property
    def n_hops(self) -> int:
        return len(self.layers)

    def forward(self, features, memory, row_of, neighborhood: Neighborhood, time_diffs=None) -> torch.Tensor:
        """``features``/``memory`` ``(U, d)`` per distinct node (memory may be None), ``row_of (N_total,)``
        the distinct node of every neighbourhood row -> ``(n_queries, d)``."""
        # Before the first layer a row's representation depends on its node only, so it is kept
        # per distinct node; after it, every row has its own.
        table = features if memory is None else features + memory
        n_first, k = neighborhood.n_queries, neighborhood.n_neighbors
        for depth, layer in enumerate(self.layers, start=1):
            rows = neighborhood.rows_up_to_level(self.n_hops - depth)
            slots = NeighborSlots(
                table=table,
                rows=row_of[n_first : n_first + rows * k].reshape(rows, k),
                deltas=neighborhood.edge_deltas[:rows],
                edge_features=neighborhood.edge_features[:rows],
                padding=neighborhood.padding[:rows],
            )
            h = table[row_of[:rows]]
            table = layer(h, self.time_encoder(h.new_zeros(rows)), slots, self.time_encoder)
            row_of = torch.arange(rows, device=table.device)
        return table[row_of[:n_first]]


class IdentityEmbedding(nn.Module):
    """The memory itself (or the node features without memory); same arguments as :class:`GraphEmbedding`."""

    n_hops = 0

    def forward(self, features, memory, row_of, neighborhood: Neighborhood, time_diffs=None) -> torch.Tensor:
        source = features if memory is None else memory
        return source[row_of[: neighborhood.n_queries]]


class TimeProjectionEmbedding(nn.Module):
    """Jodie: ``memory * (1 + w * normalised_time_since_last_update + b)`` with ``w, b ~ N(0, 1)``.

    ``time_diffs (n_queries,)``; other arguments as :class:`GraphEmbedding`.
    """

    n_hops = 0

    def __init__(self, embedding_dim: int):
        super().__init__()
        self.projection = nn.Linear(1, embedding_dim)
        nn.init.normal_(self.projection.weight, 0.0, 1.0)
        nn.init.normal_(self.projection.bias, 0.0, 1.0)

    def forward(self, features, memory, row_of, neighborhood: Neighborhood, time_diffs=None) -> torch.Tensor:
        return memory[row_of[: neighborhood.n_queries]] * (1 + self.projection(time_diffs.unsqueeze(1)))


def build_embedding_module(config: ModelConfig, edge_dim: int, time_encoder: TimeEncoder) -> nn.Module:
    dim = config.embedding_dim
    if config.embedding_module == "graph_attention":
        layers = [
            TemporalAttention(dim, edge_dim, config.time_dim, config.n_head, config.drop_out)
            for _ in range(config.n_layer)
        ]
        return GraphEmbedding(layers, time_encoder)
    if config.embedding_module == "graph_sum":
        layers = [GraphSumLayer(dim, edge_dim, config.time_dim) for _ in range(config.n_layer)]
        return GraphEmbedding(layers, time_encoder)
    if config.embedding_module == "identity":
        return IdentityEmbedding()
    if config.embedding_module == "time":
        return TimeProjectionEmbedding(dim)
    raise ValueError(f"unknown embedding module {config.embedding_module!r}")
