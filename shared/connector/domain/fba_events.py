"""Replacement shipments and reimbursements (deemed lost/damaged units) → stock changes (pure).

Replacements (GET_FBA_FULFILLMENT_CUSTOMER_SHIPMENT_REPLACEMENT_DATA) reduce the FBA warehouse: Amazon
shipped sellable units on an order Brightpearl never sees. (The ledger's matching ``Shipments`` row is
ignored, see ``ledger.IGNORED_EVENTS``, so the units leave once.)

Reimbursements (GET_FBA_REIMBURSEMENTS_DATA) for units lost or damaged in an FC (``Lost_Warehouse``,
``Damaged_Warehouse``) paid in cash mean Amazon deems the units gone. They reduce the FBA warehouse
unless a ledger adjustment already reduced the same units; the matching is per SKU by units
(``movements.DeemedClaims``), in whichever order the two reports are read. Units reimbursed *in
inventory* come back as a ledger ``N`` row (found), so the reimbursement row itself moves nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

from connector.domain.flatfile import Columns, HeaderError, cell, parse_int
from connector.domain.movements import OccurrenceCounter, Quarantine, StockChange, natural_key

REPLACEMENTS = "GET_FBA_FULFILLMENT_CUSTOMER_SHIPMENT_REPLACEMENT_DATA"
REIMBURSEMENTS = "GET_FBA_REIMBURSEMENTS_DATA"

DEEMED_REASONS = {"lost_warehouse": "lost in an Amazon FC", "damaged_warehouse": "damaged in an Amazon FC"}
NO_STOCK_REASONS = {
    "lost_inbound": "lost before receipt: the units never reached FBA stock (inbound shipments)",
    "damaged_inbound": "damaged before receipt: the units never reached FBA stock (inbound shipments)",
    "customerreturn": "refunded but never returned: the units never came back to FBA stock",
    "customerserviceissue": "customer service refund: no FBA stock involved",
    "reimbursement_reversal": "reversal of an earlier reimbursement: money only",
}


def parse_replacements(columns: Columns, rows: Iterator[tuple[int, list[str]]],
                       ) -> Iterator[StockChange | Quarantine]:
    sku_c, qty_c = columns.require("sku"), columns.require("quantity")
    rep_c = columns.index("replacement-amazon-order-id", "replacement-customer-order-id")
    if rep_c is None:
        raise HeaderError("replacement report lacks replacement-amazon-order-id")
    orig_c, code_c = columns.index("original-amazon-order-id"), columns.index("replacement-reason-code")
    counter = OccurrenceCounter()
    for line, row in rows:
        raw = "\t".join(row)
        sku, qty, rep = cell(row, sku_c), parse_int(cell(row, qty_c)), cell(row, rep_c)
        if not sku or not rep:
            yield Quarantine(REPLACEMENTS, line, "no sku or replacement order id", raw, sku)
            continue
        if qty is None or qty <= 0:
            yield Quarantine(REPLACEMENTS, line, f"quantity {cell(row, qty_c)!r} is not a positive integer", raw, sku)
            continue
        key = counter.key(natural_key("replacement", rep, sku))
        yield StockChange(key, REPLACEMENTS, "replacement", sku, -qty,
                          f"replacement order {rep} for {cell(row, orig_c) or '?'} "
                          f"(reason code {cell(row, code_c) or '?'})", line)


def parse_reimbursements(columns: Columns, rows: Iterator[tuple[int, list[str]]],
                         ) -> Iterator[StockChange | Quarantine]:
    id_c, sku_c, reason_c = columns.require("reimbursement-id"), columns.require("sku"), columns.require("reason")
    cash_c = columns.require("quantity-reimbursed-cash")
    inv_c = columns.index("quantity-reimbursed-inventory")
    counter = OccurrenceCounter()
    for line, row in rows:
        raw = "\t".join(row)
        rid, sku, reason = cell(row, id_c), cell(row, sku_c), cell(row, reason_c)
        cash, inventory = parse_int(cell(row, cash_c)), parse_int(cell(row, inv_c) or "0")
        if not rid or not sku:
            yield Quarantine(REIMBURSEMENTS, line, "no reimbursement-id or sku", raw, sku)
            continue
        if cash is None or inventory is None:
            yield Quarantine(REIMBURSEMENTS, line, "reimbursed quantities are not integers", raw, sku)
            continue
        key = counter.key(natural_key("reimbursement", rid, sku))
        r = reason.lower()
        if r in DEEMED_REASONS and cash > 0:
            yield StockChange(key, REIMBURSEMENTS, "deemed", sku, -cash,
                              f"{reason}: {cash} unit(s) {DEEMED_REASONS[r]}, reimbursed in cash", line,
                              claim="deemed")
        elif r in DEEMED_REASONS:
            yield StockChange(key, REIMBURSEMENTS, "deemed", sku, 0,
                              f"{reason}: reimbursed in inventory; the ledger's N row adds the units", line)
        else:
            why = NO_STOCK_REASONS.get(r, "no FBA stock effect known for this reason")
            yield StockChange(key, REIMBURSEMENTS, "reimbursement", sku, 0, f"{reason}: {why}", line)
