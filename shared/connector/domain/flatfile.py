"""Amazon flat-file reports as a stream of rows (pure; the caller supplies decoded lines).

Each physical line is one row: cells are separated by tabs and there is **no CSV quoting** across
lines. Amazon does not escape double quotes in its flat files (a title or a customer comment may hold
a lone ``"``; selling-partner-api-models#4367, and every SP-API client that parses reports turns quote
handling off: jrl84/amazon-sp-api#22, bhushankummar/amazon-mws#43), so a quote can never open a field
that swallows the following lines. The ledger's style of wrapping every cell in double quotes is
undone per cell (``""`` inside such a cell read as one ``"``); a cell that is not wholly wrapped is
taken literally.

Columns are found by header name, never by position (Amazon adds columns over time), unknown columns
are ignored, and a BOM or stray spaces in the header do not matter. Rows stay lists: building a dict
per row would cost more than the parsing itself on a million-row ledger.

Every physical line after the header is accounted for (:class:`LineTally`): a blank line is skipped
with its reason, a line whose field count differs from the header's is handed to ``on_bad`` (the
movements reader quarantines it with its line number) instead of being guessed at.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

QUARANTINE_SAMPLE = 200  # (line, reason) pairs kept on a report's tally; the count is always exact


@dataclass
class LineTally:
    """What became of every physical line of one report after its header.

    ``lines_in == applied + sum(skipped) + quarantined + sum(pending)`` once the report is applied:
    ``applied`` lines reached Brightpearl (or a movement already applied by an earlier read),
    ``skipped`` lines need nothing, by reason; ``quarantined`` lines could not be understood (their
    line numbers and reasons in ``quarantined_lines``, at most QUARANTINE_SAMPLE of them); ``pending``
    lines are movements recorded but not finished yet (no product link, order not in Brightpearl,
    a write to retry, dry run), by status, and the hourly retry drives them on.
    """

    lines_in: int = 0
    applied: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    quarantined: int = 0
    quarantined_lines: list[list[Any]] = field(default_factory=list)
    pending: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str, n: int = 1) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + n

    def quarantine(self, line: int, reason: str, n: int = 1) -> None:
        self.quarantined += n
        if len(self.quarantined_lines) < QUARANTINE_SAMPLE:
            self.quarantined_lines.append([line, reason])

    def wait(self, status: str, n: int = 1) -> None:
        self.pending[status] = self.pending.get(status, 0) + n

    @property
    def accounted(self) -> int:
        return self.applied + sum(self.skipped.values()) + self.quarantined + sum(self.pending.values())

    @property
    def balanced(self) -> bool:
        return self.accounted == self.lines_in

    def as_dict(self) -> dict[str, Any]:
        return {"lines_in": self.lines_in, "applied": self.applied, "skipped": dict(self.skipped),
                "quarantined": self.quarantined, "quarantined_lines": [list(q) for q in self.quarantined_lines],
                "pending": dict(self.pending), "accounted": self.accounted}


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


BLANK_LINE = "blank line"
BadLine = Callable[[int, str, str], None]  # (line number, reason, the line as read)


def split_line(line: str) -> list[str]:
    """One physical line → its cells (tab-separated, no CSV quoting; see the module docstring)."""
    text = line.rstrip("\r\n")
    if '"' not in text:
        return text.split("\t")
    if text[:1] == '"' and text[-1:] == '"':
        # The ledger's style, every cell wrapped: one split at C speed, checked by counting quotes
        # (a cell holding a quote of its own takes the careful path below).
        cells = text[1:-1].split('"\t"')
        if text.count('"') == 2 * len(cells):
            return cells
    return [_unwrap(c) for c in text.split("\t")]


def _unwrap(c: str) -> str:
    if len(c) >= 2 and c[0] == '"' and c[-1] == '"':
        return c[1:-1].replace('""', '"')
    return c


def read_rows(lines: Iterable[str], *, tally: LineTally | None = None, on_bad: BadLine | None = None,
              ) -> tuple[Columns, Iterator[tuple[int, list[str]]]]:
    """Header and an iterator of (line number, cells); line 1 is the header. Blank lines are skipped.

    With ``on_bad``, a line whose field count differs from the header's is not yielded but handed to
    it (surplus cells that are all empty are tolerated and dropped); with ``tally``, blank lines are
    counted as skipped and ``lines_in`` is set once the rows are exhausted. Raises
    :class:`HeaderError` for an empty document.
    """
    it = iter(lines)
    header: list[str] | None = None
    line_no = 0
    for raw in it:
        line_no += 1
        cells = split_line(raw)
        if any(c.strip() for c in cells):
            header = cells
            break
    if header is None:
        raise HeaderError("empty report (no header line)")
    columns = parse_header(header)
    header_line, width = line_no, len(header)

    def rows() -> Iterator[tuple[int, list[str]]]:
        n = header_line
        blank = 0
        try:
            for raw in it:
                n += 1
                row = split_line(raw)
                if not any(row):
                    blank += 1
                    continue
                if on_bad is not None and len(row) != width:
                    if len(row) > width and not any(row[width:]):
                        row = row[:width]
                    else:
                        on_bad(n, f"line has {len(row)} field(s), the header has {width}: not guessed",
                               raw.rstrip("\r\n"))
                        continue
                yield n, row
        finally:
            if tally is not None:
                tally.lines_in += n - header_line
                if blank:
                    tally.skip(BLANK_LINE, blank)

    return columns, rows()


type Rows = Iterator[tuple[int, list[str]]]


def read_items[T, B](lines: Iterable[str], parse: Callable[[Columns, Rows], Iterable[T]],
                     bad: Callable[[int, str, str], B], *, tally: LineTally | None = None) -> Iterator[T | B]:
    """A report's items as ``parse`` reads them from its rows, with each malformed line (``bad(line, reason,
    raw)``, see :func:`read_rows`'s ``on_bad``) in file order among them: the lines a parser read past come
    out before the item it yields next. A document with no header yields nothing; a ``HeaderError`` that
    ``parse`` raises (a needed column missing) reaches the caller."""
    met: deque[B] = deque()
    try:
        columns, rows = read_rows(lines, tally=tally, on_bad=lambda n, reason, raw: met.append(bad(n, reason, raw)))
    except HeaderError:
        return
    for item in parse(columns, rows):
        while met:
            yield met.popleft()
        yield item
    yield from met


def cell(row: list[str], pos: int | None) -> str:
    if pos is None or pos >= len(row):
        return ""
    return row[pos].strip()


# No single report row moves more units than this (a whole FC pallet run is a few thousand); a larger
# figure is a corrupt cell ("99999999999"), quarantined rather than applied.
MAX_ROW_UNITS = 100_000
_INTEGER = re.compile(r"[+-]?[0-9]+(?:\.0*)?")


def parse_int(text: str) -> int | None:
    """Amazon writes integers, sometimes as "1.0"; anything else ("1e3", "2.5", "") is malformed (None)."""
    t = text.strip()
    if not _INTEGER.fullmatch(t):
        return None
    return int(t.split(".", 1)[0])
