"""Vectorised parsers for the messy values of Crunchbase exports: names, category lists, dates, amounts,
round types.

Every parser works on the *distinct* values of a column (``pd.factorize``) and maps the results back,
so an 80,000-row export costs a few thousand string operations, not 80,000.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

# Date precision codes: how much of a date the export actually knew.
UNPARSED, YEAR, MONTH, DAY = 0, 1, 2, 3

# Investment stages for the investors' stage mix; NO_STAGE for debt, grants, undisclosed, ...
NO_STAGE, SEED, SERIES_A, SERIES_B, LATER = -1, 0, 1, 2, 3
STAGE_NAMES = ("seed", "a", "b", "later")
# Round-size buckets (USD) standing in for the stage when a row has no round type: upper bounds of
# seed, series A and series B; larger rounds count as later stage.
STAGE_SIZE_BOUNDS = (1.5e6, 10e6, 30e6)

# Joins the labels of a list-valued category cell once canonical (``category_sets``).
LABEL_SEPARATOR = "|"

AMOUNT_PLACEHOLDERS = frozenset({"", "-", "--", "n/a", "na", "nan", "none", "null", "undisclosed", "unknown", "?"})


def map_distinct(values: pd.Series, transform) -> np.ndarray:
    """Apply ``transform`` (Series of distinct values -> array-like of the same length) to each
    distinct value once and broadcast the result back to every row. Returns shape ``(len(values),)``."""
    codes, uniques = pd.factorize(values.fillna(""), sort=False)
    if len(uniques) == 0:
        return np.empty(0, dtype=object)
    results = np.asarray(transform(pd.Series(uniques, dtype=object)))
    return results[codes]


def clean_text(values: pd.Series) -> np.ndarray:
    """Unicode-normalised (NFC), whitespace-collapsed, stripped text; ``""`` for blanks. Shape ``(n,)``."""

    def transform(uniques: pd.Series) -> np.ndarray:
        text = uniques.astype(str).str.normalize("NFC").str.replace(r"\s+", " ", regex=True).str.strip()
        return text.to_numpy(dtype=object)

    return map_distinct(values, transform)


def text_key(cleaned: np.ndarray) -> np.ndarray:
    """Case-insensitive identity of cleaned text: "Sequoia Capital" and "SEQUOIA  capital" agree."""
    return map_distinct(pd.Series(cleaned, dtype=object), lambda uniques: uniques.str.casefold().to_numpy(dtype=object))


def category_sets(cleaned: np.ndarray) -> np.ndarray:
    """Canonical label sets of one category column's cleaned cells, shape ``(n,)``: the labels of a
    cell stripped, case-folded, deduplicated, sorted and joined with ``LABEL_SEPARATOR``, ``""`` when
    none; ``"|3D Printing|e-commerce| 3d printing"`` -> ``"3d printing|e-commerce"``.

    A column with a ``|`` in any cell is a ``|``-separated list (Crunchbase's own format), and a comma
    inside a label is kept. A column without any ``|`` is split on ``,`` (the other exports' lists);
    a single-valued column has neither, so each cell is one label. The separator is a property of the
    file's format and is decided over the whole column, so a file mixing both formats over time reads
    its early cells by its overall format.
    """
    distinct = pd.Series(pd.unique(cleaned), dtype=object)
    separator = "|" if distinct.str.contains("|", regex=False).any() else ","

    def transform(uniques: pd.Series) -> np.ndarray:
        labels = uniques.str.split(separator, regex=False).explode().str.strip().str.casefold()
        labels = labels[labels != ""]
        frame = pd.DataFrame({"cell": labels.index, "label": labels.to_numpy(dtype=object)}).drop_duplicates()
        joined = frame.sort_values(["cell", "label"]).groupby("cell")["label"].agg(LABEL_SEPARATOR.join)
        result = np.full(len(uniques), "", dtype=object)
        result[joined.index.to_numpy()] = joined.to_numpy(dtype=object)
        return result

    return map_distinct(pd.Series(cleaned, dtype=object), transform)


def parse_dates(values: pd.Series, today: dt.date) -> tuple[np.ndarray, np.ndarray]:
    """Parse export dates. Returns ``(dates (n,) datetime64[D] with NaT, precision (n,) int8)``.

    Accepted: ``2012-03-01`` (also with ``/`` or ``.``, and a trailing time), ``20120301``, ``2012-03``,
    ``03/2012``, ``2012`` (also ``2012.0``), ``03/01/2012`` and ``03/01/12`` (month first, as in US
    exports, unless the first number exceeds 12), and spelled-out months (``Mar 1, 2012``). A date known
    only to the month is placed on its first day, one known only to the year on January 1st.
    """
    today_year = today.year

    def transform(uniques: pd.Series) -> np.ndarray:
        text = uniques.astype(str).str.strip()
        year = np.full(len(text), -1, dtype=np.int64)
        month = np.ones(len(text), dtype=np.int64)
        day = np.ones(len(text), dtype=np.int64)
        precision = np.zeros(len(text), dtype=np.int8)

        def fill(pattern: str, level: int, month_first_ambiguous: bool = False) -> None:
            pending = precision == UNPARSED
            if not pending.any():
                return
            found = text[pending].str.extract(pattern)
            hit = found["y"].notna().to_numpy()
            rows = np.flatnonzero(pending)[hit]
            found = found[hit]
            years = found["y"].astype(np.int64).to_numpy()
            short = years < 100
            century_2000 = 2000 + years
            years = np.where(short & (century_2000 <= today_year), century_2000, np.where(short, 1900 + years, years))
            year[rows] = years
            if month_first_ambiguous:
                first = found["a"].astype(np.int64).to_numpy()
                second = found["b"].astype(np.int64).to_numpy()
                day_first = first > 12
                month[rows] = np.where(day_first, second, first)
                day[rows] = np.where(day_first, first, second)
            else:
                if "m" in found:
                    month[rows] = found["m"].astype(np.int64).to_numpy()
                if "d" in found:
                    day[rows] = found["d"].astype(np.int64).to_numpy()
            precision[rows] = level

        fill(r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?:[ T].*)?$", DAY)
        fill(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$", DAY)
        fill(r"^(?P<y>\d{4})(?:\.0+)?$", YEAR)
        fill(r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})$", MONTH)
        fill(r"^(?P<m>\d{1,2})[-/.](?P<y>\d{4})$", MONTH)
        fill(r"^(?P<a>\d{1,2})[-/.](?P<b>\d{1,2})[-/.](?P<y>\d{4}|\d{2})(?:[ T].*)?$", DAY, month_first_ambiguous=True)

        dates = _compose_dates(year, month, day, precision > UNPARSED)
        spelled = (precision == UNPARSED) & text.str.contains(r"[A-Za-z]", regex=True).to_numpy()
        if spelled.any():
            parsed = pd.to_datetime(text[spelled], errors="coerce", format="mixed")
            parsed_days = parsed.to_numpy().astype("datetime64[D]")
            dates[spelled] = parsed_days
            precision[spelled] = np.where(np.isnat(parsed_days), UNPARSED, DAY)
        precision[np.isnat(dates)] = UNPARSED
        return np.rec.fromarrays([dates, precision], names=("date", "precision"))

    records = map_distinct(values, transform)
    if len(records) == 0:
        return np.empty(0, dtype="datetime64[D]"), np.empty(0, dtype=np.int8)
    return records["date"].astype("datetime64[D]"), records["precision"].astype(np.int8)


def _compose_dates(year: np.ndarray, month: np.ndarray, day: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``datetime64[D]`` from integer parts, NaT where ``valid`` is False or the parts name no real day."""
    valid = valid & (year >= 1) & (year <= 9999) & (month >= 1) & (month <= 12) & (day >= 1)
    months = np.where(valid, (year - 1970) * 12 + (month - 1), 0).astype("datetime64[M]")
    month_start = months.astype("datetime64[D]")
    month_length = ((months + 1).astype("datetime64[D]") - month_start).astype(np.int64)
    valid &= day <= month_length
    dates = month_start + (day - 1).clip(0)
    dates[~valid] = np.datetime64("NaT")
    return dates


def parse_amounts(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Parse USD amounts such as ``2000000``, ``"2,000,000"``, ``"$2,000,000.00"``, ``"-"`` or blank.

    Returns ``(amounts (n,) float64 with NaN when unknown, unreadable (n,) bool)``. Placeholders
    (blank, ``-``, ``n/a``, ...) and zero are "unknown" (Crunchbase writes 0 for undisclosed rounds);
    text that is not a number, negative or infinite amounts are also unknown and flagged unreadable.
    """

    def transform(uniques: pd.Series) -> np.ndarray:
        text = uniques.astype(str).str.strip().str.casefold()
        placeholder = text.isin(AMOUNT_PLACEHOLDERS).to_numpy()
        digits = text.str.replace(r"usd|[\s,$_]", "", regex=True)
        number = pd.to_numeric(digits, errors="coerce").to_numpy(dtype=np.float64)
        readable = np.isfinite(number) & (number >= 0)
        amount = np.where(readable & (number > 0), number, np.nan)
        return np.rec.fromarrays([amount, ~readable & ~placeholder], names=("amount", "unreadable"))

    records = map_distinct(values, transform)
    if len(records) == 0:
        return np.empty(0, dtype=np.float64), np.empty(0, dtype=bool)
    return records["amount"].astype(np.float64), records["unreadable"].astype(bool)


def normalise_round_type(round_type: np.ndarray, round_code: np.ndarray | None) -> np.ndarray:
    """Lower-case, ``_``-joined round types (``"Series A"`` -> ``"series_a"``). A ``venture`` round with a
    ``funding_round_code`` (the 2014 export's way of saying A, B, C...) becomes ``series_<code>``."""
    types = map_distinct(
        pd.Series(round_type, dtype=object),
        lambda uniques: uniques.str.casefold().str.replace(r"[\s\-]+", "_", regex=True).str.strip("_").to_numpy(dtype=object),
    )
    if round_code is not None:
        codes = map_distinct(
            pd.Series(round_code, dtype=object), lambda uniques: uniques.str.casefold().str.strip().to_numpy(dtype=object)
        )
        coded_venture = ((types == "venture") | (types == "")) & (codes != "")
        types = np.where(coded_venture, "series_" + codes.astype(str), types).astype(object)
    return types


def round_type_stages(round_types: np.ndarray) -> np.ndarray:
    """Stage code (SEED, SERIES_A, SERIES_B, LATER or NO_STAGE) of normalised round types. Shape ``(n,)``."""

    def transform(uniques: pd.Series) -> np.ndarray:
        stage = np.full(len(uniques), NO_STAGE, dtype=np.int8)
        rules = (
            (LATER, r"^(?:series_)?[c-j](?:\+|_|$)|private_equity|post_ipo|growth|late_stage|mezzanine"),
            (SERIES_B, r"^(?:series_)?b(?:_|$)"),
            (SERIES_A, r"^(?:series_)?a(?:_|$)"),
            (SEED, r"seed|angel"),
        )
        for code, pattern in rules:
            stage[(stage == NO_STAGE) & uniques.str.contains(pattern, regex=True).to_numpy()] = code
        return stage

    return map_distinct(pd.Series(round_types, dtype=object), transform).astype(np.int8)


def size_stages(amounts: np.ndarray) -> np.ndarray:
    """Stage code guessed from the round size when no round type is known; NO_STAGE for unknown sizes."""
    stage = np.searchsorted(np.asarray(STAGE_SIZE_BOUNDS), amounts, side="right").astype(np.int8)
    stage[~np.isfinite(amounts)] = NO_STAGE
    return stage
