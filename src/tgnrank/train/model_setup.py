"""Build the model of a run the same way for training and for reloading a checkpoint."""

from __future__ import annotations

import numpy as np
import torch

from tgnrank.data.events import EventData
from tgnrank.data.splits import randomize_features
from tgnrank.train.config import TrainConfig


def model_node_features(data: EventData, config: TrainConfig) -> np.ndarray:
    """The node features the model sees: the dataset's, or (``--randomize_features``) uniform noise
    drawn from ``config.seed`` so that a reloaded checkpoint sees the same noise.

    Shape ``(n_nodes + 1, n_node_features)``.
    """
    if config.dataset.randomize_features:
        return randomize_features(data.node_features, seed=config.run.seed)
    return data.node_features


def build_training_model(config: TrainConfig, data: EventData, neighbor_finder, device: torch.device):
    """A freshly initialised ``tgnrank.model.TGN`` for ``config`` on ``data``, on ``device``."""
    from tgnrank.model import build_model

    return build_model(
        config.model,
        model_node_features(data, config),
        data.edge_features,
        neighbor_finder,
        device,
    )


def build_neighbor_finder(interactions, n_nodes: int, config: TrainConfig):
    """TGN's neighbour finder over ``interactions`` (most recent, or uniform with ``--uniform``)."""
    from tgnrank.sampling.neighbors import NeighborFinder

    return NeighborFinder.from_interactions(interactions, n_nodes, uniform=config.neighbors.uniform, seed=config.run.seed)
