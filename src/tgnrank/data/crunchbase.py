"""Import a Crunchbase investments export (CSV) into the TGN ``ml_`` format.

One row of the export is one investment: an investor taking part in a company's funding round.
Each kept row becomes one event ``(company, investor, day)``. Companies get ids ``1..U`` and investors
``U+1..U+I``, both in order of first appearance in time; events are sorted by time (stably, so rows of
one round keep their file order) and ``ts`` is the number of days since 1970-01-01.

Exports are taken as they are: column aliases (see ``ROLE_COLUMNS``), a BOM, UTF-8 / Windows-1252 /
Latin-1 encodings, ``,`` ``;`` or tab separators, whitespace and case variations in names, amounts
written as text (``"2,000,000"``, ``"-"``), dates at day, month or year precision in several formats.

Node identity: when the export has permalinks, a permalink identifies a node (names collide: two
companies called "Fluid" are two nodes), and a row without a permalink falls back to its name; the
displayed name is always the name when there is one (the first spelling in time), with the permalink
appended when two nodes of a kind would otherwise show the same name. Without permalinks, the
case-insensitive, whitespace-normalised name identifies the node.

Rows are dropped, and counted by reason in the returned ``ImportSummary``, when the company or the
investor is empty, when the date cannot be read, lies before 1990 or in the future, or when the row
repeats an earlier one exactly (after cleaning names, dates and amounts).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tgnrank.data.activity import activity_feature_names
from tgnrank.data.arrays import group_ids
from tgnrank.data.crunchbase_features import FeatureOptions, build_edge_features, build_node_features, resolve_cutoff
from tgnrank.data.crunchbase_read import read_export
from tgnrank.data.crunchbase_summary import DROP_REASONS, ImportSummary
from tgnrank.data.crunchbase_values import (
    MONTH,
    UNPARSED,
    YEAR,
    category_sets,
    clean_text,
    map_distinct,
    normalise_round_type,
    parse_amounts,
    parse_dates,
    round_type_stages,
    size_stages,
    text_key,
)
from tgnrank.data.dates import day_to_iso, days_since_epoch
from tgnrank.data.events import COMPANY, INVESTOR, EventData, Interactions
from tgnrank.data.feature_schema import FeatureSchema
from tgnrank.errors import ConfigError, DataFormatError

logger = logging.getLogger(__name__)

# Accepted column names per role, in order of preference; a row takes the first non-blank value.
ROLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "company_name": ("company_name", "org_name", "organization_name"),
    "company_permalink": ("company_permalink",),
    "investor_name": ("investor_name",),
    "investor_permalink": ("investor_permalink",),
    "date": ("funded_when", "funded_at", "date", "announced_on", "funded_month", "funded_year"),
    "amount": ("amount_usd", "raised_amount_usd"),
    "round_type": ("funding_round_type", "investment_type"),
    "round_code": ("funding_round_code",),
    "round_id": ("funding_round_permalink", "funding_round_uuid"),
    "company_category": ("company_category_code", "company_market", "company_category_list"),
    "company_country": ("company_country_code",),
    "investor_category": ("investor_category_code", "investor_market", "investor_category_list"),
    "investor_country": ("investor_country_code",),
}
# A required role is satisfied by any one of these roles' columns.
REQUIRED_ROLES: dict[str, tuple[str, ...]] = {
    "company": ("company_name", "company_permalink"),
    "investor": ("investor_name", "investor_permalink"),
    "date": ("date",),
}

EARLIEST_DATE = np.datetime64("1990-01-01", "D")
DATASET_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


@dataclass(frozen=True)
class _ColumnMap:
    """Present columns per role (canonical names, in preference order) and the columns left unused."""

    roles: dict[str, tuple[str, ...]]
    ignored: tuple[str, ...]

    def has(self, role: str) -> bool:
        return bool(self.roles.get(role))


def import_crunchbase(
    path: str | Path,
    name: str,
    feature_cutoff: str | dt.date | None = None,
    train_quantile: float = 0.70,
    *,
    today: dt.date | None = None,
    feature_options: FeatureOptions | None = None,
) -> tuple[EventData, ImportSummary]:
    """Read a Crunchbase investments CSV export into an ``EventData`` named ``name``.

    Node features are static attributes (kind, category, country); their values and every vocabulary
    (also the edge features' round types) use only events at or before ``feature_cutoff`` (a date, or
    text such as ``"2012-06-30"``), by default the ``train_quantile`` time quantile of the events,
    which is where ``chronological_split`` ends the training period. Activity statistics are not
    stored: ``tgnrank.data.activity`` computes them as of each prediction. ``today`` (default: the current UTC date) bounds
    plausible dates. Raises ``DataFormatError`` for unreadable files or missing required columns,
    ``ConfigError`` for invalid arguments.
    """
    _validate_arguments(name, train_quantile)
    today = today or dt.datetime.now(dt.timezone.utc).date()
    path = Path(path)
    frame, encoding = read_export(path)
    columns = _resolve_columns(frame.columns, path)
    rows, dropped, unreadable = _clean_rows(frame, columns, today, path)
    rows = rows.iloc[np.argsort(rows["ts"].to_numpy(), kind="stable")].reset_index(drop=True)
    events, node_names, n_companies, n_investors = _assign_ids(rows)

    timestamps = events["ts"].to_numpy()
    cutoff, cutoff_label, cutoff_source = resolve_cutoff(feature_cutoff, timestamps, train_quantile, today)
    options = feature_options or FeatureOptions()
    node_features = build_node_features(events, n_companies, n_investors, cutoff, options)
    edge_features, edge_feature_names = build_edge_features(events, cutoff, options)

    n_events = len(events)
    data = EventData(
        name=name,
        events=Interactions(
            sources=events["company"].to_numpy(dtype=np.int64),
            destinations=events["investor"].to_numpy(dtype=np.int64),
            timestamps=timestamps.astype(np.float64),
            edge_idxs=np.arange(1, n_events + 1, dtype=np.int64),
            labels=np.zeros(n_events, dtype=np.int64),
        ),
        edge_features=edge_features,
        node_features=node_features.matrix,
        node_names=node_names,
        node_kinds=np.array([""] + [COMPANY] * n_companies + [INVESTOR] * n_investors, dtype=object),
        feature_schema=FeatureSchema(
            static_names=node_features.names,
            edge_names=edge_feature_names,
            activity_edge_columns=tuple(range(len(edge_feature_names))),
        ),
    )
    precision = rows["precision"].to_numpy()
    seen = node_features.seen
    summary = ImportSummary(
        path=str(path),
        encoding=encoding,
        columns_used={role: present for role, present in columns.roles.items() if present},
        columns_ignored=columns.ignored,
        node_identity=_identity_description(columns),
        n_rows=len(frame),
        dropped=dropped,
        n_events=n_events,
        n_companies=n_companies,
        n_investors=n_investors,
        n_amount_missing=int(np.isnan(rows["amount"].to_numpy()).sum()),
        n_amount_unreadable=unreadable,
        n_month_precision=int((precision == MONTH).sum()),
        n_year_precision=int((precision == YEAR).sum()),
        first_date=day_to_iso(timestamps.min()),
        last_date=day_to_iso(timestamps.max()),
        feature_cutoff=cutoff_label,
        cutoff_source=cutoff_source,
        n_events_before_cutoff=int((timestamps <= cutoff).sum()),
        n_companies_seen=int(seen[1 : n_companies + 1].sum()),
        n_investors_seen=int(seen[n_companies + 1 :].sum()),
        stage_source=(
            "round types (round sizes where the type is blank)" if columns.has("round_type") else "round sizes (no round type column)"
        ),
        node_feature_names=node_features.names,
        edge_feature_names=edge_feature_names,
        activity_feature_names=activity_feature_names(edge_feature_names),
    )
    return data, summary


def _validate_arguments(name: str, train_quantile: float) -> None:
    if not DATASET_NAME.match(name or ""):
        raise ConfigError(
            f"name must be a plain dataset stem (letters, digits, '_', '-', '.'), got {name!r}",
            parameters=("name",),
        )
    if not 0.0 < train_quantile < 1.0:
        raise ConfigError(
            f"train_quantile must lie strictly between 0 and 1, got {train_quantile}",
            parameters=("train_quantile",),
        )


def _resolve_columns(found: pd.Index, path: Path) -> _ColumnMap:
    present = set(found)
    roles = {role: tuple(column for column in aliases if column in present) for role, aliases in ROLE_COLUMNS.items()}
    missing = [role for role, options in REQUIRED_ROLES.items() if not any(roles[option] for option in options)]
    if missing:
        accepted = "; ".join(
            f"{role}: {' or '.join(column for option in options for column in ROLE_COLUMNS[option])}"
            for role, options in REQUIRED_ROLES.items()
        )
        raise DataFormatError(
            f"{path}: no column for {', '.join(missing)}. Found columns: {', '.join(map(str, found)) or 'none'}. "
            f"Accepted names ({accepted})"
        )
    if not roles["amount"]:
        logger.warning("%s: no amount column (accepted: %s); every amount is unknown", path, " or ".join(ROLE_COLUMNS["amount"]))
    used = {column for columns in roles.values() for column in columns}
    return _ColumnMap(roles=roles, ignored=tuple(str(column) for column in found if column not in used))


def _clean_rows(
    frame: pd.DataFrame, columns: _ColumnMap, today: dt.date, path: Path
) -> tuple[pd.DataFrame, dict[str, int], int]:
    """Cleaned, kept rows (file order), the drop count per reason, and the number of unreadable amounts kept.

    Output columns: ``company_key``, ``company_display``, ``company_permalink``, the same for
    ``investor``, ``ts``, ``precision``, ``amount``, ``round_id`` and, when the export has them,
    ``round_type``, ``company_category``, ``company_country``, ``investor_category``, ``investor_country``.
    """
    rows = pd.DataFrame(index=frame.index)
    for kind in ("company", "investor"):
        key, display, permalink = _node_identity(frame, columns, kind)
        rows[f"{kind}_key"], rows[f"{kind}_display"], rows[f"{kind}_permalink"] = key, display, permalink
    dates, precision = _coalesce_dates(frame, columns.roles["date"], today)
    rows["ts"] = days_since_epoch(dates)
    rows["precision"] = precision
    amounts, unreadable = parse_amounts(_coalesce_text(frame, columns.roles["amount"]))
    rows["amount"] = amounts
    rows["round_id"] = _coalesce_text(frame, columns.roles["round_id"])
    if columns.has("round_type"):
        code = _coalesce_text(frame, columns.roles["round_code"]) if columns.has("round_code") else None
        rows["round_type"] = normalise_round_type(_coalesce_text(frame, columns.roles["round_type"]), code)
    for role in ("company_category", "company_country", "investor_category", "investor_country"):
        if columns.has(role):
            rows[role] = _attribute(frame, columns.roles[role], country=role.endswith("country"))

    reasons = {
        "empty_company": rows["company_key"].to_numpy() == "",
        "empty_investor": rows["investor_key"].to_numpy() == "",
        "bad_date": precision == UNPARSED,
        "early_date": dates < EARLIEST_DATE,
        "future_date": dates > np.datetime64(today, "D"),
    }
    keep = np.ones(len(rows), dtype=bool)
    dropped: dict[str, int] = {}
    for reason, rejected in reasons.items():
        rejected = rejected & keep
        dropped[reason] = int(rejected.sum())
        keep &= ~rejected
    duplicate = np.zeros(len(rows), dtype=bool)
    duplicate[keep] = _duplicate_rows(rows[keep], frame[keep], columns)
    dropped["duplicate"] = int(duplicate.sum())
    keep &= ~duplicate
    if not keep.any():
        counts = ", ".join(f"{DROP_REASONS[reason]}: {count}" for reason, count in dropped.items() if count)
        raise DataFormatError(f"{path}: no usable rows among {len(frame)} ({counts or 'the file has no data rows'})")
    return rows[keep].reset_index(drop=True), dropped, int(unreadable[keep].sum())


def _node_identity(frame: pd.DataFrame, columns: _ColumnMap, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: the node key (``""`` when empty), the display name and the permalink (``""`` if none)."""
    name = clean_text(_coalesce_text(frame, columns.roles[f"{kind}_name"]))
    permalink = clean_text(_coalesce_text(frame, columns.roles[f"{kind}_permalink"]))
    name_key = text_key(name)
    key = np.where(name_key != "", "name:" + name_key.astype(str), "")
    if columns.has(f"{kind}_permalink"):
        permalink_key = text_key(permalink)
        key = np.where(permalink_key != "", "permalink:" + permalink_key.astype(str), key)
    display = np.where(name != "", name, permalink)
    return key.astype(object), display.astype(object), permalink


def _coalesce_text(frame: pd.DataFrame, names: tuple[str, ...]) -> pd.Series:
    """First non-blank value across ``names`` per row; all ``""`` when no such column exists."""
    if len(names) == 1:
        return frame[names[0]]
    result = pd.Series("", index=frame.index, dtype=object)
    for name in reversed(names):
        values = frame[name].astype(object)
        blank = map_distinct(values, lambda uniques: (uniques.str.strip() == "").to_numpy())
        result = values.where(~blank.astype(bool), result)
    return result


def _attribute(frame: pd.DataFrame, names: tuple[str, ...], country: bool) -> np.ndarray:
    """A categorical attribute coalesced over ``names`` (the first column with a value): upper-case
    country codes, or a category's canonical label set (``category_sets``, parsed per column)."""
    result = np.full(len(frame), "", dtype=object)
    for name in reversed(names):
        values = clean_text(frame[name])
        if country:
            values = map_distinct(pd.Series(values, dtype=object), lambda uniques: uniques.str.upper().to_numpy(dtype=object))
        else:
            values = category_sets(values)
        result = np.where(values != "", values, result)
    return result


def _coalesce_dates(frame: pd.DataFrame, names: tuple[str, ...], today: dt.date) -> tuple[np.ndarray, np.ndarray]:
    """Dates ``(n,) datetime64[D]`` and precision ``(n,)`` from the first date column that parses per row."""
    dates = np.full(len(frame), np.datetime64("NaT"), dtype="datetime64[D]")
    precision = np.zeros(len(frame), dtype=np.int8)
    for name in names:
        pending = precision == UNPARSED
        if not pending.any():
            break
        parsed, parsed_precision = parse_dates(frame[name], today)
        take = pending & (parsed_precision > UNPARSED)
        dates[take] = parsed[take]
        precision[take] = parsed_precision[take]
    return dates, precision


def _duplicate_rows(rows: pd.DataFrame, raw: pd.DataFrame, columns: _ColumnMap) -> np.ndarray:
    """Rows equal to an earlier row once cleaned: same node keys, day, amount and round fields, and the
    same text in every column the importer does not interpret. Shape ``(len(rows),)``."""
    compared = rows.drop(columns=["company_display", "investor_display", "company_permalink", "investor_permalink"])
    compared = compared.assign(amount=compared["amount"].fillna(-1.0))
    for column in columns.ignored:
        compared[f"raw:{column}"] = raw[column].astype(object).str.strip().to_numpy()
    return compared.duplicated(keep="first").to_numpy()


def _assign_ids(rows: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, int, int]:
    """Number nodes by first appearance in the (time-sorted) ``rows``.

    Returns the events frame for ``build_node_features``, node names ``(n_nodes + 1,)`` (entry 0
    empty), and the numbers of companies and investors.
    """
    company_codes, company_keys = pd.factorize(rows["company_key"], sort=False)
    investor_codes, investor_keys = pd.factorize(rows["investor_key"], sort=False)
    n_companies, n_investors = len(company_keys), len(investor_keys)
    company_names = _display_names(rows, "company", company_codes)
    investor_names = _display_names(rows, "investor", investor_codes)
    node_names = np.concatenate([[""], company_names, investor_names]).astype(object)

    events = rows.drop(
        columns=["company_key", "investor_key", "company_display", "investor_display", "company_permalink", "investor_permalink"]
    )
    events["company"] = company_codes + 1
    events["investor"] = investor_codes + 1 + n_companies
    events["round"] = _round_ids(events)
    if "round_type" in events:
        stage = round_type_stages(events["round_type"].to_numpy(dtype=object))
        blank = events["round_type"].to_numpy(dtype=object) == ""
        stage[blank] = size_stages(events["amount"].to_numpy()[blank])
    else:
        stage = size_stages(events["amount"].to_numpy())
    events["stage"] = stage
    return events, node_names, n_companies, n_investors


def _display_names(rows: pd.DataFrame, kind: str, codes: np.ndarray) -> np.ndarray:
    """Each node's first display name in time; the permalink is appended where names collide. ``(n,)``."""
    first_rows = np.unique(codes, return_index=True)[1]
    names = rows[f"{kind}_display"].to_numpy(dtype=object)[first_rows]
    permalinks = rows[f"{kind}_permalink"].to_numpy(dtype=object)[first_rows]
    folded = pd.Series(names, dtype=object).str.casefold()
    collides = folded.duplicated(keep=False).to_numpy() & (permalinks != "") & (names != permalinks)
    names = names.copy()
    names[collides] = names[collides] + " [" + permalinks[collides] + "]"
    return names


def _round_ids(events: pd.DataFrame) -> np.ndarray:
    """Integer id of each event's funding round ``(n,)``: the export's round id when given, else the
    company, day, round type and amount together (the round total repeats on every investor's row)."""
    given = events["round_id"].to_numpy(dtype=object) != ""
    keys = [
        events["round_id"].to_numpy(dtype=object),
        np.where(given, 0, events["company"].to_numpy()),
        np.where(given, 0.0, events["ts"].to_numpy()),
        np.where(given, -1.0, events["amount"].fillna(-1.0).to_numpy()),
    ]
    if "round_type" in events:
        keys.append(np.where(given, "", events["round_type"].to_numpy(dtype=object)))
    return group_ids(*keys)


def _identity_description(columns: _ColumnMap) -> str:
    parts = []
    for kind in ("company", "investor"):
        if columns.has(f"{kind}_permalink"):
            parts.append(f"{kind}: permalink (name shown; the name where a row has no permalink)")
        else:
            parts.append(f"{kind}: case-insensitive name")
    return "; ".join(parts)
