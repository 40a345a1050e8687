"""Amazon → Brightpearl stock movements and returns, end to end.

The Amazon simulator's world changes (returns, replacements, losses, damage, finds, reimbursements,
disposals, MFN returns) → the report-request function asks for the reports → the simulator finishes
them on its simulated clock and sends REPORT_PROCESSING_FINISHED to the notifications queue (moto) →
the notifications function downloads and applies them → the Brightpearl simulator's stock, credits and
goods-in notes are asserted. Then every report and notification is replayed three times and nothing
more may change.
"""

from __future__ import annotations

import pytest

from connector.adapters.repositories import LinkRepository
from connector.adapters.store import ReportJob
from local.aws import sent_emails
from local.runtime import invoke
from simulators.spapi.demo import UK
from tests.e2e.report_flows import (
    CANDLE,
    FBA,
    MUG,
    ORDER_MFN,
    ORDER_MISSING,
    ORDER_MUG,
    ORDER_TEA,
    RETURNS,
    SELLER,
    SOAP,
    TEA,
    World,
)
from tests.emails import title

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(movements_world):
    return movements_world


def adjustments_world(w: World) -> None:
    """Replacement, loss (+ reimbursement), damage pair, find, disposal of damaged units."""
    op = w.amazon.world_op
    op("replacement", sku="TEA-FBA", quantity=2, original_order_id=ORDER_TEA)  # -2
    op("lose", sku="TEA-FBA", quantity=3)  # -3
    op("reimburse", sku="TEA-FBA", quantity_cash=3, amount_per_unit="4.00")  # deemed, matched with the loss: 0
    op("damage", sku="MUG-FBA", quantity=2)  # E -2 sellable, P +2 damaged: -2
    op("dispose", sku="MUG-FBA", quantity=2)  # disposal of the damaged units: 0
    op("find", sku="TEA-FBA", quantity=1)  # +1
    op("reimburse", sku="CANDLE-FBA", quantity_cash=2, reason="Lost_Warehouse")  # deemed, no ledger loss: -2


def test_adjustments_replacements_and_deemed_apply_once(world):
    w = world
    adjustments_world(w)
    w.cycle()
    assert w.on_hand(TEA, FBA) == 50 - 2 - 3 + 1
    assert w.on_hand(MUG, FBA) == 20 - 2
    assert w.on_hand(CANDLE, FBA) == 10 - 2
    w.assert_replays_change_nothing()  # later schedules: overlapping windows re-read the same rows
    # One correction request per report applied (ledger, replacements, reimbursements), never one per row.
    assert len(w.bp.requests(route="post-stock-correction", ok_only=True)) == 3

    explained = invoke("ReportRequestFunction", {"action": "explain", "sku": "TEA-FBA"})["movements"]
    kinds = {(m["kind"], m["status"]) for m in explained}
    assert ("replacement", "applied") in kinds and ("lost", "applied") in kinds and ("found", "applied") in kinds
    assert ("deemed", "skipped") in kinds  # matched with the ledger loss


@pytest.mark.parametrize("restock", [True, False])
def test_customer_returns_become_credits_and_raise_stock_once(world, restock):
    w = world
    w.settings(restock_returns=restock)
    op = w.amazon.world_op
    op("customer_return", sku="TEA-FBA", quantity=1, order_id=ORDER_TEA)  # sellable
    op("customer_return", sku="MUG-FBA", quantity=1, order_id=ORDER_MUG, disposition="CUSTOMER_DAMAGED")
    op("mfn_return", sku="SOAP-MFN", quantity=1, order_id=ORDER_MFN)
    w.cycle()

    credits = [o for o in w.bp.world.orders.values() if o.order_type_code == "SC"]
    assert sorted(c.parent_order_id for c in credits) == [1201, 1202, 1203]
    tea = next(c for c in credits if c.parent_order_id == 1201)
    (row,) = tea.rows.values()
    assert (row.product_id, row.quantity, row.net, row.tax) == (TEA, 1, 10.0, 2.0)
    # The sellable FBA return raises the FBA warehouse exactly once: goods-in (restock on) or ledger (off).
    assert w.on_hand(TEA, FBA) == 51
    assert w.on_hand(MUG, FBA) == 20  # unsellable: never restocked
    assert w.on_hand(SOAP, RETURNS) == (1 if restock else 0)
    assert len(w.bp.world.goods_in_notes) == (2 if restock else 0)
    w.assert_replays_change_nothing()


def test_restock_setting_flipped_between_reports_still_raises_once(world):
    w = world
    w.settings(restock_returns=False)
    w.amazon.world_op("customer_return", sku="TEA-FBA", quantity=1, order_id=ORDER_TEA)
    w.cycle()
    assert w.on_hand(TEA, FBA) == 51  # by the ledger row
    w.settings(restock_returns=True)
    w.replay_notifications(1)
    w.cycle()
    assert w.on_hand(TEA, FBA) == 51
    assert not w.bp.world.goods_in_notes


def test_correction_written_then_answer_lost_is_found_by_reference(world):
    w = world
    w.amazon.world_op("lose", sku="TEA-FBA", quantity=1)
    w.cycle()  # a first correction: the connector now knows where Brightpearl's goods-note ids are
    w.amazon.world_op("lose", sku="TEA-FBA", quantity=4)
    w.bp.add_fault({"match": "post-stock-correction", "kind": "write_then_fail", "status": 0, "count": 1})
    w.cycle()
    assert w.on_hand(TEA, FBA) == 45
    w.replay_notifications(3)
    w.cycle()
    assert w.on_hand(TEA, FBA) == 45
    assert len(w.bp.requests(route="post-stock-correction")) == 2  # looked up, never re-sent
    (lost4,) = [m for m in invoke("ReportRequestFunction", {"action": "explain", "sku": "TEA-FBA"})["movements"]
                if m["quantity"] == -4]
    assert lost4["status"] == "applied" and "confirmed in Brightpearl by reference" in lost4["why"]


def test_very_first_correction_with_lost_answer_waits_instead_of_resending(world):
    w = world
    w.amazon.world_op("lose", sku="TEA-FBA", quantity=4)
    w.bp.add_fault({"match": "post-stock-correction", "kind": "write_then_fail", "status": 0, "count": 1})
    w.cycle()
    w.replay_notifications(2)
    assert w.on_hand(TEA, FBA) == 46
    assert len(w.bp.requests(route="post-stock-correction")) == 1  # no id known to look from: not re-sent
    w.amazon.world_op("lose", sku="MUG-FBA", quantity=1)
    w.cycle()  # this correction reveals a recent goods-note id
    w.cycle()  # the retry looks the first one up backwards from it
    assert w.on_hand(TEA, FBA) == 46 and w.on_hand(MUG, FBA) == 19
    assert len(w.bp.requests(route="post-stock-correction")) == 2
    statuses = {m["quantity"]: m["status"]
                for m in invoke("ReportRequestFunction", {"action": "explain", "sku": "TEA-FBA"})["movements"]}
    assert statuses[-4] == "applied"


def test_credit_written_then_answer_lost_is_not_created_twice(world):
    w = world
    w.settings(restock_returns=True)
    w.amazon.world_op("customer_return", sku="TEA-FBA", quantity=1, order_id=ORDER_TEA)
    w.bp.add_fault({"match": "post-sales-credit", "kind": "write_then_fail", "status": 0, "count": 1})
    w.cycle()
    w.replay_notifications(3)
    w.cycle()
    credits = [o for o in w.bp.world.orders.values() if o.order_type_code == "SC"]
    assert len(credits) == 1
    assert w.on_hand(TEA, FBA) == 51


def test_unknown_sku_and_missing_order_wait_then_apply_and_are_in_the_digest(world):
    w = world
    w.settings(restock_returns=True)
    def digests():
        return [e for e in sent_emails(w.aws) if title(e["subject"]).startswith("Amazon movements")]

    before = len(digests())  # the SES mailbox is shared by the whole session
    w.amazon.world_op("lose", sku="NEW-FBA", quantity=1)
    w.amazon.world_op("customer_return", sku="TEA-FBA", quantity=1, order_id=ORDER_MISSING)
    w.amazon.world_op("adjust", sku="CANDLE-FBA", quantity=-1, reason="J")  # a code Amazon does not document
    w.amazon.world_op("lose", sku="CANDLE-FBA", quantity=2)  # in the same report: still applies
    w.cycle()
    assert not [o for o in w.bp.world.orders.values() if o.order_type_code == "SC"]
    assert w.on_hand(CANDLE, FBA) == 8
    invoke("ReportRequestFunction", {})  # the next schedule retries (still missing) and sends the digest
    emails = digests()[before:]
    assert len(emails) == 1
    text = emails[0]["text"]
    assert "NEW-FBA" in text and ORDER_MISSING in text and "unknown adjustment reason code 'J'" in text
    invoke("ReportRequestFunction", {})
    assert len(digests()) == before + 1  # once a day

    # The link and the order appear; the next schedule applies both.
    w.bp.seed({"products": [{"id": 1030, "sku": "NEW-FBA"}],
               "stock": [{"productId": 1030, "warehouseId": FBA, "onHand": 5}],
               "orders": [{"id": 1299, "orderTypeCode": "SO", "externalRef": ORDER_MISSING, "contactId": 209,
                           "warehouseId": FBA, "rows": [{"productId": TEA, "quantity": 1, "net": 10.0, "tax": 2.0,
                                                         "itemCost": 4.0}]}]})
    LinkRepository().connect(seller_id=SELLER, marketplace_id=UK, sku="NEW-FBA", product_id=1030, channel="FBA")
    w.cycle()
    assert w.on_hand(1030, FBA) == 4
    assert [o.parent_order_id for o in w.bp.world.orders.values() if o.order_type_code == "SC"] == [1299]
    assert w.on_hand(TEA, FBA) == 51


def test_dry_run_records_everything_and_writes_nothing(world):
    w = world
    w.settings(dry_run=True, restock_returns=True)
    adjustments_world(w)
    w.amazon.world_op("customer_return", sku="TEA-FBA", quantity=1, order_id=ORDER_TEA)
    w.cycle()
    assert w.writes() == 0
    explained = invoke("ReportRequestFunction", {"action": "explain", "sku": "TEA-FBA"})["movements"]
    assert {m["status"] for m in explained} >= {"dry_run"}
    assert any("would correct -2" in (m["why"] or "") for m in explained)


def test_windows_1252_report_is_not_garbled_and_fatal_is_retried(world):
    w = world
    w.amazon.configure(report_charset="windows-1252")
    w.amazon.world.report_jobs.force_report_outcome("GET_LEDGER_DETAIL_VIEW_DATA", "FATAL", 1)
    w.amazon.world_op("lose", sku="MUG-FBA", quantity=1)
    w.cycle()
    assert w.on_hand(MUG, FBA) == 20  # FATAL: nothing applied yet
    w.cycle()
    assert w.on_hand(MUG, FBA) == 19
    jobs = [j for j in ReportJob.scan() if j.report_type == "GET_LEDGER_DETAIL_VIEW_DATA" and "#" in j.job_id
            and not j.job_id.startswith("cursor")]
    assert sorted(j.status for j in jobs) == ["applied", "fatal"]


def test_loss_netted_against_a_find_then_reimbursed_reduces_the_stock_exactly_once(world):
    """Correctness item 10: a loss and its find in one ledger report net to nothing; Amazon's later
    cash reimbursement (it deems a unit lost) must then reduce the FBA warehouse, not be matched
    against the netted loss."""
    w = world
    w.amazon.world_op("lose", sku="TEA-FBA", quantity=1)
    w.amazon.world_op("find", sku="TEA-FBA", quantity=1)
    w.cycle()
    assert w.on_hand(TEA, FBA) == 50
    w.amazon.world_op("reimburse", sku="TEA-FBA", quantity_cash=1, amount_per_unit="4.00")
    w.cycle(hours=13)  # the reimbursements report is due again (every 12 h)
    assert w.on_hand(TEA, FBA) == 49
    w.assert_replays_change_nothing(2, cycles=1, hours=13)


def test_a_comment_with_an_unclosed_quote_does_not_swallow_the_later_returns(world):
    """Correctness item 9: Amazon's flat files do not escape quotes; a customer comment that opens a
    quote must not make every later line of the returns report vanish (no credit, no restock)."""
    w = world
    w.settings(restock_returns=True)
    op = w.amazon.world_op
    op("customer_return", sku="MUG-FBA", quantity=1, order_id=ORDER_MUG, comments='"arrived broken, 2nd one')
    op("customer_return", sku="TEA-FBA", quantity=1, order_id=ORDER_TEA, comments="ok")
    w.cycle()
    credits = sorted(o.parent_order_id for o in w.bp.world.orders.values() if o.order_type_code == "SC")
    assert credits == [1201, 1202]
    assert w.on_hand(TEA, FBA) == 51 and w.on_hand(MUG, FBA) == 21  # both restocked by their goods-in notes
    (job,) = [j for j in ReportJob.scan() if j.report_type == "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA"
              and j.status == "applied"]
    lines = job.detail["lines"]
    assert lines["lines_in"] == 2 and lines["applied"] == 2 and lines["accounted"] == 2
    w.assert_replays_change_nothing(2, cycles=0)


def test_documents_as_odd_as_amazons_still_apply_exactly_once(world):
    """Scenario API end to end: BOM, no charset, reordered and unknown columns, CRLF and an unclosed
    quote in the returns and ledger documents change nothing the connector does."""
    from simulators.spapi.scenario import Scenario

    w = world
    w.settings(restock_returns=True)
    sc = Scenario(w.amazon.url)
    sc.document("GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA", "bom", "no_charset", "reorder_columns",
                "extra_columns", "crlf", "unclosed_quote")
    sc.document("GET_LEDGER_DETAIL_VIEW_DATA", "bom", "crlf", "extra_columns", "unclosed_quote")
    op = w.amazon.world_op
    op("customer_return", sku="MUG-FBA", quantity=1, order_id=ORDER_MUG)
    op("customer_return", sku="TEA-FBA", quantity=1, order_id=ORDER_TEA)
    op("lose", sku="CANDLE-FBA", quantity=2)
    w.cycle()
    assert sorted(o.parent_order_id for o in w.bp.world.orders.values() if o.order_type_code == "SC") == [1201, 1202]
    assert (w.on_hand(TEA, FBA), w.on_hand(MUG, FBA), w.on_hand(CANDLE, FBA)) == (51, 21, 8)
    applied = [j for j in ReportJob.scan() if j.status == "applied" and (j.detail or {}).get("lines")]
    assert applied and all(j.detail["lines"]["accounted"] == j.detail["lines"]["lines_in"] for j in applied)
    assert {entry["report_type"] for entry in sc.state()["log"]} >= {
        "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA", "GET_LEDGER_DETAIL_VIEW_DATA"}
    w.assert_replays_change_nothing(2, cycles=1)
