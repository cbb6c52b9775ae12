"""Node and edge features of an imported Crunchbase export, free of leakage from later periods.

Node features use only the events at or before a cut-off time (by default the end of the training
period), and so do every vocabulary and every standardisation statistic: changing or deleting later
events cannot change them.

Node feature layout (one matrix for both kinds, row 0 is padding)::

    [is_company | unseen | company block ........ | investor block ........]

* ``is_company``: 1 for companies, 0 for investors (not standardised);
* ``unseen``: 1 for a node with no event up to the cut-off (not standardised); such a node has zeros
  everywhere else;
* company block (zeros on investor rows): category one-hot, country one-hot (each over the frequent
  values plus ``other``; columns present only when the export has the column), log total raised,
  log number of rounds, years since the first round;
* investor block (zeros on company rows): category one-hot, country one-hot, log median round size,
  log number of investments, share of seed / A / B / later-stage investments, years active (first to
  last investment), years since the last investment, log number of distinct co-investors.

Each block is standardised with the mean and standard deviation of the seen nodes of its kind, after
which unseen nodes and the other kind's rows are set back to zero.

Crunchbase repeats a round's total amount on every investor's row of that round, so amounts are
counted once per round (rows sharing the ``round`` id of the events frame).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tgnrank.data.crunchbase_values import STAGE_NAMES

DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class FeatureOptions:
    """How categorical values become one-hot columns.

    A category or country gets its own column when at least ``min_category_nodes`` seen nodes carry
    it, keeping the ``max_categories`` most frequent; the rest share the ``other`` column. Round types
    in the edge features keep the ``max_round_types`` most frequent types seen up to the cut-off.
    """

    max_categories: int = 20
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
    """Node features from ``events`` at or before ``cutoff`` (see the module docstring for the layout).

    ``events`` columns: ``company`` (ids 1..U), ``investor`` (ids U+1..U+I), ``ts`` (float days),
    ``amount`` (NaN when unknown), ``round`` (int round id), ``stage`` (int, -1 when unknown), and
    optionally ``company_category``, ``company_country``, ``investor_category``, ``investor_country``
    (strings, ``""`` when unknown).
    """
    past = events[events["ts"].to_numpy() <= cutoff]
    company_values, company_names, company_seen = _company_block(past, n_companies, cutoff, options)
    investor_values, investor_names, investor_seen = _investor_block(past, n_companies, n_investors, cutoff, options)
    company_values = _standardise(company_values, company_seen)
    investor_values = _standardise(investor_values, investor_seen)

    n_nodes = n_companies + n_investors
    d_company, d_investor = company_values.shape[1], investor_values.shape[1]
    matrix = np.zeros((n_nodes + 1, 2 + d_company + d_investor), dtype=np.float32)
    seen = np.concatenate([[False], company_seen, investor_seen])
    companies = slice(1, n_companies + 1)
    investors = slice(n_companies + 1, n_nodes + 1)
    matrix[companies, 0] = 1.0
    matrix[1:, 1] = ~seen[1:]
    matrix[companies, 2 : 2 + d_company] = company_values
    matrix[investors, 2 + d_company :] = investor_values
    names = ("is_company", "unseen") + company_names + investor_names
    return NodeFeatures(matrix=matrix, names=names, seen=seen)


def build_edge_features(events: pd.DataFrame, cutoff: float, options: FeatureOptions) -> tuple[np.ndarray, tuple[str, ...]]:
    """Edge features, one row per event in ``events`` order plus padding row 0: ``(n_events + 1, d)``.

    Columns: log1p(amount) (0 when unknown), amount-missing flag, and when ``events`` has a
    ``round_type`` column, a one-hot over the most frequent round types seen up to ``cutoff`` plus
    ``other`` (a blank round type has no column set).
    """
    amount = events["amount"].to_numpy(dtype=np.float64)
    missing = ~np.isfinite(amount)
    columns = [np.log1p(np.where(missing, 0.0, amount)), missing.astype(np.float64)]
    names = ["log1p_amount", "amount_missing"]
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


def _company_block(
    past: pd.DataFrame, n_companies: int, cutoff: float, options: FeatureOptions
) -> tuple[np.ndarray, tuple[str, ...], np.ndarray]:
    """Company features ``(U, d_c)``, their names, and which companies were seen ``(U,)``."""
    index = past["company"].to_numpy() - 1
    seen = np.bincount(index, minlength=n_companies) > 0
    rounds = past.drop_duplicates("round")
    round_index = rounds["company"].to_numpy() - 1
    round_amounts = np.nan_to_num(rounds["amount"].to_numpy(dtype=np.float64), nan=0.0)
    total_raised = np.bincount(round_index, weights=round_amounts, minlength=n_companies)
    n_rounds = np.bincount(round_index, minlength=n_companies)
    first_ts = _first_per_node(index, past["ts"].to_numpy(), n_companies)

    blocks, names = _categorical_columns(past, "company", index, n_companies, seen, options)
    numeric = np.column_stack(
        [np.log1p(total_raised), np.log1p(n_rounds), np.where(seen, (cutoff - first_ts) / DAYS_PER_YEAR, 0.0)]
    )
    names += ("company:log_total_raised", "company:log_n_rounds", "company:years_since_first_round")
    return np.column_stack(blocks + [numeric]), names, seen


def _investor_block(
    past: pd.DataFrame, n_companies: int, n_investors: int, cutoff: float, options: FeatureOptions
) -> tuple[np.ndarray, tuple[str, ...], np.ndarray]:
    """Investor features ``(I, d_i)``, their names, and which investors were seen ``(I,)``."""
    index = past["investor"].to_numpy() - 1 - n_companies
    seen = np.bincount(index, minlength=n_investors) > 0
    investments = past.drop_duplicates(["investor", "round"])
    investment_index = investments["investor"].to_numpy() - 1 - n_companies
    n_investments = np.bincount(investment_index, minlength=n_investors)
    safe_count = np.maximum(n_investments, 1)
    stage = investments["stage"].to_numpy()
    stage_shares = [
        np.bincount(investment_index, weights=(stage == code).astype(np.float64), minlength=n_investors) / safe_count
        for code in range(len(STAGE_NAMES))
    ]
    median_size = (
        pd.Series(investments["amount"].to_numpy(dtype=np.float64))
        .groupby(investment_index)
        .median()
        .reindex(range(n_investors))
        .fillna(0.0)
        .to_numpy()
    )
    timestamps = past["ts"].to_numpy()
    first_ts = _first_per_node(index, timestamps, n_investors)
    last_ts = _last_per_node(index, timestamps, n_investors)
    n_coinvestors = _distinct_coinvestors(investment_index, investments["round"].to_numpy(), n_investors)

    blocks, names = _categorical_columns(past, "investor", index, n_investors, seen, options)
    numeric = np.column_stack(
        [np.log1p(median_size), np.log1p(n_investments)]
        + stage_shares
        + [
            np.where(seen, (last_ts - first_ts) / DAYS_PER_YEAR, 0.0),
            np.where(seen, (cutoff - last_ts) / DAYS_PER_YEAR, 0.0),
            np.log1p(n_coinvestors),
        ]
    )
    names += (
        ("investor:log_median_round_size", "investor:log_n_investments")
        + tuple(f"investor:share_{stage_name}" for stage_name in STAGE_NAMES)
        + ("investor:years_active", "investor:years_since_last_investment", "investor:log_n_coinvestors")
    )
    return np.column_stack(blocks + [numeric]), names, seen


def _categorical_columns(
    past: pd.DataFrame, kind: str, index: np.ndarray, n: int, seen: np.ndarray, options: FeatureOptions
) -> tuple[list[np.ndarray], tuple[str, ...]]:
    """One-hot blocks for ``{kind}_category`` and ``{kind}_country`` when ``past`` has those columns."""
    blocks: list[np.ndarray] = []
    names: tuple[str, ...] = ()
    for attribute in ("category", "country"):
        column = f"{kind}_{attribute}"
        if column not in past:
            continue
        node_values = _mode_per_node(index, past[column].to_numpy(dtype=object), n)
        vocabulary = _frequent_values(node_values[seen], options.min_category_nodes, options.max_categories)
        one_hot, one_hot_names = _one_hot(node_values, vocabulary, f"{kind}:{attribute}")
        blocks.append(one_hot)
        names += one_hot_names
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


def _frequent_values(values: np.ndarray, min_count: int, max_values: int) -> list[str]:
    """Non-blank values occurring at least ``min_count`` times, the ``max_values`` most frequent first
    (ties in alphabetical order, so the vocabulary does not depend on row order)."""
    counts = pd.Series(values[values != ""], dtype=object).value_counts()
    counts = counts[counts >= min_count]
    ordered = sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))
    return [str(value) for value, _ in ordered[:max_values]]


def _one_hot(values: np.ndarray, vocabulary: list[str], prefix: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """``(n, len(vocabulary) + 1)`` indicators; the last column is ``other`` (known but rare values)."""
    position = {value: column for column, value in enumerate(vocabulary)}
    other = len(vocabulary)
    columns = pd.Series(values, dtype=object).map(position).fillna(other).to_numpy(dtype=np.int64)
    known = values != ""
    one_hot = np.zeros((len(values), other + 1), dtype=np.float64)
    one_hot[np.flatnonzero(known), columns[known]] = 1.0
    names = tuple(f"{prefix}={value}" for value in vocabulary) + (f"{prefix}=other",)
    return one_hot, names


def _first_per_node(index: np.ndarray, timestamps: np.ndarray, n: int) -> np.ndarray:
    """Earliest timestamp per node ``(n,)``; ``inf`` for nodes without events."""
    first = np.full(n, np.inf)
    np.minimum.at(first, index, timestamps)
    return first


def _last_per_node(index: np.ndarray, timestamps: np.ndarray, n: int) -> np.ndarray:
    """Latest timestamp per node ``(n,)``; ``-inf`` for nodes without events."""
    last = np.full(n, -np.inf)
    np.maximum.at(last, index, timestamps)
    return last


def _distinct_coinvestors(investor_index: np.ndarray, round_ids: np.ndarray, n_investors: int) -> np.ndarray:
    """Number of other investors sharing at least one round with each investor ``(n_investors,)``.

    ``(investor_index, round_ids)`` pairs must be distinct.
    """
    if len(investor_index) == 0:
        return np.zeros(n_investors)
    _, round_index = np.unique(round_ids, return_inverse=True)
    incidence = sp.csr_matrix(
        (np.ones(len(investor_index)), (investor_index, round_index)), shape=(n_investors, round_index.max() + 1)
    )
    together = (incidence @ incidence.T).tocsr()
    together.eliminate_zeros()
    has_rounds = np.asarray(incidence.sum(axis=1)).ravel() > 0
    return np.diff(together.indptr) - has_rounds


def _standardise(block: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """Standardise columns with the mean/std of the ``seen`` rows (std 0 -> 1); unseen rows become 0."""
    if not seen.any():
        return np.zeros_like(block)
    mean = block[seen].mean(axis=0)
    std = block[seen].std(axis=0)
    std[std == 0] = 1.0
    standardised = (block - mean) / std
    standardised[~seen] = 0.0
    return standardised
