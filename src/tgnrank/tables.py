"""Plain-text tables for what the commands print."""

from __future__ import annotations

from collections.abc import Sequence


def text_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    align: str | None = None,
    gap: int = 2,
    indent: int = 0,
    min_width: int = 0,
) -> list[str]:
    """Lines of a table: the header, a rule of dashes as wide as the header, then one line per row.

    ``align`` holds ``"l"`` or ``"r"`` per column (default: the first column left, the others right);
    columns are ``gap`` spaces apart and at least ``min_width`` wide; every line starts with ``indent``
    spaces and carries no trailing spaces.
    """
    align = align or "l" + "r" * (len(header) - 1)
    widths = [max(min_width, *(len(str(row[column])) for row in [header, *rows])) for column in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = [
            str(cell).ljust(width) if side == "l" else str(cell).rjust(width)
            for cell, width, side in zip(cells, widths, align)
        ]
        return (" " * indent + (" " * gap).join(padded)).rstrip()

    head = line(header)
    return [head, " " * indent + "-" * (len(head) - indent), *(line(row) for row in rows)]
