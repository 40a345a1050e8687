"""An email as the connector composes it (subject, text, HTML, CSV attachments) and its tables.

Pure values: the use cases build them, ``adapters/email.py`` sends them through SES.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime_subtype: str = "csv"


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> tuple[str, str]:
    """The same table as plain text (aligned columns) and as HTML."""
    cells = [[str(c) for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    html = ["<table border=\"1\" cellpadding=\"4\" cellspacing=\"0\"><thead><tr>"]
    html += [f"<th>{escape(h)}</th>" for h in headers]
    html.append("</tr></thead><tbody>")
    for r in cells:
        html.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>")
    html.append("</tbody></table>")
    return "\n".join(lines), "".join(html)
