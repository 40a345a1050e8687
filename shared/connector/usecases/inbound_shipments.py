"""FBA inbound shipments → Brightpearl warehouse transfers, released as Amazon receives (issue 5).

One run (every 30 minutes): read Amazon's shipments, then for each one bring Brightpearl in step,
one idempotent step at a time, saving the shipment record after each step. A run that dies anywhere
is resumed by the next: every step first looks at what Brightpearl (or the record) already has.
See docs/inbound-shipments.md for the lifecycle, settings and rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from connector.adapters.amazon.inbound import AmazonItem, AmazonShipment, LedgerDocument, LedgerReceipt, window
from connector.adapters.brightpearl.client import (
    BrightpearlNotFound,
    BrightpearlUncertainWrite,
    BrightpearlValidationError,
)
from connector.adapters.brightpearl.transfers import GoodsOutNote, Transfer
from connector.adapters.email import Email
from connector.adapters.repositories import GlobalSettings
from connector.adapters.store import InboundShipment, ShipmentSku
from connector.domain.inbound import (
    CANCELLED_STATUSES,
    FINAL_STATUSES,
    LEDGER_REPORTS_KEPT,
    OPEN_STATUSES,
    SHIPPED_RANK,
    EmailEvent,
    Line,
    ShipmentView,
    corrections_due,
    emails_due,
    held_email_due,
    merge_status,
    plan_transfer,
    rank,
    reconcile_received,
    releases_due,
    render_email,
    update_lines,
    with_note,
)
from connector.emails.design import Message
from connector.observability import MetricUnit, logger, metrics

LOOKBACK = timedelta(days=2)  # the LastUpdated window re-read every run (shipments we know are read by id)


def transfer_reference(shipment_id: str) -> str:
    return f"AMZ-IN-{shipment_id}"


# ------------------------------------------------------------------------------ ports
class InboundSource(Protocol):
    def by_status(self, statuses: Iterable[str]) -> list[AmazonShipment]: ...
    def updated_between(self, after: datetime, before: datetime) -> list[AmazonShipment]: ...
    def by_ids(self, shipment_ids: Iterable[str]) -> list[AmazonShipment]: ...
    def items(self, shipment_id: str) -> list[AmazonItem]: ...
    def from_plans(self, *, updated_since: datetime, known_plans: dict[str, str]) -> list[AmazonShipment]: ...
    def items_2024(self, plan_id: str, plan_shipment_id: str) -> list[AmazonItem]: ...
    def latest_ledger(self) -> LedgerDocument | None: ...
    def ledger_receipts(self, document: LedgerDocument, shipment_ids: Iterable[str]) -> list[LedgerReceipt]: ...


class TransferGateway(Protocol):
    def create_transfer(self, source_id: int, target_id: int, reference: str) -> int: ...
    def transfer(self, transfer_id: int) -> Transfer | None: ...
    def highest_transfer_id(self, hint: int = 0) -> int: ...
    def find_transfer(self, reference: str, *, above: int) -> Transfer | None: ...
    def create_goods_out(self, source_id: int, target_id: int, transfer_id: int, quantities: Mapping[int, int], *,
                         shipping_method_id: int | None, release_date: datetime) -> int: ...
    def goods_out(self, note_id: int) -> GoodsOutNote | None: ...
    def ship(self, note_id: int, *, version: int, staff_id: int, at: datetime) -> None: ...
    def release(self, warehouse_id: int, product_id: int, quantity: int) -> None: ...
    def delete_goods_out(self, note_id: int) -> None: ...
    def undo_steps(self, note_id: int, steps: Iterable[str], *, version: int, staff_id: int, at: datetime) -> None: ...
    def remove_stock(self, warehouse_id: int, product_id: int, quantity: int, *, reason: str) -> int: ...
    def add_stock(self, warehouse_id: int, product_id: int, quantity: int, *, reason: str,
                  cost: Mapping[str, Any]) -> int: ...
    def figures(self, product_ids: Iterable[int], warehouse_id: int) -> dict[int, dict[str, int]]: ...


class Records(Protocol):
    def get(self, shipment_id: str) -> InboundShipment | None: ...
    def new(self, shipment_id: str, status: str) -> InboundShipment: ...
    def save(self, record: InboundShipment) -> None: ...
    def open(self) -> list[InboundShipment]: ...
    def max_transfer_id(self) -> int: ...


class Mail(Protocol):
    def send(self, email: Email | Message) -> str: ...


class NotConfigured(RuntimeError):
    pass


class Unconfirmed(RuntimeError):
    """A Brightpearl write got no answer and a read-back could not confirm it: the next run resolves it."""


class RunIncomplete(RuntimeError):
    """Some shipments failed this run (each is retried next run); raised so the error alarm sees it."""


@dataclass
class RunReport:
    seen: int = 0
    processed: int = 0
    skipped_final: int = 0
    failed: list[str] = field(default_factory=list)
    writes: dict[str, int] = field(default_factory=dict)
    emails: int = 0

    def count(self, what: str, n: int = 1) -> None:
        self.writes[what] = self.writes.get(what, 0) + n


# ------------------------------------------------------------------------------ record <-> rules
def lines_of(record: InboundShipment) -> list[Line]:
    return [Line(sku=s.sku, product_id=None if s.product_id is None else int(s.product_id),
                 expected=int(s.expected), transferred=int(s.transferred), short=int(s.short),
                 received=int(s.received), released=int(s.released), corrected=int(s.corrected),
                 source=str(s.source or ""))
            for s in record.skus]


def store_lines(record: InboundShipment, lines: Sequence[Line]) -> None:
    record.skus = [ShipmentSku(sku=ln.sku, product_id=ln.product_id, expected=ln.expected,
                               transferred=ln.transferred, short=ln.short, received=ln.received,
                               released=ln.released, corrected=ln.corrected, source=ln.source or None)
                   for ln in lines]


def view_of(record: InboundShipment) -> ShipmentView:
    return ShipmentView(record.shipment_id, record.name or "", record.status,
                        None if record.stock_transfer_id is None else int(record.stock_transfer_id),
                        tuple(lines_of(record)))


def _set_line(record: InboundShipment, sku: str, **changes: int) -> None:
    for s in record.skus:
        if s.sku == sku:
            for k, v in changes.items():
                setattr(s, k, v)
            return
    raise KeyError(sku)


# ------------------------------------------------------------------------------ the use case
class InboundShipments:
    def __init__(self, *, amazon: InboundSource, transfers: TransferGateway, records: Records,
                 settings: Callable[[], GlobalSettings], product_for: Callable[[str], int | None], mail: Mail,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC), use_2024_plans: bool = True) -> None:
        self.amazon = amazon
        self.transfers = transfers
        self.records = records
        self.settings = settings
        self.product_for = product_for
        self.mail = mail
        self.now = now
        self.use_2024_plans = use_2024_plans

    # ------------------------------------------------------------------ run
    def run(self) -> RunReport:
        cfg = self.settings()
        if cfg.fba_warehouse_id is None or cfg.inbound_source_warehouse_id is None:
            raise NotConfigured("settings fba_warehouse_id and inbound_source_warehouse_id are required "
                                "for inbound shipments")
        report = RunReport()
        open_records = {r.shipment_id: r for r in self.records.open()}
        # Unconfirmed releases/corrections are settled before this run writes anything, so no new
        # movement of the same figures can be mistaken for them.
        for record in open_records.values():
            if record.pending:
                try:
                    self._settle_pending(record, cfg)
                except Exception:
                    logger.exception("could not settle a pending write", extra={"shipment": record.shipment_id})
                    report.failed.append(record.shipment_id)

        shipments = self._poll(open_records)
        report.seen = len(shipments)
        self._fold_ledger(open_records, {s.shipment_id: s.status.upper() for s in shipments})
        for shipment in shipments:
            if shipment.shipment_id in report.failed:
                continue
            known = open_records.get(shipment.shipment_id) or self.records.get(shipment.shipment_id)
            try:
                if self._process(known, shipment, cfg, report):
                    report.processed += 1
            except Exception:
                logger.exception("inbound shipment failed; the next run resumes it",
                                 extra={"shipment": shipment.shipment_id})
                report.failed.append(shipment.shipment_id)
        metrics.add_metric(name="InboundShipmentsProcessed", unit=MetricUnit.Count, value=report.processed)
        if report.failed:
            metrics.add_metric(name="InboundShipmentFailures", unit=MetricUnit.Count, value=len(report.failed))
        logger.info("inbound shipments run", extra={"report": report.__dict__})
        if report.failed:
            raise RunIncomplete(f"inbound shipments failed this run: {', '.join(sorted(report.failed))}")
        return report

    def _poll(self, open_records: Mapping[str, InboundShipment]) -> list[AmazonShipment]:
        """Open shipments, those updated lately, those we track, and 2024-03-20 plans' shipments (by v0 id)."""
        now = self.now()
        found: dict[str, AmazonShipment] = {}
        for s in self.amazon.by_status(OPEN_STATUSES):
            found[s.shipment_id] = s
        for s in self.amazon.updated_between(*window(now, LOOKBACK)):
            found.setdefault(s.shipment_id, s)
        missing = [sid for sid in open_records if sid not in found]
        if missing:
            for s in self.amazon.by_ids(missing):
                found.setdefault(s.shipment_id, s)
        plan_ids: dict[str, AmazonShipment] = {}
        if self.use_2024_plans:
            known = {r.plan_id: r.shipment_id for r in open_records.values() if r.plan_id}
            for s in self.amazon.from_plans(updated_since=now - LOOKBACK, known_plans=known):
                plan_ids[s.shipment_id] = s
                if s.shipment_id not in found:
                    found[s.shipment_id] = s  # only on the 2024-03-20 side so far
        out = []
        for sid, s in found.items():
            if sid in plan_ids and not s.plan_id:
                p = plan_ids[sid]
                s = AmazonShipment(s.shipment_id, s.name, s.status, s.fc, p.plan_id, p.plan_shipment_id)
            out.append(s)
        return sorted(out, key=lambda s: s.shipment_id)

    # ------------------------------------------------------------------ one shipment
    def _process(self, record: InboundShipment | None, shipment: AmazonShipment, cfg: GlobalSettings,
                 report: RunReport) -> bool:
        sid = shipment.shipment_id
        if record is None:
            if shipment.status.upper() in FINAL_STATUSES:
                # First seen already over (e.g. before the connector was installed): the merchant has
                # dealt with it; booking it now would move stock twice.
                record = self.records.new(sid, shipment.status.upper())
                record.name, record.finished = shipment.name, True
                record.status_history = [{"status": record.status, "at": self.now().isoformat(),
                                          "note": "first seen final"}]
                self.records.save(record)
                report.skipped_final += 1
                logger.info("shipment first seen in a final status; not booked", extra={"shipment": sid})
                return False
            record = self.records.new(sid, shipment.status.upper())
            record.status_history = []
        if record.finished:
            return False
        if shipment.name and not record.name:
            record.name = shipment.name
        if shipment.plan_id and not record.plan_id:
            record.plan_id = shipment.plan_id
        if shipment.plan_shipment_id and not record.plan_shipment_id:
            record.plan_shipment_id = shipment.plan_shipment_id

        decision = merge_status(record.status if record.status_history else None, shipment.status)
        if decision.note:
            logger.warning(decision.note, extra={"shipment": sid})
        if decision.changed or not record.status_history:
            record.status = decision.status
            record.status_history = [*record.status_history, {"status": decision.status, "at": self.now().isoformat()}]

        lines = lines_of(record)
        figures, sources = self._amazon_figures(record, lines)
        known = {ln.sku: ln.product_id for ln in lines}
        products = {sku: self.product_for(sku) for sku in figures if known.get(sku) is None}
        lines, notes = update_lines(lines, figures, products, sources)
        for note in notes:
            logger.warning(note, extra={"shipment": sid})
        store_lines(record, lines)
        self._save(record)

        if record.status in CANCELLED_STATUSES:
            self._cancel(record, cfg, report)
            return True
        if not any(ln.expected > 0 or ln.received > 0 for ln in lines):
            logger.warning("inbound shipment has no items; nothing to transfer", extra={"shipment": sid})
            metrics.add_metric(name="InboundShipmentEmpty", unit=MetricUnit.Count, value=1)
            return True

        if any(ln.expected > 0 for ln in lines) and not self._ensure_transfer(record, cfg, report):
            self._send_due(record, report)
            return True
        if record.goods_out_note_id is not None and not record.bp_shipped and (
                rank(record.status) >= SHIPPED_RANK or cfg.ship_transfer_on == "created"):
            self._ship(record, cfg, report)
        if record.bp_shipped or record.stock_transfer_id is None:
            # Without a transfer (only unexpected SKUs) there is nothing to release, but corrections apply.
            self._receive(record, cfg, report)
        self._send_due(record, report)
        if record.status == "CLOSED" and not record.pending and not releases_due(lines_of(record)) and (
                cfg.over_receipt == "report" or not corrections_due(lines_of(record))):
            record.finished = True
            self._save(record)
        return True

    def _amazon_figures(self, record: InboundShipment, lines: Sequence[Line],
                        ) -> tuple[dict[str, tuple[int, int]], dict[str, str]]:
        """Per SKU (shipped, received) and where the received figure came from.

        Shipped: v0 ``QuantityShipped``, else the 2024-03-20 ``listShipmentItems`` quantity (v0 shows no
        items for shipments made through that API), else what the record already has. Received: v0
        ``QuantityReceived`` and the ledger's Receipts rows reconciled (:func:`reconcile_received`).
        """
        v0 = {i.sku: i for i in self.amazon.items(record.shipment_id)}
        planned: dict[str, AmazonItem] = {}
        if not v0 and record.plan_id and record.plan_shipment_id:
            planned = {i.sku: i for i in self.amazon.items_2024(record.plan_id, record.plan_shipment_id)}
        ledger: dict[str, int] = {}
        for sku, qty in ((record.receipts or {}).get("rows") or {}).values():
            ledger[str(sku)] = ledger.get(str(sku), 0) + int(qty)
        expected = {ln.sku: ln.expected for ln in lines}
        figures: dict[str, tuple[int, int]] = {}
        sources: dict[str, str] = {}
        for sku in sorted({*v0, *planned, *ledger}):
            item = v0.get(sku) or planned.get(sku)
            shipped = item.shipped if item is not None else expected.get(sku, 0)
            received, source = reconcile_received(v0[sku].received if sku in v0 else None, ledger.get(sku))
            figures[sku], sources[sku] = (shipped, received), source
        return figures, sources

    def _fold_ledger(self, open_records: Mapping[str, InboundShipment], polled: Mapping[str, str]) -> None:
        """Add the newest ledger detail report's Receipts rows to the shipments on their way to Amazon.

        The movements flow requests the ledger (all event types) every 4 hours and leaves ``Receipts`` to
        this feature (docs/movements.md); here the newest finished one is read once per shipment, its rows
        kept by key on the record, so overlapping reports never count a row twice. A failure here only
        leaves the v0 figures for this run.
        """
        wanted = [r for r in open_records.values() if not r.finished and (
            r.bp_shipped or max(rank(r.status), rank(polled.get(r.shipment_id, ""))) >= SHIPPED_RANK)]
        if not wanted:
            return
        try:
            doc = self.amazon.latest_ledger()
            if doc is None:
                return
            need = [r for r in wanted if doc.report_id not in ((r.receipts or {}).get("reports") or [])]
            if not need:
                return
            rows = self.amazon.ledger_receipts(doc, [r.shipment_id for r in need])
        except Exception:
            logger.exception("could not read the ledger's Receipts rows; using v0 figures this run")
            return
        for r in need:
            data = dict(r.receipts or {})
            kept = dict(data.get("rows") or {})
            for row in rows:
                if row.shipment_id == r.shipment_id:
                    kept[row.key] = [row.sku, row.quantity]
            data["rows"] = kept
            data["reports"] = [*(data.get("reports") or []), doc.report_id][-LEDGER_REPORTS_KEPT:]
            r.receipts = data
            self._save(r)

    def _save(self, record: InboundShipment) -> None:
        record.updated_at = self.now()
        self.records.save(record)

    # ------------------------------------------------------------------ transfer: create, goods-out note
    def _ensure_transfer(self, record: InboundShipment, cfg: GlobalSettings, report: RunReport) -> bool:
        """Stock transfer + goods-out note exist for the shipment; False while held for stock."""
        assert cfg.inbound_source_warehouse_id is not None and cfg.fba_warehouse_id is not None
        source, target = cfg.inbound_source_warehouse_id, cfg.fba_warehouse_id
        ref = transfer_reference(record.shipment_id)
        if record.stock_transfer_id is None:
            if not record.transfer_attempted:
                if not self._plan(record, cfg):
                    return False
                # The high-water mark is taken before the POST: a transfer whose answer is lost has a
                # higher id, so it is found by reading upwards from here, whatever the account's history.
                record.transfer_hwm = self.transfers.highest_transfer_id(self.records.max_transfer_id())
                record.transfer_attempted, record.reference = True, ref
                record.source_warehouse_id, record.target_warehouse_id = source, target
                self._save(record)  # before the POST: from here on, look the reference up before creating
                existing = None
            else:
                existing = self._find(record)
            if existing is None:
                try:
                    tid = self.transfers.create_transfer(source, target, ref)
                    report.count("stock-transfer")
                except (BrightpearlUncertainWrite, BrightpearlValidationError) as exc:
                    # Lost answer, or "reference exists" from an earlier lost answer: it is there or not.
                    existing = self._find(record)
                    if existing is None:
                        raise Unconfirmed(f"stock transfer {ref} not created: {exc}") from exc
                    tid = existing.transfer_id
            else:
                tid = existing.transfer_id
            record.stock_transfer_id = tid
            if existing is not None and existing.goods_out_note_id:
                record.goods_out_note_id = existing.goods_out_note_id
            self._save(record)

        if record.goods_out_note_id is None:
            tid = int(record.stock_transfer_id)
            current = self.transfers.transfer(tid)
            if current is not None and current.goods_out_note_id:
                record.goods_out_note_id = current.goods_out_note_id
            else:
                quantities = self._quantities(lines_of(record))
                try:
                    gid = self.transfers.create_goods_out(source, target, tid, quantities,
                                                          shipping_method_id=cfg.shipping_method_id,
                                                          release_date=self.now())
                    report.count("external-transfer")
                except BrightpearlUncertainWrite as exc:
                    current = self.transfers.transfer(tid)
                    if current is None or not current.goods_out_note_id:
                        raise Unconfirmed(f"goods-out note of transfer {tid} not confirmed: {exc}") from exc
                    gid = current.goods_out_note_id
                record.goods_out_note_id = gid
            self._save(record)
        return True

    def _plan(self, record: InboundShipment, cfg: GlobalSettings) -> bool:
        """Decide the transfer's quantities from the source's on-hand; store them (and shortfalls)."""
        assert cfg.inbound_source_warehouse_id is not None
        lines = lines_of(record)
        pids = {ln.product_id for ln in lines if ln.product_id is not None}
        figures = self.transfers.figures(pids, cfg.inbound_source_warehouse_id) if pids else {}
        # 'hold' only makes sense while the goods have not left: once Amazon shows the shipment shipped,
        # the transfer carries what Brightpearl has and the rest is mailed as short.
        policy = cfg.transfer_policy if rank(record.status) < SHIPPED_RANK else "available"
        plan = plan_transfer(lines, {pid: f["onHand"] for pid, f in figures.items()}, policy)
        if plan.hold:
            if plan.short:
                event = held_email_due(plan.short)
                self._send(record, event, render_email(view_of(record), event, short=plan.short))
            logger.info("transfer held for stock", extra={"shipment": record.shipment_id, "short": plan.short})
            return False
        store_lines(record, [replace(ln, transferred=plan.quantities.get(ln.sku, 0), short=plan.short.get(ln.sku, 0))
                             for ln in lines])
        return True

    @staticmethod
    def _quantities(lines: Iterable[Line]) -> dict[int, int]:
        out: dict[int, int] = {}
        for ln in lines:
            if ln.product_id is not None and ln.transferred > 0:
                out[ln.product_id] = out.get(ln.product_id, 0) + ln.transferred
        return out

    def _find(self, record: InboundShipment) -> Transfer | None:
        """The shipment's transfer, read upwards from the high-water mark saved before the create (ids only
        grow). Records from before the mark existed fall back to a little below our own highest transfer."""
        ref = transfer_reference(record.shipment_id)
        above = (int(record.transfer_hwm) if record.transfer_hwm is not None
                 else max(0, self.records.max_transfer_id() - 10))
        return self.transfers.find_transfer(ref, above=above)

    # ------------------------------------------------------------------ ship
    def _ship(self, record: InboundShipment, cfg: GlobalSettings, report: RunReport) -> None:
        gid = int(record.goods_out_note_id)
        note = self.transfers.goods_out(gid)
        if note is None:
            raise RuntimeError(f"goods-out note {gid} of shipment {record.shipment_id} not found in Brightpearl")
        if not note.shipped:
            try:
                self.transfers.ship(gid, version=note.version, staff_id=cfg.staff_contact_id, at=self.now())
                report.count("goods-out-shipped")
            except (BrightpearlUncertainWrite, BrightpearlValidationError) as exc:
                # Lost answer, 412 (someone else moved the note on) or "frozen" (already shipped): read it.
                again = self.transfers.goods_out(gid)
                if again is None or not again.shipped:
                    raise Unconfirmed(f"goods-out note {gid} not shipped: {exc}") from exc
        record.bp_shipped = True
        self._save(record)

    # ------------------------------------------------------------------ receive: release, correct
    def _receive(self, record: InboundShipment, cfg: GlobalSettings, report: RunReport) -> None:
        lines = lines_of(record)
        by_sku = {ln.sku: ln for ln in lines}
        if record.bp_shipped:
            for sku, qty in releases_due(lines).items():
                self._tracked_write(record, cfg, "release", by_sku[sku], qty, report)
        if cfg.over_receipt == "correct":
            for sku, qty in corrections_due(lines_of(record)).items():
                self._tracked_write(record, cfg, "correct", by_sku[sku], qty, report)

    def _tracked_write(self, record: InboundShipment, cfg: GlobalSettings, kind: str, line: Line, qty: int,
                       report: RunReport) -> None:
        """A release or correction: neither carries a key Brightpearl could deduplicate on, so the intent
        and the figure it must move are recorded first; a lost answer is settled by reading the figure.

        Kinds: ``release`` / ``correct`` (receiving), and for a cancelled shipment ``return-release``
        (FBA quarantine → FBA stock), ``return-out`` (FBA -q) and ``return-in`` (source +q)."""
        assert cfg.fba_warehouse_id is not None and cfg.inbound_source_warehouse_id is not None
        assert line.product_id is not None
        pid = line.product_id
        wid = cfg.inbound_source_warehouse_id if kind == "return-in" else cfg.fba_warehouse_id
        before = self.transfers.figures([pid], wid)[pid]
        record.pending = {"kind": kind, "sku": line.sku, "product_id": pid, "quantity": qty, "before": before,
                          "warehouse_id": wid}
        self._save(record)
        tid = record.stock_transfer_id or "-"
        try:
            if kind in ("release", "return-release"):
                self.transfers.release(wid, pid, qty)
            elif kind == "return-out":
                self.transfers.remove_stock(wid, pid, qty, reason=f"Amazon inbound {record.shipment_id} cancelled: "
                                                                  f"back to the source from transfer {tid} (connector)")
            elif kind == "return-in":
                self.transfers.add_stock(wid, pid, qty, cost={"currency": cfg.account_currency, "value": 0},
                                         reason=f"Amazon inbound {record.shipment_id} cancelled: back from the FBA "
                                                f"warehouse, transfer {tid} (connector)")
            else:
                self.transfers.add_stock(wid, pid, qty, cost={"currency": cfg.account_currency, "value": 0},
                                         reason=f"Amazon inbound {record.shipment_id}: received beyond transfer "
                                                f"{tid} (connector)")
        except BrightpearlUncertainWrite:
            self._settle_pending(record, cfg)
            if record.pending is None:
                return
            raise
        report.count("quarantine-release" if kind.endswith("release") else "stock-correction")
        self._apply_pending(record)

    def _settle_pending(self, record: InboundShipment, cfg: GlobalSettings) -> None:
        """Was the recorded write applied? Compare the figure it moves with the one saved."""
        assert cfg.fba_warehouse_id is not None
        p = record.pending
        if not p:
            return
        pid, qty, before = int(p["product_id"]), int(p["quantity"]), p["before"]
        now = self.transfers.figures([pid], int(p.get("warehouse_id") or cfg.fba_warehouse_id))[pid]
        in_stock_before = int(before.get("inStock", before["onHand"]))
        if p["kind"] in ("release", "return-release"):
            # Only transfers move inTransit; a release takes it down by its quantity.
            applied = now["inTransit"] <= int(before["inTransit"]) - qty
        elif p["kind"] == "return-out":
            applied = now["inStock"] <= in_stock_before - qty
        else:
            # inStock (onHand + allocated): FBA orders being allocated meanwhile do not change it,
            # where onHand would fall and make a correction that landed look missing.
            applied = now["inStock"] >= in_stock_before + qty
        logger.warning("settled an unconfirmed Brightpearl write",
                       extra={"shipment": record.shipment_id, "pending": p, "applied": applied, "now": now})
        if applied:
            self._apply_pending(record)
        else:
            record.pending = None  # not applied: the next pass sends it again
            self._save(record)

    def _apply_pending(self, record: InboundShipment) -> None:
        p = record.pending or {}
        line = next(ln for ln in lines_of(record) if ln.sku == p["sku"])
        if p["kind"] == "release":
            _set_line(record, line.sku, released=line.released + int(p["quantity"]))
        elif p["kind"] == "correct":
            _set_line(record, line.sku, corrected=line.corrected + int(p["quantity"]))
        else:  # undoing a cancelled shipment: progress per SKU and step
            undo = dict(record.undo or {})
            done = dict(undo.get("done") or {})
            key = f"{line.sku}:{p['kind']}"
            done[key] = int(done.get(key, 0)) + int(p["quantity"])
            undo["done"] = done
            record.undo = undo
        record.pending = None
        self._save(record)

    # ------------------------------------------------------------------ cancelled
    def _cancel(self, record: InboundShipment, cfg: GlobalSettings, report: RunReport) -> None:
        """Cancelled or deleted at Amazon: undo what this shipment did in Brightpearl, then mail what was undone.

        Not shipped: the goods-out note is deleted (Goods-Out Note DELETE), which frees the units it
        allocated in the source warehouse. Shipped: the units of this transfer Amazon did not receive are
        brought back from the FBA warehouse's quarantine to the source warehouse: released (as a receipt
        would), then a correction pair (FBA -q, source +q). Every write is a tracked one (intent saved
        first, a lost answer settled by the figure it moves), and progress is kept on the record (``undo``),
        so a retry or a killed run never undoes twice. Units Amazon received stay where they are.
        """
        undo: dict[str, Any] = dict(record.undo or {})
        if record.stock_transfer_id is None and record.transfer_attempted:
            found = self._find(record)  # a create whose answer was lost may still have landed
            if found is not None:
                record.stock_transfer_id = found.transfer_id
                record.goods_out_note_id = found.goods_out_note_id or None
                self._save(record)
        tid = record.stock_transfer_id
        notes: list[str] = []
        if tid is None:
            notes.append("No Brightpearl transfer had been created for it; nothing to undo.")
        elif record.goods_out_note_id is None and not record.bp_shipped:
            current = self.transfers.transfer(int(tid))
            if current is not None and current.goods_out_note_id:
                record.goods_out_note_id = current.goods_out_note_id
                self._save(record)
            else:
                notes.append(f"Brightpearl transfer #{tid} had no goods-out note yet; nothing was allocated.")
        if tid is not None and record.goods_out_note_id is not None and not record.bp_shipped:
            gid = int(record.goods_out_note_id)
            note = self.transfers.goods_out(gid)
            if note is not None and note.shipped:
                record.bp_shipped = True  # shipped in Brightpearl by hand meanwhile: bring the units back
                self._save(record)
            else:
                if note is not None and note.steps:
                    # Printed, picked or packed (by hand): Brightpearl deletes a note only once those are undone.
                    try:
                        self.transfers.undo_steps(gid, note.steps, version=note.version,
                                                  staff_id=cfg.staff_contact_id, at=self.now())
                        report.count("goods-out-steps-undone")
                    except (BrightpearlUncertainWrite, BrightpearlValidationError):
                        pass  # a lost answer or a 412 (moved on meanwhile): the DELETE below tells
                if note is not None:
                    try:
                        self.transfers.delete_goods_out(gid)
                        report.count("goods-out-deleted")
                    except (BrightpearlUncertainWrite, BrightpearlNotFound):
                        pass  # settled by reading the note again
                    except BrightpearlValidationError as exc:
                        again = self.transfers.goods_out(gid)
                        if again is not None:
                            undo["refused"] = str(exc)[:300]
                            record.undo = undo
                            self._save(record)
                            raise Unconfirmed(f"goods-out note {gid} could not be deleted: {exc}") from exc
                    if self.transfers.goods_out(gid) is not None:
                        raise Unconfirmed(f"goods-out note {gid} of shipment {record.shipment_id} not deleted")
                freed = sum(ln.transferred for ln in lines_of(record))
                undo.update(note_deleted=gid, freed=freed)
                record.undo = undo
                self._save(record)
                notes.append(f"Goods-out note #{gid} of Brightpearl transfer #{tid} ({record.reference}) was deleted: "
                             f"{freed} allocated unit(s) are free again in the source warehouse.")
        if tid is not None and record.bp_shipped:
            if "back" not in (record.undo or {}):
                self._receive(record, cfg, report)  # what Amazon did receive is released first, as usual
            back = self._bring_back(record, cfg, report)
            if back:
                notes.append(f"Brightpearl transfer #{tid} had been shipped: "
                             + ", ".join(f"{sku} {q}" for sku, q in sorted(back.items()))
                             + " unit(s) Amazon did not receive were released from the FBA warehouse's quarantine "
                             "and moved back to the source warehouse by a stock correction pair.")
            else:
                notes.append(f"Brightpearl transfer #{tid} had been shipped and Amazon received every unit; "
                             "nothing to bring back.")
        self._send_due(record, report, note=" ".join(notes))
        record.finished = True
        self._save(record)

    def _bring_back(self, record: InboundShipment, cfg: GlobalSettings, report: RunReport) -> dict[str, int]:
        """Per SKU, the units of this transfer still in FBA quarantine: release, then FBA -q, source +q."""
        assert cfg.fba_warehouse_id is not None and cfg.inbound_source_warehouse_id is not None
        undo: dict[str, Any] = dict(record.undo or {})
        if "back" not in undo:
            # Fixed once, before the first write, so later reads of Amazon cannot change what is undone.
            undo["back"] = {ln.sku: max(0, ln.transferred - ln.released) for ln in lines_of(record)
                            if ln.product_id is not None and ln.transferred > ln.released}
            undo["done"] = {}
            record.undo = undo
            self._save(record)
        for sku, qty in dict(undo["back"]).items():
            line = next(ln for ln in lines_of(record) if ln.sku == sku)
            for step in ("return-release", "return-out", "return-in"):
                done = (record.undo or {}).get("done", {}).get(f"{sku}:{step}", 0)
                if done < qty:
                    self._tracked_write(record, cfg, step, line, qty - done, report)
        return {sku: int(q) for sku, q in undo["back"].items() if q}

    # ------------------------------------------------------------------ emails
    def _send_due(self, record: InboundShipment, report: RunReport, *, note: str | None = None) -> None:
        view = view_of(record)
        for event in emails_due(view, transfer_planned=record.stock_transfer_id is not None):
            email = render_email(view, event)
            if note:
                email = with_note(email, note)
            if self._send(record, event, email):
                report.emails += 1

    def _send(self, record: InboundShipment, event: EmailEvent, email: Email | Message) -> bool:
        """Send once per event key. The key is claimed on the record *before* sending (conditional write),
        so a retry after a crash never sends twice; an SES error removes the claim so the next run retries."""
        if any(e.get("key") == event.key for e in record.emails_sent):
            return False
        entry = {"key": event.key, "state": "sending", "at": self.now().isoformat()}
        record.emails_sent = [*record.emails_sent, entry]
        self._save(record)
        try:
            message_id = self.mail.send(email)
        except Exception:
            record.emails_sent = [e for e in record.emails_sent if e.get("key") != event.key]
            self._save(record)
            raise
        record.emails_sent = [{**e, "state": "sent", "message_id": message_id} if e.get("key") == event.key else e
                              for e in record.emails_sent]
        self._save(record)
        return True


# ------------------------------------------------------------------------------ wiring
def build(env: Any) -> InboundShipments:
    """The use case with its real adapters, from an ``InboundShipmentsEnv``."""
    from connector.adapters import store
    from connector.adapters.amazon.factory import amazon_clients
    from connector.adapters.amazon.inbound import AmazonInbound
    from connector.adapters.brightpearl.factory import brightpearl_client
    from connector.adapters.brightpearl.transfers import BrightpearlTransfers
    from connector.adapters.inbound_records import ShipmentRecords
    from connector.adapters.repositories import LinkRepository, SettingsRepository
    from connector.emails.sending import mailer_from_env

    store.bind()
    links = LinkRepository()
    marketplaces = list(env.amazon_marketplace_ids)

    def product_for(sku: str) -> int | None:
        # FBA stock is pooled across the region's marketplaces: the first linked listing names the product.
        for marketplace_id in marketplaces:
            link = links.get(marketplace_id, sku)
            if link is not None:
                return int(link.product_id)
        return None

    return InboundShipments(
        amazon=AmazonInbound(amazon_clients(env)),
        transfers=BrightpearlTransfers(brightpearl_client(env)),
        records=ShipmentRecords(),
        settings=SettingsRepository().global_settings,
        product_for=product_for,
        mail=mailer_from_env(env),
    )
