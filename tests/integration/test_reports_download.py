"""Report documents from the SP-API simulator: GZIP or not, any charset, never garbled; headers-only files."""

from __future__ import annotations

import gzip
import io

import pytest

from connector.adapters.amazon.reports import AmazonReports, charset_of, text_lines
from connector.domain.reports import report_items
from simulators.core import SimClock
from simulators.spapi import SpApiSimulator
from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, UK
from tests.spapi import amazon_for, fresh_spapi

SEED = {"credentials": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN},
        "listings": {"THÉ-1": {"title": "Thé vert « spécial » €", "channel": "FBA", "marketplaces": [UK],
                               "fba": {"SELLABLE": 10}}}}


@pytest.fixture(scope="module")
def server():
    s = SpApiSimulator(rate_scale=1000, clock=SimClock(speed=0)).start()
    yield s
    s.stop()


@pytest.fixture
def sim(server):
    return fresh_spapi(server, SEED)


def reports(sim) -> AmazonReports:
    clients = amazon_for(sim)
    return AmazonReports(clients, [UK])


def finished(sim, api: AmazonReports, report_type: str):
    now = sim.clock.now()
    from datetime import timedelta
    rid = api.create(report_type, now - timedelta(days=1), now)
    sim.clock.advance(60)
    return api.get(rid)


@pytest.mark.parametrize(("compression", "charset"), [("GZIP", "UTF-8"), (None, "UTF-8"), ("GZIP", "windows-1252"),
                                                      (None, "windows-1252")])
def test_ledger_document_streams_with_non_ascii_intact(sim, compression, charset):
    sim.configure(report_compression=compression, report_charset=charset)
    sim.world_op("lose", sku="THÉ-1", quantity=2)
    api = reports(sim)
    status = finished(sim, api, "GET_LEDGER_DETAIL_VIEW_DATA")
    assert status.status == "DONE"
    with api.open_document(status.document_id) as lines:
        text = list(lines)
        items = list(report_items("GET_LEDGER_DETAIL_VIEW_DATA", text))
    assert "Thé vert « spécial » €" in "".join(text)
    assert [(i.sku, i.quantity, i.kind) for i in items] == [("THÉ-1", -2, "lost")]


def test_report_with_no_rows_is_cancelled_by_amazon(sim):
    status = finished(sim, reports(sim), "GET_FBA_REIMBURSEMENTS_DATA")
    assert status.status == "CANCELLED" and status.document_id is None


def test_undeclared_charset_utf8_first_then_windows_1252_per_sequence():
    utf8 = "sku\tproduct-name\nA\tThé vert\n".encode()
    cp1252 = "sku\tproduct-name\nA\tCafé crème €\n".encode("cp1252")
    assert list(text_lines(io.BytesIO(gzip.compress(utf8)), compression="GZIP", charset=None))[1] == "A\tThé vert\n"
    assert list(text_lines(io.BytesIO(cp1252), compression=None, charset=None))[1] == "A\tCafé crème €\n"
    assert list(text_lines(io.BytesIO(cp1252), compression=None, charset="windows-1252"))[1] == "A\tCafé crème €\n"


def test_charset_from_content_type():
    assert charset_of("text/plain;charset=windows-1252") == "windows-1252"
    assert charset_of('text/plain; charset="UTF-8"') == "UTF-8"
    assert charset_of("text/plain") is None and charset_of("text/plain;charset=bogus-9") is None


def test_headers_only_and_empty_documents_have_nothing_to_do():
    header = "\t".join(["Date", "FNSKU", "MSKU", "Event Type", "Reference ID", "Quantity", "Disposition",
                        "Reason", "Date and Time"]) + "\n"
    assert list(report_items("GET_LEDGER_DETAIL_VIEW_DATA", [header])) == []
    assert list(report_items("GET_LEDGER_DETAIL_VIEW_DATA", [])) == []
