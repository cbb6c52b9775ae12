"""Read a CSV export into a frame of text columns: encoding, separator and header spelling detection.

Exports come from several tools: UTF-8 (with or without BOM), UTF-16 (Excel's "Unicode text"),
Windows-1252 or Latin-1; ``,`` ``;`` or tab separators; headers such as ``"\ufeffCompany Name "``.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd

from tgnrank.errors import DataFormatError

ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
DELIMITERS = (",", ";", "\t")


def read_export(path: Path) -> tuple[pd.DataFrame, str]:
    """The export as a frame of stripped-header text columns (blanks as ``""``) and the encoding used."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (expected a Crunchbase investments CSV export)")
    text, encoding = _decode(path.read_bytes())
    if not text.strip():
        raise DataFormatError(f"{path}: the file is empty; expected a CSV export with a header row")
    header = text.lstrip("\ufeff").split("\n", 1)[0]
    delimiter = max(DELIMITERS, key=header.count)
    try:
        # header=None: the header fixes the field count, so a row with extra fields (an unquoted comma
        # in a name) is an error naming its line rather than a silently truncated or shifted row
        cells = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False, header=None)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise DataFormatError(f"{path}: cannot be read as CSV ({error})") from error
    frame = cells.iloc[1:].reset_index(drop=True).fillna("")
    frame.columns = _unique_names([_canonical_column(column) for column in cells.iloc[0].fillna("")])
    return frame, encoding.replace("-sig", "")


def _unique_names(names: list[str]) -> list[str]:
    """Repeated header names get ``.1``, ``.2``... so that the first one keeps the role it names."""
    counts: dict[str, int] = {}
    unique = []
    for name in names:
        unique.append(f"{name}.{counts[name]}" if name in counts else name)
        counts[name] = counts.get(name, 0) + 1
    return unique


def _decode(content: bytes) -> tuple[str, str]:
    """Text and encoding: UTF-16 when the file starts with its byte-order mark (Excel's "Unicode
    text"), UTF-8 (with or without BOM) when valid, else Windows-1252, else Latin-1 (any bytes)."""
    if content[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return content.decode("utf-16"), "utf-16"
    for encoding in ENCODINGS[:-1]:
        try:
            return content.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return content.decode(ENCODINGS[-1]), ENCODINGS[-1]


def _canonical_column(column: str) -> str:
    """``"\\ufeffCompany Name "`` -> ``"company_name"``: header spellings vary between export tools."""
    column = str(column).replace("\ufeff", "").replace("ï»¿", "").strip().strip('"').strip()
    return re.sub(r"[\s\-]+", "_", column.lower())
