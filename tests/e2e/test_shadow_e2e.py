"""Shadow mode end to end (issue 16 item 4): movements in shadow write nothing to the Brightpearl simulator;
after shadow off, re-read reports and re-delivered notifications move nothing from the shadow period, and
each new movement moves stock exactly once."""

from __future__ import annotations

import pytest

from local.runtime import invoke
from tests.e2e.test_movements_e2e import CANDLE, FBA, MUG, ORDER_TEA, TEA, adjustments_world, world  # noqa: F401

pytestmark = pytest.mark.e2e


def operator(command: str, **fields):
    out = invoke("OperatorFunction", {"command": command, **fields})
    assert out.get("ok", True) is not False, out
    return out


def test_movements_in_shadow_write_nothing_and_nothing_of_them_is_applied_after_off(world):  # noqa: F811
    w = world
    w.settings(shadow=["movements"], restock_returns=True)
    start = w.snapshot()
    adjustments_world(w)
    w.amazon.world_op("customer_return", sku="TEA-FBA", quantity=1, order_id=ORDER_TEA)
    w.cycle()

    # Nothing written: the simulator's stock, goods-in notes, credits and write log are as they were.
    assert w.snapshot() == start
    plan = operator("shadow-report", feature="movements", csv=True)["features"]["movements"]
    by_sku = {r["sku"]: r for r in plan["rows"]}
    # What live would have done (test_movements_e2e: TEA -2 -3 +1 (+1 by the credit's goods-in), MUG -2,
    # CANDLE -2), against Brightpearl's on-hand now.
    assert (by_sku["TEA-FBA"]["now"], by_sku["TEA-FBA"]["change"]) == (50, -3)
    assert (by_sku["MUG-FBA"]["now"], by_sku["MUG-FBA"]["change"]) == (20, -2)
    assert (by_sku["CANDLE-FBA"]["now"], by_sku["CANDLE-FBA"]["change"]) == (10, -2)
    assert "TEA-FBA" in plan["csv"]
    explained = invoke("ReportRequestFunction", {"action": "explain", "sku": "TEA-FBA"})["movements"]
    assert {m["status"] for m in explained if m["kind"] in ("lost", "found", "replacement")} == {"observed"}

    off = operator("shadow-off", feature="movements")
    assert off["applied"]["observedOnly"] == 3 and off["cleared"] == 3
    w.replay_notifications(3)
    for _ in range(3):  # overlapping windows re-read every shadow-period row
        w.cycle()
    invoke("ReportRequestFunction", {})  # the hourly schedule: due reports and the retry index driven again
    assert w.snapshot() == start  # nothing from the shadow period applied, ever

    w.amazon.world_op("find", sku="TEA-FBA", quantity=1)
    w.amazon.world_op("lose", sku="MUG-FBA", quantity=1)
    w.cycle()
    w.replay_notifications(2)
    w.cycle()
    assert (w.on_hand(TEA, FBA), w.on_hand(MUG, FBA), w.on_hand(CANDLE, FBA)) == (51, 19, 10)
