"""Reading the connector's emails in tests the way a person reads them: table rows as cell texts, and
the subject without the stack / stage / marketplace prefix every email carries (issue 17)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

PREFIX = re.compile(r"^\[(?P<stack>[^\]]+) · (?P<stage>[^\]]+)\] (?P<markets>[^:]+): ")


class _Rows(HTMLParser):
    def __init__(self, data_only: bool) -> None:
        super().__init__()
        self.data_only = data_only
        self.tables: list[bool] = []  # open tables: is each a data table (class="data")
        self.rows: list[list[str]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append("data" in (dict(attrs).get("class") or "").split())
        elif tag == "tr" and (not self.data_only or (self.tables and self.tables[-1])):
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self.tables:
            self.tables.pop()
        elif tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def table_rows(html: str, *, data_only: bool = False) -> list[list[str]]:
    """Every table row of the HTML (header rows too) as its cells' visible text; ``data_only``: only the
    rows of data tables (class="data"), not the layout ones."""
    parser = _Rows(data_only)
    parser.feed(html)
    return parser.rows


def has_row(html: str, *cells: object) -> bool:
    """A row starts with these cells (as text)."""
    want = [str(c) for c in cells]
    return any(r[:len(want)] == want for r in table_rows(html))


def skus_in_tables(html: str) -> set[str]:
    return {r[0] for r in table_rows(html) if r}


def title(subject: str) -> str:
    """The subject without its ``[stack · stage] markets: `` prefix (asserting the prefix is there)."""
    m = PREFIX.match(subject)
    assert m, f"subject without the stack / stage / marketplace prefix: {subject!r}"
    return subject[m.end():]
