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

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.domain.flatfile import HeaderError, cell, parse_int, read_rows
from connector.domain.quantities import EU_MARKETPLACES
from connector.domain.settings import listing_id
from connector.observability import MetricUnit, logger, metrics
from connector.usecases.mfn_sync import MfnSync
from connector.usecases.ports import Links, OnceMail, ProductNames, Reports, Settings
from connector.usecases.product_names import Names

REPORT_TYPE = "GET_MERCHANT_LISTINGS_ALL_DATA"
MAX_ATTEMPTS = 3


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
                 now: Callable[[], datetime] = lambda: datetime.now(UTC), names: ProductNames | None = None) -> None:
        self.names = names  # Brightpearl product names for the summary email (None: SKU and id only)
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
            if job.get("night") == night and job.get("status") in ("requested", "applied"):
                continue  # this night's job exists: a repeated schedule does not request again
            report_id = self.reports_for(marketplaces).create(REPORT_TYPE, self.now() - timedelta(days=1), self.now())
            self.settings.set_value(self._job_key(scope), {"night": night, "status": "requested",
                                                           "report_id": report_id, "attempts": 1,
                                                           "requested_at": self.now().isoformat()})
            started[scope] = report_id
        logger.info("nightly reconciliation requested", extra={"reports": started})
        return {"requested": started}

    # ------------------------------------------------------------------ step 2
    def report_finished(self, report_id: str, document_id: str | None, status: str) -> dict[str, Any] | None:
        for scope in self.scopes:
            job = self.settings.get_value(self._job_key(scope))
            if job.get("report_id") == report_id:
                return self._finish(scope, job, document_id, status)
        return None  # not a report this stack asked for (or an older night's)

    def poll(self) -> dict[str, Any]:
        """Fallback for lost notifications: look at requested jobs, finish the ready ones."""
        out: dict[str, Any] = {}
        for scope, marketplaces in self.scopes.items():
            job = self.settings.get_value(self._job_key(scope))
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
        summary = self.process(scope, marketplaces, amazon, authoritative=status == "DONE" and bool(amazon))
        # The job keeps counts and the first examples (an item holds 400 KB); the email has them all.
        kept = {**summary, "corrected": summary["corrected"][:50], "failing": summary["failing"][:50],
                "corrected_count": len(summary["corrected"]), "failing_count": len(summary["failing"])}
        self.settings.set_value(self._job_key(scope), {**job, "status": "applied", "summary": kept})
        return summary

    def process(self, scope: str, marketplaces: list[str], amazon: dict[str, int | None], *,
                authoritative: bool = False) -> dict[str, Any]:
        links = [link for link in self.links.all() if link.marketplace_id in marketplaces]
        # What Amazon shows replaces our last confirmed value in the comparison (None: not shown).
        shown = {listing_id(link.marketplace_id, link.sku): amazon.get(link.sku) for link in links}
        statuses: dict[str, str] | None = None
        if authoritative:
            # The All Listings report is the seller's whole catalogue: a linked SKU missing from it is
            # not pushed (Amazon would create an offer-only listing) and is flagged; one that appeared
            # since is confirmed. Only changes are written (the first night need not touch every link).
            statuses = {}
            for link in links:
                lid = listing_id(link.marketplace_id, link.sku)
                statuses[lid] = "confirmed" if link.sku in amazon else "not-found"
                if link.fulfillment_channel == "MFN" and statuses[lid] != (link.amazon_status or "confirmed"):
                    self.links.set_amazon_status(
                        lid, statuses[lid], result=None if statuses[lid] == "confirmed"
                        else "not on Amazon: missing from the All Listings report")
        report = self.sync.sync_links(links, trigger="nightly reconciliation", amazon_quantities=shown,
                                      amazon_statuses=statuses, eu_complete=scope == "EU")
        corrected = [{"sku": sku, "marketplace": mid, "amazon_had": amazon.get(sku), "pushed": q}
                     for mid, sku, q in report.pushes]
        failing = [{"sku": link.sku, "marketplace": link.marketplace_id, "result": link.last_result}
                   for link in self.links.all()
                   if link.marketplace_id in marketplaces
                   and (link.last_result or "").startswith(("rejected", "error", "not on Amazon"))]
        summary = {"scope": scope, "night": self.now().date().isoformat(), "listings": len(links),
                   "corrected": corrected, "failing": failing, "feeds": report.feeds,
                   "deleted_products": report.plan.get("deleted_products", []),
                   "eu_conflicts": report.plan.get("eu_conflicts", [])}
        metrics.add_metric(name="NightlyCorrections", unit=MetricUnit.Count, value=len(corrected))
        metrics.add_metric(name="NightlyFailingListings", unit=MetricUnit.Count, value=len(failing))
        logger.info("nightly reconciliation", extra={k: (len(v) if isinstance(v, list) else v)
                                                     for k, v in summary.items()})
        if self.mailer and (corrected or failing or summary["deleted_products"]):
            # Once per scope and night: a re-delivered notification or a poll after a crash mails nothing.
            products = {(link.marketplace_id, link.sku): link.product_id for link in links}
            self.mailer.send_once(f"nightly#{scope}#{summary['night']}",
                                  lambda: _summary_email(summary, products, Names(self.names)))
        return summary


MAX_ROWS_IN_BODY = 50  # the largest corrections in the body; every row in the CSV (issue 14 item 5)


def _change(c: dict[str, Any]) -> int:
    return int(c["pushed"]) - int(c["amazon_had"] or 0)


def _summary_email(summary: dict[str, Any], products: dict[tuple[str, str], Any] | None = None,
                   names: Callable[[Iterable[Any]], dict[int, str]] | None = None) -> Any:
    """The nightly summary: a headline, the largest corrections in the body, every row in CSV attachments,
    products by SKU and Brightpearl name, and a link to the page of failing listings."""
    from connector.domain.messages import Column, Message, PageLink, Table, marketplace_label, product_label

    products = products or {}
    rows_of = summary["corrected"] + summary["failing"]
    known = names([products.get((r["marketplace"], r["sku"])) for r in rows_of]) if names else {}

    def product(r: dict[str, Any]) -> str:
        return product_label(products.get((r["marketplace"], r["sku"])), known)

    tables = []
    # Largest corrections first: the body shows the top ones, the CSV every one.
    corrected = sorted(summary["corrected"], key=lambda c: (-abs(_change(c)), c["sku"], c["marketplace"]))
    headline = ""
    if corrected:
        big = corrected[0]
        headline = (f" {len(corrected):,} listing(s) differed from Brightpearl; largest {_change(big):+,} on SKU "
                    f"{big['sku']} ({marketplace_label(big['marketplace'])}).")
        tables.append(Table.of("Corrected", ["SKU", "Product", "marketplace", Column("Amazon showed", numeric=True),
                                             Column("pushed", numeric=True), Column("change", numeric=True)],
                               [[c["sku"], product(c), marketplace_label(c["marketplace"]),
                                 "—" if c["amazon_had"] is None else c["amazon_had"],
                                 c["pushed"], f"{_change(c):+d}"] for c in corrected],
                               csv_name="corrected.csv", limit=MAX_ROWS_IN_BODY))
    if summary["failing"]:
        tables.append(Table.of("Failing (not updated on Amazon)", ["SKU", "Product", "marketplace", "last result"],
                               [[f["sku"], product(f), marketplace_label(f["marketplace"]), f["result"]]
                                for f in summary["failing"]],
                               csv_name="failing.csv", limit=MAX_ROWS_IN_BODY))
    notes: tuple[str, ...] = ()
    if summary["deleted_products"]:
        ids = ", ".join(map(str, summary["deleted_products"]))
        notes = (f"Products deleted in Brightpearl (their listings were set to 0): {ids}",)
    failing = len(summary["failing"])
    markets = sorted({r["marketplace"] for r in summary["corrected"] + summary["failing"]})
    return Message(
        title=f"Amazon stock nightly check: {len(summary['corrected'])} corrected, {failing} failing",
        summary=(f"Nightly check of {summary['listings']} merchant-fulfilled listing(s) ({summary['scope']}): "
                 f"{len(summary['corrected'])} corrected, {failing} failing.{headline}"),
        meaning=("Corrected listings showed a quantity on Amazon that Brightpearl's stock did not give; they are "
                 "right again. " + (f"{failing} listing(s) could not be updated and may oversell or undersell."
                                    if failing else "Every listing was updated.")),
        todo=("Open the failing listings and fix what Amazon refused (the last result says why), or link them "
              "to the right SKU." if failing else "Nothing."),
        facts=(("Night", str(summary["night"])), ("Feeds sent", str(summary["feeds"]))),
        tables=tuple(tables), notes=notes, marketplaces=tuple(markets) or None,
        page=PageLink("nightly", str(summary["night"]), "Open the failing listings") if failing else None,
        cli="connector --stack {stack} links list -m MARKETPLACE", cli_doc="links-list--m-m-links-show-sku--m-m")
