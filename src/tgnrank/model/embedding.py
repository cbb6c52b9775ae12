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
    """

    nodes: torch.Tensor
    level_sizes: tuple[int, ...]
    n_neighbors: int
    edge_features: torch.Tensor | None = None
    edge_deltas: torch.Tensor | None = None
    padding: torch.Tensor | None = None

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


class TemporalAttention(nn.Module):
    """One TGAT/TGN attention layer over a node's temporal neighbours.

    Query ``[h_node, time_encoding(0)]``, keys and values ``[h_neighbour, edge_features,
    time_encoding(delta)]``; the attention output and ``h_node`` go through a MergeLayer.
    Shapes: ``h (Q, d)``, ``neighbors (Q, k, d)``, ``edge_features (Q, k, e)``, ``edge_time (Q, k, t)``,
    ``query_time (Q, t)``, ``padding (Q, k)`` -> ``(Q, d)``. A node with no neighbour gets a zero
    attention output (TGN attends to one padded neighbour then zeroes the result).
    """

    def __init__(self, embedding_dim: int, edge_dim: int, time_dim: int, n_head: int, dropout: float):
        super().__init__()
        query_dim = embedding_dim + time_dim
        key_dim = embedding_dim + edge_dim + time_dim
        self.attention = nn.MultiheadAttention(
            query_dim, n_head, dropout=dropout, kdim=key_dim, vdim=key_dim, batch_first=True
        )
        self.merge = MergeLayer(query_dim, embedding_dim, embedding_dim, embedding_dim)

    def forward(self, h, query_time, neighbors, edge_time, edge_features, padding) -> torch.Tensor:
        query = torch.cat([h, query_time], dim=1).unsqueeze(1)
        keys = torch.cat([neighbors, edge_features, edge_time], dim=2)
        no_neighbor = padding.all(dim=1)
        # An all-masked row would give NaN; unmask one padded key, then zero the output below.
        padding = padding & ~(no_neighbor.unsqueeze(1) & (torch.arange(padding.shape[1], device=padding.device) == 0))
        attended, _ = self.attention(query, keys, keys, key_padding_mask=padding, need_weights=False)
        attended = attended.squeeze(1).masked_fill(no_neighbor.unsqueeze(1), 0.0)
        return self.merge(attended, h)


class GraphSumLayer(nn.Module):
    """TGN's graph-sum layer: ``linear_2([relu(sum_k linear_1([h_nbr, time, edge])), h, time(0)])``.

    Same shapes as :class:`TemporalAttention`. Unlike TGN, padded neighbours are left out of the sum.
    """

    def __init__(self, embedding_dim: int, edge_dim: int, time_dim: int):
        super().__init__()
        self.neighbor_linear = nn.Linear(embedding_dim + time_dim + edge_dim, embedding_dim)
        self.output_linear = nn.Linear(2 * embedding_dim + time_dim, embedding_dim)

    def forward(self, h, query_time, neighbors, edge_time, edge_features, padding) -> torch.Tensor:
        messages = self.neighbor_linear(torch.cat([neighbors, edge_time, edge_features], dim=2))
        summed = torch.relu(messages.masked_fill(padding.unsqueeze(2), 0.0).sum(dim=1))
        return self.output_linear(torch.cat([summed, h, query_time], dim=1))


class GraphEmbedding(nn.Module):
    """``n_layer`` stacked neighbourhood layers over ``memory + features`` (or features alone)."""

    def __init__(self, layers: list[nn.Module], time_encoder: TimeEncoder):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.time_encoder = time_encoder

    @property
    def n_hops(self) -> int:
        return len(self.layers)

    def forward(self, features, memory, neighborhood: Neighborhood, time_diffs=None) -> torch.Tensor:
        """``features``/``memory`` ``(N_total, d)`` (memory may be None) -> ``(n_queries, d)``."""
        h = features if memory is None else features + memory
        n_first, k = neighborhood.n_queries, neighborhood.n_neighbors
        for depth, layer in enumerate(self.layers, start=1):
            rows = neighborhood.rows_up_to_level(self.n_hops - depth)
            neighbors = h[n_first : n_first + rows * k].reshape(rows, k, -1)
            query_time = self.time_encoder(h.new_zeros(rows))
            edge_time = self.time_encoder(neighborhood.edge_deltas[:rows])
            h = layer(
                h[:rows], query_time, neighbors, edge_time, neighborhood.edge_features[:rows], neighborhood.padding[:rows]
            )
        return h


class IdentityEmbedding(nn.Module):
    """The memory itself (or the node features without memory): ``(N_total, d) -> (n_queries, d)``."""

    n_hops = 0

    def forward(self, features, memory, neighborhood: Neighborhood, time_diffs=None) -> torch.Tensor:
        source = features if memory is None else memory
        return source[: neighborhood.n_queries]


class TimeProjectionEmbedding(nn.Module):
    """Jodie: ``memory * (1 + w * normalised_time_since_last_update + b)`` with ``w, b ~ N(0, 1)``."""

    n_hops = 0

    def __init__(self, embedding_dim: int):
        super().__init__()
        self.projection = nn.Linear(1, embedding_dim)
        nn.init.normal_(self.projection.weight, 0.0, 1.0)
        nn.init.normal_(self.projection.bias, 0.0, 1.0)

    def forward(self, features, memory, neighborhood: Neighborhood, time_diffs=None) -> torch.Tensor:
        n = neighborhood.n_queries
        return memory[:n] * (1 + self.projection(time_diffs.unsqueeze(1)))


def build_embedding_module(config: ModelConfig, edge_dim: int, time_encoder: TimeEncoder) -> nn.Module:
    dim = config.embedding_dim
    if config.embedding_module == "graph_attention":
        layers = [
            TemporalAttention(dim, edge_dim, config.time_dim, config.n_head, config.drop_out)
            for _ in range(config.n_layer)
        ]
        return GraphEmbedding(layers, time_encoder)
    if config.embedding_module == "graph_sum":
        return GraphEmbedding([GraphSumLayer(dim, edge_dim, config.time_dim) for _ in range(config.n_layer)], time_encoder)
    if config.embedding_module == "identity":
        return IdentityEmbedding()
    if config.embedding_module == "time":
        return TimeProjectionEmbedding(dim)
    raise ValueError(f"unknown embedding module {config.embedding_module!r}")
