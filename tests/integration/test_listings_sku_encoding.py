"""Every SKU Amazon allows reaches its listing on every call that takes one (getListingsItem,
patchListingsItem, JSON_LISTINGS_FEED): the SKU is percent-encoded exactly once, as Amazon decodes it.

Runs the production adapter (python-amazon-sp-api underneath) against the SP-API simulator, which
refuses a raw "/" and treats "%252F" as a literal "%2F" as Amazon does.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.adapters.amazon.listings import AmazonListings, QuantityUpdate
from simulators.spapi import SpApiSimulator
from simulators.spapi.demo import UK
from tests.spapi import amazon_for, fresh_spapi

SELLER = "A1SELLER"
ALPHABET = "AZaz09 -_./&+%#?,:;@=!$'()*~éüñç中ß"
# Amazon SKUs are up to 40 characters. Left out: "." and ".." alone (URL dot-segments, which HTTP
# clients normalise away) and leading/trailing spaces (not expected in a real SKU).
SKUS = st.text(ALPHABET, min_size=1, max_size=40).filter(lambda s: s.strip() == s and s not in (".", ".."))


@pytest.fixture(scope="module")
def sim():
    s = SpApiSimulator(rate_limits=False).start()
    fresh_spapi(s, {"listings": {}})
    yield s
    s.stop()


@pytest.fixture(scope="module")
def adapter(sim):
    return AmazonListings(amazon_for(sim), SELLER)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sku=SKUS, quantity=st.integers(0, 500))
def test_any_sku_round_trips_through_get_and_patch(sim, adapter, sku, quantity):
    sim.world.offer_only.clear()  # examples share the simulator
    sim.world_op("add_listing", sku=sku, spec={"channel": "MFN", "quantity": 0, "lead_time": 3,
                                               "marketplaces": [UK]})
    assert adapter.lookup(sku, UK).lead_time_days == 3
    outcome = adapter.patch(QuantityUpdate(sku=sku, marketplace_id=UK, quantity=quantity, lead_time_days=3))
    assert outcome.accepted, outcome.issues
    assert sim.world.listings[sku].quantity == quantity
    assert adapter.lookup(sku, UK).availability == {"fulfillment_channel_code": "DEFAULT", "quantity": quantity,
                                                    "lead_time_to_ship_max_days": 3}
    assert sim.world.offer_only == {}  # nothing landed on a differently-encoded SKU


def test_unknown_sku_reads_as_missing_whether_amazon_answers_404_or_400(sim, adapter):
    assert adapter.lookup("NO/SUCH SKU", UK).exists is False
    sim.configure(listing_not_found_status=400)
    try:
        found = adapter.lookup("NO/SUCH SKU", UK)
    finally:
        sim.configure(listing_not_found_status=404)
    assert found.exists is False and found.reason.startswith("InvalidInput")


def test_odd_skus_in_a_listings_feed(sim, adapter):
    skus = ["mug/blue", "tea & cake", "a+b", "50% off #1?", "café crème"]
    for sku in skus:
        sim.world_op("add_listing", sku=sku, spec={"channel": "MFN", "quantity": 0, "marketplaces": [UK]})
    feed_id, ids = adapter.submit_feed(UK, [QuantityUpdate(s, UK, 7 + i) for i, s in enumerate(skus)])
    assert sorted(ids.values()) == sorted(skus)
    sim.clock.advance(60)
    sim.tick()
    status = adapter.feed_status(feed_id)
    assert status["processingStatus"] == "DONE"
    assert adapter.feed_report(status["resultFeedDocumentId"])["issues"] == []
    assert [sim.world.listings[s].quantity for s in skus] == [7 + i for i in range(len(skus))]
