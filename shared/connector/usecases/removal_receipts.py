"""A removal's receipt: the operator's ``receive`` (quarantine releases), goods-ins seen in Brightpearl,
and the short-arrival email (sent once). Part of :class:`connector.usecases.removals.Removals`;
docs/removals.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connector.domain.errors import PortError, UncertainWrite
from connector.domain.messages import Column, Message, Table, product_label
from connector.domain.removals import (
    Package,
    Removal,
    short_lines,
)
from connector.domain.settings import GlobalSettings
from connector.usecases.ports import OnceMail
from connector.usecases.removal_writes import CommandError, RemovalWrites, RunReport


class RemovalReceipts(RemovalWrites):
    """What arrived of a removal's shipped packages."""

    settings: Callable[[], GlobalSettings]
    mail: OnceMail

    # ------------------------------------------------------------------ receipts
    def receive(self, order_id: str, counts: dict[str, int] | None = None) -> dict[str, Any]:
        """The operator confirms what arrived of ``order_id``'s shipped packages (``counts``: SKU → units
        arrived, across the order's open packages, oldest first; None: everything shipped arrived).
        Releases the units from the removal warehouse's quarantine; mails what arrived short, once."""
        cfg = self.settings()
        removal = self.store.get(order_id)
        if removal is None:
            raise CommandError(f"removals receive: no removal order {order_id!r} known to the connector")
        if cfg.removal_warehouse_id is None:
            raise CommandError("removals receive: removal_warehouse_id is not set")
        open_pkgs = sorted((p for p in removal.packages.values() if p.shipped_in_brightpearl and not p.closed),
                           key=lambda p: (p.shipped_at, p.package_id))
        if not open_pkgs:
            raise CommandError(f"removals receive: removal {order_id} has no shipped package waiting for receipt")
        known = {s for p in open_pkgs for s in p.outstanding}
        unknown = sorted(set(counts or {}) - known)
        if unknown:
            raise CommandError(f"removals receive: SKU(s) {', '.join(unknown)} not waiting on removal {order_id} "
                               f"(waiting: {', '.join(sorted(known))})")
        if any(int(v) < 0 for v in (counts or {}).values()):
            raise CommandError("removals receive: a count cannot be negative")
        # Counts are what arrived in all: units an interrupted earlier ``receive`` already released for
        # these packages count towards them, so confirming again never releases twice.
        left = None if counts is None else {
            sku: int(n) - sum(p.received.get(sku, 0) for p in open_pkgs) for sku, n in counts.items()}
        out = RunReport()
        if removal.pending:
            self._settle(removal)
        for pkg in open_pkgs:
            for sku, outstanding in sorted(pkg.outstanding.items()):
                take = outstanding if left is None else max(0, min(outstanding, int(left.get(sku, 0))))
                if left is not None:
                    left[sku] = int(left.get(sku, 0)) - take
                if take > 0:
                    self._release(removal, pkg, cfg, sku, take, out)
            pkg.closed, pkg.received_by = True, "operator"
            self.store.save(removal)
            self._mail_short(removal, pkg, out)
        self.store.save(removal)
        return {**removal.summary(), "writes": out.writes, "emails": out.emails}

    def _release(self, removal: Removal, pkg: Package, cfg: GlobalSettings, sku: str, qty: int,
                 out: RunReport) -> None:
        assert cfg.removal_warehouse_id is not None
        pid, wid = removal.products[sku], cfg.removal_warehouse_id
        before = self.transfers.figures([pid], wid)[pid]
        removal.pending = {"kind": "release", "sku": sku, "product_id": pid, "quantity": qty, "warehouse_id": wid,
                           "before": before, "package": pkg.package_id}
        self.store.save(removal)
        try:
            self.transfers.release(wid, pid, qty)
        except UncertainWrite:
            self._settle(removal)
            if removal.pending is not None:
                raise
            return
        out.count("release")
        self._done(removal)

    def _seen_in_brightpearl(self, cfg: GlobalSettings, out: RunReport) -> None:
        """Units of shipped packages received in Brightpearl by someone else (a goods-in on the transfer):
        the removal warehouse's quarantine holds fewer than the open packages still wait for. Those units
        are recorded as received, oldest package first, and nothing is released for them."""
        wid = cfg.removal_warehouse_id
        if wid is None:
            return
        waits: list[tuple[str, str, Removal, Package, str, int]] = []
        removals = {r.order_id: r for r in self.store.open()}
        for r in removals.values():
            if r.pending:
                continue  # its figure is being moved by the connector itself
            for pkg in r.packages.values():
                if pkg.shipped_in_brightpearl and not pkg.closed:
                    for sku, q in pkg.outstanding.items():
                        waits.append((pkg.shipped_at, r.order_id, r, pkg, sku, q))
        if not waits:
            return
        pids = {r.products[sku] for _, _, r, _, sku, _ in waits}
        try:
            figures = self.transfers.figures(pids, wid)
        except PortError:
            return
        in_quarantine = {pid: int(f["inTransit"]) for pid, f in figures.items()}
        waiting_total: dict[int, int] = {}
        for _, _, r, _, sku, q in waits:
            waiting_total[r.products[sku]] = waiting_total.get(r.products[sku], 0) + q
        gone = {pid: max(0, total - in_quarantine.get(pid, 0)) for pid, total in waiting_total.items()}
        changed: dict[str, Removal] = {}
        for _, _, r, pkg, sku, q in sorted(waits, key=lambda w: (w[0], w[1], w[3].package_id, w[4])):
            pid = r.products[sku]
            take = min(q, gone.get(pid, 0))
            if take:
                gone[pid] -= take
                pkg.received[sku] = pkg.received.get(sku, 0) + take
                changed[r.order_id] = r
            if not pkg.outstanding and not pkg.closed:
                pkg.closed, pkg.received_by = True, "brightpearl goods-in"
                changed[r.order_id] = r
        for r in changed.values():
            self.store.save(r)

    # ------------------------------------------------------------------ email
    def _mail_short(self, removal: Removal, pkg: Package, out: RunReport) -> None:
        key = f"short:{pkg.package_id}"
        msg = short_arrival_message(removal, pkg)
        if msg is None or key in removal.mailed:
            return
        # Claimed before it is sent (usecases/send_once.py): a re-run after a crash here mails nothing twice.
        self.mail.send_once(f"removal#{key}", msg)
        removal.mailed.append(key)
        self.store.save(removal)
        out.emails += 1


def short_arrival_message(removal: Removal, pkg: Package) -> Message | None:
    """The email for a removal package that arrived short (None: it arrived in full)."""
    short = short_lines(pkg)
    if not short:
        return None
    rows = [(sku, product_label(removal.products.get(sku)), q, got, q - got) for sku, (q, got) in sorted(short.items())]
    units = sum(r[4] for r in rows)
    return Message(
        title=f"Removal {removal.order_id} arrived short: {units} unit(s) missing",
        summary=(f"Amazon shipped removal order {removal.order_id} (package {pkg.tracking or pkg.package_id}, "
                 f"{pkg.carrier or 'carrier unknown'}, shipped {pkg.shipped_at}); fewer units arrived than "
                 f"Brightpearl transfer {pkg.transfer_id} carried."),
        meaning=("The missing units stay in the removal warehouse's quarantine (in transit) in Brightpearl: "
                 "they are neither on hand there nor back in the FBA warehouse."),
        todo=("Check the parcel and the carrier's tracking; open a case with Amazon for units that never "
              "arrived (Seller Central, the removal order), then write the missing units off in Brightpearl, "
              "or receive them there if they turn up."),
        facts=(("Removal order", removal.order_id), ("Package", pkg.tracking or pkg.package_id),
               ("Brightpearl transfer", str(pkg.transfer_id))),
        tables=(Table.of("Arrived short", ["Amazon SKU", "Brightpearl product", Column("Shipped", numeric=True),
                                           Column("Arrived", numeric=True), Column("Short", numeric=True)], rows),),
        cli=f"connector --stack {{stack}} removals show {removal.order_id}", cli_doc="removals")
