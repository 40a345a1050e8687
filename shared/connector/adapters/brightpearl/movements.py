"""The Brightpearl calls stock movements and returns make (contract §4c, §6), and their look-ups by reference.

Writes here are not idempotent on Brightpearl's side, so each has a look-up the use case runs before
(re)writing: credits by ``externalRef``, goods-in notes by ``userBatchReference``, stock corrections by
the reference in their ``reason`` (Brightpearl has no search for corrections: goods-note ids are
sequential, so the ids after the last one the connector saw are read back in ID-set ranges).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connector.adapters.brightpearl.client import BrightpearlClient, BrightpearlNotFound
from connector.domain.movements import StockCorrection
from connector.domain.returns import CreditRow

CORRECTION_IDS_PER_READ = 200
CORRECTION_SCAN_READS = 10  # how far past the last known goods-note id a recovery looks (2 000 ids)


class BrightpearlMovements:
    def __init__(self, client: BrightpearlClient) -> None:
        self.client = client
        self._locations: dict[int, int] = {}

    # ------------------------------------------------------------------ stock corrections
    def default_location(self, warehouse_id: int) -> int:
        if warehouse_id not in self._locations:
            self._locations[warehouse_id] = int(
                self.client.get(f"warehouse-service/warehouse/{warehouse_id}/location/default"))
        return self._locations[warehouse_id]

    def post_corrections(self, warehouse_id: int, corrections: list[StockCorrection]) -> list[int]:
        """One request, several corrections (all or nothing); goods-note ids in request order."""
        ids = self.client.post(f"warehouse-service/warehouse/{warehouse_id}/stock-correction",
                               {"corrections": [correction_line(c) for c in corrections]})
        return [int(i) for i in ids or []]

    def on_hand(self, warehouse_id: int, product_ids: list[int]) -> dict[int, int]:
        """On-hand per product in one warehouse (one availability read per 100 ids)."""
        out: dict[int, int] = {}
        for i in range(0, len(product_ids), 100):
            chunk = sorted(set(product_ids[i:i + 100]))
            rows = self.client.get("warehouse-service/product-availability/" + ",".join(map(str, chunk))) or {}
            for pid in chunk:
                wh = ((rows.get(str(pid)) or {}).get("warehouses") or {}).get(str(warehouse_id)) or {}
                out[pid] = int(wh.get("onHand", 0))
        return out

    def find_corrections(self, warehouse_id: int, refs: set[str], after_id: int,
                         before_id: int | None = None) -> dict[str, int]:
        """Corrections whose reason carries one of ``refs``, among goods notes after ``after_id``
        (or, when ``before_id`` is given, among the 2 000 goods notes up to it)."""
        found: dict[str, int] = {}
        start = after_id + 1
        if before_id is not None:
            start = max(1, before_id - CORRECTION_IDS_PER_READ * CORRECTION_SCAN_READS + 1)
        for _ in range(CORRECTION_SCAN_READS):
            end = start + CORRECTION_IDS_PER_READ - 1
            try:
                notes = self.client.get(f"warehouse-service/warehouse/{warehouse_id}/stock-correction/{start}-{end}")
            except BrightpearlNotFound:
                notes = []
            for note in notes or []:
                reason = str(note.get("reason", ""))
                for ref in refs:
                    if f"[{ref}]" in reason:
                        found[ref] = int(note["goodsNoteId"])
            if refs <= set(found):
                break
            start = end + 1
        return found

    # ------------------------------------------------------------------ orders and credits
    def find_sales_order(self, amazon_order_id: str, field: str) -> int | None:
        res = self.client.get("order-service/order-search",
                              params={"orderTypeId": 1, field: amazon_order_id, "columns": "orderId"})
        results = (res or {}).get("results") or []
        return int(results[0][0]) if results else None

    def order(self, order_id: int) -> dict[str, Any] | None:
        rows = self.client.get(f"order-service/order/{order_id}") or []
        return rows[0] if rows else None

    def find_credit(self, external_ref: str) -> int | None:
        res = self.client.get("order-service/order-search",
                              params={"orderTypeId": 3, "externalRef": external_ref, "columns": "orderId"})
        results = (res or {}).get("results") or []
        return int(results[0][0]) if results else None

    def create_credit(self, ref: str, order: dict[str, Any], rows: list[CreditRow], *, placed_on: datetime,
                      currency: str) -> int:
        """A sales credit against ``order`` (``ref`` in its externalRef, the look-up key of a lost answer)."""
        return int(self.client.post("order-service/sales-credit",
                                    credit_body(ref, order, rows, placed_on=placed_on, currency=currency)))

    def credit(self, credit_id: int) -> dict[str, Any] | None:
        rows = self.client.get(f"order-service/order/{credit_id}") or []
        return rows[0] if rows else None

    def find_goods_in(self, credit_id: int, batch_reference: str) -> int | None:
        try:
            notes = self.client.get(f"warehouse-service/order/{credit_id}/goods-note/goods-in") or {}
        except BrightpearlNotFound:
            return None
        for note_id, note in notes.items():
            if note.get("userBatchReference") == batch_reference:
                return int(note.get("goodsNoteId", note_id))
        return None

    def goods_in(self, credit_id: int, ref: str, warehouse_id: int, order: dict[str, Any], rows: list[CreditRow],
                 sellable: set[int], *, received_on: datetime, currency: str) -> int | None:
        """Receive the sellable rows against the credit (``ref`` as the batch reference); None, and nothing
        sent, when no credit row can be received against."""
        body = self._goods_in_body(ref, credit_id, warehouse_id, order, rows, sellable, received_on=received_on,
                                   currency=currency)
        if not body["goodsMoved"]:
            return None
        return int(self.client.post(f"warehouse-service/order/{credit_id}/goods-note/goods-in", body))

    def _goods_in_body(self, ref: str, credit_id: int, warehouse: int, order: dict[str, Any], rows: list[CreditRow],
                       sellable: set[int], *, received_on: datetime, currency: str) -> dict[str, Any]:
        credit = self.credit(credit_id) or {}
        credit_rows = (credit.get("orderRows") or {}).items()
        credit_rows_by_ext = {str(r.get("externalRef")): int(rid) for rid, r in credit_rows}
        # Whether Brightpearl echoes a row's externalRef is unconfirmed: fall back to the product.
        credit_rows_by_product = {int(r["productId"]): int(rid) for rid, r in credit_rows if r.get("productId")}
        location = self.default_location(warehouse)
        code = (order.get("currency") or {}).get("orderCurrencyCode") or currency
        moved = []
        for r in rows:
            if r.product_id is None:
                continue  # shipping, fees, promotions: nothing to receive
            row_id = credit_rows_by_ext.get(r.order_row_id) or credit_rows_by_product.get(int(r.product_id))
            if r.product_id in sellable and row_id is not None:
                moved.append({"productId": r.product_id, "purchaseOrderRowId": row_id, "quantity": r.quantity,
                              "destinationLocationId": location,
                              "productValue": {"currency": code, "value": float(r.item_cost)}})
        return {"transfer": False, "warehouseId": warehouse, "userBatchReference": ref,
                "receivedOn": received_on.strftime("%Y-%m-%dT%H:%M:%SZ"), "goodsMoved": moved}


def correction_line(c: StockCorrection) -> dict[str, Any]:
    line: dict[str, Any] = {"quantity": c.quantity, "productId": c.product_id, "locationId": c.location_id,
                            "reason": c.reason}
    if c.cost_currency is not None:
        line["cost"] = {"currency": c.cost_currency, "value": 0}
    return line


def credit_row(r: CreditRow) -> dict[str, Any]:
    """A product row (``externalRef`` = the order row it credits), or a named row with no product (contract §6c)."""
    row: dict[str, Any] = {"quantity": r.quantity, "net": float(r.net), "tax": float(r.tax), "taxCode": r.tax_code,
                           "nominalCode": r.nominal_code}
    if r.product_id is None:
        return {"name": r.name, **row}
    return {"productId": r.product_id, **row, "externalRef": r.order_row_id}


def credit_body(ref: str, order: dict[str, Any], rows: list[CreditRow], *, placed_on: datetime,
                currency: str) -> dict[str, Any]:
    """The sales credit's body: the order's customer, channel, prices and currency; one row per credit row."""
    parties = order.get("parties") or {}
    assignment = (order.get("assignment") or {}).get("current") or {}
    code = (order.get("currency") or {}).get("orderCurrencyCode") or currency
    body: dict[str, Any] = {
        "customer": {"id": (parties.get("customer") or {}).get("contactId")},
        "parentId": order.get("id"), "ref": order.get("externalRef") or order.get("reference") or "",
        "externalRef": ref, "installedIntegrationInstanceId": order.get("installedIntegrationInstanceId"),
        "channelId": assignment.get("channelId"), "warehouseId": order.get("warehouseId"),
        "placedOn": placed_on.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "priceListId": order.get("priceListId"), "priceModeCode": order.get("priceModeCode"),
        "currency": {"code": code, "fixedExchangeRate": False},
        "rows": [credit_row(r) for r in rows],
    }
    return {k: v for k, v in body.items() if v is not None}
