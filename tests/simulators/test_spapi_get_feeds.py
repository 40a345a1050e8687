"""SP-API simulator: getFeeds (filters, paging, validation) and the 400 Amazon's models give malformed
report/feed/document ids and unknown processing statuses. Answers are checked against the models."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulators.conformance import load_models, validate
from simulators.spapi import SpApiSimulator
from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, DE, DEMO_SEED, REFRESH_TOKEN, UK

MODELS = load_models()
F = "/feeds/2021-06-30"
TYPES = ("JSON_LISTINGS_FEED", "POST_FLAT_FILE_FULFILLMENT_DATA", "POST_ORDER_FULFILLMENT_DATA")
SPAPI_SPEED = 0  # the shared sim fixture (conftest.py): a frozen clock


def client(sim: SpApiSimulator) -> httpx.Client:
    tok = httpx.post(f"{sim.url}/auth/o2/token", data={
        "grant_type": "refresh_token", "refresh_token": REFRESH_TOKEN, "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET}).json()["access_token"]
    return httpx.Client(base_url=sim.url, headers={"x-amz-access-token": tok})


def get_feeds(http: httpx.Client, **params: object) -> httpx.Response:
    res = http.get(f"{F}/feeds", params=params)
    assert validate(MODELS["getFeeds"], res.status_code, res.json()) == [], res.text
    return res


def make_feeds(sim: SpApiSimulator, kinds: list[tuple[str, str]]) -> list[str]:
    ids = []
    for feed_type, mkt in kinds:
        doc = sim.world.feed_jobs.create_feed_document("text/plain")
        ids.append(sim.world.feed_jobs.create_feed(feed_type, [mkt], doc.document_id, {}).feed_id)
        sim.clock.advance(1)
    return ids


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kinds=st.lists(st.tuples(st.sampled_from(TYPES), st.sampled_from([UK, DE])), max_size=14),
       wanted=st.lists(st.sampled_from(TYPES), min_size=1, max_size=3, unique=True),
       page=st.integers(1, 5))
def test_get_feeds_filters_and_pages_newest_first(server, kinds, wanted, page):
    server.reset()
    server.seed(DEMO_SEED)
    server.clock.set_speed(0)
    ids = make_feeds(server, kinds)
    expected = [i for i, (t, _) in reversed(list(zip(ids, kinds, strict=True))) if t in wanted]
    seen: list[str] = []
    with client(server) as http:
        res = get_feeds(http, feedTypes=",".join(wanted), pageSize=page).json()
        while True:
            assert len(res["feeds"]) <= page
            seen += [f["feedId"] for f in res["feeds"]]
            if "nextToken" not in res:
                break
            res = get_feeds(http, nextToken=res["nextToken"]).json()
    assert seen == expected


def test_get_feeds_status_marketplace_and_time_filters(sim):
    uk, de = make_feeds(sim, [("JSON_LISTINGS_FEED", UK), ("JSON_LISTINGS_FEED", DE)])
    sim.world.feed_jobs.cancel_feed(uk)
    with client(sim) as http:
        done = get_feeds(http, feedTypes="JSON_LISTINGS_FEED", processingStatuses="CANCELLED").json()["feeds"]
        assert [f["feedId"] for f in done] == [uk]
        assert [f["feedId"] for f in get_feeds(http, feedTypes="JSON_LISTINGS_FEED", marketplaceIds=DE).json()[
            "feeds"]] == [de]
        since = (sim.world.feeds[de].created - timedelta(milliseconds=1)).isoformat()
        assert [f["feedId"] for f in get_feeds(http, feedTypes="JSON_LISTINGS_FEED", createdSince=since).json()[
            "feeds"]] == [de]
    sim.clock.advance(91 * 86400)  # older than the default 90-day window (and than the access token)
    with client(sim) as http:
        assert get_feeds(http, feedTypes="JSON_LISTINGS_FEED").json()["feeds"] == []


@pytest.mark.parametrize(("params", "field"), [
    ({}, "feedTypes"),
    ({"feedTypes": "JSON_LISTINGS_FEED", "processingStatuses": "BAD_VALUE"}, "processingStatuses"),
    ({"feedTypes": "JSON_LISTINGS_FEED", "pageSize": "101"}, "pageSize"),
    ({"feedTypes": "JSON_LISTINGS_FEED", "marketplaceIds": "ATVPDKIKX0DER"}, "marketplaceIds"),
    ({"feedTypes": "JSON_LISTINGS_FEED", "createdSince": "yesterday"}, "createdSince"),
    ({"feedTypes": "JSON_LISTINGS_FEED", "nextToken": "x"}, "nextToken"),
])
def test_get_feeds_refuses_bad_parameters(sim, params, field):
    with client(sim) as http:
        res = get_feeds(http, **params)
    assert res.status_code == 400 and field in res.json()["errors"][0]["message"]


@pytest.mark.parametrize(("operation", "method", "path"), [
    ("getReport", "GET", "/reports/2021-06-30/reports/badReportId1"),
    ("cancelReport", "DELETE", "/reports/2021-06-30/reports/ID 1"),
    ("getReportDocument", "GET", "/reports/2021-06-30/documents/badDocumentId1"),
    ("getFeed", "GET", f"{F}/feeds/badFeedId1"),
    ("cancelFeed", "DELETE", f"{F}/feeds/BADID1"),
    ("getFeedDocument", "GET", f"{F}/documents/badDocumentId1"),
])
def test_malformed_ids_are_invalid_input_and_unknown_ones_not_found(sim, operation, method, path):
    with client(sim) as http:
        res = http.request(method, path)
        assert res.status_code == 400 and res.json()["errors"][0]["code"] == "InvalidInput", res.text
        assert validate(MODELS[operation], 400, res.json()) == []
        well_formed = path.rsplit("/", 1)[0] + ("/12345" if "/documents/" not in path else
                                                "/amzn1.tortuga.4.eu.00000000-0000-0000-0000-000000000000.T1")
        missing = http.request(method, well_formed)
        assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "NotFound"


def test_get_reports_refuses_an_unknown_processing_status(sim):
    with client(sim) as http:
        res = http.get("/reports/2021-06-30/reports", params={"reportTypes": "GET_LEDGER_DETAIL_VIEW_DATA",
                                                              "processingStatuses": "BAD_VALUE,DONE"})
    assert res.status_code == 400 and "BAD_VALUE" in res.json()["errors"][0]["message"]
