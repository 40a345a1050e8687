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
from datetime import UTC, datetime, timedelta

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
from connector.domain.shipments import AmazonItem, AmazonShipment
from connector.observability import MetricUnit, logger, metrics
from connector.usecases.inbound_notices import Notices
from connector.usecases.inbound_pending import PendingWrites
from connector.usecases.inbound_receive import ReceiveAndCancel, RunReport
from connector.usecases.inbound_transfer import TransferSteps, lines_of, store_lines
from connector.usecases.ports import Continuations, Inbound, OnceMail, ProductNames, ShipmentStore, Transfers

LOOKBACK = timedelta(days=2)  # 2024-03-20 plans updated in this window are listed (shipments we know: by id)
# Time budget, as shares of the time the run had when it started (issue 14: 30 % headroom on the timeout):
# no Brightpearl write is sent once less than WRITE_RESERVE of it is left (0.33, not 0.30: the write in
# flight at the stop and the run's last saves must still end inside 70 %), no shipment started below
# START_RESERVE; the floors keep a short invocation from starting what it cannot finish (a 200-SKU shipment
# needs ~61 s of Brightpearl's 200/min).
WRITE_RESERVE, WRITE_FLOOR_S = 0.33, 20.0
START_RESERVE, START_FLOOR_S = 0.38, 45.0


class NotConfigured(RuntimeError):
    pass


class RunIncomplete(RuntimeError):
    """Some shipments failed this run (each is retried next run); raised so the error alarm sees it."""


# ------------------------------------------------------------------------------ the use case
class InboundShipments(ReceiveAndCancel):
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
        """Open shipments, those we track, and 2024-03-20 plans' shipments (by v0 id).

        What a connector must read per run (docs/inbound-shipments.md, "What is read per run"): the open list,
        the tracked shipments that left it (by id), and the plans updated lately. A plan seen settled (its
        placement confirmed, each shipment confirmed) is not read again: its shipments are followed by v0 id.
        """
        now = self.now()
        found: dict[str, AmazonShipment] = {}
        for s in self.amazon.by_status(OPEN_STATUSES):
            found[s.shipment_id] = s
        known: dict[str, dict[str, str]] = {}
        settled: dict[str, dict[str, str]] = {}
        for r in open_records.values():
            if r.plan_id and r.plan_shipments:
                settled[r.plan_id] = dict(r.plan_shipments)
            if r.plan_id and r.plan_shipment_id:
                known.setdefault(r.plan_id, {})[r.plan_shipment_id] = r.shipment_id
        done: set[str] = set()
        if self.use_2024_plans:  # a plan whose shipments are all finished is still listed for up to LOOKBACK
            for r in self.records.finished_with_plans():
                settled.setdefault(r.plan_id, dict(r.plan_shipments))
                done.add(r.shipment_id)
        for plan_id, pairs in settled.items():
            known.setdefault(plan_id, {}).update(pairs)
        # Tracked shipments not in the open list (closed or cancelled since), and a settled plan's shipments
        # v0 does not list yet: by id. A shipment never tracked and not open is final or unknown: never booked
        # (first seen final), so no date-range query is needed to find it.
        follow = {sid for pairs in settled.values() for sid in pairs.values()} - done
        missing = sorted(sid for sid in {*open_records, *follow} if sid not in found)
        if missing:
            for s in self.amazon.by_ids(missing):
                found.setdefault(s.shipment_id, s)
        plan_ids: dict[str, AmazonShipment] = {}
        if self.use_2024_plans:
            for s in self.amazon.from_plans(updated_since=now - LOOKBACK, known_plans=known, settled=set(settled)):
                plan_ids[s.shipment_id] = s
                if s.shipment_id not in found:
                    found[s.shipment_id] = s  # only on the 2024-03-20 side so far
        out = []
        for sid, s in found.items():
            if sid in plan_ids:
                p = plan_ids[sid]
                s = AmazonShipment(s.shipment_id, s.name, s.status, s.fc, s.plan_id or p.plan_id,
                                   s.plan_shipment_id or p.plan_shipment_id, p.plan_shipments)
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
                record.plan_id, record.plan_shipment_id = shipment.plan_id, shipment.plan_shipment_id
                record.plan_shipments = dict(shipment.plan_shipments) or None  # its settled plan stays unread
                record.status_history = [{"status": record.status, "at": self.now().isoformat(),
                                          "note": "first seen final"}]
                self._save(record)
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
        if shipment.plan_shipments and not record.plan_shipments:
            record.plan_shipments = dict(shipment.plan_shipments)  # settled: its plan is not read again

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
        unsaved = False
        if record.version is None or lines != record.lines or _header(record) != header:
            # Unchanged (most polls of an open shipment): no rewrite of the whole item.
            store_lines(record, lines)
            if record.version is None:
                self._save(record)  # a new shipment exists before anything is done for it
            else:
                # Saved with the first step's save below (the batch's intent, a transfer's mark), or at the end:
                # one whole-item write fewer per shipment and run (issue 14 item 2). Every step saves before its
                # write, and the figures are read from Amazon again should this run die first.
                unsaved = True
        saved_as = record.version
        done = self._steps(record, cfg, report, lines)
        if unsaved and record.version == saved_as:
            self._save(record)  # no step saved it (nothing to do this run): the new figures still are
        return done

    def _steps(self, record: Shipment, cfg: GlobalSettings, report: RunReport, lines: Sequence[Line]) -> bool:
        sid = record.shipment_id

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


def _header(record: Shipment) -> tuple[object, ...]:
    """What a poll may change on the record besides its lines (compared to skip an unchanged save)."""
    return (record.status, len(record.status_history), record.name, record.plan_id, record.plan_shipment_id,
            bool(record.plan_shipments))
