"""CSV attachments a merchant opens in a spreadsheet: safe against formula injection.

SKUs, titles and notes come from Brightpearl and Amazon, so a value such as ``=HYPERLINK(...)`` or
``@SUM(...)`` would run as a formula in Excel or Sheets. OWASP's advice: prefix a text cell that
starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return with a single quote, which the
spreadsheet shows as text. Numbers stay numbers (``-3`` as an int is a quantity, not a formula).
"""

from __future__ import annotations

import csv
import io
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_bytes(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([safe_cell(h) for h in headers])
    writer.writerows([safe_cell(c) for c in row] for row in rows)
    return buf.getvalue().encode("utf-8")


class GzipCsv:
    """A CSV written a batch of rows at a time straight into GZIP (issue 14 item 5: a run's rows are not kept
    to its end; ~20 bytes a row compressed). zlib's GZIP header carries no time: the same rows give the same
    bytes."""

    def __init__(self, headers: Sequence[str]) -> None:
        self._z = zlib.compressobj(6, zlib.DEFLATED, 31)
        self._parts: list[bytes] = []
        self.rows = 0
        self._write([headers])
        self.rows = 0

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        self._write(rows)

    def _write(self, rows: Sequence[Sequence[Any]]) -> None:
        buf = io.StringIO()
        csv.writer(buf).writerows([safe_cell(c) for c in row] for row in rows)
        self._parts.append(self._z.compress(buf.getvalue().encode("utf-8")))
        self.rows += len(rows)

    def close(self) -> bytes:
        self._parts.append(self._z.flush())
        out, self._parts = b"".join(self._parts), []
        return out
