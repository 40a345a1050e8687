"""Brightpearl's order-service: orders, sales orders (allocation, goods-out), order rows, order
search, and their routes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulators.brightpearl.base import Section
from simulators.brightpearl.errors import BPError
from simulators.brightpearl.http import IDS, _body, _search
from simulators.brightpearl.records import (
    ORDER_STATUS_NAMES,
    ORDER_TYPE_NAMES,
    ORDER_TYPES,
    PARTY_FIELDS,
    PAYMENT_STATUS_NAMES,
    SHIPPING_STATUS_CODES,
    SHIPPING_STATUS_NAMES,
    STOCK_STATUS_NAMES,
    Allocation,
    GoodsOutNote,
    Order,
    OrderRow,
    Warehouse,
    _int,
    _require,
    ids_from,
    money2,
    money4,
)
from simulators.brightpearl.search import ORDER_COLUMNS, run_search

if TYPE_CHECKING:
    from simulators.brightpearl.server import BrightpearlSimulator
    from simulators.brightpearl.world import World


class Sales(Section):
    """Orders of every type."""

    def __init__(self, w: World) -> None:
        super().__init__(w)
        self.orders: dict[int, Order] = {}

    def seed_order(self, o: dict[str, Any]) -> None:
        oid = int(o["id"])
        now = self.shared.now()
        code = str(o.get("orderTypeCode", "SO"))
        if code not in ORDER_TYPES:
            raise ValueError(f"unknown orderTypeCode {code!r}")
        order = Order(
            id=oid, order_type_code=code, contact_id=int(o.get("contactId", 200)),
            parent_order_id=int(o.get("parentOrderId", 0)), reference=str(o.get("reference", "")),
            external_ref=o.get("externalRef"), status_id=int(o.get("statusId", 4)),
            warehouse_id=int(o.get("warehouseId", 0)), channel_id=int(o.get("channelId", 0)),
            installed_integration_instance_id=o.get("installedIntegrationInstanceId"),
            currency_code=str(o.get("currency", "GBP")), price_list_id=int(o.get("priceListId", 1)),
            price_mode_code=str(o.get("priceModeCode", "INC")), placed_on=str(o.get("placedOn", now)),
            created_on=str(o.get("createdOn", now)), updated_on=str(o.get("updatedOn", now)),
            tax_date=o.get("taxDate"), delivery_date=o.get("deliveryDate"),
            payment_status_id=int(o.get("paymentStatusId", 1)),
            stock_status_id=int(o.get("stockStatusId", 2)), shipping_status_id=int(o.get("shippingStatusId", 4)),
            parties={k: dict(v) for k, v in (o.get("parties") or {}).items() if isinstance(v, dict)},
        )
        for seq, r in enumerate(o.get("rows", []), start=1):
            rid = int(r.get("id") or self.shared.new_id("row"))
            self.shared.bump("row", rid)
            order.rows[rid] = self.make_row(rid, seq, r)
        self.orders[oid] = order
        self.shared.bump("order", oid)

    def make_row(self, rid: int, seq: int, r: dict[str, Any]) -> OrderRow:
        pid = r.get("productId")
        product = self.w.catalog.products.get(int(pid)) if pid is not None else None
        if pid is not None and product is None:
            raise BPError(400, "ORDC-006", f"Product {pid} not found")
        return OrderRow(
            id=rid, sequence=seq * 10, product_id=int(pid) if pid is not None else None,
            name=str(r.get("name") or (product.name if product else "")),
            sku=product.sku if product else "", quantity=_int(r.get("quantity", 1), "quantity", "ORDC-006"),
            net=float(r.get("net", 0)), tax=float(r.get("tax", 0)), tax_code=str(r.get("taxCode", "T20")),
            nominal_code=str(r.get("nominalCode", "4000")), item_cost=float(r.get("itemCost", 0)),
            external_ref=r.get("externalRef"), discount_percentage=float(r.get("discountPercentage", 0)),
        )

    def order_search(self, query: dict[str, list[str]]) -> dict[str, Any]:
        rows = [{
            "orderId": o.id, "orderTypeId": o.order_type_id, "contactId": o.contact_id,
            "orderStatusId": o.status_id, "orderStockStatusId": o.stock_status_id, "createdOn": o.created_on,
            "createdById": o.created_by, "customerRef": o.reference, "orderPaymentStatusId": o.payment_status_id,
            "updatedOn": o.updated_on, "parentOrderId": o.parent_order_id,
            "orderShippingStatusId": o.shipping_status_id, "externalRef": o.external_ref,
            "installedIntegrationInstanceId": o.installed_integration_instance_id, "warehouseId": o.warehouse_id,
            "staffOwnerContactId": 0, "taxDate": o.tax_date, "departmentId": 0, "deliveryDate": o.delivery_date,
        } for o in self.orders.values()]
        out = run_search(rows, ORDER_COLUMNS, query)
        out.pop("_page")
        out["reference"] = {"orderTypeNames": ORDER_TYPE_NAMES, "orderStatusNames": ORDER_STATUS_NAMES,
                            "orderStockStatusNames": STOCK_STATUS_NAMES,
                            "orderPaymentStatusNames": PAYMENT_STATUS_NAMES,
                            "orderShippingStatusNames": SHIPPING_STATUS_NAMES}
        return out

    def totals(self, o: Order) -> tuple[float, float]:
        return sum(r.net for r in o.rows.values()), sum(r.tax for r in o.rows.values())

    def payment_status(self, o: Order) -> str:
        """The order's ``orderPaymentStatus`` as an order or a sales credit reads it."""
        return PAYMENT_STATUS_NAMES.get(str(o.payment_status_id), "UNPAID")

    def order_json(self, o: Order) -> dict[str, Any]:
        net, tax = self.totals(o)
        rows = {}
        for r in o.rows.values():
            gross_unit = (r.net + (r.tax if o.price_mode_code == "INC" else 0)) / r.quantity if r.quantity else 0
            rate = (r.tax / r.net * 100) if r.net else 0.0
            rows[str(r.id)] = {
                "orderRowSequence": str(r.sequence), "productId": r.product_id, "productName": r.name,
                "productSku": r.sku or None, "quantity": {"magnitude": money4(r.quantity)},
                "itemCost": {"currencyCode": o.currency_code, "value": money4(r.item_cost)},
                "productPrice": {"currencyCode": o.currency_code, "value": money4(gross_unit)},
                "discountPercentage": money2(r.discount_percentage),
                "rowValue": {"taxRate": money4(rate), "taxCode": r.tax_code, "taxCalculator": "brightpearl",
                             "rowNet": {"currencyCode": o.currency_code, "value": money2(r.net)},
                             "rowTax": {"currencyCode": o.currency_code, "value": money2(r.tax)}, "taxClassId": 2},
                "nominalCode": r.nominal_code, "externalRef": r.external_ref,
                "composition": {"bundleParent": False, "bundleChild": False, "parentOrderRowId": 0}}
        return {
            "id": o.id, "parentOrderId": o.parent_order_id, "orderTypeCode": o.order_type_code,
            "reference": o.reference, "externalRef": o.external_ref, "version": o.version,
            "orderStatus": {"orderStatusId": o.status_id, "name": ORDER_STATUS_NAMES.get(str(o.status_id), "")},
            "orderPaymentStatus": self.payment_status(o),
            "stockStatusCode": "SOA", "allocationStatusCode": o.allocation_status if o.order_type_code == "SO"
            and (o.allocations or any(g.order_id == o.id for g in self.w.goods_out.gons.values())) else "AAA",
            "shippingStatusCode": SHIPPING_STATUS_CODES.get(o.shipping_status_id, "ASS"),
            "placedOn": o.placed_on, "createdOn": o.created_on, "createdById": o.created_by, "updatedOn": o.updated_on,
            "acknowledged": 0, "costPriceListId": 2, "historicalOrder": False, "orderWeighting": 100,
            "isDropship": False, "isCanceled": o.status_id == 5,
            "delivery": {"deliveryDate": o.delivery_date or o.placed_on, "shippingMethodId": 0},
            "invoices": [{"invoiceReference": "", "taxDate": o.tax_date or o.placed_on, "dueDate": o.placed_on}],
            "priceListId": o.price_list_id, "priceModeCode": o.price_mode_code, "warehouseId": o.warehouse_id,
            "installedIntegrationInstanceId": o.installed_integration_instance_id,
            "currency": {"accountingCurrencyCode": o.currency_code, "orderCurrencyCode": o.currency_code,
                         "exchangeRate": "1.000000", "fixedExchangeRate": False},
            "totalValue": {"net": money2(net), "taxAmount": money2(tax), "baseNet": money2(net),
                           "baseTaxAmount": money2(tax), "baseTotal": money2(net + tax), "total": money2(net + tax)},
            "assignment": {"current": {"staffOwnerContactId": 0, "projectId": 0, "channelId": o.channel_id,
                                       "leadSourceId": 0, "teamId": 0}},
            "parties": {"customer": self._party(o, "customer"), "delivery": self._party(o, "delivery"),
                        "billing": self._party(o, "billing")},
            "orderRows": rows,
        }

    def _party(self, o: Order, role: str) -> dict[str, Any]:
        """A full party address: seeded/posted values over a plausible default for the contact."""
        given = o.parties.get(role) or {}
        base: dict[str, Any] = {
            "addressFullName": f"Customer {o.contact_id}", "companyName": "", "addressLine1": "1 High Street",
            "addressLine2": "", "addressLine3": "London", "addressLine4": "", "postalCode": "EC1A 1BB",
            "country": "United Kingdom", "telephone": "", "mobileTelephone": "", "fax": "",
            "email": f"customer{o.contact_id}@example.com", "countryId": 222, "countryIsoCode": "GB",
            "countryIsoCode3": "GBR"}
        party = {k: given.get(k, base[k]) for k in PARTY_FIELDS}
        if role != "delivery":
            party = {"contactId": o.contact_id, **party}
        return party

    def get_orders(self, ids: list[int]) -> list[dict[str, Any]]:
        return [self.order_json(self.orders[i]) for i in ids if i in self.orders]

    def create_order(self, body: dict[str, Any]) -> int:
        code = body.get("orderTypeCode")
        if not code:
            raise BPError(400, "ORDC-005", "orderTypeCode is required")
        if code not in ORDER_TYPES:
            raise BPError(400, "ORDC-005", f"Unknown orderTypeCode {code}")
        parties = body.get("parties") or {}
        contact = (parties.get("customer") or parties.get("supplier") or {}).get("contactId")
        if contact is None:
            raise BPError(400, "ORDC-006", "parties.customer.contactId is required")
        parent_id = _int(body.get("parentOrderId", 0) or 0, "parentOrderId", "ORDC-006")
        parent = self.orders.get(parent_id)
        now = self.shared.now()
        oid = self.shared.new_id("order")
        self.orders[oid] = Order(
            id=oid, order_type_code=str(code), contact_id=_int(contact, "contactId", "ORDC-006"),
            parent_order_id=parent_id, reference=str(body.get("reference", "")), external_ref=body.get("externalRef"),
            status_id=int(body.get("statusId") or (body.get("orderStatus") or {}).get("orderStatusId") or 1),
            warehouse_id=int(body.get("warehouseId") or (parent.warehouse_id if parent else 0)),
            channel_id=int((body.get("assignment") or {}).get("channelId") or (parent.channel_id if parent else 0)),
            installed_integration_instance_id=body.get("installedIntegrationInstanceId"),
            currency_code=str((body.get("currency") or {}).get("orderCurrencyCode")
                              or (parent.currency_code if parent else "GBP")),
            placed_on=str(body.get("placedOn", now)), created_on=now, updated_on=now, tax_date=body.get("taxDate"))
        return oid

    def create_sales_order(self, body: dict[str, Any]) -> int:
        """``POST /order-service/sales-order`` (the atomic resource, api-docs.brightpearl.com/order/index.html):
        the order and its rows at once; stock-tracked rows are allocated from the order's warehouse at once
        (onHand -q, allocated +q, inStock unchanged: the same bookkeeping as a processed transfer, contract §5).
        A row that cannot be covered allocates what there is (APA) — Brightpearl never refuses an order for stock."""
        customer = body.get("customer") or {}
        contact = customer.get("id") if isinstance(customer, dict) else None
        if contact is None:
            raise BPError(400, "ORDC-006", "customer.id is required")
        wid = _int(_require(body, "warehouseId", "ORDC-006"), "warehouseId", "ORDC-006")
        wh = self.w.inventory.warehouse(wid)
        rows = body.get("rows")
        if not isinstance(rows, list) or not rows:
            raise BPError(400, "ORDC-006", "rows must be a non-empty list")
        for r in rows:
            if r.get("productId") is None and not r.get("name"):
                raise BPError(400, "ORDC-006", "a row needs productId or name")
            if _int(r.get("quantity", 1), "quantity", "ORDC-006") <= 0:
                raise BPError(400, "ORDC-006", "quantity must be positive")
        now = self.shared.now()
        oid = self.shared.new_id("order")
        order = Order(
            id=oid, order_type_code="SO", contact_id=_int(contact, "customer.id", "ORDC-006"),
            reference=str(body.get("ref", "")), external_ref=body.get("externalRef"),
            status_id=int(body.get("statusId", 2)), warehouse_id=wid, channel_id=int(body.get("channelId") or 0),
            installed_integration_instance_id=body.get("installedIntegrationInstanceId"),
            currency_code=str((body.get("currency") or {}).get("code") or "GBP"),
            placed_on=str(body.get("placedOn", now)), created_on=now, updated_on=now,
            payment_status_id=2, stock_status_id=4, shipping_status_id=2,
            parties={k: dict(v) for k, v in (body.get("parties") or {}).items() if isinstance(v, dict)})
        for seq, r in enumerate(rows, start=1):
            rid = self.shared.new_id("row")
            order.rows[rid] = self.make_row(rid, seq, r)
        self.orders[oid] = order
        if body.get("allocate", True):
            self._allocate_order(order, wh)
        self.shared.raise_event("sales-order.created", [oid])
        return oid

    def _allocate_order(self, order: Order, wh: Warehouse) -> None:
        wanted = allocated = 0
        for row in order.rows.values():
            p = self.w.catalog.products.get(row.product_id) if row.product_id is not None else None
            if p is None or not p.stock_tracked:
                continue
            wanted += row.quantity
            taken: dict[tuple[int, int], int] = {}
            free = sum(self.w.inventory.location_qty(p.id, wh.id, lid) for lid in wh.locations
                       if lid != wh.quarantine_location_id)
            qty = min(row.quantity, max(0, free))
            if qty:
                for a in self.w.inventory.plan_allocation(wh, p.id, qty, None, taken):
                    self.w.inventory.move(a.product_id, wh.id, a.location_id, -a.quantity)
                    order.allocations.append(a)
                    allocated += a.quantity
        order.allocation_status = ("ANR" if not wanted else "AAA" if allocated == wanted
                                   else "APA" if allocated else "ANA")
        order.shipping_status_id = 2 if wanted else 1

    def sales_order_goods_out(self, oid: int, body: dict[str, Any]) -> list[int]:
        """``POST /warehouse-service/order/{id}/goods-note/goods-out``: the order's allocated stock moves onto
        a goods-out note (still allocated until SHW ships it). Body ``{"warehouses": [{"warehouseId",
        "releaseDate"?, "products"?: [{"productId", "salesOrderRowId", "quantity"}]}], "shippingMethodId"?}``;
        without ``products`` the note takes everything the order has allocated."""
        order = self.orders.get(oid)
        if order is None:
            raise BPError(404, "CMNC-404", f"Order {oid} not found")
        if order.order_type_code != "SO":
            raise BPError(400, "WHSC-017", f"Order {oid} is not a sales order")
        specs = body.get("warehouses")
        if not isinstance(specs, list) or not specs:
            raise BPError(400, "WHSC-003", "warehouses must be a non-empty list")
        ids: list[int] = []
        for spec in specs:
            wid = _int(_require(spec, "warehouseId"), "warehouseId")
            if wid != order.warehouse_id:
                raise BPError(400, "WHSC-021", f"Order {oid} allocates stock in warehouse {order.warehouse_id}")
            wanted = spec.get("products")
            lines: list[Allocation] = []
            row_ids: dict[int, int] = {}
            if wanted is None:
                lines, order.allocations = order.allocations, []
                for row in order.rows.values():
                    if row.product_id is not None:
                        row_ids[row.product_id] = row.id
            else:
                for w in wanted:
                    pid = _int(_require(w, "productId"), "productId")
                    qty = _int(_require(w, "quantity"), "quantity")
                    have = sum(a.quantity for a in order.allocations if a.product_id == pid)
                    if qty <= 0 or qty > have:
                        raise BPError(400, "WHSB-023", f"Order {oid} has {have} of product {pid} allocated, not {qty}")
                    row_ids[pid] = _int(w.get("salesOrderRowId", 0), "salesOrderRowId")
                    left = qty
                    for a in list(order.allocations):
                        if a.product_id != pid or not left:
                            continue
                        take = min(a.quantity, left)
                        lines.append(Allocation(pid, a.location_id, take))
                        a.quantity -= take
                        left -= take
                        if not a.quantity:
                            order.allocations.remove(a)
            if not lines:
                raise BPError(400, "WHSB-023", f"Order {oid} has no allocated stock to send")
            gid = self.shared.new_id("goods_note")
            now = self.shared.now()
            self.w.goods_out.gons[gid] = GoodsOutNote(
                id=gid, warehouse_id=wid, target_warehouse_id=0, stock_transfer_id=0,
                shipping_method_id=int(body.get("shippingMethodId", 0)), release_date=str(spec.get("releaseDate", now)),
                created_on=now, created_by=self.shared.staff_id, lines=lines, order_id=oid, row_ids=row_ids,
                events=[{"occured": now, "eventOwnerId": self.shared.staff_id, "eventCode": "PLA"}],
                last_event_version=self.shared.new_id("event_version"))
            self.shared.raise_event("goods-out-note.created", [gid])
            ids.append(gid)
        return ids

    def add_order_row(self, oid: int, body: dict[str, Any]) -> int:
        order = self.orders.get(oid)
        if order is None:
            raise BPError(404, "CMNC-404", f"Order {oid} not found")
        # Accept the order-row resource shape (quantity.magnitude, rowValue.rowNet...) and the flat credit shape.
        qty = body.get("quantity")
        qty = qty.get("magnitude") if isinstance(qty, dict) else qty
        row_value = body.get("rowValue") or {}
        flat = {
            "productId": body.get("productId"), "name": body.get("productName") or body.get("name"),
            "quantity": int(float(qty if qty is not None else 1)),
            "net": (row_value.get("rowNet") or {}).get("value", body.get("net", 0)),
            "tax": (row_value.get("rowTax") or {}).get("value", body.get("tax", 0)),
            "taxCode": row_value.get("taxCode", body.get("taxCode", "T20")),
            "nominalCode": body.get("nominalCode", "4000"), "externalRef": body.get("externalRef"),
            "itemCost": (body.get("itemCost") or {}).get("value", 0) if isinstance(body.get("itemCost"), dict) else 0,
        }
        if flat["productId"] is None and not flat["name"]:
            raise BPError(400, "ORDC-006", "a row needs productId or productName")
        rid = self.shared.new_id("row")
        order.rows[rid] = self.make_row(rid, len(order.rows) + 1, flat)
        order.version += 1
        order.updated_on = self.shared.now()
        return rid


def register(sim: BrightpearlSimulator) -> None:
    sim._get(r"/order-service/order-search", lambda r: _search(sim.world.sales.order_search(r.query)),
             "order-search")
    sim._get(r"/order-service/order/" + IDS, lambda r: sim.world.sales.get_orders(ids_from(r.params["ids"], "order")),
             "get-order")
    sim._post(r"/order-service/order", lambda r: sim.world.sales.create_order(_body(r)), "post-order")
    sim._post(r"/order-service/sales-order", lambda r: sim.world.sales.create_sales_order(_body(r)),
              "post-sales-order")
    sim._post(r"/warehouse-service/order/(?P<oid>\d+)/goods-note/goods-out",
              lambda r: sim.world.sales.sales_order_goods_out(int(r.params["oid"]), _body(r)),
              "post-goods-out-note")
    sim._post(r"/order-service/order/(?P<oid>\d+)/row",
              lambda r: sim.world.sales.add_order_row(int(r.params["oid"]), _body(r)), "post-order-row")
