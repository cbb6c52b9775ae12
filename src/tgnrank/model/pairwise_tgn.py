"""TGN whose link predictor also reads the pair's temporal walk encoding (``--link_predictor pairwise``).

Everything of :class:`~tgnrank.model.tgn.TGN` is kept; in addition the model holds
:class:`~tgnrank.model.walks.TemporalWalks`, which follows the memory's life cycle: a batch's pairs
(positives and negatives) are encoded from the walk state after every earlier batch, then the
batch's positive events update it; reset, backup/restore and checkpoint state cover both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from tgnrank.model.link_predictor import PairwiseLinkPredictor
from tgnrank.model.memory import MemoryBackup
from tgnrank.model.tgn import TGN
from tgnrank.model.walks import N_PAIR_FEATURES, TemporalWalks, WalkBackup, WalkConfig
from tgnrank.model.path_counts import PathCounter, path_features

WALK_PREFIX = "walks."


@dataclass(frozen=True)
class StateBackup:
    """What :meth:`PairwiseTGN.backup_memory` returns: the node memory's backup (None without memory)
    and the walk state's."""

    memory: MemoryBackup | None
    walks: WalkBackup


class PairwiseTGN(TGN):
    """:class:`TGN` with walk encodings; ``walks`` sets their dimension, half-life and seed. With
    ``path_counts`` the predictor also reads the pair's exact path counts
    (:mod:`tgnrank.model.path_counts`) from the neighbour finder in use, after the walk encoding, and
    with ``path_walks`` the random-walk probabilities after them.

    The other arguments are TGN's. ``state_dict`` holds the walks' random projection
    (``walks.base``) beside the weights; :meth:`memory_state_dict` adds the walk state under keys
    prefixed ``walks.``.
    """

    def __init__(self, config, node_features, edge_features, neighbor_finder, device="cpu",
                 walks: WalkConfig | None = None, path_counts: bool = False, path_walks: bool = True,
                 **options):
        super().__init__(config, node_features, edge_features, neighbor_finder, device, **options)
        self.walks = TemporalWalks(self.n_node_rows, walks if walks is not None else WalkConfig())
        self.path_counts, self.path_walks = bool(path_counts), bool(path_counts and path_walks)
        self._path_counter = None
        n_pair = N_PAIR_FEATURES + (len(path_features(self.path_walks)) if self.path_counts else 0)
        self.link_predictor = PairwiseLinkPredictor(config.embedding_dim, n_pair)
        self.to(self.device)

    def path_counter(self) -> PathCounter:
        """The path counts of the neighbour finder in use (rebuilt when another is set)."""
        if self._path_counter is None or self._path_counter.finder is not self.neighbor_finder:
            self._path_counter = PathCounter(self.neighbor_finder, self.walks.config.decay_days, self.path_walks)
        return self._path_counter

    def compute_edge_logits(self, sources, destinations, negatives, timestamps, edge_idxs, n_neighbors: int):
        logits = super().compute_edge_logits(sources, destinations, negatives, timestamps, edge_idxs, n_neighbors)
        # After every pair of the batch was encoded: the batch's events never see each other.
        self.walks.update(sources, destinations, timestamps)
        return logits

    def process_events(self, sources, destinations, timestamps, edge_idxs, n_neighbors: int) -> None:
        super().process_events(sources, destinations, timestamps, edge_idxs, n_neighbors)
        self.walks.update(sources, destinations, timestamps)

    def walk_vectors(self, nodes, times) -> torch.Tensor:
        """``(4, N, walk_dim)`` walk vectors of ``nodes`` at ``times`` (see :meth:`TemporalWalks.node_vectors`)."""
        return self.walks.node_vectors(nodes, times)

    def reset_memory(self) -> None:
        super().reset_memory()
        self.walks.reset()

    def backup_memory(self) -> StateBackup:
        return StateBackup(super().backup_memory(), self.walks.backup())

    def restore_memory(self, backup: StateBackup) -> None:
        super().restore_memory(backup.memory)
        self.walks.restore(backup.walks)

    def memory_state_dict(self) -> dict:
        state = super().memory_state_dict()
        state.update({WALK_PREFIX + key: value for key, value in self.walks.state_tensors().items()})
        return state

    def load_memory_state_dict(self, state: dict) -> None:
        super().load_memory_state_dict(state)
        self.walks.load_state_tensors(
            {key[len(WALK_PREFIX) :]: value for key, value in state.items() if key.startswith(WALK_PREFIX)}
        )

    def _predict(self, source_h, other_h, sources, others, timestamps) -> torch.Tensor:
        pair = self.walks.pair_features(sources, others, timestamps)
        if self.path_counts:
            counts = self.path_counter().pairs(_numpy(sources), _numpy(others), _numpy(timestamps))
            pair = torch.cat([pair, torch.as_tensor(counts, dtype=pair.dtype, device=pair.device)], dim=1)
        return self.link_predictor(source_h, other_h, pair)


def _numpy(values):
    return values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)
