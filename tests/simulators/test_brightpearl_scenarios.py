"""Contract tests for the Brightpearl simulator's scenario API and the behaviours it reaches.

Each test drives the simulator only through HTTP: the public API as a client would, and the
``/_sim/...`` control routes through :class:`simulators.brightpearl.scenario.BrightpearlScenario`.
Evidence for each behaviour is named in docs/simulators-brightpearl.md ("Scenario API").
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.adapters.brightpearl.auth import MemoryTokenStore, OAuthAuth, OAuthTokens, PrivateAppAuth
from connector.adapters.brightpearl.client import BrightpearlClient
from simulators.brightpearl import BrightpearlSimulator
from simulators.brightpearl.records import PARTY_FIELDS
from simulators.brightpearl.scenario import BrightpearlScenario, ScenarioError
from simulators.core import SimClock
from tests.brightpearl import NoGovernor


@pytest.fixture(scope="module")
def sim() -> Iterator[BrightpearlSimulator]:
    s = BrightpearlSimulator(limit=1_000_000).start()
    yield s
    s.stop()


@pytest.fixture
def sc(sim: BrightpearlSimulator) -> BrightpearlScenario:
    s = BrightpearlScenario.of(sim)
    s.reset()
    s.warehouse(2, "Main DC")
    s.products({1007: "SHIRT-BL-M", 1008: "SHIRT-BL-L", 1011: "SOCKS"}, warehouse_id=2, on_hand=10)
    return s


def get(sim: BrightpearlSimulator, path: str, **kw: Any) -> requests.Response:
    return requests.get(f"{sim.api_url}/{path.lstrip('/')}", headers=sim.private_headers(), timeout=5, **kw)


def avail(sim: BrightpearlSimulator, pid: int, wid: int = 2) -> dict[str, int]:
    return dict(get(sim, f"warehouse-service/product-availability/{pid}").json()["response"][str(pid)]
                ["warehouses"][str(wid)])


# ----------------------------------------------------------------------------- sales orders
def test_sales_order_allocates_then_its_goods_out_note_ships(sim: BrightpearlSimulator,
                                                             sc: BrightpearlScenario) -> None:
    order = sc.place_sales_order(2, {1007: 3, 1011: 1}, external_ref="202-0000001-0000001")
    # Allocation (contract §4a/§5: onHand = available to sell, inStock = onHand + allocated).
    assert avail(sim, 1007) == {"inStock": 10, "onHand": 7, "allocated": 3, "inTransit": 0}
    [read] = get(sim, f"order-service/order/{order['orderId']}").json()["response"]
    assert (read["allocationStatusCode"], read["shippingStatusCode"]) == ("AAA", "SNS")

    shipped = sc.ship_sales_order(order["orderId"])
    assert avail(sim, 1007) == {"inStock": 7, "onHand": 7, "allocated": 0, "inTransit": 0}
    assert avail(sim, 1011)["onHand"] == 9 and avail(sim, 1011)["inStock"] == 9
    [gid] = shipped["goodsOutNoteIds"]
    notes = get(sim, f"warehouse-service/order/{order['orderId']}/goods-note/goods-out").json()["response"]
    note = notes[str(gid)]
    assert note["transfer"] is False and note["orderId"] == order["orderId"] and note["status"]["shipped"] is True
    # A shipped note lists the print/pick/pack events SHW implied (contract §5), after the PLA that opened it.
    assert [e["eventCode"] for e in note["events"]] == ["PLA", "PRI", "PIC", "PAC", "SHW"]
    row_ids = {str(r) for r in read["orderRows"]}
    assert set(note["orderRows"]) <= row_ids
    [after] = get(sim, f"order-service/order/{order['orderId']}").json()["response"]
    assert after["shippingStatusCode"] == "ASS"


def test_sales_order_allocates_what_there_is_and_refuses_bad_input(sim: BrightpearlSimulator,
                                                                   sc: BrightpearlScenario) -> None:
    order = sc.place_sales_order(2, {1008: 14})
    assert avail(sim, 1008) == {"inStock": 10, "onHand": 0, "allocated": 10, "inTransit": 0}
    [read] = get(sim, f"order-service/order/{order['orderId']}").json()["response"]
    assert read["allocationStatusCode"] == "APA"
    with pytest.raises(ScenarioError, match="400"):
        sc.place_sales_order(2, {1008: 0})
    with pytest.raises(ScenarioError, match="404"):
        sc.place_sales_order(99, {1008: 1})
    with pytest.raises(ScenarioError, match="404"):
        sc.ship_sales_order(999_999)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.sampled_from([1007, 1008, 1011]), st.integers(1, 6), st.booleans()),
                      min_size=1, max_size=8))
def test_orders_and_shipments_keep_the_figures_consistent(sim: BrightpearlSimulator, sc: BrightpearlScenario,
                                                          steps: list[tuple[int, int, bool]]) -> None:
    sc.reset()
    sc.warehouse(2, "Main DC")
    sc.products({1007: "A", 1008: "B", 1011: "C"}, warehouse_id=2, on_hand=10)
    physical = {1007: 10, 1008: 10, 1011: 10}
    free = dict(physical)
    for pid, q, ship in steps:
        sc.place_sales_order(2, {pid: q}, ship=ship)
        taken = min(q, free[pid])
        free[pid] -= taken
        if ship:
            physical[pid] -= taken
    for pid in physical:
        f = avail(sim, pid)
        assert f["onHand"] == free[pid] >= 0
        assert f["inStock"] == f["onHand"] + f["allocated"] == physical[pid]


# ----------------------------------------------------------------------------- deleted products, on-hand
def test_deleted_product_makes_every_id_set_read_naming_it_a_400(sim: BrightpearlSimulator,
                                                                 sc: BrightpearlScenario) -> None:
    assert sc.delete_product(1008) == [1008]
    for path in ("product-service/product/1007-1008", "warehouse-service/product-availability/1007,1008",
                 "product-service/product/1007-1008/bundle", "product-service/product/1007-1008/option-value",
                 "warehouse-service/warehouse/2/product/1007-1008"):
        r = get(sim, path)
        assert r.status_code == 400, path
        assert r.json() == {"errors": [{"code": "PRDC-001", "message": "Products not found: 1008"}]}
    assert get(sim, "warehouse-service/product-availability/1007,1011").status_code == 200
    # Nothing in the set exists: 404 (Brightpearl's "Empty list response code"), not 400.
    assert get(sim, "product-service/product/1008").status_code == 404
    uris = requests.options(f"{sim.api_url}/product-service/product/1000-1100", headers=sim.private_headers(),
                            timeout=5).json()["response"]["getUris"]
    assert uris == ["/product/1007,1011"]  # OPTIONS names only products that exist (api-docs Product OPTIONS)
    with pytest.raises(ScenarioError, match="PRDC-001"):
        sc.delete_product(1008)  # already gone


def test_negative_on_hand_is_reachable(sim: BrightpearlSimulator, sc: BrightpearlScenario) -> None:
    assert sc.force_on_hand(1007, 2, -4)["onHand"] == -4
    assert avail(sim, 1007) == {"inStock": -4, "onHand": -4, "allocated": 0, "inTransit": 0}
    assert sc.figures(1007, 2)["onHand"] == -4
    with pytest.raises(ScenarioError, match="WHSB-023"):
        sc.set_on_hand(1011, 2, -1)  # the ordinary route keeps Brightpearl's "never below 0"


def test_bulk_products_with_id_gaps(sim: BrightpearlSimulator, sc: BrightpearlScenario) -> None:
    out = sc.bulk_products(10, first_id=100, gap_every=3, warehouse_id=2, on_hand=4)
    assert out == {"productIds": "100-102,104-106,108-110,112", "count": 10, "lastId": 112}
    assert get(sim, "warehouse-service/product-availability/100-102,104").status_code == 200
    assert get(sim, "warehouse-service/product-availability/100-104").status_code == 400  # 103 is a gap
    assert avail(sim, 112)["onHand"] == 4


# ----------------------------------------------------------------------------- tokens and the rate window
def test_access_token_expires_after_n_requests_and_the_connector_refreshes(sim: BrightpearlSimulator,
                                                                           sc: BrightpearlScenario) -> None:
    sc.seed({"credentials": {"accessToken": "access-0", "refreshToken": "refresh-0"}})
    bearer = {"Authorization": "Bearer access-0", "brightpearl-app-ref": "acme_connector",
              "brightpearl-dev-ref": "dev-ref"}
    sc.expire_tokens_after(2)
    codes = [requests.get(f"{sim.api_url}/warehouse-service/warehouse", headers=bearer, timeout=5).status_code
             for _ in range(3)]
    assert codes == [200, 200, 401]

    sc.seed({"credentials": {"accessToken": "access-1"}})
    store = MemoryTokenStore(OAuthTokens(access_token="access-1", refresh_token="refresh-0"))
    auth = OAuthAuth(app_ref="acme_connector", dev_ref="dev-ref", client_id="acme_connector",
                     client_secret="client-secret", token_url=f"{sim.url}/token/acme", store=store)
    client = BrightpearlClient(base_url=sim.url, account="acme", auth=auth, governor=NoGovernor())
    sc.expire_tokens_after(1)
    assert client.get("product-service/product/1007")[0]["id"] == 1007
    assert client.get("product-service/product/1007")[0]["id"] == 1007  # 401, refresh, retried
    assert client.stats["refreshes"] == 1 and store.load().access_token != "access-1"


def test_throttle_waits_elapse_on_a_frozen_clock_when_the_client_advances_it() -> None:
    clock = SimClock(speed=0.0)  # frozen: only advance() moves it
    sim = BrightpearlSimulator(limit=3, window_seconds=10.0, clock=clock).start()
    try:
        sim.seed({"warehouses": [{"id": 2, "name": "Main DC"}]})
        auth = PrivateAppAuth(app_ref="acme_connector", account_token="account-token")
        client = BrightpearlClient(base_url=sim.url, account="acme", auth=auth, governor=NoGovernor(),
                                   low_watermark=-1, sleep=clock.advance)  # no pacing: hit the 503s
        for _ in range(7):
            assert client.get("warehouse-service/warehouse")[0]["id"] == 2
        assert client.stats["throttled"] >= 2
        # Each throttle wait advanced the simulated clock past the window: 7 requests in 3 windows.
        assert 20.0 <= clock.seconds() <= 35.0
        throttled = [e for e in sim.requests() if e.status == 503]
        assert len(throttled) == client.stats["throttled"]
    finally:
        sim.stop()


def test_throttle_header_is_simulated_ms_on_a_frozen_clock() -> None:
    clock = SimClock(speed=0.0)
    sim = BrightpearlSimulator(limit=2, window_seconds=10.0, clock=clock).start()
    try:
        hdr = sim.private_headers()
        first = requests.get(f"{sim.api_url}/warehouse-service/warehouse", headers=hdr, timeout=5)
        assert first.headers["brightpearl-next-throttle-period"] == "10000"
        clock.advance(4)
        requests.get(f"{sim.api_url}/warehouse-service/warehouse", headers=hdr, timeout=5)
        third = requests.get(f"{sim.api_url}/warehouse-service/warehouse", headers=hdr, timeout=5)
        assert third.status_code == 503 and third.headers["brightpearl-next-throttle-period"] == "6000"
        clock.advance(6)
        assert requests.get(f"{sim.api_url}/warehouse-service/warehouse", headers=hdr, timeout=5).status_code == 200
    finally:
        sim.stop()


# ----------------------------------------------------------------------------- order GET shape
def test_order_read_has_the_documented_top_level_fields_and_full_party_addresses(sim: BrightpearlSimulator,
                                                                                 sc: BrightpearlScenario) -> None:
    sc.seed({"orders": [{"id": 1201, "orderTypeCode": "SO", "contactId": 200, "warehouseId": 2,
                         "parties": {"delivery": {"addressFullName": "Ana Núñez", "postalCode": "28001",
                                                  "countryIsoCode": "ES"}},
                         "rows": [{"productId": 1007, "quantity": 1, "net": 10, "tax": 2}]}]})
    [order] = get(sim, "order-service/order/1201").json()["response"]
    # api-docs.brightpearl.com/order/order/get.html: status, delivery, invoices, currency, totals,
    # assignment, parties (customer, billing, delivery), rows, payment status, drop-ship flag.
    for key in ("id", "parentOrderId", "orderTypeCode", "reference", "version", "orderStatus", "orderPaymentStatus",
                "stockStatusCode", "allocationStatusCode", "shippingStatusCode", "placedOn", "createdOn",
                "createdById", "updatedOn", "priceListId", "priceModeCode", "delivery", "invoices", "currency",
                "totalValue", "assignment", "parties", "orderRows", "warehouseId", "acknowledged",
                "costPriceListId", "historicalOrder", "orderWeighting", "isDropship"):
        assert key in order, key
    for role in ("customer", "billing", "delivery"):
        assert set(PARTY_FIELDS) <= set(order["parties"][role]), role
    assert order["parties"]["customer"]["contactId"] == 200
    assert order["parties"]["delivery"]["addressFullName"] == "Ana Núñez"
    assert order["parties"]["delivery"]["countryIsoCode"] == "ES"


# ----------------------------------------------------------------------------- standalone
def test_scenario_helper_drives_a_standalone_simulator() -> None:
    import re
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "simulators", "brightpearl"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        found = re.search(r"listening on (http://\S+)", proc.stdout.readline())
        assert found
        url = found.group(1)
        s = BrightpearlScenario(url)
        s.warehouse(2, "Main DC")
        s.products({5: "A", 6: "B"}, warehouse_id=2, on_hand=8)
        order = s.place_sales_order(2, {5: 3}, ship=True)
        s.delete_product(6)
        headers = {"brightpearl-app-ref": "acme_connector", "brightpearl-account-token": "account-token"}
        read = requests.get(f"{url}/public-api/acme/warehouse-service/product-availability/5", headers=headers,
                            timeout=5).json()["response"]["5"]["total"]
        assert read == {"inStock": 5, "onHand": 5, "allocated": 0, "inTransit": 0}
        assert requests.get(f"{url}/public-api/acme/warehouse-service/product-availability/5-6", headers=headers,
                            timeout=5).status_code == 400
        assert len(order["goodsOutNoteIds"]) == 1
        assert [e["route"] for e in s.journal("post-sales-order")] == []  # control calls are not API calls
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
