"""The SP-API simulator conformance run (simulators/conformance.py) in CI: every routed operation works
with both public Python clients, every replayable sandbox example of the official models is answered
with its declared status and a schema-valid body, and nothing fails outside the explicit allowlist."""

from __future__ import annotations

import pytest

from simulators import conformance
from simulators.core import Response
from simulators.spapi import SpApiSimulator
from simulators.spapi.feeds import Feed


@pytest.fixture(scope="module")
def report():
    return conformance.run()


def test_every_operation_works_with_both_clients(report):
    # reports 5, feeds 6, listings 2, inventory 1, inbound 8, notifications 9, finances 2
    assert len(report.operations) == 33
    for client in conformance.CLIENTS:
        failing = [(r.operation, r.reason) for r in report.failures if r.kind == "op" and r.subject == client]
        assert failing == []
        assert report.working(client) == len(report.operations)


def test_every_sandbox_example_is_schema_valid_with_its_status(report):
    examples = report.examples
    assert len(examples) == 52 and len(report.skipped) == 4
    valid = sum(r.ok for r in examples)
    assert valid == len(examples) - len(conformance.KNOWN_GAPS)
    assert report.unexpected == []
    assert report.passed
    assert "46 of 52" in report.table()


def test_the_allowlist_is_small_and_owned_by_others():
    assert len(conformance.KNOWN_GAPS) <= 6
    assert set(conformance.KNOWN_GAPS.values()) <= {conformance.LISTINGS, conformance.INBOUND}


def test_a_regression_is_caught(monkeypatch):
    """An undeclared field in getFeed's answer, a broken getFeeds and a route no model defines fail the
    run, naming each."""
    original = Feed.to_api
    monkeypatch.setattr(Feed, "to_api", lambda self: {**original(self), "feedStatus": "x"})
    with SpApiSimulator(rate_scale=1000) as sim:
        sim.clock.set_speed(0)
        sim.route("GET", r"/feeds/2021-06-30/feeds", lambda req: Response(500, {}), name="getFeeds")
        sim._routes.insert(0, sim._routes.pop())  # ahead of the real getFeeds route
        sim.route("GET", r"/feeds/2021-06-30/everything", lambda req: Response(200, {}), name="getEverything")
        broken = conformance.run(sim)
    assert not broken.passed
    failed = {(r.kind, r.operation) for r in broken.unexpected}
    assert ("example", "getFeed") in failed and ("op", "getFeeds") in failed
    assert ("op", "getEverything") in failed  # a route no model defines is a failure, not ignored
    assert "UNEXPECTED" in broken.table() and broken.table().rstrip().endswith("FAIL")
