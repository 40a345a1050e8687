"""Amazon flat-file reports as a stream of rows (pure; the caller supplies decoded lines).

Columns are found by header name, never by position (Amazon adds columns over time), unknown columns
are ignored, the ledger's surrounding double quotes are stripped (csv's quote handling does it at C
speed), and a BOM or stray spaces in the header do not matter. Rows stay lists: building a dict per
row would cost more than the parsing itself on a million-row ledger.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

csv.field_size_limit(1 << 20)


class HeaderError(ValueError):
    """The report has no header, or lacks a column the connector needs."""


@dataclass(frozen=True)
class Columns:
    """Positions of the wanted columns in one report's header (None: column absent)."""

    names: tuple[str, ...]
    positions: dict[str, int]

    def index(self, *aliases: str) -> int | None:
        for a in aliases:
            pos = self.positions.get(a.lower())
            if pos is not None:
                return pos
        return None

    def require(self, *aliases: str) -> int:
        pos = self.index(*aliases)
        if pos is None:
            raise HeaderError(f"report header lacks column {aliases[0]!r} (has: {', '.join(self.names)})")
        return pos


def parse_header(cells: Sequence[str]) -> Columns:
    names = tuple(c.strip().lstrip("\ufeff").strip().strip('"') for c in cells)
    return Columns(names, {n.lower(): i for i, n in enumerate(names) if n})


def read_rows(lines: Iterable[str]) -> tuple[Columns, Iterator[tuple[int, list[str]]]]:
    """Header and an iterator of (line number, cells); line 1 is the header. Blank lines are skipped.

    Raises :class:`HeaderError` for an empty document.
    """
    reader = csv.reader(lines, delimiter="\t", quotechar='"', strict=False)
    try:
        header = next(reader)
    except StopIteration:
        raise HeaderError("empty report (no header line)") from None
    columns = parse_header(header)

    def rows() -> Iterator[tuple[int, list[str]]]:
        for row in reader:
            if row and any(row):
                yield reader.line_num, row

    return columns, rows()


def cell(row: list[str], pos: int | None) -> str:
    if pos is None or pos >= len(row):
        return ""
    return row[pos].strip()


def parse_int(text: str) -> int | None:
    """Amazon writes integers, sometimes as "1.0"; anything else is malformed (None)."""
    t = text.strip()
    if not t:
        return None
    try:
        return int(t)
    except ValueError:
        try:
            f = float(t)
        except ValueError:
            return None
        return int(f) if f.is_integer() else None
