"""ReportJobs on fakes: a report's rows move Brightpearl stock once, whatever the deliveries and polls."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.domain.reports import ReportSpec
from connector.domain.settings import GlobalSettings
from connector.usecases.movements import MovementService
from connector.usecases.report_jobs import ReportJobs, report_finished
from tests.fakes import FakeBrightpearl, FakeClock, FakeReportJobs, FakeReports, InMemoryMovementStore

LEDGER = "GET_LEDGER_DETAIL_VIEW_DATA"
SPEC = ReportSpec(LEDGER, every=timedelta(hours=4), overlap=timedelta(days=3))
FBA, TEA = 7, 1
HEADER = ["Date", "FNSKU", "ASIN", "MSKU", "Title", "Event Type", "Reference ID", "Quantity", "Fulfillment Center",
          "Disposition", "Reason", "Country", "Reconciled Quantity", "Unreconciled Quantity", "Date and Time"]


def ledger(damages: list[int], sku: str = "TEA") -> list[str]:
    """A ledger detail document: one SELLABLE damage adjustment (reason E) per quantity."""
    rows = [["07/01/2026", "X001", "B001", sku, "Tea", "Adjustments", f"{1000 + i}", str(-q), "LTN1", "SELLABLE",
             "E", "GB", "", "", f"2026-07-01T0{i % 10}:00:00+0000"] for i, q in enumerate(damages)]
    return ["\t".join(r) + "\n" for r in [HEADER, *rows]]


def world(on_hand: int = 100) -> tuple[ReportJobs, FakeReports, FakeBrightpearl, FakeClock]:
    clock, bp, reports = FakeClock(), FakeBrightpearl(products={TEA: "TEA"}), FakeReports()
    bp.stock(FBA, TEA, on_hand)
    movements = MovementService(InMemoryMovementStore(), bp, {"TEA": TEA}.get,
                                lambda: GlobalSettings(fba_warehouse_id=FBA), clock=clock)
    return ReportJobs(reports, movements, FakeReportJobs(), specs=[SPEC], clock=clock), reports, bp, clock


def test_a_finished_ledger_report_moves_the_fba_stock_once_however_often_it_is_notified():
    jobs, reports, bp, _ = world()
    assert len(jobs.run_schedule()["requested"]) == 1
    (report,) = reports.requested(LEDGER)
    doc = reports.finish(report.report_id, ledger([1, 2]))
    assert jobs.on_report_finished(report.report_id, "DONE", doc) == "applied"
    assert jobs.on_report_finished(report.report_id, "DONE", doc) == "applied"  # redelivered
    jobs.run_schedule()  # and polled
    assert bp.on_hand(FBA, [TEA]) == {TEA: 97}
    assert reports.downloads == 1


def test_the_schedule_finishes_a_report_whose_notification_was_lost():
    jobs, reports, bp, _ = world()
    jobs.run_schedule()
    (report,) = reports.requested(LEDGER)
    reports.finish(report.report_id, ledger([4]))
    assert jobs.run_schedule()["polled"]
    assert bp.on_hand(FBA, [TEA]) == {TEA: 96}


def test_the_next_window_starts_an_overlap_before_the_last_and_waits_for_the_cadence():
    jobs, reports, _bp, clock = world()
    jobs.run_schedule()
    (first,) = reports.requested(LEDGER)
    jobs.on_report_finished(first.report_id, "DONE", reports.finish(first.report_id, ledger([])))
    clock.advance(hours=1)
    assert jobs.run_schedule()["requested"] == []  # Amazon regenerates the report at most every 4 h
    clock.advance(hours=4)
    assert len(jobs.run_schedule()["requested"]) == 1
    second = reports.requested(LEDGER)[-1]
    assert second.start == first.end - SPEC.overlap


def test_rows_read_again_in_an_overlapping_report_are_not_applied_twice():
    jobs, reports, bp, clock = world()
    jobs.run_schedule()
    (first,) = reports.requested(LEDGER)
    jobs.on_report_finished(first.report_id, "DONE", reports.finish(first.report_id, ledger([3])))
    clock.advance(hours=5)
    jobs.run_schedule()
    second = reports.requested(LEDGER)[-1]
    jobs.on_report_finished(second.report_id, "DONE", reports.finish(second.report_id, ledger([3, 5])))
    assert bp.on_hand(FBA, [TEA]) == {TEA: 92}


def test_a_report_this_connector_did_not_request_builds_nothing_and_is_answered_unknown():
    def no_use_case() -> ReportJobs:
        raise AssertionError("the use case must not be built for a stranger's report")

    assert report_finished(FakeReportJobs(), no_use_case, "R-STRANGER", "DONE", "doc") == "unknown report"


def test_a_fatal_report_is_asked_for_again_at_the_next_schedule():
    jobs, reports, bp, _ = world()
    jobs.run_schedule()
    (first,) = reports.requested(LEDGER)
    assert jobs.on_report_finished(first.report_id, "FATAL", None) == "fatal"
    assert len(jobs.run_schedule()["requested"]) == 1
    assert bp.writes == []


@settings(max_examples=40, deadline=None)
@given(damages=st.lists(st.integers(1, 5), max_size=12), deliveries=st.integers(1, 4), polls=st.integers(0, 2))
def test_stock_moves_by_the_report_exactly_once_for_any_rows_and_deliveries(damages, deliveries, polls):
    jobs, reports, bp, _ = world(on_hand=1000)
    jobs.run_schedule()
    (report,) = reports.requested(LEDGER)
    doc = reports.finish(report.report_id, ledger(damages))
    for _ in range(deliveries):
        jobs.on_report_finished(report.report_id, "DONE", doc)
    for _ in range(polls):
        jobs.run_schedule()
    assert bp.on_hand(FBA, [TEA]) == {TEA: 1000 - sum(damages)}


def test_a_report_too_large_for_one_invocation_continues_where_it_stopped():
    clock, bp, reports = FakeClock(), FakeBrightpearl(products={TEA: "TEA"}), FakeReports()
    bp.stock(FBA, TEA, 10_000)
    store = InMemoryMovementStore()
    movements = MovementService(store, bp, {"TEA": TEA}.get, lambda: GlobalSettings(fba_warehouse_id=FBA),
                                clock=clock, chunk_size=10)
    ticks = [0.0]

    def monotonic() -> float:  # each look at the time costs 100 s: the 250 s budget ends after 3 chunks
        ticks[0] += 100.0
        return ticks[0]

    jobs = ReportJobs(reports, movements, FakeReportJobs(), specs=[SPEC], clock=clock, apply_budget_s=250,
                      monotonic=monotonic)
    jobs.run_schedule()
    (report,) = reports.requested(LEDGER)
    doc = reports.finish(report.report_id, ledger([1] * 95))
    looked_up: list[int] = []
    real_get_many = store.get_many
    store.get_many = lambda keys: looked_up.append(len(list(keys))) or real_get_many(keys)  # type: ignore[method-assign]
    assert jobs.on_report_finished(report.report_id, "DONE", doc) == "continued"
    assert bp.on_hand(FBA, [TEA]) == {TEA: 10_000 - 30}  # three chunks of 10 applied, then stopped
    states = []
    for _ in range(10):
        states.append(jobs.on_report_finished(report.report_id, "DONE", doc))  # the redelivery continues it
        if states[-1] == "applied":
            break
    assert states == ["continued", "continued", "applied"]
    assert bp.on_hand(FBA, [TEA]) == {TEA: 10_000 - 95}
    assert sum(looked_up) == 95  # no row looked up twice: each invocation started where the last stopped
    job = jobs.jobs.by_report_id(report.report_id)
    assert job.detail["lines"]["accounted"] == job.detail["lines"]["lines_in"] == 95
    assert sum(b["applied"] for b in job.detail["lines_before"]) + job.detail["lines"]["applied"] == 95
