"""Which report types feed movements, how often to request them, and how to read each (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from connector.domain.fba_events import REIMBURSEMENTS, REPLACEMENTS, parse_reimbursements, parse_replacements
from connector.domain.flatfile import Columns, LineTally, Rows, read_items
from connector.domain.ledger import REPORT_TYPE as LEDGER_DETAIL
from connector.domain.ledger import LedgerColumns, classify_ledger
from connector.domain.movements import Quarantine, StockChange
from connector.domain.returns import FBA_RETURNS, MFN_RETURNS, CustomerReturn, parse_fba_returns, parse_mfn_returns


@dataclass(frozen=True)
class ReportSpec:
    """How one report type is requested.

    ``every``: the shortest gap between two requests. Amazon regenerates daily FBA reports at most every
    4 hours and near-real-time ones every 30 minutes; asking sooner costs createReport quota (one per
    minute, burst 15) and brings nothing new. ``overlap``: each window starts this long before the
    stored cursor, because Amazon adds rows late (reimbursements reach their report 4-5 days after
    approval); rows read twice are harmless, movements are keyed by their content. ``max_window``:
    the longest window one request may cover (MFN returns: 60 days).
    """

    report_type: str
    every: timedelta
    overlap: timedelta
    max_window: timedelta = timedelta(days=30)
    first_window: timedelta = timedelta(days=7)
    options: dict[str, str] = field(default_factory=dict)


REPORT_SPECS: tuple[ReportSpec, ...] = (
    ReportSpec(LEDGER_DETAIL, every=timedelta(hours=4), overlap=timedelta(days=3)),
    ReportSpec(FBA_RETURNS, every=timedelta(hours=4), overlap=timedelta(days=3)),
    ReportSpec(REPLACEMENTS, every=timedelta(hours=4), overlap=timedelta(days=3)),
    ReportSpec(REIMBURSEMENTS, every=timedelta(hours=12), overlap=timedelta(days=7)),
    ReportSpec(MFN_RETURNS, every=timedelta(hours=4), overlap=timedelta(days=3), max_window=timedelta(days=60)),
)
SPECS_BY_TYPE = {s.report_type: s for s in REPORT_SPECS}

Item = StockChange | CustomerReturn | Quarantine


def report_items(report_type: str, lines: Iterable[str], tally: LineTally | None = None) -> Iterator[Item]:
    """The movements (and quarantined rows) of one report document, streamed.

    A document with no header at all yields nothing; one whose header lacks a column the connector
    needs raises :class:`HeaderError` (the whole report is unusable, nothing is guessed). A line whose
    field count differs from the header's is quarantined with its line number (never merged with its
    neighbours); blank lines and rows of other features are counted as skipped on ``tally``.
    """

    def parse(columns: Columns, rows: Rows) -> Iterator[Item]:
        if report_type == LEDGER_DETAIL:
            return classify_ledger(rows, LedgerColumns.of(columns), tally)
        if report_type == FBA_RETURNS:
            return parse_fba_returns(columns, rows)
        if report_type == MFN_RETURNS:
            return parse_mfn_returns(columns, rows)
        if report_type == REPLACEMENTS:
            return parse_replacements(columns, rows)
        if report_type == REIMBURSEMENTS:
            return parse_reimbursements(columns, rows)
        raise ValueError(f"report type {report_type} does not feed movements")

    return read_items(lines, parse, partial(Quarantine, report_type), tally=tally)


def item_lines(item: Item) -> int:
    """How many physical lines of the report one item stands for (an MFN return groups its RMA's rows)."""
    return len(item.lines) if isinstance(item, CustomerReturn) else 1
