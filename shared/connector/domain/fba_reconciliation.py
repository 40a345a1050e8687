"""FBA inventory reconciliation rules (pure, no I/O): compare, explain, suggest; CSV rows; email content.

What is compared (the stock rule, docs/movements.md): the Brightpearl FBA warehouse mirrors Amazon's
*sellable* FBA units. On Amazon's side that is ``fulfillable + reserved`` (units in SELLABLE condition in
the fulfilment centres, including those reserved for customer orders, transshipment and FC processing:
a customer order moves units from fulfillable to reserved without any ledger row, so it must make no
difference). On Brightpearl's side it is the FBA warehouse's ``onHand + allocated`` (units booked in its
sellable locations whether or not allocated to an order; quarantine / ``inTransit`` is excluded, as
Amazon's inbound units are). Unfulfillable, inbound and researching units are shown, never compared.

A difference is ``amazon - brightpearl`` (positive: Brightpearl needs units added). Everything the stack
knows is in flight towards Brightpearl is subtracted (each with the signed change it will make there when
it lands); the suggested correction is what remains.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from connector.domain.flatfile import cell, parse_int, read_rows

# Line statuses
MATCH = "match"  # no difference
EXPLAINED = "explained"  # a difference, fully explained by what is in flight
DIFFERENCE = "difference"  # something remains: a suggested correction
UNLINKED = "unlinked"  # Amazon holds FBA units of a SKU with no FBA link: nothing to compare with
NOT_IN_BRIGHTPEARL = "not_in_brightpearl"  # linked product unknown to Brightpearl availability (deleted, untracked)
UNSETTLED = "unsettled"  # something landed while the two sides were being read: compare again later

APPLICABLE = frozenset({DIFFERENCE})

# Explanation kinds
INBOUND = "inbound_unreleased"
MOVEMENT = "movement"
UNMATCHED_MOVEMENT = "unmatched_movement"
ORDERS = "orders"


@dataclass(frozen=True)
class AmazonFba:
    """One SKU's FBA quantities in one pool (Pan-EU: one pool for the region)."""

    sku: str
    fulfillable: int = 0
    reserved: int = 0
    pending_orders: int | None = None  # reservedQuantity.pendingCustomerOrderQuantity; None: unknown (MYI report)
    unfulfillable: int = 0
    inbound_working: int = 0
    inbound_shipped: int = 0
    inbound_receiving: int = 0
    researching: int = 0

    @property
    def sellable(self) -> int:
        return self.fulfillable + self.reserved

    def plus(self, other: AmazonFba) -> AmazonFba:
        def add(a: int | None, b: int | None) -> int | None:
            return None if a is None or b is None else a + b
        return AmazonFba(self.sku, self.fulfillable + other.fulfillable, self.reserved + other.reserved,
                         add(self.pending_orders, other.pending_orders), self.unfulfillable + other.unfulfillable,
                         self.inbound_working + other.inbound_working, self.inbound_shipped + other.inbound_shipped,
                         self.inbound_receiving + other.inbound_receiving, self.researching + other.researching)


@dataclass(frozen=True)
class BrightpearlFba:
    """The FBA warehouse's figures for one product (product-availability)."""

    product_id: int
    on_hand: int = 0
    allocated: int = 0
    in_transit: int = 0

    @property
    def stock(self) -> int:
        return self.on_hand + self.allocated


@dataclass(frozen=True)
class InFlight:
    """Something the stack has under way that will change the FBA warehouse by ``quantity`` when it lands."""

    sku: str
    kind: str
    quantity: int
    note: str


@dataclass
class Line:
    sku: str  # the SKU corrections are recorded under (the first, when several SKUs share a product)
    skus: list[str]
    product_id: int | None
    status: str
    amazon: int | None = None  # sellable = fulfillable + reserved
    fulfillable: int = 0
    reserved: int = 0
    pending_orders: int | None = None
    unfulfillable: int = 0
    inbound: int = 0  # working + shipped + receiving
    researching: int = 0
    brightpearl: int | None = None  # onHand + allocated
    bp_on_hand: int = 0
    bp_allocated: int = 0
    bp_in_transit: int = 0
    difference: int = 0
    explained: list[dict[str, Any]] = field(default_factory=list)  # [{"kind", "quantity", "note"}]
    suggested: int = 0
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> Line:
        return Line(**{k: v for k, v in d.items() if k in Line.__dataclass_fields__})


# ---------------------------------------------------------------------------------------------- pools
def pools(marketplace_ids: Sequence[str], eu: frozenset[str]) -> list[str]:
    """The marketplaces to ask Amazon, one per inventory pool: FBA stock is one Pan-EU pool for every EU
    marketplace (asking each would count the same units once per marketplace); others are their own."""
    out: list[str] = []
    eu_done = False
    for m in marketplace_ids:
        if m in eu:
            if not eu_done:
                out.append(m)
                eu_done = True
        elif m not in out:
            out.append(m)
    return out


def merge_pools(per_pool: Iterable[Iterable[AmazonFba]]) -> dict[str, AmazonFba]:
    """SKU → quantities. Within a pool a SKU counts once (a repeated row is the same units: the last one
    wins); distinct pools hold distinct units and are added."""
    out: dict[str, AmazonFba] = {}
    for rows in per_pool:
        pool: dict[str, AmazonFba] = {}
        for row in rows:
            pool[row.sku] = row
        for sku, row in pool.items():
            out[sku] = out[sku].plus(row) if sku in out else row
    return out


# ---------------------------------------------------------------------------------------------- Amazon shapes
def from_summary(s: Mapping[str, Any]) -> AmazonFba:
    """One getInventorySummaries entry (``details=true``)."""
    d = s.get("inventoryDetails") or {}
    reserved = d.get("reservedQuantity") or {}
    unfulfillable = d.get("unfulfillableQuantity") or {}
    researching = d.get("researchingQuantity") or {}
    return AmazonFba(
        sku=str(s.get("sellerSku") or ""), fulfillable=int(d.get("fulfillableQuantity") or 0),
        reserved=int(reserved.get("totalReservedQuantity") or 0),
        pending_orders=int(reserved.get("pendingCustomerOrderQuantity") or 0),
        unfulfillable=int(unfulfillable.get("totalUnfulfillableQuantity") or 0),
        inbound_working=int(d.get("inboundWorkingQuantity") or 0),
        inbound_shipped=int(d.get("inboundShippedQuantity") or 0),
        inbound_receiving=int(d.get("inboundReceivingQuantity") or 0),
        researching=int(researching.get("totalResearchingQuantity") or 0))


def from_myi(lines: Iterable[str]) -> list[AmazonFba]:
    """GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA rows (columns by header name). The report has no
    pending-customer-order breakdown, so ``pending_orders`` stays unknown."""
    columns, rows = read_rows(lines)
    sku_at = columns.require("sku")
    at = {name: columns.index(name) for name in (
        "afn-listing-exists", "afn-fulfillable-quantity", "afn-reserved-quantity", "afn-unsellable-quantity",
        "afn-inbound-working-quantity", "afn-inbound-shipped-quantity", "afn-inbound-receiving-quantity",
        "afn-researching-quantity")}
    columns.require("afn-fulfillable-quantity")

    def num(row: list[str], name: str) -> int:
        return parse_int(cell(row, at[name])) or 0

    out: list[AmazonFba] = []
    for _, row in rows:
        sku = cell(row, sku_at)
        if not sku or cell(row, at["afn-listing-exists"]).lower() == "no":
            continue  # merchant-fulfilled only: no FBA units
        out.append(AmazonFba(sku, num(row, "afn-fulfillable-quantity"), num(row, "afn-reserved-quantity"), None,
                             num(row, "afn-unsellable-quantity"), num(row, "afn-inbound-working-quantity"),
                             num(row, "afn-inbound-shipped-quantity"), num(row, "afn-inbound-receiving-quantity"),
                             num(row, "afn-researching-quantity")))
    return out


def from_availability(product_id: int, entry: Mapping[str, Any] | None, warehouse_id: int) -> BrightpearlFba | None:
    """The FBA warehouse's figures from a product-availability entry; None when Brightpearl left the product out.
    A warehouse with no stock history is absent from the entry: zeros."""
    if entry is None:
        return None
    w = (entry.get("warehouses") or {}).get(str(warehouse_id)) or {}
    return BrightpearlFba(product_id, int(w.get("onHand") or 0), int(w.get("allocated") or 0),
                          int(w.get("inTransit") or 0))


# ---------------------------------------------------------------------------------------------- in flight
def inbound_unreleased(sku: str, shipment_id: str, *, received: int, transferred: int, released: int,
                       corrected: int, over_receipt_corrected: bool) -> InFlight | None:
    """Units Amazon has received on an open inbound shipment that Brightpearl has not released yet (the
    inbound run releases ``min(received, transferred) - released`` and, with ``over_receipt = correct``,
    adds ``received - transferred - corrected`` by correction)."""
    units = max(0, min(received, transferred) - released)
    if over_receipt_corrected:
        units += max(0, received - transferred - corrected)
    if units <= 0:
        return None
    return InFlight(sku, INBOUND, units, f"inbound {shipment_id}: {units} received by Amazon, not yet released "
                                         f"in Brightpearl")


def movement_in_flight(sku: str, *, key: str, kind: str, status: str, quantity: int, detail: Mapping[str, Any],
                       restock_returns: bool) -> InFlight | None:
    """A recorded movement that has not reached Brightpearl (pending, in flight, failed, unmatched), with the
    change it will make to the FBA warehouse. Returns count only when they restock sellable FBA units."""
    if kind == "customer_return" and restock_returns:
        return None  # with restocking on, the return's sales credit raises these units, not the ledger row
    if kind == "return":
        if detail.get("channel") != "FBA" or not restock_returns or detail.get("restocked"):
            return None
        quantity = sum(int(q) for s, q, disp in detail.get("lines") or [] if s == sku and disp == "SELLABLE")
    if not quantity:
        return None
    what = UNMATCHED_MOVEMENT if status == "unmatched" else MOVEMENT
    return InFlight(sku, what, quantity, f"{kind} movement {status} ({quantity:+d}): {key}")


# ---------------------------------------------------------------------------------------------- compare
def _orders(amazon: AmazonFba, bp: BrightpearlFba, remaining: int) -> InFlight | None:
    """Customer orders shipped on one side and not yet on the other (inferred, so it only ever explains).

    Brightpearl allocates units to orders until it ships them; Amazon reserves units until it ships them.
    More allocated in Brightpearl than Amazon reserves: Amazon has shipped units Brightpearl still holds
    (it will ship them). More reserved at Amazon than allocated: Brightpearl already booked out units Amazon
    still holds. Without the pending-order breakdown (MYI report), all reserved units are taken as orders.
    """
    pending = amazon.reserved if amazon.pending_orders is None else amazon.pending_orders
    gap = bp.allocated - pending
    if remaining < 0 < gap:
        units = min(gap, -remaining)
        return InFlight(amazon.sku, ORDERS, -units, f"{units} unit(s) allocated in Brightpearl to orders not yet "
                                                    "shipped there, already shipped by Amazon")
    if remaining > 0 > gap:
        units = min(-gap, remaining)
        return InFlight(amazon.sku, ORDERS, units, f"{units} unit(s) reserved by Amazon for orders it has not "
                                                   "shipped, already out of Brightpearl's stock")
    return None


def compare(*, links: Mapping[str, int], amazon: Mapping[str, AmazonFba],
            brightpearl: Mapping[int, BrightpearlFba | None], in_flight: Iterable[InFlight]) -> list[Line]:
    """One line per linked product (its FBA SKUs together: Brightpearl keeps one figure per product) and one
    per Amazon SKU holding FBA units without a link. ``links``: FBA SKU → product id."""
    by_sku: dict[str, list[InFlight]] = {}
    for f in in_flight:
        by_sku.setdefault(f.sku, []).append(f)
    skus_of: dict[int, list[str]] = {}
    for sku, pid in links.items():
        skus_of.setdefault(pid, []).append(sku)
    lines: list[Line] = []
    for pid, skus in skus_of.items():
        skus.sort()
        rows = [amazon[s] for s in skus if s in amazon]
        a = rows[0] if rows else AmazonFba(skus[0], pending_orders=0)
        for r in rows[1:]:
            a = a.plus(r)
        bp = brightpearl.get(pid)
        line = Line(sku=skus[0], skus=skus, product_id=pid, status=MATCH, amazon=a.sellable,
                    fulfillable=a.fulfillable, reserved=a.reserved, pending_orders=a.pending_orders,
                    unfulfillable=a.unfulfillable, inbound=a.inbound_working + a.inbound_shipped + a.inbound_receiving,
                    researching=a.researching)
        if not rows:
            line.note = "not in Amazon's FBA inventory: counted as 0"
        if bp is None:
            line.status, line.note = NOT_IN_BRIGHTPEARL, "Brightpearl has no availability for this product " \
                                                         "(deleted or not stock tracked)"
            lines.append(line)
            continue
        line.brightpearl, line.bp_on_hand, line.bp_allocated, line.bp_in_transit = \
            bp.stock, bp.on_hand, bp.allocated, bp.in_transit
        line.difference = a.sellable - bp.stock
        flights = [f for s in skus for f in by_sku.get(s, [])]
        remaining = line.difference - sum(f.quantity for f in flights)
        orders = _orders(AmazonFba(skus[0], a.fulfillable, a.reserved, a.pending_orders), bp, remaining)
        if orders is not None:
            flights.append(orders)
            remaining -= orders.quantity
        line.explained = [{"kind": f.kind, "quantity": f.quantity, "note": f.note} for f in flights]
        line.suggested = remaining
        if remaining:
            line.status = DIFFERENCE
        elif line.difference or flights:
            line.status = EXPLAINED
        lines.append(line)
    for sku, a in amazon.items():
        if sku not in links and (a.sellable or a.unfulfillable or a.inbound_working + a.inbound_shipped
                                 + a.inbound_receiving):
            lines.append(Line(sku=sku, skus=[sku], product_id=None, status=UNLINKED, amazon=a.sellable,
                              fulfillable=a.fulfillable, reserved=a.reserved, pending_orders=a.pending_orders,
                              unfulfillable=a.unfulfillable,
                              inbound=a.inbound_working + a.inbound_shipped + a.inbound_receiving,
                              researching=a.researching, note="no FBA link: not compared, link it to reconcile"))
    lines.sort(key=lambda ln: (-abs(ln.suggested), -abs(ln.difference), ln.sku))
    return lines


def mark_unsettled(lines: list[Line], before: Iterable[InFlight], after: Iterable[InFlight]) -> list[Line]:
    """Lines whose in-flight work changed while Brightpearl was being read are not corrected.

    Brightpearl's figures take minutes to read for a large catalogue; a release or correction that
    lands in that time is in neither the figure nor the in-flight list read afterwards, and would
    show up as a difference and be corrected a second time.
    """
    def by_sku(items: Iterable[InFlight]) -> dict[str, set[tuple[str, int, str]]]:
        out: dict[str, set[tuple[str, int, str]]] = {}
        for f in items:
            out.setdefault(f.sku, set()).add((f.kind, f.quantity, f.note))
        return out

    b, a = by_sku(before), by_sku(after)
    changed = {sku for sku in set(b) | set(a) if b.get(sku) != a.get(sku)}
    for ln in lines:
        if ln.difference and changed.intersection(ln.skus):
            ln.status, ln.suggested = UNSETTLED, 0
            ln.note = (ln.note + "; " if ln.note else "") + "work landed while reading: compare again, not corrected"
    return lines


# ---------------------------------------------------------------------------------------------- approval
def select(lines: Iterable[Line], *, skus: Iterable[str] | None = None, max_units: int | None = None) -> list[Line]:
    """Lines an approval applies: a suggested correction, the listed SKUs only (any SKU of the line), and
    only corrections of at most ``max_units`` units either way."""
    wanted = set(skus) if skus is not None else None
    out = []
    for ln in lines:
        if ln.status not in APPLICABLE or not ln.suggested or ln.product_id is None:
            continue
        if wanted is not None and not wanted.intersection(ln.skus):
            continue
        if max_units is not None and abs(ln.suggested) > max_units:
            continue
        out.append(ln)
    return out


def movement_key(reconciliation_id: str, sku: str) -> str:
    return f"recon#{reconciliation_id}#{sku}"
