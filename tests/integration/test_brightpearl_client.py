"""The Brightpearl client against the Brightpearl simulator over loopback HTTP.

Each test asserts what Brightpearl (the simulator) saw and holds afterwards, not just what the client
returned: how many requests arrived, whether any was throttled, whether a write landed once.
"""

from __future__ import annotations

import pytest

from connector.adapters.brightpearl.auth import MemoryTokenStore, OAuthAuth, OAuthTokens, PrivateAppAuth
from connector.adapters.brightpearl.client import (
    BrightpearlClient,
    BrightpearlNotFound,
    BrightpearlServerError,
    BrightpearlThrottled,
    BrightpearlUnauthorized,
    BrightpearlUncertainWrite,
    BrightpearlValidationError,
)
from connector.adapters.brightpearl.governor import BucketShape, LocalGovernor
from simulators.brightpearl import BrightpearlSimulator
from tests.brightpearl import NoGovernor

SEED = {
    "warehouses": [{"id": 2, "name": "Main DC", "defaultLocationId": 2, "quarantineLocationId": 9},
                   {"id": 3, "name": "Amazon FBA", "defaultLocationId": 30, "quarantineLocationId": 39}],
    "products": [{"id": pid, "sku": f"SKU-{pid}", "name": f"Product {pid}"} for pid in range(1000, 1010)],
    "stock": [{"productId": pid, "warehouseId": 2, "onHand": 10} for pid in range(1000, 1010)],
    "credentials": {"refreshToken": "refresh-0", "accessToken": "access-0"},
}


@pytest.fixture
def sim():
    s = BrightpearlSimulator(account="acme", limit=20, window_seconds=1.0)
    s.start()
    s.seed(SEED)
    yield s
    s.stop()


def private_client(sim, *, governor=None, **kw) -> BrightpearlClient:
    auth = PrivateAppAuth(app_ref="acme_connector", account_token="account-token")
    return BrightpearlClient(base_url=sim.url, account="acme", auth=auth, governor=governor or NoGovernor(), **kw)


def api_calls(sim, status=None):
    return [e for e in sim.requests() if not e.path.startswith("/_sim") and (status is None or e.status == status)]


def test_envelope_is_unwrapped_and_id_sets_read_in_one_call(sim):
    client = private_client(sim)
    avail = client.get("warehouse-service/product-availability/1000-1004")
    assert set(avail) == {"1000", "1001", "1002", "1003", "1004"}
    assert avail["1003"]["warehouses"]["2"]["onHand"] == 10
    assert len(api_calls(sim)) == 1


def test_governor_keeps_a_burst_inside_the_window_without_a_single_503(sim):
    client = private_client(sim, governor=LocalGovernor(BucketShape.for_limit(20, 1.0)),
                            low_watermark=2)
    for _ in range(50):  # 2.5x the window's budget
        client.get("product-service/product/1000")
    assert client.stats["throttled"] == 0
    assert api_calls(sim, status=503) == []
    assert len(api_calls(sim, status=200)) == 50


def test_without_pacing_the_503_throttle_is_waited_out_and_retried(sim):
    client = private_client(sim, low_watermark=-1)  # ignore the remaining-header so the sim must throttle
    for _ in range(30):
        client.get("product-service/product/1000")
    assert len(api_calls(sim, status=503)) >= 1  # the simulator really throttled us
    assert client.stats["throttled"] >= 1
    assert len(api_calls(sim, status=200)) == 30  # and every call still succeeded


def test_remaining_header_makes_the_client_pause_before_brightpearl_throttles(sim):
    client = private_client(sim, low_watermark=5)
    for _ in range(30):
        client.get("product-service/product/1000")
    assert client.stats["paced_sleeps"] >= 1
    assert api_calls(sim, status=503) == []


def test_throttle_gives_up_after_max_attempts_with_a_typed_error(sim):
    sim.add_fault({"match": "GET .*/product/", "kind": "status", "status": 503, "count": 10})
    client = private_client(sim, max_attempts=3)
    with pytest.raises(BrightpearlThrottled) as err:
        client.get("product-service/product/1000")
    assert err.value.status == 503
    assert "GET product-service/product/1000" in str(err.value)
    assert len(api_calls(sim)) == 3


def test_429_is_treated_like_a_throttle(sim):
    sim.add_fault({"match": "GET .*/product/", "kind": "status", "status": 429, "count": 2})
    client = private_client(sim)
    assert client.get("product-service/product/1000")[0]["id"] == 1000
    assert [e.status for e in api_calls(sim)] == [429, 429, 200]


@pytest.mark.parametrize("kind", ["status", "reset", "timeout"])
def test_reads_are_retried_through_5xx_resets_and_timeouts(sim, kind):
    sim.add_fault({"match": "GET .*/product/", "kind": kind, "status": 502, "count": 2, "seconds": 0.6})
    client = private_client(sim, timeout=0.3)
    assert client.get("product-service/product/1000")[0]["identity"]["sku"] == "SKU-1000"
    assert client.stats["retries"] == 2


def test_reads_give_up_with_a_server_error_naming_the_call(sim):
    sim.add_fault({"match": "GET .*/product/", "kind": "status", "status": 500, "count": 9})
    client = private_client(sim, max_attempts=2)
    with pytest.raises(BrightpearlServerError, match=r"GET product-service/product/1000 → 500 \[CMNU-003\]"):
        client.get("product-service/product/1000")


def test_a_write_that_fails_after_applying_is_not_repeated(sim):
    """write-then-fail: Brightpearl applied the correction but answered 500. Retrying would move stock twice."""
    sim.add_fault({"match": "POST .*/stock-correction", "kind": "write_then_fail", "status": 500, "count": 1})
    client = private_client(sim)
    body = {"corrections": [{"quantity": 5, "productId": 1000, "reason": "test", "locationId": 2,
                             "cost": {"currency": "GBP", "value": 1.0}}]}
    with pytest.raises(BrightpearlUncertainWrite):
        client.post("warehouse-service/warehouse/2/stock-correction", body)
    assert sim.on_hand(1000, 2) == 15  # applied exactly once
    assert len(api_calls(sim)) == 1


def test_a_write_dropped_mid_flight_is_reported_uncertain_not_retried(sim):
    sim.add_fault({"match": "POST .*/stock-correction", "kind": "write_then_fail", "status": 0, "count": 1})
    client = private_client(sim)
    body = {"corrections": [{"quantity": -3, "productId": 1001, "reason": "test", "locationId": 2}]}
    with pytest.raises(BrightpearlUncertainWrite, match="no response"):
        client.post("warehouse-service/warehouse/2/stock-correction", body)
    assert sim.on_hand(1001, 2) == 7


def test_a_throttled_write_is_retried_because_it_was_not_processed(sim):
    sim.add_fault({"match": "POST .*/stock-correction", "kind": "status", "status": 503, "count": 1})
    client = private_client(sim)
    body = {"corrections": [{"quantity": 2, "productId": 1002, "reason": "test", "locationId": 2,
                             "cost": {"currency": "GBP", "value": 1.0}}]}
    client.post("warehouse-service/warehouse/2/stock-correction", body)
    assert sim.on_hand(1002, 2) == 12


def test_validation_errors_carry_brightpearl_codes(sim):
    client = private_client(sim)
    body = {"corrections": [{"quantity": -999, "productId": 1003, "reason": "too many", "locationId": 2}]}
    with pytest.raises(BrightpearlValidationError) as err:
        client.post("warehouse-service/warehouse/2/stock-correction", body)
    assert err.value.status == 400
    assert err.value.codes == ["WHSB-023"]
    assert sim.on_hand(1003, 2) == 10


def test_not_found_is_typed(sim):
    with pytest.raises(BrightpearlNotFound):
        private_client(sim).get("product-service/product/99999")


def test_wrong_private_token_is_unauthorized_without_retry(sim):
    auth = PrivateAppAuth(app_ref="acme_connector", account_token="wrong")
    client = BrightpearlClient(base_url=sim.url, account="acme", auth=auth, governor=NoGovernor())
    with pytest.raises(BrightpearlUnauthorized, match="401"):
        client.get("product-service/product/1000")
    assert len(api_calls(sim)) == 1


def test_an_unauthorized_error_never_carries_the_credential(sim):
    secret = "wrong-account-token-7f3a9c"
    client = BrightpearlClient(base_url=sim.url, account="acme", governor=NoGovernor(),
                               auth=PrivateAppAuth(app_ref="acme_connector", account_token=secret))
    with pytest.raises(BrightpearlUnauthorized) as err:
        client.get("product-service/product/1000")
    assert "token" in str(err.value).lower()  # the reason is kept...
    assert secret not in str(err.value) and secret not in err.value.detail  # ...the value is not


def oauth_client(sim, store):
    auth = OAuthAuth(app_ref="acme_connector", dev_ref="dev-ref", client_id="acme_connector",
                     client_secret="client-secret", token_url=f"{sim.url}/token/acme", store=store)
    return BrightpearlClient(base_url=sim.url, account="acme", auth=auth, governor=NoGovernor())


def test_expired_oauth_token_is_refreshed_once_and_the_rotated_refresh_token_persisted(sim):
    store = MemoryTokenStore(OAuthTokens(access_token="access-0", refresh_token="refresh-0"))
    client = oauth_client(sim, store)
    assert client.get("product-service/product/1000")[0]["id"] == 1000

    sim.tokens.expire_access()  # Brightpearl now answers 401 "Authorization token expired"
    assert client.get("product-service/product/1001")[0]["id"] == 1001
    assert client.stats["refreshes"] == 1
    assert store.tokens.refresh_token != "refresh-0"  # the rotated token was saved
    assert store.tokens.access_token != "access-0"
    assert store.tokens.api_domain == f"127.0.0.1:{sim.port}"
    statuses = [e.status for e in api_calls(sim) if "/public-api/" in e.path]
    assert statuses == [200, 401, 200]

    # The old refresh token is spent: a second worker holding it could not refresh any more.
    sim.tokens.expire_access()
    stale = oauth_client(sim, MemoryTokenStore(OAuthTokens(access_token="x", refresh_token="refresh-0")))
    with pytest.raises(Exception, match="invalid_grant"):
        stale.get("product-service/product/1000")
    # ...while the client that persisted the rotation keeps working.
    assert client.get("product-service/product/1002")[0]["id"] == 1002


def test_a_second_401_after_refresh_fails_with_a_clear_error(sim):
    store = MemoryTokenStore(OAuthTokens(access_token="access-0", refresh_token="refresh-0"))
    client = oauth_client(sim, store)
    sim.add_fault({"match": "GET .*/product/", "kind": "status", "status": 401, "count": 5})
    with pytest.raises(BrightpearlUnauthorized, match="401"):
        client.get("product-service/product/1000")
    assert client.stats["refreshes"] == 1


def test_throttle_waits_are_capped_so_the_work_goes_back_to_its_queue(sim):
    sim.add_fault({"match": "GET .*/product/", "kind": "status", "status": 503, "count": 10})
    slept: list[float] = []
    # Brightpearl asks for at least 50 ms each time; a cap below that means: give up at the first throttle.
    client = private_client(sim, max_wait=0.01, sleep=slept.append)
    with pytest.raises(BrightpearlThrottled):
        client.get("product-service/product/1000")
    assert slept == [] and len(api_calls(sim)) == 1  # without the cap: 5 attempts and 4 sleeps
