"""The content object of an email and its rendering (HTML + plain text from the same content)."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from connector.adapters.email import Attachment, Email
from connector.domain.csvfile import csv_bytes

# Marketplace ids a merchant does not recognise; the names they do (Seller Central's country codes).
MARKETPLACES = {
    "A1F83G8C2ARO7P": "UK", "A1PA6795UKMFR9": "DE", "A13V1IB3VIYZZH": "FR", "APJ6JRA9NG5V4": "IT",
    "A1RKKUPIHCS9HS": "ES", "A1805IZSGTT6HS": "NL", "A1C3SOZRARQ6R3": "PL", "A2NODRKZP88ZB9": "SE",
    "AMEN7PMS3EDWL": "BE", "A33AVAJ2PDY3EV": "TR", "ATVPDKIKX0DER": "US", "A2EUQ1WTGCTBG2": "CA",
    "A1AM78C64UM0Y8": "MX", "A1VC38T7YXB528": "JP", "A39IBJ37TRP1C6": "AU",
}
MAX_ROWS_IN_BODY = 50  # longer lists: the first rows in the body, every row in the CSV attachment


def marketplace_label(marketplace_id: str) -> str:
    code = MARKETPLACES.get(marketplace_id)
    return f"{code} ({marketplace_id})" if code else marketplace_id


def product_label(product_id: int | None, names: Mapping[int, str] | None = None) -> str:
    """A product as a merchant knows it: its Brightpearl name when the caller has it, and its id."""
    if product_id is None:
        return "not linked"
    name = (names or {}).get(int(product_id))
    return f"{name} (#{product_id})" if name else f"#{product_id}"


@dataclass(frozen=True)
class Column:
    title: str
    numeric: bool = False  # right-aligned, in the HTML and in the text


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    csv_name: str | None = None  # every row is attached as this (formula-safe) CSV
    limit: int = MAX_ROWS_IN_BODY

    @staticmethod
    def of(title: str, columns: Sequence[str | Column], rows: Sequence[Sequence[Any]], *,
           csv_name: str | None = None, limit: int = MAX_ROWS_IN_BODY) -> Table:
        cols = tuple(c if isinstance(c, Column) else Column(c) for c in columns)
        return Table(title, cols, tuple(tuple(r) for r in rows), csv_name, limit)

    @property
    def shown(self) -> tuple[tuple[str, ...], ...]:
        return tuple(tuple(_cell(c) for c in r) for r in self.rows[:self.limit])

    @property
    def more(self) -> int:
        return max(0, len(self.rows) - self.limit)

    def attachment_name(self) -> str | None:
        if self.csv_name:
            return self.csv_name
        if self.more:
            slug = "".join(ch if ch.isalnum() else "-" for ch in self.title.lower()).strip("-")[:40] or "rows"
            return f"{slug}.csv"
        return None


@dataclass(frozen=True)
class PageLink:
    """A link to a page the stack serves (signed when the email is rendered): ``kind`` and the id it is for."""

    kind: str  # "reconciliation" or "nightly"
    id: str
    label: str


@dataclass(frozen=True)
class Message:
    """What one email says; rendered as both HTML and text."""

    title: str  # the subject, after the stack / stage / marketplace prefix
    summary: str  # what happened, one or two sentences
    meaning: str  # what this means for the merchant
    todo: str  # what to do (or "nothing to do")
    facts: tuple[tuple[str, str], ...] = ()
    tables: tuple[Table, ...] = ()
    notes: tuple[str, ...] = ()
    cli: str | None = None  # the matching CLI command, e.g. "connector --stack STACK approve ID"
    cli_doc: str | None = None  # its anchor in docs/cli.md
    page: PageLink | None = None
    marketplaces: tuple[str, ...] | None = None  # default: the stack's marketplaces
    attachments: tuple[Attachment, ...] = ()

    def with_note(self, note: str) -> Message:
        return Message(**{**self.__dict__, "notes": (note, *self.notes)})


@dataclass(frozen=True)
class Sender:
    """Who sends: the stack and stage (a merchant with a test and a production stack tells them apart),
    its marketplaces, where the docs are, and how to sign a page link (None: no pages)."""

    stack: str = "connector"
    stage: str = "prod"
    marketplaces: tuple[str, ...] = ()
    docs_url: str = ""
    page_url: Callable[[PageLink], str | None] | None = field(default=None, compare=False)


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    return str(value)


@cache
def _env() -> Environment:
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


def render(message: Message, sender: Sender) -> Email:
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
    values = {"m": message, "cli": cli, "sender": sender, "markets": codes, "link": link, "link_error": link_error,
              "cli_href": cli_href, "cli_doc": f"docs/cli.md#{message.cli_doc}" if message.cli_doc else None}
    env = environment()
    html = env.get_template("email.html").render(values)
    text = env.get_template("email.txt").render(values)
    attachments = list(message.attachments)
    for t in message.tables:
        name = t.attachment_name()
        if name and all(a.filename != name for a in attachments):
            attachments.append(Attachment(name, csv_bytes([c.title for c in t.columns], t.rows)))
    return Email(subject=f"{prefix}: {message.title}", text=text, html=html, attachments=tuple(attachments))
