"""What an email says, as the use cases compose it: a title, what happened, what it means, what to do,
facts, tables and a page link. Pure values; ``connector.emails.design`` renders them (HTML + text) and
``connector.emails.sending`` sends them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from connector.domain.email import Attachment

# Marketplace ids a merchant does not recognise; the names they do (Seller Central's country codes).
MARKETPLACES = {
    "A1F83G8C2ARO7P": "UK", "A1PA6795UKMFR9": "DE", "A13V1IB3VIYZZH": "FR", "APJ6JRA9NG5V4": "IT",
    "A1RKKUPIHCS9HS": "ES", "A1805IZSGTT6HS": "NL", "A1C3SOZRARQ6R3": "PL", "A2NODRKZP88ZB9": "SE",
    "AMEN7PMS3EDWL": "BE", "A33AVAJ2PDY3EV": "TR", "ATVPDKIKX0DER": "US", "A2EUQ1WTGCTBG2": "CA",
    "A1AM78C64UM0Y8": "MX", "A1VC38T7YXB528": "JP", "A39IBJ37TRP1C6": "AU",
}
MAX_ROWS_IN_BODY = 50  # longer lists: the first rows in the body, every row in the CSV attachment
# Issue 14 item 5: an email's size stays flat in the work size. A CSV over COMPRESS_ABOVE is attached
# GZIP-compressed (.csv.gz); when the attachments still exceed LINK_ABOVE they are not attached but stored
# in the stack's exports bucket and linked — well under SES's 10 MB per message after base64 (4/3 of the bytes).
COMPRESS_ABOVE = 16_000  # a few hundred rows
LINK_ABOVE = 3_000_000


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
    downloads: tuple[tuple[str, str], ...] = ()  # (file name, link): attachments too large to attach

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
