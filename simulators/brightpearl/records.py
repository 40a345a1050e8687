"""Brightpearl simulator records: the entities of the account (warehouses, products, orders, notes,
transfers, webhooks, events), the code tables and the ID-set helpers every section uses."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from simulators.brightpearl.errors import BPError
from simulators.core import parse_id_set

JSON = Any

ORDER_TYPES = {"SO": 1, "PO": 2, "SC": 3, "PC": 4}
ORDER_TYPE_NAMES = {"1": "SALES_ORDER", "2": "PURCHASE_ORDER", "3": "SALES_CREDIT", "4": "PURCHASE_CREDIT"}
ORDER_STATUS_NAMES = {"1": "Draft / Quote", "2": "New web order", "3": "Quote sent", "4": "Invoiced",
                      "5": "Cancelled", "10": "Credit - pending"}
STOCK_STATUS_NAMES = {"1": "Not applicable", "2": "All fulfilled", "3": "Some fulfilled", "4": "None fulfilled"}
PAYMENT_STATUS_NAMES = {"1": "PAID", "2": "UNPAID", "3": "PARTIALLY_PAID", "4": "NOT_APPLICABLE"}
# Ids and codes from api-docs.brightpearl.com/order/order-shipping-status/get.html.
SHIPPING_STATUS_NAMES = {"1": "No stock tracked products on order", "2": "Stock not shipped",
                         "3": "Stock part shipped", "4": "All stock shipped"}
SHIPPING_STATUS_CODES = {1: "NST", 2: "SNS", 3: "SPS", 4: "ASS"}
# A party (customer, billing, delivery) as Order GET shows it (api-docs.brightpearl.com/order/order/get.html).
PARTY_FIELDS = ("addressFullName", "companyName", "addressLine1", "addressLine2", "addressLine3", "addressLine4",
                "postalCode", "country", "telephone", "mobileTelephone", "fax", "email", "countryId",
                "countryIsoCode", "countryIsoCode3")

GON_EVENT_CODES = {"PRI", "UPR", "PIC", "UPI", "PAC", "UPA", "SHW"}
_EVENT_FLAG = {"PRI": ("printed", True), "UPR": ("printed", False), "PIC": ("picked", True),
               "UPI": ("picked", False), "PAC": ("packed", True), "UPA": ("packed", False)}

# Events a webhook may subscribe to (contract §7e). A bare resource subscribes to all of its events.
SUBSCRIBABLE_EVENTS = frozenset({
    "product", "product.created", "product.modified", "product.destroyed", "product.modified.on-hand-modified",
    "goods-out-note", "goods-out-note.created", "goods-out-note.destroyed", "goods-out-note.modified",
    "goods-out-note.modified.shipped", "goods-out-note.modified.printed", "goods-out-note.modified.picked",
    "goods-out-note.modified.packed", "goods-out-note.modified.un-printed", "goods-out-note.modified.un-picked",
    "goods-out-note.modified.un-packed", "goods-in-note", "goods-in-note.created", "quarantine-release",
    "quarantine-release.created", "order", "order.modified", "order.modified.order-status",
    "order.modified.fully-shipped", "sales-order", "sales-order.created", "drop-ship-note",
    "drop-ship-note.created", "drop-ship-note.destroyed", "drop-ship-note.modified.shipped",
})

MAX_IDS = {"product": 200, "order": 200, "availability": 100, "goods-out": 500, "goods-in": 200,
           "stock-correction": 200, "warehouse-product": 200}


def format_id_set(ids: Iterable[int]) -> str:
    """Compress ids into Brightpearl's ID-set syntax: ``[1007,1532,1533,1534]`` -> ``1007,1532-1534``."""
    s = sorted(set(ids))
    parts: list[str] = []
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[j] + 1:
            j += 1
        parts.append(str(s[i]) if i == j else f"{s[i]}-{s[j]}")
        i = j + 1
    return ",".join(parts)


def ids_from(text: str, limit_key: str | None = None) -> list[int]:
    """Parse an ID set from a URL, enforcing the per-call maximum (414 beyond it)."""
    try:
        ids = parse_id_set(text)
    except ValueError as e:
        raise BPError(400, "CMNC-400", f"Invalid ID set {text!r}: {e}") from None
    if limit_key and len(set(ids)) > MAX_IDS[limit_key]:
        raise BPError(414, "CMNC-414", f"Too many ids in ID set: {len(set(ids))} > {MAX_IDS[limit_key]}")
    return list(dict.fromkeys(ids))


def money2(v: float) -> str:
    return f"{v:.2f}"


def money4(v: float) -> str:
    return f"{v:.4f}"


def _require(body: dict[str, Any], key: str, code: str = "CMNC-400") -> Any:
    if body.get(key) in (None, ""):
        raise BPError(400, code, f"{key} is required")
    return body[key]


def _int(value: Any, name: str, code: str = "CMNC-400") -> int:
    if isinstance(value, bool):
        raise BPError(400, code, f"{name} must be an integer")
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise BPError(400, code, f"{name} must be an integer") from None
    if isinstance(value, float) and value != n:
        raise BPError(400, code, f"{name} must be an integer")
    return n


# ----------------------------------------------------------------------------- entities
@dataclass
class Location:
    id: int
    warehouse_id: int
    groupings: tuple[str, str, str, str] = ("0", "0", "0", "0")
    barcode: str = ""


@dataclass
class Warehouse:
    id: int
    name: str
    default_location_id: int
    quarantine_location_id: int
    type_code: str = "warehouse"
    locations: dict[int, Location] = field(default_factory=dict)


@dataclass
class Product:
    id: int
    sku: str
    name: str = ""
    stock_tracked: bool = True
    status: str = "LIVE"
    product_group_id: int | None = None
    options: list[dict[str, Any]] = field(default_factory=list)
    bundle_components: list[tuple[int, int]] | None = None  # (productId, productQuantity)
    barcode: str = ""
    ean: str = ""
    upc: str = ""
    isbn: str = ""
    mpn: str = ""
    brand_id: int = 0
    product_type_id: int = 1
    category_ids: list[int] = field(default_factory=list)
    primary_supplier_id: int | None = None
    sales_channel_name: str = "Brightpearl"
    created_on: str = ""
    updated_on: str = ""
    warehouse_defaults: dict[int, dict[str, int]] = field(default_factory=dict)
    version: int = 1


@dataclass
class Allocation:
    product_id: int
    location_id: int
    quantity: int


@dataclass
class GoodsOutNote:
    id: int
    warehouse_id: int
    target_warehouse_id: int
    stock_transfer_id: int
    shipping_method_id: int
    release_date: str
    created_on: str
    created_by: int
    lines: list[Allocation]
    status: dict[str, Any] = field(default_factory=lambda: {
        "shipped": False, "packed": False, "picked": False, "printed": False})
    events: list[dict[str, Any]] = field(default_factory=list)
    last_event_version: int = 0
    order_id: int = 0  # 0: a transfer note; otherwise the sales order it fulfils
    row_ids: dict[int, int] = field(default_factory=dict)  # sales-order note: product id -> order row id

    @property
    def shipped(self) -> bool:
        return bool(self.status["shipped"])

    @property
    def transfer(self) -> bool:
        return self.order_id == 0


@dataclass
class StockTransfer:
    id: int
    source_warehouse_id: int
    target_warehouse_id: int
    reference: str | None
    created_on: str
    created_by: int
    goods_out_note_id: int = 0


@dataclass
class StockCorrection:
    goods_note_id: int
    warehouse_id: int
    reason: str
    product_id: int
    quantity: int
    location_id: int
    cost: dict[str, Any] | None
    order_id: int | None
    created_on: str
    created_by: int


@dataclass
class OrderRow:
    id: int
    sequence: int
    product_id: int | None
    name: str
    sku: str
    quantity: int
    net: float  # row total, not unit price
    tax: float
    tax_code: str = "T20"
    nominal_code: str = "4000"
    item_cost: float = 0.0
    external_ref: str | None = None
    discount_percentage: float = 0.0
    received: int = 0  # units booked in by goods-in notes


@dataclass
class Order:
    id: int
    order_type_code: str
    contact_id: int
    parent_order_id: int = 0
    reference: str = ""  # customerRef
    external_ref: str | None = None
    status_id: int = 1
    warehouse_id: int = 0
    channel_id: int = 0
    installed_integration_instance_id: int | None = None
    currency_code: str = "GBP"
    price_list_id: int = 1
    price_mode_code: str = "INC"
    placed_on: str = ""
    created_on: str = ""
    updated_on: str = ""
    tax_date: str | None = None
    delivery_date: str | None = None
    created_by: int = 4
    payment_status_id: int = 2
    stock_status_id: int = 1
    shipping_status_id: int = 4
    version: int = 1
    rows: dict[int, OrderRow] = field(default_factory=dict)
    # Stock a sales order holds in its warehouse and no goods-out note has taken over yet.
    allocations: list[Allocation] = field(default_factory=list)
    allocation_status: str = "ANR"  # ANR (not required), ANA, APA, AAA
    parties: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def order_type_id(self) -> int:
        return ORDER_TYPES[self.order_type_code]


@dataclass
class GoodsInNote:
    id: int
    order_id: int
    warehouse_id: int
    received_on: str
    user_batch_reference: str | None
    goods_moved: list[dict[str, Any]]
    created_by: int = 4


@dataclass
class QuarantineRelease:
    id: int
    warehouse_id: int
    product_id: int
    quantity: int
    to_location_id: int
    created_on: str


@dataclass
class Webhook:
    id: int
    subscribe_to: str
    http_method: str
    uri_template: str
    body_template: str | None
    content_type: str | None
    id_set_accepted: bool
    quality_of_service: int

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "subscribeTo": self.subscribe_to, "httpMethod": self.http_method,
                "uriTemplate": self.uri_template, "bodyTemplate": self.body_template,
                "contentType": self.content_type, "idSetAccepted": self.id_set_accepted,
                "qualityOfService": self.quality_of_service}

    def matches(self, full_event: str) -> bool:
        return full_event == self.subscribe_to or full_event.startswith(self.subscribe_to + ".")


@dataclass
class Event:
    full_event: str  # e.g. product.modified.on-hand-modified
    ids: list[int]
