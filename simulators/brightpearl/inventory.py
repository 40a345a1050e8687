"""Brightpearl's warehouse-service stock: warehouses and locations, stock corrections, internal
transfers, quarantine release and product availability, and their routes.

Stock is held per (product, warehouse, location) as free physical units. Figures reported by the
availability API are derived from it (contract §4a, §5):

* ``onHand``    = free units in every location of the warehouse except its quarantine location;
* ``allocated`` = units reserved by open (unshipped) transfer goods-out notes of the warehouse;
* ``inStock``   = ``onHand + allocated``;
* ``inTransit`` = units shipped to this warehouse by a transfer and still sitting in its
  quarantine location (released by ``quarantine/release``).

Quarantine units that did not arrive by transfer (e.g. damaged returns booked in by a goods-in
note) count in no figure; they are visible through :meth:`Inventory.quarantine_qty` and ``state()``.

Every mutation marks the product dirty; :meth:`Shared.drain_events` turns that into one
``product.modified.on-hand-modified`` event per operation plus any other events raised.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulators.brightpearl.base import Section
from simulators.brightpearl.errors import BPError
from simulators.brightpearl.http import IDS, _body
from simulators.brightpearl.records import (
    Allocation,
    Location,
    Product,
    QuarantineRelease,
    StockCorrection,
    Warehouse,
    _int,
    _require,
    format_id_set,
    ids_from,
)
from simulators.core import Request, Response

if TYPE_CHECKING:
    from simulators.brightpearl.server import BrightpearlSimulator
    from simulators.brightpearl.world import World


class Inventory(Section):
    """Warehouses, locations and the stock in them."""

    def __init__(self, w: World) -> None:
        super().__init__(w)
        self.warehouses: dict[int, Warehouse] = {}
        self.stock: dict[tuple[int, int, int], int] = {}  # (product, warehouse, location) -> free units
        # Index of the locations holding a record per (product, warehouse): on-hand reads stay O(1)
        # with tens of thousands of products (benchmarks seed 20 000).
        self._locations: dict[tuple[int, int], set[int]] = {}
        self.transit: dict[tuple[int, int], int] = {}  # (product, target warehouse) -> units in quarantine by transfer
        self.history: set[tuple[int, int]] = set()  # (product, warehouse) pairs that ever held stock
        self.corrections: dict[int, StockCorrection] = {}
        self.releases: dict[int, QuarantineRelease] = {}
        self.internal_transfers: dict[int, dict[str, Any]] = {}

    def move(self, pid: int, wid: int, lid: int, delta: int) -> None:
        key = (pid, wid, lid)
        new = self.stock.get(key, 0) + delta
        if new < 0:  # callers validate first; this guards the invariant
            raise BPError(400, "WHSB-023", f"None of the requested products are available in location {lid}")
        self.put_stock(key, new)
        self.history.add((pid, wid))
        if delta:
            self.shared.dirty.add(pid)

    def put_stock(self, key: tuple[int, int, int], qty: int) -> None:
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
        notes = sum(a.quantity for g in self.w.goods_out.gons.values() if g.warehouse_id == wid and not g.shipped
                    for a in g.lines if a.product_id == pid)
        orders = sum(a.quantity for o in self.w.sales.orders.values() if o.warehouse_id == wid
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
        self.w.catalog.product(pid)
        self.location(wid, lid)
        self.move(pid, wid, lid, qty - self.location_qty(pid, wid, lid))

    def adjust_on_hand(self, pid: int, wid: int, *, delta: int | None = None, on_hand: int | None = None,
                       location_id: int | None = None) -> dict[str, int]:
        """Test/control hook: change on-hand directly, in the default location unless told otherwise."""
        wh = self.warehouse(wid)
        lid = location_id or wh.default_location_id
        self.w.catalog.product(pid)
        self.location(wid, lid)
        if on_hand is not None:
            # Absolute target for the warehouse's on-hand; the difference lands in/leaves ``lid``.
            delta = on_hand - self.on_hand(pid, wid)
        if delta is None:
            raise BPError(400, "CMNC-400", "delta or onHand is required")
        if self.location_qty(pid, wid, lid) + delta < 0:
            raise BPError(400, "WHSB-023", f"None of the requested products are available in location {lid}")
        self.move(pid, wid, lid, delta)
        return self.warehouse_figures(pid, wid)

    def force_on_hand(self, pid: int, wid: int, on_hand: int, location_id: int | None = None) -> dict[str, int]:
        """Scenario hook: set on-hand to any value, negative included (Brightpearl shows negative on-hand
        when goods are shipped before they were booked in; the API itself never goes below zero)."""
        wh = self.warehouse(wid)
        lid = self.location(wid, location_id or wh.default_location_id)
        self.w.catalog.product(pid)
        key = (pid, wid, lid)
        self.put_stock(key, self.stock.get(key, 0) + on_hand - self.on_hand(pid, wid))
        self.history.add((pid, wid))
        self.shared.dirty.add(pid)
        return self.warehouse_figures(pid, wid)

    def warehouse(self, wid: int) -> Warehouse:
        wh = self.warehouses.get(wid)
        if wh is None:
            raise BPError(404, "WHSC-001", f"Warehouse {wid} not found")
        return wh

    def location(self, wid: int, lid: Any) -> int:
        lid_i = _int(lid, "locationId")
        if lid_i not in self.warehouse(wid).locations:
            raise BPError(400, "WHSC-002", f"Location {lid_i} does not belong to warehouse {wid}")
        return lid_i

    def seed_warehouse(self, w: dict[str, Any]) -> None:
        wid = int(w["id"])
        default = int(w.get("defaultLocationId") or self.shared.new_id("location"))
        quarantine = int(w.get("quarantineLocationId") or self.shared.new_id("location"))
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
            self.shared.bump("location", lid)
        self.warehouses[wid] = wh

    def seed_stock(self, s: dict[str, Any]) -> None:
        pid, wid = int(s["productId"]), int(s["warehouseId"])
        wh = self.warehouse(wid)
        self.w.catalog.product(pid)
        self.history.add((pid, wid))
        if "onHand" in s:
            self.put_stock((pid, wid, int(s.get("locationId") or wh.default_location_id)), int(s["onHand"]))
        q_key = (pid, wid, wh.quarantine_location_id)
        transit = int(s.get("inTransit", 0))
        if "quarantine" in s or transit:
            # ``inTransit`` units physically sit in quarantine on top of any other quarantine stock.
            self.put_stock(q_key, int(s.get("quarantine", 0)) + transit)
            self.transit[(pid, wid)] = transit

    def _bundle_on_hand(self, pid: int, wid: int) -> int:
        p = self.w.catalog.products[pid]
        if not p.bundle_components:
            return self.on_hand(pid, wid)
        return min((self._bundle_on_hand(c, wid) // q if c in self.w.catalog.products else 0)
                   for c, q in p.bundle_components)

    def _leaf_components(self, pid: int) -> set[int]:
        p = self.w.catalog.products.get(pid)
        if p is None or not p.bundle_components:
            return {pid}
        return set().union(*(self._leaf_components(c) for c, _ in p.bundle_components))

    def bundle_availability(self, ids: list[int]) -> dict[str, Any]:
        self.w.catalog.require_products(ids)
        out: dict[str, Any] = {}
        for bid in ids:
            p = self.w.catalog.products.get(bid)
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
        self.w.catalog.require_products(ids)
        # Products that are not stock tracked (bundles) are left out, as in Brightpearl (contract §4a).
        return {str(i): self.availability(i) for i in ids if self.w.catalog.products[i].stock_tracked}

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
        self.w.catalog.require_products(ids)
        catalog = self.w.catalog
        return [{"productId": i, **catalog.warehouse_product_defaults(catalog.products[i], wid)} for i in ids]

    def stock_correction(self, wid: int, body: dict[str, Any]) -> list[int]:
        self.warehouse(wid)
        items = body.get("corrections")
        if not isinstance(items, list) or not items:
            raise BPError(400, "WHSC-003", "corrections must be a non-empty list")
        # Validate everything first so a refused request changes nothing.
        planned: list[tuple[Product, int, int, dict[str, Any]]] = []
        need: dict[tuple[int, int], int] = {}
        for c in items:
            product = self.w.catalog.tracked(_require(c, "productId"))
            qty = _int(_require(c, "quantity"), "quantity")
            if qty == 0:
                raise BPError(400, "WHSC-004", "quantity must not be 0")
            _require(c, "reason")
            lid = self.location(wid, _require(c, "locationId"))
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
            self.move(product.id, wid, lid, qty)
            if qty > 0 and product.status == "ARCHIVED":
                product.status = "LIVE"  # contract §4c: adding stock revives an archived product
                product.updated_on = self.shared.now()
            nid = self.shared.new_id("goods_note")
            self.corrections[nid] = StockCorrection(
                nid, wid, str(c["reason"]), product.id, qty, lid, c.get("cost") if qty > 0 else None,
                c.get("orderId"), self.shared.now(), self.shared.staff_id)
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

    def internal_transfer(self, wid: int, body: dict[str, Any]) -> int:
        self.warehouse(wid)
        lines = body.get("transferredProducts")
        if not isinstance(lines, list) or not lines:
            raise BPError(400, "WHSC-003", "transferredProducts must be a non-empty list")
        plan = []
        for ln in lines:
            p = self.w.catalog.tracked(_require(ln, "productId"))
            q = _int(_require(ln, "quantity"), "quantity")
            src = self.location(wid, _require(ln, "fromLocationId"))
            dst = self.location(wid, _require(ln, "toLocationId"))
            if q <= 0 or self.location_qty(p.id, wid, src) < q:
                raise BPError(400, "WHSB-023", f"None of the requested products are available in location {src}")
            plan.append((p.id, q, src, dst))
        for pid, q, src, dst in plan:
            self.move(pid, wid, src, -q)
            self.move(pid, wid, dst, q)
        tid = self.shared.new_id("internal")
        self.internal_transfers[tid] = {"id": tid, "warehouseId": wid, "transferredProducts": lines}
        return tid

    def plan_allocation(self, source: Warehouse, pid: int, qty: int, from_lid: int | None,
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

    def quarantine_release(self, wid: int, body: dict[str, Any]) -> int:
        # One product per call: the body "has three simple arguments" (productId, quantity, toLocationId),
        # https://api-docs.brightpearl.com/warehouse/quarantine-release/post.html; no multi-product form is
        # documented, so anything else (e.g. a list of products) is refused rather than half-applied.
        if unknown := sorted(set(body) - {"productId", "quantity", "toLocationId"}):
            raise BPError(400, "CMNC-400", f"quarantine release takes productId, quantity and toLocationId; "
                                           f"unknown field(s): {', '.join(unknown)}")
        wh = self.warehouse(wid)
        p = self.w.catalog.tracked(_require(body, "productId"))
        qty = _int(_require(body, "quantity"), "quantity")
        if qty <= 0:
            raise BPError(400, "WHSC-004", "quantity must be positive")
        to_lid = self.location(wid, body.get("toLocationId") or wh.default_location_id)
        if to_lid == wh.quarantine_location_id:
            raise BPError(400, "WHSC-016", "toLocationId must not be the quarantine location")
        if self.quarantine_qty(p.id, wid) < qty:
            raise BPError(400, "WHSB-023",
                          f"None of the requested products are available in location {wh.quarantine_location_id}")
        self.move(p.id, wid, wh.quarantine_location_id, -qty)
        self.move(p.id, wid, to_lid, qty)
        # Quarantine is per warehouse; released units come out of the transfer share first.
        self.transit[(p.id, wid)] = max(0, self.in_transit(p.id, wid) - qty)
        rid = self.shared.new_id("release")
        self.releases[rid] = QuarantineRelease(rid, wid, p.id, qty, to_lid, self.shared.now())
        self.shared.raise_event("quarantine-release.created", [rid])
        return rid

    def get_stock_corrections_all(self) -> list[dict[str, Any]]:
        return [c for wid in sorted(self.warehouses)
                for c in self.get_stock_corrections(wid, sorted(self.corrections))]


def register(sim: BrightpearlSimulator) -> None:
    wh = r"/warehouse-service/warehouse/(?P<wid>\d+)"
    sim._get(r"/warehouse-service/product-availability/" + IDS,
             lambda r: sim.world.inventory.product_availability(ids_from(r.params["ids"], "availability")),
             "get-product-availability")
    sim._get(r"/warehouse-service/bundle-availability/" + IDS,
             lambda r: sim.world.inventory.bundle_availability(ids_from(r.params["ids"], "product")),
             "get-bundle-availability")
    sim._get(r"/warehouse-service/warehouse(?:/" + IDS + ")?",
             lambda r: sim.world.inventory.list_warehouses(ids_from(r.params["ids"]) if "ids" in r.params else None),
             "get-warehouse")
    sim._get(wh + r"/location/default",
             lambda r: sim.world.inventory.warehouse(int(r.params["wid"])).default_location_id,
             "get-default-location")
    sim._get(wh + r"/location/quarantine",
             lambda r: sim.world.inventory.warehouse(int(r.params["wid"])).quarantine_location_id,
             "get-quarantine-location")
    sim._get(wh + r"/location(?:/" + IDS + ")?",
             lambda r: sim.world.inventory.list_locations(int(r.params["wid"]),
                                                    ids_from(r.params["ids"]) if "ids" in r.params else None),
             "get-location")
    sim._get(wh + r"/product/" + IDS,
             lambda r: sim.world.inventory.warehouse_products(int(r.params["wid"]),
                                                        ids_from(r.params["ids"], "warehouse-product")),
             "get-warehouse-product")
    sim._post(wh + r"/stock-correction",
              lambda r: sim.world.inventory.stock_correction(int(r.params["wid"]), _body(r)), "post-stock-correction")
    sim._get(wh + r"/stock-correction/" + IDS,
             lambda r: sim.world.inventory.get_stock_corrections(int(r.params["wid"]),
                                                           ids_from(r.params["ids"], "stock-correction")),
             "get-stock-correction")
    sim._post(wh + r"/internal-transfer",
              lambda r: sim.world.inventory.internal_transfer(int(r.params["wid"]), _body(r)),
              "post-internal-transfer")
    sim._post(wh + r"/quarantine/release", lambda r: _release(sim, r), "post-quarantine-release")


def _release(sim: BrightpearlSimulator, req: Request) -> Response:
    sim.world.inventory.quarantine_release(int(req.params["wid"]), _body(req))
    return Response(200, {})
