"""The clients' throttles, retries and budget waits reach the metrics the dashboard graphs: what the
simulators actually answered (their 503/429s, their injected failures) equals what is flushed as EMF."""

from __future__ import annotations

import pytest
from sp_api.api import ListingsItems

from connector.adapters.amazon.client import AmazonClients, LwaCredentials
from connector.adapters.brightpearl.auth import PrivateAppAuth
from connector.adapters.brightpearl.client import BrightpearlClient
from connector.adapters.brightpearl.governor import BucketShape, LocalGovernor
from connector.observability import metrics
from simulators.brightpearl import BrightpearlSimulator
from simulators.spapi import SpApiSimulator
from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, UK
from tests.brightpearl import NoGovernor
from tests.spapi import fresh_spapi


def flushed() -> dict[str, float]:
    """What the next flush sends to CloudWatch (EMF), summed per metric; the set is then emptied."""
    emf = metrics.serialize_metric_set()
    names = [m["Name"] for d in emf["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]]
    metrics.clear_metrics()
    return {n: sum(emf[n]) if isinstance(emf[n], list) else emf[n] for n in names}


@pytest.fixture(autouse=True)
def empty_metric_set():
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


@pytest.fixture
def bp():
    s = BrightpearlSimulator(account="acme", limit=20, window_seconds=1.0).start()
    s.seed({"products": [{"id": 1000, "sku": "SKU-1000"}]})
    yield s
    s.stop()


def bp_client(sim, **kw) -> BrightpearlClient:
    return BrightpearlClient(base_url=sim.url, account="acme", governor=kw.pop("governor", NoGovernor()),
                             auth=PrivateAppAuth(app_ref="acme_connector", account_token="account-token"), **kw)


def answered(sim, status):
    return len([e for e in sim.requests() if not e.path.startswith("/_sim") and e.status == status])


def test_brightpearl_throttles_and_retries_are_counted_as_brightpearl_answered_them(bp):
    client = bp_client(bp, low_watermark=-1)  # no pacing: the simulator must throttle
    for _ in range(30):
        client.get("product-service/product/1000")
    bp.add_fault({"match": "GET .*/product/", "kind": "status", "status": 500, "count": 2})
    client.get("product-service/product/1000")
    sent = flushed()
    assert answered(bp, 503) >= 1 and sent["BrightpearlThrottles"] == answered(bp, 503)
    assert sent["BrightpearlRetries"] == 2 == answered(bp, 500)


def test_governor_and_pacing_waits_are_the_seconds_slept(bp):
    slept: list[float] = []
    now = [0.0]

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    governor = LocalGovernor(BucketShape.for_limit(5, 1.0), clock=lambda: now[0], sleep=sleep)
    client = bp_client(bp, governor=governor)
    for _ in range(12):
        client.get("product-service/product/1000")
    sent = flushed()
    assert slept and sent["BrightpearlGovernorWaitSeconds"] == pytest.approx(sum(slept))
    assert answered(bp, 503) == 0 and "BrightpearlThrottles" not in sent


@pytest.fixture(scope="module")
def spapi_server():
    s = SpApiSimulator(rate_scale=1.0).start()
    yield s
    s.stop()


def test_amazon_throttles_and_retries_are_counted_as_amazon_answered_them(spapi_server):
    sim = fresh_spapi(spapi_server)
    client = AmazonClients(LwaCredentials(REFRESH_TOKEN, CLIENT_ID, CLIENT_SECRET), marketplace_id=UK,
                           endpoint=sim.url, lwa_url=f"{sim.url}/auth/o2/token", sleep=sim.clock.advance)
    listings = client.client(ListingsItems)
    sim.add_fault({"match": "getListingsItem", "status": 429, "count": 2})
    sim.add_fault({"match": "getListingsItem", "status": 503, "count": 1})
    client.call("getListingsItem", listings.get_listings_item, "A1SELLER", "MFN-MUG", marketplaceIds=[UK])
    sent = flushed()
    statuses = [r.status for r in sim.requests(route="getListingsItem")]
    assert sent["AmazonThrottles"] == 2 == statuses.count(429)
    assert sent["AmazonRetries"] == 1 == statuses.count(503)
