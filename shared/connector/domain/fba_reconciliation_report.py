"""FBA reconciliation's report (pure, no I/O): the totals, the CSV of every line, the email's content.

The comparison itself is in :mod:`connector.domain.fba_reconciliation`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from connector.domain.csvfile import csv_bytes
from connector.domain.fba_reconciliation import DIFFERENCE, EXPLAINED, MATCH, NOT_IN_BRIGHTPEARL, UNLINKED, Line


def totals(lines: Sequence[Line]) -> dict[str, int]:
    out: dict[str, int] = {"lines": len(lines)}
    for ln in lines:
        out[ln.status] = out.get(ln.status, 0) + 1
    compared = [ln for ln in lines if ln.brightpearl is not None]
    out["amazon_sellable"] = sum(ln.amazon or 0 for ln in compared)
    out["brightpearl"] = sum(ln.brightpearl or 0 for ln in compared)
    out["units_different"] = sum(abs(ln.difference) for ln in compared)
    out["units_explained"] = sum(abs(ln.difference - ln.suggested) for ln in compared if ln.difference)
    out["units_to_add"] = sum(ln.suggested for ln in compared if ln.suggested > 0)
    out["units_to_remove"] = -sum(ln.suggested for ln in compared if ln.suggested < 0)
    return out


CSV_HEADERS = ["sku", "skus", "product_id", "status", "amazon_sellable", "fulfillable", "reserved",
               "pending_customer_orders", "unfulfillable", "inbound", "researching", "brightpearl_stock",
               "bp_on_hand", "bp_allocated", "bp_in_transit", "difference", "explained_units", "explanation",
               "suggested_correction", "note", "product_name"]


def csv_rows(lines: Iterable[Line], names: Mapping[int, str] | None = None) -> list[list[Any]]:
    """Every line as CSV cells; ``names``: Brightpearl product names the email read (blank otherwise)."""
    def blank(v: Any) -> Any:
        return "" if v is None else v

    def name(ln: Line) -> str:
        return (names or {}).get(int(ln.product_id), "") if ln.product_id is not None else ""
    return [[ln.sku, " ".join(ln.skus), blank(ln.product_id), ln.status, blank(ln.amazon), ln.fulfillable,
             ln.reserved, blank(ln.pending_orders), ln.unfulfillable, ln.inbound, ln.researching,
             blank(ln.brightpearl), ln.bp_on_hand, ln.bp_allocated, ln.bp_in_transit, ln.difference,
             ln.difference - ln.suggested, "; ".join(e["note"] for e in ln.explained), ln.suggested, ln.note,
             name(ln)]
            for ln in lines]


def to_csv(lines: Iterable[Line], names: Mapping[int, str] | None = None) -> bytes:
    return csv_bytes(CSV_HEADERS, csv_rows(lines, names))


TOP = 20


@dataclass(frozen=True)
class EmailContent:
    subject: str
    intro: str
    headers: list[str]
    rows: list[list[Any]]
    closing: str


def email_content(reconciliation_id: str, lines: Sequence[Line], *, top: int = TOP) -> EmailContent:
    t = totals(lines)
    to_fix = [ln for ln in lines if ln.status == DIFFERENCE]
    intro = (f"FBA reconciliation {reconciliation_id}: {t['lines']} line(s); Amazon sellable {t['amazon_sellable']} "
             f"vs Brightpearl FBA warehouse {t['brightpearl']} (onHand + allocated). "
             f"{t.get(MATCH, 0)} match, {t.get(EXPLAINED, 0)} explained by what is in flight, {len(to_fix)} with a "
             f"suggested correction (+{t['units_to_add']} / -{t['units_to_remove']} units), "
             f"{t.get(UNLINKED, 0)} Amazon SKU(s) not linked, {t.get(NOT_IN_BRIGHTPEARL, 0)} product(s) missing "
             "in Brightpearl.")
    shown = [ln for ln in lines if ln.difference or ln.status in (UNLINKED, NOT_IN_BRIGHTPEARL)][:top]
    rows = [[ln.sku, "" if ln.amazon is None else ln.amazon, "" if ln.brightpearl is None else ln.brightpearl,
             ln.difference, "; ".join(e["note"] for e in ln.explained) or ln.note or "—", ln.suggested]
            for ln in shown]
    closing = (f"Every SKU is in the attached CSV. To apply the suggested corrections: OperatorFunction "
               f'{{"command": "approve-reconciliation", "id": "{reconciliation_id}"}} (optionally "skus": [...], '
               '"maxUnits": N, "dryRun": true).')
    subject = (f"FBA reconciliation {reconciliation_id}: {len(to_fix)} to correct, "
               f"{t.get(EXPLAINED, 0)} explained")
    return EmailContent(subject, intro, ["SKU", "Amazon sellable", "Brightpearl", "difference", "explanation",
                                         "suggested"], rows, closing)
