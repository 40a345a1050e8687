"""Reports of the SP-API simulator: the report job record and the rendering of flat-file report
documents from the world's listings, FBA inventory and inbound shipments (the jobs and the Reports
API routes are in ``report_jobs.py``).

Each renderer returns the document text (tab-separated, header first) and the number of data rows;
a report with no rows ends CANCELLED, as Amazon does. Column names and order are those in the
contract README §4; the ledger reports quote every field.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from simulators.spapi.common import JSON, Shared, iso_ms
from simulators.spapi.inbound import FulfillmentInbound
from simulators.spapi.inventory import FbaInventory
from simulators.spapi.listings import Listing, ListingsItems
from simulators.spapi.removals import ORDER_DETAIL_COLUMNS, SHIPMENT_DETAIL_COLUMNS

SUPPORTED_REPORTS = (
    "GET_LEDGER_DETAIL_VIEW_DATA",
    "GET_LEDGER_SUMMARY_VIEW_DATA",
    "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA",
    "GET_FBA_FULFILLMENT_CUSTOMER_SHIPMENT_REPLACEMENT_DATA",
    "GET_FBA_REIMBURSEMENTS_DATA",
    "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA",
    "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE",
    "GET_MERCHANT_LISTINGS_ALL_DATA",
    "GET_FBA_FULFILLMENT_REMOVAL_ORDER_DETAIL_DATA",
    "GET_FBA_FULFILLMENT_REMOVAL_SHIPMENT_DETAIL_DATA",
)


@dataclass
class ReportSources:
    """What a report is rendered from."""

    shared: Shared
    catalog: ListingsItems
    inventory: FbaInventory
    inbound: FulfillmentInbound
    utc_offset: timedelta = field(default_factory=timedelta)
    removals: Any = None  # simulators.spapi.removals.Removals (removal orders and their packages)


@dataclass
class Report:
    report_id: str
    report_type: str
    marketplace_ids: list[str]
    options: dict[str, str]
    data_start: datetime
    data_end: datetime
    created: datetime
    status: str = "IN_QUEUE"
    processing_start: datetime | None = None
    processing_end: datetime | None = None
    document_id: str | None = None
    forced: str | None = None

    def to_api(self) -> JSON:
        out: dict[str, JSON] = {
            "reportId": self.report_id, "reportType": self.report_type,
            "marketplaceIds": self.marketplace_ids, "createdTime": iso_ms(self.created),
            "processingStatus": self.status,
            "dataStartTime": iso_ms(self.data_start), "dataEndTime": iso_ms(self.data_end),
        }
        if self.processing_start:
            out["processingStartTime"] = iso_ms(self.processing_start)
        if self.processing_end:
            out["processingEndTime"] = iso_ms(self.processing_end)
        if self.document_id:
            out["reportDocumentId"] = self.document_id
        return out

LEDGER_DETAIL_COLUMNS = ["Date", "FNSKU", "ASIN", "MSKU", "Title", "Event Type", "Reference ID", "Quantity",
                         "Fulfillment Center", "Disposition", "Reason", "Country", "Reconciled Quantity",
                         "Unreconciled Quantity", "Date and Time"]
LEDGER_SUMMARY_COLUMNS = ["Date", "FNSKU", "ASIN", "MSKU", "Title", "Disposition", "Starting Warehouse Balance",
                          "In Transit Between Warehouses", "Receipts", "Customer Shipments", "Customer Returns",
                          "Vendor Returns", "Warehouse Transfer In/Out", "Found", "Lost", "Damaged", "Disposed",
                          "Other Events", "Ending Warehouse Balance", "Unknown Events", "Location"]
CUSTOMER_RETURNS_COLUMNS = ["return-date", "order-id", "sku", "asin", "fnsku", "product-name", "quantity",
                            "fulfillment-center-id", "detailed-disposition", "reason", "status",
                            "license-plate-number", "customer-comments"]
REPLACEMENT_COLUMNS = ["shipment-date", "sku", "asin", "fulfillment-center-id", "original-fulfillment-center-id",
                       "quantity", "replacement-reason-code", "replacement-amazon-order-id",
                       "original-amazon-order-id"]
REIMBURSEMENT_COLUMNS = ["approval-date", "reimbursement-id", "case-id", "amazon-order-id", "reason", "sku", "fnsku",
                         "asin", "product-name", "condition", "currency-unit", "amount-per-unit", "amount-total",
                         "quantity-reimbursed-cash", "quantity-reimbursed-inventory", "quantity-reimbursed-total",
                         "original-reimbursement-id", "original-reimbursement-type"]
MYI_COLUMNS = ["sku", "fnsku", "asin", "product-name", "condition", "your-price", "mfn-listing-exists",
               "mfn-fulfillable-quantity", "afn-listing-exists", "afn-warehouse-quantity", "afn-fulfillable-quantity",
               "afn-unsellable-quantity", "afn-reserved-quantity", "afn-total-quantity", "per-unit-volume",
               "afn-inbound-working-quantity", "afn-inbound-shipped-quantity", "afn-inbound-receiving-quantity",
               "afn-researching-quantity", "afn-reserved-future-supply", "afn-future-supply-buyable"]
# Amazon's "All Listings Report" (not in the contract: its layout as Seller Central documents it).
ALL_LISTINGS_COLUMNS = ["item-name", "item-description", "listing-id", "seller-sku", "price", "quantity", "open-date",
                        "image-url", "item-is-marketplace", "product-id-type", "zshop-shipping-fee", "item-note",
                        "item-condition", "zshop-category1", "zshop-browse-path", "zshop-storefront-feature", "asin1",
                        "asin2", "asin3", "will-ship-internationally", "expedited-shipping", "zshop-boldface",
                        "product-id", "bid-for-featured-placement", "add-delete", "pending-quantity",
                        "fulfillment-channel", "merchant-shipping-group", "status"]
MFN_RETURNS_COLUMNS = ["Order ID", "Order date", "Return request date", "Return request status", "Amazon RMA ID",
                       "Merchant RMA ID", "Label type", "Label cost", "Currency code", "Return carrier", "Tracking ID",
                       "Label to be paid by", "A-to-Z Claim", "Is prime", "ASIN", "Merchant SKU", "Item Name",
                       "Return quantity", "Return Reason", "In policy", "Return type", "Resolution", "Invoice number",
                       "Return delivery date", "Order Amount", "Order quantity", "SafeT Action reason",
                       "SafeT claim id", "SafeT claim state", "SafeT claim creation time",
                       "SafeT claim reimbursement amount", "Refunded Amount"]

# Ledger summary buckets by adjustment reason code.
FOUND_CODES = {"F", "N"}
LOST_CODES = {"M", "5"}
DAMAGED_CODES = {"E", "6", "7", "H", "K", "U"}
DISPOSED_CODES = {"D", "G"}
OTHER_CODES = {"O", "P", "Q", "3", "4"}

Rows = list[list[str]]


def _tsv(columns: list[str], rows: Rows, *, quoted: bool = False) -> str:
    def cell(value: str) -> str:
        value = value.replace("\t", " ").replace("\r", " ").replace("\n", " ")
        return '"' + value.replace('"', '""') + '"' if quoted else value

    lines = ["\t".join(cell(c) for c in columns)]
    lines.extend("\t".join(cell(v) for v in row) for row in rows)
    return "\n".join(lines) + "\n"


def _iso_offset(dt: datetime) -> str:
    """``2026-07-31T22:34:59+00:00`` — the timestamp style of the FBA flat files."""
    return dt.astimezone(UTC).replace(microsecond=0).isoformat()


def _in_window(at: datetime, report: Report, until: datetime) -> bool:
    return report.data_start <= at <= min(report.data_end, until)


def _event_rows(src: ReportSources, records: Iterable[Any], report: Report, until: datetime,
                row: Callable[[Any, Listing], list[str]]) -> Rows:
    """``row(record, its listing)`` for each record (returns, replacements…) in the report's window."""
    return [row(r, src.catalog.listings[r.sku]) for r in records if _in_window(r.at, report, until)]


def render_report(src: ReportSources, report: Report, at: datetime) -> tuple[str, int]:
    renderer = RENDERERS[report.report_type]
    return renderer(src, report, at)


def _ledger_detail(src: ReportSources, report: Report, at: datetime) -> tuple[str, int]:
    wanted = report.options.get("eventType")
    tz = src.utc_offset
    rows: Rows = []
    for e in sorted(src.inventory.ledger, key=lambda e: e.at):
        if not _in_window(e.at, report, at) or (wanted and e.event_type != wanted):
            continue
        listing = src.catalog.listings[e.sku]
        local = (e.at + tz).replace(tzinfo=None)
        offset = _offset_text(tz)
        rows.append([
            local.strftime("%m/%d/%Y"), listing.fnsku, listing.asin, e.sku, listing.title, e.event_type,
            e.reference_id, str(e.quantity), e.fc, e.disposition, e.reason, e.country,
            "" if e.reconciled is None else str(e.reconciled),
            "" if e.unreconciled is None else str(e.unreconciled),
            local.strftime("%Y-%m-%dT%H:%M:%S") + offset,
        ])
    return _tsv(LEDGER_DETAIL_COLUMNS, rows, quoted=True), len(rows)


def _offset_text(tz: timedelta) -> str:
    minutes = int(tz.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def _periods(start: datetime, end: datetime, period: str) -> list[tuple[datetime, datetime, str]]:
    """Calendar periods (UTC) covering [start, end], each with its ``Date`` label."""
    out: list[tuple[datetime, datetime, str]] = []
    day = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "MONTHLY":
        cur = day.replace(day=1)
        while cur <= end:
            nxt = (cur.replace(day=28) + timedelta(days=4)).replace(day=1)
            out.append((cur, nxt, cur.strftime("%m/%Y")))
            cur = nxt
    else:
        step = timedelta(days=7 if period == "WEEKLY" else 1)
        if period == "WEEKLY":
            day -= timedelta(days=day.weekday())
        cur = day
        while cur <= end:
            out.append((cur, cur + step, cur.strftime("%m/%d/%Y")))
            cur += step
    return out


def _bucket(event_type: str, reason: str) -> str:
    if event_type == "Receipts":
        return "Receipts"
    if event_type == "Shipments":
        return "Customer Shipments"
    if event_type == "CustomerReturns":
        return "Customer Returns"
    if event_type == "VendorReturns":
        return "Vendor Returns"
    if event_type == "WhseTransfers":
        return "Warehouse Transfer In/Out"
    for codes, name in ((FOUND_CODES, "Found"), (LOST_CODES, "Lost"), (DAMAGED_CODES, "Damaged"),
                        (DISPOSED_CODES, "Disposed"), (OTHER_CODES, "Other Events")):
        if reason in codes:
            return name
    return "Unknown Events"


def _ledger_summary(src: ReportSources, report: Report, at: datetime) -> tuple[str, int]:
    by_fc = report.options.get("aggregateByLocation", "COUNTRY").upper() == "FC"
    period = report.options.get("aggregatedByTimePeriod", "DAILY").upper()
    end = min(report.data_end, at)
    events = sorted(src.inventory.ledger, key=lambda e: e.at)

    def location(fc: str, country: str) -> str:
        return fc if by_fc else country

    opening: dict[tuple[str, str, str], int] = defaultdict(int)
    for (sku, disp), qty in src.inventory.opening.items():
        if qty:
            opening[(sku, disp, location(src.shared.default_fc, src.shared.country))] += qty
    rows: Rows = []
    for p_start, p_end, label in _periods(report.data_start, end, period):
        balance = dict(opening)
        activity: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for e in events:
            key = (e.sku, e.disposition, location(e.fc, e.country))
            if e.at < p_start:
                balance[key] = balance.get(key, 0) + e.quantity
            elif e.at < p_end and e.at <= end:
                activity[key][_bucket(e.event_type, e.reason)] += e.quantity
        for key in sorted(set(balance) | set(activity)):
            start_bal = balance.get(key, 0)
            acts = activity.get(key, {})
            if not start_bal and not acts:
                continue
            sku, disp, loc = key
            listing = src.catalog.listings[sku]
            ending = start_bal + sum(acts.values())
            values = {name: str(acts.get(name, 0)) for name in (
                "Receipts", "Customer Shipments", "Customer Returns", "Vendor Returns", "Warehouse Transfer In/Out",
                "Found", "Lost", "Damaged", "Disposed", "Other Events", "Unknown Events")}
            rows.append([label, listing.fnsku, listing.asin, sku, listing.title, disp, str(start_bal), "0",
                         values["Receipts"], values["Customer Shipments"], values["Customer Returns"],
                         values["Vendor Returns"], values["Warehouse Transfer In/Out"], values["Found"],
                         values["Lost"], values["Damaged"], values["Disposed"], values["Other Events"], str(ending),
                         values["Unknown Events"], loc])
    return _tsv(LEDGER_SUMMARY_COLUMNS, rows, quoted=True), len(rows)


def _customer_returns(src: ReportSources, report: Report, at: datetime) -> tuple[str, int]:
    rows = _event_rows(src, src.inventory.returns, report, at, lambda r, li: [
        _iso_offset(r.at), r.order_id, r.sku, li.asin, li.fnsku, li.title, str(r.quantity), r.fc,
        r.detailed_disposition, r.reason, r.status, r.license_plate_number, r.customer_comments])
    return _tsv(CUSTOMER_RETURNS_COLUMNS, rows), len(rows)


def _replacements(src: ReportSources, report: Report, at: datetime) -> tuple[str, int]:
    rows = _event_rows(src, src.inventory.replacements, report, at, lambda r, li: [
        _iso_offset(r.at), r.sku, li.asin, r.fc, r.original_fc, str(r.quantity), r.reason_code,
        r.replacement_order_id, r.original_order_id])
    return _tsv(REPLACEMENT_COLUMNS, rows), len(rows)


def _reimbursements(src: ReportSources, report: Report, at: datetime) -> tuple[str, int]:
    rows = _event_rows(src, src.inventory.reimbursements, report, at, lambda r, li: [
        _iso_offset(r.at), r.reimbursement_id, r.case_id, r.order_id, r.reason, r.sku, li.fnsku, li.asin, li.title,
        r.condition, r.currency, r.amount_per_unit, r.amount_total, str(r.quantity_cash), str(r.quantity_inventory),
        str(r.quantity_cash + r.quantity_inventory), r.original_reimbursement_id, r.original_reimbursement_type])
    return _tsv(REIMBURSEMENT_COLUMNS, rows), len(rows)


def _myi(src: ReportSources, report: Report, at: datetime) -> tuple[str, int]:
    rows: Rows = []
    for sku in sorted(src.inventory.fba):
        li = src.catalog.listings[sku]
        st = src.inventory.fba[sku]
        working, shipped, receiving = src.inbound.inbound_quantities(sku)
        warehouse = st.on_hand["SELLABLE"] + st.unfulfillable + st.reserved
        mfn = li.channel == "MFN"
        rows.append([sku, li.fnsku, li.asin, li.title, "New" if li.condition == "new_new" else li.condition,
                     li.price or "", "Yes" if mfn else "No", str(li.quantity) if mfn else "",
                     "No" if mfn else "Yes", str(warehouse), str(st.on_hand["SELLABLE"]), str(st.unfulfillable),
                     str(st.reserved), str(warehouse + working + shipped + receiving), "0.0",
                     str(working), str(shipped), str(receiving), str(st.researching), "0", "0"])
    return _tsv(MYI_COLUMNS, rows), len(rows)


def _mfn_returns(src: ReportSources, report: Report, at: datetime) -> tuple[str, int]:
    rows = _event_rows(src, src.inventory.mfn_returns, report, at, lambda r, li: [
        r.order_id, _iso_offset(r.order_date), _iso_offset(r.at), r.status, r.rma_id, "", "AmazonUnPaidLabel", "",
        r.currency, "", "", "Customer", "N", "N", li.asin, r.sku, li.title, str(r.quantity), r.reason, "Y",
        "C-Returns", r.resolution, "", "", r.order_amount, str(r.quantity), "", "", "", "", "", r.refunded_amount])
    return _tsv(MFN_RETURNS_COLUMNS, rows), len(rows)


def _all_listings(src: ReportSources, report: Report, at: datetime) -> tuple[str, int]:
    """Every listing of the report's marketplaces as it stands now; MFN quantity, blank for FBA."""
    rows: Rows = []
    afn = f"AMAZON_{src.shared.region.upper()}"  # the world is one region (AMAZON_EU, AMAZON_NA, …)
    for sku in sorted(src.catalog.listings):
        li = src.catalog.listings[sku]
        if not set(li.marketplace_ids) & set(report.marketplace_ids):
            continue
        mfn = li.channel == "MFN"
        rows.append([li.title, "", f"{zlib.crc32(sku.encode()):010d}L", sku, li.price or "",
                     str(li.quantity) if mfn else "", li.created.strftime("%Y-%m-%d %H:%M:%S UTC"), "", "y", "1",
                     "", "", "11", "", "", "", li.asin, "", "", "", "", "", li.asin, "", "", "0",
                     "DEFAULT" if mfn else afn, "Migrated Template", "Active"])
    return _tsv(ALL_LISTINGS_COLUMNS, rows), len(rows)


def _removal_order_detail(src: ReportSources, report: Report, at: datetime) -> tuple[str, int]:
    rows = src.removals.order_detail_rows(report.data_start, min(report.data_end, at)) if src.removals else []
    return _tsv(ORDER_DETAIL_COLUMNS, rows), len(rows)


def _removal_shipment_detail(src: ReportSources, report: Report, at: datetime) -> tuple[str, int]:
    rows = src.removals.shipment_detail_rows(report.data_start, min(report.data_end, at)) if src.removals else []
    return _tsv(SHIPMENT_DETAIL_COLUMNS, rows), len(rows)


Renderer = Callable[[ReportSources, Report, datetime], tuple[str, int]]
RENDERERS: dict[str, Renderer] = {
    "GET_LEDGER_DETAIL_VIEW_DATA": _ledger_detail,
    "GET_LEDGER_SUMMARY_VIEW_DATA": _ledger_summary,
    "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA": _customer_returns,
    "GET_FBA_FULFILLMENT_CUSTOMER_SHIPMENT_REPLACEMENT_DATA": _replacements,
    "GET_FBA_REIMBURSEMENTS_DATA": _reimbursements,
    "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA": _myi,
    "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE": _mfn_returns,
    "GET_MERCHANT_LISTINGS_ALL_DATA": _all_listings,
    "GET_FBA_FULFILLMENT_REMOVAL_ORDER_DETAIL_DATA": _removal_order_detail,
    "GET_FBA_FULFILLMENT_REMOVAL_SHIPMENT_DETAIL_DATA": _removal_shipment_detail,
}


def parse_tsv(text: str) -> list[dict[str, str]]:
    """Parse a rendered report back into dicts (strips the ledger's quotes); handy in tests."""
    lines = [ln for ln in text.splitlines() if ln]
    if not lines:
        return []

    def cells(line: str) -> list[str]:
        out = []
        for c in line.split("\t"):
            if len(c) >= 2 and c[0] == c[-1] == '"':
                c = c[1:-1].replace('""', '"')
            out.append(c)
        return out

    header = cells(lines[0])
    return [dict(zip(header, cells(line), strict=False)) for line in lines[1:]]


__all__ = ["RENDERERS", "parse_tsv", "render_report"]
