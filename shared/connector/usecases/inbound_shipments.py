"""FBA inbound shipments → Brightpearl warehouse transfers, released as Amazon receives (issue 5).

One run (every 30 minutes): read Amazon's shipments, then for each one bring Brightpearl in step,
one idempotent step at a time, saving the shipment record after each step. A run that dies anywhere
is resumed by the next: every step first looks at what Brightpearl (or the record) already has.
A run that stops for its time budget with shipments left asks for the next run at once (``continuations``,
a bounded number of hops) instead of leaving them for the next schedule; while such a chain runs, the
schedule's runs step aside, so two runs never act on one shipment's pending writes at once.
See docs/inbound-shipments.md for the lifecycle, settings and rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.domain.errors import NotFound, Refused, UncertainWrite
from connector.domain.inbound import (
    CANCELLED_STATUSES,
    FINAL_STATUSES,
    LEDGER_REPORTS_KEPT,
    MAX_HOPS,
    OPEN_STATUSES,
    SHIPPED_RANK,
    Line,
    Shipment,
    corrections_due,
    merge_status,
    rank,
    reconcile_received,
    releases_due,
    update_lines,
)
from connector.domain.settings import GlobalSettings
from connector.domain.shipments import AmazonItem, AmazonShipment, window
from connector.observability import MetricUnit, logger, metrics
from connector.usecases.inbound_notices import Notices
from connector.usecases.inbound_pending import PendingWrites
from connector.usecases.inbound_transfer import TransferSteps, Unconfirmed, lines_of, store_lines
from connector.usecases.ports import Continuations, Inbound, OnceMail, ProductNames, ShipmentStore, Transfers

LOOKBACK = timedelta(days=2)  # the LastUpdated window re-read every run (shipments we know are read by id)
# Time budget, as shares of the time the run had when it started (issue 14: 30 % headroom on the timeout):
# no Brightpearl write is sent once less than WRITE_RESERVE of it is left, no shipment started below
# START_RESERVE; the floors keep a short invocation from starting what it cannot finish (a 200-SKU shipment
# needs ~61 s of Brightpearl's 200/min).
WRITE_RESERVE, WRITE_FLOOR_S = 0.30, 20.0
START_RESERVE, START_FLOOR_S = 0.35, 45.0


class NotConfigured(RuntimeError):
    pass


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
    resume_from: str | None = None  # stopped for time: the first shipment not finished this run
    continued: bool = False  # the next run was asked for at once
    skipped_busy: bool = False  # a continuation chain is running: this scheduled run did nothing

    def count(self, what: str, n: int = 1) -> None:
        self.writes[what] = self.writes.get(what, 0) + n


# ------------------------------------------------------------------------------ the use case
class InboundShipments:
    def __init__(self, *, amazon: Inbound, transfers: Transfers, records: ShipmentStore,
                 settings: Callable[[], GlobalSettings], product_for: Callable[[str], int | None], mail: OnceMail,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC), use_2024_plans: bool = True,
                 names: ProductNames | None = None, continuations: Continuations | None = None) -> None:
        self.amazon = amazon
        self.transfers = transfers
        self.records = records
        self.settings = settings
        self.product_for = product_for
        self.mail = mail
        self.now = now
        self.use_2024_plans = use_2024_plans
        self.continuations = continuations
        self._remaining: Callable[[], float] = lambda: float("inf")
        self._margins = (0.0, 0.0)  # (start, write) seconds, fixed when the run starts
        self.pending = PendingWrites(transfers, self._save)
        self.notices = Notices(mail, self._save, now, names)
        self.transfer = TransferSteps(transfers, records, self._save, self.notices, now)

    # ------------------------------------------------------------------ run
    def run(self, *, remaining: Callable[[], float] | None = None, resume_from: str | None = None,
            hop: int = 0) -> RunReport:
        """One run. ``remaining``: seconds left in the invocation (Lambda's context); ``resume_from`` and
        ``hop`` come from the continuation message that started it (None / 0 for the schedule)."""
        self._remaining = remaining or (lambda: float("inf"))
        at_start = self._remaining()
        self._margins = (max(START_RESERVE * at_start, START_FLOOR_S), max(WRITE_RESERVE * at_start, WRITE_FLOOR_S))
        chain = self.continuations
        if chain is not None:
            if hop == 0 and chain.active():
                # A continuation is running (or about to): two runs would settle each other's pending writes.
                logger.info("an inbound continuation is running; this scheduled run steps aside")
                return RunReport(skipped_busy=True)
            if hop > 0:
                chain.mark()  # the schedule steps aside for as long as this run can last
        report = self._run(resume_from)
        if report.resume_from is not None and chain is not None:
            # Only a run that got something done continues, and at most MAX_HOPS times: never a loop.
            if report.processed and hop < MAX_HOPS:
                chain.send(report.resume_from, hop + 1)
                report.continued = True
                metrics.add_metric(name="InboundShipmentsContinued", unit=MetricUnit.Count, value=1)
            else:
                logger.warning("inbound run stopped for time; left for the schedule",
                               extra={"resume_from": report.resume_from, "hop": hop, "processed": report.processed})
        if chain is not None and hop > 0 and not report.continued:
            chain.end()  # the chain is over: the next scheduled run need not step aside
        if report.failed:
            raise RunIncomplete(f"inbound shipments failed this run: {', '.join(sorted(report.failed))}")
        return report

    def _time_left(self, margin: float) -> bool:
        return self._remaining() >= margin

    def _run(self, resume_from: str | None) -> RunReport:
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
                    self.pending.settle(record, cfg)
                except Exception:
                    logger.exception("could not settle a pending write", extra={"shipment": record.shipment_id})
                    report.failed.append(record.shipment_id)

        shipments = self._poll(open_records)
        report.seen = len(shipments)
        self._fold_ledger(open_records, {s.shipment_id: s.status.upper() for s in shipments})
        if resume_from is not None:  # a continuation starts where the last run stopped, then wraps round
            shipments = ([s for s in shipments if s.shipment_id >= resume_from]
                         + [s for s in shipments if s.shipment_id < resume_from])
        for shipment in shipments:
            if shipment.shipment_id in report.failed:
                continue
            if not self._time_left(self._margins[0]):
                report.resume_from = shipment.shipment_id
                break
            known = open_records.get(shipment.shipment_id) or self.records.get(shipment.shipment_id)
            try:
                if self._process(known, shipment, cfg, report):
                    report.processed += 1
                if report.resume_from is not None:  # its writes were cut short by the time budget
                    break
            except Exception:
                logger.exception("inbound shipment failed; the next run resumes it",
                                 extra={"shipment": shipment.shipment_id})
                report.failed.append(shipment.shipment_id)
        metrics.add_metric(name="InboundShipmentsProcessed", unit=MetricUnit.Count, value=report.processed)
        if report.failed:
            metrics.add_metric(name="InboundShipmentFailures", unit=MetricUnit.Count, value=len(report.failed))
        logger.info("inbound shipments run", extra={"report": report.__dict__})
        return report

    def _poll(self, open_records: Mapping[str, Shipment]) -> list[AmazonShipment]:
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
    def _process(self, record: Shipment | None, shipment: AmazonShipment, cfg: GlobalSettings,
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
        header = _header(record)
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
        if record.version is None or lines != record.lines or _header(record) != header:
            # Unchanged (most polls of an open shipment): no rewrite of the whole item.
            store_lines(record, lines)
            self._save(record)

        if record.status in CANCELLED_STATUSES:
            self._cancel(record, cfg, report)
            return True
        if not any(ln.expected > 0 or ln.received > 0 for ln in lines):
            logger.warning("inbound shipment has no items; nothing to transfer", extra={"shipment": sid})
            metrics.add_metric(name="InboundShipmentEmpty", unit=MetricUnit.Count, value=1)
            return True

        if any(ln.expected > 0 for ln in lines) and not self.transfer.ensure(record, cfg, report.count):
            report.emails += self.notices.send_due(record)
            return True
        if record.goods_out_note_id is not None and not record.bp_shipped and (
                rank(record.status) >= SHIPPED_RANK or cfg.ship_transfer_on == "created"):
            self.transfer.ship(record, cfg, report.count)
        if record.bp_shipped or record.stock_transfer_id is None:
            # Without a transfer (only unexpected SKUs) there is nothing to release, but corrections apply.
            self._receive(record, cfg, report)
        report.emails += self.notices.send_due(record)
        if record.status == "CLOSED" and not record.pending and not releases_due(lines_of(record)) and (
                cfg.over_receipt == "report" or not corrections_due(lines_of(record))):
            record.finished = True
            self._save(record)
        return True

    def _amazon_figures(self, record: Shipment, lines: Sequence[Line],
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

    def _fold_ledger(self, open_records: Mapping[str, Shipment], polled: Mapping[str, str]) -> None:
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

    def _save(self, record: Shipment) -> None:
        record.updated_at = self.now()
        self.records.save(record)

    # ------------------------------------------------------------------ receive: release, correct
    def _receive(self, record: Shipment, cfg: GlobalSettings, report: RunReport) -> None:
        """Releases, then corrections, each as one batch (figures read once, two saves; inbound_pending)."""
        if record.bp_shipped:
            self._batch(record, cfg, "release", releases_due(lines_of(record)), report)
        if cfg.over_receipt == "correct" and report.resume_from is None:
            self._batch(record, cfg, "correct", corrections_due(lines_of(record)), report)

    def _batch(self, record: Shipment, cfg: GlobalSettings, kind: str, due: Mapping[str, int],
               report: RunReport) -> None:
        if not due:
            return
        by_sku = {ln.sku: ln for ln in lines_of(record)}
        sent, complete = self.pending.write_batch(record, cfg, kind, [(by_sku[sku], q) for sku, q in due.items()],
                                                  stop=lambda: not self._time_left(self._margins[1]))
        if sent:
            report.count("quarantine-release" if kind == "release" else "stock-correction", sent)
        if not complete:
            report.resume_from = record.shipment_id

    def _write(self, record: Shipment, cfg: GlobalSettings, kind: str, line: Line, qty: int,
               report: RunReport) -> None:
        if self.pending.write(record, cfg, kind, line, qty):
            report.count("quarantine-release" if kind.endswith("release") else "stock-correction")

    # ------------------------------------------------------------------ cancelled
    def _cancel(self, record: Shipment, cfg: GlobalSettings, report: RunReport) -> None:
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
            found = self.transfer.find(record)  # a create whose answer was lost may still have landed
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
            gid = record.goods_out_note_id
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
                    except (UncertainWrite, Refused):
                        pass  # a lost answer or a 412 (moved on meanwhile): the DELETE below tells
                if note is not None:
                    try:
                        self.transfers.delete_goods_out(gid)
                        report.count("goods-out-deleted")
                    except (UncertainWrite, NotFound):
                        pass  # settled by reading the note again
                    except Refused as exc:
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
                if report.resume_from is not None:
                    return  # cut short by the time budget: the undo waits for every receipt to be released
            back = self._bring_back(record, cfg, report)
            if back:
                notes.append(f"Brightpearl transfer #{tid} had been shipped: "
                             + ", ".join(f"{sku} {q}" for sku, q in sorted(back.items()))
                             + " unit(s) Amazon did not receive were released from the FBA warehouse's quarantine "
                             "and moved back to the source warehouse by a stock correction pair.")
            else:
                notes.append(f"Brightpearl transfer #{tid} had been shipped and Amazon received every unit; "
                             "nothing to bring back.")
        report.emails += self.notices.send_due(record, note=" ".join(notes))
        record.finished = True
        self._save(record)

    def _bring_back(self, record: Shipment, cfg: GlobalSettings, report: RunReport) -> dict[str, int]:
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
                    self._write(record, cfg, step, line, qty - done, report)
                    if (record.undo or {}).get("done", {}).get(f"{sku}:{step}", 0) < qty:
                        # A lost answer settled as not applied: stop here, so the steps stay in order and the
                        # shipment is not finished with its undo incomplete; the next run sends it again.
                        raise Unconfirmed(f"{step} of {sku} for cancelled shipment {record.shipment_id} "
                                          "not applied; retried next run")
        return {sku: int(q) for sku, q in undo["back"].items() if q}


def _header(record: Shipment) -> tuple[object, ...]:
    """What a poll may change on the record besides its lines (compared to skip an unchanged save)."""
    return record.status, len(record.status_history), record.name, record.plan_id, record.plan_shipment_id
