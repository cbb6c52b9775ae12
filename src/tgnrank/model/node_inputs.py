"""What one embedding call reads: its distinct (node, time) queries, their sampled neighbourhood and
the table of node representations the first layer starts from.

An embedding depends on (node, query time) only, so a batch embeds each distinct pair once (a
syndicate's company appears once per investor of the round, at one time). With time-aware node
features a table row depends on (node, time) too; the first layer only ever applies linear maps to
it, so :func:`time_aware_table` keeps the per-node part (static features and memory) per distinct
node and the per-pair part as the raw time-aware features (a few columns), see
:class:`tgnrank.model.embedding.FactoredRows`.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from tgnrank.model.embedding import FactoredRows, Neighborhood


def distinct_pairs(nodes: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct ``(node, time)`` pairs of ``nodes (N,)`` int and ``times (N,)`` float, sorted by node then
    time (as ``np.unique(np.stack([nodes, times]), axis=1)``): returns their nodes ``(P,)``, times
    ``(P,)`` and the pair of every input ``(N,)``."""
    nodes = np.asarray(nodes, dtype=np.int64)
    times = np.asarray(times, dtype=np.float64)
    if len(nodes) == 0:
        return nodes.copy(), times.copy(), np.zeros(0, dtype=np.int64)
    # One integer key per pair (node major, time rank minor): a 1-d unique instead of a row-wise one.
    time_values, time_rank = np.unique(times, return_inverse=True)
    stride = np.int64(len(time_values))
    keys, pair_of = np.unique(nodes * stride + time_rank.reshape(-1), return_inverse=True)
    return keys // stride, time_values[keys % stride], pair_of.reshape(-1).astype(np.int64)


def sample_neighborhood(neighbor_finder, nodes: np.ndarray, times: np.ndarray, n_neighbors: int, n_hops: int,
                        edge_features: torch.Tensor) -> Neighborhood:
    """One neighbour lookup per level for all rows of that level (see :class:`Neighborhood`);
    ``edge_features (n_events + 1, e)`` gives the slots' edge features, on its device."""
    device = edge_features.device
    if n_hops == 0:
        return Neighborhood(torch.as_tensor(nodes, device=device), (len(nodes),), 0, node_ids=nodes, times=times)
    level_nodes, level_times = [nodes], [times]
    edge_idxs, edge_deltas = [], []
    for _ in range(n_hops):
        neighbors, edges, edge_times = neighbor_finder.get_temporal_neighbor(level_nodes[-1], level_times[-1],
                                                                             n_neighbors)
        edge_idxs.append(edges)
        edge_deltas.append(level_times[-1][:, None] - edge_times)
        level_nodes.append(neighbors.reshape(-1))
        level_times.append(np.repeat(level_times[-1], n_neighbors))
    all_nodes = torch.as_tensor(np.concatenate(level_nodes), device=device)
    inner_edges = torch.as_tensor(np.concatenate(edge_idxs), device=device)
    n_inner = inner_edges.shape[0]
    return Neighborhood(
        nodes=all_nodes,
        level_sizes=tuple(len(level) for level in level_nodes),
        n_neighbors=n_neighbors,
        edge_features=edge_features.index_select(0, inner_edges.reshape(-1)).view(*inner_edges.shape, -1),
        edge_deltas=torch.as_tensor(np.concatenate(edge_deltas), dtype=torch.float32, device=device),
        padding=all_nodes[len(nodes) : len(nodes) + n_inner * n_neighbors].reshape(n_inner, n_neighbors) == 0,
        node_ids=np.concatenate(level_nodes),
        times=np.concatenate(level_times),
    )


def time_aware_table(encoder, node_features: torch.Tensor, activity_features, distinct: torch.Tensor, memory,
                     neighborhood: Neighborhood, factored: bool):
    """The first layer's table with time-aware features: one row per distinct (node, query time) pair.

    ``encoder`` is the model's :class:`~tgnrank.model.embedding.NodeFeatureEncoder` over the static
    then the time-aware columns, ``distinct (U,)`` the sorted distinct nodes of ``neighborhood`` and
    ``memory (U, d)`` theirs (or None). Returns ``(features, memory, row_of)`` as the embedding module
    takes them: with ``factored`` (a graph module and a projecting encoder) a :class:`FactoredRows`
    holding the memory too, and None; else dense ``(P, d)`` features and memory. ``row_of (N_total,)``
    is the pair of every neighbourhood row.
    """
    device = distinct.device
    pair_nodes, pair_times, pair_of_row = distinct_pairs(neighborhood.node_ids, neighborhood.times)
    activity = torch.as_tensor(activity_features(pair_nodes, pair_times), device=device)
    pair_nodes_t = torch.as_tensor(pair_nodes, device=device)
    pair_of_row = torch.as_tensor(pair_of_row, device=device)
    node_of_pair = torch.searchsorted(distinct, pair_nodes_t)
    if factored:
        n_static = node_features.shape[1]
        weight, bias = encoder.projection.weight, encoder.projection.bias
        base = nn.functional.linear(node_features.index_select(0, distinct), weight[:, :n_static], bias)
        base = base if memory is None else base + memory
        return FactoredRows(base, node_of_pair, activity, weight[:, n_static:]), None, pair_of_row
    features = encoder(torch.cat([node_features.index_select(0, pair_nodes_t), activity], dim=1))
    if memory is not None:
        memory = memory.index_select(0, node_of_pair)
    return features, memory, pair_of_row
