"""Nightly reconciliation of merchant-fulfilled listings against what Amazon shows.

1. ``start`` (02:00): request Amazon's All Listings report once per scope — one for the whole EU
   (Amazon keeps one quantity per SKU across its marketplaces), one per marketplace elsewhere.
2. When the report is ready (REPORT_PROCESSING_FINISHED, or ``poll`` every 15 minutes as a
   fallback) ``process``: recompute every linked MFN listing, compare with the report's quantity,
   push the differences (one feed when many) and report what was corrected and what failed.

A Lambda never waits for the report: each step runs, records where it is, and returns. Each scope
and night is one job; a repeated notification or poll finds it applied and does nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.domain.csvfile import GzipCsv
from connector.domain.email import Attachment
from connector.domain.flatfile import HeaderError, cell, parse_int, read_rows
from connector.domain.quantities import EU_MARKETPLACES, EuConflict
from connector.domain.slices import MAX_LINKS
from connector.observability import MetricUnit, logger, metrics
from connector.usecases.mfn_sync import MfnSync
from connector.usecases.nightly_summary import (
    CORRECTED_COLUMNS,
    MAX_ROWS_IN_BODY,
    csv_row,
    largest_first,
    shown_rows,
    summary_email,
)
from connector.usecases.ports import Links, OnceMail, ProductNames, Reports, Settings
from connector.usecases.product_names import Names

REPORT_TYPE = "GET_MERCHANT_LISTINGS_ALL_DATA"
MAX_ATTEMPTS = 3
CONFIRMED, NOT_FOUND = "confirmed", "not-found"  # one string each, shared by every link's status
CONFIRM_PREFIX = "confirm#"  # the settings item of a confirmation by report (sync-on, import-links)
# A pass stops at the end of the slice that takes it past this (NightlyReconciliationFunction and
# NotificationsFunction time out at 900 s; a slice of 25 000 links takes well under a minute) and the
# 15-minute poll resumes after the last finished slice.
RUN_BUDGET_S = 600.0


def scopes(marketplace_ids: Sequence[str]) -> dict[str, list[str]]:
    """Report scope → the marketplaces it covers: the EU together, every other marketplace alone."""
    eu = [m for m in marketplace_ids if m in EU_MARKETPLACES]
    out: dict[str, list[str]] = {"EU": eu} if eu else {}
    for m in marketplace_ids:
        if m not in EU_MARKETPLACES:
            out[m] = [m]
    return out


def amazon_mfn_quantities(lines: Iterable[str]) -> dict[str, int | None]:
    """SKU → merchant-fulfilled quantity Amazon shows (None for FBA rows or an empty cell)."""
    columns, rows = read_rows(lines)
    sku_at = columns.require("seller-sku", "sku")
    qty_at = columns.require("quantity")
    channel_at = columns.index("fulfillment-channel")
    out: dict[str, int | None] = {}
    for _, row in rows:
        sku = cell(row, sku_at)
        if not sku:
            continue
        channel = cell(row, channel_at) or "DEFAULT"
        out[sku] = parse_int(cell(row, qty_at)) if channel == "DEFAULT" else None
    return out


class NightlyReconciliation:
    def __init__(self, *, sync: MfnSync, reports_for: Callable[[list[str]], Reports], links: Links,
                 settings: Settings, mailer: OnceMail | None, marketplace_ids: Sequence[str],
                 now: Callable[[], datetime] = lambda: datetime.now(UTC), names: ProductNames | None = None,
                 max_links: int = MAX_LINKS, budget_s: float = RUN_BUDGET_S,
                 timer: Callable[[], float] = time.monotonic) -> None:
        self.names = names  # Brightpearl product names for the summary email (None: SKU and id only)
        # Links are planned and pushed a slice of at most ``max_links`` at a time (issue 14 item 5); a pass
        # that has worked ``budget_s`` stops at the next slice's end and the poll resumes after it.
        self.max_links, self.budget_s, self.timer = max_links, budget_s, timer
        self.sync = sync
        self.reports_for = reports_for
        self.links = links
        self.settings = settings
        self.mailer = mailer
        self.scopes = scopes(marketplace_ids)
        self.now = now

    def _job_key(self, scope: str) -> str:
        return f"nightly#{scope}"

    # ------------------------------------------------------------------ step 1
    def start(self) -> dict[str, Any]:
        night = self.now().date().isoformat()
        started: dict[str, str] = {}
        for scope, marketplaces in self.scopes.items():
            job = self.settings.get_value(self._job_key(scope))
            if job.get("night") == night and job.get("status") in ("requested", "continuing", "applied"):
                continue  # this night's job exists: a repeated schedule does not request again
            report_id = self.reports_for(marketplaces).create(REPORT_TYPE, self.now() - timedelta(days=1), self.now())
            self.settings.set_value(self._job_key(scope), {"night": night, "status": "requested",
                                                           "report_id": report_id, "attempts": 1,
                                                           "requested_at": self.now().isoformat()})
            started[scope] = report_id
        logger.info("nightly reconciliation requested", extra={"reports": started})
        return {"requested": started}

    # ------------------------------------------------------------------ confirmation by report
    def request_confirmation(self, marketplace_id: str, channel_wide: bool) -> str:
        """Confirm many unchecked listings from one All Listings report of the marketplace's scope (sync-on
        of a channel, a large import-links) instead of one getListingsItem per SKU: when the report is
        done, the unchecked links are confirmed (or flagged) and pushed (forced), and with
        ``channel_wide`` every link of the channel too. A request while one is in flight rides on it and
        asks for one more report at its end (links made after a report was generated are not in it)."""
        scope = next(s for s, mids in self.scopes.items() if marketplace_id in mids)
        key = f"{CONFIRM_PREFIX}{scope}"
        job = self.settings.get_value(key)
        open_job = job.get("status") in ("requested", "continuing")
        channels = sorted(set(job.get("channels", []) if open_job else [])
                          | ({marketplace_id} if channel_wide else set()))
        if open_job:
            self.settings.set_value(key, {**job, "channels": channels, "again": True})
            return str(job["report_id"])
        report_id = self.reports_for(self.scopes[scope]).create(REPORT_TYPE, self.now() - timedelta(days=1), self.now())
        self.settings.set_value(key, {"status": "requested", "report_id": report_id, "channels": channels,
                                      "attempts": 1, "requested_at": self.now().isoformat()})
        return report_id

    def _confirm(self, scope: str, job: dict[str, Any], document_id: str | None, status: str) -> dict[str, Any]:
        key, marketplaces = f"{CONFIRM_PREFIX}{scope}", self.scopes[scope]
        if status != "DONE" or not document_id:
            attempts = int(job.get("attempts", 1))
            if attempts >= MAX_ATTEMPTS:
                self.settings.set_value(key, {**job, "status": "failed"})
                metrics.add_metric(name="NightlyReportFailed", unit=MetricUnit.Count, value=1)
                return {"scope": scope, "confirm": "failed"}
            report_id = self.reports_for(marketplaces).create(REPORT_TYPE, self.now() - timedelta(days=1), self.now())
            self.settings.set_value(key, {**job, "report_id": report_id, "attempts": attempts + 1})
            return {"scope": scope, "confirm": "re-requested"}
        try:
            with self.reports_for(marketplaces).open_document(document_id) as lines:
                amazon = amazon_mfn_quantities(lines)
        except HeaderError:
            amazon = {}
        again = bool(job.get("again"))
        channels = set(job.get("channels", []))
        started, done = self.timer(), job.get("next_bucket")
        run = self.sync.run("confirmed by report", force=True, keep_pushes=False)
        confirmed = int(job.get("confirmed_so_far", 0)) if done is not None else 0
        stopped_at: int | None = None
        for part in self.links.slices(marketplaces, max_links=self.max_links, from_bucket=int(done or 0)):
            checked: list[tuple[str, str, int | None, str | None]] = []
            statuses: dict[str, str] = {}
            chosen: set[str] = set()
            for link in part.links:
                if link.fulfillment_channel != "MFN":
                    continue
                if link.amazon_status is None and (link.sku in amazon or not again):
                    # Missing from the report: not on Amazon, unless a link made after the report was
                    # generated may be missing for that reason (``again``: the next report decides).
                    found = link.sku in amazon
                    statuses[link.listing_id] = "confirmed" if found else "not-found"
                    checked.append((link.listing_id, statuses[link.listing_id], None,
                                    None if found else "not on Amazon: missing from the All Listings report"))
                    chosen.add(link.sku)
                elif link.marketplace_id in channels:
                    chosen.add(link.sku)
            confirmed += len(checked)
            # Every EU link of a chosen SKU goes along (the EU rule: one quantity per SKU there; a slice
            # holds every marketplace of its SKUs).
            pushed = {p.link.listing_id for p in run.add([link for link in part.links if link.sku in chosen],
                                                         amazon_statuses=statuses, eu_complete=True, tag=part.start)}
            # A pushed link's "confirmed" rides on its send's write (record_feed_sent / record_push): one
            # write per link fewer. A push deferred or lost in a crash leaves it unchecked; a re-run re-derives it.
            if checked := [c for c in checked if c[0] not in pushed]:
                self.links.set_amazon_statuses(checked)
            if not part.last and (run.throttled or self.timer() - started >= self.budget_s):
                stopped_at = part.end
                break
        report = run.finish()
        if report.deferred or stopped_at is not None:
            resume = run.deferred_from if report.deferred else stopped_at
            self.settings.set_value(key, {**job, "status": "continuing", "document_id": document_id,
                                          "next_bucket": resume, "confirmed_so_far": confirmed,
                                          "continue_after": (self.now() + (CONTINUE_AFTER if report.deferred
                                                                           else timedelta(0))).isoformat()})
            return {"scope": scope, "confirmed": confirmed, "pushed": run.pushed, "feeds": report.feeds,
                    "continuing": resume}
        if again:  # links made while this report ran: one more report confirms them
            report_id = self.reports_for(marketplaces).create(REPORT_TYPE, self.now() - timedelta(days=1), self.now())
            self.settings.set_value(key, {"status": "requested", "report_id": report_id, "channels": [],
                                          "attempts": 1, "requested_at": self.now().isoformat()})
        else:
            self.settings.set_value(key, {**{k: v for k, v in job.items() if k not in _CONTINUATION},
                                          "status": "applied", "confirmed": confirmed,
                                          "pushed": run.pushed, "deferred": len(report.deferred)})
        logger.info("listings confirmed by report", extra={"scope": scope, "checked": confirmed,
                                                           "pushes": run.pushed, "again": again})
        return {"scope": scope, "confirmed": confirmed, "pushed": run.pushed, "feeds": report.feeds}

    # ------------------------------------------------------------------ step 2
    def report_finished(self, report_id: str, document_id: str | None, status: str) -> dict[str, Any] | None:
        for scope in self.scopes:
            job = self.settings.get_value(self._job_key(scope))
            if job.get("report_id") == report_id:
                return self._finish(scope, job, document_id, status)
            confirm = self.settings.get_value(f"{CONFIRM_PREFIX}{scope}")
            if confirm.get("report_id") == report_id and confirm.get("status") == "requested":
                return self._confirm(scope, confirm, document_id, status)
        return None  # not a report this stack asked for (or an older night's)

    def poll(self) -> dict[str, Any]:
        """Fallback for lost notifications: look at requested jobs, finish the ready ones."""
        out: dict[str, Any] = {}
        for scope, marketplaces in self.scopes.items():
            confirm = self.settings.get_value(f"{CONFIRM_PREFIX}{scope}")
            if confirm.get("status") == "requested":
                st = self.reports_for(marketplaces).get(confirm["report_id"])
                if st.status in ("DONE", "CANCELLED", "FATAL"):
                    out[f"confirm {scope}"] = self._confirm(scope, confirm, st.document_id, st.status)
            elif confirm.get("status") == "continuing" and self.now() >= datetime.fromisoformat(
                    str(confirm["continue_after"])):  # stopped at a slice's end: on after the last one done
                out[f"confirm {scope}"] = self._confirm(scope, confirm, confirm.get("document_id"), "DONE")
            job = self.settings.get_value(self._job_key(scope))
            if job.get("status") == "continuing":
                # Feeds deferred by JSON_LISTINGS_FEED's 5 per 5 minutes: go on once the window allows.
                if self.now() >= datetime.fromisoformat(str(job["continue_after"])):
                    out[scope] = self._finish(scope, job, job.get("document_id"), "DONE")
                continue
            if job.get("status") != "requested":
                continue
            st = self.reports_for(marketplaces).get(job["report_id"])
            if st.status in ("DONE", "CANCELLED", "FATAL"):
                out[scope] = self._finish(scope, job, st.document_id, st.status)
        return out

    def _finish(self, scope: str, job: dict[str, Any], document_id: str | None, status: str) -> dict[str, Any]:
        if job.get("status") == "applied":
            return {"scope": scope, "already": "applied"}
        marketplaces = self.scopes[scope]
        if status == "FATAL":
            if int(job.get("attempts", 1)) >= MAX_ATTEMPTS:
                self.settings.set_value(self._job_key(scope), {**job, "status": "failed"})
                metrics.add_metric(name="NightlyReportFailed", unit=MetricUnit.Count, value=1)
                return {"scope": scope, "status": "failed"}
            report_id = self.reports_for(marketplaces).create(REPORT_TYPE, self.now() - timedelta(days=1), self.now())
            self.settings.set_value(self._job_key(scope), {**job, "report_id": report_id,
                                                           "attempts": int(job.get("attempts", 1)) + 1})
            return {"scope": scope, "status": "re-requested"}
        amazon: dict[str, int | None] = {}
        if status == "DONE" and document_id:
            try:
                with self.reports_for(marketplaces).open_document(document_id) as lines:
                    amazon = amazon_mfn_quantities(lines)
            except HeaderError:
                amazon = {}  # an empty report: Amazon shows no listing, every linked one is pushed
        # A DONE report with rows lists every listing of the seller: it confirms (or not) each link.
        # A continuation re-reads the same report: a listing pushed since the first pass is compared with
        # what was pushed, not with the report's (older) quantity, so it is not pushed twice.
        since = job.get("first_pass_at")
        pass_at = datetime.now(UTC)  # the links' push times are real time (the repository's clock)
        summary = self.process(scope, marketplaces, amazon, authoritative=status == "DONE" and bool(amazon),
                               pushed_since=datetime.fromisoformat(since) if since else None,
                               from_bucket=int(job.get("next_bucket") or 0), carried=job.get("carried"))
        if summary.get("continue_from") is not None:
            # Feeds deferred by JSON_LISTINGS_FEED's 5 per 5 minutes (on in 5 minutes), or the pass's time
            # budget used (on at the next poll): the next pass starts at the first slice not finished.
            wait = CONTINUE_AFTER if summary["deferred"] else timedelta(0)
            self.settings.set_value(self._job_key(scope), {
                **job, "status": "continuing", "document_id": document_id,
                "first_pass_at": since or pass_at.isoformat(), "passes": int(job.get("passes", 0)) + 1,
                "next_bucket": summary["continue_from"], "carried": summary["carried"],
                "continue_after": (self.now() + wait).isoformat()})
            return summary
        # The job keeps counts and the first examples (an item holds 400 KB); the email has them all.
        kept = {**{k: v for k, v in summary.items() if k != "carried"}, "corrected": summary["corrected"][:50],
                "failing": summary["failing"][:50]}
        self.settings.set_value(self._job_key(scope), {**{k: v for k, v in job.items() if k not in _CONTINUATION},
                                                       "status": "applied", "summary": kept})
        return summary

    def process(self, scope: str, marketplaces: list[str], amazon: dict[str, int | None], *,
                authoritative: bool = False, pushed_since: datetime | None = None, from_bucket: int = 0,
                carried: dict[str, Any] | None = None) -> dict[str, Any]:
        """Plan and push the scope's links a slice at a time (``Links.slices``: every marketplace of a SKU in
        one slice), from ``from_bucket`` (a continuation). What is kept across slices is bounded: counts,
        the largest corrections, the feeds' outbox (``SyncRun``); the CSV rows are compact tuples."""
        started = self.timer()
        run = self.sync.run("nightly reconciliation", keep_pushes=False)
        carried = dict(carried or {})
        listings = int(carried.get("listings", 0))
        # Not kept to the end: the largest corrections (the body), their products (the body's names), a count,
        # and every row written to a GZIP CSV as each slice goes (the attachment).
        top: list[dict[str, Any]] = []
        top_products: dict[tuple[str, str], int] = {}
        count = int(carried.get("corrected_count", 0))
        csv_rows = GzipCsv(CORRECTED_COLUMNS)
        before: dict[int, int] = {}  # a slice's first bucket -> listings counted before it (a continuation's)
        stopped_at: int | None = None
        for part in self.links.slices(marketplaces, max_links=self.max_links, from_bucket=from_bucket):
            links = part.links
            before[part.start] = listings
            listings += len(links)
            # What Amazon shows replaces our last confirmed value in the comparison (None: not shown), except
            # for a listing pushed since ``pushed_since`` (an earlier pass of this job): the report predates it.
            shown = {link.listing_id: amazon.get(link.sku) for link in links
                     if not _pushed_since(link, pushed_since)}
            statuses: dict[str, str] | None = None
            if authoritative:
                # The All Listings report is the seller's whole catalogue: a linked SKU missing from it is
                # not pushed (Amazon would create an offer-only listing) and is flagged; one that appeared
                # since is confirmed. Only changes are written (the first night need not touch every link).
                statuses = {}
                changed: list[tuple[str, str, int | None, str | None]] = []
                for link in links:
                    lid = link.listing_id
                    statuses[lid] = CONFIRMED if link.sku in amazon else NOT_FOUND
                    if link.fulfillment_channel == "MFN" and statuses[lid] != (link.amazon_status or "confirmed"):
                        changed.append((lid, statuses[lid], None, None if statuses[lid] == "confirmed"
                                        else "not on Amazon: missing from the All Listings report"))
                if changed:
                    self.links.set_amazon_statuses(changed)
            pushes = run.add(links, amazon_quantities=shown, amazon_statuses=statuses, eu_complete=True,
                             tag=part.start)
            rows = [{"sku": p.link.sku, "marketplace": p.link.marketplace_id, "amazon_had": amazon.get(p.link.sku),
                     "pushed": p.quantity} for p in pushes]
            count += len(rows)
            csv_rows.write([csv_row(r, p.link.product_id) for r, p in zip(rows, pushes, strict=True)])
            top = largest_first(top + rows)[:MAX_ROWS_IN_BODY]
            top_products.update({(p.link.marketplace_id, p.link.sku): p.link.product_id for p in pushes})
            kept = {(r["marketplace"], r["sku"]) for r in top}
            top_products = {k: v for k, v in top_products.items() if k in kept}
            del rows
            del links, shown, statuses, pushes
            if not part.last and (run.throttled or self.timer() - started >= self.budget_s):
                stopped_at = part.end  # the pass's budget is used: the next pass goes on from here
                break
        report = run.finish(warn=False)
        continue_from = run.deferred_from if report.deferred else stopped_at
        # The job's one EU warning, at its last pass, with the conflicts of every pass.
        conflicts = [*(EuConflict(**c) for c in carried.get("conflicts", [])), *run.conflicts]
        if continue_from is None:
            run.warn(conflicts)
        deferred = {(m, sku) for m, sku, _q in report.deferred}  # not sent: the next pass counts them
        if deferred:
            count -= sum(1 for _m, _s, _q in report.deferred)
            top = [r for r in top if (r["marketplace"], r["sku"]) not in deferred]
        products = {**{(m, sku): pid for m, sku, pid in carried.get("top_products", [])}, **top_products}
        rows = top
        failing = []
        for link in self.links.all():
            if link.marketplace_id in marketplaces and (link.last_result or "").startswith(
                    ("rejected", "error", "not on Amazon")):
                failing.append({"sku": link.sku, "marketplace": link.marketplace_id, "result": link.last_result})
                if len(failing) <= MAX_ROWS_IN_BODY:  # the body names the first ones
                    products[(link.marketplace_id, link.sku)] = link.product_id
        summary: dict[str, Any] = {
            "scope": scope, "night": self.now().date().isoformat(), "listings": listings,
            "corrected": rows, "failing": failing, "feeds": [*carried.get("feeds", []), *report.feeds],
            "deleted_products": sorted(set(carried.get("deleted_products", []))
                                       | set(report.plan.get("deleted_products", []))),
            "eu_conflicts": [*carried.get("eu_conflicts", []), *report.plan.get("eu_conflicts", [])],
            "deferred": len(report.deferred), "corrected_count": count, "failing_count": len(failing)}
        metrics.add_metric(name="NightlyCorrections", unit=MetricUnit.Count, value=count)
        metrics.add_metric(name="NightlyFailingListings", unit=MetricUnit.Count, value=len(failing))
        logger.info("nightly reconciliation", extra={k: (len(v) if isinstance(v, list) else v)
                                                     for k, v in summary.items()})
        if continue_from is not None:
            # What an earlier pass did, for the email the last pass sends: counts and the largest corrections
            # (a settings item holds 400 KB), not every row.
            top = largest_first([*carried.get("top", []), *rows])[:MAX_ROWS_IN_BODY]
            return {**summary, "continue_from": continue_from, "carried": {
                "listings": before.get(continue_from, listings),
                "corrected_count": count, "top": top, "feeds": summary["feeds"],
                "top_products": [[m, sku, pid] for (m, sku), pid in products.items()],
                "deleted_products": summary["deleted_products"], "eu_conflicts": summary["eu_conflicts"][:200],
                "conflicts": [{"sku": c.sku, "quantities": c.quantities, "settings": c.settings, "pushed": c.pushed}
                              for c in conflicts][:500]}}
        if carried.get("top"):
            # Rows of earlier passes: the largest ones are in the body; this pass's are all in the CSV.
            mine = {(x["sku"], x["marketplace"]) for x in rows}
            summary["corrected"] = largest_first(
                rows + [r for r in carried["top"] if (r["sku"], r["marketplace"]) not in mine])[:MAX_ROWS_IN_BODY]
        attachment = Attachment("corrected.csv.gz", csv_rows.close(), "gzip") if csv_rows.rows else None
        if self.mailer and (summary["corrected"] or failing or summary["deleted_products"]):
            # Once per scope and night: a re-delivered notification or a poll after a crash mails nothing.
            # Product ids only for the rows the body names (the CSV has SKUs), not a map of every link.
            named = {(r["marketplace"], r["sku"]) for r in shown_rows(summary)}
            products = {key: pid for key, pid in products.items() if key in named}
            self.mailer.send_once(f"nightly#{scope}#{summary['night']}", lambda: summary_email(
                summary, products, Names(self.names), corrected_csv=attachment))
        return summary


_CONTINUATION = ("next_bucket", "carried", "continue_after", "confirmed_so_far")  # a finished job drops them

CONTINUE_AFTER = timedelta(minutes=5)  # JSON_LISTINGS_FEED: 5 feeds per 5 minutes per region


def _pushed_since(link: Any, since: datetime | None) -> bool:
    at = getattr(link, "last_push_at", None)
    return since is not None and at is not None and at >= since
