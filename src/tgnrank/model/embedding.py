"""Embedding modules: temporal graph attention, graph sum, identity and Jodie's time projection.

The graph modules work on a :class:`Neighborhood` sampled once per call, level by level: level 0 are
the query nodes, level ``j + 1`` the ``k`` sampled neighbours of every level-``j`` row (row-major).
All levels are concatenated, so the neighbours of rows ``[0, Q)`` are rows ``[N0, N0 + Q * k)`` and
every layer is one batched call over all the rows it needs, instead of TGN's per-node recursion.
As in TGN, a neighbour's representation is computed at the *query's* time, and padded neighbours
(node 0) are masked.
"""

from __future__ import annotations

from collections.abc import Callable
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
class FactoredRows:
    """Table rows ``base[node_of[r]] + extra[r] @ extra_weight.T`` without materialising them.

    ``base (U, d)`` per distinct node, ``node_of (P,)`` the node of every row, ``extra (P, a)`` the
    row's own inputs (time-aware features, ``a`` small) and ``extra_weight (d, a)``. Linear maps of a
    row split the same way, so projecting costs ``U`` rows of ``d`` inputs plus ``P`` rows of ``a``.
    """

    base: torch.Tensor
    node_of: torch.Tensor
    extra: torch.Tensor
    extra_weight: torch.Tensor

    def index_select(self, dim: int, rows: torch.Tensor) -> torch.Tensor:
        """The rows ``rows (R,)``, materialised: ``(R, d)`` (``dim`` must be 0, as for a tensor)."""
        if dim != 0:
            raise ValueError(f"FactoredRows selects rows only (dim 0), got dim {dim}")
        return self.base.index_select(0, self.node_of.index_select(0, rows)) + nn.functional.linear(
            self.extra.index_select(0, rows), self.extra_weight
        )


def row_inputs(table, rows: torch.Tensor) -> tuple[list[torch.Tensor], Callable[[torch.Tensor], torch.Tensor]]:
    """Input columns for the rows ``rows (R,)`` of a ``(P, d)`` tensor or :class:`FactoredRows` (a list of
    ``(R, .)`` blocks, to be concatenated), and the map of a ``(out, d)`` weight to the concatenation's
    width, such that ``cat(inputs, 1) @ expand(weight).T`` equals ``table[rows] @ weight.T``: the rows
    themselves, or a factored row's node part and its own inputs."""
    if not isinstance(table, FactoredRows):
        return [table.index_select(0, rows)], lambda weight: weight
    inputs = [table.base.index_select(0, table.node_of.index_select(0, rows)), table.extra.index_select(0, rows)]
    return inputs, lambda weight: torch.cat([weight, weight @ table.extra_weight], dim=1)


@dataclass(frozen=True)
class NeighborSlots:
    """The ``k`` neighbour slots of ``Q`` query rows, for one layer.

    Neighbour representations are rows of ``table (R, d)`` (a tensor or :class:`FactoredRows`)
    picked by ``rows (Q, k)``, so that a node seen in many slots is computed once. ``deltas (Q, k)``
    query time minus interaction time, ``edge_features (Q, k, e)``, ``padding (Q, k)`` True where
    there is no neighbour.
    """

    table: "torch.Tensor | FactoredRows"
    rows: torch.Tensor
    deltas: torch.Tensor
    edge_features: torch.Tensor
    padding: torch.Tensor


class TemporalAttention(nn.Module):
    """One TGAT/TGN temporal attention layer (multi-head attention, then a MergeLayer).

    Query ``[h_node, time_encoding(0)]``, keys and values ``[h_neighbour, edge_features,
    time_encoding(delta)]``, as ``torch.nn.MultiheadAttention`` with ``kdim = vdim = d + e + t`` would
    compute them, except that no key or value is ever projected: a score is the slot's input dotted
    with the query mapped back through the key weight (per query row, not per slot), and a head's
    output is the value weight applied to the weighted sum of its slots' inputs. The softmax runs over
    each row's filled slots; a node with no neighbour gets a zero attention output, as in TGN.
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
        n_head, head_dim = self.n_head, self.query_dim // self.n_head
        inputs, weight = self._slot_inputs(slots, encode_time)
        key_weight, value_weight = weight.view(2, n_head, head_dim, -1).unbind(0)
        query = self.query(torch.cat([h, query_time], dim=1)).view(n_rows, n_head, head_dim).transpose(0, 1)
        # A score q . (K x + b) is (K^T q) . [x, 1]: K^T q is computed per query row instead of K x per slot.
        query_in_inputs = torch.bmm(query, key_weight).transpose(0, 1).contiguous()  # (Q, heads, inputs)
        scores = HeadScores.apply(inputs, query_in_inputs) / head_dim**0.5  # (Q, k, heads)
        # The softmax runs over each row's filled slots (a padded slot's input is any finite row, with weight 0).
        filled = torch.nonzero(~slots.padding.reshape(-1)).squeeze(1)
        row_of_slot = torch.div(filled, k, rounding_mode="floor")
        scores = scores.reshape(n_rows * k, n_head).index_select(0, filled)
        weights = nn.functional.dropout(segment_softmax(scores, row_of_slot, n_rows), self.dropout, self.training)
        slot_weights = weights.new_zeros(n_rows * k, n_head).index_copy(0, filled, weights)
        # Likewise sum_s w_s (V x_s + b) is V (sum_s w_s [x_s, 1]): the inputs are pooled, then projected.
        pooled = HeadPooling.apply(slot_weights.view(n_rows, k, n_head), inputs)  # (Q, heads, inputs)
        attended = torch.bmm(pooled.transpose(0, 1), value_weight.transpose(1, 2))  # (heads, Q, head_dim)
        attended = attended.transpose(0, 1).reshape(n_rows, self.query_dim)
        # A row without any neighbour attends to nothing: zero output, as in TGN.
        no_neighbor = slots.padding.all(dim=1)
        attended = self.output(attended).masked_fill(no_neighbor.unsqueeze(1), 0.0)
        return self.merge(attended, h)

    def _slot_inputs(self, slots: NeighborSlots, encode_time) -> tuple[torch.Tensor, torch.Tensor]:
        """Every slot's key/value input ``(Q, k, D)`` and the weight ``(2 * query_dim, D)`` that projects
        it to its key and value, bias included: ``[neighbour, edge_features, time_encoding(delta), 1]``,
        the neighbour part as :func:`row_inputs` gives it, the time part encoded once per distinct delta
        (a batch's deltas are differences of few distinct days)."""
        n_rows, k = slots.padding.shape
        node_dim, edge_dim, _ = self.parts
        node_inputs, expand = row_inputs(slots.table, slots.rows.reshape(-1))
        deltas, delta_of_slot = torch.unique(slots.deltas.reshape(-1), return_inverse=True)
        inputs = torch.cat([
            *node_inputs,
            slots.edge_features.reshape(n_rows * k, edge_dim),
            encode_time(deltas).index_select(0, delta_of_slot),
            slots.edge_features.new_ones(n_rows * k, 1),
        ], dim=1)
        weight = self.key_value_weight
        weight = torch.cat([expand(weight[:, :node_dim]), weight[:, node_dim:], self.key_value_bias.unsqueeze(1)], dim=1)
        return inputs.view(n_rows, k, -1), weight


class HeadScores(torch.autograd.Function):
    """Per query row, the dot products of its slots' inputs with its heads' vectors:
    ``inputs (Q, k, D)``, ``vectors (Q, H, D)`` -> ``(Q, k, H)``.

    ``torch.bmm`` computes it, but autograd's backward would contract over the few heads in a batched
    product, which CPU ``bmm`` runs several times slower than the sum of ``H`` broadcast products.
    """

    @staticmethod
    def forward(ctx, inputs: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(inputs, vectors)
        return torch.bmm(inputs, vectors.transpose(1, 2))

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        inputs, vectors = ctx.saved_tensors
        return combine_heads(grad, vectors), torch.bmm(grad.transpose(1, 2), inputs)


class HeadPooling(torch.autograd.Function):
    """Per query row, each head's weighted sum of its slots' inputs: ``weights (Q, k, H)``,
    ``inputs (Q, k, D)`` -> ``(Q, H, D)``; the backward as in :class:`HeadScores`."""

    @staticmethod
    def forward(ctx, weights: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(weights, inputs)
        return torch.bmm(weights.transpose(1, 2), inputs)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        weights, inputs = ctx.saved_tensors
        return torch.bmm(inputs, grad.transpose(1, 2)), combine_heads(weights, grad)


def combine_heads(per_slot: torch.Tensor, per_head: torch.Tensor) -> torch.Tensor:
    """``sum_h per_slot[q, j, h] * per_head[q, h, :]``: ``(Q, k, H)`` and ``(Q, H, D)`` -> ``(Q, k, D)``."""
    combined = per_slot[:, :, :1] * per_head[:, None, 0]
    for head in range(1, per_head.shape[1]):
        combined = combined.addcmul_(per_slot[:, :, head : head + 1], per_head[:, None, head])
    return combined


def segment_softmax(scores: torch.Tensor, segment: torch.Tensor, n_segments: int) -> torch.Tensor:
    """Softmax of ``scores (F, H)`` over the rows of each segment: ``segment (F,)`` ids in ``0..n_segments-1``."""
    index = segment.unsqueeze(1).expand_as(scores)
    # The maximum only keeps exp() in range; softmax does not depend on it, so it needs no gradient.
    maxima = scores.new_full((n_segments, scores.shape[1]), float("-inf"))
    maxima = maxima.scatter_reduce(0, index, scores.detach(), reduce="amax")
    exponentials = torch.exp(scores - maxima.index_select(0, segment))
    sums = exponentials.new_zeros(n_segments, scores.shape[1]).index_add(0, segment, exponentials)
    return exponentials / sums.index_select(0, segment)


class GraphSumLayer(nn.Module):
    """TGN's graph-sum layer: ``linear_2([relu(sum_k linear_1([h_nbr, time, edge])), h, time(0)])``.

    Same shapes as :class:`TemporalAttention`. Unlike TGN, padded neighbours are left out of the sum.
    """

    def __init__(self, embedding_dim: int, edge_dim: int, time_dim: int):
        super().__init__()
        self.neighbor_linear = nn.Linear(embedding_dim + time_dim + edge_dim, embedding_dim)
        self.output_linear = nn.Linear(2 * embedding_dim + time_dim, embedding_dim)

    def forward(self, h, query_time, slots: NeighborSlots, encode_time) -> torch.Tensor:
        neighbors = slots.table.index_select(0, slots.rows.reshape(-1)).view(*slots.rows.shape, -1)
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
        """``features``/``memory`` ``(U, d)`` per table row (memory may be None; features may be
        :class:`FactoredRows`, memory included), ``row_of (N_total,)`` the table row of every
        neighbourhood row -> ``(n_queries, d)``."""
        # Before the first layer a row's representation depends on its node (and, with time-aware
        # features, its time) only, so it is kept per table row; after it, every row has its own.
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
            h = table.index_select(0, row_of[:rows])
            table = layer(h, self.time_encoder(h.new_zeros(rows)), slots, self.time_encoder)
            row_of = torch.arange(rows, device=table.device)
        return table.index_select(0, row_of[:n_first])


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
