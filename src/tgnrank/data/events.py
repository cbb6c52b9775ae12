"""Event data in the TGN ``ml_`` format, plus the ``nodes.csv`` companion that names every node.

On disk (see docs/design.md, "Data contract"):

* ``ml_{name}.csv``: columns ``u,i,ts,label,idx``, sorted by ``ts``, ``idx`` from 1;
* ``ml_{name}.npy``: edge features, row 0 is padding, so ``n_events + 1`` rows;
* ``ml_{name}_node.npy``: node features, row 0 is padding, node ids are 1-based;
* ``ml_{name}_nodes.csv``: ``id,name,kind`` with kind ``company`` or ``investor``;
* ``ml_{name}_features.json`` (optional): feature names, see :mod:`tgnrank.data.feature_schema`.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tgnrank.data.arrays import distinct_union
from tgnrank.data.feature_schema import FeatureSchema
from tgnrank.errors import DataFormatError

logger = logging.getLogger(__name__)

COMPANY = "company"
INVESTOR = "investor"
NODE_KINDS = (COMPANY, INVESTOR)
EVENT_COLUMNS = ("u", "i", "ts", "label", "idx")


@dataclass(frozen=True)
class Interactions:
    """A set of timestamped (source, destination) interactions, as TGN's ``Data``.

    All arrays have shape ``(n_interactions,)``. ``edge_idxs`` index rows of the edge-feature matrix.
    """

    sources: np.ndarray
    destinations: np.ndarray
    timestamps: np.ndarray
    edge_idxs: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.sources)

    @property
    def n_interactions(self) -> int:
        return len(self.sources)

    @property
    def unique_nodes(self) -> np.ndarray:
        return distinct_union(self.sources, self.destinations)

    @property
    def n_unique_nodes(self) -> int:
        return len(self.unique_nodes)

    def select(self, mask: np.ndarray) -> "Interactions":
        """Interactions where ``mask`` (boolean or integer index array) holds, order preserved."""
        return Interactions(
            sources=self.sources[mask],
            destinations=self.destinations[mask],
            timestamps=self.timestamps[mask],
            edge_idxs=self.edge_idxs[mask],
            labels=self.labels[mask],
        )

    def by_endpoint(self, n_nodes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every interaction listed under both its endpoints, sorted by (owner, time, event order).

        Returns ``owners``, ``partners``, ``times`` (float64) and ``edge_idxs``, each
        ``(2 * n_interactions,)``: the layout of per-node histories (the neighbour finder's CSR rows,
        the activity features). Node ids must lie in ``0..n_nodes``.
        """
        sources = np.asarray(self.sources, dtype=np.int64)
        destinations = np.asarray(self.destinations, dtype=np.int64)
        owners = np.concatenate([sources, destinations])
        if len(owners) and (owners.min() < 0 or owners.max() > n_nodes):
            raise ValueError(f"interaction node ids must lie in 0..{n_nodes}, found {owners.min()}..{owners.max()}")
        partners = np.concatenate([destinations, sources])
        times = np.tile(np.asarray(self.timestamps, dtype=np.float64), 2)
        edge_idxs = np.tile(np.asarray(self.edge_idxs, dtype=np.int64), 2)
        order = np.lexsort((np.tile(np.arange(len(sources)), 2), times, owners))
        return owners[order], partners[order], times[order], edge_idxs[order]


@dataclass(frozen=True)
class EventData:
    """A whole dataset in memory: events, features and node names.

    ``node_features`` has shape ``(n_nodes + 1, node_dim)`` and ``edge_features``
    ``(n_events + 1, edge_dim)``; row 0 of each is padding. ``node_names`` and ``node_kinds`` have
    ``n_nodes + 1`` entries (entry 0 is empty). In a bipartite graph sources are companies and
    destinations investors. ``feature_schema`` names the columns (None: a dataset without sidecar).
    """

    name: str
    events: Interactions
    edge_features: np.ndarray
    node_features: np.ndarray
    node_names: np.ndarray
    node_kinds: np.ndarray
    feature_schema: FeatureSchema | None = None

    @property
    def n_events(self) -> int:
        return len(self.events)

    @property
    def n_nodes(self) -> int:
        return self.node_features.shape[0] - 1

    @property
    def company_ids(self) -> np.ndarray:
        return np.flatnonzero(self.node_kinds == COMPANY)

    @property
    def investor_ids(self) -> np.ndarray:
        return np.flatnonzero(self.node_kinds == INVESTOR)


def dataset_paths(name: str, data_dir: str | Path = "data") -> dict[str, Path]:
    data_dir = Path(data_dir)
    return {
        "events": data_dir / f"ml_{name}.csv",
        "edge_features": data_dir / f"ml_{name}.npy",
        "node_features": data_dir / f"ml_{name}_node.npy",
        "nodes": data_dir / f"ml_{name}_nodes.csv",
    }


def feature_schema_path(name: str, data_dir: str | Path = "data") -> Path:
    """The optional sidecar naming the feature columns (not in ``dataset_paths``: TGN datasets lack it)."""
    return Path(data_dir) / f"ml_{name}_features.json"


def dataset_exists(name: str, data_dir: str | Path = "data") -> bool:
    paths = dataset_paths(name, data_dir)
    return all(paths[key].exists() for key in ("events", "edge_features", "node_features"))


def atomic_write(path: str | Path, write) -> None:
    """Call ``write(file_object)`` on a temporary file next to ``path``, then rename it into place.

    A crash or an exception leaves any existing ``path`` untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.chmod(tmp_name, 0o666 & ~_current_umask())
        os.replace(tmp_name, path)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise


def _current_umask() -> int:
    """The process umask (read by setting and restoring it), so atomic writes get the usual permissions."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_dataset(data: EventData, data_dir: str | Path = "data") -> dict[str, Path]:
    """Write ``data`` in the ``ml_`` format (each file atomically) and return the paths written."""
    _check_consistency(data, source="in-memory dataset")
    paths = dataset_paths(data.name, data_dir)
    events = data.events
    frame = pd.DataFrame(
        {
            "u": events.sources.astype(np.int64),
            "i": events.destinations.astype(np.int64),
            "ts": events.timestamps.astype(np.float64),
            "label": events.labels,
            "idx": events.edge_idxs.astype(np.int64),
        }
    )
    atomic_write(paths["events"], lambda f: f.write(frame.to_csv(index=False).encode("utf-8")))
    atomic_write(paths["edge_features"], lambda f: np.save(f, data.edge_features.astype(np.float32)))
    atomic_write(paths["node_features"], lambda f: np.save(f, data.node_features.astype(np.float32)))
    nodes = pd.DataFrame(
        {
            "id": np.arange(1, data.n_nodes + 1),
            "name": data.node_names[1:],
            "kind": data.node_kinds[1:],
        }
    )
    atomic_write(paths["nodes"], lambda f: f.write(nodes.to_csv(index=False).encode("utf-8")))
    schema_path = feature_schema_path(data.name, data_dir)
    if data.feature_schema is None:
        schema_path.unlink(missing_ok=True)  # a stale sidecar would name other columns
    else:
        atomic_write(schema_path, lambda f: f.write(data.feature_schema.to_json().encode("utf-8")))
        paths = {**paths, "features": schema_path}
    return paths


def load_dataset(name: str, data_dir: str | Path = "data") -> EventData:
    """Load and validate ``data/ml_{name}.*``; errors name the file and what was expected."""
    paths = dataset_paths(name, data_dir)
    missing = [str(paths[key]) for key in ("events", "edge_features", "node_features") if not paths[key].exists()]
    if missing:
        raise FileNotFoundError(
            f"dataset '{name}' is incomplete in {data_dir}: missing {', '.join(missing)}. "
            f"Create it with `tgnrank generate --name {name}` (synthetic) or "
            f"`tgnrank import-crunchbase EXPORT.csv --name {name}`."
        )
    frame = _read_events_csv(paths["events"])
    edge_features = _load_matrix(paths["edge_features"])
    node_features = _load_matrix(paths["node_features"])

    timestamps = frame["ts"].to_numpy(dtype=np.float64)
    if np.any(np.diff(timestamps) < 0):
        warnings.warn(f"{paths['events']}: timestamps are not sorted; sorting events stably by ts", stacklevel=2)
        frame = frame.iloc[np.argsort(timestamps, kind="stable")].reset_index(drop=True)

    events = Interactions(
        sources=frame["u"].to_numpy(dtype=np.int64),
        destinations=frame["i"].to_numpy(dtype=np.int64),
        timestamps=frame["ts"].to_numpy(dtype=np.float64),
        edge_idxs=frame["idx"].to_numpy(dtype=np.int64),
        labels=frame["label"].to_numpy(),
    )
    n_nodes = node_features.shape[0] - 1
    if paths["nodes"].exists():
        node_names, node_kinds = _read_nodes_csv(paths["nodes"], n_nodes)
    else:
        logger.warning("%s not found: naming nodes by id and inferring kinds from edge direction", paths["nodes"])
        node_names, node_kinds = _default_node_names(events, n_nodes)
    schema_path = feature_schema_path(name, data_dir)
    schema = None
    if schema_path.exists():
        schema = FeatureSchema.from_json(
            schema_path.read_text(encoding="utf-8"), str(schema_path), node_features.shape[1], edge_features.shape[1]
        )
    data = EventData(
        name=name,
        events=events,
        edge_features=edge_features,
        node_features=node_features,
        node_names=node_names,
        node_kinds=node_kinds,
        feature_schema=schema,
    )
    _check_consistency(data, source=str(paths["events"]), paths=paths)
    return data


def _read_events_csv(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as error:
        raise DataFormatError(f"{path}: cannot be read as CSV ({error})") from error
    missing = [column for column in EVENT_COLUMNS if column not in frame.columns]
    if missing:
        raise DataFormatError(
            f"{path}: missing column(s) {missing}; expected columns {list(EVENT_COLUMNS)}, "
            f"found {list(frame.columns)}"
        )
    for column in ("u", "i", "idx"):
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() | (values != np.floor(values))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataFormatError(
                f"{path}: column '{column}' must hold integers; row {row + 1} (line {row + 2}) "
                f"holds {frame[column].iloc[row]!r}"
            )
        frame[column] = values.astype(np.int64)
    timestamps = pd.to_numeric(frame["ts"], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(timestamps)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataFormatError(
            f"{path}: timestamp 'ts' must be a finite number; row {row + 1} (line {row + 2}) "
            f"holds {frame['ts'].iloc[row]!r} ({int(bad.sum())} such rows)"
        )
    frame["ts"] = timestamps
    return frame


def _load_matrix(path: Path) -> np.ndarray:
    try:
        matrix = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as error:
        raise DataFormatError(f"{path}: cannot be read as a .npy array ({error})") from error
    if matrix.ndim != 2:
        raise DataFormatError(f"{path}: expected a 2-d array (rows x features), found shape {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise DataFormatError(f"{path}: contains NaN or infinite values")
    return matrix.astype(np.float32, copy=False)


def _read_nodes_csv(path: Path, n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    frame = pd.read_csv(path, keep_default_na=False, dtype={"name": str, "kind": str})
    missing = [column for column in ("id", "name", "kind") if column not in frame.columns]
    if missing:
        raise DataFormatError(f"{path}: missing column(s) {missing}; expected id,name,kind")
    ids = pd.to_numeric(frame["id"], errors="coerce")
    if ids.isna().any() or (ids < 1).any() or (ids > n_nodes).any():
        raise DataFormatError(f"{path}: ids must be integers in 1..{n_nodes} (rows of the node feature matrix)")
    ids = ids.to_numpy(dtype=np.int64)
    kinds = frame["kind"].to_numpy(dtype=object)
    unknown = sorted(set(kinds) - set(NODE_KINDS))
    if unknown:
        raise DataFormatError(f"{path}: column 'kind' must be one of {list(NODE_KINDS)}, found {unknown}")
    names = _placeholder_names(n_nodes)
    node_kinds = np.full(n_nodes + 1, "", dtype=object)
    names[ids] = frame["name"].to_numpy(dtype=object)
    node_kinds[ids] = kinds
    return names, node_kinds


def _placeholder_names(n_nodes: int) -> np.ndarray:
    """``"node k"`` for each node id ``k`` in 1..n_nodes, entry 0 empty: ``(n_nodes + 1,)`` object array."""
    names = np.array([f"node {k}" for k in range(n_nodes + 1)], dtype=object)
    names[0] = ""
    return names


def _default_node_names(events: Interactions, n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    names = _placeholder_names(n_nodes)
    kinds = np.full(n_nodes + 1, "", dtype=object)
    in_range = lambda ids: ids[(ids >= 1) & (ids <= n_nodes)]  # noqa: E731
    kinds[in_range(events.sources)] = COMPANY
    kinds[in_range(events.destinations)] = INVESTOR
    return names, kinds


def _check_consistency(data: EventData, source: str, paths: dict[str, Path] | None = None) -> None:
    paths = paths or {key: source for key in ("events", "edge_features", "node_features")}
    events = data.events
    n_rows = len(events)
    if data.edge_features.shape[0] != n_rows + 1:
        raise DataFormatError(
            f"{paths['edge_features']}: has {data.edge_features.shape[0]} rows but {paths['events']} has "
            f"{n_rows} events; expected {n_rows + 1} rows (row 0 is padding)"
        )
    if n_rows and (events.edge_idxs.min() < 1 or events.edge_idxs.max() > n_rows):
        raise DataFormatError(f"{paths['events']}: column 'idx' must lie in 1..{n_rows}")
    n_nodes = data.node_features.shape[0] - 1
    for column, ids in (("u", events.sources), ("i", events.destinations)):
        bad = (ids < 1) | (ids > n_nodes)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataFormatError(
                f"{paths['events']}: node id {ids[row]} in column '{column}' (row {row + 1}) is outside "
                f"1..{n_nodes}, the rows of {paths['node_features']} (row 0 is padding)"
            )
    if len(data.node_names) != n_nodes + 1 or len(data.node_kinds) != n_nodes + 1:
        raise DataFormatError(f"{source}: node names/kinds must have {n_nodes + 1} entries (entry 0 is padding)")
