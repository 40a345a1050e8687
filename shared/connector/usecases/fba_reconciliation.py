"""FBA inventory reconciliation: Amazon's FBA quantities against the Brightpearl FBA warehouse, explained,
reported, and applied on approval as stock movements (exactly once).

1. ``start`` (schedule, or the operator's ``reconcile-fba``): read Amazon's FBA quantities — every page
   of getInventorySummaries for a catalogue up to ``api_max_skus`` linked SKUs, otherwise the MYI
   inventory report (requested now, read by ``poll`` when Amazon has it ready) — and Brightpearl's FBA
   warehouse figures for the linked products (ID sets of 100), compare and explain (domain rules), store
   the reconciliation, email it with a CSV of every line, and auto-apply small differences if enabled.
2. ``approve`` (the operator's ``approve-reconciliation``): the suggested corrections of the chosen lines
   become ``StockChange`` movements keyed ``recon#<id>#<sku>`` and go through the movements service: a
   conditional create per key (so a second approval writes nothing), 100 corrections per Brightpearl
   request through the shared governor, and recovery by reference when an answer is lost.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel, Field

from connector.domain.email import Attachment
from connector.domain.fba_reconciliation import (
    DIFFERENCE,
    MATCH,
    NOT_IN_BRIGHTPEARL,
    UNLINKED,
    AmazonFba,
    BrightpearlFba,
    InFlight,
    Line,
    compare,
    from_availability,
    from_myi,
    inbound_unreleased,
    mark_unsettled,
    merge_pools,
    movement_in_flight,
    movement_key,
    pools,
    select,
)
from connector.domain.fba_reconciliation_report import csv_rows, email_content, to_csv, totals
from connector.domain.movements import APPLIED, FINAL, StockChange
from connector.domain.quantities import EU_MARKETPLACES
from connector.domain.settings import GlobalSettings
from connector.observability import MetricUnit, logger, metrics
from connector.usecases.observing_store import ObservingStore
from connector.usecases.ports import (
    Catalog,
    FbaInventory,
    Inbound,
    MovementStore,
    OnceMail,
    ProductNames,
    Reconciliations,
    Reports,
    Settings,
)
from connector.usecases.product_names import Names

MYI_REPORT = "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA"
SOURCE = "fba-reconciliation"
KIND = "reconciliation"
SETTINGS_KEY = "fba_reconciliation"
MAX_REPORT_ATTEMPTS = 3


class ReconciliationError(ValueError):
    """The request cannot be done as asked (unknown or superseded reconciliation, no FBA warehouse, ...)."""


class ReconciliationSettings(BaseModel):
    """The ``fba_reconciliation`` item of the settings table."""

    auto_apply_under: int | None = Field(None, ge=1, description=(
        "after a scheduled reconciliation, apply suggested corrections of at most this many units at once; "
        "off (None) by default"))
    source: str = Field("auto", pattern="^(auto|api|report)$", description=(
        "where Amazon's quantities come from: getInventorySummaries ('api'), the MYI inventory report "
        "('report'), or 'auto' (the API up to api_max_skus linked SKUs)"))
    api_max_skus: int = Field(2500, ge=0, description="largest catalogue read page by page (50 SKUs per call, 2/s)")
    max_age_hours: float = Field(24, gt=0, description="older reconciliations may not be applied")
    top: int = Field(20, ge=1, le=500, description="differences shown in the email body")


class MovementIngest(Protocol):
    """The movements use case as reconciliation uses it: corrections go through its keys, batching and audit."""

    store: MovementStore

    def ingest(self, items: Iterable[Any], *, report_id: str | None = None) -> Any: ...


class FbaReconciliation:
    def __init__(self, *, links: Callable[[], Iterable[Any]], marketplace_ids: Sequence[str], inventory: FbaInventory,
                 reports_for: Callable[[list[str]], Reports], catalog: Catalog, shipments: Callable[[], list[Any]],
                 inbound: Inbound | None, movements: MovementIngest, observed: ObservingStore,
                 settings: Settings, store: Reconciliations, mailer: OnceMail | None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC), names: ProductNames | None = None) -> None:
        self.names = names  # Brightpearl product names for the email (None: SKU and id only)
        self.links = links
        self.marketplace_ids = list(marketplace_ids)
        self.inventory = inventory
        self.reports_for = reports_for
        self.catalog = catalog
        self.shipments = shipments
        self.inbound = inbound
        self.movements = movements
        self.observed = observed
        self.settings = settings
        self.store = store
        self.mailer = mailer
        self.clock = clock

    # ================================================================== settings
    def recon_settings(self) -> ReconciliationSettings:
        return ReconciliationSettings.model_validate(self.settings.get_value(SETTINGS_KEY))

    def save_settings(self, values: dict[str, Any]) -> ReconciliationSettings:
        merged = ReconciliationSettings.model_validate({**self.recon_settings().model_dump(), **values})
        self.settings.set_value(SETTINGS_KEY, merged.model_dump())
        return merged

    # ================================================================== reading
    def fba_links(self) -> dict[str, int]:
        """FBA SKU → product. The same SKU linked in several marketplaces is one SKU (Pan-EU: one pool)."""
        order = {m: i for i, m in enumerate(self.marketplace_ids)}
        out: dict[str, int] = {}
        for link in sorted(self.links(), key=lambda lk: order.get(lk.marketplace_id, len(order))):
            if link.fulfillment_channel == "FBA" and link.sku not in out:
                out[link.sku] = int(link.product_id)
        return out

    def start(self, *, email: bool = True, trigger: str = "schedule") -> dict[str, Any]:
        """Reconcile now (API) or request the MYI report (large catalogues; ``poll`` finishes it)."""
        job = self.store.item("recon#job")
        if job.get("status") == "requested":
            return self.poll()
        rs = self.recon_settings()
        links = self.fba_links()
        use_report = rs.source == "report" or (rs.source == "auto" and len(links) > rs.api_max_skus)
        pool_ids = pools(self.marketplace_ids, EU_MARKETPLACES)
        if not use_report:
            amazon = merge_pools(self.inventory.summaries(m) for m in pool_ids)
            return self._finish(amazon, links, source="getInventorySummaries", email=email, trigger=trigger)
        now = self.clock()
        reports = {m: self.reports_for([m]).create(MYI_REPORT, now - timedelta(days=1), now) for m in pool_ids}
        self.store.set_item("recon#job", {"status": "requested", "reports": reports, "attempts": 1,
                                          "email": email, "trigger": trigger, "requested_at": now.isoformat()})
        logger.info("FBA reconciliation: MYI report requested", extra={"reports": reports})
        return {"requested": reports, "source": MYI_REPORT}

    def poll(self) -> dict[str, Any]:
        """Finish a requested MYI report once Amazon has it (fallback schedule and on demand)."""
        job = self.store.item("recon#job")
        if job.get("status") != "requested":
            return {"polled": "no report open"}
        reports: dict[str, str] = job["reports"]
        states = {m: self.reports_for([m]).get(rid) for m, rid in reports.items()}
        waiting = [m for m, st in states.items() if st.status not in ("DONE", "CANCELLED", "FATAL")]
        if waiting:
            return {"waiting": {m: states[m].status for m in waiting}}
        bad = [m for m, st in states.items() if st.status != "DONE" or not st.document_id]
        if bad:
            # CANCELLED means "no rows": never read as "Amazon holds nothing" (that would zero Brightpearl).
            attempts = int(job.get("attempts", 1))
            if attempts >= MAX_REPORT_ATTEMPTS:
                self.store.set_item("recon#job", {**job, "status": "failed"})
                metrics.add_metric(name="FbaReconciliationFailed", unit=MetricUnit.Count, value=1)
                return {"failed": {m: states[m].status for m in bad}}
            now = self.clock()
            for m in bad:
                reports[m] = self.reports_for([m]).create(MYI_REPORT, now - timedelta(days=1), now)
            self.store.set_item("recon#job", {**job, "reports": reports, "attempts": attempts + 1})
            return {"re-requested": {m: reports[m] for m in bad}}
        per_pool: list[list[AmazonFba]] = []
        for m, st in states.items():
            with self.reports_for([m]).open_document(st.document_id) as lines:
                per_pool.append(from_myi(lines))
        out = self._finish(merge_pools(per_pool), self.fba_links(), source=MYI_REPORT,
                           email=bool(job.get("email", True)), trigger=str(job.get("trigger", "schedule")))
        self.store.set_item("recon#job", {**job, "status": "done", "reconciliation": out["id"]})
        return out

    def _received_now(self) -> dict[str, dict[str, int]]:
        """Amazon's received units per open shipment with a transfer (the records lag up to 30 min)."""
        if self.inbound is None:
            return {}
        return {rec.shipment_id: {i.sku: int(i.received) for i in self.inbound.items(rec.shipment_id)}
                for rec in self.shipments() if rec.stock_transfer_id is not None}

    def _in_flight(self, links: dict[str, int], s: GlobalSettings,
                   received_now: dict[str, dict[str, int]]) -> list[InFlight]:
        out: list[InFlight] = []
        for rec in self.shipments():
            if rec.stock_transfer_id is None:
                continue  # nothing was transferred: Brightpearl has nothing to release
            fresh = received_now.get(rec.shipment_id, {})
            for k in rec.skus:
                if k.product_id is None or k.sku not in links:
                    continue
                f = inbound_unreleased(k.sku, rec.shipment_id, received=max(int(k.received), fresh.get(k.sku, 0)),
                                       transferred=int(k.transferred), released=int(k.released),
                                       corrected=int(k.corrected), over_receipt_corrected=s.over_receipt == "correct")
                if f:
                    out.append(f)
        store = self.observed.inner
        for key in (store.index().get("retry") or {}):
            rec = store.get(key)
            if rec is None or rec.status in FINAL:
                continue
            skus = {str(ln[0]) for ln in rec.detail.get("lines") or []} if rec.kind == "return" else {rec.sku}
            for sku in skus:
                f = movement_in_flight(sku, key=key, kind=rec.kind, status=rec.status, quantity=rec.quantity,
                                       detail=rec.detail, restock_returns=s.restock_returns)
                if f:
                    out.append(f)
        return out

    def _finish(self, amazon: dict[str, AmazonFba], links: dict[str, int], *, source: str, email: bool,
                trigger: str) -> dict[str, Any]:
        s = self.settings.global_settings()
        if s.fba_warehouse_id is None:
            raise ReconciliationError("fba_warehouse_id is not set: nothing to reconcile against")
        wid = int(s.fba_warehouse_id)
        pids = sorted(set(links.values()))
        received_now = self._received_now()
        before = self._in_flight(links, s, received_now)
        avail = self.catalog.availability(pids)
        brightpearl: dict[int, BrightpearlFba | None] = {p: from_availability(p, avail.get(p), wid) for p in pids}
        after = self._in_flight(links, s, received_now)
        lines = mark_unsettled(compare(links=links, amazon=amazon, brightpearl=brightpearl, in_flight=after),
                               before, after)
        now = self.clock()
        rid = now.strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:4]
        t = totals(lines)
        header = {"id": rid, "created_at": now.isoformat(), "source": source, "trigger": trigger,
                  "warehouse_id": wid, "totals": t, "approvals": []}
        self.store.save(rid, header, lines)
        metrics.add_metric(name="FbaReconciliationDifferences", unit=MetricUnit.Count, value=t.get("difference", 0))
        logger.info("FBA reconciliation", extra={"id": rid, "source": source, **t})
        rs = self.recon_settings()
        emailed = None
        if email and self.mailer is not None:
            emailed = self._email(rid, lines, rs.top)
        out: dict[str, Any] = {"id": rid, "source": source, "totals": t, "emailed": emailed,
                               "top": [ln.to_dict() for ln in lines[:rs.top]]}
        if rs.auto_apply_under and trigger == "schedule":
            out["auto_applied"] = self.approve(rid, max_units=rs.auto_apply_under, by="auto-apply")
        return out

    def _email(self, rid: str, lines: list[Line], top: int) -> str | None:
        def mail() -> Any:
            # Names only for what the email shows: its rows and the CSV lines that do not simply match
            # (a name for every agreeing line would cost one more product read per 200 SKUs).
            named = [ln.product_id for ln in lines if ln.status != MATCH]
            return reconciliation_message(rid, lines, top, Names(self.names)(named))

        try:
            message_id = self.mailer.send_once(f"recon#{rid}", mail)  # type: ignore[union-attr]
        except Exception as exc:  # the reconciliation stands without its email; the header says so
            logger.exception("FBA reconciliation email failed")
            error = str(exc)
            self.store.update_header(rid, lambda h: {**h, "email_error": error})
            return None
        if message_id is None:
            return None  # sent by an earlier try of this reconciliation
        self.store.update_header(rid, lambda h: {**h, "emailed": message_id})
        return message_id

    # ================================================================== show
    def show(self, rid: str | None = None, *, skus: Sequence[str] | None = None, status: str | None = None,
             limit: int = 100, with_csv: bool = False) -> dict[str, Any]:
        rid = rid or self.store.latest()
        if rid is None:
            raise ReconciliationError("no reconciliation yet: run reconcile-fba")
        header = self.store.header(rid)
        if header is None:
            raise ReconciliationError(f"no reconciliation {rid!r}")
        lines = self.store.lines(rid, int(header.get("chunks", 0)))
        chosen = [ln for ln in lines if (not skus or set(skus) & set(ln.skus)) and (not status or ln.status == status)]
        out: dict[str, Any] = {"reconciliation": header, "latest": self.store.latest() == rid,
                               "matching": len(chosen), "lines": [ln.to_dict() for ln in chosen[:limit]]}
        if with_csv:
            out["csv"] = to_csv(chosen).decode("utf-8")
        return out

    def rows(self, rid: str) -> list[list[Any]]:
        header = self.store.header(rid) or {}
        return csv_rows(self.store.lines(rid, int(header.get("chunks", 0))))

    # ================================================================== approve / apply
    def approve(self, rid: str, *, skus: Sequence[str] | None = None, max_units: int | None = None,
                dry_run: bool = False, by: str = "operator") -> dict[str, Any]:
        header = self.store.header(rid)
        if header is None:
            raise ReconciliationError(f"no reconciliation {rid!r}")
        latest = self.store.latest()
        if latest != rid:
            # An older reconciliation's differences may already be corrected by a newer one's: applying
            # both would correct the same drift twice.
            raise ReconciliationError(f"reconciliation {rid} is superseded by {latest}; approve that one")
        rs = self.recon_settings()
        age = self.clock() - datetime.fromisoformat(header["created_at"])
        if age > timedelta(hours=rs.max_age_hours):
            raise ReconciliationError(f"reconciliation {rid} is {age.total_seconds() / 3600:.1f} h old (limit "
                                      f"{rs.max_age_hours:g} h): run reconcile-fba again")
        lines = self.store.lines(rid, int(header.get("chunks", 0)))
        chosen = select(lines, skus=skus, max_units=max_units)
        known = {s for ln in lines for s in ln.skus}
        unknown = sorted(set(skus or ()) - known)
        plan: list[dict[str, Any]] = [{"sku": ln.sku, "product_id": ln.product_id, "quantity": ln.suggested,
                 "key": movement_key(rid, ln.sku)} for ln in chosen]
        base = {"id": rid, "selected": len(chosen), "unknown_skus": unknown,
                "units_to_add": sum(ln.suggested for ln in chosen if ln.suggested > 0),
                "units_to_remove": -sum(ln.suggested for ln in chosen if ln.suggested < 0)}
        if dry_run:
            return {**base, "dry_run": True, "would_apply": plan[:500]}
        self.observed.reset()
        changes = [StockChange(key=movement_key(rid, ln.sku), source=SOURCE, kind=KIND, sku=ln.sku,
                               quantity=ln.suggested,
                               why=f"FBA reconciliation {rid}: Amazon sellable {ln.amazon}, "
                                   f"Brightpearl {ln.brightpearl}, in flight {ln.difference - ln.suggested:+d}, "
                                   f"correction {ln.suggested:+d}")
                   for ln in chosen]
        self.movements.ingest(changes, report_id=rid)
        counts: dict[str, int] = {}
        problems: list[dict[str, Any]] = []
        for c in changes:
            rec = self.observed.status.get(c.key)
            st = rec.status if rec else "unknown"
            if st == APPLIED and c.key not in self.observed.saved:
                st = "already_applied"  # an earlier approval applied it: nothing written now
            counts[st] = counts.get(st, 0) + 1
            if st not in (APPLIED, "already_applied") and rec is not None:
                problems.append({"sku": c.sku, "status": st, "error": rec.error, "why": rec.reason})
        approval = {"at": self.clock().isoformat(), "by": by, "skus": list(skus) if skus else None,
                    "max_units": max_units, "selected": len(chosen), "statuses": counts}
        self.store.update_header(rid, lambda h: {**h, "approvals": [*(h.get("approvals") or []), approval]})
        metrics.add_metric(name="FbaReconciliationApplied", unit=MetricUnit.Count, value=counts.get(APPLIED, 0))
        logger.info("FBA reconciliation approved", extra={"id": rid, **counts})
        return {**base, "dry_run": False, "statuses": counts, "problems": problems[:200]}


def headline(lines: Sequence[Line], names: Mapping[int, str] | None = None) -> str:
    """The one line a merchant reads first: how many SKUs differ and the largest difference (issue 14 item 5:
    the body stays this summary and the top lines, whatever the catalogue's size)."""
    differ = [ln for ln in lines if ln.difference]
    if not differ:
        return "No SKU differs."
    big = max(differ, key=lambda ln: (abs(ln.difference), ln.sku))
    name = (names or {}).get(int(big.product_id)) if big.product_id is not None else None
    return (f"{len(differ):,} SKU(s) differ; largest {big.difference:+,} on SKU {big.sku}"
            f"{f' ({name})' if name else ''}.")


def reconciliation_message(rid: str, lines: Sequence[Line], top: int, names: Mapping[int, str] | None = None) -> Any:
    """The reconciliation email (issue 17): the differences first, every line in the CSV, and a signed link
    to the page where the merchant reviews and applies the corrections."""
    from connector.domain.messages import Column, Message, PageLink, Table, product_label

    c = email_content(rid, lines, top=top)
    shown = [ln for ln in lines if ln.difference or ln.status in (UNLINKED, NOT_IN_BRIGHTPEARL)][:top]
    rows = [[ln.sku, product_label(ln.product_id, names), ln.amazon, ln.brightpearl, ln.difference,
             "; ".join(e["note"] for e in ln.explained) or ln.note or "—", ln.suggested] for ln in shown]
    to_fix = sum(1 for ln in lines if ln.status == DIFFERENCE)
    return Message(
        title=c.subject, summary=f"{headline(lines, names)} {c.intro}",
        meaning=(f"{to_fix} SKU(s) differ by more than what is in flight: Brightpearl's FBA warehouse would be "
                 "wrong until corrected." if to_fix else "Brightpearl's FBA warehouse agrees with Amazon once "
                 "what is in flight is counted."),
        todo=("Review the suggested corrections and apply the ones you agree with from the page (or the "
              "command below); nothing is changed until you do." if to_fix else "Nothing."),
        facts=(("Reconciliation", rid), ("Lines", str(len(lines)))),
        tables=(Table.of(f"Differences (first {len(rows)})" if len(rows) == top else "Differences",
                         ["SKU", "Product", Column("Amazon sellable", True), Column("Brightpearl", True),
                          Column("difference", True), "explanation", Column("suggested", True)], rows,
                         limit=top),),
        page=PageLink("reconciliation", rid, "Review and apply the corrections") if to_fix else None,
        cli=f"connector --stack {{stack}} approve {rid} --dry-run",
        cli_doc="reconcile---no-email---set-keyvalue-show-approve",
        attachments=(Attachment(f"fba-reconciliation-{rid}.csv", to_csv(lines, names)),))
