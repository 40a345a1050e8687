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
from datetime import UTC, datetime, timedelta

from connector.domain.errors import NotFound, PortError, Throttled, UncertainWrite
from connector.domain.flatfile import HeaderError, LineTally
from connector.domain.movements import Quarantine
from connector.domain.removals import (
    REPORT_TYPES,
    SELLABLE,
    OrderLine,
    Removal,
    ShipmentLine,
    removal_items,
)
from connector.domain.settings import GlobalSettings
from connector.observability import MetricUnit, logger, metrics
from connector.usecases.ports import OnceMail, RemovalStore, Reports, Transfers
from connector.usecases.removal_receipts import RemovalReceipts
from connector.usecases.removal_receipts import (
    short_arrival_message as short_arrival_message,  # re-exported: callers import it from here
)
from connector.usecases.removal_writes import CommandError as CommandError  # re-exported, as above
from connector.usecases.removal_writes import RunReport

EVERY = timedelta(hours=4)  # Amazon refreshes the FBA removal reports a few times a day at most
OVERLAP = timedelta(days=3)  # rows re-issued late are read again; merging makes that harmless
FIRST_WINDOW = timedelta(days=30)
MAX_WINDOW = timedelta(days=30)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


class Removals(RemovalReceipts):
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

