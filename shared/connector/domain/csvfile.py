"""CSV attachments a merchant opens in a spreadsheet: safe against formula injection.

SKUs, titles and notes come from Brightpearl and Amazon, so a value such as ``=HYPERLINK(...)`` or
``@SUM(...)`` would run as a formula in Excel or Sheets. OWASP's advice: prefix a text cell that
starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return with a single quote, which the
spreadsheet shows as text. Numbers stay numbers (``-3`` as an int is a quantity, not a formula).
"""

from __future__ import annotations

import csv
import io
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
