"""Amazon's Finances refunds and Brightpearl's sales credits in memory.

``FakeFinances`` implements the ``Finances`` port: refunds a test posts (Finances v0's
``RefundEventList`` shape, parsed by the domain as the adapter does), ``deny()`` withdraws the role
(``Forbidden``), and it counts its calls. Given a ``clock``, an event posted with ``visible=`` is listed
only from then on (Amazon lists financial events late), and by order from ``order_visible=`` (default
the same): Amazon's two lists need not agree. ``FakeCreditsBrightpearl`` is the fake Brightpearl with sales
orders, credits (unique by externalRef, as Brightpearl's compound key is) and goods-in notes that move
stock, for the returns → credits use case.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from connector.domain.errors import Forbidden, Refused
from connector.domain.refunds import Refund, parse_refunds
from connector.domain.returns import CreditRow
from tests.fakes.brightpearl import FakeBrightpearl


class FakeFinances:
    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.visible: dict[int, datetime] = {}  # id(event) → from when it is listed by date
        self.order_visible: dict[int, datetime] = {}  # id(event) → from when it is listed by order
        self.clock = clock
        self.authorised = True
        self.calls = 0
        self.order_calls = 0
        self._ids = 50_000_000_000_000

    def post(self, order_id: str, items: list[dict[str, Any]], *, posted: str = "2026-07-01T10:00:00.000Z",
             currency: str = "GBP", visible: datetime | None = None,
             order_visible: datetime | None = None) -> dict[str, Any]:
        """A refund event: ``items`` = ``[{"sku", "quantity", "charges": {type: amount}, "fees": {type: amount},
        "promotions": [amount]}]`` in Amazon's signs."""
        def cur(v: Any) -> dict[str, Any]:
            return {"CurrencyCode": currency, "CurrencyAmount": float(Decimal(str(v)))}

        event_items = []
        for it in items:
            self._ids += 1
            event_items.append({
                "SellerSKU": it["sku"], "OrderAdjustmentItemId": str(self._ids),
                "QuantityShipped": it.get("quantity", 1),
                "ItemChargeAdjustmentList": [{"ChargeType": t, "ChargeAmount": cur(a)}
                                             for t, a in (it.get("charges") or {}).items()],
                "ItemFeeAdjustmentList": [{"FeeType": t, "FeeAmount": cur(a)}
                                          for t, a in (it.get("fees") or {}).items()],
                "PromotionAdjustmentList": [{"PromotionType": "PromotionMetaDataDefinitionValue",
                                             "PromotionId": f"P{n}", "PromotionAmount": cur(a)}
                                            for n, a in enumerate(it.get("promotions") or [])]})
        event = {"AmazonOrderId": order_id, "PostedDate": posted, "ShipmentItemAdjustmentList": event_items}
        self.events.append(event)
        if visible is not None:
            self.visible[id(event)] = visible
        by_order = order_visible or visible
        if by_order is not None:
            self.order_visible[id(event)] = by_order
        return event

    def _listed(self, visible: dict[int, datetime]) -> list[dict[str, Any]]:
        if self.clock is None:
            return self.events
        now = self.clock()
        return [e for e in self.events if id(e) not in visible or visible[id(e)] <= now]

    def deny(self) -> None:
        self.authorised = False

    def refunds(self, amazon_order_id: str) -> list[Refund]:
        self.calls += 1
        self.order_calls += 1
        if not self.authorised:
            raise Forbidden("fake Finances: 403 Unauthorized, the app lacks the Finances role")
        return parse_refunds(e for e in self._listed(self.order_visible) if e["AmazonOrderId"] == amazon_order_id)

    def refunds_posted(self, after: datetime, before: datetime) -> list[Refund]:
        self.calls += 1
        if not self.authorised:
            raise Forbidden("fake Finances: 403 Unauthorized, the app lacks the Finances role")
        return parse_refunds(e for e in self._listed(self.visible)
                             if after <= datetime.fromisoformat(e["PostedDate"].replace("Z", "+00:00")) < before)


@dataclass
class FakeCredit:
    credit_id: int
    external_ref: str
    parent_id: int
    rows: list[CreditRow]
    currency: str


@dataclass
class FakeCreditsBrightpearl(FakeBrightpearl):
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)  # id → order as GET order-service/order
    credits: dict[int, FakeCredit] = field(default_factory=dict)
    goods_ins: dict[int, tuple[int, str, int, dict[int, int]]] = field(default_factory=dict)

    def add_order(self, order_id: int, amazon_order_id: str, rows: dict[str, dict[str, Any]], *,
                  currency: str = "GBP") -> None:
        self.orders[order_id] = {"id": order_id, "externalRef": amazon_order_id, "orderRows": rows,
                                 "currency": {"orderCurrencyCode": currency}, "parties": {"customer": {"contactId": 1}}}

    def find_sales_order(self, amazon_order_id: str, field: str) -> int | None:
        return next((i for i, o in self.orders.items() if o.get(field) == amazon_order_id), None)

    def order(self, order_id: int) -> dict[str, Any] | None:
        return self.orders.get(order_id)

    def find_credit(self, external_ref: str) -> int | None:
        return next((c.credit_id for c in self.credits.values() if c.external_ref == external_ref), None)

    def create_credit(self, ref: str, order: dict[str, Any], rows: list[CreditRow], *, placed_on: datetime,
                      currency: str) -> int:
        self.attempts.append("create_credit")
        if self.find_credit(ref) is not None:
            raise Refused(f"fake Brightpearl: a credit with externalRef {ref} exists")
        if not rows:
            raise Refused("fake Brightpearl: a credit needs rows")
        cid = self._id()
        code = (order.get("currency") or {}).get("orderCurrencyCode") or currency
        self.credits[cid] = FakeCredit(cid, ref, int(order["id"]), list(rows), code)
        self._landed("create_credit")
        return cid

    def credit(self, credit_id: int) -> dict[str, Any] | None:
        c = self.credits.get(credit_id)
        if c is None:
            return None
        return {"id": c.credit_id, "orderRows": {str(n): {"productId": r.product_id, "externalRef": r.order_row_id}
                                                 for n, r in enumerate(c.rows, start=1)}}

    def find_goods_in(self, credit_id: int, batch_reference: str) -> int | None:
        return next((i for i, (cid, ref, _w, _m) in self.goods_ins.items()
                     if cid == credit_id and ref == batch_reference), None)

    def goods_in(self, credit_id: int, ref: str, warehouse_id: int, order: dict[str, Any], rows: list[CreditRow],
                 sellable: set[int], *, received_on: datetime, currency: str) -> int | None:
        moved = {int(r.product_id): r.quantity for r in rows if r.product_id is not None and r.product_id in sellable}
        if not moved:
            return None
        self.attempts.append("goods_in")
        for pid, q in moved.items():
            key = (warehouse_id, pid)
            self.on_hand_of[key] = self.on_hand_of.get(key, 0) + q
        nid = self._id()
        self.goods_ins[nid] = (credit_id, ref, warehouse_id, moved)
        self._landed("goods_in")
        return nid

    def credited(self) -> dict[str, Decimal]:
        """Each credit's total (net + tax), by externalRef."""
        return {c.external_ref: sum((r.net + r.tax for r in c.rows), Decimal(0)) for c in self.credits.values()}
