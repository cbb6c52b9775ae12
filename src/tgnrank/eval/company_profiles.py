"""What is known of a brand-new company at a window start: its static attributes, not its events.

A company without history is described by the static node columns the importer gives it (its
category labels and country, ``company:category=...`` / ``company:country=...``, in the cut-off's
vocabulary, see :mod:`tgnrank.data.crunchbase_features`) and by the round type of its first round in
the window (``round_type=...`` edge columns), which an analyst knows when the company raises. Nothing
else of the window is read: not its investors, amounts or later rounds.

A ``company:category=other`` column is not a category: two companies with labels outside the
vocabulary need not share one, so it never matches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tgnrank.data.events import EventData, Interactions
from tgnrank.data.feature_schema import feature_schema_of
from tgnrank.errors import ConfigError

CATEGORY_PREFIX = "company:category="
COUNTRY_PREFIX = "company:country="
ROUND_TYPE_PREFIX = "round_type="
OTHER = "other"
NO_ROUND_TYPE = -1


@dataclass(frozen=True)
class AttributeColumns:
    """Positions and labels of one kind of indicator column: ``positions`` (K,) into a feature
    matrix's columns, ``labels`` (K,) the value each stands for (``other`` left out)."""

    positions: np.ndarray
    labels: tuple[str, ...]

    @classmethod
    def with_prefix(cls, names: tuple[str, ...], prefix: str) -> "AttributeColumns":
        chosen = [(k, name[len(prefix):]) for k, name in enumerate(names) if name.startswith(prefix)]
        chosen = [(k, label) for k, label in chosen if label != OTHER]
        return cls(np.array([k for k, _ in chosen], dtype=np.int64), tuple(label for _, label in chosen))

    def __len__(self) -> int:
        return len(self.labels)


def category_columns(data: EventData) -> AttributeColumns:
    """The company category label columns of ``data``'s static node features."""
    return AttributeColumns.with_prefix(feature_schema_of(data).static_names, CATEGORY_PREFIX)


def country_columns(data: EventData) -> AttributeColumns:
    return AttributeColumns.with_prefix(feature_schema_of(data).static_names, COUNTRY_PREFIX)


def round_type_columns(data: EventData) -> AttributeColumns:
    """The round-type one-hot columns of ``data``'s edge features."""
    return AttributeColumns.with_prefix(feature_schema_of(data).edge_names, ROUND_TYPE_PREFIX)


def node_categories(data: EventData) -> np.ndarray:
    """(n_nodes + 1, K) float64: every node's category labels (0/1; zero rows for investors)."""
    return np.asarray(data.node_features[:, category_columns(data).positions], dtype=np.float64)


def first_round_types(
    events: Interactions, edge_features: np.ndarray, round_types: AttributeColumns, companies: np.ndarray,
    t_start: float, t_end: float,
) -> np.ndarray:
    """(C,) int64: for each of ``companies``, the round type (index into ``round_types``) of its first
    event in (t_start, t_end], ``NO_ROUND_TYPE`` when it has none there or the type is blank or
    outside the vocabulary. Only the first event's round columns are read."""
    result = np.full(len(companies), NO_ROUND_TYPE, dtype=np.int64)
    inside = (events.timestamps > t_start) & (events.timestamps <= t_end) & np.isin(events.sources, companies)
    index = np.flatnonzero(inside)
    if len(index) == 0 or len(round_types) == 0:
        return result
    # Events are time-sorted, ties in file order: the first index of each company is its first event.
    owners, first = np.unique(events.sources[index], return_index=True)
    rows = edge_features[events.edge_idxs[index[first]]][:, round_types.positions]
    known = rows.max(axis=1) > 0
    result[np.searchsorted(companies, owners[known])] = rows[known].argmax(axis=1)
    return result


def profile_vector(data: EventData, categories: list[str], country: str | None) -> np.ndarray:
    """(d,) float32 static node features of a company not in the data, from its ``categories`` labels
    and ``country``, matched case-insensitively against the dataset's vocabulary (a value outside it
    is refused with the accepted ones, rather than silently counted as ``other``)."""
    names = feature_schema_of(data).static_names
    vector = np.zeros(len(names), dtype=np.float32)
    if "is_company" in names:
        vector[names.index("is_company")] = 1.0
    wanted = [("categories", CATEGORY_PREFIX, label) for label in categories]
    wanted += [("country", COUNTRY_PREFIX, country)] if country else []
    for parameter, prefix, value in wanted:
        vector[_attribute_position(names, parameter, prefix, value)] = 1.0
    return vector


def round_type_index(data: EventData, round_type: str | None) -> int:
    """The index into :func:`round_type_columns` of ``round_type`` (NO_ROUND_TYPE when None)."""
    if round_type is None:
        return NO_ROUND_TYPE
    columns = round_type_columns(data)
    lowered = [label.lower() for label in columns.labels]
    key = round_type.strip().lower().replace("-", "_").replace(" ", "_")
    if key not in lowered:
        accepted = ", ".join(columns.labels) or "none (the dataset has no round-type edge columns)"
        raise ConfigError(f"round_type {round_type!r} is not a round type of dataset '{data.name}'; "
                          f"accepted: {accepted}", parameters=("round_type",))
    return lowered.index(key)


def _attribute_position(names: tuple[str, ...], parameter: str, prefix: str, value: str) -> int:
    columns = AttributeColumns.with_prefix(names, prefix)
    lowered = [label.lower() for label in columns.labels]
    key = value.strip().lower()
    if key not in lowered:
        accepted = ", ".join(columns.labels) or "none (the dataset has no such column)"
        raise ConfigError(f"{parameter} {value!r} is not among the dataset's values; accepted: {accepted}",
                          parameters=(parameter,))
    return int(columns.positions[lowered.index(key)])
