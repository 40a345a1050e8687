"""Brightpearl's sales credits and goods-in notes (returns booked back into stock), and their
routes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulators.brightpearl.base import Section
from simulators.brightpearl.errors import BPError
from simulators.brightpearl.http import IDS, _body, _note_ids, _prune
from simulators.brightpearl.records import GoodsInNote, Order, _int, _require, ids_from, money2, money4
from simulators.core import Request, Response

if TYPE_CHECKING:
    from simulators.brightpearl.server import BrightpearlSimulator
    from simulators.brightpearl.world import World


class Credits(Section):
    """Sales credits' goods-in notes (the credits themselves are orders)."""

    def __init__(self, w: World) -> None:
        super().__init__(w)
        self.goods_in_notes: dict[int, GoodsInNote] = {}

    def create_sales_credit(self, body: dict[str, Any]) -> int:
        customer = body.get("customer") or {}
        contact = customer.get("id") if isinstance(customer, dict) else None
        contact = contact if contact is not None else body.get("customerId")
        if contact is None:
            raise BPError(400, "ORDC-006", "customer.id is required")
        parent_id = _int(body.get("parentId", 0) or 0, "parentId", "ORDC-006")
        parent = self.w.sales.orders.get(parent_id)
        if parent_id and parent is None:
            raise BPError(400, "ORDC-006", f"Parent order {parent_id} not found")
        ext, inst = body.get("externalRef"), body.get("installedIntegrationInstanceId")
        if ext and any(o.order_type_code == "SC" and o.external_ref == ext
                       and o.installed_integration_instance_id == inst for o in self.w.sales.orders.values()):
            raise BPError(400, "ORDC-013", f"A sales credit with externalRef {ext} already exists for this integration")
        rows = body.get("rows")
        if not isinstance(rows, list):
            raise BPError(400, "ORDC-006", "rows must be a list")
        for r in rows:
            if r.get("productId") is None and not r.get("name"):
                raise BPError(400, "ORDC-006", "a row needs productId or name")
        now = self.shared.now()
        currency = body.get("currency") or {}
        oid = self.shared.new_id("order")
        order = Order(
            id=oid, order_type_code="SC", contact_id=_int(contact, "customer.id", "ORDC-006"),
            parent_order_id=parent_id, reference=str(body.get("ref", "")), external_ref=ext,
            status_id=int(body.get("statusId", 10)),
            warehouse_id=int(body.get("warehouseId") or (parent.warehouse_id if parent else 0)),
            channel_id=int(body.get("channelId") or (parent.channel_id if parent else 0)),
            installed_integration_instance_id=inst,
            currency_code=str(currency.get("code") or (parent.currency_code if parent else "GBP")),
            price_list_id=int(body.get("priceListId") or (parent.price_list_id if parent else 1)),
            price_mode_code=str(body.get("priceModeCode") or (parent.price_mode_code if parent else "INC")),
            placed_on=str(body.get("placedOn", now)), created_on=now, updated_on=now,
            tax_date=body.get("taxDate"), payment_status_id=2, stock_status_id=4, shipping_status_id=4,
        )
        for seq, r in enumerate(rows, start=1):
            rid = self.shared.new_id("row")
            order.rows[rid] = self.w.sales.make_row(rid, seq, r)
        self.w.sales.orders[oid] = order
        return oid

    def sales_credit_json(self, o: Order) -> dict[str, Any]:
        net, tax = self.w.sales.totals(o)
        return {
            "id": o.id, "customer": {"id": o.contact_id}, "parentId": o.parent_order_id, "ref": o.reference,
            "externalRef": o.external_ref, "installedIntegrationInstanceId": o.installed_integration_instance_id,
            "channelId": o.channel_id, "warehouseId": o.warehouse_id, "statusId": o.status_id,
            "placedOn": o.placed_on, "taxDate": o.tax_date, "priceListId": o.price_list_id,
            "priceModeCode": o.price_mode_code, "currency": {"code": o.currency_code, "fixedExchangeRate": False},
            "rows": [{"id": r.id, "productId": r.product_id, "name": r.name, "sku": r.sku or None,
                      "quantity": money4(r.quantity), "net": money2(r.net), "tax": money2(r.tax),
                      "taxCode": r.tax_code, "nominalCode": r.nominal_code, "externalRef": r.external_ref,
                      "discountPercentage": money2(r.discount_percentage), "bundleChild": False,
                      "bundleParent": False, "parentRowId": 0} for r in o.rows.values()],
            "createdOn": o.created_on, "createdBy": o.created_by, "updatedOn": o.updated_on,
            "total": {"net": money2(net), "tax": money2(tax), "gross": money2(net + tax), "baseNet": money2(net),
                      "baseTax": money2(tax), "baseGross": money2(net + tax)},
            "isCanceled": False, "orderPaymentStatus": self.w.sales.payment_status(o),
            "allocationStatusCode": "ANR", "shippingStatusCode": "ANR",
        }

    def get_sales_credits(self, ids: list[int]) -> list[dict[str, Any]]:
        orders = self.w.sales.orders
        return [self.sales_credit_json(o) for i in ids if (o := orders.get(i)) and o.order_type_code == "SC"]

    def goods_in(self, oid: int, body: dict[str, Any]) -> int:
        order = self.w.sales.orders.get(oid)
        if order is None:
            raise BPError(404, "CMNC-404", f"Order {oid} not found")
        if order.order_type_code not in ("SC", "PO"):
            raise BPError(400, "WHSC-017", f"Order {oid} is not a sales credit or purchase order")
        wid = _int(_require(body, "warehouseId"), "warehouseId")
        self.w.inventory.warehouse(wid)
        ubr = body.get("userBatchReference")
        if ubr and any(n.user_batch_reference == ubr for n in self.goods_in_notes.values()):
            raise BPError(400, "WHSC-018", f"userBatchReference {ubr} is already used")
        moved = body.get("goodsMoved")
        if not isinstance(moved, list) or not moved:
            raise BPError(400, "WHSC-003", "goodsMoved must be a non-empty list")
        receiving: dict[int, int] = {}
        plan = []
        for m in moved:
            p = self.w.catalog.tracked(_require(m, "productId"))
            rid = _int(_require(m, "purchaseOrderRowId"), "purchaseOrderRowId")
            row = order.rows.get(rid)
            if row is None or row.product_id != p.id:
                raise BPError(400, "WHSC-019", f"Row {rid} of order {oid} is not for product {p.id}")
            q = _int(_require(m, "quantity"), "quantity")
            if q <= 0:
                raise BPError(400, "WHSC-004", "quantity must be positive")
            receiving[rid] = receiving.get(rid, 0) + q
            if row.received + receiving[rid] > row.quantity:
                outstanding = row.quantity - row.received
                raise BPError(400, "WHSC-020",
                              f"Cannot receive {receiving[rid]} of row {rid}: {outstanding} outstanding")
            lid = self.w.inventory.location(wid, _require(m, "destinationLocationId"))
            plan.append((p.id, rid, q, lid, m))
        for pid, rid, q, lid, _m in plan:
            self.w.inventory.move(pid, wid, lid, q)
            order.rows[rid].received += q
        nid = self.shared.new_id("goods_note")
        self.goods_in_notes[nid] = GoodsInNote(
            nid, oid, wid, str(body.get("receivedOn", self.shared.now())), ubr,
            [{"productId": pid, "purchaseOrderRowId": rid, "quantity": q, "destinationLocationId": lid,
              "productValue": m.get("productValue")} for pid, rid, q, lid, m in plan], self.shared.staff_id)
        self.shared.raise_event("goods-in-note.created", [nid])
        return nid

    def get_goods_in(self, order_ids: list[int] | None, note_ids: list[int] | None) -> dict[str, Any]:
        return {str(n.id): {"goodsNoteId": n.id, "orderId": n.order_id, "warehouseId": n.warehouse_id,
                            "transfer": False, "goodsNoteStatus": "CLOSED",
                            "userBatchReference": n.user_batch_reference, "receivedOn": n.received_on,
                            "createdBy": n.created_by, "goodsMoved": [dict(m) for m in n.goods_moved]}
                for n in sorted(self.goods_in_notes.values(), key=lambda x: x.id)
                if (order_ids is None or n.order_id in order_ids) and (note_ids is None or n.id in note_ids)}


def register(sim: BrightpearlSimulator) -> None:
    sim._post(r"/order-service/sales-credit", lambda r: sim.world.credits.create_sales_credit(_body(r)),
              "post-sales-credit")
    sim._get(r"/order-service/sales-credit/" + IDS, lambda r: _read_credits(sim, r), "get-sales-credit")
    sim._post(r"/warehouse-service/order/(?P<oid>\d+)/goods-note/goods-in",
              lambda r: sim.world.credits.goods_in(int(r.params["oid"]), _body(r)), "post-goods-in-note")
    sim._get(r"/warehouse-service/order/(?P<orders>\*|[0-9][^/]*)/goods-note/goods-in(?:/" + IDS + ")?",
             lambda r: _read_goods_in(sim, r), "get-goods-in-note")


def _read_credits(sim: BrightpearlSimulator, req: Request) -> Response:
    ids = ids_from(req.params["ids"], "order")
    found = sim.world.credits.get_sales_credits(ids)
    if not found:
        raise BPError(404, "CMNC-404", f"No sales credits found in ID set {req.params['ids']}")
    # Some ids missing: Brightpearl answers 207 with what it found.
    return Response(200 if len(found) == len(ids) else 207, _prune({"response": found}))


def _read_goods_in(sim: BrightpearlSimulator, req: Request) -> Any:
    return sim.world.credits.get_goods_in(*_note_ids(req, "goods-in"))
