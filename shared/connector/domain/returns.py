"""Amazon customer returns → Brightpearl sales credits, and when returned units go back into stock (pure).

One return = one sales credit, keyed by the return's natural key:
- FBA (GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA): one row per returned unit batch, keyed by order id,
  SKU, license plate number and return date (the contract's suggested key);
- MFN (GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE): rows grouped by order id and Amazon RMA id (one RMA
  can cover several SKUs; all its rows carry the same request date, so they are always read together).

The double-count rule for FBA returns (docs/movements.md): a returned sellable FBA unit raises the
Brightpearl FBA warehouse exactly once, and ``restock_returns`` decides which movement does it:
- on: the credit's goods-in note; the ledger's CustomerReturns row for the same order and SKU is skipped;
- off: the ledger's CustomerReturns row (a stock correction); the credit gets no goods-in note.
Each side also checks the other's record, so flipping the setting between the two reads cannot raise
the same units twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from connector.domain.flatfile import MAX_ROW_UNITS, Columns, HeaderError, cell, parse_int
from connector.domain.movements import OccurrenceCounter, Quarantine, natural_key

FBA_RETURNS = "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA"
MFN_RETURNS = "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE"


@dataclass(frozen=True)
class ReturnLine:
    sku: str
    quantity: int
    disposition: str  # FBA detailed-disposition; MFN: "SELLABLE" (the report says nothing about condition)

    @property
    def sellable(self) -> bool:
        return self.disposition == "SELLABLE"


@dataclass(frozen=True)
class CustomerReturn:
    key: str
    source: str
    channel: str  # FBA / MFN
    order_id: str
    reference: str  # license plate number (FBA) / Amazon RMA id (MFN)
    returned_at: str
    lines: tuple[ReturnLine, ...]
    line: int

    @property
    def sku(self) -> str:
        return self.lines[0].sku

    def match_key(self, sku: str) -> str:
        """Shared with the ledger's CustomerReturns row of the same units (see the module docstring)."""
        return natural_key("return", self.order_id, sku)


def _return_row(report_type: str, line: int, row: list[str], at: tuple[int, int, int], ids: str, quantity: str,
                ) -> tuple[str, str, int] | Quarantine:
    """(order id, sku, units) of one returns row (``at``: their columns), or the quarantine saying which is
    missing (``ids`` names the two columns) or that the quantity (named ``quantity``) is not plausible."""
    order_id, sku, text = cell(row, at[0]), cell(row, at[1]), cell(row, at[2])
    qty = parse_int(text)
    if not order_id or not sku:
        return Quarantine(report_type, line, f"no {ids}", "\t".join(row), sku)
    if qty is None or not 0 < qty <= MAX_ROW_UNITS:
        return Quarantine(report_type, line, f"{quantity} {text!r} is not a positive integer of plausible size",
                          "\t".join(row), sku)
    return order_id, sku, qty


def parse_fba_returns(columns: Columns, rows: Iterator[tuple[int, list[str]]],
                      ) -> Iterator[CustomerReturn | Quarantine]:
    order = columns.index("order-id", "amazon-order-id")
    if order is None:
        raise HeaderError("FBA returns report lacks order-id / amazon-order-id")
    sku_c, qty_c = columns.require("sku"), columns.require("quantity")
    date_c, lpn_c = columns.index("return-date"), columns.index("license-plate-number")
    disp_c = columns.index("detailed-disposition")
    counter = OccurrenceCounter()
    for line, row in rows:
        found = _return_row(FBA_RETURNS, line, row, (order, sku_c, qty_c), "sku or order-id", "quantity")
        if isinstance(found, Quarantine):
            yield found
            continue
        order_id, sku, qty = found
        lpn, when = cell(row, lpn_c), cell(row, date_c)
        key = counter.key(natural_key("fba-return", order_id, sku, lpn, when))
        yield CustomerReturn(key, FBA_RETURNS, "FBA", order_id, lpn, when,
                             (ReturnLine(sku, qty, cell(row, disp_c).upper() or "UNKNOWN"),), line)


def parse_mfn_returns(columns: Columns, rows: Iterator[tuple[int, list[str]]],
                      ) -> Iterator[CustomerReturn | Quarantine]:
    order_c, sku_c = columns.require("Order ID"), columns.require("Merchant SKU")
    qty_c, rma_c = columns.require("Return quantity"), columns.index("Amazon RMA ID")
    date_c = columns.index("Return request date")
    groups: dict[str, tuple[int, str, str, str, list[ReturnLine]]] = {}
    for line, row in rows:
        found = _return_row(MFN_RETURNS, line, row, (order_c, sku_c, qty_c), "Order ID or Merchant SKU",
                            "Return quantity")
        if isinstance(found, Quarantine):
            yield found
            continue
        order_id, sku, qty = found
        rma = cell(row, rma_c)
        key = natural_key("mfn-return", order_id, rma)
        groups.setdefault(key, (line, order_id, rma, cell(row, date_c), []))[4].append(ReturnLine(sku, qty, "SELLABLE"))
    for key, (first, order_id, rma, when, lines) in groups.items():
        yield CustomerReturn(key, MFN_RETURNS, "MFN", order_id, rma, when, tuple(lines), first)


@dataclass(frozen=True)
class CreditRow:
    product_id: int | None  # None: a row that is no product (refunded shipping, a restocking fee…; domain/refunds.py)
    quantity: int
    net: Decimal
    tax: Decimal
    tax_code: str
    nominal_code: str
    order_row_id: str
    item_cost: Decimal
    name: str = ""  # a non-product row's name on the credit


class CreditError(ValueError):
    """The return cannot be credited against this order (a data problem to report, not to retry blindly)."""


def _money(v: Any) -> Decimal:
    if isinstance(v, dict):
        v = v.get("value", 0)
    try:
        return Decimal(str(v or 0))
    except ArithmeticError:
        return Decimal(0)


def _quantity(row: dict[str, Any]) -> int:
    q = row.get("quantity")
    if isinstance(q, dict):
        q = q.get("magnitude")
    try:
        return int(Decimal(str(q or 0)))
    except ArithmeticError:
        return 0


def credit_rows(order: dict[str, Any], returned: list[tuple[int, int]]) -> list[CreditRow]:
    """Credit rows for returned (product id, quantity) against the original order's rows (contract §6b).

    Net and tax are the original row's per-unit values times the returned quantity, so a partial
    return credits what was paid for those units. Returning more than was ordered is refused.
    """
    rows: dict[str, dict[str, Any]] = order.get("orderRows") or {}
    out: list[CreditRow] = []
    two = Decimal("0.01")
    for product_id, qty in returned:
        left = qty
        for row_id, row in sorted(rows.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0):
            if row.get("productId") != product_id or left <= 0:
                continue
            ordered = _quantity(row)
            if ordered <= 0:
                continue
            take = min(left, ordered - sum(r.quantity for r in out if r.order_row_id == row_id))
            if take <= 0:
                continue
            value = row.get("rowValue") or {}
            net_unit = _money(value.get("rowNet")) / ordered
            tax_unit = _money(value.get("rowTax")) / ordered
            out.append(CreditRow(product_id, take, (net_unit * take).quantize(two, ROUND_HALF_UP),
                                 (tax_unit * take).quantize(two, ROUND_HALF_UP), str(value.get("taxCode") or ""),
                                 str(row.get("nominalCode") or ""), row_id, _money(row.get("itemCost"))))
            left -= take
        if left > 0:
            raise CreditError(f"order {order.get('id')} has {qty - left} unit(s) of product {product_id} "
                              f"to credit, {qty} returned")
    return out


def restock_decision(*, channel: str, restock_on: bool, sellable: bool, warehouse_id: int | None,
                     ledger_raised: bool) -> tuple[bool, str]:
    """Whether this return's credit gets a goods-in note, and why (recorded on the movement)."""
    if not restock_on:
        if channel == "FBA" and sellable:
            return False, "restock_returns is off: the ledger's CustomerReturns row raises the FBA warehouse"
        return False, "restock_returns is off"
    if not sellable:
        return False, "unsellable returns are never restocked"
    if warehouse_id is None:
        setting = "fba_warehouse_id" if channel == "FBA" else "returns_warehouse_id"
        return False, f"{setting} is not set: nowhere to restock"
    if ledger_raised:
        return False, "the ledger's CustomerReturns row already raised these units (restock was off then)"
    return True, "restock_returns is on: sellable units restocked with a goods-in note against the credit"


def ledger_return_decision(*, restock_on: bool, credit_restocked: bool) -> tuple[bool, str]:
    """Whether a sellable CustomerReturns ledger row raises the FBA warehouse, and why."""
    if credit_restocked:
        return False, "already restocked by the return's sales credit goods-in note"
    if restock_on:
        return False, "restock_returns is on: the return's sales credit restocks these units"
    return True, "restock_returns is off: the ledger raises the FBA warehouse"
