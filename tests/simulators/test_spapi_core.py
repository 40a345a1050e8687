"""SP-API simulator: LWA, access tokens, rate limits, error bodies and injected faults, observed
through the real python-amazon-sp-api client built by the production factory."""

from __future__ import annotations

import time

import httpx
import pytest
from sp_api.api import Inventories, ListingsItems, Reports
from sp_api.auth import access_token_client
from sp_api.base import (
    SellingApiForbiddenException,
    SellingApiRequestThrottledException,
    SellingApiServerException,
    SellingApiTemporarilyUnavailableException,
)

from connector.adapters.amazon.client import AmazonClients, AmazonThrottled, LwaCredentials
from simulators.spapi import SpApiSimulator
from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, DEMO_SEED, REFRESH_TOKEN, UK
from tests.spapi import fresh_spapi

CREDS = LwaCredentials(REFRESH_TOKEN, CLIENT_ID, CLIENT_SECRET)
QTY_PATCH = {"productType": "PRODUCT", "patches": [
    {"op": "replace", "path": "/attributes/fulfillment_availability",
     "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 11}]}]}


def make_amazon(sim: SpApiSimulator, **kwargs) -> AmazonClients:
    # Back-off sleeps advance the simulated clock, so a retry sees the refilled bucket without waiting.
    kwargs.setdefault("sleep", sim.clock.advance)
    return AmazonClients(CREDS, marketplace_id=UK, region="eu", endpoint=sim.url,
                         lwa_url=f"{sim.url}/auth/o2/token", **kwargs)


@pytest.fixture(autouse=True)
def _fresh_token_cache():
    access_token_client.cache.clear()
    yield
    access_token_client.cache.clear()


@pytest.fixture(scope="module")
def documented_server():
    s = SpApiSimulator().start()  # documented rate limits
    yield s
    s.stop()


@pytest.fixture(scope="module")
def fast_server():
    s = SpApiSimulator(rate_scale=1000).start()
    yield s
    s.stop()


@pytest.fixture
def sim(documented_server):
    # Time moves only when a test advances it, so the bucket arithmetic is exact.
    return fresh_spapi(documented_server, speed=0)


@pytest.fixture
def fast_sim(fast_server):
    return fresh_spapi(fast_server, speed=1)


def inventory(amazon: AmazonClients):
    return amazon.client(Inventories).get_inventory_summary_marketplace(details=True)


# ---------------------------------------------------------------------------- LWA
def test_lwa_refresh_grant_returns_bearer_token(fast_sim):
    r = httpx.post(f"{fast_sim.url}/auth/o2/token", data={
        "grant_type": "refresh_token", "refresh_token": REFRESH_TOKEN, "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600 and body["access_token"].startswith("Atza|")


@pytest.mark.parametrize(("form", "status", "error"), [
    ({"client_secret": "wrong"}, 401, "invalid_client"),
    ({"client_id": "someone-else"}, 401, "invalid_client"),
    ({"refresh_token": "Atzr|revoked"}, 400, "invalid_grant"),
    ({"grant_type": "authorization_code"}, 400, "unsupported_grant_type"),
])
def test_lwa_rejects_bad_credentials(fast_sim, form, status, error):
    data = {"grant_type": "refresh_token", "refresh_token": REFRESH_TOKEN, "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET, **form}
    r = httpx.post(f"{fast_sim.url}/auth/o2/token", data=data)
    assert (r.status_code, r.json()["error"]) == (status, error)


def test_grantless_token_is_issued_but_not_accepted_for_seller_operations(fast_sim):
    r = httpx.post(f"{fast_sim.url}/auth/o2/token", data={
        "grant_type": "client_credentials", "scope": "sellingpartnerapi::notifications", "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET})
    assert r.status_code == 200 and "refresh_token" not in r.json()
    res = httpx.get(f"{fast_sim.url}/reports/2021-06-30/reports/1",
                    headers={"x-amz-access-token": r.json()["access_token"]})
    assert res.status_code == 403


def test_library_with_wrong_secret_fails_at_lwa(fast_sim):
    amazon = AmazonClients(LwaCredentials(REFRESH_TOKEN, CLIENT_ID, "nope"), marketplace_id=UK, endpoint=fast_sim.url,
                           lwa_url=f"{fast_sim.url}/auth/o2/token")
    from connector.adapters.amazon.client import AmazonAuthError

    with pytest.raises(AmazonAuthError, match="401 invalid_client") as err:
        inventory(amazon)
    assert "nope" not in str(err.value)


@pytest.mark.parametrize("headers", [{}, {"x-amz-access-token": "Atza|forged"}])
def test_missing_or_unknown_access_token_is_403_unauthorized(fast_sim, headers):
    r = httpx.get(f"{fast_sim.url}/fba/inventory/v1/summaries", headers=headers)
    assert r.status_code == 403
    assert r.json() == {"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.",
                                    "details": ""}]}
    assert r.headers["x-amzn-RequestId"]


def test_expired_token_is_refused_and_factory_refreshes_once(fast_sim):
    amazon = make_amazon(fast_sim)
    assert inventory(amazon).payload["inventorySummaries"]
    fast_sim.clock.advance(3601)  # the library still caches the token (its TTL is real time)
    with pytest.raises(SellingApiForbiddenException):
        inventory(amazon)
    res = amazon.call("getInventorySummaries", amazon.client(Inventories).get_inventory_summary_marketplace)
    assert res.payload["inventorySummaries"]
    assert amazon.stats["token_refreshes"] == 1


def test_host_header_is_ignored_and_headers_are_set(fast_sim):
    # The library sends host=endpoint[8:], garbled for http:// endpoints; the call still works.
    res = inventory(make_amazon(fast_sim))
    assert res.headers["x-amzn-RequestId"]
    assert float(res.headers["x-amzn-RateLimit-Limit"]) == pytest.approx(2.0 * 1000)


# ---------------------------------------------------------------------------- rate limits
def test_token_bucket_429_then_refill_on_simulated_clock(sim):
    inv = make_amazon(sim).client(Inventories)
    inv.get_inventory_summary_marketplace()
    inv.get_inventory_summary_marketplace()  # burst 2
    with pytest.raises(SellingApiRequestThrottledException) as exc:
        inv.get_inventory_summary_marketplace()
    assert exc.value.error == [{"code": "QuotaExceeded",
                                "message": "You exceeded your quota for the requested resource.", "details": ""}]
    assert exc.value.headers["x-amzn-RequestId"]
    assert "x-amzn-RateLimit-Limit" not in exc.value.headers
    sim.clock.advance(0.5)  # rate 2/s: one token back
    assert inv.get_inventory_summary_marketplace().headers["x-amzn-RateLimit-Limit"] == "2"


def test_factory_backs_off_on_429_and_succeeds(sim):
    amazon = make_amazon(sim)
    inv = amazon.client(Inventories)
    inv.get_inventory_summary_marketplace()
    inv.get_inventory_summary_marketplace()  # another caller drained the bucket
    res = amazon.call("getInventorySummaries", inv.get_inventory_summary_marketplace)
    assert res.payload["inventorySummaries"]
    assert amazon.stats["throttled"] >= 1


def test_factory_raises_amazon_throttled_when_back_off_is_too_long(sim):
    amazon = make_amazon(sim)
    reports = amazon.client(Reports)
    for _ in range(15):  # createReport burst
        reports.create_report(reportType="GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA", marketplaceIds=[UK])
    with pytest.raises(AmazonThrottled):
        amazon.call("createReport", reports.create_report, reportType="GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA",
                    marketplaceIds=[UK])


def test_rate_scale_scales_the_bucket(sim):
    sim.rate_scale = 10  # reset() restores the constructor's scale
    inv = make_amazon(sim).client(Inventories)
    for _ in range(20):  # burst 2 x 10
        inv.get_inventory_summary_marketplace()
    with pytest.raises(SellingApiRequestThrottledException):
        inv.get_inventory_summary_marketplace()


# ---------------------------------------------------------------------------- injected faults
@pytest.mark.parametrize(("status", "exc_type", "code"), [
    (500, SellingApiServerException, "InternalFailure"),
    (503, SellingApiTemporarilyUnavailableException, "ServiceUnavailable"),
    (429, SellingApiRequestThrottledException, "QuotaExceeded"),
])
def test_status_faults_reach_the_client_and_factory_retries(fast_sim, status, exc_type, code):
    amazon = make_amazon(fast_sim)
    inv = amazon.client(Inventories)
    fast_sim.add_fault({"match": "getInventorySummaries", "status": status, "count": 1})
    with pytest.raises(exc_type) as exc:
        inv.get_inventory_summary_marketplace()
    assert exc.value.amzn_code == code
    fast_sim.add_fault({"match": "getInventorySummaries", "status": status, "count": 1})
    assert amazon.call("getInventorySummaries", inv.get_inventory_summary_marketplace).payload
    assert [e.status for e in fast_sim.requests(route="getInventorySummaries")] == [status, status, 200]


def test_latency_fault_delays_but_succeeds(fast_sim):
    inv = make_amazon(fast_sim).client(Inventories)
    inv.get_inventory_summary_marketplace()  # token fetched outside the timed call
    fast_sim.add_fault({"match": "getInventorySummaries", "kind": "latency", "seconds": 0.3, "count": 1})
    t0 = time.monotonic()
    assert inv.get_inventory_summary_marketplace().payload
    assert time.monotonic() - t0 >= 0.3


def test_timeout_fault_is_a_client_timeout(fast_sim):
    inv = make_amazon(fast_sim, timeout=0.2).client(Inventories)
    inv.get_inventory_summary_marketplace()
    fast_sim.add_fault({"match": "getInventorySummaries", "kind": "timeout", "seconds": 0.5, "count": 1})
    with pytest.raises(httpx.TimeoutException):
        inv.get_inventory_summary_marketplace()


def test_reset_fault_is_a_transport_error(fast_sim):
    inv = make_amazon(fast_sim).client(Inventories)
    inv.get_inventory_summary_marketplace()
    fast_sim.add_fault({"match": "getInventorySummaries", "kind": "reset", "count": 1})
    with pytest.raises(httpx.TransportError):
        inv.get_inventory_summary_marketplace()


@pytest.mark.parametrize("status", [500, 0])
def test_write_then_fail_applies_the_patch_before_failing(fast_sim, status):
    listings = make_amazon(fast_sim).client(ListingsItems)
    fast_sim.add_fault({"match": "patchListingsItem", "kind": "write_then_fail", "status": status, "count": 1})
    expected = SellingApiServerException if status else httpx.TransportError
    with pytest.raises(expected):
        listings.patch_listings_item("A1SELLER", "MFN-MUG", body=QTY_PATCH)
    assert fast_sim.world.listings["MFN-MUG"].quantity == 11  # the write landed anyway


def test_unknown_route_is_404_with_errors_body(fast_sim):
    amazon = make_amazon(fast_sim)
    token = amazon.client(Reports).auth.access_token
    r = httpx.get(f"{fast_sim.url}/orders/v0/orders", headers={"x-amz-access-token": token})
    assert r.status_code == 404 and r.json()["errors"][0]["code"] == "NotFound"
    assert r.headers["x-amzn-RequestId"]


# ---------------------------------------------------------------------------- control API
def test_control_routes_drive_the_world(fast_sim):
    base = f"{fast_sim.url}/_sim"
    assert httpx.post(f"{base}/seed", json=DEMO_SEED).status_code == 200
    r = httpx.post(f"{base}/spapi/ops/customer_shipment", json={"sku": "FBA-CUP", "quantity": 2,
                                                                "order_id": "202-9-9"})
    assert r.status_code == 200 and r.json()["result"]["reference_id"] == "202-9-9"
    r = httpx.post(f"{base}/spapi/ops/create_inbound_shipment", json={"items": {"FBA-CUP": 4}})
    shipment_id = r.json()["result"]["shipment_id"]
    assert httpx.post(f"{base}/spapi/ops/ship_inbound", json={"shipment_id": shipment_id}).status_code == 200
    bad = httpx.post(f"{base}/spapi/ops/customer_shipment", json={"sku": "FBA-CUP", "quantity": 999})
    assert bad.status_code == 400  # not enough stock
    assert httpx.post(f"{base}/spapi/ops/drop_tables", json={}).status_code == 400
    assert httpx.post(f"{base}/spapi/force/report", json={"report_type": "GET_LEDGER_DETAIL_VIEW_DATA",
                                                          "outcome": "FATAL"}).status_code == 200
    assert httpx.post(f"{base}/spapi/settings", json={"notification_duplicates": 3}).status_code == 200
    state = httpx.get(f"{base}/state").json()
    assert state["fba_inventory"]["FBA-CUP"]["SELLABLE"] == 10
    assert state["fba_inventory"]["FBA-CUP"]["inbound"] == {"working": 0, "shipped": 4, "receiving": 0}
    assert state["ledger"][-1]["reference_id"] == "202-9-9"
    assert fast_sim.notification_duplicates == 3 and fast_sim.world.report_jobs.forced_report_outcomes
    kinds = [n["NotificationType"] for n in httpx.get(f"{base}/spapi/notifications").json()]
    assert kinds.count("FBA_INVENTORY_AVAILABILITY_CHANGES") == 3


def test_expire_tokens_route_forces_a_new_lwa_exchange(fast_sim):
    amazon = make_amazon(fast_sim)
    inventory(amazon)
    httpx.post(f"{fast_sim.url}/_sim/spapi/tokens/expire")
    with pytest.raises(SellingApiForbiddenException):
        inventory(amazon)
    assert amazon.call("getInventorySummaries", amazon.client(Inventories).get_inventory_summary_marketplace)
