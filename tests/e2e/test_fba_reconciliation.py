"""FBA reconciliation end to end: handlers (as Lambda runs them) against both simulators, DynamoDB and SES in moto.

Drift is introduced on either side (Amazon's stock changed with no event, a hand edit in Brightpearl), next to
causes the stack has in flight (units Amazon received that Brightpearl has not released yet, a stock movement
Brightpearl refused). The reconciliation must find every difference, explain the in-flight ones, email a CSV of
every SKU, and after approval apply the rest once: a second approval, and an approval whose answer was lost
(``write_then_fail``), change nothing more. Assertions are on the Brightpearl simulator's FBA warehouse stock,
its journal, and the email read back from SES.
"""

from __future__ import annotations

import csv
import io

import pytest

from connector.adapters.repositories import GlobalSettings, SettingsRepository
from connector.adapters.store import InboundShipment, ReportJob, StockMovement
from local.aws import sent_emails
from local.runtime import invoke
from local.stack import LocalStack, start_stack
from simulators.core import SimClock
from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, UK
from tests.emails import title

pytestmark = pytest.mark.e2e

DE = "A1PA6795UKMFR9"
SELLER = "A1SELLER"
MAIN, FBA = 2, 7
TEA, MUG, CANDLE, SOAP = 1020, 1021, 1022, 1023

BP_SEED = {
    "warehouses": [{"id": MAIN, "name": "Main DC"}, {"id": FBA, "name": "Amazon FBA"}],
    "products": [{"id": TEA, "sku": "TEA-FBA"}, {"id": MUG, "sku": "MUG-FBA"}, {"id": CANDLE, "sku": "CANDLE-FBA"},
                 {"id": SOAP, "sku": "SOAP-FBA"}],
    "stock": [{"productId": TEA, "warehouseId": MAIN, "onHand": 100},
              {"productId": TEA, "warehouseId": FBA, "onHand": 50},
              {"productId": MUG, "warehouseId": FBA, "onHand": 20},
              {"productId": CANDLE, "warehouseId": FBA, "onHand": 10},
              {"productId": SOAP, "warehouseId": FBA, "onHand": 8}],
}
AMAZON_SEED = {
    "credentials": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN},
    "listings": {
        "TEA-FBA": {"channel": "FBA", "fba": {"SELLABLE": 50}},
        "MUG-FBA": {"channel": "FBA", "fba": {"SELLABLE": 20, "CUSTOMER_DAMAGED": 2}},
        "CANDLE-FBA": {"channel": "FBA", "fba": {"SELLABLE": 10}},
        "SOAP-FBA": {"channel": "FBA", "fba": {"SELLABLE": 6, "pending_customer_order": 2}},
        "STRAY-FBA": {"channel": "FBA", "fba": {"SELLABLE": 3}},  # never linked
    },
}
# SOAP is linked in two EU marketplaces: one Pan-EU pool, its units must count once.
LINKS = [(UK, "TEA-FBA", TEA), (UK, "MUG-FBA", MUG), (UK, "CANDLE-FBA", CANDLE), (UK, "SOAP-FBA", SOAP),
         (DE, "SOAP-FBA", SOAP)]


class World:
    def __init__(self, stack: LocalStack) -> None:
        self.stack, self.bp, self.amazon, self.aws = stack, stack.bp, stack.amazon, stack.aws

    def stock(self, pid: int) -> int:
        return self.bp.on_hand(pid, FBA)

    def corrections_posted(self) -> int:
        return len(self.bp.requests(route="post-stock-correction", ok_only=True))

    def operator(self, command: str, **kw) -> dict:
        out = invoke("OperatorFunction", {"command": command, **kw})
        assert out["ok"], out
        return out

    def recon_emails(self) -> list[dict]:
        return [m for m in sent_emails(self.aws) if title(m["subject"]).startswith("FBA reconciliation")]

    def movements_cycle(self) -> None:
        """One report schedule: Amazon's reports are requested, finished and applied as movements."""
        self.stack.report_cycle(5)


@pytest.fixture
def world(local_aws):
    # Two SKUs per page: every reconciliation reads several pages through nextToken.
    with start_stack(aws=local_aws, marketplaces=(UK, DE), clock=SimClock(speed=0), bp_limit=10_000,
                     amazon_rate_scale=1000, inventory_page_size=2, movements_clock=True, api=True) as stack:
        stack.amazon.configure(notification_types=["REPORT_PROCESSING_FINISHED"])
        stack.bp.seed(BP_SEED)
        stack.amazon.seed(AMAZON_SEED)
        stack.clear(StockMovement, ReportJob, InboundShipment)
        stack.link((mid, sku, pid, "FBA") for mid, sku, pid in LINKS)
        SettingsRepository().save_global(GlobalSettings(fba_warehouse_id=FBA, inbound_source_warehouse_id=MAIN))
        SettingsRepository().set_value("fba_reconciliation", {})
        stack.purge("NotificationsQueue")
        yield World(stack)


def drift(w: World) -> None:
    """Unexplained drift on both sides, and two causes the stack has in flight."""
    w.amazon.world_op("set_fba_stock", sku="CANDLE-FBA", spec={"SELLABLE": 13})  # Amazon: +3, no event
    w.bp.adjust_on_hand(MUG, FBA, -2)  # Brightpearl: someone took 2 off by hand
    # Inbound: the transfer is shipped to Amazon (10 units into the FBA warehouse's quarantine), Amazon has
    # received 6 since the inbound function last ran, so Brightpearl has not released them yet.
    shipment = w.amazon.world_op("create_inbound_shipment", items={"TEA-FBA": 10}, shipment_id="FBA15TEA")
    assert shipment
    invoke("InboundShipmentsFunction", {})
    w.amazon.world_op("ship_inbound", shipment_id="FBA15TEA")
    invoke("InboundShipmentsFunction", {})
    assert w.bp.in_transit(TEA, FBA) == 10
    w.amazon.world_op("receive_inbound", shipment_id="FBA15TEA", items={"TEA-FBA": 6})
    # A loss Amazon reported, whose correction Brightpearl refused: a failed movement (retried hourly).
    w.amazon.world_op("lose", sku="SOAP-FBA", quantity=2)
    fault = w.bp.add_fault({"match": "post-stock-correction", "kind": "status", "status": 400, "count": 1})
    w.movements_cycle()
    assert fault.fired == 1 and w.stock(SOAP) == 8


def test_drift_is_found_explained_emailed_and_applied_once(world: World) -> None:
    w = world
    drift(w)
    out = w.operator("reconcile-fba")
    rid = out["id"]
    lines = {ln["sku"]: ln for ln in w.operator("show-reconciliation", limit=1000)["lines"]}

    # Found on either side, with nothing in flight: suggested as they are.
    assert (lines["CANDLE-FBA"]["difference"], lines["CANDLE-FBA"]["suggested"]) == (3, 3)
    assert (lines["MUG-FBA"]["difference"], lines["MUG-FBA"]["suggested"]) == (2, 2)
    assert lines["MUG-FBA"]["unfulfillable"] == 2  # shown, not compared
    # Explained by what is in flight: nothing to correct.
    tea = lines["TEA-FBA"]
    assert (tea["difference"], tea["suggested"], tea["status"]) == (6, 0, "explained")
    assert [(e["kind"], e["quantity"]) for e in tea["explained"]] == [("inbound_unreleased", 6)]
    soap = lines["SOAP-FBA"]
    # Pan-EU: linked in UK and DE, counted once (4 fulfillable + 2 reserved), and the refused loss explains.
    assert (soap["amazon"], soap["brightpearl"], soap["difference"], soap["suggested"]) == (6, 8, -2, 0)
    assert [(e["kind"], e["quantity"]) for e in soap["explained"]] == [("movement", -2)]
    assert lines["STRAY-FBA"]["status"] == "unlinked"
    pages = w.amazon.requests(route="getInventorySummaries")
    assert len(pages) == 3 and all(p.status == 200 for p in pages)  # 5 SKUs, 2 per page, one pool (not per marketplace)

    # Emailed, with every SKU in the CSV (read back from SES).
    [mail] = [m for m in w.recon_emails() if rid in m["subject"]]  # SES in moto keeps the whole session's
    assert "CANDLE-FBA" in mail["html"] and f"approve {rid}" in mail["text"]  # the CLI command (docs/cli.md)
    assert f"/pages/reconciliation/{rid}?t=" in mail["text"]  # and the signed link to the review page
    [(name, content)] = mail["attachments"].items()
    text = content.decode("utf-8") if isinstance(content, bytes) else content
    rows = {r["sku"]: r for r in csv.DictReader(io.StringIO(text))}
    assert set(rows) == {"TEA-FBA", "MUG-FBA", "CANDLE-FBA", "SOAP-FBA", "STRAY-FBA"} and name.endswith(".csv")
    assert rows["CANDLE-FBA"]["suggested_correction"] == "3" and "inbound FBA15TEA" in rows["TEA-FBA"]["explanation"]

    # Dry run: what would be written, nothing written.
    before = w.corrections_posted()
    dry = w.operator("approve-reconciliation", id=rid, dryRun=True)
    assert dry["selected"] == 2 and {p["sku"] for p in dry["would_apply"]} == {"CANDLE-FBA", "MUG-FBA"}
    assert w.corrections_posted() == before and w.stock(CANDLE) == 10

    # Approve one SKU.
    one = w.operator("approve-reconciliation", id=rid, skus=["CANDLE-FBA"])
    assert one["statuses"] == {"applied": 1} and w.stock(CANDLE) == 13

    # Approve all, and lose the answer of the correction request: found again by reference, not re-sent.
    w.bp.add_fault({"match": "post-stock-correction", "kind": "write_then_fail", "status": 500, "count": 1})
    rest = w.operator("approve-reconciliation", id=rid)
    assert rest["statuses"] == {"already_applied": 1, "applied": 1}, rest
    assert (w.stock(MUG), w.stock(CANDLE)) == (20, 13)

    # A second approval changes nothing.
    posted = w.corrections_posted()
    again = w.operator("approve-reconciliation", id=rid)
    assert again["statuses"] == {"already_applied": 2}
    assert w.corrections_posted() == posted and (w.stock(MUG), w.stock(CANDLE), w.stock(TEA)) == (20, 13, 50)
    explained = invoke("ReportRequestFunction", {"action": "explain", "sku": "CANDLE-FBA"})["movements"]
    assert [(m["kind"], m["status"], m["quantity"]) for m in explained] == [("reconciliation", "applied", 3)]

    # Reconciled again: the corrected SKUs match; the in-flight ones are still explained, not corrected.
    lines2 = {ln["sku"]: ln for ln in w.operator("reconcile-fba", email=False)["top"]}
    assert lines2["CANDLE-FBA"]["status"] == "match" and lines2["MUG-FBA"]["status"] == "match"
    assert lines2["TEA-FBA"]["status"] == "explained" and lines2["SOAP-FBA"]["suggested"] == 0
    # Once the inbound run releases the receipt, TEA matches too.
    invoke("InboundShipmentsFunction", {})
    lines3 = {ln["sku"]: ln for ln in w.operator("reconcile-fba", email=False)["top"]}
    assert lines3["TEA-FBA"]["status"] == "match" and w.stock(TEA) == 56


def test_schedule_auto_applies_small_differences_and_only_the_latest_reconciliation_applies(world: World) -> None:
    w = world
    w.amazon.world_op("set_fba_stock", sku="CANDLE-FBA", spec={"SELLABLE": 13})  # +3
    w.bp.adjust_on_hand(MUG, FBA, -2)  # +2
    emails = len(w.recon_emails())
    first = w.operator("reconcile-fba", email=False)["id"]
    w.operator("reconcile-fba", email=False, settings={"auto_apply_under": 2})
    out = invoke("FbaReconciliationFunction", {"action": "start"})
    assert out["auto_applied"]["statuses"] == {"applied": 1}
    assert (w.stock(MUG), w.stock(CANDLE)) == (20, 10)  # 2 applied, 3 left for approval
    refused = invoke("OperatorFunction", {"command": "approve-reconciliation", "id": first})
    assert not refused["ok"] and "superseded" in refused["error"]
    assert w.stock(CANDLE) == 10
    assert len(w.recon_emails()) == emails + 1  # the scheduled run emails; email=False did not


def test_large_catalogues_use_the_myi_report(world: World) -> None:
    w = world
    w.amazon.world_op("set_fba_stock", sku="CANDLE-FBA", spec={"SELLABLE": 13})
    w.operator("reconcile-fba", email=False, settings={"source": "report"})["requested"]
    assert invoke("FbaReconciliationFunction", {"action": "poll"}).get("waiting")
    w.amazon.clock.advance(120)
    out = invoke("FbaReconciliationFunction", {"action": "poll"})
    assert out["source"] == "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA"
    lines = {ln["sku"]: ln for ln in w.operator("show-reconciliation", id=out["id"])["lines"]}
    assert (lines["CANDLE-FBA"]["suggested"], lines["SOAP-FBA"]["amazon"], lines["TEA-FBA"]["status"]) == (
        3, 8, "match")
    assert invoke("FbaReconciliationFunction", {"action": "poll"}) == {"polled": "no report open"}
    assert len(w.amazon.requests(route="getInventorySummaries")) == 0



def test_the_myi_reports_notification_spares_the_poll_its_getreport(world: World) -> None:
    """REPORT_PROCESSING_FINISHED carries the document id (Amazon's guide reads the document from it): once
    the notifications function has recorded it, the poll finishes without asking getReport."""
    w = world
    w.amazon.world_op("set_fba_stock", sku="CANDLE-FBA", spec={"SELLABLE": 13})
    w.operator("reconcile-fba", email=False, settings={"source": "report"})
    w.amazon.clock.advance(120)
    w.amazon.tick()
    w.stack.pump("NotificationsFunction")
    out = invoke("FbaReconciliationFunction", {"action": "poll"})
    assert out["source"] == "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA"
    lines = {ln["sku"]: ln for ln in w.operator("show-reconciliation", id=out["id"])["lines"]}
    assert lines["CANDLE-FBA"]["suggested"] == 3
    assert w.amazon.requests(route="getReport") == []  # the notification said it all
    assert invoke("FbaReconciliationFunction", {"action": "poll"}) == {"polled": "no report open"}
