"""Inbound receipts as batches (issue 14): one figures read and two saves per shipment, settled product by
product after a kill or a lost answer; runs cut by their time budget continue at once, a bounded chain."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.domain.inbound import CHAIN_FRESH_S, MAX_HOPS, continuation_of
from connector.domain.settings import GlobalSettings
from connector.usecases.inbound_shipments import InboundShipments, RunIncomplete
from tests.fakes import FakeBrightpearl, FakeContinuations, FakeInbound, FakeShipments, Outbox, once

SOURCE, FBA = 1, 7


class Killed(BaseException):
    """The Lambda was killed here (SIGKILL, timeout): no ``except Exception`` runs, nothing more is saved."""


@dataclass
class KillableBrightpearl(FakeBrightpearl):
    kill_at: int | None = None  # the n-th release call (0-based) of the run is cut
    kill_landed: bool = True  # ... after Brightpearl applied it (else before it reached Brightpearl)
    release_calls: int = 0

    def release(self, warehouse_id: int, product_id: int, quantity: int) -> None:
        n, self.release_calls = self.release_calls, self.release_calls + 1
        if n != self.kill_at:
            return super().release(warehouse_id, product_id, quantity)
        self.kill_at = None
        if self.kill_landed:
            super().release(warehouse_id, product_id, quantity)
        raise Killed


def world(products: dict[str, int], bp: FakeBrightpearl | None = None,
          continuations: FakeContinuations | None = None) -> tuple[InboundShipments, FakeInbound, Any, FakeShipments]:
    bp = bp or KillableBrightpearl(products={pid: sku for sku, pid in products.items()})
    for pid in set(products.values()):
        bp.stock(SOURCE, pid, 10_000)
    amazon, records = FakeInbound(), FakeShipments()
    cfg = GlobalSettings(fba_warehouse_id=FBA, inbound_source_warehouse_id=SOURCE)
    usecase = InboundShipments(amazon=amazon, transfers=bp, records=records, settings=lambda: cfg,
                               product_for=products.get, mail=once(Outbox()), use_2024_plans=False,
                               continuations=continuations)
    return usecase, amazon, bp, records


def run(usecase: InboundShipments, **kwargs: Any) -> Any:
    with contextlib.suppress(RunIncomplete, Killed):
        return usecase.run(**kwargs)
    return None


awkward_sku = st.text(st.sampled_from("AZaz09 /&+-éß"), min_size=1, max_size=8).map(lambda s: "S" + s)


@st.composite
def shipments(draw: Any) -> tuple[dict[str, int], dict[str, tuple[int, int]]]:
    """SKUs (two may share a product) with (shipped, received) units, received never above shipped."""
    skus = draw(st.lists(awkward_sku, min_size=1, max_size=25, unique=True))
    pool = draw(st.integers(1, len(skus)))
    products = {sku: 100 + draw(st.integers(0, pool - 1)) for sku in skus}
    items = {}
    for sku in skus:
        shipped = draw(st.integers(1, 9))
        items[sku] = (shipped, draw(st.integers(0, shipped)))
    return products, items


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shipment=shipments(), kill_at=st.integers(0, 12), landed=st.booleans())
def test_a_release_batch_killed_anywhere_releases_every_received_unit_exactly_once(shipment, kill_at, landed):
    products, items = shipment
    usecase, amazon, bp, records = world(products)
    amazon.ship("FBA1", "WORKING", {sku: (q, 0) for sku, (q, _) in items.items()})
    run(usecase)
    amazon.ship("FBA1", "SHIPPED", {sku: (q, 0) for sku, (q, _) in items.items()})
    run(usecase)
    amazon.ship("FBA1", "RECEIVING", items)
    bp.kill_at, bp.kill_landed = kill_at, landed
    run(usecase)  # killed at the kill_at-th release, if there are that many
    run(usecase)  # settles the batch from the figures, sends what did not land
    amazon.ship("FBA1", "CLOSED", items)
    run(usecase)
    run(usecase)
    received: dict[int, int] = {}
    shipped: dict[int, int] = {}
    for sku, (q, r) in items.items():
        received[products[sku]] = received.get(products[sku], 0) + r
        shipped[products[sku]] = shipped.get(products[sku], 0) + q
    figures = bp.figures(set(products.values()), FBA)
    assert {pid: f["onHand"] for pid, f in figures.items()} == received  # a unit released twice would show
    assert {pid: f["inTransit"] for pid, f in figures.items()} == {p: shipped[p] - received[p] for p in shipped}
    record = records.get("FBA1")
    assert record is not None and record.pending is None and record.finished
    assert {ln.sku: ln.released for ln in record.lines} == {sku: r for sku, (_, r) in items.items()}


@settings(max_examples=30, deadline=None)
@given(shipment=shipments(), lost=st.integers(0, 30))
def test_a_lost_answer_inside_a_batch_is_settled_from_the_figure_and_the_batch_goes_on(shipment, lost):
    products, items = shipment
    usecase, amazon, bp, records = world(products)
    amazon.ship("FBA2", "SHIPPED", {sku: (q, 0) for sku, (q, _) in items.items()})
    run(usecase)
    run(usecase)
    amazon.ship("FBA2", "RECEIVING", items)
    # The lost-th release lands, its answer is lost: the batch reads that product's figure and carries on.
    real = bp.release
    calls = {"n": 0}

    def release(warehouse_id: int, product_id: int, quantity: int) -> None:
        calls["n"] += 1
        if calls["n"] - 1 == lost:
            bp.lose_answer("release")
        real(warehouse_id, product_id, quantity)

    bp.release = release
    run(usecase)
    due = {products[s] for s, (_, r) in items.items() if r}
    assert bp.attempts.count("release") == len(due)  # one write per product with units received, none resent
    record = records.get("FBA2")
    assert record is not None and record.pending is None
    assert {ln.sku: ln.released for ln in record.lines} == {sku: r for sku, (_, r) in items.items()}


def test_a_batch_saves_the_shipment_a_few_times_and_reads_the_figures_once_whatever_its_size():
    products = {f"SKU {i}/&+é": 100 + i for i in range(150)}
    usecase, amazon, bp, records = world(products)
    items = {sku: (3, 0) for sku in products}
    amazon.ship("FBA3", "SHIPPED", items)
    run(usecase)
    run(usecase)
    amazon.ship("FBA3", "RECEIVING", {sku: (3, 2) for sku in products})
    saves, reads = [], []
    real_save, real_figures = records.save, bp.figures
    records.save = lambda r: (saves.append(r.shipment_id), real_save(r))[1]
    bp.figures = lambda pids, wid: (reads.append(len(set(pids))), real_figures(pids, wid))[1]
    run(usecase)
    bp.figures = real_figures
    assert sum(f["onHand"] for f in bp.figures(set(products.values()), FBA).values()) == 300
    # The lines folded in (1), the batch's intent and outcome (2), the receiving email's send-once (2): not
    # per SKU (before: 2 per SKU, 301). One availability read for all 150 products (the adapter chunks by 100).
    assert len(saves) <= 5 and reads == [150]


def budget(bp: FakeBrightpearl, seconds_per_release: float = 80.0, start: float = 300.0):
    """Lambda's remaining time, charged per release this run sends (as Brightpearl's 200/min would)."""
    at_start = bp.writes.count("release")
    return lambda: start - seconds_per_release * (bp.writes.count("release") - at_start)


def test_three_runs_worth_of_shipments_are_received_back_to_back_without_the_schedule():
    products = {"TEA": 11, "CUP": 12}
    chain = FakeContinuations()
    usecase, amazon, bp, records = world(products, continuations=chain)
    ids = [f"FBA5{i}" for i in range(4)]
    for sid in ids:
        amazon.ship(sid, "SHIPPED", {"TEA": (4, 0), "CUP": (2, 0)})
    run(usecase)
    run(usecase)
    for sid in ids:
        amazon.ship(sid, "RECEIVING", {"TEA": (4, 3), "CUP": (2, 2)})
    report = run(usecase, remaining=budget(bp))  # the schedule's run: 3 releases fit its 70 % budget
    runs = [report]
    while chain.sent:  # what the queue delivers, at once, one run after the other
        resume_from, hop = chain.sent.pop(0)
        runs.append(run(usecase, remaining=budget(bp), resume_from=resume_from, hop=hop))
    assert len(runs) == 3 and [r.continued for r in runs] == [True, True, False] and not chain.running
    assert bp.figures([11, 12], FBA) == {11: {"onHand": 12, "inTransit": 4, "allocated": 0, "inStock": 12},
                                         12: {"onHand": 8, "inTransit": 0, "allocated": 0, "inStock": 8}}
    assert bp.writes.count("release") == 8  # 2 per shipment: never one twice
    assert all(ln.released == ln.received for sid in ids for ln in records.get(sid).lines)


def test_a_chain_stops_at_its_hop_limit_and_when_a_run_gets_nothing_done():
    chain = FakeContinuations()
    usecase, amazon, bp, _ = world({"TEA": 11}, continuations=chain)
    for sid in ("FBA61", "FBA62"):
        amazon.ship(sid, "SHIPPED", {"TEA": (4, 0)})
    run(usecase)
    run(usecase)
    for sid in ("FBA61", "FBA62"):
        amazon.ship(sid, "RECEIVING", {"TEA": (4, 4)})
    report = run(usecase, remaining=budget(bp, 300), resume_from="FBA61", hop=MAX_HOPS)
    assert report.resume_from == "FBA62" and not report.continued and chain.sent == []
    report = run(usecase, remaining=lambda: 10.0, resume_from="FBA62", hop=3)  # no time to start anything
    assert report.processed == 0 and not report.continued and chain.sent == []
    assert bp.writes.count("release") == 1


def test_a_scheduled_run_steps_aside_while_a_chain_runs_and_a_continuation_does_not():
    chain = FakeContinuations(running=True)
    usecase, amazon, bp, _ = world({"TEA": 11}, continuations=chain)
    amazon.ship("FBA7", "WORKING", {"TEA": (4, 0)})
    assert run(usecase).skipped_busy and bp.transfers == {}
    assert not run(usecase, resume_from="FBA7", hop=1).skipped_busy and len(bp.transfers) == 1


NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_a_continuation_message_is_read_strictly_and_a_stale_one_is_dropped():
    fresh = (NOW - timedelta(seconds=5)).isoformat()
    assert continuation_of({"resumeFrom": "FBA1", "hop": 2, "sentAt": fresh}, NOW) == ("FBA1", 2)
    stale = (NOW - timedelta(seconds=CHAIN_FRESH_S + 1)).isoformat()
    assert continuation_of({"resumeFrom": "FBA1", "hop": 2, "sentAt": stale}, NOW) is None
    for body, field in [({"resumeFrom": "FBA1", "hop": 2, "sentAt": fresh, "extra": 1}, "extra"),
                        ({"resumeFrom": "", "hop": 2, "sentAt": fresh}, "resumeFrom"),
                        ({"resumeFrom": "FBA1", "hop": MAX_HOPS + 1, "sentAt": fresh}, "hop"),
                        ({"resumeFrom": "FBA1", "hop": True, "sentAt": fresh}, "hop"),
                        ({"resumeFrom": "FBA1", "hop": 1, "sentAt": "yesterday"}, "sentAt"),
                        ({"resumeFrom": "FBA1", "hop": 1, "sentAt": "2026-12-01T12:00:00"}, "sentAt")]:
        with pytest.raises(ValueError, match=field):
            continuation_of(body, NOW)
