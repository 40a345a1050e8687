"""A removal's Brightpearl writes: disposals, the FBA → removal warehouse transfer per package, and the
settling of a pending write whose answer was lost (by reading the figure it moves again, never by writing
twice). Part of :class:`connector.usecases.removals.Removals`; docs/removals.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connector.domain.errors import Refused, UncertainWrite
from connector.domain.removals import (
    Package,
    Removal,
    transfer_reference,
)
from connector.domain.settings import GlobalSettings
from connector.observability import logger
from connector.usecases.ports import RemovalStore, Transfers


class CommandError(ValueError):
    """The operator's command names something that does not exist, or cannot be done (said why)."""


@dataclass
class RunReport:
    requested: list[str] = field(default_factory=list)
    applied: dict[str, dict[str, Any]] = field(default_factory=dict)  # report id → its line tally
    writes: dict[str, int] = field(default_factory=dict)
    emails: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)

    def count(self, what: str) -> None:
        self.writes[what] = self.writes.get(what, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return {"requested": self.requested, "applied": self.applied, "writes": self.writes,
                "emails": self.emails, "failed": self.failed}


class RemovalWrites:
    """Disposals and transfers, each write saved as ``pending`` before it is sent."""

    transfers: Transfers
    store: RemovalStore
    clock: Callable[[], datetime]

    # ------------------------------------------------------------------ disposals
    def _dispose(self, removal: Removal, cfg: GlobalSettings, sku: str, units: int, out: RunReport) -> None:
        assert cfg.fba_warehouse_id is not None
        pid = removal.products.get(sku)
        if pid is None:
            return
        wid = cfg.fba_warehouse_id
        before = self.transfers.figures([pid], wid)[pid]
        # Never below zero (Brightpearl refuses it): what the FBA warehouse lacks was never there to reduce.
        qty = min(units, max(0, int(before["onHand"])))
        if qty < units:
            removal.errors[sku] = (f"{units - qty} disposed unit(s) of {sku} not in the Brightpearl FBA warehouse: "
                                   "reduced what there was")
        if qty == 0:
            removal.disposed_applied[sku] = removal.disposed_applied.get(sku, 0) + units
            return
        removal.pending = {"kind": "dispose", "sku": sku, "product_id": pid, "quantity": qty, "units": units,
                           "warehouse_id": wid, "before": before}
        self.store.save(removal)
        try:
            self.transfers.remove_stock(wid, pid, qty, reason=f"Amazon removal order {removal.order_id}: "
                                                              f"{qty} unit(s) disposed of by Amazon (connector)")
        except UncertainWrite:
            self._settle(removal)
            if removal.pending is not None:
                raise
            return
        except Refused as exc:
            removal.pending = None
            removal.errors[sku] = f"Brightpearl refused the disposal of {qty} x {sku}: {exc}"
            return
        out.count("disposal")
        self._done(removal)

    # ------------------------------------------------------------------ transfers (return removals)
    def _transfer(self, removal: Removal, pkg: Package, cfg: GlobalSettings, out: RunReport) -> None:
        assert cfg.fba_warehouse_id is not None
        if pkg.package_id in removal.errors:
            return
        target = cfg.removal_warehouse_id
        if target is None:
            removal.errors[pkg.package_id] = "removal_warehouse_id is not set: the shipped units wait"
            return
        source = cfg.fba_warehouse_id
        if target == source:
            removal.errors[pkg.package_id] = "removal_warehouse_id is the FBA warehouse: set another warehouse"
            return
        ref = transfer_reference(removal.order_id, pkg)
        if pkg.transfer_id is None:
            existing = None
            if pkg.transfer_attempted:
                existing = self.transfers.find_transfer(ref, above=int(pkg.transfer_hwm or 0))
            else:
                # Before the create: the high-water mark a lost answer is looked up from, and the plan.
                pids = {removal.products[s] for s in pkg.units}
                on_hand = {p: int(f["onHand"]) for p, f in self.transfers.figures(pids, source).items()}
                for sku, q in sorted(pkg.units.items()):
                    pid = removal.products[sku]
                    take = min(q, max(0, on_hand.get(pid, 0)))
                    on_hand[pid] = on_hand.get(pid, 0) - take
                    pkg.transferred[sku] = take
                    if take < q:
                        pkg.not_in_brightpearl[sku] = q - take
                pkg.transfer_hwm = self.transfers.highest_transfer_id(0)
                pkg.transfer_attempted = True
                self.store.save(removal)
            if existing is None:
                if not any(pkg.transferred.values()):
                    pkg.shipped_in_brightpearl = pkg.closed = True  # nothing in Brightpearl to move
                    return
                try:
                    pkg.transfer_id = self.transfers.create_transfer(source, target, ref)
                    out.count("stock-transfer")
                except (UncertainWrite, Refused) as exc:
                    existing = self.transfers.find_transfer(ref, above=int(pkg.transfer_hwm or 0))
                    if existing is None:
                        raise UncertainWrite(f"stock transfer {ref} not confirmed: {exc}") from exc
            if existing is not None:
                pkg.transfer_id = existing.transfer_id
                pkg.note_id = existing.goods_out_note_id or None
            self.store.save(removal)
        assert pkg.transfer_id is not None
        if pkg.note_id is None:
            current = self.transfers.transfer(int(pkg.transfer_id))
            if current is not None and current.goods_out_note_id:
                pkg.note_id = current.goods_out_note_id
            else:
                quantities: dict[int, int] = {}
                for sku, q in pkg.transferred.items():
                    if q > 0:
                        pid = removal.products[sku]
                        quantities[pid] = quantities.get(pid, 0) + q
                try:
                    pkg.note_id = self.transfers.create_goods_out(source, target, int(pkg.transfer_id), quantities,
                                                                  shipping_method_id=cfg.shipping_method_id,
                                                                  release_date=self.clock())
                    out.count("external-transfer")
                except UncertainWrite as exc:
                    current = self.transfers.transfer(int(pkg.transfer_id))
                    if current is None or not current.goods_out_note_id:
                        raise UncertainWrite(f"goods-out note of transfer {pkg.transfer_id} not confirmed: "
                                             f"{exc}") from exc
                    pkg.note_id = current.goods_out_note_id
            self.store.save(removal)
        note = self.transfers.goods_out(int(pkg.note_id))
        if note is None:
            raise Refused(f"goods-out note {pkg.note_id} of removal {removal.order_id} not found in Brightpearl")
        if not note.shipped:
            try:
                self.transfers.ship(int(pkg.note_id), version=note.version, staff_id=cfg.staff_contact_id,
                                    at=self.clock())
                out.count("goods-out-shipped")
            except (UncertainWrite, Refused) as exc:
                again = self.transfers.goods_out(int(pkg.note_id))
                if again is None or not again.shipped:
                    raise UncertainWrite(f"goods-out note {pkg.note_id} not shipped: {exc}") from exc
        pkg.shipped_in_brightpearl = True


    def _settle(self, removal: Removal) -> None:
        """Did the pending write land? Compare the figure it moves with the one saved before it."""
        p = removal.pending
        if not p:
            return
        pid, qty, before = int(p["product_id"]), int(p["quantity"]), p["before"]
        now = self.transfers.figures([pid], int(p["warehouse_id"]))[pid]
        if p["kind"] == "release":
            landed = int(now["inTransit"]) <= int(before["inTransit"]) - qty
        else:  # dispose: inStock (onHand + allocated) so FBA orders allocated meanwhile do not hide it
            landed = int(now.get("inStock", now["onHand"])) <= int(before.get("inStock", before["onHand"])) - qty
        logger.warning("settled an unconfirmed removal write", extra={"order": removal.order_id, "pending": p,
                                                                      "landed": landed, "now": now})
        if landed:
            self._done(removal)
        else:
            removal.pending = None
            self.store.save(removal)

    def _done(self, removal: Removal) -> None:
        p = removal.pending or {}
        sku = str(p.get("sku"))
        if p.get("kind") == "dispose":
            removal.disposed_applied[sku] = removal.disposed_applied.get(sku, 0) + int(p.get("units", p["quantity"]))
        elif p.get("kind") == "release":
            pkg = removal.packages[str(p["package"])]
            pkg.received[sku] = pkg.received.get(sku, 0) + int(p["quantity"])
        removal.pending = None
        self.store.save(removal)
