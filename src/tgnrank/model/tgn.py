"""Temporal Graph Network (Rossi et al. 2020) with the batch semantics of the original TGN code.

Per batch of interactions (sources, destinations, times) and their negatives:

1. The memory the batch may use is the memory after every *earlier* batch: with the update at the
   start (default), pending messages stored by earlier batches are applied on the fly to the nodes
   the batch reads; with ``memory_update_at_end`` the stored memory is already up to date.
2. Embeddings come from that memory, the node features and neighbours strictly before each query
   time, so nothing at or after the batch's own interactions is seen.
3. Bookkeeping for the positive interactions only: at the start, the applied pending messages of the
   batch's nodes are committed and this batch's raw messages become pending; at the end, this
   batch's messages update the memory immediately.

Differences from the original code, none of which changes a result on bipartite data:

* only the nodes a batch actually reads get their pending messages applied (TGN applied them to
  every node: same values, much higher cost);
* a node that is both a source and a destination in one batch has all its messages aggregated
  together in chronological order (TGN listed its source-role messages first, and with the update
  at the end applied the two roles as two successive updates);
* time deltas stay floats (TGN truncated them to integers) and last-update times are float64;
* within a ``backprop_every`` window gradients may also flow through committed memory (TGN's
  embedding path read a detached copy); with the default of one batch per step both are the same.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from tgnrank.errors import ConfigError
from tgnrank.model.config import ModelConfig
from tgnrank.model.embedding import GraphEmbedding, Neighborhood, NodeFeatureEncoder, build_embedding_module
from tgnrank.model.link_predictor import LinkPredictor
from tgnrank.model.memory import Memory, MemoryBackup
from tgnrank.model.memory_updater import MemoryUpdater
from tgnrank.model.messages import build_aggregator, build_message_function
from tgnrank.model.model_inputs import as_batch, as_feature_matrix, time_shift_from
from tgnrank.model.node_inputs import distinct_pairs, sample_neighborhood, time_aware_table
from tgnrank.model.time_encoding import TimeEncoder

EMBEDDING_CHUNK = 4096


@dataclass(frozen=True)
class MemoryView:
    """The memory as seen by one batch, for the distinct nodes it reads.

    ``nodes (U,)`` sorted distinct node ids, ``row_of (N,)`` the position in ``nodes`` of every
    node of the call, ``memory (U, memory_dim)`` and ``last_update (U,)`` with pending messages
    applied, ``applied (U,)`` whether a pending message was applied.
    """

    nodes: torch.Tensor
    row_of: torch.Tensor
    memory: torch.Tensor
    last_update: torch.Tensor
    applied: torch.Tensor


class TGN(nn.Module):
    """TGN link predictor; see :class:`ModelConfig` for every option and the dimension rules.

    ``node_features (n_nodes + 1, d_n)`` and ``edge_features (n_events + 1, d_e)`` (row 0 padding)
    stay on ``device`` as non-persistent buffers; ``neighbor_finder`` is a
    :class:`tgnrank.sampling.neighbors.NeighborFinder` (only needed by the graph modules). Inputs of
    the public methods are numpy arrays; outputs are tensors on ``device``.

    ``activity_features`` (optional) is a time-aware provider such as
    :class:`tgnrank.data.activity.ActivityFeatures`: called with ``(node ids (N,), query times (N,))``
    it returns ``(N, dim)`` statistics from the events strictly before each time, which are appended
    to the static ``node_features`` of every row the embedding reads (query nodes and neighbours).

    ``commit_pending_on_read`` (evaluation only, weights fixed): scoring and replaying commit the
    pending messages of every node they read, not only of the nodes that interact. A node's applied
    memory cannot change before it interacts again, so every result is the same, and the memory
    updater runs once per pending message instead of once per batch that reads the node.
    """

    def __init__(
        self,
        config: ModelConfig,
        node_features: np.ndarray,
        edge_features: np.ndarray,
        neighbor_finder,
        device="cpu",
        activity_features=None,
    ):
        super().__init__()
        config.validate()
        self.config = config
        self.device = torch.device(device)
        node_features = as_feature_matrix(node_features, "node_features")
        edge_features = as_feature_matrix(edge_features, "edge_features")
        self.register_buffer("node_features", node_features, persistent=False)
        self.register_buffer("edge_features", edge_features, persistent=False)
        self.n_node_rows = node_features.shape[0]
        edge_dim = edge_features.shape[1]

        self.activity_features = activity_features
        activity_dim = 0 if activity_features is None else activity_features.dim
        self.feature_encoder = NodeFeatureEncoder(node_features.shape[1] + activity_dim, config.embedding_dim)
        self.time_encoder = TimeEncoder(config.time_dim)
        self.embedding = build_embedding_module(config, edge_dim, self.time_encoder)
        self.link_predictor = LinkPredictor(config.embedding_dim)
        self.memory = None
        if config.use_memory:
            raw_message_dim = 2 * config.memory_dim + edge_dim + config.time_dim
            self.message_function = build_message_function(config.message_function, raw_message_dim, config.message_dim)
            self.aggregator = build_aggregator(config.aggregator)
            self.memory_updater = MemoryUpdater(
                config.memory_updater, self.message_function.output_dim, config.memory_dim
            )
            pending_dim = 0 if config.memory_update_at_end else raw_message_dim
            self.memory = Memory(self.n_node_rows, config.memory_dim, pending_dim)
        # Jodie's time-delta normalisation; a buffer so that a reloaded checkpoint keeps its values.
        self.register_buffer("time_shift", torch.tensor(time_shift_from(neighbor_finder), dtype=torch.float64))
        self.neighbor_finder = neighbor_finder
        self.commit_pending_on_read = False
        self.to(self.device)

    # ----------------------------------------------------------------- public API

    def set_neighbor_finder(self, neighbor_finder) -> None:
        self.neighbor_finder = neighbor_finder

    def forward(self, sources, destinations, negatives, timestamps, edge_idxs, n_neighbors):
        return self.compute_edge_logits(sources, destinations, negatives, timestamps, edge_idxs, n_neighbors)

    def compute_edge_logits(self, sources, destinations, negatives, timestamps, edge_idxs, n_neighbors: int):
        """Logits of the positive interactions ``(B,)`` and of the negatives (shaped like ``negatives``,
        ``(B,)`` or ``(B, n_neg)``, each row paired with its positive's source and time); then the
        memory bookkeeping of the positive interactions."""
        sources, destinations, timestamps, edge_idxs = as_batch(sources, destinations, timestamps, edge_idxs)
        negatives = np.asarray(negatives, dtype=np.int64)
        if negatives.shape[:1] != sources.shape:
            raise ValueError(
                f"negatives must have shape (B,) or (B, n_neg) with B={len(sources)}, got {negatives.shape}"
            )
        n_neg = int(np.prod(negatives.shape[1:], dtype=np.int64))
        batch = len(sources)
        nodes = np.concatenate([sources, destinations, negatives.reshape(-1)])
        times = np.concatenate([timestamps, timestamps, np.repeat(timestamps, n_neg)])
        module_output, scored, view = self._embed_distinct(nodes, times, n_neighbors, self.commit_pending_on_read)
        if self.memory is not None:
            self._record_interactions(view, sources, destinations, timestamps, edge_idxs, module_output)
        source_h, destination_h, negative_h = scored[:batch], scored[batch : 2 * batch], scored[2 * batch :]
        positive_logits = self._predict(source_h, destination_h, sources, destinations, timestamps)
        negative_logits = self._predict(source_h.repeat_interleave(n_neg, dim=0), negative_h, np.repeat(sources, n_neg),
                                        negatives.reshape(-1), np.repeat(timestamps, n_neg))
        return positive_logits, negative_logits.reshape(negatives.shape)

    def process_events(self, sources, destinations, timestamps, edge_idxs, n_neighbors: int) -> None:
        """The memory bookkeeping of :meth:`compute_edge_logits` without scoring (to replay history)."""
        if self.memory is None:
            return
        sources, destinations, timestamps, edge_idxs = as_batch(sources, destinations, timestamps, edge_idxs)
        nodes = np.concatenate([sources, destinations])
        times = np.concatenate([timestamps, timestamps])
        if self.config.use_source_embedding_in_message or self.config.use_destination_embedding_in_message:
            module_output, _, view = self._embed(nodes, times, n_neighbors, self.commit_pending_on_read)
        else:
            module_output = None
            distinct, row_of = torch.unique(torch.as_tensor(nodes, device=self.device), return_inverse=True)
            view = self._memory_view(distinct, row_of, self.commit_pending_on_read)
        self._record_interactions(view, sources, destinations, timestamps, edge_idxs, module_output)

    def compute_node_embeddings(
        self, nodes, timestamps, n_neighbors: int, chunk_size: int = EMBEDDING_CHUNK
    ) -> torch.Tensor:
        """Embeddings ``(N, embedding_dim)`` that the link predictor scores, for ``nodes`` at ``timestamps``
        (both ``(N,)``), with pending messages applied but not committed; in chunks of ``chunk_size``."""
        nodes = np.asarray(nodes, dtype=np.int64)
        timestamps = np.broadcast_to(np.asarray(timestamps, dtype=np.float64), nodes.shape)
        parts = [
            self._embed(nodes[start : start + chunk_size], timestamps[start : start + chunk_size], n_neighbors)[1]
            for start in range(0, len(nodes), chunk_size)
        ]
        if not parts:
            return torch.zeros(0, self.config.embedding_dim, device=self.device)
        return torch.cat(parts)

    def reset_memory(self) -> None:
        if self.memory is not None:
            self.memory.reset()

    def detach_memory(self) -> None:
        if self.memory is not None:
            self.memory.detach()

    def backup_memory(self) -> MemoryBackup | None:
        """Copies of memory, last-update times and pending messages (None without memory)."""
        return None if self.memory is None else self.memory.backup()

    def restore_memory(self, backup: MemoryBackup | None) -> None:
        if self.memory is not None:
            self.memory.restore(backup)

    def memory_state_dict(self) -> dict:
        """Plain CPU tensors of the whole memory state (empty without memory), for checkpoints."""
        return {} if self.memory is None else self.memory.state_tensors()

    def load_memory_state_dict(self, state: dict) -> None:
        if self.memory is not None:
            self.memory.load_state_tensors(state)

    def _predict(self, source_h, other_h, sources, others, timestamps) -> torch.Tensor:
        """Logits ``(N,)`` of row-aligned pairs (``PairwiseTGN`` also reads their node ids and times)."""
        return self.link_predictor(source_h, other_h)

    # ----------------------------------------------------------------- embeddings

    def _embed_distinct(self, nodes: np.ndarray, times: np.ndarray, n_neighbors: int, commit: bool = False):
        """:meth:`_embed` of each distinct (node, time) pair once, expanded back to the ``N`` rows
        (the view's ``row_of`` then maps those rows, as for :meth:`_embed`)."""
        pair_nodes, pair_times, pair_of = distinct_pairs(nodes, times)
        module_output, scored, view = self._embed(pair_nodes, pair_times, n_neighbors, commit)
        pair_of = torch.as_tensor(pair_of, device=self.device)
        expand = lambda rows: None if rows is None else rows.index_select(0, pair_of)  # noqa: E731
        if view is not None:
            view = dataclasses.replace(view, row_of=view.row_of.index_select(0, pair_of))
        return expand(module_output), expand(scored), view

    def _embed(self, nodes: np.ndarray, times: np.ndarray, n_neighbors: int, commit: bool = False):
        """Embed ``nodes (N,)`` at ``times (N,)``: returns the embedding module's output ``(N, d)``,
        the embeddings to score ``(N, d)`` (the memory with ``dyrep``) and the :class:`MemoryView`
        (``commit``: see :meth:`_memory_view`)."""
        # With dyrep the memory is scored; the module only matters if messages carry its output.
        config = self.config
        needs_module = (
            not config.dyrep or config.use_source_embedding_in_message or config.use_destination_embedding_in_message
        )
        n_hops = self.embedding.n_hops if needs_module else 0
        neighborhood = self._sample_neighborhood(nodes, times, n_neighbors, n_hops)
        distinct, row_of = torch.unique(neighborhood.nodes, return_inverse=True)
        memory, view, time_diffs = None, None, None
        if self.memory is not None:
            view = self._memory_view(distinct, row_of, commit)
            memory = view.memory
            if self.config.embedding_module == "time":
                query_times = torch.as_tensor(np.array(times), device=self.device)
                since_update = query_times - view.last_update.index_select(0, row_of[: len(nodes)])
                time_diffs = ((since_update - self.time_shift[0]) / self.time_shift[1]).float()
        module_output = None
        if needs_module:
            features, table_memory, table_row_of = self._node_inputs(distinct, row_of, memory, neighborhood)
            module_output = self.embedding(features, table_memory, table_row_of, neighborhood, time_diffs)
        scored = memory.index_select(0, row_of[: len(nodes)]) if self.config.dyrep else module_output
        return module_output, scored, view

    def _node_inputs(self, distinct, row_of, memory, neighborhood: Neighborhood):
        """Encoded node features, memory and the table row of every neighbourhood row.

        Static features alone depend on the node only: one table row per ``distinct`` node. With
        time-aware features a row depends on (node, query time), so the table has one row per
        distinct pair, with that node's memory.
        """
        if self.activity_features is None:
            return self.feature_encoder(self.node_features.index_select(0, distinct)), memory, row_of
        factored = isinstance(self.embedding, GraphEmbedding) and self.feature_encoder.projection is not None
        return time_aware_table(self.feature_encoder, self.node_features, self.activity_features, distinct, memory,
                                neighborhood, factored)

    def _sample_neighborhood(self, nodes: np.ndarray, times: np.ndarray, n_neighbors: int, n_hops: int) -> Neighborhood:
        """One neighbour lookup per level for all rows of that level (see :class:`Neighborhood`)."""
        if n_hops == 0:
            return sample_neighborhood(self.neighbor_finder, nodes, times, n_neighbors, 0, self.edge_features)
        if isinstance(n_neighbors, bool) or int(n_neighbors) != n_neighbors or n_neighbors < 1:
            raise ConfigError(
                f"n_degree must be an integer >= 1 for embedding_module {self.config.embedding_module}, "
                f"got {n_neighbors!r}", parameters=("n_degree", "embedding_module"),
            )
        if self.neighbor_finder is None:
            raise ValueError(
                f"embedding module {self.config.embedding_module!r} needs a neighbour finder; call set_neighbor_finder"
            )
        return sample_neighborhood(self.neighbor_finder, nodes, times, n_neighbors, n_hops, self.edge_features)

    # ----------------------------------------------------------------- memory

    def _memory_view(self, distinct: torch.Tensor, row_of: torch.Tensor, commit: bool = False) -> MemoryView:
        """Memory of the sorted ``distinct (U,)`` nodes after every earlier batch: pending messages
        applied, not committed (with ``commit``: committed, see ``commit_pending_on_read``);
        ``row_of (N,)`` maps the call's rows to them."""
        memory, last_update = self.memory.read(distinct)
        applied = torch.zeros_like(distinct, dtype=torch.bool)
        if not self.config.memory_update_at_end:
            has_pending = self.memory.has_pending.index_select(0, distinct)
            rows = torch.nonzero(has_pending).squeeze(1)
            if len(rows):  # only the pending rows are read, updated and written back
                # Nodes with a memory first: a node's memory is zero until its first message is committed,
                # and the updater multiplies only the memories that are not (see MemoryUpdater.forward_own).
                pending_memory = memory.index_select(0, rows)
                has_memory = pending_memory.any(dim=1)
                order = torch.argsort(~has_memory, stable=True)
                rows = rows.index_select(0, order)
                pending_nodes = distinct.index_select(0, rows)
                _, messages, times = self.memory.pending(pending_nodes)
                updated = self._apply_messages(messages, pending_memory.index_select(0, order[: int(has_memory.sum())]))
                memory = memory.index_put((rows,), updated)
                last_update = last_update.index_put((rows,), times)
                applied = has_pending
                if commit:
                    self.memory.write(pending_nodes, updated, times)
                    self.memory.clear_pending(pending_nodes)
                    applied = torch.zeros_like(has_pending)
        return MemoryView(distinct, row_of, memory, last_update, applied)

    def _record_interactions(
        self, view: MemoryView, sources, destinations, timestamps, edge_idxs, module_output
    ) -> None:
        """Memory bookkeeping of the positive interactions (the first ``2B`` rows of ``view``)."""
        batch = len(sources)
        if batch == 0:
            return
        if not self.config.memory_update_at_end:
            involved = torch.unique(view.row_of[: 2 * batch])
            committed = involved[view.applied[involved]]
            memory = view.memory.index_select(0, committed)
            self.memory.write(view.nodes[committed], memory, view.last_update[committed])
            self.memory.clear_pending(view.nodes[involved])
        node_ids, raw_messages, times = self._raw_messages(sources, destinations, timestamps, edge_idxs, module_output)
        nodes, messages, message_times = self.aggregator(node_ids, raw_messages, times)
        if self.config.memory_update_at_end:
            current, _ = self.memory.read(nodes)
            self.memory.write(nodes, self._apply_messages(messages, current), message_times)
        else:
            self.memory.store_pending(nodes, messages, message_times)

    def _apply_messages(self, raw_messages: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        """The updated memory ``(R, memory_dim)`` of nodes with aggregated raw messages ``(R, raw_dim)``,
        the first ``M <= R`` of which have the memories ``memory (M, memory_dim)`` and the others a zero
        memory. A raw message starts with the node's own memory as it was when the message was made,
        which is its memory now (a node's memory changes only by applying its pending message), so with
        the identity message function the updater reads that block from ``memory``
        (:meth:`MemoryUpdater.forward_own`)."""
        if self.config.message_function == "identity" and not self.config.use_source_embedding_in_message:
            return self.memory_updater.forward_own(raw_messages[:, self.config.memory_dim :], memory)
        memory = torch.cat([memory, memory.new_zeros(len(raw_messages) - len(memory), memory.shape[1])])
        return self.memory_updater(self.message_function(raw_messages), memory)

    def _raw_messages(self, sources, destinations, timestamps, edge_idxs, module_output):
        """Raw messages of both endpoints of every interaction, in chronological order.

        Returns ``node_ids (2B,)``, ``messages (2B, raw_dim)``, ``times (2B,)``; rows alternate
        source, destination of each interaction. A message is ``[own, other, edge_features,
        time_encoding(t - last_update_own)]`` where own/other are memories, or the embedding module's
        output with ``use_source_embedding_in_message`` / ``use_destination_embedding_in_message``.
        """
        batch = len(sources)
        device = self.device
        sources_t = torch.as_tensor(sources, device=device)
        destinations_t = torch.as_tensor(destinations, device=device)
        times_t = torch.as_tensor(timestamps, device=device)
        memory_of = self.memory.memory
        source_memory = memory_of.index_select(0, sources_t)
        destination_memory = memory_of.index_select(0, destinations_t)
        if module_output is not None:  # rows: sources, then destinations, then anything else
            source_h, destination_h = module_output[:batch], module_output[batch : 2 * batch]
        own_source = source_h if self.config.use_source_embedding_in_message else source_memory
        own_destination = destination_h if self.config.use_source_embedding_in_message else destination_memory
        other_source = source_h if self.config.use_destination_embedding_in_message else source_memory
        other_destination = destination_h if self.config.use_destination_embedding_in_message else destination_memory
        edge_features = self.edge_features[torch.as_tensor(edge_idxs, device=device)]
        last_update = self.memory.last_update
        source_time = self.time_encoder((times_t - last_update[sources_t]).float())
        destination_time = self.time_encoder((times_t - last_update[destinations_t]).float())
        source_messages = torch.cat([own_source, other_destination, edge_features, source_time], dim=1)
        destination_messages = torch.cat([own_destination, other_source, edge_features, destination_time], dim=1)
        messages = torch.stack([source_messages, destination_messages], dim=1).reshape(2 * batch, -1)
        node_ids = torch.stack([sources_t, destinations_t], dim=1).reshape(-1)
        return node_ids, messages, times_t.repeat_interleave(2)


def build_model(
    config: ModelConfig,
    node_features: np.ndarray,
    edge_features: np.ndarray,
    neighbor_finder,
    device="cpu",
    activity_features=None,
) -> TGN:
    """A freshly initialised :class:`TGN` on ``device`` (``activity_features``: see :class:`TGN`)."""
    return TGN(config, node_features, edge_features, neighbor_finder, device, activity_features)
