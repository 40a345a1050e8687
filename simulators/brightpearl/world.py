"""Brightpearl's state as a pure model: no HTTP, no threads, no locks (the server serialises calls).

Stock is held per (product, warehouse, location) as free physical units. Figures reported by the
availability API are derived from it (contract §4a, §5):

* ``onHand``    = free units in every location of the warehouse except its quarantine location;
* ``allocated`` = units reserved by open (unshipped) transfer goods-out notes of the warehouse;
* ``inStock``   = ``onHand + allocated``;
* ``inTransit`` = units shipped to this warehouse by a transfer and still sitting in its
  quarantine location (released by ``quarantine/release``).

Quarantine units that did not arrive by transfer (e.g. damaged returns booked in by a goods-in
note) count in no figure; they are visible through :meth:`World.quarantine_qty` and ``state()``.

Every mutation marks the product dirty; :meth:`World.drain_events` turns that into one
``product.modified.on-hand-modified`` event per operation plus any other events raised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from simulators.brightpearl.errors import BPError
from simulators.brightpearl.search import ORDER_COLUMNS, PRODUCT_COLUMNS, run_search
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


# ----------------------------------------------------------------------------- the world
class World:
    def __init__(self, now: Callable[[], str], staff_id: int = 4) -> None:
        self.now = now
        self.staff_id = staff_id
        self.warehouses: dict[int, Warehouse] = {}
        self.products: dict[int, Product] = {}
        self.stock: dict[tuple[int, int, int], int] = {}  # (product, warehouse, location) -> free units
        # Index of the locations holding a record per (product, warehouse): on-hand reads stay O(1)
        # with tens of thousands of products (benchmarks seed 20 000).
        self._locations: dict[tuple[int, int], set[int]] = {}
        self.transit: dict[tuple[int, int], int] = {}  # (product, target warehouse) -> units in quarantine by transfer
        self.history: set[tuple[int, int]] = set()  # (product, warehouse) pairs that ever held stock
        self.corrections: dict[int, StockCorrection] = {}
        self.transfers: dict[int, StockTransfer] = {}
        self.gons: dict[int, GoodsOutNote] = {}
        self.orders: dict[int, Order] = {}
        self.goods_in_notes: dict[int, GoodsInNote] = {}
        self.releases: dict[int, QuarantineRelease] = {}
        self.internal_transfers: dict[int, dict[str, Any]] = {}
        self.webhooks: dict[int, Webhook] = {}
        self.deleted_products: set[int] = set()  # ids are never reused (help.brightpearl.com "IDs, ID sets")
        self._next = {"location": 1000, "goods_note": 8796, "transfer": 60, "order": 1300, "row": 4400,
                      "webhook": 121, "release": 1, "internal": 48, "event_version": 3131069}
        self._dirty: set[int] = set()
        self._events: list[Event] = []

    def _new_id(self, kind: str) -> int:
        n = self._next[kind]
        self._next[kind] = n + 1
        return n

    def _bump(self, kind: str, seen: int) -> None:
        """Keep generated ids above seeded ones."""
        self._next[kind] = max(self._next[kind], seen + 1)

    # ------------------------------------------------------------------ events
    def raise_event(self, full_event: str, ids: Iterable[int]) -> None:
        self._events.append(Event(full_event, sorted(set(ids))))

    def drain_events(self) -> list[Event]:
        """Events raised since the last drain; stock changes fold into one on-hand-modified event."""
        events = self._events
        if self._dirty:
            events.append(Event("product.modified.on-hand-modified", sorted(self._dirty)))
        self._events, self._dirty = [], set()
        return events

    # ------------------------------------------------------------------ stock primitives
    def _move(self, pid: int, wid: int, lid: int, delta: int) -> None:
        key = (pid, wid, lid)
        new = self.stock.get(key, 0) + delta
        if new < 0:  # callers validate first; this guards the invariant
            raise BPError(400, "WHSB-023", f"None of the requested products are available in location {lid}")
        self._put_stock(key, new)
        self.history.add((pid, wid))
        if delta:
            self._dirty.add(pid)

    def _put_stock(self, key: tuple[int, int, int], qty: int) -> None:
        self.stock[key] = qty
        self._locations.setdefault((key[0], key[1]), set()).add(key[2])

    def location_qty(self, pid: int, wid: int, lid: int) -> int:
        return self.stock.get((pid, wid, lid), 0)

    def on_hand(self, pid: int, wid: int | None = None) -> int:
        if wid is None:
            return sum(self.on_hand(pid, w) for w in self.warehouses)
        wh = self.warehouses.get(wid)
        q_lid = wh.quarantine_location_id if wh else None
        return sum(self.stock[(pid, wid, lid)] for lid in self._locations.get((pid, wid), ()) if lid != q_lid)

    def allocated(self, pid: int, wid: int) -> int:
        notes = sum(a.quantity for g in self.gons.values() if g.warehouse_id == wid and not g.shipped
                    for a in g.lines if a.product_id == pid)
        orders = sum(a.quantity for o in self.orders.values() if o.warehouse_id == wid
                     for a in o.allocations if a.product_id == pid)
        return notes + orders

    def in_transit(self, pid: int, wid: int) -> int:
        return self.transit.get((pid, wid), 0)

    def quarantine_qty(self, pid: int, wid: int) -> int:
        """All units in the warehouse's quarantine location (transfer arrivals and anything else)."""
        return self.location_qty(pid, wid, self.warehouse(wid).quarantine_location_id)

    def warehouse_figures(self, pid: int, wid: int) -> dict[str, int]:
        on_hand, allocated = self.on_hand(pid, wid), self.allocated(pid, wid)
        return {"inStock": on_hand + allocated, "onHand": on_hand, "allocated": allocated,
                "inTransit": self.in_transit(pid, wid)}

    def availability(self, pid: int) -> dict[str, Any]:
        whs = {str(w): self.warehouse_figures(pid, w) for w in sorted(self.warehouses) if (pid, w) in self.history}
        total = {k: sum(f[k] for f in whs.values()) for k in ("inStock", "onHand", "allocated", "inTransit")}
        return {"total": total, "warehouses": whs}

    def set_location_qty(self, pid: int, wid: int, lid: int, qty: int) -> None:
        self.product(pid)
        self._location(wid, lid)
        self._move(pid, wid, lid, qty - self.location_qty(pid, wid, lid))

    def adjust_on_hand(self, pid: int, wid: int, *, delta: int | None = None, on_hand: int | None = None,
                       location_id: int | None = None) -> dict[str, int]:
        """Test/control hook: change on-hand directly, in the default location unless told otherwise."""
        wh = self.warehouse(wid)
        lid = location_id or wh.default_location_id
        self.product(pid)
        self._location(wid, lid)
        if on_hand is not None:
            # Absolute target for the warehouse's on-hand; the difference lands in/leaves ``lid``.
            delta = on_hand - self.on_hand(pid, wid)
        if delta is None:
            raise BPError(400, "CMNC-400", "delta or onHand is required")
        if self.location_qty(pid, wid, lid) + delta < 0:
            raise BPError(400, "WHSB-023", f"None of the requested products are available in location {lid}")
        self._move(pid, wid, lid, delta)
        return self.warehouse_figures(pid, wid)

    def force_on_hand(self, pid: int, wid: int, on_hand: int, location_id: int | None = None) -> dict[str, int]:
        """Scenario hook: set on-hand to any value, negative included (Brightpearl shows negative on-hand
        when goods are shipped before they were booked in; the API itself never goes below zero)."""
        wh = self.warehouse(wid)
        lid = self._location(wid, location_id or wh.default_location_id)
        self.product(pid)
        key = (pid, wid, lid)
        self._put_stock(key, self.stock.get(key, 0) + on_hand - self.on_hand(pid, wid))
        self.history.add((pid, wid))
        self._dirty.add(pid)
        return self.warehouse_figures(pid, wid)

    def delete_product(self, pid: int) -> None:
        """Scenario hook: the merchant deletes a product in Brightpearl. Its id is never reused; every
        ID-set read naming it answers 400 from now on; ``product.destroyed`` is raised."""
        self.product(pid)
        del self.products[pid]
        self.deleted_products.add(pid)
        self.raise_event("product.destroyed", [pid])

    def require_products(self, ids: list[int]) -> None:
        """ID-set reads answer 400 for the whole set when some id is unknown or deleted (issue
        "simulator fidelity": recorded traffic), and 404 when none of them exists (Brightpearl's
        "Empty list response code": 404 for a multi-resource request with no results)."""
        unknown = [i for i in ids if i not in self.products]
        if unknown and len(unknown) == len(set(ids)):
            raise BPError(404, "CMNC-404", f"No products found in ID set {format_id_set(ids)}")
        if unknown:
            raise BPError(400, "PRDC-001", f"Products not found: {format_id_set(unknown)}")

    # ------------------------------------------------------------------ lookups
    def warehouse(self, wid: int) -> Warehouse:
        wh = self.warehouses.get(wid)
        if wh is None:
            raise BPError(404, "WHSC-001", f"Warehouse {wid} not found")
        return wh

    def product(self, pid: int) -> Product:
        p = self.products.get(pid)
        if p is None:
            raise BPError(400, "PRDC-001", f"Product {pid} not found")
        return p

    def _location(self, wid: int, lid: Any) -> int:
        lid_i = _int(lid, "locationId")
        if lid_i not in self.warehouse(wid).locations:
            raise BPError(400, "WHSC-002", f"Location {lid_i} does not belong to warehouse {wid}")
        return lid_i

    def _tracked(self, pid: Any) -> Product:
        p = self.product(_int(pid, "productId"))
        if not p.stock_tracked:
            raise BPError(400, "WHSB-010", f"Product {p.id} is not stock tracked")
        return p

    # ------------------------------------------------------------------ seeding
    def seed(self, data: dict[str, Any]) -> None:
        """Merge a compact JSON description into the world (see the module docs / docs/simulators-brightpearl.md)."""
        for w in data.get("warehouses", []):
            self._seed_warehouse(w)
        for p in data.get("products", []):
            self._seed_product(p)
        for s in data.get("stock", []):
            self._seed_stock(s)
        for o in data.get("orders", []):
            self._seed_order(o)
        for h in data.get("webhooks", []):
            self.register_webhook(h)
        # Seeding is arranging, not a change Brightpearl would announce.
        self._events, self._dirty = [], set()

    def _seed_warehouse(self, w: dict[str, Any]) -> None:
        wid = int(w["id"])
        default = int(w.get("defaultLocationId") or self._new_id("location"))
        quarantine = int(w.get("quarantineLocationId") or self._new_id("location"))
        wh = self.warehouses.get(wid) or Warehouse(wid, w.get("name", f"Warehouse {wid}"), default, quarantine)
        wh.name = w.get("name", wh.name)
        wh.default_location_id, wh.quarantine_location_id = default, quarantine
        wh.type_code = w.get("typeCode", wh.type_code)
        wh.locations.setdefault(default, Location(default, wid, barcode=f"{9048550000 + default}"))
        wh.locations.setdefault(quarantine, Location(quarantine, wid, ("QUARANTINE", "0", "0", "0")))
        for loc in w.get("locations", []):
            lid = int(loc["id"])
            wh.locations[lid] = Location(lid, wid, (str(loc.get("groupingA", "0")), str(loc.get("groupingB", "0")),
                                                    str(loc.get("groupingC", "0")), str(loc.get("groupingD", "0"))),
                                         str(loc.get("barcode", "")))
        for lid in wh.locations:
            self._bump("location", lid)
        self.warehouses[wid] = wh

    def _seed_product(self, p: dict[str, Any]) -> None:
        pid = int(p["id"])
        comps = p.get("bundleComponents")
        now = self.now()
        self.products[pid] = Product(
            id=pid, sku=str(p.get("sku", f"SKU-{pid}")), name=str(p.get("name", f"Product {pid}")),
            stock_tracked=bool(p.get("stockTracked", comps is None)),  # bundles are normally not tracked
            status=str(p.get("status", "LIVE")),
            product_group_id=p.get("productGroupId"),
            options=[{"productId": pid, **o} for o in p.get("options", [])],
            bundle_components=[(int(c["productId"]), int(c.get("productQuantity", c.get("quantity", 1))))
                               for c in comps] if comps is not None else None,
            barcode=str(p.get("barcode", "")), ean=str(p.get("ean", "")), upc=str(p.get("upc", "")),
            isbn=str(p.get("isbn", "")), mpn=str(p.get("mpn", "")),
            brand_id=int(p.get("brandId", 0)), product_type_id=int(p.get("productTypeId", 1)),
            category_ids=[int(c) for c in p.get("categoryIds", [])],
            primary_supplier_id=p.get("primarySupplierId"),
            sales_channel_name=str(p.get("salesChannelName", "Brightpearl")),
            created_on=str(p.get("createdOn", now)), updated_on=str(p.get("updatedOn", now)),
            warehouse_defaults={int(k): dict(v) for k, v in (p.get("warehouses") or {}).items()},
        )

    def _seed_stock(self, s: dict[str, Any]) -> None:
        pid, wid = int(s["productId"]), int(s["warehouseId"])
        wh = self.warehouse(wid)
        self.product(pid)
        self.history.add((pid, wid))
        if "onHand" in s:
            self._put_stock((pid, wid, int(s.get("locationId") or wh.default_location_id)), int(s["onHand"]))
        q_key = (pid, wid, wh.quarantine_location_id)
        transit = int(s.get("inTransit", 0))
        if "quarantine" in s or transit:
            # ``inTransit`` units physically sit in quarantine on top of any other quarantine stock.
            self._put_stock(q_key, int(s.get("quarantine", 0)) + transit)
            self.transit[(pid, wid)] = transit

    def _seed_order(self, o: dict[str, Any]) -> None:
        oid = int(o["id"])
        now = self.now()
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
            rid = int(r.get("id") or self._new_id("row"))
            self._bump("row", rid)
            order.rows[rid] = self._make_row(rid, seq, r)
        self.orders[oid] = order
        self._bump("order", oid)

    def _make_row(self, rid: int, seq: int, r: dict[str, Any]) -> OrderRow:
        pid = r.get("productId")
        product = self.products.get(int(pid)) if pid is not None else None
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

    # ------------------------------------------------------------------ products
    def product_search(self, query: dict[str, list[str]]) -> dict[str, Any]:
        rows = [{
            "productId": p.id, "productName": p.name, "SKU": p.sku, "barcode": p.barcode or None,
            "EAN": p.ean or None, "UPC": p.upc or None, "ISBN": p.isbn or None, "MPN": p.mpn or None,
            "stockTracked": p.stock_tracked, "salesChannelName": p.sales_channel_name,
            "createdOn": p.created_on, "updatedOn": p.updated_on,
            "brightpearlCategoryCode": p.category_ids[0] if p.category_ids else None,
            "productGroupId": p.product_group_id, "brandId": p.brand_id, "productTypeId": p.product_type_id,
            "productStatus": p.status, "primarySupplierId": p.primary_supplier_id,
        } for p in self.products.values()]
        out = run_search(rows, PRODUCT_COLUMNS, query)
        page = out.pop("_page")
        names = [c["name"] for c in out["metaData"]["columns"]]
        membership = {str(r["productId"]): self.products[r["productId"]].category_ids for r in page}
        out["reference"] = {"productCategoryMembership": membership} if "productId" in names else {}
        return out

    def product_json(self, p: Product) -> dict[str, Any]:
        comp: dict[str, Any] = {"bundle": p.bundle_components is not None}
        if p.bundle_components is not None:
            comp["bundleComponents"] = [
                {"productId": cid, "productQuantity": q,
                 "composition": {"bundle": bool(self.products.get(cid) and self.products[cid].bundle_components)}}
                for cid, q in p.bundle_components]
        return {
            "id": p.id, "brandId": p.brand_id, "productTypeId": p.product_type_id,
            "identity": {"sku": p.sku, "barcode": p.barcode, "ean": p.ean, "upc": p.upc, "isbn": p.isbn, "mpn": p.mpn},
            "productGroupId": p.product_group_id, "featured": False,
            "stock": {"stockTracked": p.stock_tracked, "weight": {"magnitude": 0.0},
                      "dimensions": {"length": 0.0, "height": 0.0, "width": 0.0, "volume": 0.0}},
            "financialDetails": {"taxable": True, "taxCode": {"id": 2, "code": "T20"}},
            "salesChannels": [{
                "salesChannelName": p.sales_channel_name, "productName": p.name, "productCondition": "new",
                "categories": [{"categoryCode": str(c)} for c in p.category_ids],
                "description": {"languageCode": "en", "text": "", "format": "HTML_FRAGMENT"},
                "shortDescription": {"languageCode": "en", "text": "", "format": "HTML_FRAGMENT"}}],
            "composition": comp,
            "createdOn": p.created_on, "updatedOn": p.updated_on,
            "warehouses": {str(w): self.warehouse_product_defaults(p, w) for w in sorted(self.warehouses)},
            "nominalCodeStock": "1001", "nominalCodePurchases": "5000", "nominalCodeSales": "4000",
            "seasonIds": [], "reporting": {}, "status": p.status, "version": p.version,
        }

    def warehouse_product_defaults(self, p: Product, wid: int) -> dict[str, int]:
        d = p.warehouse_defaults.get(wid, {})
        return {"defaultLocationId": int(d.get("defaultLocationId", self.warehouses[wid].default_location_id)),
                "overflowLocationId": int(d.get("overflowLocationId", 0)),
                "reorderLevel": int(d.get("reorderLevel", 0)), "reorderQuantity": int(d.get("reorderQuantity", 0))}

    def get_products(self, ids: list[int]) -> list[dict[str, Any]]:
        self.require_products(ids)
        return [self.product_json(self.products[i]) for i in ids]

    def product_get_uris(self, ids: list[int], chunk: int = 200) -> list[str]:
        existing = sorted(i for i in set(ids) if i in self.products)
        return [f"/product/{format_id_set(existing[k:k + chunk])}" for k in range(0, len(existing), chunk)]

    def option_values(self, ids: list[int]) -> list[dict[str, Any]]:
        self.require_products(ids)
        return [dict(o) for i in ids if i in self.products for o in self.products[i].options]

    def _parents(self, pid: int, seen: frozenset[int] = frozenset()) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for b in sorted(self.products.values(), key=lambda x: x.id):
            if b.bundle_components and any(c == pid for c, _ in b.bundle_components) and b.id not in seen:
                entry: dict[str, Any] = {"id": b.id}
                grand = self._parents(b.id, seen | {pid})
                if grand:
                    entry["bundles"] = grand
                out.append(entry)
        return out

    def bundles_containing(self, ids: list[int]) -> list[dict[str, Any]]:
        self.require_products(ids)
        out = [{"id": i, "bundles": parents} for i in ids if (parents := self._parents(i))]
        if not out:
            raise BPError(404, "CMNC-404", f"No bundles found for ID set {format_id_set(ids)}")
        return out

    def _bundle_on_hand(self, pid: int, wid: int) -> int:
        p = self.products[pid]
        if not p.bundle_components:
            return self.on_hand(pid, wid)
        return min((self._bundle_on_hand(c, wid) // q if c in self.products else 0)
                   for c, q in p.bundle_components)

    def _leaf_components(self, pid: int) -> set[int]:
        p = self.products.get(pid)
        if p is None or not p.bundle_components:
            return {pid}
        return set().union(*(self._leaf_components(c) for c, _ in p.bundle_components))

    def bundle_availability(self, ids: list[int]) -> dict[str, Any]:
        self.require_products(ids)
        out: dict[str, Any] = {}
        for bid in ids:
            p = self.products.get(bid)
            if p is None or not p.bundle_components:
                continue
            leaves = self._leaf_components(bid)
            whs = {str(w): {"onHand": self._bundle_on_hand(bid, w)} for w in sorted(self.warehouses)
                   if any((leaf, w) in self.history for leaf in leaves)}
            out[str(bid)] = {"total": {"onHand": sum(v["onHand"] for v in whs.values())}, "warehouses": whs}
        if not out:
            raise BPError(404, "CMNC-404", f"No bundles found in ID set {format_id_set(ids)}")
        return out

    def product_availability(self, ids: list[int]) -> dict[str, Any]:
        self.require_products(ids)
        # Products that are not stock tracked (bundles) are left out, as in Brightpearl (contract §4a).
        return {str(i): self.availability(i) for i in ids if self.products[i].stock_tracked}

    # ------------------------------------------------------------------ warehouses
    def warehouse_json(self, wh: Warehouse) -> dict[str, Any]:
        return {"id": wh.id, "name": wh.name, "typeCode": wh.type_code, "typeDescription": wh.type_code.title(),
                "address": {"addressId": wh.id}, "clickAndCollectEnabled": False}

    def list_warehouses(self, ids: list[int] | None) -> list[dict[str, Any]]:
        wanted = ids if ids is not None else sorted(self.warehouses)
        return [self.warehouse_json(self.warehouses[i]) for i in wanted if i in self.warehouses]

    def list_locations(self, wid: int, ids: list[int] | None) -> list[dict[str, Any]]:
        wh = self.warehouse(wid)
        locs = [wh.locations[i] for i in (ids if ids is not None else sorted(wh.locations)) if i in wh.locations]
        return [{"id": loc.id, "groupingA": loc.groupings[0], "groupingB": loc.groupings[1],
                 "groupingC": loc.groupings[2], "groupingD": loc.groupings[3], "barcode": loc.barcode or None}
                for loc in locs]

    def warehouse_products(self, wid: int, ids: list[int]) -> list[dict[str, Any]]:
        self.warehouse(wid)
        self.require_products(ids)
        return [{"productId": i, **self.warehouse_product_defaults(self.products[i], wid)} for i in ids]

    # ------------------------------------------------------------------ stock corrections
    def stock_correction(self, wid: int, body: dict[str, Any]) -> list[int]:
        self.warehouse(wid)
        items = body.get("corrections")
        if not isinstance(items, list) or not items:
            raise BPError(400, "WHSC-003", "corrections must be a non-empty list")
        # Validate everything first so a refused request changes nothing.
        planned: list[tuple[Product, int, int, dict[str, Any]]] = []
        need: dict[tuple[int, int], int] = {}
        for c in items:
            product = self._tracked(_require(c, "productId"))
            qty = _int(_require(c, "quantity"), "quantity")
            if qty == 0:
                raise BPError(400, "WHSC-004", "quantity must not be 0")
            _require(c, "reason")
            lid = self._location(wid, _require(c, "locationId"))
            if qty > 0 and not isinstance(c.get("cost"), dict):
                raise BPError(400, "WHSC-005", "cost is required when adding stock")
            if qty < 0:
                need[(product.id, lid)] = need.get((product.id, lid), 0) - qty
            planned.append((product, qty, lid, c))
        for (pid, lid), q in need.items():
            if self.location_qty(pid, wid, lid) < q:
                raise BPError(400, "WHSB-023", f"None of the requested products are available in location {lid}")
        note_ids: list[int] = []
        for product, qty, lid, c in planned:
            self._move(product.id, wid, lid, qty)
            if qty > 0 and product.status == "ARCHIVED":
                product.status = "LIVE"  # contract §4c: adding stock revives an archived product
                product.updated_on = self.now()
            nid = self._new_id("goods_note")
            self.corrections[nid] = StockCorrection(
                nid, wid, str(c["reason"]), product.id, qty, lid, c.get("cost") if qty > 0 else None,
                c.get("orderId"), self.now(), self.staff_id)
            note_ids.append(nid)
        return note_ids

    def get_stock_corrections(self, wid: int, ids: list[int]) -> list[dict[str, Any]]:
        self.warehouse(wid)
        out = []
        for i in ids:
            c = self.corrections.get(i)
            if c is None or c.warehouse_id != wid:
                continue
            moved = {"productId": c.product_id, "quantity": c.quantity, "destinationLocationId": c.location_id,
                     "batchGoodsNoteId": c.goods_note_id, "productValue": c.cost, "createdOn": c.created_on,
                     "createdBy": c.created_by}
            out.append({"goodsNoteId": c.goods_note_id, "warehouseId": c.warehouse_id, "reason": c.reason,
                        "orderId": c.order_id, "goodsMoved": [moved]})
        return out

    # ------------------------------------------------------------------ internal transfer
    def internal_transfer(self, wid: int, body: dict[str, Any]) -> int:
        self.warehouse(wid)
        lines = body.get("transferredProducts")
        if not isinstance(lines, list) or not lines:
            raise BPError(400, "WHSC-003", "transferredProducts must be a non-empty list")
        plan = []
        for ln in lines:
            p = self._tracked(_require(ln, "productId"))
            q = _int(_require(ln, "quantity"), "quantity")
            src = self._location(wid, _require(ln, "fromLocationId"))
            dst = self._location(wid, _require(ln, "toLocationId"))
            if q <= 0 or self.location_qty(p.id, wid, src) < q:
                raise BPError(400, "WHSB-023", f"None of the requested products are available in location {src}")
            plan.append((p.id, q, src, dst))
        for pid, q, src, dst in plan:
            self._move(pid, wid, src, -q)
            self._move(pid, wid, dst, q)
        tid = self._new_id("internal")
        self.internal_transfers[tid] = {"id": tid, "warehouseId": wid, "transferredProducts": lines}
        return tid

    # ------------------------------------------------------------------ warehouse transfers
    def create_stock_transfer(self, source: int, body: dict[str, Any]) -> int:
        self.warehouse(source)
        target = _int(_require(body, "targetWarehouseId"), "targetWarehouseId")
        self.warehouse(target)
        if target == source:
            raise BPError(400, "WHSC-006", "targetWarehouseId must differ from the source warehouse")
        ref = body.get("reference")
        if ref and any(t.reference == ref for t in self.transfers.values()):
            raise BPError(400, "WHSC-007", f"A stock transfer with reference {ref} already exists")
        tid = self._new_id("transfer")
        self.transfers[tid] = StockTransfer(tid, source, target, ref, self.now(), self.staff_id)
        return tid

    def get_stock_transfers(self, ids: list[int]) -> list[dict[str, Any]]:
        return [{"stockTransferId": t.id, "sourceWarehouseId": t.source_warehouse_id,
                 "targetWarehouseId": t.target_warehouse_id, "goodsOutNoteId": t.goods_out_note_id,
                 "reference": t.reference, "createdBy": t.created_by, "createdOn": t.created_on}
                for i in ids if (t := self.transfers.get(i))]

    def _plan_allocation(self, source: Warehouse, pid: int, qty: int, from_lid: int | None,
                         taken: dict[tuple[int, int], int]) -> list[Allocation]:
        """Pick locations for ``qty`` units: the given one, or FIFO over sellable locations (default first)."""
        if from_lid is not None:
            lids = [from_lid]
        else:
            others = sorted(lid for lid in source.locations
                            if lid not in (source.default_location_id, source.quarantine_location_id))
            lids = [source.default_location_id, *others]
        out, left = [], qty
        for lid in lids:
            free = self.location_qty(pid, source.id, lid) - taken.get((pid, lid), 0)
            take = min(free, left)
            if take > 0:
                out.append(Allocation(pid, lid, take))
                taken[(pid, lid)] = taken.get((pid, lid), 0) + take
                left -= take
            if not left:
                return out
        where = from_lid if from_lid is not None else source.default_location_id
        raise BPError(400, "WHSB-023",
                      f"Insufficient stock of product {pid} to allocate {qty} (location {where})")

    def external_transfer(self, source_id: int, body: dict[str, Any]) -> list[int]:
        source = self.warehouse(source_id)
        tid = _int(_require(body, "stockTransferId"), "stockTransferId")
        transfer = self.transfers.get(tid)
        if transfer is None or transfer.source_warehouse_id != source_id:
            raise BPError(400, "WHSC-008", f"Stock transfer {tid} not found for warehouse {source_id}")
        target = _int(body.get("targetWarehouseId", transfer.target_warehouse_id), "targetWarehouseId")
        if target != transfer.target_warehouse_id:
            raise BPError(400, "WHSC-009", f"Stock transfer {tid} goes to warehouse {transfer.target_warehouse_id}")
        previous = self.gons.get(transfer.goods_out_note_id)
        if previous and previous.shipped:
            raise BPError(400, "WHSC-010", f"Stock transfer {tid} has already been shipped")
        lines = body.get("transferredProducts")
        if not isinstance(lines, list) or not lines:
            raise BPError(400, "WHSC-003", "transferredProducts must be a non-empty list")

        # The call replaces whatever the transfer held: plan against stock as if the old note were released.
        if previous:
            for a in previous.lines:
                self._move(a.product_id, source_id, a.location_id, a.quantity)
            del self.gons[previous.id]
        seen: set[tuple[int, int | None]] = set()
        allocations: list[Allocation] = []
        taken: dict[tuple[int, int], int] = {}
        try:
            for ln in lines:
                p = self._tracked(_require(ln, "productId"))
                q = _int(_require(ln, "quantity"), "quantity")
                if q <= 0:
                    raise BPError(400, "WHSC-004", "quantity must be positive")
                lid = self._location(source_id, ln["fromLocationId"]) if ln.get("fromLocationId") else None
                if (p.id, lid) in seen:
                    raise BPError(400, "WHSC-011", f"Product {p.id} appears twice for the same location")
                seen.add((p.id, lid))
                allocations += self._plan_allocation(source, p.id, q, lid, taken)
        except BPError:
            if previous:  # refused: put the old note back as it was
                for a in previous.lines:
                    self._move(a.product_id, source_id, a.location_id, -a.quantity)
                self.gons[previous.id] = previous
            raise
        for a in allocations:
            self._move(a.product_id, source_id, a.location_id, -a.quantity)  # onHand -q, allocated +q
        gid = self._new_id("goods_note")
        now = self.now()
        version = self._new_id("event_version")
        self.gons[gid] = GoodsOutNote(
            id=gid, warehouse_id=source_id, target_warehouse_id=target, stock_transfer_id=tid,
            shipping_method_id=int(body.get("shippingMethodId", 0)), release_date=str(body.get("releaseDate", now)),
            created_on=now, created_by=self.staff_id, lines=allocations,
            events=[{"occured": now, "eventOwnerId": self.staff_id, "eventCode": "PLA"}], last_event_version=version)
        transfer.goods_out_note_id = gid
        self.raise_event("goods-out-note.created", [gid])
        return [gid]

    def gon_json(self, g: GoodsOutNote) -> dict[str, Any]:
        rows: dict[str, list[dict[str, Any]]] = {}
        for a in g.lines:
            key = str(g.row_ids.get(a.product_id, 0)) if not g.transfer else "0"
            rows.setdefault(key, []).append({"productId": a.product_id, "quantity": a.quantity,
                                             "locationId": a.location_id})
        out = {"orderId": g.order_id, "warehouseId": g.warehouse_id, "transfer": g.transfer, "priority": False,
               "status": dict(g.status), "shipping": {"reference": "", "shippingMethodId": g.shipping_method_id},
               "releaseDate": g.release_date, "createdOn": g.created_on, "createdBy": g.created_by,
               "orderRows": rows, "sequence": 1, "events": [dict(e) for e in g.events],
               "lastEventVersion": g.last_event_version}
        if g.transfer:
            out.update(targetWarehouseId=g.target_warehouse_id, stockTransferId=g.stock_transfer_id)
        return out

    def get_gons(self, order_ids: list[int] | None, gon_ids: list[int] | None) -> dict[str, Any]:
        # Transfer notes belong to no order: they answer under ``*`` or order id 0; sales-order notes
        # under their order id.
        notes = [g for g in self.gons.values()
                 if (gon_ids is None or g.id in gon_ids) and (order_ids is None or g.order_id in order_ids)]
        if not notes:
            raise BPError(404, "CMNC-404", "No goods-out notes found")
        return {str(g.id): self.gon_json(g) for g in sorted(notes, key=lambda n: n.id)}

    def gon_event(self, gid: int, body: dict[str, Any], if_match: str | None) -> None:
        g = self.gons.get(gid)
        if g is None:
            raise BPError(404, "CMNC-404", f"Goods-out note {gid} not found")
        if if_match is not None and if_match.strip().strip('"') != str(g.last_event_version):
            raise BPError(412, "WHSC-012", f"Goods-out note {gid} has version {g.last_event_version}, not {if_match}")
        if g.shipped:
            raise BPError(400, "WHSC-013", f"Goods-out note {gid} has been shipped and cannot be changed")
        events = body.get("events")
        if not isinstance(events, list) or not events:
            raise BPError(400, "WHSC-003", "events must be a non-empty list")
        for e in events:
            for key in ("eventCode", "occured", "eventOwnerId"):
                _require(e, key, "WHSC-014")
            if e["eventCode"] not in GON_EVENT_CODES:
                raise BPError(400, "WHSC-015", f"Unknown event code {e['eventCode']}")
        for e in events:
            code = e["eventCode"]
            if g.shipped:
                raise BPError(400, "WHSC-013", f"Goods-out note {gid} has been shipped and cannot be changed")
            if code == "SHW":
                for auto, flag in (("PRI", "printed"), ("PIC", "picked"), ("PAC", "packed")):
                    if not g.status[flag]:
                        self._gon_record(g, auto, e)
                        g.status[flag] = True
                self._gon_record(g, "SHW", e)
                self._ship(g, e)
            else:
                flag, value = _EVENT_FLAG[code]
                g.status[flag] = value
                self._gon_record(g, code, e)

    def _gon_record(self, g: GoodsOutNote, code: str, e: dict[str, Any]) -> None:
        g.events.append({"occured": str(e["occured"]), "eventOwnerId": int(e["eventOwnerId"]), "eventCode": code})
        g.last_event_version = self._new_id("event_version")

    def _ship(self, g: GoodsOutNote, e: dict[str, Any]) -> None:
        g.status.update(shipped=True, shippedOn=str(e["occured"]), shippedById=int(e["eventOwnerId"]))
        if not g.transfer:
            # A sales order's units leave the business: the allocation ends (allocated -q, inStock -q).
            for a in g.lines:
                self._dirty.add(a.product_id)
            order = self.orders[g.order_id]
            shipped = all(n.shipped for n in self.gons.values() if n.order_id == order.id)
            order.shipping_status_id = 4 if shipped and not order.allocations else 3
            order.updated_on = self.now()
            self.raise_event("goods-out-note.modified.shipped", [g.id])
            return
        target = self.warehouse(g.target_warehouse_id)
        for a in g.lines:
            # Source: the allocation ends (allocated -q, inStock -q). Target: units wait in quarantine (inTransit +q).
            self._move(a.product_id, target.id, target.quarantine_location_id, a.quantity)
            self.transit[(a.product_id, target.id)] = self.in_transit(a.product_id, target.id) + a.quantity
            self._dirty.add(a.product_id)
        self.raise_event("goods-out-note.modified.shipped", [g.id])

    def quarantine_release(self, wid: int, body: dict[str, Any]) -> int:
        wh = self.warehouse(wid)
        p = self._tracked(_require(body, "productId"))
        qty = _int(_require(body, "quantity"), "quantity")
        if qty <= 0:
            raise BPError(400, "WHSC-004", "quantity must be positive")
        to_lid = self._location(wid, body.get("toLocationId") or wh.default_location_id)
        if to_lid == wh.quarantine_location_id:
            raise BPError(400, "WHSC-016", "toLocationId must not be the quarantine location")
        if self.quarantine_qty(p.id, wid) < qty:
            raise BPError(400, "WHSB-023",
                          f"None of the requested products are available in location {wh.quarantine_location_id}")
        self._move(p.id, wid, wh.quarantine_location_id, -qty)
        self._move(p.id, wid, to_lid, qty)
        # Quarantine is per warehouse; released units come out of the transfer share first.
        self.transit[(p.id, wid)] = max(0, self.in_transit(p.id, wid) - qty)
        rid = self._new_id("release")
        self.releases[rid] = QuarantineRelease(rid, wid, p.id, qty, to_lid, self.now())
        self.raise_event("quarantine-release.created", [rid])
        return rid

    # ------------------------------------------------------------------ orders
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

    def _totals(self, o: Order) -> tuple[float, float]:
        return sum(r.net for r in o.rows.values()), sum(r.tax for r in o.rows.values())

    def order_json(self, o: Order) -> dict[str, Any]:
        net, tax = self._totals(o)
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
            "orderPaymentStatus": PAYMENT_STATUS_NAMES.get(str(o.payment_status_id), "UNPAID"),
            "stockStatusCode": "SOA", "allocationStatusCode": o.allocation_status if o.order_type_code == "SO"
            and (o.allocations or any(g.order_id == o.id for g in self.gons.values())) else "AAA",
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

    def create_sales_credit(self, body: dict[str, Any]) -> int:
        customer = body.get("customer") or {}
        contact = customer.get("id") if isinstance(customer, dict) else None
        contact = contact if contact is not None else body.get("customerId")
        if contact is None:
            raise BPError(400, "ORDC-006", "customer.id is required")
        parent_id = _int(body.get("parentId", 0) or 0, "parentId", "ORDC-006")
        parent = self.orders.get(parent_id)
        if parent_id and parent is None:
            raise BPError(400, "ORDC-006", f"Parent order {parent_id} not found")
        ext, inst = body.get("externalRef"), body.get("installedIntegrationInstanceId")
        if ext and any(o.order_type_code == "SC" and o.external_ref == ext
                       and o.installed_integration_instance_id == inst for o in self.orders.values()):
            raise BPError(400, "ORDC-013", f"A sales credit with externalRef {ext} already exists for this integration")
        rows = body.get("rows")
        if not isinstance(rows, list):
            raise BPError(400, "ORDC-006", "rows must be a list")
        for r in rows:
            if r.get("productId") is None and not r.get("name"):
                raise BPError(400, "ORDC-006", "a row needs productId or name")
        now = self.now()
        currency = body.get("currency") or {}
        oid = self._new_id("order")
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
            rid = self._new_id("row")
            order.rows[rid] = self._make_row(rid, seq, r)
        self.orders[oid] = order
        return oid

    def sales_credit_json(self, o: Order) -> dict[str, Any]:
        net, tax = self._totals(o)
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
            "isCanceled": False, "orderPaymentStatus": PAYMENT_STATUS_NAMES.get(str(o.payment_status_id), "UNPAID"),
            "allocationStatusCode": "ANR", "shippingStatusCode": "ANR",
        }

    def get_sales_credits(self, ids: list[int]) -> list[dict[str, Any]]:
        return [self.sales_credit_json(o) for i in ids if (o := self.orders.get(i)) and o.order_type_code == "SC"]

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
        now = self.now()
        oid = self._new_id("order")
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
        wh = self.warehouse(wid)
        rows = body.get("rows")
        if not isinstance(rows, list) or not rows:
            raise BPError(400, "ORDC-006", "rows must be a non-empty list")
        for r in rows:
            if r.get("productId") is None and not r.get("name"):
                raise BPError(400, "ORDC-006", "a row needs productId or name")
            if _int(r.get("quantity", 1), "quantity", "ORDC-006") <= 0:
                raise BPError(400, "ORDC-006", "quantity must be positive")
        now = self.now()
        oid = self._new_id("order")
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
            rid = self._new_id("row")
            order.rows[rid] = self._make_row(rid, seq, r)
        self.orders[oid] = order
        if body.get("allocate", True):
            self._allocate_order(order, wh)
        self.raise_event("sales-order.created", [oid])
        return oid

    def _allocate_order(self, order: Order, wh: Warehouse) -> None:
        wanted = allocated = 0
        for row in order.rows.values():
            p = self.products.get(row.product_id) if row.product_id is not None else None
            if p is None or not p.stock_tracked:
                continue
            wanted += row.quantity
            taken: dict[tuple[int, int], int] = {}
            free = sum(self.location_qty(p.id, wh.id, lid) for lid in wh.locations if lid != wh.quarantine_location_id)
            qty = min(row.quantity, max(0, free))
            if qty:
                for a in self._plan_allocation(wh, p.id, qty, None, taken):
                    self._move(a.product_id, wh.id, a.location_id, -a.quantity)
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
            gid = self._new_id("goods_note")
            now = self.now()
            self.gons[gid] = GoodsOutNote(
                id=gid, warehouse_id=wid, target_warehouse_id=0, stock_transfer_id=0,
                shipping_method_id=int(body.get("shippingMethodId", 0)), release_date=str(spec.get("releaseDate", now)),
                created_on=now, created_by=self.staff_id, lines=lines, order_id=oid, row_ids=row_ids,
                events=[{"occured": now, "eventOwnerId": self.staff_id, "eventCode": "PLA"}],
                last_event_version=self._new_id("event_version"))
            self.raise_event("goods-out-note.created", [gid])
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
        rid = self._new_id("row")
        order.rows[rid] = self._make_row(rid, len(order.rows) + 1, flat)
        order.version += 1
        order.updated_on = self.now()
        return rid

    # ------------------------------------------------------------------ goods-in
    def goods_in(self, oid: int, body: dict[str, Any]) -> int:
        order = self.orders.get(oid)
        if order is None:
            raise BPError(404, "CMNC-404", f"Order {oid} not found")
        if order.order_type_code not in ("SC", "PO"):
            raise BPError(400, "WHSC-017", f"Order {oid} is not a sales credit or purchase order")
        wid = _int(_require(body, "warehouseId"), "warehouseId")
        self.warehouse(wid)
        ubr = body.get("userBatchReference")
        if ubr and any(n.user_batch_reference == ubr for n in self.goods_in_notes.values()):
            raise BPError(400, "WHSC-018", f"userBatchReference {ubr} is already used")
        moved = body.get("goodsMoved")
        if not isinstance(moved, list) or not moved:
            raise BPError(400, "WHSC-003", "goodsMoved must be a non-empty list")
        receiving: dict[int, int] = {}
        plan = []
        for m in moved:
            p = self._tracked(_require(m, "productId"))
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
            lid = self._location(wid, _require(m, "destinationLocationId"))
            plan.append((p.id, rid, q, lid, m))
        for pid, rid, q, lid, _m in plan:
            self._move(pid, wid, lid, q)
            order.rows[rid].received += q
        nid = self._new_id("goods_note")
        self.goods_in_notes[nid] = GoodsInNote(
            nid, oid, wid, str(body.get("receivedOn", self.now())), ubr,
            [{"productId": pid, "purchaseOrderRowId": rid, "quantity": q, "destinationLocationId": lid,
              "productValue": m.get("productValue")} for pid, rid, q, lid, m in plan], self.staff_id)
        self.raise_event("goods-in-note.created", [nid])
        return nid

    def get_goods_in(self, order_ids: list[int] | None, note_ids: list[int] | None) -> dict[str, Any]:
        return {str(n.id): {"goodsNoteId": n.id, "orderId": n.order_id, "warehouseId": n.warehouse_id,
                            "transfer": False, "goodsNoteStatus": "CLOSED",
                            "userBatchReference": n.user_batch_reference, "receivedOn": n.received_on,
                            "createdBy": n.created_by, "goodsMoved": [dict(m) for m in n.goods_moved]}
                for n in sorted(self.goods_in_notes.values(), key=lambda x: x.id)
                if (order_ids is None or n.order_id in order_ids) and (note_ids is None or n.id in note_ids)}

    # ------------------------------------------------------------------ webhooks
    def register_webhook(self, body: dict[str, Any]) -> int:
        event = _require(body, "subscribeTo", "INTC-001")
        if event not in SUBSCRIBABLE_EVENTS:
            raise BPError(400, "INTC-064", f"{event} either does not exist or cannot be subscribed too")
        method = str(body.get("httpMethod", "POST")).upper()
        if method not in ("GET", "POST", "PUT", "DELETE"):
            raise BPError(400, "INTC-002", f"httpMethod {method} is not supported")
        _require(body, "uriTemplate", "INTC-001")
        if method in ("POST", "PUT"):
            _require(body, "bodyTemplate", "INTC-001")
            _require(body, "contentType", "INTC-001")
        qos = _int(body.get("qualityOfService", 0), "qualityOfService", "INTC-003")
        if qos not in (0, 1):
            raise BPError(400, "INTC-003", "qualityOfService must be 0 or 1")
        hid = int(body["id"]) if body.get("id") else self._new_id("webhook")
        self._bump("webhook", hid)
        self.webhooks[hid] = Webhook(hid, str(event), method, str(body["uriTemplate"]), body.get("bodyTemplate"),
                                     body.get("contentType"), bool(body.get("idSetAccepted", False)), qos)
        return hid

    def list_webhooks(self, ids: list[int] | None) -> list[dict[str, Any]]:
        if ids is None:
            return [w.to_json() for _, w in sorted(self.webhooks.items())]
        found = [self.webhooks[i].to_json() for i in ids if i in self.webhooks]
        if not found:
            raise BPError(404, "CMNC-404", f"No webhooks available in ID Set {format_id_set(ids)}")
        return found

    def delete_webhook(self, hid: int) -> None:
        if self.webhooks.pop(hid, None) is None:
            raise BPError(404, "CMNC-404", f"Cannot find webhook: {hid}")

    # ------------------------------------------------------------------ state
    def to_json(self) -> dict[str, Any]:
        stock = []
        for pid, wid in sorted(self.history):
            wh = self.warehouses[wid]
            stock.append({"productId": pid, "warehouseId": wid, **self.warehouse_figures(pid, wid),
                          "quarantine": self.location_qty(pid, wid, wh.quarantine_location_id),
                          "locations": {str(lid): q for (p, w, lid), q in sorted(self.stock.items())
                                        if p == pid and w == wid and q}})
        return {
            "warehouses": [{"id": w.id, "name": w.name, "defaultLocationId": w.default_location_id,
                            "quarantineLocationId": w.quarantine_location_id, "locations": sorted(w.locations)}
                           for w in self.warehouses.values()],
            "products": [self.product_json(p) for p in self.products.values()],
            "stock": stock,
            "stockCorrections": self.get_stock_corrections_all(),
            "stockTransfers": self.get_stock_transfers(sorted(self.transfers)),
            "goodsOutNotes": {str(g.id): self.gon_json(g) for g in self.gons.values()},
            "quarantineReleases": [{"id": r.id, "warehouseId": r.warehouse_id, "productId": r.product_id,
                                    "quantity": r.quantity, "toLocationId": r.to_location_id, "createdOn": r.created_on}
                                   for r in self.releases.values()],
            "orders": [self.order_json(o) for o in self.orders.values()],
            "goodsInNotes": self.get_goods_in(None, None),
            "webhooks": self.list_webhooks(None),
        }

    def get_stock_corrections_all(self) -> list[dict[str, Any]]:
        return [c for wid in sorted(self.warehouses)
                for c in self.get_stock_corrections(wid, sorted(self.corrections))]
