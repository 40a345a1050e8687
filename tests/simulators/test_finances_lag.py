"""The Finances simulator is as slow and as strict as Amazon (docs/simulators-spapi.md, "Finances"): an
event's PostedDate comes after the refund and it is listed only after a lag, by order and by date alike;
the date window is checked as Amazon does and refused with Amazon's body; NextToken lives 25 minutes;
pages are capped; every answer still conforms to Amazon's SDK model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulators.clock import SimClock
from simulators.spapi.demo import DEMO_SEED
from simulators.spapi.scenario import Scenario
from simulators.spapi.server import SpApiSimulator
from tests.contracts.test_finances_contract import client, conform

ORDER = "205-7654321-1234567"
BY_ORDER = f"/finances/v0/orders/{ORDER}/financialEvents"
BY_DATE = "/finances/v0/financialEvents"
START = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def sim():
    s = SpApiSimulator(rate_scale=1000, clock=SimClock(START, speed=0)).start()
    yield s
    s.stop()


@pytest.fixture
def fresh(sim):
    sim.reset()
    sim.seed(DEMO_SEED)
    return sim


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def refund(sim: SpApiSimulator, **kw: Any) -> dict[str, Any]:
    return sim.world.finances.refund(ORDER, [{"sku": "FBA-TEA", "charges": {"Principal": "-5.00"}}], **kw)


def listed(sim: SpApiSimulator, path: str, **params: Any) -> list[dict[str, Any]]:
    with client(sim) as api:  # a fresh access token: the tests move the clock by days
        resp = api.get(path, params=params)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert conform(body, "ListFinancialEventsResponse") == []
    return list(body["payload"]["FinancialEvents"]["RefundEventList"])


def test_an_event_is_posted_after_the_refund_and_listed_only_after_the_lag(fresh):
    sim = fresh
    sim.configure(finances_lag={"post_minutes": 90, "visible_minutes": 36 * 60})
    refunded = sim.clock.now()
    event = refund(sim)
    posted = datetime.fromisoformat(event["PostedDate"].replace("Z", "+00:00"))
    assert posted == refunded + timedelta(minutes=90)
    window = {"PostedAfter": iso(refunded - timedelta(hours=1))}
    sim.clock.advance(36 * 3600 + 80 * 60)  # posted, but not yet listed
    assert listed(sim, BY_ORDER) == [] and listed(sim, BY_DATE, **window) == []
    sim.clock.advance(15 * 60)
    assert listed(sim, BY_ORDER) == [event] and listed(sim, BY_DATE, **window) == [event]
    # A window read by the refund's date, ending before it was posted, never holds it.
    assert listed(sim, BY_DATE, PostedAfter=iso(refunded - timedelta(hours=1)),
                  PostedBefore=iso(refunded + timedelta(minutes=60))) == []


def test_the_default_lag_is_hours_and_one_event_can_be_later(fresh):
    sim = fresh
    event = refund(sim)
    late = refund(sim, post_minutes=0, visible_minutes=5 * 24 * 60)
    assert listed(sim, BY_ORDER) == []
    sim.clock.advance(5 * 3600)
    assert listed(sim, BY_ORDER) == [event]
    sim.clock.advance(5 * 24 * 3600)
    assert listed(sim, BY_ORDER) == [late, event]  # in posting order


@pytest.mark.parametrize("after, before", [
    (timedelta(minutes=-1), None),  # PostedAfter later than two minutes ago
    (timedelta(hours=-1), timedelta(minutes=-1)),  # PostedBefore later than two minutes ago
    (timedelta(hours=-1), timedelta(hours=-2)),  # PostedBefore before PostedAfter
    (timedelta(hours=-1), timedelta(hours=-1)),  # ... or equal to it
    (None, timedelta(hours=-1)),  # PostedBefore without PostedAfter
])
def test_a_window_amazon_refuses_is_refused_with_amazons_body(fresh, after, before):
    now = fresh.clock.now()
    params = {k: iso(now + v) for k, v in (("PostedAfter", after), ("PostedBefore", before)) if v is not None}
    with client(fresh) as api:
        resp = api.get(BY_DATE, params=params)
    assert resp.status_code == 400
    assert resp.json() == {"errors": [{"code": "InvalidInput", "message": "Invalid Input", "details": ""}]}


def test_a_window_over_180_days_lists_nothing_and_one_within_lists_the_event(fresh):
    sim = fresh
    event = refund(sim, post_minutes=0, visible_minutes=0)
    sim.clock.advance(3600)
    now = sim.clock.now()
    assert listed(sim, BY_DATE, PostedAfter=iso(now - timedelta(days=181)), PostedBefore=iso(now - timedelta(
        minutes=2))) == []
    assert listed(sim, BY_DATE, PostedAfter=iso(now - timedelta(days=179))) == [event]


def test_pages_are_capped_and_a_next_token_lives_25_minutes(fresh):
    sim = fresh
    sim.configure(finances_lag={"post_minutes": 0, "visible_minutes": 0, "page_size": 2})
    events = [refund(sim) for _ in range(5)]
    sim.clock.advance(3600)
    window = {"PostedAfter": iso(START - timedelta(hours=1))}
    with client(sim) as api:
        seen, token = [], None
        while True:
            params = {**window, "MaxResultsPerPage": 100, **({"NextToken": token} if token else {})}
            body = api.get(BY_DATE, params=params).json()
            page = body["payload"]["FinancialEvents"]["RefundEventList"]
            assert len(page) <= 2
            seen += page
            token = body["payload"].get("NextToken")
            if not token:
                break
        assert seen == events
        token = api.get(BY_DATE, params={**window, "MaxResultsPerPage": 100}).json()["payload"]["NextToken"]
        sim.clock.advance(24 * 60)
        assert api.get(BY_DATE, params={**window, "NextToken": token}).status_code == 200
        token = api.get(BY_DATE, params={**window}).json()["payload"]["NextToken"]
        sim.clock.advance(26 * 60)
        expired = api.get(BY_DATE, params={**window, "NextToken": token})
    assert expired.status_code == 400
    assert expired.json()["errors"][0] == {"code": "InvalidInput", "details": "",
                                           "message": "Token is not valid, token duration is 25 minutes."}


def test_lag_settings_refuse_unknown_fields_and_bad_values_by_name(fresh):
    for bad, where in (({"delay": 1}, "delay"), ({"post_minutes": -1}, "post_minutes"),
                       ({"page_size": 0}, "page_size"), ({"page_size": 101}, "page_size")):
        with pytest.raises(ValueError, match=where):
            fresh.configure(finances_lag=bad)
    Scenario(fresh.url).finances_lag(visible_minutes=0)  # the HTTP route takes the same
    assert fresh.world.finances.lag.visible == timedelta(0)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 72 * 60), st.integers(0, 72 * 60)), min_size=1, max_size=6),
       st.integers(0, 150 * 60))
def test_by_order_and_by_date_list_exactly_the_events_posted_and_past_their_lag(sim, lags, read_after):
    sim.reset()
    sim.seed(DEMO_SEED)
    t0 = sim.clock.now()
    events = [(refund(sim, post_minutes=p, visible_minutes=v), p, v) for p, v in lags]
    sim.clock.advance(read_after * 60)
    now = sim.clock.now()
    due = sorted((e for e, p, v in events if p + v <= read_after), key=lambda e: e["PostedDate"])
    by_date = [e for e in due if e["PostedDate"] < iso(now - timedelta(minutes=2)).replace("Z", ".000Z")]
    assert listed(sim, BY_ORDER) == due
    assert listed(sim, BY_DATE, PostedAfter=iso(t0 - timedelta(hours=1))) == by_date
