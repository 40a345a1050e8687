"""What Amazon refunded (Finances v0 refund events) → the rows of a Brightpearl sales credit (pure).

A refund event (``RefundEventList``) has, per refunded item, charge adjustments (``Principal``,
``Tax``, ``ShippingCharge``, ``ShippingTax``, ``GiftWrap``, ``GiftWrapTax``, ``RestockingFee``…),
fee adjustments (Amazon's fees to the seller) and promotion adjustments. Amazon's signs: money back to
the buyer is negative, a restocking fee the seller keeps and a promotion taken back are positive. A
credit row's value is the opposite (what the seller gives back), so a credit's rows always add up, to
the cent, to what the buyer got back: ``-(charges + promotions)``. Fee adjustments are between Amazon
and the seller, never refunded to the buyer: they are kept on the movement, not credited.

Each part goes to a nominal code the merchant sets (``RefundNominalCodes``); the item's own rows keep
the original order row's nominal code unless ``item`` is set. docs/movements.md lists the mapping.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from connector.domain.returns import CreditError, CreditRow, _money, _quantity
from connector.domain.settings import RefundNominalCodes

CENT = Decimal("0.01")

# ChargeType → the credit part it goes to (anything else is "other"). Names as the Finances v0
# model's ChargeComponent describes them (both GiftWrap spellings occur).
PART_OF_CHARGE: dict[str, tuple[str, str]] = {  # charge type → (part, net|tax)
    "Principal": ("item", "net"), "Tax": ("item", "tax"),
    "ShippingCharge": ("shipping", "net"), "ShippingTax": ("shipping", "tax"),
    "GiftWrap": ("gift_wrap", "net"), "Giftwrap": ("gift_wrap", "net"),
    "GiftWrapTax": ("gift_wrap", "tax"), "GiftwrapTax": ("gift_wrap", "tax"),
    "RestockingFee": ("restocking_fee", "net"),
    "Discount": ("promotion", "net"), "TaxDiscount": ("promotion", "tax"),
}
ROW_NAMES = {"shipping": "Shipping refunded", "gift_wrap": "Gift wrap refunded",
             "restocking_fee": "Restocking fee kept", "promotion": "Promotions taken back",
             "other": "Other refund charges"}


@dataclass(frozen=True)
class RefundedItem:
    sku: str
    quantity: int | None  # QuantityShipped when Amazon gives it
    adjustment_id: str  # OrderAdjustmentItemId: unique per refunded item
    charges: tuple[tuple[str, Decimal], ...]
    fees: tuple[tuple[str, Decimal], ...]
    promotions: tuple[tuple[str, Decimal], ...]


@dataclass(frozen=True)
class Refund:
    order_id: str
    posted: str
    currency: str | None
    items: tuple[RefundedItem, ...]

    @property
    def refund_id(self) -> str:
        """Amazon's id for this refund: its first item's OrderAdjustmentItemId (unique per item, so per
        event); the order and posting time when Amazon gave none."""
        for it in self.items:
            if it.adjustment_id:
                return it.adjustment_id
        return f"{self.order_id}@{self.posted}"

    @property
    def credit_ref(self) -> str:
        """The credit's externalRef: Brightpearl is looked up by it before any credit is written."""
        return f"AMZ-RF-{self.refund_id}"

    @property
    def skus(self) -> set[str]:
        return {it.sku for it in self.items}

    def total(self) -> Decimal:
        """What the buyer got back (positive), fees excluded."""
        return -sum((a for it in self.items for _t, a in (*it.charges, *it.promotions)), Decimal(0))

    def fees(self) -> Decimal:
        return sum((a for it in self.items for _t, a in it.fees), Decimal(0))


def _amount(obj: Any, where: str) -> tuple[Decimal, str | None]:
    if not isinstance(obj, Mapping):
        raise CreditError(f"{where}: no amount")
    try:
        value = Decimal(str(obj.get("CurrencyAmount")))
    except (InvalidOperation, ValueError):
        raise CreditError(f"{where}: CurrencyAmount {obj.get('CurrencyAmount')!r} is not a number") from None
    if not value.is_finite():
        raise CreditError(f"{where}: CurrencyAmount {obj.get('CurrencyAmount')!r} is not a number")
    code = obj.get("CurrencyCode")
    return value.quantize(CENT), (str(code) if code else None)


def parse_refunds(events: Iterable[Mapping[str, Any]]) -> list[Refund]:
    """``RefundEventList`` entries (Finances v0 ShipmentEvent) → refunds, oldest first. Raises
    CreditError naming the event and field when an amount or currency cannot be read."""
    out: list[Refund] = []
    for n, ev in enumerate(events):
        order_id = str(ev.get("AmazonOrderId") or "")
        posted = str(ev.get("PostedDate") or "")
        currencies: set[str] = set()
        items: list[RefundedItem] = []
        for m, it in enumerate(ev.get("ShipmentItemAdjustmentList") or []):
            where = f"refund event {n} (order {order_id}) item {m}"

            def read(rows: Any, kind: str, amount_field: str, where: str = where,
                     currencies: set[str] = currencies) -> list[tuple[str, Decimal]]:
                got = []
                for row in rows or []:
                    value, code = _amount(row.get(amount_field), f"{where} {kind}")
                    if code:
                        currencies.add(code)
                    got.append((str(row.get(kind) or "?"), value))
                return got

            qty = it.get("QuantityShipped")
            items.append(RefundedItem(
                sku=str(it.get("SellerSKU") or ""), quantity=int(qty) if isinstance(qty, int) and qty > 0 else None,
                adjustment_id=str(it.get("OrderAdjustmentItemId") or ""),
                charges=tuple(read(it.get("ItemChargeAdjustmentList"), "ChargeType", "ChargeAmount")),
                fees=tuple(read(it.get("ItemFeeAdjustmentList"), "FeeType", "FeeAmount")),
                promotions=tuple(read(it.get("PromotionAdjustmentList"), "PromotionType", "PromotionAmount"))))
        if len(currencies) > 1:
            raise CreditError(f"refund event {n} (order {order_id}) mixes currencies {sorted(currencies)}")
        principal = sum((a for it in items for t, a in it.charges if t == "Principal"), Decimal(0))
        if principal > 0:
            # Amazon's refund events carry the seller's signs (principal given back: negative). No document
            # says so outright (docs/simulators-spapi.md): an event whose principal is positive is read as
            # written from the buyer's side, and every amount of it turned round.
            items = [RefundedItem(it.sku, it.quantity, it.adjustment_id, tuple((t, -a) for t, a in it.charges),
                                  it.fees, tuple((t, -a) for t, a in it.promotions)) for it in items]
        out.append(Refund(order_id, posted, next(iter(currencies), None), tuple(items)))
    return sorted(out, key=lambda r: r.posted)


def _order_row_for(order: Mapping[str, Any], product_id: int) -> tuple[str, dict[str, Any]] | None:
    rows: dict[str, dict[str, Any]] = order.get("orderRows") or {}
    for row_id, row in sorted(rows.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0):
        if row.get("productId") == product_id and _quantity(row) > 0:
            return row_id, row
    return None


def refund_credit_rows(order: Mapping[str, Any], refund: Refund, products: Mapping[str, int],
                       codes: RefundNominalCodes, *, returned: Mapping[str, int] | None = None) -> list[CreditRow]:
    """The credit's rows for ``refund`` against ``order``: one product row per refunded SKU (its
    refunded price and tax), then one row per other part (shipping, gift wrap, restocking fee,
    promotions, other). Every amount of the refund lands in exactly one row, so the rows' net + tax is
    the refund's total to the cent. ``products``: SKU → Brightpearl product; ``returned``: SKU → units
    physically returned (the quantity when Amazon gives none)."""
    order_code = (order.get("currency") or {}).get("orderCurrencyCode")
    if refund.currency and order_code and refund.currency != order_code:
        raise CreditError(f"Amazon refunded order {refund.order_id} in {refund.currency}; Brightpearl order "
                          f"{order.get('id')} is in {order_code}")
    parts: dict[str, list[Decimal]] = {}  # part → [net, tax]
    by_product: dict[int, tuple[int, Decimal, Decimal]] = {}
    order_rows: dict[int, tuple[str, dict[str, Any]]] = {}
    for it in refund.items:
        pid = products.get(it.sku)
        if pid is None:
            raise CreditError(f"refund {refund.refund_id}: no Brightpearl product for Amazon SKU {it.sku!r}")
        found = _order_row_for(order, pid)
        if found is None:
            raise CreditError(f"refund {refund.refund_id}: order {order.get('id')} has no row for product {pid} "
                              f"(Amazon SKU {it.sku!r})")
        order_rows[pid] = found
        qty = it.quantity or (returned or {}).get(it.sku) or 1
        q0, net, tax = by_product.get(pid, (0, Decimal(0), Decimal(0)))
        net_i, tax_i = net, tax
        for ctype, amount in it.charges:
            part, side = PART_OF_CHARGE.get(ctype, ("other", "net"))
            if part == "item":
                if side == "net":
                    net_i -= amount
                else:
                    tax_i -= amount
            else:
                cell = parts.setdefault(part, [Decimal(0), Decimal(0)])
                cell[0 if side == "net" else 1] -= amount
        for _ptype, amount in it.promotions:
            parts.setdefault("promotion", [Decimal(0), Decimal(0)])[0] -= amount
        by_product[pid] = (q0 + qty, net_i, tax_i)
    out: list[CreditRow] = []
    first_tax_code = ""
    for pid, (qty, net, tax) in by_product.items():
        row_id, row = order_rows[pid]
        value = row.get("rowValue") or {}
        tax_code = str(value.get("taxCode") or "")
        first_tax_code = first_tax_code or tax_code
        out.append(CreditRow(pid, qty, net, tax, tax_code, codes.item or str(row.get("nominalCode") or ""),
                             row_id, _money(row.get("itemCost"))))
    for part in ("shipping", "gift_wrap", "restocking_fee", "promotion", "other"):
        if part not in parts:
            continue
        net, tax = parts[part]
        if net == 0 and tax == 0:
            continue
        out.append(CreditRow(None, 1, net, tax, first_tax_code, str(getattr(codes, part)), "", Decimal(0),
                             name=ROW_NAMES[part]))
    return out


def credit_total(rows: Iterable[CreditRow]) -> Decimal:
    return sum((r.net + r.tax for r in rows), Decimal(0))
