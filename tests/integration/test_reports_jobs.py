"""Report jobs against the SP-API simulator and DynamoDB (moto): cursors, overlap, cadence, fallbacks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sp_api.auth import access_token_client

from connector.adapters.amazon.client import AmazonClients, LwaCredentials
from connector.adapters.amazon.reports import AmazonReports
from connector.adapters.movement_store import InMemoryMovementStore
from connector.adapters.report_job_store import DynamoReportJobStore
from connector.adapters.repositories import GlobalSettings
from connector.adapters.store import ReportJob
from connector.domain.reports import ReportSpec
from connector.usecases.movements import MovementService
from connector.usecases.report_jobs import ReportJobs
from simulators.core import SimClock
from simulators.spapi import SpApiSimulator
from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, UK

LEDGER = "GET_LEDGER_DETAIL_VIEW_DATA"
SPEC = ReportSpec(LEDGER, every=timedelta(hours=4), overlap=timedelta(days=3))


@pytest.fixture
def sim(local_aws):
    s = SpApiSimulator(rate_scale=1000, clock=SimClock(speed=0)).start()
    access_token_client.cache.clear()
    s.seed({"credentials": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN},
            "listings": {"TEA": {"channel": "FBA", "marketplaces": [UK], "fba": {"SELLABLE": 10}}}})
    with ReportJob.batch_write() as batch:
        for item in ReportJob.scan():
            batch.delete(item)
    yield s
    s.stop()


class NoBrightpearl:
    def __getattr__(self, name):
        raise AssertionError(f"Brightpearl not expected here: {name}")


def jobs(sim, store=None) -> ReportJobs:
    clients = AmazonClients(LwaCredentials(REFRESH_TOKEN, CLIENT_ID, CLIENT_SECRET), marketplace_id=UK,
                            endpoint=sim.url, lwa_url=f"{sim.url}/auth/o2/token",
                            clock=lambda: sim.clock.now().timestamp())
    settings = GlobalSettings.model_validate({"fba_warehouse_id": 7, "dry_run": True})
    movements = MovementService(store or InMemoryMovementStore(), NoBrightpearl(), {"TEA": 1}.get,  # type: ignore[arg-type]
                                lambda: settings, clock=sim.clock.now)
    return ReportJobs(AmazonReports(clients, [UK]), movements, DynamoReportJobStore(), specs=[SPEC],
                      clock=sim.clock.now)


def cursor():
    return ReportJob.get(f"cursor#{LEDGER}", consistent_read=True)


def test_windows_start_at_the_cursor_minus_the_overlap_and_wait_for_the_cadence(sim):
    j = jobs(sim)
    sim.world_op("lose", sku="TEA", quantity=1)
    first = j.run_schedule()["requested"]
    assert len(first) == 1
    assert j.run_schedule()["requested"] == []  # one open report per type
    sim.clock.advance(60)
    sim.tick()
    (notification,) = [n for n in sim.notifications if n.get("notificationType") == "REPORT_PROCESSING_FINISHED"]
    p = notification["payload"]["reportProcessingFinishedNotification"]
    assert j.on_report_finished(p["reportId"], p["processingStatus"], p.get("reportDocumentId")) == "applied"
    assert j.on_report_finished(p["reportId"], p["processingStatus"], p.get("reportDocumentId")) == "applied"
    end = cursor().data_end
    sim.clock.advance(3600)
    assert j.run_schedule()["requested"] == []  # not due: Amazon regenerates at most every 4 h
    sim.clock.advance(4 * 3600)
    (second,) = j.run_schedule()["requested"]
    job = ReportJob.get(second)
    assert job.data_start == end - SPEC.overlap


def test_lost_notification_is_covered_by_polling(sim):
    store = InMemoryMovementStore()
    j = jobs(sim, store)
    sim.world_op("lose", sku="TEA", quantity=2)
    (job_id,) = j.run_schedule()["requested"]
    sim.clock.advance(60)  # finished; its notification never arrives
    out = j.run_schedule()
    assert out["polled"] == [job_id]
    assert ReportJob.get(job_id).status == "applied"
    assert [r.status for r in store.items.values()] == ["dry_run"]


def test_cancelled_means_no_data_unless_we_cancelled_it(sim):
    j = jobs(sim)
    (job_id,) = j.run_schedule()["requested"]  # an empty world: Amazon cancels the report
    sim.clock.advance(60)
    j.run_schedule()
    assert ReportJob.get(job_id).status == "cancelled" and cursor().data_end is not None

    sim.configure(timing={"report_queue": 3 * 3600})  # the next report sits in Amazon's queue
    sim.clock.advance(5 * 3600)
    (stuck,) = j.run_schedule()["requested"]
    covered = cursor().data_end
    sim.clock.advance(2.5 * 3600)
    out = j.run_schedule()
    assert ReportJob.get(stuck).status == "cancelled"
    assert ReportJob.get(stuck).detail["cancelled_by_us"] is True
    assert cursor().data_end == covered  # not "no data": the window is asked for again, at once
    (again,) = out["requested"]
    assert ReportJob.get(again).data_start == covered - SPEC.overlap


def test_after_an_outage_the_gap_is_caught_up_window_by_window(sim):
    j = jobs(sim)
    j.run_schedule()
    sim.clock.advance(60)
    j.run_schedule()  # the first (empty) report closes; the cursor is now
    start = cursor().data_end
    sim.clock.advance(50 * 86400)  # the connector was down for 50 days
    (first,) = j.run_schedule()["requested"]
    a = ReportJob.get(first)
    assert (a.data_start, a.data_end) == (start - SPEC.overlap, start - SPEC.overlap + SPEC.max_window)
    sim.clock.advance(60)
    out = j.run_schedule()  # closes the first window and asks for the next one at once
    (second,) = out["requested"]
    assert ReportJob.get(second).data_start == a.data_end - SPEC.overlap
