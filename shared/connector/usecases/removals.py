"""FBA removal orders → Brightpearl: disposals reduce the FBA warehouse once; units shipped back become a
stock transfer FBA → removal warehouse per Amazon package, shipped at once (Amazon has shipped them) and
received when the operator confirms (``connector removals receive ORDER``) or a goods-in is seen in
Brightpearl. Emails when a removal arrives short. Rules in ``domain/removals.py``; docs/removals.md.

Never twice:
- report rows merge into the order's record (figures never lowered, shipment rows keyed by their natural
  key), so a re-read report, an overlapping window or a replayed run finds nothing new;
- a disposal sends ``disposed - already reduced``; a transfer is created under a reference looked up
  (upwards from the high-water mark saved before the create) when its answer is lost; releases and
  disposals save the figure they move before the write (``pending``) and a lost answer is settled by
  reading it again, never by writing twice (as inbound shipments do).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.domain.errors import NotFound, PortError, Refused, Throttled, UncertainWrite
from connector.domain.flatfile import HeaderError, LineTally
from connector.domain.messages import Column, Message, Table, product_label
from connector.domain.movements import Quarantine
from connector.domain.removals import (
    REPORT_TYPES,
    SELLABLE,
    OrderLine,
    Package,
    Removal,
    ShipmentLine,
    removal_items,
    short_lines,
    transfer_reference,
)
from connector.domain.settings import GlobalSettings
from connector.observability import MetricUnit, logger, metrics
from connector.usecases.ports import OnceMail, RemovalStore, Reports, Transfers

EVERY = timedelta(hours=4)  # Amazon refreshes the FBA removal reports a few times a day at most
OVERLAP = timedelta(days=3)  # rows re-issued late are read again; merging makes that harmless
FIRST_WINDOW = timedelta(days=30)
MAX_WINDOW = timedelta(days=30)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


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


class Removals:
    def __init__(self, reports: Reports, transfers: Transfers, store: RemovalStore,
                 settings: Callable[[], GlobalSettings], product_for: Callable[[str], int | None], mail: OnceMail, *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.reports = reports
        self.transfers = transfers
        self.store = store
        self.settings = settings
        self.product_for = product_for
        self.mail = mail
        self.clock = clock

    # ================================================================== the schedule
    def run(self) -> RunReport:
        out = RunReport()
        cfg = self.settings()
        for report_type in REPORT_TYPES:
            try:
                self._report(report_type, cfg, out)
            except Throttled as exc:
                logger.warning("removal report quota spent; the next run continues",
                               extra={"report_type": report_type, "error": str(exc)})
            except NotFound as exc:
                # The report is gone on Amazon's side (expired, or another account's id): ask again.
                cur = self.store.cursor(report_type)
                cur.update({"open": None, "error": f"report not found: {exc}", "last_requested_at": None})
                self.store.save_cursor(report_type, cur)
                out.failed.append({"report_type": report_type, "error": str(exc)})
            except HeaderError as exc:
                # The whole document is unusable (a column we need is missing): nothing guessed, the
                # window is asked for again on the next run, and the error is on the cursor.
                cur = self.store.cursor(report_type)
                cur.update({"open": None, "error": f"unusable report: {exc}", "last_requested_at": None})
                self.store.save_cursor(report_type, cur)
                out.failed.append({"report_type": report_type, "error": str(exc)})
            except Exception as exc:
                # Amazon down, a document host fault, a document cut short: this report type waits (its
                # report stays open and is read again next run; merged rows make that harmless), the
                # other type and the open removals go on. Logged as an error and counted.
                out.failed.append({"report_type": report_type, "error": f"{type(exc).__name__}: {exc}"})
                metrics.add_metric(name="RemovalReportFailed", unit=MetricUnit.Count, value=1)
                logger.error("removal report failed this run; the rest goes on",
                             extra={"report_type": report_type, "error": str(exc)})
        for removal in self.store.open():
            self.drive(removal, cfg, out)
        self._seen_in_brightpearl(cfg, out)
        return out

    def _report(self, report_type: str, cfg: GlobalSettings, out: RunReport) -> None:
        now = self.clock()
        cur = self.store.cursor(report_type)
        if cur.get("open"):
            rid = str(cur["open"])
            status = self.reports.get(rid)
            if status.status in ("IN_QUEUE", "IN_PROGRESS"):
                return
            if status.status == "DONE" and status.document_id:
                tally = self.apply_document(report_type, str(status.document_id), cfg, out)
                out.applied[rid] = tally.as_dict()
                cur.update({"data_end": cur.get("window_end"), "last": {"report_id": rid, **tally.as_dict()},
                            "error": None})
            elif status.status == "CANCELLED":  # Amazon's "no data in the window"
                cur["data_end"] = cur.get("window_end")
            else:  # FATAL: ask for the same window again
                cur["last_requested_at"] = None
            cur["open"] = None
            self.store.save_cursor(report_type, cur)
        last = cur.get("last_requested_at")
        if last and now - datetime.fromisoformat(last) < EVERY and not cur.get("behind"):
            return
        start = datetime.fromisoformat(cur["data_end"]) - OVERLAP if cur.get("data_end") else now - FIRST_WINDOW
        end = min(now, start + MAX_WINDOW)
        rid = self.reports.create(report_type, start, end, None)
        cur.update({"open": rid, "window_start": _iso(start), "window_end": _iso(end),
                    "last_requested_at": _iso(now), "behind": end < now})
        self.store.save_cursor(report_type, cur)
        out.requested.append(rid)

    # ================================================================== reading a report
    def apply_document(self, report_type: str, document_id: str, cfg: GlobalSettings,
                       out: RunReport | None = None) -> LineTally:
        with self.reports.open_document(document_id) as lines:
            return self.apply_lines(report_type, lines, cfg, out)

    def apply_lines(self, report_type: str, lines: Iterable[str], cfg: GlobalSettings,
                    out: RunReport | None = None) -> LineTally:
        """Merge a report's rows into the removals they name, drive those, account for every line."""
        out = out or RunReport()
        tally = LineTally()
        touched: dict[str, Removal] = {}
        waiting: list[OrderLine | ShipmentLine] = []  # lines whose outcome is known once the removal is driven
        for item in removal_items(report_type, lines, tally):
            if isinstance(item, Quarantine):
                tally.quarantine(item.line, item.reason)
                logger.warning("removal report line quarantined", extra={"report_type": report_type,
                                                                         "line": item.line, "why": item.reason})
                continue
            removal = touched.get(item.order_id) or self.store.get(item.order_id)
            if removal is None:
                removal = Removal(item.order_id, item.order_type if isinstance(item, OrderLine) else "Return")
            touched[item.order_id] = removal
            if isinstance(item, OrderLine):
                if removal.order_type != item.order_type:
                    tally.quarantine(item.line, f"order {item.order_id} is a {removal.order_type} order, the row "
                                                f"says {item.order_type}: not guessed")
                    continue
                removal.merge_order_line(item)
                if item.order_type != "Disposal":
                    tally.skip("return order row: its units move with the removal shipment report's rows")
                elif item.disposition != SELLABLE:
                    tally.skip("disposal of unsellable units: not in the mirrored sellable FBA stock")
                elif item.disposed == 0:
                    tally.skip("disposal row with nothing disposed yet (cancelled or in process)")
                elif removal.disposed_applied.get(item.sku, 0) >= item.disposed:
                    tally.skip("disposal already applied by an earlier read")
                else:
                    waiting.append(item)
            else:
                why = removal.merge_shipment(item)
                if why is not None:
                    tally.skip(why)
                else:
                    waiting.append(item)
        for removal in touched.values():
            self.store.save(removal)
            self.drive(removal, cfg, out)
        for item in waiting:
            removal = touched[item.order_id]
            if isinstance(item, OrderLine):
                if removal.disposed_applied.get(item.sku, 0) >= item.disposed:
                    tally.applied += 1
                else:
                    tally.wait(removal.errors.get(item.sku) or removal.errors.get("*") or "disposal waiting")
            else:
                pkg = removal.packages[item.package_id]
                if pkg.shipped_in_brightpearl:
                    tally.applied += 1
                else:
                    tally.wait(removal.errors.get(pkg.package_id) or removal.errors.get("*") or "transfer waiting")
        if not tally.balanced:
            logger.error("removal report lines not all accounted for", extra=tally.as_dict())
        metrics.add_metric(name="RemovalLinesQuarantined", unit=MetricUnit.Count, value=tally.quarantined)
        return tally

    # ================================================================== one removal
    def drive(self, removal: Removal, cfg: GlobalSettings, out: RunReport) -> None:
        """Move one removal on as far as it can go now; what waits is named on ``removal.errors``."""
        removal.errors = {}
        try:
            if removal.pending:
                self._settle(removal)
            self._products(removal)
            if cfg.fba_warehouse_id is None:
                removal.errors["*"] = "fba_warehouse_id is not set"
                return
            for sku, units in removal.disposals_due().items():
                self._dispose(removal, cfg, sku, units, out)
            for pkg in removal.packages.values():
                if not pkg.shipped_in_brightpearl:
                    self._transfer(removal, pkg, cfg, out)
        except (Throttled, UncertainWrite, PortError) as exc:
            # Brightpearl throttled, an outage, or an answer lost and not settled: the next run goes on.
            removal.errors.setdefault("*", f"will retry: {type(exc).__name__}: {exc}")
            logger.warning("removal waits for the next run", extra={"order": removal.order_id, "error": str(exc)})
        finally:
            self.store.save(removal)

    def _products(self, removal: Removal) -> None:
        missing = []
        for sku in sorted(removal.skus()):
            if sku not in removal.products:
                pid = self.product_for(sku)
                if pid is None:
                    missing.append(sku)
                else:
                    removal.products[sku] = pid
        for sku in missing:
            removal.errors[sku] = f"no Brightpearl product linked to Amazon SKU {sku}"
        # A package moves only with every SKU linked (one transfer per package); disposals per SKU.
        for pkg in removal.packages.values():
            gone = [s for s in pkg.units if s in missing]
            if gone:
                removal.errors[pkg.package_id] = f"no Brightpearl product linked to {', '.join(gone)}"

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
