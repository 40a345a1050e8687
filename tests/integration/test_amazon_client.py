"""AmazonClients.call against the SP-API simulator: what production sees on each failure."""

import pytest
from sp_api.api import Inventories, ListingsItems

from connector.adapters.amazon.client import AmazonClients, AmazonThrottled, LwaCredentials
from simulators.spapi import SpApiSimulator
from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, UK
from tests.spapi import fresh_spapi


@pytest.fixture(scope="module")
def server():
    s = SpApiSimulator(rate_scale=1.0).start()
    yield s
    s.stop()


@pytest.fixture
def sim(server):
    return fresh_spapi(server)


def amazon(sim, **kw):
    kw.setdefault("sleep", sim.clock.advance)  # back-off waits pass on the simulated clock
    return AmazonClients(LwaCredentials(REFRESH_TOKEN, CLIENT_ID, CLIENT_SECRET), marketplace_id=UK,
                         endpoint=sim.url, lwa_url=f"{sim.url}/auth/o2/token", **kw)


def patch_body(quantity):
    return {"productType": "PRODUCT", "patches": [{"op": "replace", "path": "/attributes/fulfillment_availability",
                                                   "value": [{"fulfillment_channel_code": "DEFAULT",
                                                              "quantity": quantity}]}]}


@pytest.mark.parametrize("kind", ["reset", "timeout"])
def test_transport_failures_are_retried(sim, kind):
    client = amazon(sim, timeout=0.3)
    inv = client.client(Inventories)
    sim.add_fault({"match": "getInventorySummaries", "kind": kind, "seconds": 0.6, "count": 1})
    res = client.call("getInventorySummaries", inv.get_inventory_summary_marketplace, details=True)
    assert res.payload["inventorySummaries"]
    assert client.stats["calls"] == 2  # the failed attempt, then the retry that succeeded


def test_patch_lost_in_flight_is_resent_and_lands_once_as_an_absolute_value(sim):
    client = amazon(sim)
    listings = client.client(ListingsItems)
    sim.add_fault({"match": "patchListingsItem", "kind": "write_then_fail", "status": 0, "count": 1})
    client.call("patchListingsItem", listings.patch_listings_item, "A1SELLER", "MFN-MUG",
                marketplaceIds=[UK], body=patch_body(7))
    assert sim.world.listings["MFN-MUG"].quantity == 7
    assert len(sim.requests(route="patchListingsItem")) == 2


def test_429_backs_off_at_the_documented_rate_then_succeeds(sim):
    client = amazon(sim)
    listings = client.client(ListingsItems)
    sim.add_fault({"match": "patchListingsItem", "status": 429, "count": 2})
    client.call("patchListingsItem", listings.patch_listings_item, "A1SELLER", "MFN-MUG",
                marketplaceIds=[UK], body=patch_body(3))
    assert client.stats["throttled"] == 2
    assert sim.world.listings["MFN-MUG"].quantity == 3


def test_long_throttle_is_handed_back_instead_of_sleeping(sim):
    client = amazon(sim, max_wait=1.0)
    listings = client.client(ListingsItems)
    sim.add_fault({"match": "patchListingsItem", "status": 429, "count": 10})
    with pytest.raises(AmazonThrottled, match="patchListingsItem"):
        client.call("patchListingsItem", listings.patch_listings_item, "A1SELLER", "MFN-MUG",
                    marketplaceIds=[UK], body=patch_body(3))


@pytest.mark.parametrize(("fault", "said"), [
    (None, "400 invalid_grant"),  # a wrong refresh token: LWA's own refusal, with the hint
    ({"match": "lwaToken", "status": 503, "count": 5}, "answered 503"),
])
def test_a_refused_token_request_says_what_lwa_answered(sim, fault, said):
    from connector.adapters.amazon.client import AmazonAuthError

    wrong = "Atzr|wrong-refresh-token-4f1c"
    client = AmazonClients(LwaCredentials(wrong if fault is None else REFRESH_TOKEN, CLIENT_ID, CLIENT_SECRET),
                           marketplace_id=UK, endpoint=sim.url, lwa_url=f"{sim.url}/auth/o2/token",
                           sleep=sim.clock.advance)
    client.forget_access_token()
    if fault:
        sim.add_fault(fault)
    with pytest.raises(AmazonAuthError) as err:
        client.call("patchListingsItem", client.client(ListingsItems).patch_listings_item, "A1SELLER", "MFN-MUG",
                    marketplaceIds=[UK], body=patch_body(3))
    assert said in str(err.value)
    assert wrong not in str(err.value) and CLIENT_SECRET not in str(err.value)
    if fault is None:
        assert "check refresh_token" in str(err.value)
