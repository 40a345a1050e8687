"""SP-API simulator: the Reports 2021-06-30 lifecycle on the simulated clock and the flat files it
renders from the FBA world, fetched with the real python-amazon-sp-api client."""

from __future__ import annotations

import gzip
from datetime import timedelta

import httpx
import pytest
from sp_api.api import Reports
from sp_api.base import SellingApiBadRequestException

from simulators.spapi.demo import UK
from simulators.spapi.reports import (
    CUSTOMER_RETURNS_COLUMNS,
    LEDGER_DETAIL_COLUMNS,
    LEDGER_SUMMARY_COLUMNS,
    MFN_RETURNS_COLUMNS,
    MYI_COLUMNS,
    REIMBURSEMENT_COLUMNS,
    REPLACEMENT_COLUMNS,
    parse_tsv,
)
from tests.spapi import amazon_for

LEDGER = "GET_LEDGER_DETAIL_VIEW_DATA"
SPAPI_SPEED = 1  # the shared sim fixture (conftest.py): real time


@pytest.fixture
def reports(sim):
    amazon = amazon_for(sim)
    return amazon.client(Reports)


def run_report(reports, sim, report_type, **kwargs):
    """Create a report, let it finish on the simulated clock, return (report, document text or None)."""
    report_id = reports.create_report(reportType=report_type, marketplaceIds=[UK], **kwargs).payload["reportId"]
    sim.clock.advance(31)
    report = reports.get_report(report_id).payload
    if report["processingStatus"] != "DONE":
        return report, None
    return report, reports.get_report_document(report["reportDocumentId"], download=True).payload["document"]


def header_of(text):
    return [c.strip('"') for c in text.splitlines()[0].split("\t")]


# ---------------------------------------------------------------------------- lifecycle
def test_report_lifecycle_on_the_simulated_clock(reports, sim):
    sim.world.inventory.customer_shipment("FBA-TEA", 1)
    report_id = reports.create_report(reportType=LEDGER, marketplaceIds=[UK]).payload["reportId"]
    assert reports.get_report(report_id).payload["processingStatus"] == "IN_QUEUE"
    sim.clock.advance(6)
    report = reports.get_report(report_id).payload
    assert report["processingStatus"] == "IN_PROGRESS" and "processingStartTime" in report
    sim.clock.advance(25)
    report = reports.get_report(report_id).payload
    assert report["processingStatus"] == "DONE" and report["reportDocumentId"]
    assert report["processingEndTime"] > report["processingStartTime"]


def test_report_without_data_is_cancelled_without_document(reports, sim):
    report, text = run_report(reports, sim, "GET_FBA_REIMBURSEMENTS_DATA")
    assert report["processingStatus"] == "CANCELLED" and "reportDocumentId" not in report and text is None


@pytest.mark.parametrize("outcome", ["FATAL", "CANCELLED"])
def test_forced_outcome(reports, sim, outcome):
    sim.world.report_jobs.force_report_outcome("GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA", outcome)
    report, _ = run_report(reports, sim, "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA")
    assert report["processingStatus"] == outcome
    report, _ = run_report(reports, sim, "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA")  # only the next one
    assert report["processingStatus"] == "DONE"


def test_cancel_report_in_queue(reports, sim):
    report_id = reports.create_report(reportType=LEDGER, marketplaceIds=[UK]).payload["reportId"]
    reports.cancel_report(report_id)
    sim.clock.advance(60)
    assert reports.get_report(report_id).payload["processingStatus"] == "CANCELLED"


def test_get_reports_filters_and_pages(reports, sim):
    ids = [reports.create_report(reportType=t, marketplaceIds=[UK]).payload["reportId"]
           for t in (LEDGER, LEDGER, LEDGER, "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA")]
    sim.clock.advance(60)
    first = reports.get_reports(reportTypes=[LEDGER], pageSize=2)
    assert [r["reportId"] for r in first.payload["reports"]] == [ids[2], ids[1]]  # newest first
    second = reports.get_reports(nextToken=first.next_token)
    assert [r["reportId"] for r in second.payload["reports"]] == [ids[0]] and second.next_token is None
    done = reports.get_reports(reportTypes=["GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA"],
                               processingStatuses=["DONE"]).payload["reports"]
    assert [r["reportId"] for r in done] == [ids[3]]
    with pytest.raises(SellingApiBadRequestException):
        reports.get_reports()


def test_unsupported_report_type_and_bad_marketplace_are_400(reports):
    with pytest.raises(SellingApiBadRequestException):
        reports.create_report(reportType="GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL", marketplaceIds=[UK])
    with pytest.raises(SellingApiBadRequestException):
        reports.create_report(reportType=LEDGER, marketplaceIds=["ATVPDKIKX0DER"])  # a US marketplace


def test_all_listings_report_shows_mfn_quantities_and_fba_channel(reports, sim):
    sim.world.listings["MFN-MUG"].quantity = 7
    _, text = run_report(reports, sim, "GET_MERCHANT_LISTINGS_ALL_DATA")
    rows = {r["seller-sku"]: r for r in parse_tsv(text)}
    assert header_of(text)[3:6] == ["seller-sku", "price", "quantity"]
    assert (rows["MFN-MUG"]["quantity"], rows["MFN-MUG"]["fulfillment-channel"]) == ("7", "DEFAULT")
    assert (rows["FBA-TEA"]["quantity"], rows["FBA-TEA"]["fulfillment-channel"]) == ("", "AMAZON_EU")
    assert rows["MFN-MUG"]["item-name"] == "Café crème mug"


# ---------------------------------------------------------------------------- documents
def test_gzip_document_with_non_ascii_titles_decodes_as_utf8(reports, sim):
    report, text = run_report(reports, sim, "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA")
    meta = reports.get_report_document(report["reportDocumentId"]).payload
    assert meta["compressionAlgorithm"] == "GZIP"
    raw = httpx.get(meta["url"])  # presigned: no SP-API headers
    assert raw.headers["content-type"] == "text/plain;charset=UTF-8"
    assert "Thé vert « Sencha »".encode() in gzip.decompress(raw.content)
    assert "Thé vert « Sencha »" in text


def test_windows_1252_charset_is_sent_and_honoured(reports, sim):
    sim.configure(report_charset="windows-1252", report_compression=None)
    report, text = run_report(reports, sim, "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA")
    meta = reports.get_report_document(report["reportDocumentId"]).payload
    assert "compressionAlgorithm" not in meta
    raw = httpx.get(meta["url"])
    assert raw.headers["content-type"] == "text/plain;charset=windows-1252"
    assert "Café crème".encode("cp1252") not in raw.content  # MFN-only SKUs are not in the FBA report
    assert "Crème brûlée cup".encode("cp1252") in raw.content
    assert "Crème brûlée cup" in text


def test_document_url_expires_after_five_minutes(reports, sim):
    report, _ = run_report(reports, sim, "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA")
    url = reports.get_report_document(report["reportDocumentId"]).payload["url"]
    assert httpx.get(url).status_code == 200
    sim.clock.advance(302)
    expired = httpx.get(url)
    assert expired.status_code == 403 and b"AccessDenied" in expired.content
    fresh = reports.get_report_document(report["reportDocumentId"]).payload["url"]
    assert httpx.get(fresh).status_code == 200


# ---------------------------------------------------------------------------- ledger detail
def ledger_rows(reports, sim, **options):
    kwargs = {"reportOptions": options} if options else {}
    _, text = run_report(reports, sim, LEDGER, **kwargs)
    assert header_of(text) == LEDGER_DETAIL_COLUMNS
    assert all(cell.startswith('"') and cell.endswith('"') for cell in text.splitlines()[1].split("\t"))
    return parse_tsv(text)


def test_ledger_rows_from_every_world_operation(reports, sim):
    w = sim.world
    w.inventory.customer_shipment("FBA-TEA", 2, order_id="202-0000001-0000001")
    w.inventory.customer_return("FBA-TEA", 1, order_id="202-0000001-0000001")
    w.inventory.customer_return("FBA-TEA", 1, order_id="202-0000002-0000002", disposition="CUSTOMER_DAMAGED")
    w.inventory.replacement("FBA-TEA", 1, original_order_id="202-0000001-0000001",
                            replacement_order_id="202-0000003-0000003")
    w.inventory.lose("FBA-TEA", 3)
    w.inventory.find("FBA-TEA", 1)
    w.inventory.damage("FBA-TEA", 2)
    w.inventory.dispose("FBA-TEA", 1, disposition="WAREHOUSE_DAMAGED")
    w.inventory.reimburse("FBA-TEA", quantity_cash=1, quantity_inventory=1, amount_per_unit="4.50")
    shp = w.inbound.create_inbound_shipment({"FBA-CUP": 10})
    w.inbound.ship_inbound(shp.shipment_id)
    w.inbound.receive_inbound(shp.shipment_id, {"FBA-CUP": 4})
    w.inventory.warehouse_transfer("FBA-CUP", 2, from_fc="LTN1", to_fc="BHX4")
    w.inventory.vendor_return("FBA-CUP", 1)
    rows = ledger_rows(reports, sim)
    got = [(r["MSKU"], r["Event Type"], r["Quantity"], r["Disposition"], r["Reason"]) for r in rows]
    assert got == [
        ("FBA-TEA", "Shipments", "-2", "SELLABLE", ""),
        ("FBA-TEA", "CustomerReturns", "1", "SELLABLE", ""),
        ("FBA-TEA", "CustomerReturns", "1", "CUSTOMER_DAMAGED", ""),
        ("FBA-TEA", "Shipments", "-1", "SELLABLE", ""),
        ("FBA-TEA", "Adjustments", "-3", "SELLABLE", "M"),
        ("FBA-TEA", "Adjustments", "1", "SELLABLE", "F"),
        ("FBA-TEA", "Adjustments", "-2", "SELLABLE", "E"),
        ("FBA-TEA", "Adjustments", "2", "WAREHOUSE_DAMAGED", "P"),
        ("FBA-TEA", "Adjustments", "-1", "WAREHOUSE_DAMAGED", "D"),
        ("FBA-TEA", "Adjustments", "1", "SELLABLE", "N"),
        ("FBA-CUP", "Receipts", "4", "SELLABLE", ""),
        ("FBA-CUP", "WhseTransfers", "-2", "SELLABLE", ""),
        ("FBA-CUP", "WhseTransfers", "2", "SELLABLE", ""),
        ("FBA-CUP", "VendorReturns", "-1", "SELLABLE", ""),
    ]
    assert rows[0]["Reference ID"] == "202-0000001-0000001" and rows[3]["Reference ID"] == "202-0000003-0000003"
    assert rows[6]["Reference ID"] == rows[7]["Reference ID"]  # the E/P pair
    assert (rows[4]["Reconciled Quantity"], rows[4]["Unreconciled Quantity"]) == ("0", "3")
    assert rows[5]["Reconciled Quantity"] == "1"
    assert rows[10]["Reference ID"] == shp.shipment_id
    assert (rows[0]["FNSKU"], rows[0]["ASIN"], rows[0]["Title"]) == ("X00TEA0001", "B0TEA00001", "Thé vert « Sencha »")
    assert rows[0]["Date and Time"].endswith("+0000") and len(rows[0]["Date"]) == 10
    # Stock: the 2 shipped units were already reserved; 40 + 1 - 1 - 3 + 1 - 2 + 1 sellable; 2 damaged, 1 disposed.
    stock = w.fba["FBA-TEA"]
    assert stock.pending_customer_order == 0
    assert stock.on_hand["SELLABLE"] == 37 and stock.on_hand["WAREHOUSE_DAMAGED"] == 1
    assert stock.on_hand["CUSTOMER_DAMAGED"] == 2


def test_ledger_event_type_option_and_time_window(reports, sim):
    sim.clock.set_speed(0)
    now = sim.clock.now()
    sim.world.inventory.customer_shipment("FBA-TEA", 1, at=now - timedelta(days=40))  # outside the default 30 days
    sim.world.inventory.customer_shipment("FBA-TEA", 1)
    sim.clock.advance(10)
    sim.world.inventory.lose("FBA-TEA", 1)
    rows = ledger_rows(reports, sim, eventType="Shipments")
    assert [(r["Event Type"], r["Quantity"]) for r in rows] == [("Shipments", "-1")]
    _, text = run_report(reports, sim, LEDGER, dataStartTime=(now - timedelta(days=60)).isoformat(),
                         dataEndTime=now.isoformat())
    assert len(parse_tsv(text)) == 2  # the old shipment and the one at "now"; the loss came later


def test_ledger_summary_balances(reports, sim):
    sim.world.inventory.customer_shipment("FBA-CUP", 3)
    sim.world.inventory.lose("FBA-CUP", 1)
    _, text = run_report(reports, sim, "GET_LEDGER_SUMMARY_VIEW_DATA")
    assert header_of(text) == LEDGER_SUMMARY_COLUMNS
    today = [r for r in parse_tsv(text) if r["MSKU"] == "FBA-CUP"][-1]
    assert (today["Starting Warehouse Balance"], today["Customer Shipments"], today["Lost"],
            today["Ending Warehouse Balance"], today["Location"]) == ("12", "-3", "-1", "8", "GB")


# ---------------------------------------------------------------------------- other FBA reports
def test_customer_returns_report(reports, sim):
    ret = sim.world.inventory.customer_return("FBA-TEA", 2, order_id="202-1111111-1111111", disposition="DEFECTIVE",
                                    reason="DEFECTIVE", comments="broke")
    _, text = run_report(reports, sim, "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA")
    assert header_of(text) == CUSTOMER_RETURNS_COLUMNS
    (row,) = parse_tsv(text)
    assert row["order-id"] == "202-1111111-1111111" and row["quantity"] == "2"
    assert (row["detailed-disposition"], row["reason"], row["customer-comments"]) == ("DEFECTIVE", "DEFECTIVE", "broke")
    assert row["license-plate-number"] == ret.license_plate_number and row["return-date"].endswith("+00:00")
    assert sim.world.fba["FBA-TEA"].on_hand["DEFECTIVE"] == 2


def test_replacement_report(reports, sim):
    sim.world.inventory.replacement("FBA-CUP", 1, original_order_id="202-2-2", replacement_order_id="202-3-3",
                                    reason_code="6")
    _, text = run_report(reports, sim, "GET_FBA_FULFILLMENT_CUSTOMER_SHIPMENT_REPLACEMENT_DATA")
    assert header_of(text) == REPLACEMENT_COLUMNS
    (row,) = parse_tsv(text)
    assert (row["replacement-amazon-order-id"], row["original-amazon-order-id"], row["replacement-reason-code"]) == \
        ("202-3-3", "202-2-2", "6")


def test_reimbursements_report(reports, sim):
    sim.world.inventory.lose("FBA-CUP", 2)
    rmb = sim.world.inventory.reimburse("FBA-CUP", quantity_cash=2, amount_per_unit=3.25, case_id="C1")
    _, text = run_report(reports, sim, "GET_FBA_REIMBURSEMENTS_DATA")
    assert header_of(text) == REIMBURSEMENT_COLUMNS
    (row,) = parse_tsv(text)
    assert (row["reimbursement-id"], row["reason"], row["amount-total"], row["quantity-reimbursed-total"]) == \
        (rmb.reimbursement_id, "Lost_Warehouse", "6.50", "2")
    assert sim.world.fba["FBA-CUP"].researching == 0  # settled by the reimbursement


def test_myi_report(reports, sim):
    shp = sim.world.inbound.create_inbound_shipment({"FBA-CUP": 5})
    _, text = run_report(reports, sim, "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA")
    assert header_of(text) == MYI_COLUMNS
    rows = {r["sku"]: r for r in parse_tsv(text)}
    tea = rows["FBA-TEA"]
    assert (tea["afn-fulfillable-quantity"], tea["afn-unsellable-quantity"], tea["afn-reserved-quantity"],
            tea["afn-warehouse-quantity"], tea["afn-total-quantity"]) == ("40", "1", "2", "43", "43")
    assert rows["FBA-CUP"]["afn-inbound-working-quantity"] == "5" and rows["FBA-CUP"]["afn-total-quantity"] == "17"
    assert shp.shipment_id


def test_mfn_returns_report(reports, sim):
    sim.world.inventory.mfn_return("MFN-MUG", 1, order_id="202-4-4", reason="CR-DEFECTIVE", refunded_amount="9.99")
    _, text = run_report(reports, sim, "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE")
    assert header_of(text) == MFN_RETURNS_COLUMNS
    (row,) = parse_tsv(text)
    assert (row["Order ID"], row["Merchant SKU"], row["Item Name"], row["Refunded Amount"]) == \
        ("202-4-4", "MFN-MUG", "Café crème mug", "9.99")
