"""Tables as kubectl prints them: a tabwriter pads every column but the last, so a column's text
starts where its header starts. Shared by the events and pods table parsers."""

from __future__ import annotations

import re

_HEADER_CELL = re.compile(r"\S+(?: \S+)*")


def header_cells(line: str) -> list[tuple[str, int]]:
    """(upper-case header, start offset) for every column of a header line."""
    return [(m.group(0).upper(), m.start()) for m in _HEADER_CELL.finditer(line)]


def slice_row(columns: list[tuple[str, int]], line: str) -> dict[str, str] | None:
    """The row's cells by header, or None when the line does not line up with the header."""
    cells: dict[str, str] = {}
    for i, (name, start) in enumerate(columns):
        end = columns[i + 1][1] if i + 1 < len(columns) else None
        if 0 < start <= len(line) and line[start - 1] != " ":
            return None
        cells[name] = line[start:end].strip()
    return cells
