"""Static node features and edge features of an imported Crunchbase export.

Node features are *static* attributes only, which the model may see at any time; a node's activity
(number of investments, recency, years active, stage mix, partners, amounts) depends on the query
time and is computed as of each prediction from the earlier events (:mod:`tgnrank.data.activity`),
never stored here. Storing it "as of the end of training" told the model facts about its own
future while training at earlier times.

Node feature layout (one matrix for both kinds, row 0 is padding)::

    [is_company | company category multi-hot, country one-hot | investor category multi-hot, country one-hot]

Each block covers the frequent values plus ``other`` (columns present only when the export has the
column); the other kind's block is zero. A node's value is its most frequent one among its rows up
to the cut-off, and every vocabulary comes from those rows too, so later events cannot change the
columns or a node's value; an investor without rows by then has no attribute set. A company first
seen after the cut-off takes the value on its first row (its first round, in the cut-off's
vocabulary): a company is only ever read from its first event on (it is the source of events, never
a sampled negative), and what it is then is known then, so a brand-new company can be scored from
its attributes (docs/design.md, "Brand-new companies"); its later rows cannot change it. A category value is a
label set (``crunchbase_values.category_sets``: ``"3d printing|e-commerce"``): each label has its
own column, so a company listed under several labels has several 1s, and ``other`` is 1 when it has
a label outside the vocabulary.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tgnrank.data.crunchbase_values import LABEL_SEPARATOR, STAGE_NAMES, UNPARSED, parse_dates
from tgnrank.data.dates import day_to_iso, days_since_epoch
from tgnrank.errors import ConfigError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeatureOptions:
    """How categorical values become indicator columns.

    A category label or a country gets its own column when at least ``min_category_nodes`` seen nodes
    carry it, keeping the ``max_categories`` most frequent; the rest share the ``other`` column. 64
    rather than 20: once list cells are split, the real 2012 export has ~440 labels carried by 5 or
    more companies, and the 20 most frequent stop at generic ones ("technology", 216 companies)
    while sector labels that separate investors ("big data", "payments", "medical devices",
    "pharmaceuticals", 70-140 companies) come after; 64 keeps every label of about 60 companies or
    more at a modest width. Round types in the edge features keep the ``max_round_types`` most
    frequent types seen up to the cut-off.
    """

    max_categories: int = 64
    min_category_nodes: int = 5
    max_round_types: int = 20


@dataclass(frozen=True)
class NodeFeatures:
    """``matrix`` (n_nodes + 1, d) float32, ``names`` (d,), ``seen`` (n_nodes + 1,) bool (False for row 0)."""

    matrix: np.ndarray
    names: tuple[str, ...]
    seen: np.ndarray


def build_node_features(
    events: pd.DataFrame, n_companies: int, n_investors: int, cutoff: float, options: FeatureOptions
) -> NodeFeatures:
    """Static node features from the rows of ``events`` at or before ``cutoff`` (layout: module docstring).

    ``events`` columns: ``company`` (ids 1..U), ``investor`` (ids U+1..U+I), ``ts`` (float days) and
    optionally ``company_category``, ``company_country``, ``investor_category``, ``investor_country``
    (strings, ``""`` when unknown). ``seen`` says which nodes have a row by ``cutoff``.
    """
    past = events[events["ts"].to_numpy() <= cutoff]
    company_index = past["company"].to_numpy() - 1
    investor_index = past["investor"].to_numpy() - 1 - n_companies
    company_seen = np.bincount(company_index, minlength=n_companies) > 0
    investor_seen = np.bincount(investor_index, minlength=n_investors) > 0
    company_blocks, company_names = _categorical_columns(
        past, "company", company_index, n_companies, company_seen, options,
        first_rows=(events["company"].to_numpy() - 1, events),
    )
    investor_blocks, investor_names = _categorical_columns(
        past, "investor", investor_index, n_investors, investor_seen, options
    )
    company_values = np.column_stack(company_blocks) if company_blocks else np.zeros((n_companies, 0))
    investor_values = np.column_stack(investor_blocks) if investor_blocks else np.zeros((n_investors, 0))

    n_nodes = n_companies + n_investors
    d_company = company_values.shape[1]
    matrix = np.zeros((n_nodes + 1, 1 + d_company + investor_values.shape[1]), dtype=np.float32)
    companies = slice(1, n_companies + 1)
    matrix[companies, 0] = 1.0
    matrix[companies, 1 : 1 + d_company] = company_values
    matrix[n_companies + 1 :, 1 + d_company :] = investor_values
    seen = np.concatenate([[False], company_seen, investor_seen])
    return NodeFeatures(matrix=matrix, names=("is_company",) + company_names + investor_names, seen=seen)


def build_edge_features(events: pd.DataFrame, cutoff: float, options: FeatureOptions) -> tuple[np.ndarray, tuple[str, ...]]:
    """Edge features, one row per event in ``events`` order plus padding row 0: ``(n_events + 1, d)``.

    Columns: log1p(amount) (0 when unknown), amount-missing flag, a one-hot of the ``stage`` column
    (codes index ``STAGE_NAMES``; -1, unknown, sets none) and, when ``events`` has a ``round_type``
    column, a one-hot over the most frequent round types seen up to ``cutoff`` plus ``other`` (a blank
    round type has no column set). Averaged over a node's past events, the stage and round-type
    columns are its stage mix as of a query time.
    """
    amount = events["amount"].to_numpy(dtype=np.float64)
    missing = ~np.isfinite(amount)
    stage = events["stage"].to_numpy()
    columns = [np.log1p(np.where(missing, 0.0, amount)), missing.astype(np.float64)]
    columns += [(stage == code).astype(np.float64) for code in range(len(STAGE_NAMES))]
    names = ["log1p_amount", "amount_missing"] + [f"stage={name}" for name in STAGE_NAMES]
    if "round_type" in events:
        round_types = events["round_type"].to_numpy(dtype=object)
        past_types = round_types[events["ts"].to_numpy() <= cutoff]
        vocabulary = _frequent_values(past_types, min_count=1, max_values=options.max_round_types)
        one_hot, one_hot_names = _one_hot(round_types, vocabulary, "round_type")
        columns.extend(one_hot.T)
        names.extend(one_hot_names)
    matrix = np.zeros((len(events) + 1, len(columns)), dtype=np.float32)
    matrix[1:] = np.column_stack(columns)
    return matrix, tuple(names)


def resolve_cutoff(
    feature_cutoff: str | dt.date | None, timestamps: np.ndarray, train_quantile: float, today: dt.date
) -> tuple[float, str, str]:
    """The feature cut-off in days, its date as text, and where it came from (``feature_cutoff`` or
    the ``train_quantile`` time quantile of ``timestamps`` (n,) days)."""
    if feature_cutoff is None:
        cutoff = float(np.quantile(timestamps, train_quantile))
        return cutoff, day_to_iso(cutoff), f"the {train_quantile:.0%} time quantile, the end of training"
    if isinstance(feature_cutoff, dt.date):
        day = np.datetime64(feature_cutoff, "D")
    else:
        parsed, precision = parse_dates(pd.Series([str(feature_cutoff)]), today)
        if precision[0] == UNPARSED:
            raise ConfigError(
                f"feature_cutoff: cannot read {feature_cutoff!r} as a date; expected e.g. 2012-06-30",
                parameters=("feature_cutoff",),
            )
        day = parsed[0]
    cutoff = float(days_since_epoch(np.array([day]))[0])
    if cutoff < timestamps.min():
        raise ConfigError(
            f"feature_cutoff {day} is before the first event ({day_to_iso(timestamps.min())}): "
            "no node would have features; choose a date within the events' span", parameters=("feature_cutoff",)
        )
    if cutoff > np.quantile(timestamps, train_quantile):
        logger.warning(
            "feature_cutoff %s is after the end of the default training period: node features may use "
            "events that validation or test will score",
            day, extra={"parameters": ("feature_cutoff",)},
        )
    return cutoff, str(day), "feature_cutoff"


def _categorical_columns(
    past: pd.DataFrame,
    kind: str,
    index: np.ndarray,
    n: int,
    seen: np.ndarray,
    options: FeatureOptions,
    first_rows: tuple[np.ndarray, pd.DataFrame] | None = None,
) -> tuple[list[np.ndarray], tuple[str, ...]]:
    """Indicator blocks for ``{kind}_category`` (multi-hot over labels) and ``{kind}_country`` (one-hot)
    when ``past`` has those columns. With ``first_rows`` (the node index of every event and the
    events, time-sorted), a node unseen in ``past`` takes the value on its first row there;
    vocabularies still come from ``past`` alone."""
    blocks: list[np.ndarray] = []
    names: tuple[str, ...] = ()
    for attribute in ("category", "country"):
        column = f"{kind}_{attribute}"
        if column not in past:
            continue
        node_values = _mode_per_node(index, past[column].to_numpy(dtype=object), n)
        if first_rows is not None:
            later = _first_values(first_rows[0], first_rows[1][column], n)
            node_values = np.where(seen, node_values, later)
        nodes, labels = _node_labels(node_values, multi_valued=attribute == "category")
        vocabulary = _frequent_values(labels[seen[nodes]], options.min_category_nodes, options.max_categories)
        indicators, indicator_names = _indicators(n, nodes, labels, vocabulary, f"{kind}:{attribute}")
        blocks.append(indicators)
        names += indicator_names
    return blocks, names


def _mode_per_node(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Most frequent non-blank value of each node ``(n,)``, ``""`` when none; ties go to the earliest row."""
    result = np.full(n, "", dtype=object)
    known = values != ""
    if not known.any():
        return result
    frame = pd.DataFrame({"node": index[known], "value": values[known], "order": np.flatnonzero(known)})
    counts = frame.groupby(["node", "value"], sort=False).agg(count=("order", "size"), first=("order", "min")).reset_index()
    best = counts.sort_values(["node", "count", "first"], ascending=[True, False, True]).drop_duplicates("node")
    result[best["node"].to_numpy()] = best["value"].to_numpy(dtype=object)
    return result


def _first_values(index: np.ndarray, values: pd.Series, n: int) -> np.ndarray:
    """The value on each node's first row (rows in time order) ``(n,)``; ``""`` for nodes without rows."""
    result = np.full(n, "", dtype=object)
    nodes, first = np.unique(index, return_index=True)
    result[nodes] = values.to_numpy(dtype=object)[first]
    return result


def _node_labels(values: np.ndarray, multi_valued: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(rows (m,), labels (m,))``: one pair per non-blank value of ``values`` (n,), or per label of a
    ``LABEL_SEPARATOR``-joined label set when ``multi_valued`` (the sets hold no repeated label)."""
    rows = np.flatnonzero(values != "")
    labels = pd.Series(values[rows], index=rows, dtype=object)
    if multi_valued:
        labels = labels.str.split(LABEL_SEPARATOR, regex=False).explode()
    return labels.index.to_numpy(dtype=np.int64), labels.to_numpy(dtype=object)


def _frequent_values(values: np.ndarray, min_count: int, max_values: int) -> list[str]:
    """Non-blank values occurring at least ``min_count`` times, the ``max_values`` most frequent first
    (ties in alphabetical order, so the vocabulary does not depend on row order)."""
    counts = pd.Series(values[values != ""], dtype=object).value_counts()
    counts = counts[counts >= min_count]
    ordered = sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))
    return [str(value) for value, _ in ordered[:max_values]]


def _one_hot(values: np.ndarray, vocabulary: list[str], prefix: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """``(n, len(vocabulary) + 1)`` indicators of single values ``(n,)``; blank values set none."""
    rows, labels = _node_labels(values, multi_valued=False)
    return _indicators(len(values), rows, labels, vocabulary, prefix)


def _indicators(
    n: int, rows: np.ndarray, labels: np.ndarray, vocabulary: list[str], prefix: str
) -> tuple[np.ndarray, tuple[str, ...]]:
    """``(n, len(vocabulary) + 1)`` indicators with a 1 at (row, label) for each pair of ``rows`` and
    ``labels`` (m,); the last column is ``other``, 1 where a row has a label outside ``vocabulary``."""
    position = {value: column for column, value in enumerate(vocabulary)}
    other = len(vocabulary)
    columns = pd.Series(labels, dtype=object).map(position).fillna(other).to_numpy(dtype=np.int64)
    indicators = np.zeros((n, other + 1), dtype=np.float64)
    indicators[rows, columns] = 1.0
    names = tuple(f"{prefix}={value}" for value in vocabulary) + (f"{prefix}=other",)
    return indicators, names
