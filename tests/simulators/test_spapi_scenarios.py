"""SP-API scenario controls: report documents as odd as Amazon's, a misbehaving document host, access
tokens expiring at a chosen request — each through ``/_sim/spapi/scenario`` (the Scenario helper) and
read back with the production adapters (AmazonReports, report_items, AmazonClients)."""

from __future__ import annotations

import gzip
from datetime import timedelta

import pytest
import requests

from connector.adapters.amazon.reports import AmazonReports
from connector.domain.flatfile import LineTally
from connector.domain.reports import report_items
from simulators.core import SimClock
from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, UK
from simulators.spapi.scenario import Scenario
from tests.spapi import amazon_for

LEDGER = "GET_LEDGER_DETAIL_VIEW_DATA"
RETURNS = "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA"
SEED = {"credentials": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN},
        "listings": {"THÉ/1 & co": {"title": "Thé vert", "channel": "FBA", "marketplaces": [UK],
                                    "fba": {"SELLABLE": 10}}}}
SKU = "THÉ/1 & co"
SPAPI_OPTIONS = {"clock": SimClock(speed=0)}  # the shared fixtures (conftest.py), on a frozen clock
SPAPI_SEED = SEED


def done(sim, report_type: str) -> tuple[AmazonReports, str]:
    api = AmazonReports(amazon_for(sim), [UK])
    now = sim.clock.now()
    rid = api.create(report_type, now - timedelta(days=1), now)
    sim.clock.advance(60)
    status = api.get(rid)
    assert status.status == "DONE"
    return api, str(status.document_id)


def raw_download(sim, api: AmazonReports, doc_id: str) -> requests.Response:
    meta = api.amazon.call("getReportDocument", api.api.get_report_document, doc_id).payload
    return requests.get(meta["url"], timeout=10, allow_redirects=False)


def ledger_world(sim) -> None:
    sim.world_op("lose", sku=SKU, quantity=2)
    sim.world_op("find", sku=SKU, quantity=1)


def items(api: AmazonReports, doc_id: str, report_type: str = LEDGER):
    tally = LineTally()
    with api.open_document(doc_id) as lines:
        out = list(report_items(report_type, lines, tally))
    return out, tally


def test_no_variant_is_the_default_document(sim):
    ledger_world(sim)
    api, doc = done(sim, LEDGER)
    resp = raw_download(sim, api, doc)
    assert resp.headers["Content-Type"] == "text/plain;charset=UTF-8"
    assert not gzip.decompress(resp.content).startswith(b"\xef\xbb\xbf")
    assert Scenario(sim.url).state()["log"] == []


@pytest.mark.parametrize("variants", [["no_charset"], ["bom"], ["reorder_columns"], ["extra_columns"], ["crlf"],
                                      ["bom", "no_charset", "reorder_columns", "extra_columns", "crlf"]])
def test_document_variants_change_the_bytes_not_the_movements(sim, variants):
    ledger_world(sim)
    api, plain_doc = done(sim, LEDGER)
    expected, _ = items(api, plain_doc)
    Scenario(sim.url).document(LEDGER, *variants, count=1)
    api, doc = done(sim, LEDGER)
    body = gzip.decompress(raw_download(sim, api, doc).content)
    ctype = raw_download(sim, api, doc).headers["Content-Type"]
    assert ("charset" not in ctype) == ("no_charset" in variants)
    assert body.startswith(b"\xef\xbb\xbf") == ("bom" in variants)
    assert (b"\r\n" in body) == ("crlf" in variants)
    header = body.decode("utf-8-sig").splitlines()[0].split("\t")
    assert (header[0] == '"Date and Time"') == ("reorder_columns" in variants)
    assert any("sim-unknown-column" in h for h in header) == ("extra_columns" in variants)
    got, tally = items(api, doc)
    assert [(i.sku, i.quantity, i.kind) for i in got] == [(i.sku, i.quantity, i.kind) for i in expected]
    assert tally.lines_in == 2 and tally.quarantined == 0
    # count=1: the next document is plain again
    api, again = done(sim, LEDGER)
    assert raw_download(sim, api, again).headers["Content-Type"] == "text/plain;charset=UTF-8"


def test_header_only_and_duplicate_rows(sim):
    ledger_world(sim)
    sc = Scenario(sim.url)
    sc.document(LEDGER, "header_only", count=1)
    api, doc = done(sim, LEDGER)  # Amazon still says DONE: a document with its header and no rows
    got, tally = items(api, doc)
    assert got == [] and tally.lines_in == 0
    sc.document(LEDGER, "duplicate_rows", count=1)
    api, doc = done(sim, LEDGER)
    got, tally = items(api, doc)
    assert tally.lines_in == 4
    keys = [i.key for i in got]
    assert len(set(keys)) == 4 and sum(k.endswith("#2") for k in keys) == 2  # identical rows: two events each


def test_an_unclosed_quote_stays_on_its_line(sim):
    sim.world_op("customer_return", sku=SKU, quantity=1, order_id="202-1111111-1111111")
    sim.world_op("customer_return", sku=SKU, quantity=1, order_id="202-2222222-2222222")
    Scenario(sim.url).document(RETURNS, "unclosed_quote")
    api, doc = done(sim, RETURNS)
    text = gzip.decompress(raw_download(sim, api, doc).content).decode()
    assert '\t"' in text.splitlines()[1]
    got, tally = items(api, doc, RETURNS)
    assert sorted(i.order_id for i in got) == ["202-1111111-1111111", "202-2222222-2222222"]
    assert tally.lines_in == 2


def test_unknown_variant_and_field_are_refused(sim):
    sc = Scenario(sim.url)
    with pytest.raises(ValueError, match="unknown document variant"):
        sc.document(LEDGER, "gzip_twice")
    resp = requests.post(sim.url + "/_sim/spapi/scenario", json={"document": {}}, timeout=5)
    assert resp.status_code == 400 and "document" in resp.text


def test_host_not_gzip_while_claiming_gzip(sim):
    ledger_world(sim)
    Scenario(sim.url).document_host("not_gzip", report_type=LEDGER)
    api, doc = done(sim, LEDGER)
    meta = api.amazon.call("getReportDocument", api.api.get_report_document, doc).payload
    assert meta["compressionAlgorithm"] == "GZIP"
    with pytest.raises(gzip.BadGzipFile), api.open_document(doc) as lines:
        list(lines)
    got, _ = items(api, doc)  # count=1: the next download is right
    assert len(got) == 2


def test_host_lying_content_length_breaks_the_download(sim):
    ledger_world(sim)
    Scenario(sim.url).document_host("content_length", content_length=10_000_000)
    api, doc = done(sim, LEDGER)
    with pytest.raises(requests.exceptions.RequestException), api.open_document(doc):
        pass


def test_host_redirect_is_followed_to_a_url_that_serves_it(sim):
    ledger_world(sim)
    Scenario(sim.url).document_host("redirect")
    api, doc = done(sim, LEDGER)
    got, _ = items(api, doc)
    assert len(got) == 2
    routes = [e.route for e in sim.requests() if e.route.startswith("downloadDocument")]
    assert routes == ["downloadDocument", "downloadDocumentMirror"]
    assert [e.status for e in sim.requests() if e.route.startswith("downloadDocument")] == [302, 200]


def test_host_500(sim):
    ledger_world(sim)
    Scenario(sim.url).document_host("500", count=1)
    api, doc = done(sim, LEDGER)
    with pytest.raises(requests.HTTPError, match="500"), api.open_document(doc):
        pass
    (failed,) = [e for e in sim.requests(route="downloadDocument") if e.status == 500]
    assert failed.route == "downloadDocument"
    got, _ = items(api, doc)  # count=1: the next download is served
    assert len(got) == 2


def test_access_tokens_expire_at_the_chosen_request_and_the_client_refreshes_once(sim):
    ledger_world(sim)
    api, _doc = done(sim, LEDGER)  # a token is cached by now
    lwa_before = len(sim.requests(route="lwaToken"))
    Scenario(sim.url).expire_access_tokens(after_requests=1)
    now = sim.clock.now()
    api.create(LEDGER, now - timedelta(days=1), now)  # accepted with the old token
    rid = api.create(LEDGER, now - timedelta(days=1), now)  # token expired before this one: refreshed
    assert rid
    statuses = [e.status for e in sim.requests(route="createReport")]
    assert statuses[-3:] == [202, 403, 202]
    assert len(sim.requests(route="lwaToken")) == lwa_before + 1
    assert Scenario(sim.url).state()["expire_tokens_after"] is None


def test_lwa_outage_is_a_fault_on_the_token_route(sim):
    sc = Scenario(sim.url)
    fault = sc.lwa_outage(status=503, count=1)
    assert fault["match"] == "lwaToken"
    form = {"grant_type": "refresh_token", "refresh_token": REFRESH_TOKEN, "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET}
    assert requests.post(sim.url + "/auth/o2/token", data=form, timeout=5).status_code == 503
    assert requests.post(sim.url + "/auth/o2/token", data=form, timeout=5).status_code == 200
    (entry, _ok) = sim.requests(route="lwaToken")
    assert entry.fault == "status"


def test_seed_and_reset_clear_the_scenario(sim):
    sc = Scenario(sim.url)
    sc.document(LEDGER, "bom")
    sc.document_host("500", count=None)
    sim.reset()
    sim.seed(SEED)
    state = sc.state()
    assert state["documents"] == {} and state["document_host"] == []
