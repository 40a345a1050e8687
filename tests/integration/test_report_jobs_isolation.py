"""One bad report document fails alone (reliability stretch): the hourly run still requests and applies
the other report types and retries pending movements; the bad job is recorded, backed off and reported."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connector.adapters.movement_store import InMemoryMovementStore
from connector.adapters.store import ReportJob
from connector.domain.reports import ReportSpec
from simulators.spapi.scenario import Scenario
from tests.integration.test_reports_jobs import jobs, sim  # noqa: F401 - the fixture

LEDGER = "GET_LEDGER_DETAIL_VIEW_DATA"
REPLACEMENTS = "GET_FBA_FULFILLMENT_CUSTOMER_SHIPMENT_REPLACEMENT_DATA"
SPECS = [ReportSpec(LEDGER, every=timedelta(hours=4), overlap=timedelta(days=3)),
         ReportSpec(REPLACEMENTS, every=timedelta(hours=4), overlap=timedelta(days=3))]


@pytest.mark.parametrize("fault", ["not_gzip", "content_length", "500"])
def test_a_bad_document_fails_alone_and_is_retried_with_back_off(sim, fault):  # noqa: F811
    store = InMemoryMovementStore()
    j = jobs(sim, store)
    j.specs = SPECS
    sim.world_op("lose", sku="TEA", quantity=1)
    sim.world_op("replacement", sku="TEA", quantity=1, original_order_id="202-1111111-1111111")
    Scenario(sim.url).document_host(fault, report_type=LEDGER, count=None)
    requested = j.run_schedule()["requested"]
    assert len(requested) == 2
    sim.clock.advance(60)
    out = j.run_schedule()  # the ledger's download fails every time; the replacements apply
    assert [f["report_type"] for f in out["failed"]] == [LEDGER]
    by_type = {ReportJob.get(job_id).report_type: ReportJob.get(job_id) for job_id in requested}
    assert by_type[REPLACEMENTS].status == "applied"
    bad = by_type[LEDGER]
    assert bad.status == "done" and bad.detail["attempts"] == 1 and "attempt 1" in bad.error
    assert {r.kind for r in store.items.values()} == {"replacement"}

    sim.clock.advance(60)
    assert j.run_schedule()["failed"] == []  # backing off: not polled again within 5 minutes
    Scenario(sim.url).clear()
    sim.clock.advance(10 * 60)
    j.run_schedule()
    assert ReportJob.get(bad.job_id).status == "applied"
    assert {r.kind for r in store.items.values()} == {"replacement", "lost"}


def test_an_lwa_outage_fails_the_run_s_requests_not_the_run(sim):  # noqa: F811
    j = jobs(sim)
    j.specs = SPECS
    Scenario(sim.url).lwa_outage(status=500, count=100)
    out = j.run_schedule()
    assert sorted(f["report_type"] for f in out["failed"]) == sorted([LEDGER, REPLACEMENTS])
    assert "retried" in out
