"""Finances v0 of the SP-API simulator: the refund financial events Amazon posts for an order, read by
``listFinancialEventsByOrderId`` (``GET /finances/v0/orders/{orderId}/financialEvents``) and
``listFinancialEvents`` (``GET /finances/v0/financialEvents?PostedAfter=…``).

A refund is seeded by the world operation ``refund`` (``sim.world.finances.refund(...)``,
``POST /_sim/spapi/ops/refund`` or ``Scenario.refund``): one ``ShipmentEvent`` in ``RefundEventList``
whose ``ShipmentItemAdjustmentList`` holds, per SKU, the charge adjustments (``Principal``, ``Tax``,
``ShippingCharge``, ``ShippingTax``, ``GiftWrap``, ``GiftWrapTax``, ``RestockingFee``, …), the fee
adjustments and the promotion adjustments, in Amazon's signs (money back to the buyer is negative; a
restocking fee the seller keeps and a promotion taken back are positive). Each item gets a unique
``OrderAdjustmentItemId``. Evidence: docs/simulators-spapi.md ("Finances").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from simulators.core import Request, Response
from simulators.spapi.common import JSON, ApiError, Shared, invalid, iso_ms, parse_time
from simulators.spapi.http import Routes, int_param

ORDER_ID = re.compile(r"^\d{3}-\d{7}-\d{7}$")  # "An Amazon-defined order identifier, in 3-7-7 format."
# The charge types of the model's ChargeComponent description that a refund can carry.
CHARGE_TYPES = ("Principal", "Tax", "MarketplaceFacilitatorTax-Principal", "MarketplaceFacilitatorTax-Shipping",
                "MarketplaceFacilitatorTax-Giftwrap", "MarketplaceFacilitatorTax-Other", "Discount", "TaxDiscount",
                "CODItemCharge", "CODItemTaxCharge", "CODOrderCharge", "CODOrderTaxCharge", "CODShippingCharge",
                "CODShippingTaxCharge", "ShippingCharge", "ShippingTax", "Goodwill", "Giftwrap", "GiftwrapTax",
                "GiftWrap", "GiftWrapTax", "RestockingFee", "ReturnShipping", "PointsFee", "GenericDeduction",
                "FreeReplacementReturnShipping", "PaymentMethodFee", "ExportCharge", "SAFE-TReimbursement",
                "TCS-CGST", "TCS-SGST", "TCS-IGST", "TCS-UTGST")
UNAUTHORIZED = {"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.",
                            "details": ""}]}
FINANCES_TOKEN_TTL = 300.0  # not documented; the stricter choice: a token is good for 5 minutes


def _money(value: Any, name: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValueError(f"{name}: {value!r} is not an amount") from None
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"{name}: {value!r} has more than 2 decimals")
    return amount


@dataclass
class RefundItem:
    sku: str
    quantity: int
    order_adjustment_item_id: str
    order_item_id: str
    charges: list[tuple[str, Decimal]]
    fees: list[tuple[str, Decimal]]
    promotions: list[tuple[str, str, Decimal]]  # type, id, amount

    def to_api(self, currency: str) -> JSON:
        def cur(v: Decimal) -> JSON:
            return {"CurrencyCode": currency, "CurrencyAmount": float(v)}

        out: JSON = {"SellerSKU": self.sku, "OrderItemId": self.order_item_id,
                     "OrderAdjustmentItemId": self.order_adjustment_item_id, "QuantityShipped": self.quantity,
                     "ItemChargeAdjustmentList": [{"ChargeType": t, "ChargeAmount": cur(a)} for t, a in self.charges],
                     "ItemFeeAdjustmentList": [{"FeeType": t, "FeeAmount": cur(a)} for t, a in self.fees]}
        if self.promotions:
            out["PromotionAdjustmentList"] = [{"PromotionType": t, "PromotionId": i, "PromotionAmount": cur(a)}
                                              for t, i, a in self.promotions]
        return out


@dataclass
class RefundEvent:
    order_id: str
    posted: datetime
    currency: str
    marketplace_name: str
    items: list[RefundItem] = field(default_factory=list)

    def to_api(self) -> JSON:
        return {"AmazonOrderId": self.order_id, "SellerOrderId": self.order_id,
                "MarketplaceName": self.marketplace_name, "PostedDate": iso_ms(self.posted),
                "ShipmentItemAdjustmentList": [i.to_api(self.currency) for i in self.items]}


class Finances:
    """The refund events of the seller's orders."""

    def __init__(self, shared: Shared) -> None:
        self.shared = shared
        self.refunds: list[RefundEvent] = []
        # False: the seller's app lacks the Finances role (every call answers 403 Unauthorized).
        self.authorised = True

    def refund(self, order_id: str, items: list[JSON], *, currency: str = "GBP",
               marketplace_name: str = "Amazon.co.uk", at: datetime | None = None) -> JSON:
        """Amazon refunds the buyer of ``order_id``. ``items``: ``[{"sku", "quantity", "charges":
        {"Principal": "-10.00", "Tax": "-2.00", ...}, "fees": {"Commission": "1.50"}, "promotions":
        [{"type", "id", "amount"}]}]`` in Amazon's signs. Returns the event as Finances v0 shows it."""
        self.shared.advance()
        if not ORDER_ID.match(order_id):
            raise ValueError(f"order_id {order_id!r} is not in Amazon's 3-7-7 format")
        if not items:
            raise ValueError("a refund needs at least one item")
        event = RefundEvent(order_id, at or self.shared.now(), currency, marketplace_name)
        for n, spec in enumerate(items):
            unknown = set(spec) - {"sku", "quantity", "charges", "fees", "promotions"}
            if unknown:
                raise ValueError(f"items[{n}]: unknown field(s) {sorted(unknown)}")
            charges = []
            for ctype, amount in (spec.get("charges") or {}).items():
                if ctype not in CHARGE_TYPES:
                    raise ValueError(f"items[{n}].charges: unknown ChargeType {ctype!r}")
                charges.append((ctype, _money(amount, f"items[{n}].charges.{ctype}")))
            fees = [(t, _money(a, f"items[{n}].fees.{t}")) for t, a in (spec.get("fees") or {}).items()]
            promos = [(str(p["type"]), str(p.get("id") or self.shared.alnum(10)),
                       _money(p["amount"], f"items[{n}].promotions")) for p in spec.get("promotions") or []]
            event.items.append(RefundItem(
                sku=str(spec["sku"]), quantity=int(spec.get("quantity", 1)),
                order_adjustment_item_id=str(self.shared.rng.randint(10**13, 10**14 - 1)),
                order_item_id=str(self.shared.rng.randint(10**13, 10**14 - 1)),
                charges=charges, fees=fees, promotions=promos))
        self.refunds.append(event)
        return event.to_api()

    def for_order(self, order_id: str) -> list[RefundEvent]:
        return [e for e in self.refunds if e.order_id == order_id]

    def posted_between(self, after: datetime, before: datetime) -> list[RefundEvent]:
        return [e for e in self.refunds if after <= e.posted < before]

    def state(self) -> JSON:
        return {"refunds": [e.to_api() for e in self.refunds]}


def _page(events: list[RefundEvent], offset: int, size: int) -> tuple[JSON, bool]:
    chunk = events[offset:offset + size]
    # Amazon answers every list, empty ones too; the connector reads only RefundEventList.
    return {"ShipmentEventList": [], "RefundEventList": [e.to_api() for e in chunk],
            "GuaranteeClaimEventList": [], "ChargebackEventList": [], "AdjustmentEventList": []}, \
        offset + size < len(events)


class FinancesRoutes(Routes):
    def register(self) -> None:
        self.host._op("GET", r"/finances/v0/orders/(?P<order>[^/]+)/financialEvents",
                      "listFinancialEventsByOrderId", self._by_order)
        self.host._op("GET", r"/finances/v0/financialEvents", "listFinancialEvents", self._by_date)

    def _authorised(self) -> None:
        if not self.world.finances.authorised:
            raise _Forbidden()

    def _answer(self, key: tuple[Any, ...], events: list[RefundEvent], req: Request) -> Response:
        size = int_param(req, "MaxResultsPerPage", 100, 1, 100)
        token = req.q("NextToken")
        offset = 0
        if token:
            was_key, offset, size = self._take_page_token(token, FINANCES_TOKEN_TTL)
            if was_key != key:
                raise invalid("The NextToken does not belong to this request.")
        page, more = _page(events, offset, size)
        payload: JSON = {"FinancialEvents": page}
        if more:
            payload["NextToken"] = self._page_token((key, offset + size, size))
        return Response(200, {"payload": payload})

    def _by_order(self, req: Request) -> Response:
        self._authorised()
        order_id = req.params["order"]
        if not ORDER_ID.match(order_id):
            raise invalid(f"Invalid orderId {order_id!r}: expected the 3-7-7 format.")
        return self._answer(("order", order_id), self.world.finances.for_order(order_id), req)

    def _by_date(self, req: Request) -> Response:
        self._authorised()
        now = self.world.now()
        token = req.q("NextToken")
        if token and not req.q("PostedAfter"):
            # The token carries the window it pages through.
            entry = getattr(self.host, "_page_tokens", {}).get(token)
            if entry is None:
                raise invalid("The nextToken is invalid or has expired.")
            key = entry[1][0]
            after, before = parse_time(key[1]), parse_time(key[2])
        else:
            after = parse_time(req.q("PostedAfter"), "PostedAfter")
            before = parse_time(req.q("PostedBefore"), "PostedBefore") or now - timedelta(minutes=2)
            if after is None:
                raise invalid("PostedAfter is required.")
            if before > now - timedelta(minutes=2) or after >= before:
                raise invalid("PostedBefore must be later than PostedAfter and no later than two minutes "
                              "before the request.")
            if before - after > timedelta(days=180):
                return Response(200, {"payload": {"FinancialEvents": _page([], 0, 1)[0]}})
            key = ("date", iso_ms(after), iso_ms(before))
        assert after is not None and before is not None
        return self._answer(key, self.world.finances.posted_between(after, before), req)


class _Forbidden(ApiError):
    def __init__(self) -> None:
        super().__init__(403, "Unauthorized", "Access to requested resource is denied.")
