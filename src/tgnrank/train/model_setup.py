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


def activity_provider(data: EventData, config: TrainConfig):
    """With ``--activity_features``, the time-aware node statistics over every event of ``data``
    (:class:`~tgnrank.data.activity.ActivityFeatures`), else None.

    Every event may be given: a query at time t only reads events strictly before t, so a training
    batch sees training events only and the ranking at a window start sees its history only.
    """
    if not config.dataset.activity_features:
        return None
    from tgnrank.data.activity import ActivityFeatures

    return ActivityFeatures.from_data(data)


def build_training_model(config: TrainConfig, data: EventData, neighbor_finder, device: torch.device):
    """A freshly initialised model for ``config`` on ``data``, on ``device``: ``tgnrank.model.TGN``, or
    with ``--link_predictor pairwise`` a :class:`~tgnrank.model.pairwise_tgn.PairwiseTGN` whose walk
    projection is drawn from ``config.seed`` (and stored in its ``state_dict``)."""
    model = config.model
    inputs = (model, model_node_features(data, config), data.edge_features, neighbor_finder, device)
    activity = activity_provider(data, config)
    if model.link_predictor == "pairwise":
        from tgnrank.model.pairwise_tgn import PairwiseTGN
        from tgnrank.model.walks import WalkConfig

        walks = WalkConfig(model.walk_dim, model.walk_decay_days, seed=config.run.seed)
        return PairwiseTGN(*inputs, walks=walks, path_counts=model.path_counts,
                           path_walks=model.path_walks, activity_features=activity)
    from tgnrank.model import build_model

    return build_model(*inputs, activity_features=activity)


def build_neighbor_finder(interactions, n_nodes: int, config: TrainConfig):
    """TGN's neighbour finder over ``interactions`` (most recent, or uniform with ``--uniform``)."""
    from tgnrank.sampling.neighbors import NeighborFinder

    return NeighborFinder.from_interactions(interactions, n_nodes, uniform=config.neighbors.uniform, seed=config.run.seed)
