"""Plain formatting for people; ``--json`` for scripts."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import click


def dump_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str, ensure_ascii=False))


def table(rows: Iterable[Sequence[Any]], headers: Sequence[str]) -> str:
    """A left-aligned text table; empty cells as ``-``."""
    cells = [[_cell(v) for v in row] for row in rows]
    if not cells:
        return "  (none)"
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    lines = ["  " + "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(),
             "  " + "  ".join("-" * w for w in widths)]
    lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


_FIRST = ("sku", "marketplace", "status", "result", "amazon", "brightpearl", "difference", "suggested",
          "quantity", "note", "error")


def pairs(data: dict[str, Any], indent: int = 2) -> str:
    """``key: value`` lines, nested dicts indented."""
    out = []
    for key, value in data.items():
        if isinstance(value, dict) and value:
            out.append(" " * indent + f"{key}:")
            out.append(pairs(value, indent + 2))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            # Lines of a reconciliation, results of an import: a table of their plain fields.
            plain = [k for k in value[0] if all(not isinstance(v.get(k), (dict, list)) for v in value)]
            columns = ([k for k in _FIRST if k in plain] + [k for k in plain if k not in _FIRST])[:8]
            out.append(" " * indent + f"{key}:")
            out.append(_indent(table([[v.get(c) for c in columns] for v in value], columns), indent))
        else:
            out.append(" " * indent + f"{key}: {_cell(value)}")
    return "\n".join(out)


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) if value else "-"
    if isinstance(value, dict):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


def _indent(text: str, n: int) -> str:
    return "\n".join(" " * n + line for line in text.splitlines())
