"""Returns credited at what Amazon refunded, end to end on the local stack (issue 16 item 3): Amazon's
returns report and its Finances refund events (SP-API simulator) → the report and notification functions
→ the sales credit in the Brightpearl simulator, asserted there: rows, nominal codes, the Amazon refund
id, once however often the reports and notifications come back; a return waiting for its refund; the
Finances role missing."""

from __future__ import annotations

import pytest

from simulators.spapi.scenario import Scenario
from tests.e2e.report_flows import FBA, ORDER_MFN, ORDER_TEA, TEA, World


@pytest.fixture
def world(movements_world):
    movements_world.settings(credit_amounts="refund")
    return movements_world


def credits(w: World) -> list:
    return [o for o in w.bp.world.orders.values() if o.order_type_code == "SC"]


def movement(w: World, sku: str) -> dict:
    (m,) = [m for m in w.stack.invoke("ReportRequestFunction", {"action": "explain", "sku": sku})["movements"]
            if m["kind"] == "return"]
    return m


def test_partial_refund_with_shipping_and_restocking_fee_becomes_the_credit_once(world):
    w = world
    w.settings(credit_amounts="refund", restock_returns=True,
               refund_nominal_codes={"shipping": "4045", "restocking_fee": "4950"})
    w.amazon.world_op("customer_return", sku="TEA-FBA", quantity=1, order_id=ORDER_TEA)
    event = Scenario(w.amazon.url).refund(ORDER_TEA, [{
        "sku": "TEA-FBA", "quantity": 1, "fees": {"Commission": "1.05"},
        "charges": {"Principal": "-7.50", "Tax": "-1.50", "ShippingCharge": "-2.99", "ShippingTax": "-0.60",
                    "RestockingFee": "1.00"},
        "promotions": [{"type": "PromotionMetaDataDefinitionValue", "amount": "0.50"}]}])
    refund_id = event["ShipmentItemAdjustmentList"][0]["OrderAdjustmentItemId"]
    w.cycle()

    (credit,) = credits(w)
    assert credit.parent_order_id == 1201 and credit.external_ref == f"AMZ-RF-{refund_id}"
    rows = sorted((r.product_id or 0, r.name if r.product_id is None else "", r.quantity, r.net, r.tax,
                   r.nominal_code) for r in credit.rows.values())
    assert rows == [(0, "Promotions taken back", 1, -0.5, 0.0, "4000"),
                    (0, "Restocking fee kept", 1, -1.0, 0.0, "4950"),
                    (0, "Shipping refunded", 1, 2.99, 0.6, "4045"),
                    (TEA, "", 1, 7.5, 1.5, "4000")]
    assert round(sum(r.net + r.tax for r in credit.rows.values()), 2) == 11.09  # what the buyer got back
    assert w.on_hand(TEA, FBA) == 51  # restocked once, by the goods-in note
    m = movement(w, "TEA-FBA")
    assert m["status"] == "applied" and refund_id in m["why"]
    w.assert_replays_change_nothing()


def test_return_waits_for_its_refund_then_credits_what_was_refunded(world):
    w = world
    w.amazon.world_op("mfn_return", sku="SOAP-MFN", quantity=1, order_id=ORDER_MFN)
    w.cycle()
    assert not credits(w)
    m = movement(w, "SOAP-MFN")
    assert m["status"] == "pending" and "waiting for refund" in m["error"]
    w.cycle(1)  # the hourly retry: still nothing refunded
    assert not credits(w)
    w.amazon.world_op("refund", order_id=ORDER_MFN, items=[
        {"sku": "SOAP-MFN", "quantity": 1, "charges": {"Principal": "-3.00", "Tax": "-0.60"}}])
    w.cycle(1)  # refunded, but Finances lists it only hours later (the simulator's default lag: 4.5 hours)
    assert not credits(w) and movement(w, "SOAP-MFN")["status"] == "pending"
    w.cycle(6)  # a waiting return asks again within 6 hours
    (credit,) = credits(w)
    (row,) = credit.rows.values()
    assert (row.quantity, row.net, row.tax, row.nominal_code) == (1, 3.0, 0.6, "4000")
    assert movement(w, "SOAP-MFN")["status"] == "applied"
    w.cycle(1)
    assert len(credits(w)) == 1


def test_without_the_finances_role_the_return_says_so_then_falls_back_when_told(world):
    w = world
    Scenario(w.amazon.url).finances_role(False)
    w.amazon.world_op("customer_return", sku="TEA-FBA", quantity=1, order_id=ORDER_TEA)
    w.cycle()
    assert not credits(w)
    m = movement(w, "TEA-FBA")
    assert m["status"] == "failed" and "Finances role" in m["error"]
    w.settings(credit_amounts="refund", refund_fallback="unit_price")
    w.cycle(1)
    (credit,) = credits(w)
    (row,) = credit.rows.values()
    assert (row.product_id, row.quantity, row.net, row.tax) == (TEA, 1, 10.0, 2.0)  # 1 of 3 at 30.00 + 6.00


def test_refund_without_a_return_is_credited_once_without_restock(world):
    from tests.e2e.test_movements_e2e import MUG, ORDER_MUG

    w = world
    w.settings(credit_amounts="refund", restock_returns=True)
    w.amazon.world_op("refund", order_id=ORDER_MUG, items=[
        {"sku": "MUG-FBA", "quantity": 1, "charges": {"Principal": "-4.00", "Tax": "-0.80"}}])  # a goodwill partial
    w.cycle(1)
    assert not credits(w)  # Amazon's events are read once they are 48 hours old
    for _ in range(3):
        w.cycle(24)
    (credit,) = credits(w)
    (row,) = credit.rows.values()
    assert (credit.parent_order_id, row.product_id, row.net, row.tax) == (1202, MUG, 4.0, 0.8)
    assert credit.external_ref.startswith("AMZ-RF-")
    assert not w.bp.world.goods_in_notes and w.on_hand(MUG, FBA) == 20
    (m,) = [m for m in w.stack.invoke("ReportRequestFunction", {"action": "explain", "sku": "MUG-FBA"})["movements"]
            if m["kind"] == "refund"]
    assert m["status"] == "applied" and "nothing restocked" in m["why"]


def test_a_refund_listed_days_late_in_a_window_already_read_is_credited_once_with_its_rows(world):
    from tests.e2e.test_movements_e2e import MUG, ORDER_MUG

    w = world
    w.settings(credit_amounts="refund", restock_returns=True, refund_nominal_codes={"shipping": "4045"})
    # Posted an hour after the refund, listed by Finances only 5 days after that (a deferred transaction).
    event = Scenario(w.amazon.url).refund(ORDER_MUG, [{"sku": "MUG-FBA", "quantity": 1, "charges": {
        "Principal": "-4.00", "Tax": "-0.80", "ShippingCharge": "-1.50"}}], post_minutes=60,
        visible_minutes=5 * 24 * 60)
    refund_id = event["ShipmentItemAdjustmentList"][0]["OrderAdjustmentItemId"]
    for _ in range(4):
        w.cycle(24)  # the 48-hour read of its window comes and goes: not listed yet
    assert not credits(w)
    for _ in range(3):
        w.cycle(4 * 24)  # the 14-day read
    (credit,) = credits(w)
    assert (credit.parent_order_id, credit.external_ref) == (1202, f"AMZ-RF-{refund_id}")
    rows = sorted((r.product_id or 0, r.quantity, r.net, r.tax, r.nominal_code) for r in credit.rows.values())
    assert rows == [(0, 1, 1.5, 0.0, "4045"), (MUG, 1, 4.0, 0.8, "4000")]
    assert not w.bp.world.goods_in_notes and w.on_hand(MUG, FBA) == 20
    before = w.snapshot()
    for _ in range(2):
        w.cycle(9 * 24)  # the 30-day read finds it again: nothing written twice
    assert w.snapshot() == before
