"""FBA removal orders in the SP-API simulator: orders (return to the seller's address, or disposal), the
packages Amazon ships them in, units Amazon cannot find (cancelled), and the two flat-file reports.

Operations (world operations, ``/_sim/spapi/world/<op>``): ``create_removal``, ``ship_removal``,
``dispose_removal``, ``cancel_removal``. Shipping or disposing moves the FBA stock and writes the ledger's
``VendorReturns`` row (Reference ID = the order id), as Amazon's ledger shows removals. Strict: an
unknown order, a SKU not on the order, more units than are still in process, shipping a disposal or
disposing of a return are refused (400 through the control API).

Reports (columns: Seller Central's help pages, see docs/simulators-spapi.md#removal-reports):
``GET_FBA_FULFILLMENT_REMOVAL_ORDER_DETAIL_DATA`` one row per order line updated in the window, with the
order's figures as they stand; ``GET_FBA_FULFILLMENT_REMOVAL_SHIPMENT_DETAIL_DATA`` one row per SKU per
package shipped in the window. A report with no row ends CANCELLED, as the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulators.spapi.common import Shared
    from simulators.spapi.inventory import FbaInventory

ORDER_DETAIL = "GET_FBA_FULFILLMENT_REMOVAL_ORDER_DETAIL_DATA"
SHIPMENT_DETAIL = "GET_FBA_FULFILLMENT_REMOVAL_SHIPMENT_DETAIL_DATA"
ORDER_DETAIL_COLUMNS = ["request-date", "order-id", "order-type", "order-status", "last-updated-date", "sku", "fnsku",
                        "disposition", "requested-quantity", "cancelled-quantity", "disposed-quantity",
                        "shipped-quantity", "in-process-quantity", "removal-fee", "currency"]
SHIPMENT_DETAIL_COLUMNS = ["request-date", "order-id", "shipment-date", "sku", "fnsku", "disposition",
                           "shipped-quantity", "carrier", "tracking-number", "removal-order-type"]
ORDER_TYPES = ("Return", "Disposal")
REMOVAL_OPERATIONS = ("create_removal", "ship_removal", "dispose_removal", "cancel_removal")
# Seller Central's dispositions on removal reports (the ledger's SELLABLE / UNSELLABLE families).
_REPORT_DISPOSITION = {"SELLABLE": "Sellable"}


@dataclass
class RemovalLine:
    sku: str
    disposition: str  # the ledger's disposition the units are taken from (SELLABLE, CUSTOMER_DAMAGED, …)
    requested: int
    cancelled: int = 0
    disposed: int = 0
    shipped: int = 0
    updated: datetime | None = None

    @property
    def in_process(self) -> int:
        return self.requested - self.cancelled - self.disposed - self.shipped


@dataclass
class RemovalShipment:
    order_id: str
    sku: str
    disposition: str
    quantity: int
    carrier: str
    tracking: str
    at: datetime


@dataclass
class RemovalOrder:
    order_id: str
    order_type: str
    created: datetime
    lines: dict[str, RemovalLine] = field(default_factory=dict)
    fee_per_unit: str = "0.50"
    currency: str = "GBP"

    @property
    def status(self) -> str:
        if any(ln.in_process for ln in self.lines.values()):
            return "Pending"
        if all(ln.cancelled == ln.requested for ln in self.lines.values()):
            return "Cancelled"
        return "Completed"


class Removals:
    """The seller's removal orders and the packages they were shipped in."""

    def __init__(self, shared: Shared, inventory: FbaInventory) -> None:
        self.shared = shared
        self.inventory = inventory
        self.orders: dict[str, RemovalOrder] = {}
        self.shipments: list[RemovalShipment] = []

    # ------------------------------------------------------------------ operations
    def create_removal(self, items: dict[str, int], *, order_type: str = "Return", order_id: str | None = None,
                       disposition: str = "SELLABLE", at: datetime | None = None) -> RemovalOrder:
        """A removal order for ``items`` (SKU → units) of one disposition."""
        self.shared.advance()
        if order_type not in ORDER_TYPES:
            raise ValueError(f"order_type must be one of {ORDER_TYPES}, not {order_type!r}")
        oid = order_id or f"RMV{self.shared.alnum(8)}"
        if oid in self.orders:
            raise ValueError(f"removal order {oid} already exists")
        if not items:
            raise ValueError("a removal order needs at least one SKU")
        when = at or self.shared.now()
        order = RemovalOrder(oid, order_type, when)
        for sku, qty in items.items():
            stock = self.inventory.stock(sku)  # refuses an unknown SKU
            if int(qty) <= 0:
                raise ValueError(f"{sku}: a removal requests at least one unit")
            if stock.on_hand.get(disposition, 0) < int(qty):
                raise ValueError(f"{sku}: only {stock.on_hand.get(disposition, 0)} {disposition} units to remove")
            order.lines[sku] = RemovalLine(sku, disposition, int(qty), updated=when)
        self.orders[oid] = order
        return order

    def _line(self, order_id: str, sku: str, qty: int, want_type: str | None) -> tuple[RemovalOrder, RemovalLine]:
        order = self.orders.get(order_id)
        if order is None:
            raise ValueError(f"no removal order {order_id!r}")
        if want_type and order.order_type != want_type:
            raise ValueError(f"removal order {order_id} is a {order.order_type} order")
        line = order.lines.get(sku)
        if line is None:
            raise ValueError(f"removal order {order_id} has no SKU {sku!r}")
        if not 0 < int(qty) <= line.in_process:
            raise ValueError(f"{order_id}/{sku}: {qty} unit(s) asked, {line.in_process} still in process")
        return order, line

    def ship_removal(self, order_id: str, items: dict[str, int], *, carrier: str = "UPS",
                     tracking: str | None = None, at: datetime | None = None) -> tuple[RemovalShipment, ...]:
        """One package of a return removal: ``items`` units leave the FC (VendorReturns rows in the ledger)."""
        self.shared.advance()
        checked = [self._line(order_id, sku, qty, "Return") for sku, qty in items.items()]
        when = at or self.shared.now()
        track = tracking or f"1Z{self.shared.alnum(12)}"
        out = []
        for (_, line), qty in zip(checked, items.values(), strict=True):
            self.inventory.move(line.sku, line.disposition, -int(qty))
            line.shipped += int(qty)
            line.updated = when
            self.inventory.record(line.sku, "VendorReturns", order_id, -int(qty), line.disposition, at=when)
            shp = RemovalShipment(order_id, line.sku, line.disposition, int(qty), carrier, track, when)
            self.shipments.append(shp)
            out.append(shp)
        self.inventory.changed(*items)
        return tuple(out)

    def dispose_removal(self, order_id: str, items: dict[str, int], *, at: datetime | None = None) -> RemovalOrder:
        """Amazon disposes of units of a disposal order (VendorReturns rows in the ledger)."""
        self.shared.advance()
        checked = [self._line(order_id, sku, qty, "Disposal") for sku, qty in items.items()]
        when = at or self.shared.now()
        for (_, line), qty in zip(checked, items.values(), strict=True):
            self.inventory.move(line.sku, line.disposition, -int(qty))
            line.disposed += int(qty)
            line.updated = when
            self.inventory.record(line.sku, "VendorReturns", order_id, -int(qty), line.disposition, at=when)
        self.inventory.changed(*items)
        return self.orders[order_id]

    def cancel_removal(self, order_id: str, items: dict[str, int] | None = None, *,
                       at: datetime | None = None) -> RemovalOrder:
        """Units Amazon could not find, or the seller cancelled: ``items`` (default: all still in process)."""
        self.shared.advance()
        order = self.orders.get(order_id)
        if order is None:
            raise ValueError(f"no removal order {order_id!r}")
        wanted = items if items is not None else {s: ln.in_process for s, ln in order.lines.items() if ln.in_process}
        checked = [self._line(order_id, sku, qty, None) for sku, qty in wanted.items()]
        for (_, line), qty in zip(checked, wanted.values(), strict=True):
            line.cancelled += int(qty)
            line.updated = at or self.shared.now()
        return order

    def seed(self, spec: dict[str, Any]) -> RemovalOrder:
        """A removal order from a seed (``removals`` in the world's seed): created, then its packages
        shipped, units disposed of and units cancelled, in that order."""
        order = self.create_removal(dict(spec["items"]), order_type=spec.get("order_type", "Return"),
                                    order_id=spec.get("order_id"), disposition=spec.get("disposition", "SELLABLE"))
        for package in spec.get("shipments") or []:
            self.ship_removal(order.order_id, dict(package["items"]), carrier=package.get("carrier", "UPS"),
                              tracking=package.get("tracking"))
        if spec.get("disposed"):
            self.dispose_removal(order.order_id, dict(spec["disposed"]))
        if spec.get("cancelled"):
            self.cancel_removal(order.order_id, dict(spec["cancelled"]))
        return order

    def state(self) -> dict[str, Any]:
        return {"removals": {oid: {"order_type": o.order_type, "status": o.status,
                                   "lines": {s: {"requested": ln.requested, "cancelled": ln.cancelled,
                                                 "disposed": ln.disposed, "shipped": ln.shipped,
                                                 "in_process": ln.in_process} for s, ln in o.lines.items()}}
                             for oid, o in self.orders.items()}}

    # ------------------------------------------------------------------ reports
    def order_detail_rows(self, start: datetime, end: datetime) -> list[list[str]]:
        rows = []
        for order in sorted(self.orders.values(), key=lambda o: (o.created, o.order_id)):
            for line in order.lines.values():
                if line.updated is None or not start <= line.updated <= end:
                    continue
                fnsku = self.inventory.catalog.listings[line.sku].fnsku
                done = line.disposed + line.shipped
                rows.append([_iso(order.created), order.order_id, order.order_type, order.status, _iso(line.updated),
                             line.sku, fnsku, _disposition(line.disposition), str(line.requested),
                             str(line.cancelled), str(line.disposed), str(line.shipped), str(line.in_process),
                             f"{float(order.fee_per_unit) * done:.2f}", order.currency])
        return rows

    def shipment_detail_rows(self, start: datetime, end: datetime) -> list[list[str]]:
        rows = []
        for s in sorted(self.shipments, key=lambda s: s.at):
            if not start <= s.at <= end:
                continue
            order = self.orders[s.order_id]
            rows.append([_iso(order.created), s.order_id, _iso(s.at), s.sku,
                         self.inventory.catalog.listings[s.sku].fnsku, _disposition(s.disposition), str(s.quantity),
                         s.carrier, s.tracking, order.order_type])
        return rows


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).replace(microsecond=0).isoformat()


def _disposition(ledger_disposition: str) -> str:
    return _REPORT_DISPOSITION.get(ledger_disposition, "Unsellable")
