"""Inventory ledger (GET_LEDGER_DETAIL_VIEW_DATA) rows → stock changes for the Brightpearl FBA warehouse.

The one stock rule: the Brightpearl FBA warehouse mirrors Amazon's **sellable** FBA units. A ledger
row therefore moves Brightpearl stock by its signed quantity when its disposition is SELLABLE, and
not at all otherwise. Unsellable units (customer/warehouse/carrier damaged, defective, expired)
were never in, or already left, the mirrored stock. This makes Amazon's paired rows net on their own
whatever order they are read in: a unit damaged in the FC (E -1 SELLABLE, then P +1 WAREHOUSE_DAMAGED)
reduces once; a disposition change back to sellable (Q -1 CUSTOMER_DAMAGED, P +1 SELLABLE) increases
once; the disposal of a damaged unit (D -1 WAREHOUSE_DAMAGED) does nothing, because the damage
already reduced it. Pairs that cancel in one batch (lost then found) are netted before writing
(``movements.net_pairs``).

Only ``Adjustments`` and ``CustomerReturns`` are this module's; the other event types are other
features' or no change at all (see ``IGNORED_EVENTS``). The full table is in docs/movements.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from connector.domain.flatfile import MAX_ROW_UNITS, Columns, LineTally, cell, parse_int
from connector.domain.movements import OccurrenceCounter, Quarantine, StockChange, natural_key

REPORT_TYPE = "GET_LEDGER_DETAIL_VIEW_DATA"
SELLABLE = "SELLABLE"


@dataclass(frozen=True)
class ReasonAction:
    kind: str  # lost / found / damaged / disposed / correction / disposition_in / ...
    meaning: str
    sign: int  # the sign Amazon documents for the code (+1 / -1)
    claim: bool = False  # a reduction Amazon may reimburse: takes part in deemed matching


_DAMAGED = "damaged in an Amazon FC"
REASON_ACTIONS: dict[str, ReasonAction] = {
    "M": ReasonAction("lost", "inventory misplaced", -1, claim=True),
    "5": ReasonAction("lost", "inventory misplaced", -1, claim=True),
    "F": ReasonAction("found", "inventory found", +1),
    "N": ReasonAction("found", "found / transferred to the seller / reimbursed in units", +1),
    "E": ReasonAction("damaged", _DAMAGED + " (from sellable)", -1, claim=True),
    "6": ReasonAction("damaged", _DAMAGED + " (from carrier damaged)", -1, claim=True),
    "7": ReasonAction("damaged", _DAMAGED + " (from expired)", -1, claim=True),
    "H": ReasonAction("damaged", _DAMAGED + " (from customer damaged)", -1, claim=True),
    "K": ReasonAction("damaged", _DAMAGED + " (from defective)", -1, claim=True),
    "U": ReasonAction("damaged", _DAMAGED + " (from distributor damaged)", -1, claim=True),
    "D": ReasonAction("disposed", "disposed of", -1),
    "G": ReasonAction("disposed", "disposed of (donated)", -1),
    "O": ReasonAction("correction", "inventory correction (wrongly received, or removed as reimbursed)", -1,
                      claim=True),
    "P": ReasonAction("disposition_in", "disposition change: units added under the new disposition", +1),
    "Q": ReasonAction("disposition_out", "disposition change: units removed from the old disposition", -1),
    "3": ReasonAction("redefinition_in", "product redefinition: transfer in", +1),
    "4": ReasonAction("redefinition_out", "product redefinition: transfer out", -1),
}

# Event types that are not this module's movements, and why (documented in docs/movements.md).
IGNORED_EVENTS = {
    "shipments": "customer shipments reduce stock through the Brightpearl sales order (replacements come from "
                 "the replacement report)",
    "receipts": "inbound receipts are released from the inbound shipment's transfer",
    "whsetransfers": "moves between fulfilment centres net to zero",
    "vendorreturns": "removal order units are owned by the removal order and shipment reports (docs/removals.md)",
}


@dataclass(frozen=True)
class LedgerColumns:
    event_type: int
    quantity: int
    msku: int
    reference_id: int | None
    fnsku: int | None
    date_time: int | None
    date: int | None
    fc: int | None
    disposition: int | None
    reason: int | None

    @classmethod
    def of(cls, columns: Columns) -> LedgerColumns:
        return cls(event_type=columns.require("Event Type"), quantity=columns.require("Quantity"),
                   msku=columns.require("MSKU"), reference_id=columns.index("Reference ID"),
                   fnsku=columns.index("FNSKU"), date_time=columns.index("Date and Time"),
                   date=columns.index("Date"), fc=columns.index("Fulfillment Center"),
                   disposition=columns.index("Disposition"), reason=columns.index("Reason"))


OURS = frozenset({"adjustments", "customerreturns"})


def classify_ledger(rows: Iterator[tuple[int, list[str]]], cols: LedgerColumns, tally: LineTally | None = None,
                    ) -> Iterator[StockChange | Quarantine]:
    """Each ledger row this feature owns, as a stock change (quantity 0 = skipped, with why) or a quarantine.

    Rows of other event types yield nothing; they are counted on ``tally`` as skipped, by event type.
    Fast path first: most of a ledger is shipments.
    """
    counter = OccurrenceCounter()
    ev_pos = cols.event_type
    ignored: dict[str, int] = {}
    try:
        for line, row in rows:
            event = row[ev_pos].strip().lower() if ev_pos < len(row) else ""
            if event not in OURS:
                if event in IGNORED_EVENTS:
                    ignored[event] = ignored.get(event, 0) + 1
                    continue
                why = f"unknown Event Type {event!r}" if event else "row has no Event Type"
                yield Quarantine(REPORT_TYPE, line, why, "\t".join(row), cell(row, cols.msku))
                continue
            yield _classify(line, row, event, cols, counter)
    finally:
        if tally is not None:
            for event, n in ignored.items():
                tally.skip(f"Event Type {event}: not this feature's ({IGNORED_EVENTS[event]})", n)


def _classify(line: int, row: list[str], event: str, cols: LedgerColumns,
              counter: OccurrenceCounter) -> StockChange | Quarantine:
    sku = cell(row, cols.msku)
    raw = "\t".join(row)
    qty = parse_int(cell(row, cols.quantity))
    if not sku:
        return Quarantine(REPORT_TYPE, line, "no MSKU", raw)
    if qty is None:
        return Quarantine(REPORT_TYPE, line, f"Quantity {cell(row, cols.quantity)!r} is not an integer", raw, sku)
    if abs(qty) > MAX_ROW_UNITS:
        return Quarantine(REPORT_TYPE, line, f"Quantity {qty} is beyond any plausible row ({MAX_ROW_UNITS})", raw, sku)
    when = cell(row, cols.date_time) or cell(row, cols.date)
    ref = cell(row, cols.reference_id)
    disposition = cell(row, cols.disposition).upper()
    reason = cell(row, cols.reason).upper()
    fc = cell(row, cols.fc)
    if not when:
        return Quarantine(REPORT_TYPE, line, "no Date and Time", raw, sku)
    key = counter.key(natural_key("ledger", event, ref, cell(row, cols.fnsku), sku, when, fc, disposition,
                                  reason, qty))
    if event == "customerreturns":
        match = natural_key("return", ref, sku)
        if qty <= 0:
            return Quarantine(REPORT_TYPE, line, f"CustomerReturns Quantity {qty}: a return adds units", raw, sku)
        if disposition != SELLABLE:
            return StockChange(key, REPORT_TYPE, "customer_return", sku, 0,
                               f"returned as {disposition or 'unknown'}: unsellable units are never restocked",
                               line, match_key=match)
        return StockChange(key, REPORT_TYPE, "customer_return", sku, qty,
                           f"customer return of order {ref} received into FBA as sellable", line, match_key=match)
    action = REASON_ACTIONS.get(reason)
    if action is None:
        return Quarantine(REPORT_TYPE, line, f"unknown adjustment reason code {reason!r}: not guessed", raw, sku)
    if qty == 0 or (qty > 0) != (action.sign > 0):
        return Quarantine(REPORT_TYPE, line, f"quantity {qty} has the wrong sign for reason {reason} "
                                             f"({action.meaning})", raw, sku)
    why = f"{reason}: {action.meaning}"
    if disposition != SELLABLE:
        return StockChange(key, REPORT_TYPE, action.kind, sku, 0,
                           f"{why}; {disposition or 'no'} disposition: not in the mirrored sellable stock", line)
    return StockChange(key, REPORT_TYPE, action.kind, sku, qty, why, line,
                       claim="loss" if action.claim and qty < 0 else None)
