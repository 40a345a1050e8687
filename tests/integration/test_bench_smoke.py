"""Every benchmark runs at a tiny size, so the benches cannot rot, and what they print holds together:
a documented lower bound is never beaten (a connector doing less than the bound means the bound is wrong),
the containers really count DynamoDB calls and memory, and the scale bench's line goes through its points."""

from __future__ import annotations

import math

import pytest

from bench import jobs, limits
from bench.measure import JobCost, Row


@pytest.fixture(autouse=True)
def _on_session_moto(local_aws, monkeypatch):
    """The jobs build their stacks on the session's moto (their own would unbind the other tests' pynamodb)."""
    monkeypatch.setattr(jobs, "SHARED_AWS", local_aws)


def _check(rows: list[Row]) -> None:
    assert rows
    for r in rows:
        assert not math.isnan(r.value), r
        if "/ bound" in r.metric:
            assert r.value >= 1.0, f"measured below the documented lower bound: {r}"
        if r.metric.startswith("peak RSS"):
            # A Python container with boto3 holds tens of MB at least (in MB: the share depends on MemorySize).
            assert float(r.note.split(" ", 1)[0]) > 30 and r.value < 2, r


def _job(cost: JobCost) -> None:
    _check(cost.rows())
    assert cost.dynamodb_calls > 0  # the botocore hook in the container saw the job's calls
    assert all(ph.run.peak_rss_mb > 30 for ph in cost.phases)


def test_mfn_nightly_tiny() -> None:
    cost = jobs.mfn_nightly(40)
    _job(cost)
    assert cost.items > 0 and cost.total("sp").get("createFeed", 0) >= 1


@pytest.mark.timeout(300)  # three stacks started one after another: ~60 s on a loaded 2-core machine
def test_webhook_storm_and_fba_and_import_links_tiny() -> None:
    for cost in (jobs.webhook_storm(12), jobs.fba_reconciliation(30), jobs.import_links(6)):
        _job(cost)
        if cost.job == "FBA reconciliation":
            # The MYI report's notification is taken at the first delivery (in a fresh container) and spares
            # the poll its getReport: the bound's two calls.
            assert sum(ph.run.redelivered for ph in cost.phases) == 0
            assert cost.total("sp").get("getReport", 0) == 0


def test_ledger_stream_and_ingest_tiny() -> None:
    from bench.ledger_stream import run_ingest, run_stream

    _check(run_stream(2_000))
    cost = run_ingest(200)
    _job(cost)
    assert cost.items > 0


def test_budget_governor_never_admits_more_than_the_documented_window(local_aws) -> None:
    from bench.brightpearl_budget import measure

    m = measure(minutes=1.5, workers=3)
    assert m["peak_window"] <= limits.BP_REQUESTS_PER_MINUTE
    assert m["admitted"] > limits.BP_REQUESTS_PER_MINUTE  # the run spans more than one window


def test_cold_start_one_sample() -> None:
    from bench.cold_start import rows

    out = rows(1, only=("BrightpearlWebhookFunction",))
    _check(out)
    assert all(r.value > 0.5 for r in out)  # a handler imports at least most of what boto3 costs


def test_extrapolation_goes_through_the_measured_points() -> None:
    from bench.measure import ContainerRun, Phase
    from bench.scale import extrapolate

    def cost(n: int) -> JobCost:
        run = ContainerRun([], cpu_s=0.01 * n, wall_s=0.02 * n, peak_rss_mb=100 + n / 100, baseline_rss_mb=90,
                           aws_calls={"dynamodb:UpdateItem": 2 * n}, invocations=1)
        return JobCost("j", n, n, "item", [Phase("NightlyReconciliationFunction", run, {"get": n // 100},
                                                 {"createFeed": 1})], n // 200, 3)

    a, b = cost(1_000), cost(3_000)
    at_a, far = extrapolate(a, b, 1_000), extrapolate(a, b, 100_000)
    assert at_a.dynamodb_calls == a.dynamodb_calls and at_a.bp_total == a.bp_total
    assert far.dynamodb_calls == 200_000 and far.phases[0].run.cpu_s == pytest.approx(1_000)
    assert far.phases[0].run.peak_rss_mb == pytest.approx(1_100)
