"""Finances v0 in the SP-API simulator against Amazon's contract: every answer of
listFinancialEventsByOrderId / listFinancialEvents is walked against the models of Amazon's own SDK
(amzn-sp-api's ``spapi.models.finances_v0``, generated from financesV0.json of
amzn/selling-partner-api-models): every key declared, every value of its declared type. The model file
itself is not vendored in tests/contracts/sp-api/ (see docs/simulators-spapi.md, "Finances"). Paging,
the usage plan (0.5/s, burst 30), a missing Finances role and malformed order ids as documented."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import httpx
import pytest
import spapi.models.finances_v0 as fm

from simulators.spapi import SpApiSimulator
from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, DEMO_SEED, REFRESH_TOKEN
from simulators.spapi.scenario import Scenario

ORDER = "202-1234567-7654321"
PATH = f"/finances/v0/orders/{ORDER}/financialEvents"


def conform(body: Any, type_name: str, where: str = "") -> list[str]:
    """Problems of ``body`` against the SDK model ``type_name`` (``List[X]``, a model class or a primitive)."""
    m = re.fullmatch(r"List\[(.+)\]", type_name)
    if m:
        if not isinstance(body, list):
            return [f"{where}: expected a list"]
        return [p for i, v in enumerate(body) for p in conform(v, m.group(1), f"{where}/{i}")]
    primitive = {"str": str, "int": int, "float": (int, float), "bool": bool}
    if type_name in primitive:
        ok = isinstance(body, primitive[type_name]) and not (type_name != "bool" and isinstance(body, bool))
        return [] if ok else [f"{where}: {body!r} is not {type_name}"]
    if type_name == "datetime":
        try:
            datetime.fromisoformat(str(body).replace("Z", "+00:00"))
        except ValueError:
            return [f"{where}: {body!r} is not a date-time"]
        return []
    cls = getattr(fm, type_name)
    if not isinstance(body, dict):
        return [f"{where}: expected an object ({type_name})"]
    by_json = {v: k for k, v in cls.attribute_map.items()}
    problems = [f"{where}/{k}: not declared by {type_name}" for k in body if k not in by_json]
    for key, value in body.items():
        if key in by_json:
            problems += conform(value, cls.swagger_types[by_json[key]], f"{where}/{key}")
    return problems


@pytest.fixture
def sim():
    s = SpApiSimulator(rate_scale=1000).start()
    s.seed(DEMO_SEED)
    s.configure(finances_lag={"post_minutes": 0, "visible_minutes": 0})  # the lag: test_finances_lag.py
    yield s
    s.stop()


def client(sim: SpApiSimulator) -> httpx.Client:
    token = httpx.post(f"{sim.url}/auth/o2/token", data={
        "grant_type": "refresh_token", "refresh_token": REFRESH_TOKEN, "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET}).json()["access_token"]
    return httpx.Client(base_url=sim.url, headers={"x-amz-access-token": token})


def refund(sim: SpApiSimulator, n: int = 0) -> dict[str, Any]:
    return Scenario(sim.url).refund(ORDER, [{
        "sku": "FBA-TEA", "quantity": 1, "charges": {"Principal": f"-{n + 10}.25", "Tax": "-2.05",
                                                     "ShippingCharge": "-3.99", "RestockingFee": "1.50"},
        "fees": {"Commission": "1.54", "RefundCommission": "-0.31"},
        "promotions": [{"type": "PromotionMetaDataDefinitionValue", "id": "PROMO1", "amount": "0.75"}]}])


def test_refund_events_conform_to_the_sdk_model_and_page_with_next_token(sim):
    events = [refund(sim, n) for n in range(3)]
    with client(sim) as api:
        seen, token, pages = [], None, 0
        while True:
            params: dict[str, Any] = {"MaxResultsPerPage": 2}
            if token:
                params["NextToken"] = token
            resp = api.get(PATH, params=params)
            assert resp.status_code == 200 and resp.headers["x-amzn-RateLimit-Limit"]
            body = resp.json()
            assert conform(body, "ListFinancialEventsResponse") == []
            seen += body["payload"]["FinancialEvents"]["RefundEventList"]
            pages += 1
            token = body["payload"].get("NextToken")
            if not token:
                break
        assert pages == 2 and seen == events
        ids = [e["ShipmentItemAdjustmentList"][0]["OrderAdjustmentItemId"] for e in seen]
        assert len(set(ids)) == 3  # the refund identifiers are unique
        # The same window by date, as listFinancialEvents answers it.
        since = seen[0]["PostedDate"]
        sim.clock.advance(600)
        by_date = api.get("/finances/v0/financialEvents", params={"PostedAfter": since}).json()
        assert conform(by_date, "ListFinancialEventsResponse") == []
        assert by_date["payload"]["FinancialEvents"]["RefundEventList"] == events
        other = api.get("/finances/v0/orders/202-0000000-0000000/financialEvents")
        assert other.json()["payload"]["FinancialEvents"]["RefundEventList"] == []


def test_bad_order_id_token_of_another_request_and_a_missing_role_are_refused_as_documented(sim):
    for n in range(3):
        refund(sim, n)
    with client(sim) as api:
        bad = api.get("/finances/v0/orders/not-an-order/financialEvents")
        assert bad.status_code == 400 and bad.json()["errors"][0]["code"] == "InvalidInput"
        token = api.get(PATH, params={"MaxResultsPerPage": 1}).json()["payload"]["NextToken"]
        stolen = api.get("/finances/v0/orders/202-0000000-0000000/financialEvents", params={"NextToken": token})
        assert stolen.status_code == 400
        assert api.get(PATH, params={"MaxResultsPerPage": 101}).status_code == 400
        Scenario(sim.url).finances_role(False)
        denied = api.get(PATH)
        assert denied.status_code == 403 and denied.json()["errors"][0]["code"] == "Unauthorized"


def test_usage_plan_half_a_request_a_second_burst_thirty():
    s = SpApiSimulator(rate_scale=1.0).start()
    s.seed(DEMO_SEED)
    s.clock.set_speed(0)
    try:
        with client(s) as api:
            codes = [api.get(PATH).status_code for _ in range(31)]
            assert codes[:30] == [200] * 30 and codes[30] == 429
            s.clock.advance(2.0)  # one token back at 0.5/s
            assert api.get(PATH).status_code == 200
            assert api.get(PATH).status_code == 429
    finally:
        s.stop()
