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

Amazon is slow with its financial events, and so is the simulator (``Finances.lag``): an event's
``PostedDate`` is when Amazon posted it, ``lag.post`` after the refund, and the event is listed (by
order or by date) only ``lag.visible`` after that, so a date window read too early misses an event
later shown in it. Pages hold at most ``lag.page_size`` events, whatever ``MaxResultsPerPage`` asks.
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
# Amazon: "Token is not valid, token duration is 25 minutes." (selling-partner-api-models #1568, #562)
FINANCES_TOKEN_TTL = 25 * 60.0
TOKEN_EXPIRED = "Token is not valid, token duration is 25 minutes."
# Amazon's answer to a date window it refuses: no word on which bound (selling-partner-api-models #2981).
INVALID_WINDOW = "Invalid Input"
MAX_WINDOW = timedelta(days=180)  # "more than 180 days apart, no financial events are returned"


@dataclass
class FinancesLag:
    """How late Amazon's financial events are (the defaults: a typical refund; tests set their own)."""
    post: timedelta = timedelta(minutes=30)  # refund → PostedDate
    visible: timedelta = timedelta(hours=4)  # PostedDate → listed ("the last 48 hours might not be included")
    page_size: int = 100  # events per page at most (MaxResultsPerPage is 1-100)


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
    posted: datetime  # PostedDate: when Amazon posted it (after the refund)
    currency: str
    marketplace_name: str
    items: list[RefundItem] = field(default_factory=list)
    refunded: datetime | None = None  # when the buyer was refunded
    visible: datetime | None = None  # from when Finances lists it (None: at once)

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
        self.lag = FinancesLag()

    def refund(self, order_id: str, items: list[JSON], *, currency: str = "GBP",
               marketplace_name: str = "Amazon.co.uk", at: datetime | None = None,
               post_minutes: float | None = None, visible_minutes: float | None = None) -> JSON:
        """Amazon refunds the buyer of ``order_id`` (at ``at``, default now). ``items``: ``[{"sku", "quantity",
        "charges": {"Principal": "-10.00", "Tax": "-2.00", ...}, "fees": {"Commission": "1.50"}, "promotions":
        [{"type", "id", "amount"}]}]`` in Amazon's signs. ``post_minutes``/``visible_minutes`` override
        ``lag`` for this event. Returns the event as Finances v0 shows it (once it is listed)."""
        self.shared.advance()
        if not ORDER_ID.match(order_id):
            raise ValueError(f"order_id {order_id!r} is not in Amazon's 3-7-7 format")
        if not items:
            raise ValueError("a refund needs at least one item")
        for name, value in (("post_minutes", post_minutes), ("visible_minutes", visible_minutes)):
            if value is not None and float(value) < 0:
                raise ValueError(f"{name}: {value!r} is negative")
        refunded = at or self.shared.now()
        posted = refunded + (self.lag.post if post_minutes is None else timedelta(minutes=float(post_minutes)))
        visible = posted + (self.lag.visible if visible_minutes is None else timedelta(minutes=float(visible_minutes)))
        event = RefundEvent(order_id, posted, currency, marketplace_name, refunded=refunded, visible=visible)
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

    def listed(self) -> list[RefundEvent]:
        """The events Finances lists now: posted, and past their visibility lag (in posting order)."""
        now = self.shared.now()
        return sorted((e for e in self.refunds if e.posted <= now and (e.visible is None or e.visible <= now)),
                      key=lambda e: e.posted)

    def for_order(self, order_id: str) -> list[RefundEvent]:
        return [e for e in self.listed() if e.order_id == order_id]

    def posted_between(self, after: datetime, before: datetime) -> list[RefundEvent]:
        return [e for e in self.listed() if after <= e.posted < before]

    def configure_lag(self, spec: JSON) -> None:
        """``{"post_minutes", "visible_minutes", "page_size"}`` (any of them): the lag of events refunded
        from now on, and the page size."""
        unknown = set(spec) - {"post_minutes", "visible_minutes", "page_size"}
        if unknown:
            raise ValueError(f"finances_lag: unknown field(s) {sorted(unknown)}")
        for name in ("post_minutes", "visible_minutes"):
            if name in spec:
                minutes = float(spec[name])
                if minutes < 0:
                    raise ValueError(f"finances_lag.{name}: {spec[name]!r} is negative")
                setattr(self.lag, name.removesuffix("_minutes"), timedelta(minutes=minutes))
        if "page_size" in spec:
            size = int(spec["page_size"])
            if not 1 <= size <= 100:
                raise ValueError(f"finances_lag.page_size: {spec['page_size']!r} is not within 1-100")
            self.lag.page_size = size

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
        size = min(int_param(req, "MaxResultsPerPage", 100, 1, 100), self.world.finances.lag.page_size)
        token = req.q("NextToken")
        offset = 0
        if token:
            was_key, offset, size = self._take_token(token)
            if was_key != key:
                raise invalid("The NextToken does not belong to this request.")
        page, more = _page(events, offset, size)
        payload: JSON = {"FinancialEvents": page}
        if more:
            payload["NextToken"] = self._page_token((key, offset + size, size))
        return Response(200, {"payload": payload})

    def _take_token(self, token: str) -> Any:
        try:
            return self._take_page_token(token, FINANCES_TOKEN_TTL)
        except ApiError:
            raise invalid(TOKEN_EXPIRED) from None

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
        given = (req.q("PostedAfter"), req.q("PostedBefore"))
        if token:
            # The token carries the window it pages through; bounds sent with it must be that window's.
            entry = getattr(self.host, "_page_tokens", {}).get(token)
            if entry is None:
                raise invalid(TOKEN_EXPIRED)
            key = entry[1][0]
            after, before = parse_time(key[1]), parse_time(key[2])
            for sent, bound in zip(given, (after, before), strict=True):
                if sent and parse_time(sent) != bound:
                    raise invalid("The NextToken does not belong to this request.")
        else:
            after = parse_time(given[0], "PostedAfter")
            latest = now - timedelta(minutes=2)  # both bounds: "no later than two minutes before the request"
            before = parse_time(given[1], "PostedBefore") or latest
            if after is None or after > latest or before > latest or after >= before:
                raise invalid(INVALID_WINDOW)
            if before - after > MAX_WINDOW:
                return Response(200, {"payload": {"FinancialEvents": _page([], 0, 1)[0]}})
            key = ("date", iso_ms(after), iso_ms(before))
        assert after is not None and before is not None
        return self._answer(key, self.world.finances.posted_between(after, before), req)


class _Forbidden(ApiError):
    def __init__(self) -> None:
        super().__init__(403, "Unauthorized", "Access to requested resource is denied.")
