"""Returns reports → returns, credit rows from the original order, and the restock / double-count rules."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connector.domain.fba_events import parse_reimbursements, parse_replacements
from connector.domain.flatfile import read_rows
from connector.domain.movements import Quarantine
from connector.domain.returns import (
    CreditError,
    credit_rows,
    ledger_return_decision,
    parse_fba_returns,
    parse_mfn_returns,
    restock_decision,
)


def tsv(header, rows):
    return ["\t".join(header) + "\n"] + ["\t".join(r) + "\n" for r in rows]


FBA_HEADER = ["return-date", "amazon-order-id", "sku", "asin", "fnsku", "product-name", "quantity",
              "fulfillment-center-id", "detailed-disposition", "reason", "status", "license-plate-number",
              "customer-comments"]


def fba_row(order="202-1", sku="TEA", qty="1", disp="SELLABLE", lpn="LPN1"):
    return ["2026-07-31T22:34:59+00:00", order, sku, "B0", "X0", "Thé", qty, "LTN1", disp, "UNWANTED_ITEM",
            "Unit returned to inventory", lpn, ""]


def test_fba_returns_accept_amazon_order_id_and_key_each_unit_batch():
    cols, rows = read_rows(tsv(FBA_HEADER, [fba_row(), fba_row(lpn="LPN2", disp="CUSTOMER_DAMAGED"),
                                            fba_row(qty="x")]))
    a, b, bad = list(parse_fba_returns(cols, rows))
    assert (a.order_id, a.sku, a.lines[0].sellable) == ("202-1", "TEA", True)
    assert not b.lines[0].sellable and a.key != b.key
    assert isinstance(bad, Quarantine) and bad.line == 4
    assert a.match_key("TEA") == "return|202-1|TEA"


def test_mfn_return_rows_of_one_rma_are_one_return():
    header = ["Order ID", "Amazon RMA ID", "Return request date", "Merchant SKU", "Return quantity"]
    cols, rows = read_rows(tsv(header, [["202-9", "RMA1", "2026-07-01", "SOAP", "1"],
                                        ["202-9", "RMA1", "2026-07-01", "CANDLE", "2"],
                                        ["202-8", "RMA2", "2026-07-01", "SOAP", "1"]]))
    first, second = list(parse_mfn_returns(cols, rows))
    assert [(ln.sku, ln.quantity) for ln in first.lines] == [("SOAP", 1), ("CANDLE", 2)]
    assert first.channel == "MFN" and second.order_id == "202-8"


ORDER = {"id": 1201, "orderRows": {
    "3301": {"productId": 7, "quantity": {"magnitude": "3.0000"}, "itemCost": {"value": "4.0000"},
             "rowValue": {"taxCode": "T20", "rowNet": {"value": "30.00"}, "rowTax": {"value": "6.00"}},
             "nominalCode": "4000"},
    "3302": {"productId": 8, "quantity": {"magnitude": "1.0000"},
             "rowValue": {"rowNet": {"value": "9.99"}, "rowTax": {"value": "2.00"}}}}}


def test_credit_rows_take_the_original_unit_price_times_the_returned_quantity():
    (row,) = credit_rows(ORDER, [(7, 2)])
    assert (row.quantity, row.net, row.tax, row.order_row_id, row.item_cost) == (
        2, Decimal("20.00"), Decimal("4.00"), "3301", Decimal("4.0000"))


def test_returning_more_than_was_ordered_or_another_product_is_refused():
    with pytest.raises(CreditError):
        credit_rows(ORDER, [(7, 4)])
    with pytest.raises(CreditError):
        credit_rows(ORDER, [(99, 1)])


@pytest.mark.parametrize(("kw", "restock"), [
    ({"channel": "FBA", "restock_on": True, "sellable": True, "warehouse_id": 7, "ledger_raised": False}, True),
    ({"channel": "FBA", "restock_on": False, "sellable": True, "warehouse_id": 7, "ledger_raised": False}, False),
    ({"channel": "FBA", "restock_on": True, "sellable": False, "warehouse_id": 7, "ledger_raised": False}, False),
    ({"channel": "FBA", "restock_on": True, "sellable": True, "warehouse_id": 7, "ledger_raised": True}, False),
    ({"channel": "MFN", "restock_on": True, "sellable": True, "warehouse_id": None, "ledger_raised": False}, False),
    ({"channel": "MFN", "restock_on": True, "sellable": True, "warehouse_id": 9, "ledger_raised": False}, True),
])
def test_restock_decision(kw, restock):
    assert restock_decision(**kw)[0] is restock


def test_the_ledger_raises_returned_units_only_when_no_credit_does():
    assert ledger_return_decision(restock_on=False, credit_restocked=False)[0] is True
    assert ledger_return_decision(restock_on=True, credit_restocked=False)[0] is False
    assert ledger_return_decision(restock_on=False, credit_restocked=True)[0] is False


def test_replacements_reduce_and_reimbursements_deem_only_warehouse_losses_paid_in_cash():
    cols, rows = read_rows(tsv(["shipment-date", "sku", "quantity", "replacement-customer-order-id",
                                "original-amazon-order-id", "replacement-reason-code"],
                               [["2026-07-01", "TEA", "2", "203-1", "202-1", "3"]]))
    (rep,) = list(parse_replacements(cols, rows))
    assert (rep.kind, rep.quantity) == ("replacement", -2)
    header = ["reimbursement-id", "sku", "reason", "quantity-reimbursed-cash", "quantity-reimbursed-inventory"]
    cols, rows = read_rows(tsv(header, [["1", "TEA", "Lost_Warehouse", "3", "0"],
                                        ["2", "TEA", "Damaged_Warehouse", "0", "2"],
                                        ["3", "TEA", "CustomerReturn", "1", "0"],
                                        ["4", "TEA", "Lost_Warehouse", "x", "0"]]))
    lost, inventory, refund, bad = list(parse_reimbursements(cols, rows))
    assert (lost.quantity, lost.claim) == (-3, "deemed")
    assert inventory.quantity == 0 and "N row" in inventory.why
    assert refund.quantity == 0 and isinstance(bad, Quarantine)
