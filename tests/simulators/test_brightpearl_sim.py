"""Brightpearl simulator over real loopback HTTP: envelope, throttling, auth, products, stock flows,
orders/credits, webhooks and fault injection. Every assertion is on what a ``requests`` client sees
or on the simulator's recorded state afterwards."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from simulators.brightpearl import BrightpearlSimulator
from simulators.core import SimClock

THROTTLE_BODY = {"response": "You have sent too many requests. Please wait before sending another request"}
MAIN, FBA = 2, 3  # warehouses
MAIN_DEFAULT, MAIN_QUARANTINE, MAIN_SHELF = 2, 9, 19
FBA_DEFAULT, FBA_QUARANTINE = 3, 10

SEED: dict[str, Any] = {
    "warehouses": [
        {"id": MAIN, "name": "Main DC", "defaultLocationId": MAIN_DEFAULT, "quarantineLocationId": MAIN_QUARANTINE,
         "locations": [{"id": MAIN_SHELF, "groupingA": "A", "barcode": "SHELF-19"}]},
        {"id": FBA, "name": "Amazon FBA", "defaultLocationId": FBA_DEFAULT, "quarantineLocationId": FBA_QUARANTINE},
    ],
    "products": [
        {"id": 1007, "sku": "SHIRT-BL-M", "name": "Linen shirt", "barcode": "5012345678900", "categoryIds": [296],
         "productGroupId": 212, "brandId": 74, "createdOn": "2023-03-31T14:58:29.000Z",
         "updatedOn": "2024-07-06T01:48:36.000Z",
         "options": [{"optionId": 1, "optionName": "Size", "optionValueId": 3, "optionValue": "M"}]},
        {"id": 1008, "sku": "SHIRT-BL-L", "name": "Linen shirt L", "productGroupId": 212,
         "updatedOn": "2024-08-01T00:00:00.000Z",
         "options": [{"optionId": 1, "optionName": "Size", "optionValueId": 4, "optionValue": "L"}]},
        {"id": 1011, "sku": "SOCK", "name": "Sock", "updatedOn": "2024-09-01T00:00:00.000Z"},
        {"id": 1012, "sku": "OLD", "name": "Old thing", "status": "ARCHIVED", "updatedOn": "2022-01-01T00:00:00.000Z"},
        {"id": 1013, "sku": "SOCK-PAIR", "name": "Pair of socks",
         "bundleComponents": [{"productId": 1011, "productQuantity": 2}]},
        {"id": 1014, "sku": "GIFT-SET", "name": "Gift set",
         "bundleComponents": [{"productId": 1013, "productQuantity": 1}, {"productId": 1007, "productQuantity": 1}]},
        {"id": 1532, "sku": "CAP", "name": "Cap"},
        {"id": 1533, "sku": "CAP-2", "name": "Cap 2"},
        {"id": 1534, "sku": "CAP-3", "name": "Cap 3"},
        {"id": 1600, "sku": "SERVICE", "name": "Gift wrap", "stockTracked": False},
    ],
    "stock": [
        {"productId": 1007, "warehouseId": MAIN, "onHand": 48},
        {"productId": 1011, "warehouseId": MAIN, "onHand": 7},
        {"productId": 1011, "warehouseId": FBA, "onHand": 10},
        {"productId": 1532, "warehouseId": MAIN, "onHand": 4},
        {"productId": 1533, "warehouseId": MAIN, "onHand": 4},
        {"productId": 1534, "warehouseId": MAIN, "onHand": 4},
    ],
    "orders": [
        {"id": 1201, "orderTypeCode": "SO", "reference": "CUST-REF-9", "externalRef": "202-1234567-1234567",
         "contactId": 200, "warehouseId": MAIN, "channelId": 3, "installedIntegrationInstanceId": 13,
         "rows": [{"id": 3301, "productId": 1007, "quantity": 2, "net": 50.0, "tax": 10.0, "itemCost": 8.5}]},
        {"id": 1202, "orderTypeCode": "SO", "reference": "202-7654321-7654321", "contactId": 201,
         "warehouseId": MAIN, "rows": [{"id": 3302, "productId": 1011, "quantity": 1, "net": 5.0, "tax": 1.0}]},
    ],
}


# ----------------------------------------------------------------------------- fixtures and helpers
@pytest.fixture
def sim() -> Iterator[BrightpearlSimulator]:
    s = BrightpearlSimulator(clock=SimClock(), webhook_retry_interval=0.01, webhook_timeout=2.0)
    s.start()
    s.seed(json.loads(json.dumps(SEED)))
    try:
        yield s
    finally:
        s.stop()


class Api:
    """A private-app ``requests`` client for the simulator's API base URL."""

    def __init__(self, sim: BrightpearlSimulator, headers: dict[str, str] | None = None) -> None:
        self.base = sim.api_url
        self.s = requests.Session()
        self.s.headers.update(headers if headers is not None else sim.private_headers())

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.s.get(self.base + path, timeout=5, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> requests.Response:
        return self.s.post(self.base + path, json=body, timeout=5, **kw)

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        r = self.s.request(method, self.base + path, json=body, timeout=5)
        assert r.status_code == 200, r.text
        return r.json()["response"]

    def figures(self, pid: int) -> dict[str, Any]:
        return self.ok("GET", f"/warehouse-service/product-availability/{pid}").get(str(pid), {})


@pytest.fixture
def api(sim: BrightpearlSimulator) -> Api:
    return Api(sim)


class Receiver:
    """A loopback webhook receiver answering queued statuses (then 200) after an optional delay."""

    def __init__(self, statuses: list[int] | None = None, delay: float = 0.0) -> None:
        self.calls: list[dict[str, Any]] = []
        self.statuses = list(statuses or [])
        self.delay = delay
        self._lock = threading.Lock()
        receiver = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                time.sleep(receiver.delay)
                with receiver._lock:
                    receiver.calls.append({"method": self.command, "path": self.path, "body": body,
                                           "content_type": self.headers.get("Content-Type")})
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_PUT = do_GET = do_DELETE = _any

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


BODY_TEMPLATE = ('{"accountCode":"${account-code}","resourceType":"${resource-type}","id":"${resource-id}",'
                 '"lifecycleEvent":"${lifecycle-event}","fullEvent":"${full-event}","raisedOn":"${raised-on}",'
                 '"brightpearlVersion":"${brightpearl-version}"}')


def hook(url: str, event: str = "product.modified.on-hand-modified", **kw: Any) -> dict[str, Any]:
    return {"subscribeTo": event, "httpMethod": "POST", "uriTemplate": url, "bodyTemplate": BODY_TEMPLATE,
            "contentType": "application/json", "idSetAccepted": True, "qualityOfService": 1, **kw}


def correction(pid: int, qty: int, loc: int = MAIN_DEFAULT) -> dict[str, Any]:
    c: dict[str, Any] = {"productId": pid, "quantity": qty, "reason": "test", "locationId": loc}
    if qty > 0:
        c["cost"] = {"currency": "GBP", "value": 8.5}
    return c


# ----------------------------------------------------------------------------- envelope and headers
def test_success_envelope_and_headers(sim: BrightpearlSimulator, api: Api) -> None:
    r = api.get("/warehouse-service/warehouse")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert r.json() == {"response": [
        {"id": 2, "name": "Main DC", "typeCode": "warehouse", "typeDescription": "Warehouse",
         "address": {"addressId": 2}, "clickAndCollectEnabled": False},
        {"id": 3, "name": "Amazon FBA", "typeCode": "warehouse", "typeDescription": "Warehouse",
         "address": {"addressId": 3}, "clickAndCollectEnabled": False}]}
    assert r.headers["brightpearl-requests-remaining"] == "199"
    assert 0 < int(r.headers["brightpearl-next-throttle-period"]) <= 60000
    assert r.headers["Message-Type"] == "get-warehouse"
    assert re.fullmatch(r"[0-9a-f-]{36}", r.headers["Ruid"])
    assert "brightpearl-installed-integration-instance-id" not in r.headers  # private app, not OAuth
    assert api.get("/warehouse-service/warehouse").headers["brightpearl-requests-remaining"] == "198"


def test_error_envelope_and_gateway_errors(sim: BrightpearlSimulator, api: Api) -> None:
    r = api.get("/product-service/product/99999")
    assert r.status_code == 404
    assert r.json() == {"errors": [{"code": "CMNC-404", "message": "No products found in ID set 99999"}]}
    assert r.headers["Message-Type"] == "get-product" and r.headers["brightpearl-requests-remaining"] == "199"

    unknown = api.get("/no-such-service/thing")
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["code"] == "CMNC-404"
    assert unknown.headers["Message-Type"] == "api-proxy"

    other_account = requests.get(f"{sim.url}/public-api/other/warehouse-service/warehouse",
                                 headers=sim.private_headers(), timeout=5)
    assert other_account.status_code == 404


def test_warehouse_location_endpoints(sim: BrightpearlSimulator, api: Api) -> None:
    assert api.get("/warehouse-service/warehouse/3").json() == {"response": [
        {"id": 3, "name": "Amazon FBA", "typeCode": "warehouse", "typeDescription": "Warehouse",
         "address": {"addressId": 3}, "clickAndCollectEnabled": False}]}
    assert api.get("/warehouse-service/warehouse/2/location/default").json() == {"response": 2}
    assert api.get("/warehouse-service/warehouse/2/location/quarantine").json() == {"response": 9}
    locs = api.ok("GET", "/warehouse-service/warehouse/2/location")
    assert [loc["id"] for loc in locs] == [2, 9, 19]
    assert locs[1]["groupingA"] == "QUARANTINE" and locs[2]["barcode"] == "SHELF-19"
    assert [loc["id"] for loc in api.ok("GET", "/warehouse-service/warehouse/2/location/19")] == [19]
    assert api.ok("GET", "/warehouse-service/warehouse/2/product/1007,1011") == [
        {"productId": 1007, "defaultLocationId": 2, "overflowLocationId": 0, "reorderLevel": 0, "reorderQuantity": 0},
        {"productId": 1011, "defaultLocationId": 2, "overflowLocationId": 0, "reorderLevel": 0, "reorderQuantity": 0}]
    assert api.get("/warehouse-service/warehouse/77/location/default").status_code == 404


# ----------------------------------------------------------------------------- throttling
def test_throttle_201st_request_in_window_is_503_then_window_rolls(sim: BrightpearlSimulator, api: Api) -> None:
    seen = [int(api.get("/warehouse-service/warehouse/2/location/default").headers["brightpearl-requests-remaining"])
            for _ in range(100)]
    assert seen == list(range(199, 99, -1))
    sim.clock.advance(30)
    for _ in range(100):
        last = api.get("/warehouse-service/warehouse/2/location/default")
    assert last.status_code == 200 and last.headers["brightpearl-requests-remaining"] == "0"

    r = api.get("/warehouse-service/warehouse/2/location/default")
    assert r.status_code == 503
    assert r.json() == THROTTLE_BODY
    assert r.headers["brightpearl-requests-remaining"] == "0"
    assert r.headers["Message-Type"] == "api-proxy"
    # The oldest counted request leaves the window ~30 simulated seconds from now.
    assert 25000 < int(r.headers["brightpearl-next-throttle-period"]) <= 30000
    assert len(sim.requests(route="get-default-location")) == 201

    # Rolling, not fixed: 30 s later only the first 100 requests have left the window.
    sim.clock.advance(30)
    ok = api.get("/warehouse-service/warehouse/2/location/default")
    assert ok.status_code == 200 and ok.headers["brightpearl-requests-remaining"] == "99"
    sim.clock.advance(60)
    assert api.get("/warehouse-service/warehouse").headers["brightpearl-requests-remaining"] == "199"


def test_small_limit_and_window_are_configurable() -> None:
    clock = SimClock()
    with BrightpearlSimulator(limit=3, window_seconds=5, clock=clock, auth_mode="off") as s:
        sim = s
        assert isinstance(sim, BrightpearlSimulator)
        url = sim.api_url + "/warehouse-service/warehouse"
        assert [requests.get(url, timeout=5).status_code for _ in range(4)] == [200, 200, 200, 503]
        clock.advance(5)
        assert requests.get(url, timeout=5).status_code == 200


# ----------------------------------------------------------------------------- auth
def test_private_app_auth(sim: BrightpearlSimulator) -> None:
    url = sim.api_url + "/warehouse-service/warehouse"
    none = requests.get(url, timeout=5)
    assert none.status_code == 401 and none.json() == {"response": "Not authenticated"}
    assert none.headers["Message-Type"] == "api-proxy"
    bad = requests.get(url, headers={"brightpearl-app-ref": "acme_connector", "brightpearl-account-token": "nope"},
                       timeout=5)
    assert bad.status_code == 401 and bad.json() == {"response": "Invalid account token: nope"}
    wrong_app = requests.get(url, headers={"brightpearl-app-ref": "acme_other", "brightpearl-account-token":
                                           "account-token"}, timeout=5)
    assert wrong_app.status_code == 401
    staff = requests.get(url, headers={"brightpearl-app-ref": "acme_connector", "brightpearl-staff-token":
                                       "staff-token"}, timeout=5)
    assert staff.status_code == 200
    # 401s are refused at the gateway before the rate limiter counts them.
    assert staff.headers["brightpearl-requests-remaining"] == "199"


def test_seeded_credentials_replace_defaults(sim: BrightpearlSimulator) -> None:
    sim.seed({"credentials": {"appRef": "acme_prod-app", "accountToken": "s3cret"}})
    url = sim.api_url + "/warehouse-service/warehouse"
    assert requests.get(url, headers={"brightpearl-app-ref": "acme_prod-app", "brightpearl-account-token": "s3cret"},
                        timeout=5).status_code == 200
    assert requests.get(url, headers={"brightpearl-app-ref": "acme_connector",
                                      "brightpearl-account-token": "account-token"}, timeout=5).status_code == 401


def _token(sim: BrightpearlSimulator, **form: str) -> requests.Response:
    return requests.post(f"{sim.url}/token/acme", data={"client_id": "acme_connector",
                                                        "client_secret": "client-secret", **form}, timeout=5)


def _bearer(sim: BrightpearlSimulator, token: str) -> requests.Response:
    return requests.get(sim.api_url + "/warehouse-service/warehouse", timeout=5, headers={
        "Authorization": f"Bearer {token}", "brightpearl-app-ref": "acme_connector", "brightpearl-dev-ref": "dev-ref"})


def test_oauth_code_grant_refresh_rotation_and_old_refresh_refused(sim: BrightpearlSimulator) -> None:
    redirect = "https://connector.example/cb"
    auth = requests.get(f"{sim.url}/authorize/acme", allow_redirects=False, timeout=5, params={
        "response_type": "code", "client_id": "acme_connector", "redirect_uri": redirect, "state": "xyz"})
    assert auth.status_code == 302
    m = re.fullmatch(re.escape(redirect) + r"\?code=([^&]+)&state=xyz", auth.headers["Location"])
    assert m
    code = m.group(1)

    mismatch = _token(sim, grant_type="authorization_code", code=code, redirect_uri="https://evil.example/cb")
    assert mismatch.status_code == 400 and mismatch.json() == {
        "error": "invalid_grant", "error_description": "Redirect uri does not match that used to request auth token"}
    bad_secret = _token(sim, grant_type="authorization_code", code=code, redirect_uri=redirect, client_secret="x")
    assert bad_secret.status_code == 400 and bad_secret.json() == {"error": "invalid_client"}

    first = _token(sim, grant_type="authorization_code", code=code, redirect_uri=redirect)
    assert first.status_code == 200, first.text
    t1 = first.json()
    assert t1["installation_instance_id"] == "13" and t1["token_type"] == "Bearer" and t1["expires_in"] == 604800
    assert t1["api_domain"] == f"127.0.0.1:{sim.port}"
    reuse = _token(sim, grant_type="authorization_code", code=code, redirect_uri=redirect)
    assert reuse.json() == {"error": "invalid_grant",
                            "error_description": "The auth token has either expired or does not exist"}

    call = _bearer(sim, t1["access_token"])
    assert call.status_code == 200 and call.headers["brightpearl-installed-integration-instance-id"] == "13"
    missing_dev_ref = requests.get(sim.api_url + "/warehouse-service/warehouse", timeout=5, headers={
        "Authorization": f"Bearer {t1['access_token']}", "brightpearl-app-ref": "acme_connector"})
    assert missing_dev_ref.status_code == 401

    second = _token(sim, grant_type="refresh_token", refresh_token=t1["refresh_token"])
    assert second.status_code == 200
    t2 = second.json()
    assert "installation_instance_id" not in t2 and t2["api_domain"] == f"127.0.0.1:{sim.port}"
    assert t2["refresh_token"] != t1["refresh_token"] and t2["access_token"] != t1["access_token"]
    old = _token(sim, grant_type="refresh_token", refresh_token=t1["refresh_token"])
    assert old.status_code == 400 and old.json()["error"] == "invalid_grant"
    assert _token(sim, grant_type="refresh_token", refresh_token=t2["refresh_token"]).status_code == 200
    assert _bearer(sim, t2["access_token"]).status_code == 200


def test_oauth_access_token_expires_on_the_simulated_clock(sim: BrightpearlSimulator) -> None:
    t = _token(sim, grant_type="authorization_code", code=sim.issue_auth_code(),
               redirect_uri="https://localhost/oauth/callback").json()
    sim.clock.advance(604799)
    assert _bearer(sim, t["access_token"]).status_code == 200
    sim.clock.advance(2)
    expired = _bearer(sim, t["access_token"])
    assert expired.status_code == 401 and expired.json() == {"response": "Authorization token expired"}
    assert expired.headers["Message-Type"] == "api-proxy"
    # The client rule: refresh once, retry once.
    fresh = _token(sim, grant_type="refresh_token", refresh_token=t["refresh_token"]).json()
    assert _bearer(sim, fresh["access_token"]).status_code == 200

    unknown = _bearer(sim, "forged")
    assert unknown.json() == {"response": "Invalid instance token: forged"}


def test_control_route_expires_access_token_and_rotation_can_be_disabled() -> None:
    with BrightpearlSimulator(refresh_token="seeded-refresh", revoke_old_refresh_tokens=False) as s:
        sim = s
        assert isinstance(sim, BrightpearlSimulator)
        t = _token(sim, grant_type="refresh_token", refresh_token="seeded-refresh").json()
        assert _bearer(sim, t["access_token"]).status_code == 200
        r = requests.post(f"{sim.url}/_sim/brightpearl/tokens/expire", json={}, timeout=5)
        assert r.json() == {"expired": 1}
        assert _bearer(sim, t["access_token"]).json() == {"response": "Authorization token expired"}
        # With rotation enforcement off the seeded (old) refresh token keeps working.
        assert _token(sim, grant_type="refresh_token", refresh_token="seeded-refresh").status_code == 200


# ----------------------------------------------------------------------------- products
def test_product_search_by_sku_matches_the_contract_example(sim: BrightpearlSimulator, api: Api) -> None:
    r = api.get("/product-service/product-search", params={"SKU": "SHIRT-BL-M",
                                                           "columns": "productId,productName,SKU"})
    assert r.headers["Message-Type"] == "bulk-data-search"
    id_col = {"name": "productId", "sortable": True, "filterable": True, "reportDataType": "IDSET",
              "referenceData": ["productCategoryMembership"], "isFreeTextSearchable": False, "required": False}
    assert r.json() == {"response": {
        "results": [[1007, "Linen shirt", "SHIRT-BL-M"]],
        "metaData": {"morePagesAvailable": False, "resultsAvailable": 1, "resultsReturned": 1, "firstResult": 1,
                     "lastResult": 1, "columns": [
                         id_col,
                         {"name": "productName", "sortable": True, "filterable": True,
                          "reportDataType": "SEARCH_STRING", "referenceData": [], "isFreeTextSearchable": False,
                          "required": False},
                         {"name": "SKU", "sortable": True, "filterable": True, "reportDataType": "STRING",
                          "referenceData": [], "isFreeTextSearchable": False, "required": False}],
                     "sorting": [{"filterable": id_col, "direction": "ASC"}]}},
        # Beside ``response``, not inside it (issue "simulator fidelity": recorded traffic).
        "reference": {"productCategoryMembership": {"1007": [296]}}}
    # SKU is an exact, case-sensitive STRING match. An empty result has no firstResult/lastResult.
    none = api.ok("GET", "/product-service/product-search?SKU=shirt-bl-m")
    assert none["results"] == [] and none["metaData"]["resultsAvailable"] == 0
    assert "firstResult" not in none["metaData"] and "lastResult" not in none["metaData"]


def test_product_search_default_columns_filters_and_paging(sim: BrightpearlSimulator, api: Api) -> None:
    full = api.ok("GET", "/product-service/product-search?SKU=SHIRT-BL-M")
    names = [c["name"] for c in full["metaData"]["columns"]]
    assert names == ["productId", "productName", "SKU", "barcode", "EAN", "UPC", "ISBN", "MPN", "stockTracked",
                     "salesChannelName", "createdOn", "updatedOn", "brightpearlCategoryCode", "productGroupId",
                     "brandId", "productTypeId", "productStatus", "primarySupplierId"]
    assert [c["reportDataType"] for c in full["metaData"]["columns"]] == [
        "IDSET", "SEARCH_STRING", "STRING", "STRING", "STRING", "STRING", "STRING", "STRING", "BOOLEAN", "STRING",
        "PERIOD", "PERIOD", "IDSET", "INTEGER", "IDSET", "IDSET", "STRING", "IDSET"]
    assert full["results"] == [[1007, "Linen shirt", "SHIRT-BL-M", "5012345678900", None, None, None, None, True,
                                "Brightpearl", "2023-03-31T14:58:29.000Z", "2024-07-06T01:48:36.000Z", 296, 212, 74,
                                1, "LIVE", None]]

    page = api.ok("GET", "/product-service/product-search?columns=productId&pageSize=3&firstResult=4")
    assert page["results"] == [[1012], [1013], [1014]]
    assert {k: v for k, v in page["metaData"].items() if k not in ("columns", "sorting")} == {
        "morePagesAvailable": True, "resultsAvailable": 10, "resultsReturned": 3, "firstResult": 4, "lastResult": 6}
    last = api.ok("GET", "/product-service/product-search?columns=productId&pageSize=3&firstResult=10")
    assert last["results"] == [[1600]] and last["metaData"]["morePagesAvailable"] is False

    def ids(q: str) -> list[int]:
        return [row[0] for row in api.ok("GET", "/product-service/product-search?columns=productId&" + q)["results"]]

    assert ids("productId=1007-1011,1532") == [1007, 1008, 1011, 1532]
    assert ids("productStatus=ARCHIVED") == [1012]
    assert ids("productGroupId=212&sort=productId.DESC") == [1008, 1007]
    assert ids("updatedOn=2024-07-01T00:00:00Z/2024-08-31T00:00:00Z") == [1007, 1008]
    assert ids("productName=linen") == [1007, 1008]
    bad = api.get("/product-service/product-search?productGroupId=abc")
    assert bad.status_code == 500 and bad.json()["errors"][0]["code"] == "CMNC-018"


def test_product_get_by_id_set_ranges_options_and_limits(sim: BrightpearlSimulator, api: Api) -> None:
    got = api.ok("GET", "/product-service/product/1007-1008,1011")
    assert sorted(p["id"] for p in got) == [1007, 1008, 1011]
    # One unknown id fails the whole ID set (issue "simulator fidelity": real Brightpearl answers 400).
    bad = api.get("/product-service/product/1006-1008,1011,5000")
    assert bad.status_code == 400 and bad.json()["errors"][0] == {"code": "PRDC-001",
                                                                  "message": "Products not found: 1006,5000"}
    shirt = next(p for p in got if p["id"] == 1007)
    assert shirt["identity"]["sku"] == "SHIRT-BL-M" and shirt["productGroupId"] == 212
    assert shirt["composition"] == {"bundle": False} and shirt["stock"]["stockTracked"] is True
    assert shirt["warehouses"]["2"]["defaultLocationId"] == 2 and shirt["status"] == "LIVE"

    too_many = api.get("/product-service/product/1-201")
    assert too_many.status_code == 414 and too_many.json()["errors"][0]["code"] == "CMNC-414"
    assert api.get("/product-service/product/5-3").status_code == 400

    sim.seed({"products": [{"id": i, "sku": f"BULK-{i}"} for i in range(2000, 2250)]})
    uris = requests.options(sim.api_url + "/product-service/product/1000-2300", headers=sim.private_headers(),
                            timeout=5).json()["response"]["getUris"]
    assert uris == ["/product/1007-1008,1011-1014,1532-1534,1600,2000-2189", "/product/2190-2249"]
    assert requests.options(sim.api_url + "/product-service/product/1-5", headers=sim.private_headers(),
                            timeout=5).json() == {"response": {"getUris": []}}


def test_bundles_variants_and_bundle_availability(sim: BrightpearlSimulator, api: Api) -> None:
    pair = api.ok("GET", "/product-service/product/1013")[0]
    assert pair["composition"] == {"bundle": True, "bundleComponents": [
        {"productId": 1011, "productQuantity": 2, "composition": {"bundle": False}}]}
    assert pair["stock"]["stockTracked"] is False
    gift = api.ok("GET", "/product-service/product/1014")[0]
    assert gift["composition"]["bundleComponents"][0] == {"productId": 1013, "productQuantity": 1,
                                                          "composition": {"bundle": True}}

    assert api.ok("GET", "/product-service/product/1011,1007/bundle") == [
        {"id": 1011, "bundles": [{"id": 1013, "bundles": [{"id": 1014}]}]}, {"id": 1007, "bundles": [{"id": 1014}]}]
    assert api.get("/product-service/product/1532/bundle").status_code == 404

    assert api.ok("GET", "/product-service/product/1007-1008/option-value") == [
        {"productId": 1007, "optionId": 1, "optionName": "Size", "optionValueId": 3, "optionValue": "M"},
        {"productId": 1008, "optionId": 1, "optionName": "Size", "optionValueId": 4, "optionValue": "L"}]

    # Socks: 7 in MAIN, 10 in FBA -> pairs 3 and 5; gift set also needs a shirt (48 in MAIN, none in FBA).
    assert api.ok("GET", "/warehouse-service/bundle-availability/1013") == {
        "1013": {"total": {"onHand": 8}, "warehouses": {"2": {"onHand": 3}, "3": {"onHand": 5}}}}
    assert api.ok("GET", "/warehouse-service/bundle-availability/1014") == {
        "1014": {"total": {"onHand": 3}, "warehouses": {"2": {"onHand": 3}, "3": {"onHand": 0}}}}


# ----------------------------------------------------------------------------- availability and corrections
def test_product_availability_shape_and_rules(sim: BrightpearlSimulator, api: Api) -> None:
    r = api.get("/warehouse-service/product-availability/1007,1011,1600,1532-1534")
    assert r.headers["Message-Type"] == "get-product-availability"
    body = r.json()["response"]
    assert set(body) == {"1007", "1011", "1532", "1533", "1534"}  # not stock tracked (1600) left out
    unknown = api.get("/warehouse-service/product-availability/1007,1011,9999")
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["code"] == "PRDC-001"
    assert body["1007"] == {"total": {"inStock": 48, "onHand": 48, "allocated": 0, "inTransit": 0},
                            "warehouses": {"2": {"inStock": 48, "onHand": 48, "allocated": 0, "inTransit": 0}}}
    assert set(body["1011"]["warehouses"]) == {"2", "3"} and body["1011"]["total"]["onHand"] == 17
    assert api.get("/warehouse-service/product-availability/1-101").status_code == 414
    sim.seed({"products": [{"id": i, "sku": f"BULK-{i}"} for i in range(3000, 3100)]})
    assert api.get("/warehouse-service/product-availability/3000-3099").status_code == 200


def test_stock_corrections_positive_negative_and_refusals(sim: BrightpearlSimulator, api: Api) -> None:
    ids = api.ok("POST", "/warehouse-service/warehouse/2/stock-correction",
                 {"corrections": [correction(1007, 12), correction(1532, -3), correction(1008, 5, MAIN_SHELF)]})
    assert len(ids) == 3 and ids == sorted(ids)
    assert sim.on_hand(1007, MAIN) == 60 and sim.on_hand(1532, MAIN) == 1 and sim.on_hand(1008, MAIN) == 5
    assert sim.location_stock(1008, MAIN, MAIN_SHELF) == 5

    notes = api.ok("GET", f"/warehouse-service/warehouse/2/stock-correction/{ids[0]},{ids[1]}")
    assert notes[0]["goodsNoteId"] == ids[0] and notes[0]["reason"] == "test"
    assert notes[0]["goodsMoved"][0] | {"createdOn": None} == {
        "productId": 1007, "quantity": 12, "destinationLocationId": 2, "batchGoodsNoteId": ids[0],
        "productValue": {"currency": "GBP", "value": 8.5}, "createdOn": None, "createdBy": 4}
    assert notes[1]["goodsMoved"][0]["quantity"] == -3

    # Refusals change nothing, even when an earlier correction in the same request was valid.
    too_many = api.post("/warehouse-service/warehouse/2/stock-correction",
                        {"corrections": [correction(1007, 1), correction(1532, -2)]})
    assert too_many.status_code == 400 and too_many.json() == {"errors": [
        {"code": "WHSB-023", "message": "None of the requested products are available in location 2"}]}
    assert sim.on_hand(1007, MAIN) == 60 and sim.on_hand(1532, MAIN) == 1
    no_cost = {**correction(1007, 1)}
    del no_cost["cost"]
    assert api.post("/warehouse-service/warehouse/2/stock-correction", {"corrections": [no_cost]}).status_code == 400
    untracked = api.post("/warehouse-service/warehouse/2/stock-correction", {"corrections": [correction(1600, 1)]})
    assert untracked.status_code == 400
    foreign_location = api.post("/warehouse-service/warehouse/2/stock-correction",
                                {"corrections": [correction(1007, 1, FBA_DEFAULT)]})
    assert foreign_location.status_code == 400

    api.ok("POST", "/warehouse-service/warehouse/2/stock-correction", {"corrections": [correction(1012, 2)]})
    assert api.ok("GET", "/product-service/product/1012")[0]["status"] == "LIVE"  # archived product revived
    assert len(sim.requests(route="post-stock-correction", ok_only=True)) == 2
    assert len(sim.requests(route="post-stock-correction", writes_only=True)) == 6


# ----------------------------------------------------------------------------- warehouse transfers
def test_transfer_lifecycle_exact_numbers_at_every_step(sim: BrightpearlSimulator, api: Api) -> None:
    tid = api.ok("POST", "/warehouse-service/warehouse/2/stock-transfer",
                 {"targetWarehouseId": 3, "reference": "AMZ-XFER-001"})
    dup = api.post("/warehouse-service/warehouse/2/stock-transfer", {"targetWarehouseId": 3,
                                                                    "reference": "AMZ-XFER-001"})
    assert dup.status_code == 400 and "errors" in dup.json()
    [transfer] = api.ok("GET", f"/warehouse-service/stock-transfer/{tid}")
    assert transfer["goodsOutNoteId"] == 0 and transfer["sourceWarehouseId"] == 2
    assert transfer["targetWarehouseId"] == 3 and transfer["reference"] == "AMZ-XFER-001"

    short = api.post("/warehouse-service/warehouse/2/external-transfer", {
        "targetWarehouseId": 3, "stockTransferId": tid, "transferredProducts": [{"productId": 1007, "quantity": 49}]})
    assert short.status_code == 400 and short.json()["errors"][0]["code"] == "WHSB-023"
    assert api.figures(1007)["warehouses"] == {"2": {"inStock": 48, "onHand": 48, "allocated": 0, "inTransit": 0}}

    [gid] = api.ok("POST", "/warehouse-service/warehouse/2/external-transfer", {
        "targetWarehouseId": 3, "stockTransferId": tid, "shippingMethodId": 5, "releaseDate": "2024-05-01T09:00:00Z",
        "transferredProducts": [{"productId": 1007, "quantity": 5, "fromLocationId": 2}]})
    assert api.figures(1007) == {"total": {"inStock": 48, "onHand": 43, "allocated": 5, "inTransit": 0},
                                 "warehouses": {"2": {"inStock": 48, "onHand": 43, "allocated": 5, "inTransit": 0}}}
    assert api.ok("GET", f"/warehouse-service/stock-transfer/{tid}")[0]["goodsOutNoteId"] == gid

    note = api.ok("GET", f"/warehouse-service/order/*/goods-note/goods-out/{gid}")[str(gid)]
    assert note["transfer"] is True and note["orderId"] == 0 and note["targetWarehouseId"] == 3
    assert note["status"] == {"shipped": False, "packed": False, "picked": False, "printed": False}
    assert note["orderRows"] == {"0": [{"productId": 1007, "quantity": 5, "locationId": 2}]}
    version = note["lastEventVersion"]

    event_url = f"/warehouse-service/goods-note/goods-out/{gid}/event"
    shw = {"events": [{"eventCode": "SHW", "occured": "2024-05-01T15:30:00Z", "eventOwnerId": 4}]}
    missing = api.post(event_url, {"events": [{"eventCode": "SHW", "eventOwnerId": 4}]})
    assert missing.status_code == 400
    stale = api.post(event_url, shw, headers={"If-Match": str(version - 1)})
    assert stale.status_code == 412
    shipped = api.post(event_url, shw, headers={"If-Match": str(version)})
    assert shipped.status_code == 200 and shipped.json() == {}
    assert api.figures(1007) == {"total": {"inStock": 43, "onHand": 43, "allocated": 0, "inTransit": 5}, "warehouses": {
        "2": {"inStock": 43, "onHand": 43, "allocated": 0, "inTransit": 0},
        "3": {"inStock": 0, "onHand": 0, "allocated": 0, "inTransit": 5}}}
    assert sim.quarantine(1007, FBA) == 5
    note = api.ok("GET", f"/warehouse-service/order/*/goods-note/goods-out/{gid}")[str(gid)]
    assert note["status"]["shipped"] is True and note["status"]["shippedOn"] == "2024-05-01T15:30:00Z"
    assert [e["eventCode"] for e in note["events"]] == ["PLA", "PRI", "PIC", "PAC", "SHW"]
    frozen = api.post(event_url, {"events": [{"eventCode": "UPA", "occured": "2024-05-01T16:00:00Z",
                                              "eventOwnerId": 4}]})
    assert frozen.status_code == 400

    release = "/warehouse-service/warehouse/3/quarantine/release"
    assert api.post(release, {"productId": 1007, "quantity": 2, "toLocationId": 3}).json() == {}
    assert api.figures(1007)["warehouses"]["3"] == {"inStock": 2, "onHand": 2, "allocated": 0, "inTransit": 3}
    assert api.post(release, {"productId": 1007, "quantity": 3, "toLocationId": 3}).status_code == 200
    assert api.figures(1007)["warehouses"]["3"] == {"inStock": 5, "onHand": 5, "allocated": 0, "inTransit": 0}
    too_much = api.post(release, {"productId": 1007, "quantity": 1, "toLocationId": 3})
    assert too_much.status_code == 400 and too_much.json() == {"errors": [
        {"code": "WHSB-023", "message": "None of the requested products are available in location 10"}]}
    assert api.figures(1007)["total"] == {"inStock": 48, "onHand": 48, "allocated": 0, "inTransit": 0}
    assert len(sim.requests(route="post-quarantine-release", ok_only=True)) == 2
    many = api.post(release, {"products": [{"productId": 1007, "quantity": 1}], "toLocationId": 3})
    assert many.status_code == 400 and "unknown field(s): products" in many.json()["errors"][0]["message"]


def test_external_transfer_without_location_allocates_fifo_across_locations(sim: BrightpearlSimulator,
                                                                             api: Api) -> None:
    sim.seed({"stock": [{"productId": 1532, "warehouseId": MAIN, "locationId": MAIN_SHELF, "onHand": 3}]})
    tid = api.ok("POST", "/warehouse-service/warehouse/2/stock-transfer", {"targetWarehouseId": 3})
    [gid] = api.ok("POST", "/warehouse-service/warehouse/2/external-transfer", {
        "targetWarehouseId": 3, "stockTransferId": tid, "transferredProducts": [{"productId": 1532, "quantity": 6}]})
    rows = api.ok("GET", f"/warehouse-service/order/*/goods-note/goods-out/{gid}")[str(gid)]["orderRows"]["0"]
    assert rows == [{"productId": 1532, "quantity": 4, "locationId": 2},
                    {"productId": 1532, "quantity": 2, "locationId": 19}]
    assert sim.figures(1532, MAIN) == {"inStock": 7, "onHand": 1, "allocated": 6, "inTransit": 0}


# ----------------------------------------------------------------------------- orders, credits, goods-in
def test_order_search_and_read(sim: BrightpearlSimulator, api: Api) -> None:
    found = api.ok("GET", "/order-service/order-search?orderTypeId=1&externalRef=202-1234567-1234567")
    cols = [c["name"] for c in found["metaData"]["columns"]]
    assert cols[:5] == ["orderId", "orderTypeId", "contactId", "orderStatusId", "orderStockStatusId"]
    assert len(cols) == 19 and cols[-1] == "deliveryDate"
    assert [dict(zip(cols, row, strict=True))["orderId"] for row in found["results"]] == [1201]
    raw = api.get("/order-service/order-search?orderTypeId=1&externalRef=202-1234567-1234567").json()
    assert "reference" not in raw["response"]
    assert raw["reference"]["orderTypeNames"] == {"1": "SALES_ORDER", "2": "PURCHASE_ORDER", "3": "SALES_CREDIT",
                                                    "4": "PURCHASE_CREDIT"}
    by_customer_ref = api.ok("GET", "/order-service/order-search?orderTypeId=1&customerRef=202-7654321-7654321")
    assert [r[0] for r in by_customer_ref["results"]] == [1202]
    bad = api.get("/order-service/order-search?orderStatusId=abc")
    assert bad.status_code == 500 and bad.json() == {"errors": [
        {"code": "CMNC-018", "message": "The filter orderStatusId=abc cannot be parsed as: INTEGER"}]}

    [order] = api.ok("GET", "/order-service/order/1201")
    assert order["orderTypeCode"] == "SO" and order["reference"] == "CUST-REF-9"
    assert list(order["orderRows"]) == ["3301"]
    row = order["orderRows"]["3301"]
    assert row["quantity"] == {"magnitude": "2.0000"} and row["itemCost"]["value"] == "8.5000"
    assert row["rowValue"]["rowNet"]["value"] == "50.00" and order["totalValue"]["total"] == "60.00"
    assert api.get("/order-service/order/99999").json() == {"response": []}


def test_sales_credit_goods_in_and_duplicates(sim: BrightpearlSimulator, api: Api) -> None:
    credit_body = {"customer": {"id": 200}, "parentId": 1201, "ref": "202-1234567-1234567",
                   "externalRef": "AMZ-RET-1", "installedIntegrationInstanceId": 13, "statusId": 10,
                   "rows": [{"productId": 1007, "quantity": 2, "net": 50.0, "tax": 10.0, "taxCode": "T20",
                             "nominalCode": "4000", "externalRef": "3301"},
                            {"name": "Return shipping", "quantity": 1, "net": -3.0, "tax": -0.6}]}
    cid = api.ok("POST", "/order-service/sales-credit", credit_body)
    dup = api.post("/order-service/sales-credit", credit_body)
    assert dup.status_code == 400 and "errors" in dup.json()
    other_integration = api.ok("POST", "/order-service/sales-credit",
                               {**credit_body, "installedIntegrationInstanceId": 14})
    assert other_integration != cid

    [credit] = api.ok("GET", f"/order-service/sales-credit/{cid}")
    assert credit["parentId"] == 1201 and credit["warehouseId"] == 2 and credit["channelId"] == 3  # from parent
    assert credit["total"] == {"net": "47.00", "tax": "9.40", "gross": "56.40", "baseNet": "47.00",
                               "baseTax": "9.40", "baseGross": "56.40"}
    assert credit["rows"][0]["sku"] == "SHIRT-BL-M" and credit["rows"][1]["name"] == "Return shipping"
    partial = api.get(f"/order-service/sales-credit/{cid},99999")
    assert partial.status_code == 207 and [c["id"] for c in partial.json()["response"]] == [cid]
    assert api.get("/order-service/sales-credit/99999").status_code == 404
    existing = api.ok("GET", "/order-service/order-search?orderTypeId=3&parentOrderId=1201")
    assert sorted(r[0] for r in existing["results"]) == sorted([cid, other_integration])

    [order] = api.ok("GET", f"/order-service/order/{cid}")
    assert order["orderTypeCode"] == "SC" and order["parentOrderId"] == 1201
    shirt_row = next(int(k) for k, r in order["orderRows"].items() if r.get("productId") == 1007)

    goods_in = f"/warehouse-service/order/{cid}/goods-note/goods-in"
    move = {"productId": 1007, "purchaseOrderRowId": shirt_row, "quantity": 1, "destinationLocationId": 2,
            "productValue": {"currency": "GBP", "value": 8.5}}
    nid = api.ok("POST", goods_in, {"transfer": False, "warehouseId": 2, "receivedOn": "2024-05-03T09:00:00Z",
                                    "userBatchReference": "RMA-1", "goodsMoved": [move]})
    assert sim.on_hand(1007, MAIN) == 49
    over = api.post(goods_in, {"warehouseId": 2, "goodsMoved": [{**move, "quantity": 2}]})
    assert over.status_code == 400 and sim.on_hand(1007, MAIN) == 49
    dup_batch = api.post(goods_in, {"warehouseId": 2, "userBatchReference": "RMA-1", "goodsMoved": [move]})
    assert dup_batch.status_code == 400
    api.ok("POST", goods_in, {"warehouseId": 2, "goodsMoved": [{**move, "destinationLocationId": 9}]})
    assert sim.on_hand(1007, MAIN) == 49 and sim.quarantine(1007, MAIN) == 1  # damaged: not sellable
    assert api.post(goods_in, {"warehouseId": 2, "goodsMoved": [move]}).status_code == 400  # row fully received

    notes = api.ok("GET", f"/warehouse-service/order/{cid}/goods-note/goods-in")
    assert len(notes) == 2
    assert notes[str(nid)] | {"goodsMoved": None} == {
        "goodsNoteId": nid, "orderId": cid, "warehouseId": 2, "transfer": False, "goodsNoteStatus": "CLOSED",
        "userBatchReference": "RMA-1", "receivedOn": "2024-05-03T09:00:00Z", "createdBy": 4, "goodsMoved": None}
    assert notes[str(nid)]["goodsMoved"] == [move]


def test_low_level_order_and_row_create(sim: BrightpearlSimulator, api: Api) -> None:
    missing = api.post("/order-service/order", {"parentOrderId": 1201, "parties": {"customer": {"contactId": 200}}})
    assert missing.status_code == 400 and missing.json()["errors"][0]["code"] == "ORDC-005"
    oid = api.ok("POST", "/order-service/order", {"orderTypeCode": "SC", "parentOrderId": 1201, "reference": "R",
                                                  "parties": {"customer": {"contactId": 200}}})
    rid = api.ok("POST", f"/order-service/order/{oid}/row", {
        "productId": 1007, "quantity": {"magnitude": "1"},
        "rowValue": {"taxCode": "T20", "rowNet": {"value": "25.00"}, "rowTax": {"value": "5.00"}}})
    [order] = api.ok("GET", f"/order-service/order/{oid}")
    assert order["orderTypeCode"] == "SC" and order["warehouseId"] == 2
    assert order["orderRows"][str(rid)]["rowValue"]["rowNet"]["value"] == "25.00"
    assert [c["id"] for c in api.ok("GET", f"/order-service/sales-credit/{oid}")] == [oid]


# ----------------------------------------------------------------------------- webhooks
def test_webhook_register_list_delete(sim: BrightpearlSimulator, api: Api) -> None:
    bad = api.post("/integration-service/webhook", hook("http://x", event="product.exploded"))
    assert bad.status_code == 400 and bad.json() == {"errors": [
        {"code": "INTC-064", "message": "product.exploded either does not exist or cannot be subscribed too"}]}
    hid = api.ok("POST", "/integration-service/webhook", hook("http://x/{secretToken}"))
    assert api.get("/integration-service/webhook").headers["Message-Type"] == "get-webhook"
    listed = api.ok("GET", f"/integration-service/webhook/{hid}")
    assert listed == [{"id": hid, **hook("http://x/{secretToken}")}]
    assert api.get("/integration-service/webhook/99999").json() == {"errors": [
        {"code": "CMNC-404", "message": "No webhooks available in ID Set 99999"}]}
    assert api.s.delete(api.base + f"/integration-service/webhook/{hid}", timeout=5).json() == {}
    gone = api.s.delete(api.base + f"/integration-service/webhook/{hid}", timeout=5)
    assert gone.status_code == 404 and gone.json()["errors"][0]["message"] == f"Cannot find webhook: {hid}"
    assert api.ok("GET", "/integration-service/webhook") == []


def test_on_hand_webhook_delivers_rendered_template_with_id_set(sim: BrightpearlSimulator, api: Api,
                                                                receiver: Receiver) -> None:
    api.ok("POST", "/integration-service/webhook", hook(receiver.url + "/hooks/s3cret?event=${full-event}"))
    api.ok("POST", "/integration-service/webhook",
           hook(receiver.url + "/single/${resource-id}", idSetAccepted=False, qualityOfService=0))
    api.ok("POST", "/warehouse-service/warehouse/2/stock-correction",
           {"corrections": [correction(1007, 1), correction(1532, -1), correction(1533, -1), correction(1534, -1)]})
    assert sim.wait_webhooks_idle(5)

    set_calls = [c for c in receiver.calls if c["path"].startswith("/hooks/")]
    assert len(set_calls) == 1
    assert set_calls[0]["path"] == "/hooks/s3cret?event=product.modified.on-hand-modified"
    assert set_calls[0]["content_type"] == "application/json"
    payload = json.loads(set_calls[0]["body"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", payload.pop("raisedOn"))
    assert payload == {"accountCode": "acme", "resourceType": "product", "id": "1007,1532-1534",
                       "lifecycleEvent": "modified", "fullEvent": "product.modified.on-hand-modified",
                       "brightpearlVersion": "4.23.1"}
    singles = sorted(c["path"] for c in receiver.calls if c["path"].startswith("/single/"))
    assert singles == ["/single/1007", "/single/1532", "/single/1533", "/single/1534"]
    assert len(sim.webhook_deliveries()) == 5

    # A refused correction changes nothing and announces nothing.
    api.post("/warehouse-service/warehouse/2/stock-correction", {"corrections": [correction(1532, -50)]})
    assert sim.wait_webhooks_idle(5)
    assert len(receiver.calls) == 5


def test_transfer_goods_in_and_control_changes_raise_webhooks(sim: BrightpearlSimulator, api: Api,
                                                              receiver: Receiver) -> None:
    for event in ("product.modified.on-hand-modified", "goods-out-note", "quarantine-release.created"):
        api.ok("POST", "/integration-service/webhook", hook(receiver.url + "/h", event=event))
    tid = api.ok("POST", "/warehouse-service/warehouse/2/stock-transfer", {"targetWarehouseId": 3})
    [gid] = api.ok("POST", "/warehouse-service/warehouse/2/external-transfer", {
        "targetWarehouseId": 3, "stockTransferId": tid, "transferredProducts": [{"productId": 1007, "quantity": 2}]})
    assert api.post(f"/warehouse-service/goods-note/goods-out/{gid}/event", {"events": [
        {"eventCode": "SHW", "occured": "2024-05-01T15:30:00Z", "eventOwnerId": 4}]}).status_code == 200
    assert api.post("/warehouse-service/warehouse/3/quarantine/release",
                    {"productId": 1007, "quantity": 2, "toLocationId": 3}).status_code == 200
    r = requests.post(f"{sim.url}/_sim/brightpearl/onhand", json={"productId": 1011, "warehouseId": 3, "delta": -4},
                      timeout=5)
    assert r.json() == {"inStock": 6, "onHand": 6, "allocated": 0, "inTransit": 0}
    assert sim.wait_webhooks_idle(5)
    events = [(json.loads(c["body"])["fullEvent"], json.loads(c["body"])["id"]) for c in receiver.calls]
    assert sorted(events) == sorted([
        ("goods-out-note.created", str(gid)), ("product.modified.on-hand-modified", "1007"),
        ("goods-out-note.modified.shipped", str(gid)), ("product.modified.on-hand-modified", "1007"),
        ("quarantine-release.created", "1"), ("product.modified.on-hand-modified", "1007"),
        ("product.modified.on-hand-modified", "1011")])
    sim.set_on_hand(1011, FBA, 0)
    assert sim.wait_webhooks_idle(5)
    assert sim.on_hand(1011, FBA) == 0 and len(receiver.calls) == 8


def test_webhook_retry_policy_by_quality_of_service(sim: BrightpearlSimulator, api: Api) -> None:
    receivers = {name: Receiver(statuses) for name, statuses in
                 {"qos1_500": [500, 500], "qos1_404": [404], "qos0_500": [500], "qos0_503": [503]}.items()}
    try:
        for name, rcv in receivers.items():
            api.ok("POST", "/integration-service/webhook",
                   hook(rcv.url + "/" + name, qualityOfService=int(name[3])))
        sim.adjust_on_hand(1007, MAIN, 1)
        assert sim.wait_webhooks_idle(5)
        statuses = {name: [a["status"] for a in sim.webhook_deliveries() if a["url"].endswith(name)]
                    for name in receivers}
        assert statuses == {"qos1_500": [500, 500, 200], "qos1_404": [404], "qos0_500": [500], "qos0_503": [503, 200]}
        assert len(receivers["qos1_500"].calls) == 3
        # Every attempt of the retried delivery carried the same body.
        assert len({c["body"] for c in receivers["qos1_500"].calls}) == 1
    finally:
        for rcv in receivers.values():
            rcv.stop()


def test_webhook_retries_are_bounded_and_unreachable_receivers_recorded(sim: BrightpearlSimulator, api: Api) -> None:
    dead = Receiver()
    dead.stop()  # nothing listens any more: connection refused on every attempt
    api.ok("POST", "/integration-service/webhook", hook(dead.url + "/gone"))
    sim.adjust_on_hand(1007, MAIN, 1)
    assert sim.wait_webhooks_idle(5)
    attempts = sim.webhook_deliveries()
    assert [a["attempt"] for a in attempts] == [1, 2, 3, 4]  # 1 + webhook_retries (3)
    assert all(a["status"] is None and a["error"] for a in attempts)


def test_slow_receiver_does_not_block_the_api(sim: BrightpearlSimulator, api: Api) -> None:
    slow = Receiver(delay=1.0)
    try:
        api.ok("POST", "/integration-service/webhook", hook(slow.url + "/slow"))
        t0 = time.monotonic()
        api.ok("POST", "/warehouse-service/warehouse/2/stock-correction", {"corrections": [correction(1007, 1)]})
        api.ok("GET", "/warehouse-service/product-availability/1007")
        assert time.monotonic() - t0 < 0.9  # under the receiver's 1 s delay: the write did not wait for it
        assert sim.wait_webhooks_idle(5) and len(slow.calls) == 1
    finally:
        slow.stop()


def test_webhook_simulate_endpoint(sim: BrightpearlSimulator, api: Api, receiver: Receiver) -> None:
    hid = api.ok("POST", "/integration-service/webhook", hook(receiver.url + "/sim"))
    test_data = {"${account-code}": "acme", "${resource-type}": "product", "${resource-id}": "1-5,99",
                 "${lifecycle-event}": "modified", "${resource-specifier}": "on-hand-modified",
                 "${raised-on}": "2024-01-01T01:01:01Z", "${brightpearl-version}": "4.23.1"}
    assert api.post(f"/integration-service/webhook/{hid}/simulate", {"testData": test_data}).status_code == 200
    assert sim.wait_webhooks_idle(5)
    assert json.loads(receiver.calls[0]["body"]) == {
        "accountCode": "acme", "resourceType": "product", "id": "1-5,99", "lifecycleEvent": "modified",
        "fullEvent": "product.modified.on-hand-modified", "raisedOn": "2024-01-01T01:01:01Z",
        "brightpearlVersion": "4.23.1"}
    too_many = api.post(f"/integration-service/webhook/{hid}/simulate",
                        {"testData": {**test_data, "${resource-id}": "1-11"}})
    assert too_many.status_code == 400


# ----------------------------------------------------------------------------- faults
@pytest.mark.parametrize(("status", "body"), [
    (503, THROTTLE_BODY),
    (429, THROTTLE_BODY),
    (500, {"errors": [{"code": "CMNU-003", "message": "Injected failure (HTTP 500)"}]}),
])
def test_injected_status_faults_are_brightpearl_shaped(sim: BrightpearlSimulator, api: Api, status: int,
                                                       body: Any) -> None:
    sim.add_fault({"match": "product-availability", "status": status, "count": 1})
    r = api.get("/warehouse-service/product-availability/1007")
    assert r.status_code == status and r.json() == body
    assert {"brightpearl-requests-remaining", "brightpearl-next-throttle-period", "Message-Type",
            "Ruid"} <= set(r.headers)
    assert api.get("/warehouse-service/product-availability/1007").status_code == 200  # count=1 used up


def test_latency_timeout_and_reset_faults(sim: BrightpearlSimulator, api: Api) -> None:
    sim.add_fault({"match": "GET .*/warehouse$", "kind": "latency", "seconds": 0.3, "count": 1})
    t0 = time.monotonic()
    assert api.get("/warehouse-service/warehouse").status_code == 200
    assert time.monotonic() - t0 >= 0.3

    sim.add_fault({"match": "get-product", "kind": "timeout", "seconds": 0.5, "count": 1})
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.s.get(api.base + "/product-service/product/1007", timeout=0.2)

    sim.add_fault({"match": "get-order", "kind": "reset", "count": 1})
    with pytest.raises(requests.exceptions.ConnectionError):
        api.get("/order-service/order/1201")
    assert api.get("/order-service/order/1201").status_code == 200


def test_write_then_fail_applies_the_change(sim: BrightpearlSimulator, api: Api) -> None:
    sim.add_fault({"match": "post-stock-correction", "kind": "write_then_fail", "status": 500, "count": 1})
    r = api.post("/warehouse-service/warehouse/2/stock-correction", {"corrections": [correction(1007, 2)]})
    assert r.status_code == 500 and r.json()["errors"][0]["code"] == "CMNU-003"
    assert sim.on_hand(1007, MAIN) == 50  # the client saw a failure, but Brightpearl did it

    sim.add_fault({"match": "post-stock-transfer", "kind": "write_then_fail", "status": 0, "count": 1})
    with pytest.raises(requests.exceptions.ConnectionError):
        api.post("/warehouse-service/warehouse/2/stock-transfer", {"targetWarehouseId": 3, "reference": "X-1"})
    retry = api.post("/warehouse-service/warehouse/2/stock-transfer", {"targetWarehouseId": 3, "reference": "X-1"})
    assert retry.status_code == 400  # the dropped call had created it: the idempotency key now collides
    assert [e.fault for e in sim.requests(route="post-stock-transfer")] == ["write_then_fail", None]


# ----------------------------------------------------------------------------- control API
def test_control_api_seed_state_and_reset(sim: BrightpearlSimulator, api: Api) -> None:
    r = requests.post(f"{sim.url}/_sim/seed", timeout=5, json={
        "products": [{"id": 3000, "sku": "NEW"}], "stock": [{"productId": 3000, "warehouseId": 3, "onHand": 9}]})
    assert r.status_code == 200
    assert api.figures(3000)["warehouses"] == {"3": {"inStock": 9, "onHand": 9, "allocated": 0, "inTransit": 0}}
    state = requests.get(f"{sim.url}/_sim/state", timeout=5).json()
    assert {"productId": 3000, "warehouseId": 3, "inStock": 9, "onHand": 9, "allocated": 0, "inTransit": 0,
            "quarantine": 0, "locations": {"3": 9}} in state["stock"]
    assert state["account"] == "acme" and state["rateLimit"]["limit"] == 200

    sim.reset()
    assert sim.state()["products"] == [] and sim.requests() == []
    assert api.get("/warehouse-service/warehouse").json() == {"response": []}
