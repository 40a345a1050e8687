"""FBA removal orders (pure): Amazon's removal order and removal shipment reports → what Brightpearl must see.

Two reports (columns as Seller Central documents them, see docs/removals.md):

- ``GET_FBA_FULFILLMENT_REMOVAL_ORDER_DETAIL_DATA``: one row per order and SKU (and disposition) with
  the order's figures so far (requested, cancelled, disposed, shipped, in process). The row of an order
  is re-issued with new figures as the order progresses, so figures are *merged*: never lower than an
  earlier read (an older report read late cannot undo what a newer one said).
- ``GET_FBA_FULFILLMENT_REMOVAL_SHIPMENT_DETAIL_DATA``: one row per SKU per package Amazon shipped back
  (carrier, tracking number, shipment date): several per order when it ships in parts.

Who owns which unit (one owner each, the other skips with a reason):

- sellable units **disposed** by a removal order: this module, from the order detail's ``disposed-quantity``
  (the delta over what was already reduced, so a re-read reduces nothing);
- sellable units **shipped back**: this module, from the shipment rows, as a Brightpearl transfer FBA →
  removal warehouse per Amazon package;
- unsellable units (either way): nobody, as in the ledger: the FBA warehouse mirrors sellable units only;
- the ledger's ``VendorReturns`` rows (the same removals seen from the ledger): skipped by the ledger;
- the ledger's ``Adjustments`` D/G rows (Amazon's own disposals, no removal order): the ledger's.
- cancelled units (Amazon could not find them, or the order was cancelled): nothing moves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

from connector.domain.flatfile import MAX_ROW_UNITS, Columns, LineTally, Rows, cell, parse_int, read_items
from connector.domain.movements import OccurrenceCounter, Quarantine, natural_key

ORDER_DETAIL = "GET_FBA_FULFILLMENT_REMOVAL_ORDER_DETAIL_DATA"
SHIPMENT_DETAIL = "GET_FBA_FULFILLMENT_REMOVAL_SHIPMENT_DETAIL_DATA"
REPORT_TYPES = (ORDER_DETAIL, SHIPMENT_DETAIL)
SELLABLE = "SELLABLE"
RETURN, DISPOSAL = "Return", "Disposal"
ORDER_TYPES = {"return": RETURN, "disposal": DISPOSAL}
FIGURES = ("requested", "cancelled", "disposed", "shipped", "in_process")
# Amazon's order statuses that mean "nothing more will happen" (Seller Central: In Process, Cancelled, Completed).
FINAL_STATUSES = {"completed", "cancelled"}


@dataclass(frozen=True)
class OrderLine:
    """One row of the removal order detail report."""

    line: int
    order_id: str
    order_type: str  # RETURN / DISPOSAL
    status: str
    sku: str
    disposition: str  # upper case: SELLABLE, UNSELLABLE, …
    requested: int
    cancelled: int
    disposed: int
    shipped: int
    in_process: int
    requested_at: str = ""


@dataclass(frozen=True)
class ShipmentLine:
    """One row of the removal shipment detail report: units of one SKU in one package Amazon shipped."""

    line: int
    key: str  # natural key of the row (no quantity: an amended row is the same row)
    order_id: str
    sku: str
    disposition: str
    quantity: int
    shipped_at: str
    carrier: str
    tracking: str
    order_type: str = ""

    @property
    def package_id(self) -> str:
        """The Amazon package the row belongs to: its tracking number, else carrier and shipment date."""
        return package_id(self.order_id, self.tracking or f"{self.carrier}@{self.shipped_at}")


def package_id(order_id: str, package: str) -> str:
    return hashlib.sha256(natural_key(order_id, package).encode("utf-8")).hexdigest()[:10].upper()


Item = OrderLine | ShipmentLine | Quarantine


# ---------------------------------------------------------------------------------------------- parsing

def _quantity(row: list[str], pos: int | None, name: str, *, required: bool) -> int | str:
    """The cell as units, or the reason it is unusable (a str)."""
    text = cell(row, pos)
    if not text:
        return f"no {name}" if required else 0
    q = parse_int(text)
    if q is None:
        return f"{name} {text!r} is not an integer"
    if q < 0:
        return f"{name} {q} is negative"
    if q > MAX_ROW_UNITS:
        return f"{name} {q} is beyond any plausible row ({MAX_ROW_UNITS})"
    return q


def removal_items(report_type: str, lines: Iterable[str], tally: LineTally | None = None) -> Iterator[Item]:
    """The rows of one removal report, each an item or a quarantine with its line number, in file order.

    A header lacking a needed column raises :class:`HeaderError` (nothing is guessed); an empty document
    yields nothing. Blank lines are counted as skipped on ``tally``.
    """

    def parse(columns: Columns, rows: Rows) -> Iterator[Item]:
        parser = _PARSERS.get(report_type)
        if parser is None:
            raise ValueError(f"report type {report_type} is not a removal report")
        return parser(columns, rows)

    return read_items(lines, parse, partial(Quarantine, report_type), tally=tally)


def _each_row(report_type: str, rows: Rows, c_order: int, c_sku: int,
              parse: Callable[[int, list[str], str, str, str], Item]) -> Iterator[Item]:
    """Each row that names its order and SKU as ``parse(line, row, raw, sku, order)`` reads it; a row lacking
    either is quarantined naming the missing one."""
    for line, row in rows:
        raw, sku, order = "\t".join(row), cell(row, c_sku), cell(row, c_order)
        if not order:
            yield Quarantine(report_type, line, "no order-id", raw, sku)
        elif not sku:
            yield Quarantine(report_type, line, "no sku", raw)
        else:
            yield parse(line, row, raw, sku, order)


def _order_rows(columns: Columns, rows: Rows) -> Iterator[Item]:
    c_order, c_sku = columns.require("order-id"), columns.require("sku")
    c_type, c_status = columns.require("order-type"), columns.index("order-status")
    c_disp, c_date = columns.index("disposition"), columns.index("request-date")
    pos = {"requested": columns.require("requested-quantity"), "cancelled": columns.require("cancelled-quantity"),
           "disposed": columns.require("disposed-quantity"), "shipped": columns.require("shipped-quantity"),
           "in_process": columns.index("in-process-quantity")}

    def order_line(line: int, row: list[str], raw: str, sku: str, order: str) -> OrderLine | Quarantine:
        kind = ORDER_TYPES.get(cell(row, c_type).lower())
        if kind is None:
            return Quarantine(ORDER_DETAIL, line, f"unknown order-type {cell(row, c_type)!r}: not guessed", raw, sku)
        figures: dict[str, int] = {}
        for name, p in pos.items():
            q = _quantity(row, p, name.replace("_", "-") + "-quantity", required=name == "requested")
            if isinstance(q, str):
                return Quarantine(ORDER_DETAIL, line, q, raw, sku)
            figures[name] = q
        problem = None
        if sum(figures[n] for n in FIGURES[1:]) > figures["requested"]:
            problem = (f"cancelled + disposed + shipped + in process ({sum(figures[n] for n in FIGURES[1:])}) "
                       f"exceed requested-quantity {figures['requested']}")
        elif kind == RETURN and figures["disposed"]:
            problem = f"a Return order with disposed-quantity {figures['disposed']}: not guessed"
        elif kind == DISPOSAL and figures["shipped"]:
            problem = f"a Disposal order with shipped-quantity {figures['shipped']}: not guessed"
        if problem is not None:
            return Quarantine(ORDER_DETAIL, line, problem, raw, sku)
        return OrderLine(line, order, kind, cell(row, c_status), sku, cell(row, c_disp).upper() or SELLABLE,
                         requested_at=cell(row, c_date), **figures)

    return _each_row(ORDER_DETAIL, rows, c_order, c_sku, order_line)


def _shipment_rows(columns: Columns, rows: Rows) -> Iterator[Item]:
    c_order, c_sku = columns.require("order-id"), columns.require("sku")
    c_qty = columns.require("shipped-quantity", "quantity shipped", "quantity-shipped")
    c_date = columns.require("shipment-date")
    c_disp, c_carrier = columns.index("disposition"), columns.index("carrier")
    c_tracking, c_type = columns.index("tracking-number"), columns.index("removal-order-type")
    counter = OccurrenceCounter()

    def shipment_line(line: int, row: list[str], raw: str, sku: str, order: str) -> ShipmentLine | Quarantine:
        when = cell(row, c_date)
        if not when:
            return Quarantine(SHIPMENT_DETAIL, line, "no shipment-date", raw, sku)
        q = _quantity(row, c_qty, "shipped-quantity", required=True)
        if isinstance(q, str) or q == 0:
            return Quarantine(SHIPMENT_DETAIL, line, q if isinstance(q, str) else "shipped-quantity 0: a shipment "
                              "row ships units", raw, sku)
        kind = cell(row, c_type)
        if kind and kind.lower() != "return":
            return Quarantine(SHIPMENT_DETAIL, line, f"removal-order-type {kind!r} on a shipment: not guessed", raw,
                              sku)
        disposition, carrier, tracking = cell(row, c_disp).upper() or SELLABLE, cell(row, c_carrier), \
            cell(row, c_tracking)
        key = counter.key(natural_key("removal-shipment", order, sku, disposition, when, carrier, tracking))
        return ShipmentLine(line, key, order, sku, disposition, q, when, carrier, tracking, kind)

    return _each_row(SHIPMENT_DETAIL, rows, c_order, c_sku, shipment_line)


_PARSERS: dict[str, Callable[[Columns, Rows], Iterator[Item]]] = {ORDER_DETAIL: _order_rows,
                                                                   SHIPMENT_DETAIL: _shipment_rows}


# ---------------------------------------------------------------------------------------------- the aggregate

@dataclass
class Package:
    """One Amazon removal package (tracking number) → one Brightpearl stock transfer FBA → removal warehouse."""

    package_id: str
    shipped_at: str
    carrier: str = ""
    tracking: str = ""
    units: dict[str, int] = field(default_factory=dict)  # sellable units per SKU Amazon shipped
    transferred: dict[str, int] = field(default_factory=dict)  # units the transfer carries per SKU
    received: dict[str, int] = field(default_factory=dict)  # per SKU, released from the removal quarantine
    not_in_brightpearl: dict[str, int] = field(default_factory=dict)  # shipped, but the FBA warehouse had less
    transfer_id: int | None = None
    note_id: int | None = None
    transfer_hwm: int | None = None
    transfer_attempted: bool = False
    shipped_in_brightpearl: bool = False
    closed: bool = False  # receipt done (operator confirmed, or received in full in Brightpearl)
    received_by: str = ""

    @property
    def outstanding(self) -> dict[str, int]:
        return {sku: q - self.received.get(sku, 0) for sku, q in self.transferred.items()
                if q - self.received.get(sku, 0) > 0}


@dataclass
class Removal:
    """One removal order as the connector knows it (``removal#<order-id>`` in the settings table)."""

    order_id: str
    order_type: str
    status: str = ""
    requested_at: str = ""
    # "<DISPOSITION>|<sku>" → merged figures (each never lower than an earlier read)
    figures: dict[str, dict[str, int]] = field(default_factory=dict)
    shipment_rows: dict[str, list[Any]] = field(default_factory=dict)  # row key → [package, sku, disposition, qty]
    packages: dict[str, Package] = field(default_factory=dict)
    disposed_applied: dict[str, int] = field(default_factory=dict)  # sku → units reduced in Brightpearl
    products: dict[str, int] = field(default_factory=dict)  # sku → Brightpearl product
    pending: dict[str, Any] | None = None  # a write whose answer may be lost (see usecases/removals.py)
    mailed: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # what waits, by sku or package, and why

    # --------------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Removal:
        d = dict(data)
        d["packages"] = {k: Package(**v) for k, v in (d.get("packages") or {}).items()}
        known = set(cls.__dataclass_fields__)
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"removal {d.get('order_id')!r}: unknown field(s) {sorted(unknown)}")
        return cls(**d)

    # --------------------------------------------------------------- merging report rows
    def merge_order_line(self, ln: OrderLine) -> bool:
        """Take the row's figures (never lowering one); True if anything changed."""
        key = f"{ln.disposition}|{ln.sku}"
        old = self.figures.get(key, {})
        new = {n: max(int(old.get(n, 0)), int(getattr(ln, n))) for n in FIGURES}
        # In process is what is left: derived from the merged figures, so an older row read late cannot
        # bring back units a newer row showed done.
        new["in_process"] = max(0, new["requested"] - sum(new[n] for n in ("cancelled", "disposed", "shipped")))
        changed = new != old or (ln.status and ln.status != self.status)
        self.figures[key] = new
        # A final status stays final (an older report read late says "Pending" of a completed order).
        if ln.status and self.status.lower() not in FINAL_STATUSES:
            self.status = ln.status
        if ln.requested_at and not self.requested_at:
            self.requested_at = ln.requested_at
        return bool(changed)

    def merge_shipment(self, ln: ShipmentLine) -> str | None:
        """Record the row on its package; None when recorded, else why nothing changed."""
        seen = self.shipment_rows.get(ln.key)
        if seen is not None and int(seen[3]) == ln.quantity:
            return "shipment row already recorded by an earlier read"
        if ln.disposition != SELLABLE:
            self.shipment_rows[ln.key] = [ln.package_id, ln.sku, ln.disposition, ln.quantity]
            return (f"{ln.disposition} units shipped back: not transferred (unsellable units were never in the "
                    "mirrored FBA stock)")
        pkg = self.packages.get(ln.package_id)
        if pkg is None:
            pkg = self.packages[ln.package_id] = Package(ln.package_id, ln.shipped_at, ln.carrier, ln.tracking)
        if pkg.transfer_attempted:
            return (f"package {ln.tracking or pkg.package_id} already has its Brightpearl transfer: an amended "
                    f"or late row ({ln.quantity} x {ln.sku}) is not applied; check the transfer by hand")
        before = int(seen[3]) if seen is not None else 0
        pkg.units[ln.sku] = pkg.units.get(ln.sku, 0) - before + ln.quantity
        self.shipment_rows[ln.key] = [ln.package_id, ln.sku, ln.disposition, ln.quantity]
        return None

    # --------------------------------------------------------------- rules
    def disposals_due(self) -> dict[str, int]:
        """Sellable units disposed by Amazon not yet reduced in Brightpearl, per SKU (never negative)."""
        out: dict[str, int] = {}
        if self.order_type != DISPOSAL:
            return out
        for key, f in self.figures.items():
            disposition, sku = key.split("|", 1)
            if disposition != SELLABLE:
                continue
            due = int(f.get("disposed", 0)) - self.disposed_applied.get(sku, 0)
            if due > 0:
                out[sku] = out.get(sku, 0) + due
        return out

    def skus(self) -> set[str]:
        out = {k.split("|", 1)[1] for k in self.figures}
        for p in self.packages.values():
            out |= set(p.units)
        return out

    @property
    def finished(self) -> bool:
        """Nothing more will happen: Amazon's order is final, disposals applied, every package received."""
        return (self.status.lower() in FINAL_STATUSES and not self.disposals_due() and self.pending is None
                and all(p.closed for p in self.packages.values()))

    def summary(self) -> dict[str, Any]:
        return {"order_id": self.order_id, "order_type": self.order_type, "status": self.status,
                "figures": self.figures, "disposed_applied": self.disposed_applied,
                "packages": [{"package": p.package_id, "tracking": p.tracking, "carrier": p.carrier,
                              "shipped_at": p.shipped_at, "units": p.units, "transferred": p.transferred,
                              "received": p.received, "not_in_brightpearl": p.not_in_brightpearl,
                              "transfer_id": p.transfer_id, "shipped_in_brightpearl": p.shipped_in_brightpearl,
                              "closed": p.closed, "received_by": p.received_by} for p in self.packages.values()],
                "pending": self.pending, "errors": self.errors, "finished": self.finished}


def transfer_reference(order_id: str, pkg: Package) -> str:
    """The Brightpearl stock transfer's reference: the order and the package (unique per Amazon package)."""
    return f"AMZ-RMV-{order_id}-{pkg.package_id}"[:64]


def short_lines(pkg: Package) -> dict[str, tuple[int, int]]:
    """SKU → (transferred, received) where fewer units arrived than the transfer carried."""
    return {sku: (q, pkg.received.get(sku, 0)) for sku, q in pkg.transferred.items() if pkg.received.get(sku, 0) < q}
