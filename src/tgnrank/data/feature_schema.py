"""Which node inputs are static and which are time-aware: the ``ml_{name}_features.json`` sidecar.

Every column of ``ml_{name}_node.npy`` is *static*: an attribute of the node (kind, category,
country...) that the model may see at any time. *Time-aware* inputs are not stored: they are
activity statistics computed from the events strictly before each query time
(:mod:`tgnrank.data.activity`), among them the mean over a node's past events of some edge-feature
columns. The sidecar names both::

    {"format": 1,
     "static_node_features": ["is_company", "company:category=software", ...],   # one per node column
     "edge_features": ["log1p_amount", "amount_missing", "round_type=seed", ...], # one per edge column
     "activity_edge_features": ["log1p_amount", "round_type=seed", ...]}          # edge columns averaged

A dataset without the sidecar (a TGN ``ml_`` dataset) uses :func:`default_schema`: its node columns
are static, and its edge columns are averaged when there are at most ``MAX_DEFAULT_EDGE_COLUMNS``
(wide learned edge embeddings, such as Wikipedia's 172 columns, are not).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tgnrank.errors import DataFormatError

if TYPE_CHECKING:
    from tgnrank.data.events import EventData

SCHEMA_FORMAT = 1
MAX_DEFAULT_EDGE_COLUMNS = 16


@dataclass(frozen=True)
class FeatureSchema:
    """Names of the static node columns and the edge columns, and which edge columns are averaged."""

    static_names: tuple[str, ...]
    edge_names: tuple[str, ...]
    activity_edge_columns: tuple[int, ...]

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": SCHEMA_FORMAT,
                "static_node_features": list(self.static_names),
                "edge_features": list(self.edge_names),
                "activity_edge_features": [self.edge_names[k] for k in self.activity_edge_columns],
            },
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str, source: str, node_dim: int, edge_dim: int) -> "FeatureSchema":
        """Parse a sidecar written by :meth:`to_json`; errors name ``source`` and what was expected."""
        try:
            values = json.loads(text)
            static = tuple(str(name) for name in values["static_node_features"])
            edges = tuple(str(name) for name in values["edge_features"])
            averaged = [str(name) for name in values["activity_edge_features"]]
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise DataFormatError(
                f"{source}: not a feature sidecar (expected JSON with static_node_features, edge_features, "
                f"activity_edge_features): {error}"
            ) from error
        if len(static) != node_dim or len(edges) != edge_dim:
            raise DataFormatError(
                f"{source}: names {len(static)} node and {len(edges)} edge columns but the dataset has "
                f"{node_dim} and {edge_dim}; re-import the dataset or delete the sidecar"
            )
        unknown = sorted(set(averaged) - set(edges))
        if unknown:
            raise DataFormatError(f"{source}: activity_edge_features {unknown} are not among edge_features")
        return cls(static, edges, tuple(edges.index(name) for name in averaged))


def default_schema(node_dim: int, edge_dim: int) -> FeatureSchema:
    """The schema of a dataset without sidecar: numbered names, all node columns static."""
    averaged = tuple(range(edge_dim)) if edge_dim <= MAX_DEFAULT_EDGE_COLUMNS else ()
    return FeatureSchema(
        static_names=tuple(f"node_feature_{k}" for k in range(node_dim)),
        edge_names=tuple(f"edge_feature_{k}" for k in range(edge_dim)),
        activity_edge_columns=averaged,
    )


def feature_schema_of(data: "EventData") -> FeatureSchema:
    """``data``'s recorded schema, or :func:`default_schema` for its dimensions."""
    if data.feature_schema is not None:
        return data.feature_schema
    return default_schema(data.node_features.shape[1], data.edge_features.shape[1])
