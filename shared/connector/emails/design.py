"""The content object of an email and its rendering (HTML + plain text from the same content)."""

from __future__ import annotations

import gzip
import shlex
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

from connector.domain.csvfile import csv_bytes
from connector.domain.email import Attachment, Email
from connector.domain.messages import (  # noqa: F401  (re-exported: the page and the tests import them here)
    COMPRESS_ABOVE,
    MARKETPLACES,
    MAX_ROWS_IN_BODY,
    Column,
    Message,
    PageLink,
    Sender,
    Table,
    _cell,
    marketplace_label,
    product_label,
)

if TYPE_CHECKING:
    from jinja2 import Environment


@cache
def _env() -> Environment:
    # Jinja2 is imported when the first email is rendered, not with the mailer (issue 14: a container
    # that sends nothing does not pay for it at cold start).
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(loader=PackageLoader("connector.emails", "templates"),
                       autoescape=select_autoescape(["html"], default=False),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def text_table(table: Table) -> str:
    """Aligned columns for the text part: numbers right-aligned, text left-aligned."""
    cells = table.shown
    widths = [max([len(c.title)] + [len(r[i]) for r in cells]) for i, c in enumerate(table.columns)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if c.numeric else v.ljust(w)
                         for v, w, c in zip(values, widths, table.columns, strict=True)).rstrip()

    out = [line([c.title for c in table.columns]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells]
    return "\n".join(out)


def environment() -> Environment:
    env = _env()
    env.filters["text_table"] = text_table
    env.globals["marketplace_label"] = marketplace_label
    return env


def header(message: Message, sender: Sender) -> tuple[str, str]:
    """(prefix for the subject, marketplace text) — the same in the subject and the header."""
    markets = message.marketplaces if message.marketplaces is not None else sender.marketplaces
    codes = ", ".join(MARKETPLACES.get(m, m) for m in markets) or "all marketplaces"
    return f"[{sender.stack} · {sender.stage}] {codes}", codes


def compressed(a: Attachment) -> Attachment:
    """A CSV over COMPRESS_ABOVE as ``<name>.gz`` (GZIP, mtime 0: the same rows give the same bytes)."""
    if a.mime_subtype != "csv" or len(a.content) <= COMPRESS_ABOVE:
        return a
    return Attachment(f"{a.filename}.gz", gzip.compress(a.content, compresslevel=6, mtime=0), "gzip")


def files(message: Message) -> tuple[Attachment, ...]:
    """Every file the email carries: its own attachments and each long table's CSV, large ones compressed."""
    out = list(message.attachments)
    for t in message.tables:
        name = t.attachment_name()
        if name and all(a.filename != name for a in out):
            out.append(Attachment(name, csv_bytes([c.title for c in t.columns], t.rows)))
    return tuple(compressed(a) for a in out)


def render(message: Message, sender: Sender, *, attached: Sequence[Attachment] | None = None) -> Email:
    """The email; ``attached``: the files to attach when the caller chose them (others are downloads)."""
    prefix, codes = header(message, sender)
    link: str | None = None
    link_error: str | None = None
    if message.page is not None and sender.page_url is not None:
        try:
            link = sender.page_url(message.page)
        except Exception as exc:  # the email still goes, with the CLI command instead of the link
            link_error = f"the page link could not be made ({type(exc).__name__}); use the command below"
    docs = sender.docs_url.rstrip("/")
    cli_href = f"{docs}/cli.md#{message.cli_doc}" if docs and message.cli_doc else None
    cli = message.cli.replace("{stack}", shlex.quote(sender.stack)) if message.cli else None
    attachments = tuple(files(message) if attached is None else attached)
    # A table names the file its rows are in: the attached (maybe compressed) name, or the download's.
    names = {a.filename.removesuffix(".gz"): a.filename for a in attachments}
    names.update({n.removesuffix(".gz"): n for n, _ in message.downloads})

    def file_name(name: str | None) -> str:
        return names.get(name or "", name or "")

    values = {"m": message, "cli": cli, "sender": sender, "markets": codes, "link": link, "link_error": link_error,
              "cli_href": cli_href, "cli_doc": f"docs/cli.md#{message.cli_doc}" if message.cli_doc else None,
              "file_name": file_name}
    env = environment()
    html = env.get_template("email.html").render(values)
    text = env.get_template("email.txt").render(values)
    return Email(subject=f"{prefix}: {message.title}", text=text, html=html, attachments=attachments)
