"""FBA inbound shipments end to end: the scheduled handler (as Lambda runs it) against the SP-API and
Brightpearl simulators over loopback HTTP, with DynamoDB and SES in moto server.

Assertions are on outcomes: the Brightpearl simulator's stock figures and journal, and the emails
SES accepted.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from connector.adapters.inbound_records import ShipmentRecords
from connector.adapters.repositories import GlobalSettings, LinkRepository, SettingsRepository
from connector.adapters.store import InboundShipment
from local.aws import sent_emails
from local.runtime import invoke
from local.stack import start_stack
from simulators.spapi.demo import DEMO_SEED, UK
from tests.emails import has_row, table_rows, title

pytestmark = pytest.mark.e2e

SOURCE, FBA = 2, 3
TEA, CUP, MUG = 1007, 1011, 1013  # Brightpearl products linked to FBA-TEA, FBA-CUP, MFN-MUG
EVENT = json.loads(Path("events/inbound_shipments.json").read_text())
BP_SEED = {
    "warehouses": [{"id": SOURCE, "name": "Main DC", "defaultLocationId": 2, "quarantineLocationId": 9},
                   {"id": FBA, "name": "Amazon FBA", "defaultLocationId": 3, "quarantineLocationId": 10}],
    "products": [{"id": TEA, "sku": "TEA", "name": "Sencha"}, {"id": CUP, "sku": "CUP", "name": "Cup"},
                 {"id": MUG, "sku": "MUG", "name": "Mug"}],
    "stock": [{"productId": TEA, "warehouseId": SOURCE, "onHand": 50},
              {"productId": CUP, "warehouseId": SOURCE, "onHand": 3},
              {"productId": MUG, "warehouseId": SOURCE, "onHand": 10}],
}


@pytest.fixture(scope="module")
def stack(local_aws):
    with start_stack(aws=local_aws, bp_limit=100_000, amazon_rate_scale=1000, notifications=False) as stack:
        yield stack


@pytest.fixture
def world(stack):
    """Fresh simulators, shipments table, links and settings for each test."""
    stack.reset(BP_SEED, DEMO_SEED)
    stack.clear(InboundShipment)
    stack.link([(UK, sku, pid, "FBA") for sku, pid in (("FBA-TEA", TEA), ("FBA-CUP", CUP), ("MFN-MUG", MUG))],
               replace=False)
    LinkRepository().disconnect(UK, "MFN/SLASH 1")
    set_settings()
    return stack.bp, stack.amazon


def set_settings(**overrides):
    SettingsRepository().save_global(GlobalSettings(fba_warehouse_id=FBA, inbound_source_warehouse_id=SOURCE,
                                                    **overrides))


def run():
    return invoke("InboundShipmentsFunction", EVENT)


def writes(bp):
    return [(e.route, e.status) for e in bp.requests(writes_only=True)]


def mails(local_aws, since):
    # Subjects without their "[stack · stage] marketplaces: " prefix (tests/emails.title checks it is there).
    return [{**m, "subject": title(m["subject"])} for m in sent_emails(local_aws)[since:]]


def transfer_notes(bp):
    return {g.stock_transfer_id: {a.product_id: a.quantity for a in g.lines} for g in bp.world.gons.values()}


def assert_quiet(bp, local_aws, times=3):
    """Re-running the schedule changes nothing: no Brightpearl write, no email."""
    before_writes, before_mails = len(bp.requests(writes_only=True)), len(sent_emails(local_aws))
    for _ in range(times):
        run()
    assert bp.requests(writes_only=True)[before_writes:] == []
    assert sent_emails(local_aws)[before_mails:] == []


def test_create_ship_receive_in_two_steps_close(world, local_aws):
    bp, amazon = world
    set_settings()
    bp.set_on_hand(CUP, SOURCE, 20)
    mail0 = len(sent_emails(local_aws))
    shp = amazon.world_op("create_inbound_shipment", items={"FBA-TEA": 10, "FBA-CUP": 5}, shipment_id="FBA1LIFE")

    result = run()
    assert result["writes"] == {"stock-transfer": 1, "external-transfer": 1}
    (transfer,) = bp.world.transfers.values()
    assert transfer.reference == "AMZ-IN-FBA1LIFE" and transfer.target_warehouse_id == FBA
    assert transfer_notes(bp) == {transfer.id: {TEA: 10, CUP: 5}}
    assert bp.figures(TEA, SOURCE) == {"inStock": 50, "onHand": 40, "allocated": 10, "inTransit": 0}
    assert bp.in_transit(TEA, FBA) == 0  # not shipped yet: Amazon still shows WORKING
    assert_quiet(bp, local_aws)

    amazon.world_op("ship_inbound", shipment_id=shp.shipment_id)
    run()
    assert bp.figures(TEA, SOURCE) == {"inStock": 40, "onHand": 40, "allocated": 0, "inTransit": 0}
    assert bp.figures(TEA, FBA)["inTransit"] == 10 and bp.figures(CUP, FBA)["inTransit"] == 5
    assert bp.quarantine(TEA, FBA) == 10 and bp.on_hand(TEA, FBA) == 0

    amazon.world_op("receive_inbound", shipment_id=shp.shipment_id, items={"FBA-TEA": 4})
    run()
    assert (bp.on_hand(TEA, FBA), bp.in_transit(TEA, FBA)) == (4, 6)
    assert (bp.on_hand(CUP, FBA), bp.in_transit(CUP, FBA)) == (0, 5)
    (started,) = mails(local_aws, mail0)
    assert started["subject"] == "Amazon started receiving inbound shipment FBA1LIFE"
    assert "FBA1LIFE" in started["text"] and f"#{transfer.id}" in started["text"]
    assert has_row(started["html"], 'FBA-TEA', 'Sencha (#1007)', '10', '4', '-6')

    amazon.world_op("receive_inbound", shipment_id=shp.shipment_id, items={"FBA-TEA": 6, "FBA-CUP": 5})
    run()
    assert (bp.on_hand(TEA, FBA), bp.in_transit(TEA, FBA)) == (10, 0)
    assert (bp.on_hand(CUP, FBA), bp.in_transit(CUP, FBA)) == (5, 0)
    releases = [e.body for e in bp.requests(route="post-quarantine-release", ok_only=True)]
    assert [(r["productId"], r["quantity"]) for r in releases] == [(TEA, 4), (CUP, 5), (TEA, 6)]
    assert len(mails(local_aws, mail0)) == 1  # receiving is mailed once, not per receipt

    amazon.world_op("close_inbound", shipment_id=shp.shipment_id)
    run()
    subjects = [m["subject"] for m in mails(local_aws, mail0)]
    assert subjects[1:] == ["Amazon received inbound shipment FBA1LIFE in full"]
    assert has_row(mails(local_aws, mail0)[1]["html"], 'FBA-CUP', 'Cup (#1011)', '5', '5', '0')
    assert ShipmentRecords().get("FBA1LIFE").finished
    assert_quiet(bp, local_aws)


def test_short_stock_over_receipt_unexpected_and_unlinked(world, local_aws):
    bp, amazon = world
    mail0 = len(sent_emails(local_aws))
    amazon.world_op("add_listing", sku="FBA-NEW", spec={"channel": "FBA", "title": "Unlinked"})
    shp = amazon.world_op("create_inbound_shipment", items={"FBA-TEA": 10, "FBA-CUP": 5, "FBA-NEW": 2},
                          shipment_id="FBA2DISC")
    run()
    assert transfer_notes(bp) == {next(iter(bp.world.transfers)): {TEA: 10, CUP: 3}}  # only 3 CUP on hand
    by_subject = {m["subject"]: m for m in mails(local_aws, mail0)}
    short = by_subject["Brightpearl is short of stock for inbound shipment FBA2DISC"]
    assert ["SKU", "Product", "Expected", "Transferred", "Short"] in table_rows(short["html"])
    assert has_row(short["html"], 'FBA-CUP', 'Cup (#1011)', '5', '3', '2')
    unlinked = by_subject["Inbound shipment FBA2DISC has SKUs not linked to Brightpearl products"]
    assert has_row(unlinked["html"], 'FBA-NEW', 'not linked', '2', '0', '-2')
    assert len(by_subject) == 2

    amazon.world_op("ship_inbound", shipment_id=shp.shipment_id)
    amazon.world_op("receive_inbound", shipment_id=shp.shipment_id,
                    items={"FBA-TEA": 12, "FBA-CUP": 3, "MFN-MUG": 1, "FBA-NEW": 2})
    run()
    # Everything Amazon holds is in the FBA warehouse: released from this transfer, the rest by correction.
    assert (bp.on_hand(TEA, FBA), bp.in_transit(TEA, FBA)) == (12, 0)
    assert (bp.on_hand(CUP, FBA), bp.on_hand(MUG, FBA)) == (3, 1)
    corrections = [e.body["corrections"][0] for e in bp.requests(route="post-stock-correction", ok_only=True)]
    assert sorted((c["productId"], c["quantity"]) for c in corrections) == [(TEA, 2), (MUG, 1)]
    assert all("FBA2DISC" in c["reason"] for c in corrections)
    new = {m["subject"]: m for m in mails(local_aws, mail0 + 2)}
    over = new["Amazon received more than expected on inbound shipment FBA2DISC"]
    assert has_row(over["html"], 'FBA-TEA', 'Sencha (#1007)', '10', '12', '2')
    assert "FBA-CUP" not in over["html"]
    extra = new["Amazon received unexpected SKUs on inbound shipment FBA2DISC"]
    assert has_row(extra["html"], 'MFN-MUG', 'Mug (#1013)', '0', '1', '1')
    assert "Amazon started receiving inbound shipment FBA2DISC" in new
    assert len(new) == 3

    amazon.world_op("close_inbound", shipment_id=shp.shipment_id)
    run()
    (closed,) = mails(local_aws, mail0 + 5)
    assert closed["subject"].startswith("Amazon closed inbound shipment FBA2DISC short")
    assert_quiet(bp, local_aws)


def test_lost_goods_out_note_answer_is_read_back_not_sent_again(world, local_aws):
    bp, amazon = world
    amazon.world_op("create_inbound_shipment", items={"FBA-TEA": 7}, shipment_id="FBA3FAIL")
    bp.add_fault({"match": "post-external-transfer", "kind": "write_then_fail", "status": 0, "count": 1})
    run()  # the note was written and the connection dropped: the transfer shows the note, so it is kept
    assert len(bp.world.transfers) == 1 and len(bp.world.gons) == 1
    assert bp.figures(TEA, SOURCE)["allocated"] == 7
    assert len(bp.requests(route="post-external-transfer")) == 1
    (note_id,) = bp.world.gons
    assert ShipmentRecords().get("FBA3FAIL").goods_out_note_id == note_id
    assert_quiet(bp, local_aws)


def test_lost_transfer_creation_resumes_next_run_without_a_second_transfer(world, local_aws):
    bp, amazon = world
    from simulators.brightpearl.history import seed_transfer_history

    seed_transfer_history(bp, 5, source=SOURCE, target=FBA, gap_chance=0, big_gap_every=0)  # ids 60-64
    amazon.world_op("create_inbound_shipment", items={"FBA-TEA": 2}, shipment_id="FBA4LOST")
    bp.add_fault({"match": "post-stock-transfer", "kind": "write_then_fail", "status": 500, "count": 1})
    # The read-back above the high-water mark (64) fails; the reads that took the mark did not.
    bp.add_fault({"match": r"stock-transfer/65-264(\?|$)", "kind": "status", "status": 500, "count": 5})
    with pytest.raises(Exception, match="FBA4LOST"):
        run()  # the run fails (alarm) and the shipment stays "creating"
    record = ShipmentRecords().get("FBA4LOST")
    assert record.transfer_attempted and record.stock_transfer_id is None
    bp.clear_faults()
    run()
    (transfer,) = [t for t in bp.world.transfers.values() if t.reference.startswith("AMZ-IN-")]
    assert transfer.reference == "AMZ-IN-FBA4LOST"
    assert transfer_notes(bp)[transfer.id] == {TEA: 2}
    assert len(bp.requests(route="post-stock-transfer")) == 1  # looked up by reference, not created again
    assert ShipmentRecords().get("FBA4LOST").stock_transfer_id == transfer.id
    assert_quiet(bp, local_aws)


def test_lost_release_answer_is_settled_not_repeated(world, local_aws):
    bp, amazon = world
    shp = amazon.world_op("create_inbound_shipment", items={"FBA-TEA": 5}, shipment_id="FBA5REL")
    amazon.world_op("ship_inbound", shipment_id=shp.shipment_id)
    run()
    amazon.world_op("receive_inbound", shipment_id=shp.shipment_id, items={"FBA-TEA": 3})
    bp.add_fault({"match": "post-quarantine-release", "kind": "write_then_fail", "status": 500, "count": 1})
    run()
    assert (bp.on_hand(TEA, FBA), bp.in_transit(TEA, FBA)) == (3, 2)
    assert len(bp.requests(route="post-quarantine-release")) == 1
    assert ShipmentRecords().get("FBA5REL").pending is None
    assert_quiet(bp, local_aws)


def test_deleted_before_shipping_frees_the_allocation_once(world, local_aws):
    """Issue item 11: the goods-out note is deleted (its allocation freed), even when the DELETE's answer
    is lost, and the email says what was undone."""
    bp, amazon = world
    mail0 = len(sent_emails(local_aws))
    shp = amazon.world_op("create_inbound_shipment", items={"FBA-TEA": 4}, shipment_id="FBA6DEL")
    run()
    assert bp.figures(TEA, SOURCE) == {"inStock": 50, "onHand": 46, "allocated": 4, "inTransit": 0}
    (note_id,) = bp.world.gons
    amazon.world_op("cancel_inbound", shipment_id=shp.shipment_id)
    bp.add_fault({"match": "delete-goods-out-note", "kind": "write_then_fail", "status": 0, "count": 1})
    run()
    assert bp.figures(TEA, SOURCE) == {"inStock": 50, "onHand": 50, "allocated": 0, "inTransit": 0}
    assert bp.world.gons == {} and bp.in_transit(TEA, FBA) == 0
    (cancelled,) = mails(local_aws, mail0)
    assert cancelled["subject"] == "Amazon inbound shipment FBA6DEL was deleted"
    assert f"Goods-out note #{note_id}" in cancelled["text"]
    assert "4 allocated unit(s) are free again" in cancelled["text"]
    assert ShipmentRecords().get("FBA6DEL").finished
    assert_quiet(bp, local_aws)


def test_deleted_after_someone_printed_and_picked_the_note_still_frees_the_allocation(world, local_aws):
    """Brightpearl deletes a goods-out note only once printing/picking/packing are undone: the connector
    sends UPI/UPR first (If-Match), then deletes."""
    bp, amazon = world
    shp = amazon.world_op("create_inbound_shipment", items={"FBA-TEA": 4}, shipment_id="FBA6PRI")
    run()
    (note_id,) = bp.world.gons
    with bp.lock:  # a warehouse user printed and picked the note in Brightpearl
        bp.world.goods_out.gon_event(note_id, {"events": [{"eventCode": c, "occured": "2024-05-01T10:00:00Z",
                                                  "eventOwnerId": 4} for c in ("PRI", "PIC")]}, None)
    amazon.world_op("cancel_inbound", shipment_id=shp.shipment_id)
    run()
    assert bp.world.gons == {}
    assert bp.figures(TEA, SOURCE) == {"inStock": 50, "onHand": 50, "allocated": 0, "inTransit": 0}
    (undo,) = [e.body for e in bp.requests(route="post-goods-out-note-event")]
    assert [e["eventCode"] for e in undo["events"]] == ["UPI", "UPR"]
    assert_quiet(bp, local_aws)


def test_cancelled_after_shipping_brings_the_unreceived_units_back_once(world, local_aws):
    """Issue item 11: shipped, partly received, then cancelled: the units Amazon did not receive leave the
    FBA warehouse's quarantine and return to the source, exactly once although answers are lost."""
    bp, amazon = world
    mail0 = len(sent_emails(local_aws))
    shp = amazon.world_op("create_inbound_shipment", items={"FBA-TEA": 10, "FBA-CUP": 3}, shipment_id="FBA6CAN")
    amazon.world_op("ship_inbound", shipment_id=shp.shipment_id)
    run()
    amazon.world_op("receive_inbound", shipment_id=shp.shipment_id, items={"FBA-TEA": 3})
    run()
    assert (bp.on_hand(TEA, FBA), bp.in_transit(TEA, FBA), bp.on_hand(TEA, SOURCE)) == (3, 7, 40)
    amazon.world_op("receive_inbound", shipment_id=shp.shipment_id, items={"FBA-TEA": 1})  # not yet seen
    amazon.world_op("cancel_inbound", shipment_id=shp.shipment_id)
    bp.add_fault({"match": "post-stock-correction", "kind": "write_then_fail", "status": 500, "count": 2})
    bp.add_fault({"match": "post-quarantine-release", "kind": "write_then_fail", "status": 0, "count": 1})
    run()
    assert bp.figures(TEA, FBA) == {"inStock": 4, "onHand": 4, "allocated": 0, "inTransit": 0}
    assert bp.figures(CUP, FBA) == {"inStock": 0, "onHand": 0, "allocated": 0, "inTransit": 0}
    assert (bp.on_hand(TEA, SOURCE), bp.on_hand(CUP, SOURCE)) == (46, 3)
    assert bp.quarantine(TEA, FBA) == 0 and bp.quarantine(CUP, FBA) == 0
    subjects = [m["subject"] for m in mails(local_aws, mail0)]
    assert subjects[-1] == "Amazon inbound shipment FBA6CAN was cancelled"
    text = mails(local_aws, mail0)[-1]["text"]
    assert "FBA-CUP 3, FBA-TEA 6 unit(s) Amazon did not receive were released" in text
    assert_quiet(bp, local_aws)


def test_hold_policy_waits_for_stock_then_creates(world, local_aws):
    bp, amazon = world
    set_settings(transfer_policy="hold")
    mail0 = len(sent_emails(local_aws))
    amazon.world_op("create_inbound_shipment", items={"FBA-CUP": 5}, shipment_id="FBA7HOLD")
    run()
    run()
    assert bp.world.transfers == {}
    (held,) = mails(local_aws, mail0)
    assert held["subject"] == "Transfer for inbound shipment FBA7HOLD is waiting for stock"
    assert has_row(held["html"], 'FBA-CUP', 'Cup (#1011)', '5', '2')
    bp.set_on_hand(CUP, SOURCE, 5)
    run()
    assert list(transfer_notes(bp).values()) == [{CUP: 5}]


def test_ship_on_created_and_out_of_order_statuses_and_empty_shipments(world, local_aws):
    bp, amazon = world
    set_settings(ship_transfer_on="created")
    shp = amazon.world_op("create_inbound_shipment", items={"FBA-TEA": 3}, shipment_id="FBA8ORDER")
    amazon.world_op("create_inbound_shipment", items={}, shipment_id="FBA8EMPTY")
    run()
    assert bp.in_transit(TEA, FBA) == 3  # shipped in Brightpearl at once
    amazon.world_op("set_inbound_status", shipment_id=shp.shipment_id, status="CHECKED_IN")
    run()
    amazon.world_op("set_inbound_status", shipment_id=shp.shipment_id, status="SHIPPED")  # stale answer
    run()
    record = ShipmentRecords().get("FBA8ORDER")
    assert record.status == "CHECKED_IN"
    assert [h["status"] for h in record.status_history] == ["WORKING", "CHECKED_IN"]
    assert record.plan_id  # the 2024-03-20 plan was mapped to the v0 id
    assert ShipmentRecords().get("FBA8EMPTY").skus == []
    assert len(bp.world.transfers) == 1


def test_hold_ends_when_amazon_shows_the_goods_shipped(world, local_aws):
    bp, amazon = world
    set_settings(transfer_policy="hold")
    mail0 = len(sent_emails(local_aws))
    shp = amazon.world_op("create_inbound_shipment", items={"FBA-CUP": 5}, shipment_id="FBA7GONE")
    run()
    assert bp.world.transfers == {}
    amazon.world_op("ship_inbound", shipment_id=shp.shipment_id)
    run()
    assert list(transfer_notes(bp).values()) == [{CUP: 3}]
    assert bp.in_transit(CUP, FBA) == 3
    assert [m["subject"] for m in mails(local_aws, mail0)] == [
        "Transfer for inbound shipment FBA7GONE is waiting for stock",
        "Brightpearl is short of stock for inbound shipment FBA7GONE"]


def test_lost_first_transfer_answer_is_found_in_an_account_with_12000_transfers(world, local_aws):
    """Issue item 8: the connector holds no transfer yet, the account holds 12 000 with id gaps (some
    longer than a read window); the create is applied but its answer lost. The transfer is found in the
    same run, in a bounded number of reads, and never created twice."""
    from simulators.brightpearl.history import seed_transfer_history

    bp, amazon = world
    history = seed_transfer_history(bp, 12_000, source=SOURCE, target=FBA, seed=11)
    assert history["lastTransferId"] - history["firstTransferId"] > 12_000  # there are gaps
    amazon.world_op("create_inbound_shipment", items={"FBA-TEA": 3}, shipment_id="FBA9BUSY")
    bp.add_fault({"match": "post-stock-transfer", "kind": "write_then_fail", "status": 0, "count": 1})
    reads0 = len(bp.requests(route="get-stock-transfer"))
    run()
    ours = [t for t in bp.world.transfers.values() if t.reference == "AMZ-IN-FBA9BUSY"]
    assert len(ours) == 1 and ours[0].id > history["lastTransferId"]
    assert len(bp.requests(route="post-stock-transfer")) == 1
    record = ShipmentRecords().get("FBA9BUSY")
    assert record.stock_transfer_id == ours[0].id and record.goods_out_note_id
    assert transfer_notes(bp)[ours[0].id] == {TEA: 3}
    reads = len(bp.requests(route="get-stock-transfer")) - reads0
    assert reads <= 30, reads  # O(log n): the high-water mark before the create, one window after
    assert_quiet(bp, local_aws)


def ledger_report(amazon):
    """Amazon finishes a ledger detail report (as the movements flow requests every 4 hours)."""
    with amazon.lock:
        now = amazon.world.now()
        report = amazon.world.report_jobs.create_report("GET_LEDGER_DETAIL_VIEW_DATA", [UK],
                                                        data_start=now - timedelta(days=3), data_end=now)
    amazon.clock.advance(120)
    amazon.tick()
    assert amazon.world.reports[report.report_id].status == "DONE"
    return report.report_id


def test_stale_v0_receipts_come_from_the_ledger_released_once(world, local_aws):
    """Issue item 7: v0 getShipmentItems shows nothing received (stale) while the ledger's Receipts rows
    show the units: they are released from the ledger's figure, once, and the email names the source."""
    bp, amazon = world
    mail0 = len(sent_emails(local_aws))
    shp = amazon.world_op("create_inbound_shipment", items={"FBA-TEA": 10, "FBA-CUP": 3}, shipment_id="FBA7LEDG")
    amazon.world_op("ship_inbound", shipment_id=shp.shipment_id)
    run()
    amazon.world_op("stale_inbound_v0", shipment_id=shp.shipment_id, received={"FBA-TEA": 4})  # v0 lags
    amazon.world_op("receive_inbound", shipment_id=shp.shipment_id, items={"FBA-TEA": 10, "FBA-CUP": 3})
    run()  # no ledger report yet: v0's 4 is all the connector knows
    assert (bp.on_hand(TEA, FBA), bp.on_hand(CUP, FBA)) == (4, 0)
    ledger_report(amazon)
    run()
    assert bp.figures(TEA, FBA) == {"inStock": 10, "onHand": 10, "allocated": 0, "inTransit": 0}
    assert bp.figures(CUP, FBA) == {"inStock": 3, "onHand": 3, "allocated": 0, "inTransit": 0}
    started = next(m for m in mails(local_aws, mail0) if "started receiving" in m["subject"])
    assert has_row(started["html"], 'FBA-TEA', 'Sencha (#1007)', '10', '4', '-6', 'Amazon shipment items (v0)')
    ledger_report(amazon)  # an overlapping report holds the same rows: never counted twice
    amazon.world_op("stale_inbound_v0", shipment_id=shp.shipment_id, fresh=True)  # v0 catches up
    assert_quiet(bp, local_aws, times=2)
    releases = [(e.body["productId"], e.body["quantity"]) for e in bp.requests(route="post-quarantine-release")]
    assert releases == [(TEA, 4), (CUP, 3), (TEA, 6)]
    assert {s.sku: s.source for s in ShipmentRecords().get("FBA7LEDG").skus} == {"FBA-CUP": "v0+ledger",
                                                                                "FBA-TEA": "v0+ledger"}
    amazon.world_op("stale_inbound_v0", shipment_id=shp.shipment_id, received={})  # v0 shows 0 again at close
    amazon.world_op("close_inbound", shipment_id=shp.shipment_id)
    run()
    closed = mails(local_aws, mail0)[-1]
    assert closed["subject"] == "Amazon received inbound shipment FBA7LEDG in full"
    assert has_row(closed["html"], 'FBA-CUP', 'Cup (#1011)', '3', '3', '0', 'inventory ledger Receipts')
    assert has_row(closed["html"], 'FBA-TEA', 'Sencha (#1007)', '10', '10', '0', 'inventory ledger Receipts')
    assert ShipmentRecords().get("FBA7LEDG").finished


def test_shipment_v0_shows_no_items_for_is_planned_from_2024_items_and_received_from_the_ledger(world, local_aws):
    """Issue item 7: a shipment made through the 2024-03-20 API: v0 shows no items, listShipmentItems
    carries the plan (no received quantities); the transfer is made from it, receipts come from the ledger."""
    bp, amazon = world
    shp = amazon.world_op("create_inbound_shipment", items={"FBA-TEA": 6}, shipment_id="FBA7V2024")
    amazon.world_op("stale_inbound_v0", shipment_id=shp.shipment_id, hide=True)
    run()
    (transfer,) = bp.world.transfers.values()
    assert transfer.reference == "AMZ-IN-FBA7V2024" and transfer_notes(bp) == {transfer.id: {TEA: 6}}
    amazon.world_op("ship_inbound", shipment_id=shp.shipment_id)
    amazon.world_op("receive_inbound", shipment_id=shp.shipment_id, items={"FBA-TEA": 6})
    ledger_report(amazon)
    run()
    assert bp.figures(TEA, FBA) == {"inStock": 6, "onHand": 6, "allocated": 0, "inTransit": 0}
    (line,) = ShipmentRecords().get("FBA7V2024").skus
    assert (line.expected, line.received, line.released, line.source) == (6, 6, 6, "ledger")
    assert_quiet(bp, local_aws)


def test_a_plan_confirmed_late_with_two_shipments_is_booked_once_and_then_never_read_again(world, local_aws):
    """Issue 14 item 4: a 2024-03-20 plan that changes before its placement is confirmed (a second shipment)
    is read until it settles; both shipments become transfers, their receipts are released and mailed, and the
    settled plan is not read again however often Amazon updates it."""
    bp, amazon = world
    mail0 = len(sent_emails(local_aws))
    first = amazon.world_op("create_inbound_shipment", items={"FBA-TEA": 5}, shipment_id="FBA7PLAN1", confirmed=False)
    run()
    amazon.world_op("create_inbound_shipment", items={"FBA-CUP": 2}, shipment_id="FBA7PLAN2", plan_id=first.plan_id)
    run()
    assert bp.world.transfers == {}  # nothing confirmed to book yet
    amazon.world_op("confirm_inbound_plan", plan_id=first.plan_id)
    run()
    assert sorted(t.reference for t in bp.world.transfers.values()) == ["AMZ-IN-FBA7PLAN1", "AMZ-IN-FBA7PLAN2"]
    reads = len(amazon.requests(route="getInboundPlan"))
    for sid in ("FBA7PLAN1", "FBA7PLAN2"):
        amazon.world_op("ship_inbound", shipment_id=sid)
    run()
    amazon.world_op("receive_inbound", shipment_id="FBA7PLAN1", items={"FBA-TEA": 5})
    amazon.world_op("receive_inbound", shipment_id="FBA7PLAN2", items={"FBA-CUP": 1})
    run()
    run()
    assert bp.figures(TEA, FBA) == {"inStock": 5, "onHand": 5, "allocated": 0, "inTransit": 0}
    assert (bp.on_hand(CUP, FBA), bp.in_transit(CUP, FBA)) == (1, 1)
    assert len(amazon.requests(route="getInboundPlan")) == reads  # settled: never read again
    subjects = sorted(m["subject"] for m in mails(local_aws, mail0))
    assert subjects == ["Amazon started receiving inbound shipment FBA7PLAN1",
                        "Amazon started receiving inbound shipment FBA7PLAN2"]


def test_three_runs_worth_of_receipts_continue_at_once_through_the_queue_not_the_schedule(world, local_aws,
                                                                                          monkeypatch, request):
    """Issue 14 item 4: a run stopped by its time budget queues the next; the queue's runs finish the work
    (each unit released once) and the chain ends by itself, with no further schedule."""
    from connector.adapters.inbound_records import QueueContinuations
    from connector.adapters.store import GovernorItem
    from local.queues import pump
    from local.runtime import FakeContext

    bp, amazon = world
    ids = [amazon.world_op("create_inbound_shipment", items={"FBA-TEA": 4, "MFN-MUG": 2}).shipment_id
           for _ in range(4)]
    run()
    for sid in ids:
        amazon.world_op("ship_inbound", shipment_id=sid)
    run()
    for sid in ids:
        amazon.world_op("receive_inbound", shipment_id=sid, items={"FBA-TEA": 3, "MFN-MUG": 2})
    # Lambda's remaining time, charged 80 s per quarantine release the invocation sent (300 s to start with).
    started: dict[str, int] = {}

    def remaining(ctx):
        done = len(bp.requests(route="post-quarantine-release", ok_only=True))
        return 300_000 - 80_000 * (done - started.setdefault(ctx.aws_request_id, done))

    monkeypatch.setattr(FakeContext, "get_remaining_time_in_millis", remaining)
    request.addfinalizer(lambda: GovernorItem(QueueContinuations.KEY).delete(add_version_condition=False))
    first = run()  # the schedule's run
    released = len(bp.requests(route="post-quarantine-release", ok_only=True))
    assert run()["skippedBusy"]  # a schedule firing while the chain runs steps aside and writes nothing
    assert len(bp.requests(route="post-quarantine-release", ok_only=True)) == released
    chained = pump(local_aws, "InboundShipmentsFunction")  # what the event source mapping delivers, at once
    assert first["continued"] and [(r["hop"], r["continued"]) for r in chained] == [(1, True), (2, False)]
    releases = sorted((e.body["productId"], e.body["quantity"])
                      for e in bp.requests(route="post-quarantine-release", ok_only=True))
    assert releases == [(TEA, 3)] * 4 + [(MUG, 2)] * 4
    assert bp.figures(TEA, FBA) == {"inStock": 12, "onHand": 12, "allocated": 0, "inTransit": 4}
    assert bp.figures(MUG, FBA) == {"inStock": 8, "onHand": 8, "allocated": 0, "inTransit": 0}
    assert pump(local_aws, "InboundShipmentsFunction") == []  # the chain ended: nothing left on the queue
    assert run()["skippedBusy"] is False  # ... and said so: the next schedule does not step aside
