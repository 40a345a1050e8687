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


def test_mfn_in_shadow_sends_nothing_to_the_amazon_simulator_and_off_pushes_todays_quantities(local_aws):
    from connector.adapters.repositories import GlobalSettings, LinkRepository, SettingsRepository
    from tests.e2e import test_mfn_sync as mfn

    gen = mfn.world.__wrapped__(local_aws)  # the MFN world: UK + DE, webhook registered
    bp, amazon, aws = next(gen)
    try:
        SettingsRepository().save_global(GlobalSettings(mfn_warehouses=[2, 3], patch_threshold=0, shadow=["mfn"]))
        links_before = sorted((lk.listing_id, lk.last_result, lk.last_confirmed_quantity)
                              for lk in LinkRepository().all())
        bp.adjust_on_hand(1011, 2, -2)  # socks 28 → the gift set 14
        bp.adjust_on_hand(1007, 2, -5)  # shirt 43 → the gift set still 14
        bp.adjust_on_hand(1030, 2, 1)  # the EU mug (UK and DE): 14
        mfn.settle(bp, aws)
        # Nothing reached Amazon: no patch, no feed, every listing as seeded; the links as they were.
        assert amazon.requests(route="patchListingsItem") == [] and amazon.requests(route="createFeed") == []
        assert {s: mfn.qty(amazon, s) for s in ("SHIRT-BL-M", "GIFT-SET", "MUG-EU")} == \
            {"SHIRT-BL-M": 0, "GIFT-SET": 0, "MUG-EU": 0}
        assert sorted((lk.listing_id, lk.last_result, lk.last_confirmed_quantity)
                      for lk in LinkRepository().all()) == links_before
        plan = operator("shadow-report", feature="mfn")["features"]["mfn"]
        assert {(r["sku"], r["wouldBe"]) for r in plan["rows"]} == {("SHIRT-BL-M", 43), ("GIFT-SET", 14),
                                                                    ("MUG-EU", 14)}

        bp.adjust_on_hand(1007, 2, 2)  # still in shadow: the shirt 45
        mfn.settle(bp, aws)
        off = operator("shadow-off", feature="mfn")
        for _ in range(3):  # a confirming report, then the feed: Amazon's simulated time passes
            mfn.settle(bp, aws)
            aws_stack_finishes(amazon, aws)
        assert {s: mfn.qty(amazon, s) for s in ("SHIRT-BL-M", "SHIRT-BL-L", "GIFT-SET", "MUG-EU")} == \
            {"SHIRT-BL-M": 45, "SHIRT-BL-L": 12, "GIFT-SET": 14, "MUG-EU": 14}, off
        assert list(operator("shadow-report", feature="mfn")["features"]["mfn"]["rows"]) == []
    finally:
        next(gen, None)


def aws_stack_finishes(amazon, aws) -> None:
    from local.queues import pump

    amazon.clock.advance(120)
    amazon.tick()
    pump(aws, "NotificationsFunction")
