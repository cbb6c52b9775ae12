"""Time-aware node inputs: activity statistics of a node as of a query time, from its earlier events only.

For a query ``(v, t)`` every statistic uses the events of ``v`` (as either endpoint) strictly before
``t``; events at ``t`` itself are left out, as in the neighbour finder. Deleting or changing any event
at or after ``t`` therefore cannot change the answer, and no statistic is scaled by data-dependent
constants (means, standard deviations) that later events could move.

Columns (``ACTIVITY_NAMES``, then one per averaged edge column)::

    has_history            1 when the node has an earlier event, else 0 (all other columns are then 0)
    log_n_events           log1p(number of earlier events)
    log_years_since_first  log1p(years since the first earlier event)
    log_years_since_last   log1p(years since the last earlier event)
    log_events_last_year   log1p(number of events in [t - 365 days, t))
    log_n_partners         log1p(number of distinct other endpoints among the earlier events)
    mean:{edge column}     mean of that edge-feature column over the earlier events (e.g. the share
                           of each round type, the mean log amount)

Each query is a few ``searchsorted`` calls on a time-sorted per-node history (CSR) plus gathers of
prefix sums, vectorised over the whole batch. Edge columns are summed in fixed point (int64), so a
prefix-sum difference is exact and does not depend on the values of unrelated (e.g. later) entries.
"""

from __future__ import annotations

import numpy as np

from tgnrank.data.events import EventData, Interactions
from tgnrank.data.feature_schema import feature_schema_of

ACTIVITY_NAMES = (
    "has_history",
    "log_n_events",
    "log_years_since_first",
    "log_years_since_last",
    "log_events_last_year",
    "log_n_partners",
)
DAYS_PER_YEAR = 365.25
RECENT_DAYS = 365.0
# Edge values are summed as integers in units of 2**-20: exact sums, ~1e-6 resolution.
FIXED_POINT_SCALE = float(2**20)


def activity_feature_names(edge_column_names: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Names of the activity columns for these averaged edge columns, ``activity:`` prefixed."""
    return tuple(f"activity:{name}" for name in ACTIVITY_NAMES) + tuple(
        f"activity:mean:{name}" for name in edge_column_names
    )


class ActivityFeatures:
    """Activity statistics of nodes at query times, from the events strictly before each time.

    Built from interactions among node ids ``0..n_nodes``; ``edge_values (n_events + 1, c)`` (row 0
    padding, indexed by ``edge_idxs``) are the edge columns to average. Call with ``nodes (N,)`` and
    ``times (N,)`` to get ``(N, dim)`` float32; :meth:`at` scores many nodes at one time.
    """

    def __init__(
        self,
        interactions: Interactions,
        n_nodes: int,
        edge_values: np.ndarray | None = None,
        edge_column_names: tuple[str, ...] = (),
    ):
        edge_values = np.zeros((len(interactions) + 1, 0)) if edge_values is None else np.asarray(edge_values)
        if edge_values.ndim != 2 or edge_values.shape[1] != len(edge_column_names):
            raise ValueError(
                f"edge_values must be 2-d with one column per name ({len(edge_column_names)}), "
                f"got shape {edge_values.shape}"
            )
        self.n_nodes = int(n_nodes)
        self.names = activity_feature_names(edge_column_names)
        owners, partners, times, edge_rows = interactions.by_endpoint(self.n_nodes)
        self._offsets = np.concatenate([[0], np.cumsum(np.bincount(owners, minlength=self.n_nodes + 1))])
        self._padded_times = np.concatenate([[0.0], times])
        self._distinct_times = np.unique(times)
        self._stride = np.int64(len(self._distinct_times) + 1)
        self._keys = owners * self._stride + np.searchsorted(self._distinct_times, times)
        self._new_partners = _prefix_sum(_first_occurrences(owners, partners, self.n_nodes))
        fixed = np.rint(edge_values[edge_rows].astype(np.float64) * FIXED_POINT_SCALE).astype(np.int64)
        self._edge_sums = _prefix_sum(fixed)

    @classmethod
    def from_data(cls, data: EventData, interactions: Interactions | None = None) -> "ActivityFeatures":
        """The dataset's activity features (edge columns as its feature schema says), over
        ``interactions`` (default: all its events)."""
        schema = feature_schema_of(data)
        columns = list(schema.activity_edge_columns)
        names = tuple(schema.edge_names[k] for k in columns)
        events = data.events if interactions is None else interactions
        return cls(events, data.n_nodes, data.edge_features[:, columns], names)

    @property
    def dim(self) -> int:
        return len(self.names)

    def __call__(self, nodes: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Activity of ``nodes (N,)`` as of ``times (N,)`` (strictly earlier events): ``(N, dim)`` float32."""
        nodes = np.asarray(nodes, dtype=np.int64)
        times = np.asarray(times, dtype=np.float64)
        if nodes.shape != times.shape or nodes.ndim != 1:
            raise ValueError(f"nodes and times must be 1-d of one length, got shapes {nodes.shape} and {times.shape}")
        if len(nodes) and (nodes.min() < 0 or nodes.max() > self.n_nodes):
            raise ValueError(f"query node ids must lie in 0..{self.n_nodes}, found {nodes.min()}..{nodes.max()}")
        if not np.all(np.isfinite(times)):
            raise ValueError("query times must be finite (days)")
        start = self._offsets[nodes]
        end = self._end_before(nodes, times)
        count = end - start
        has = count > 0
        recent = end - self._end_before(nodes, times - RECENT_DAYS)
        # entry 0 of the padded times answers queries without history; their ages are then zeroed
        first = np.where(has, self._padded_times[np.where(has, start + 1, 0)], times)
        last = np.where(has, self._padded_times[end * has], times)
        columns = [
            has.astype(np.float64),
            np.log1p(count),
            np.log1p((times - first) / DAYS_PER_YEAR),
            np.log1p((times - last) / DAYS_PER_YEAR),
            np.log1p(recent),
            np.log1p(self._new_partners[end] - self._new_partners[start]),
        ]
        sums = (self._edge_sums[end] - self._edge_sums[start]) / FIXED_POINT_SCALE
        means = sums / np.maximum(count, 1)[:, None]
        return np.column_stack(columns + [means]).astype(np.float32)

    def at(self, nodes: np.ndarray, time: float) -> np.ndarray:
        """Activity of ``nodes (N,)`` all as of one ``time``: ``(N, dim)`` float32."""
        nodes = np.asarray(nodes, dtype=np.int64)
        return self(nodes, np.full(nodes.shape, float(time)))

    def _end_before(self, nodes: np.ndarray, times: np.ndarray) -> np.ndarray:
        """CSR position just after each node's last entry strictly before its time ``(N,)``."""
        ranks = np.searchsorted(self._distinct_times, times, side="left")
        return np.searchsorted(self._keys, nodes * self._stride + ranks, side="left")


def _first_occurrences(owners: np.ndarray, partners: np.ndarray, n_nodes: int) -> np.ndarray:
    """1 where an entry is its (owner, partner) pair's earliest, else 0: ``(n_entries,)`` int64.

    Entries are in time order within an owner, so whether an entry is first depends on earlier
    entries only.
    """
    flags = np.zeros(len(owners), dtype=np.int64)
    if len(owners):
        _, first = np.unique(owners * np.int64(n_nodes + 1) + partners, return_index=True)
        flags[first] = 1
    return flags


def _prefix_sum(values: np.ndarray) -> np.ndarray:
    """Exclusive prefix sums along axis 0 with a leading zero row: ``(n + 1, ...)``."""
    return np.concatenate([np.zeros((1,) + values.shape[1:], dtype=values.dtype), np.cumsum(values, axis=0)])


def feature_kinds(data: EventData) -> dict[str, list[str]]:
    """Names of ``data``'s static node columns and of the time-aware activity columns it would get."""
    schema = feature_schema_of(data)
    averaged = [schema.edge_names[k] for k in schema.activity_edge_columns]
    return {"static": list(schema.static_names), "time_aware": list(activity_feature_names(averaged))}


def similarity_features(data: EventData, interactions: Interactions) -> np.ndarray:
    """Node vectors for hard-negative similarity: static columns and activity as of just after the last
    of ``interactions`` (the training events), each column standardised over the nodes active in them.

    Static attributes alone can be empty for a kind (an export without investor attributes), which
    would make every investor look alike. Shape ``(n_nodes + 1, static_dim + activity_dim)``; nodes
    without any of ``interactions`` get zero rows (similarity 0 to all).
    """
    nodes = np.arange(data.n_nodes + 1)
    end = np.nextafter(float(np.max(interactions.timestamps)), np.inf) if len(interactions) else 0.0
    activity = ActivityFeatures.from_data(data, interactions).at(nodes, end)
    vectors = np.hstack([data.node_features, activity]).astype(np.float64)
    active = activity[:, 0] > 0
    if not active.any():
        return np.zeros_like(vectors, dtype=np.float32)
    spread = vectors[active].std(axis=0)
    vectors = (vectors - vectors[active].mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    vectors[~active] = 0.0
    return vectors.astype(np.float32)
