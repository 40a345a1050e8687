"""Inbound 2024-03-20 plans against the stricter SP-API simulator (issue 14 item 4): a plan whose placement is not
confirmed may still change (shipments added) and is read every run until it settles; a settled plan (placement
confirmed, every shipment confirmed) is never read again, and skipping it loses no receipt.

The real ``AmazonInbound`` adapter over HTTP against the simulator; Brightpearl and the shipments table are the
in-memory fakes, whose stock figures the assertions read.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.adapters.amazon.client import AmazonClients, LwaCredentials
from connector.adapters.amazon.inbound import AmazonInbound
from connector.domain.settings import GlobalSettings
from connector.usecases.inbound_shipments import InboundShipments, RunIncomplete
from simulators.clock import SimClock
from simulators.spapi import SpApiSimulator
from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, DEMO_SEED, REFRESH_TOKEN, UK
from tests.fakes import FakeBrightpearl, FakeShipments, Outbox, once

SOURCE, FBA = 1, 7
PRODUCTS = {"FBA-TEA": 1007, "FBA-CUP": 1011}


@pytest.fixture(scope="module")
def sim() -> Iterator[SpApiSimulator]:
    s = SpApiSimulator(rate_scale=1000, clock=SimClock(speed=0)).start()
    yield s
    s.stop()


def fresh(sim: SpApiSimulator) -> tuple[InboundShipments, FakeBrightpearl, FakeShipments]:
    sim.reset()
    sim.seed(DEMO_SEED)
    amazon = AmazonClients(LwaCredentials(REFRESH_TOKEN, CLIENT_ID, CLIENT_SECRET), marketplace_id=UK,
                           endpoint=sim.url, lwa_url=f"{sim.url}/auth/o2/token", sleep=lambda _s: None)
    amazon.forget_access_token()  # a token of an earlier simulator means nothing to this one
    bp = FakeBrightpearl(products={pid: sku for sku, pid in PRODUCTS.items()})
    for pid in PRODUCTS.values():
        bp.stock(SOURCE, pid, 1_000)
    records = FakeShipments()
    cfg = GlobalSettings(fba_warehouse_id=FBA, inbound_source_warehouse_id=SOURCE)
    usecase = InboundShipments(amazon=AmazonInbound(amazon), transfers=bp, records=records, settings=lambda: cfg,
                               product_for=PRODUCTS.get, mail=once(Outbox()))
    return usecase, bp, records


def run(usecase: InboundShipments) -> Any:
    with contextlib.suppress(RunIncomplete):
        return usecase.run()
    return None


def calls(sim: SpApiSimulator, route: str) -> int:
    return len(sim.requests(route=route))


def test_a_plan_changed_before_its_placement_is_confirmed_is_read_until_it_settles(sim):
    usecase, bp, records = fresh(sim)
    first = sim.world_op("create_inbound_shipment", items={"FBA-TEA": 4}, shipment_id="FBA1PLANA", confirmed=False)
    run(usecase)
    assert bp.transfers == {} and calls(sim, "getInboundPlan") == 1  # read: nothing confirmed to follow yet
    # The plan changes before its placement is confirmed: a second shipment joins it.
    sim.world_op("create_inbound_shipment", items={"FBA-CUP": 3}, shipment_id="FBA1PLANB", plan_id=first.plan_id)
    run(usecase)
    assert bp.transfers == {} and calls(sim, "getInboundPlan") == 2  # still read: it may still change
    sim.world_op("confirm_inbound_plan", plan_id=first.plan_id)
    run(usecase)
    assert sorted(t.reference for t in bp.transfers.values()) == ["AMZ-IN-FBA1PLANA", "AMZ-IN-FBA1PLANB"]
    assert calls(sim, "getInboundPlan") == 3 and calls(sim, "getShipment") == 2  # each shipment once, confirmed
    for rec in (records.get("FBA1PLANA"), records.get("FBA1PLANB")):
        assert rec is not None and rec.plan_id == first.plan_id
        assert rec.plan_shipments == {first.shipment_uuid: "FBA1PLANA",
                                      sim.world.inbound.get("FBA1PLANB").shipment_uuid: "FBA1PLANB"}
    # Settled: the plan is never read again, though Amazon keeps updating it; receipts still arrive.
    for sid in ("FBA1PLANA", "FBA1PLANB"):
        sim.world_op("ship_inbound", shipment_id=sid)
    run(usecase)
    sim.world_op("receive_inbound", shipment_id="FBA1PLANA", items={"FBA-TEA": 4})
    sim.world_op("receive_inbound", shipment_id="FBA1PLANB", items={"FBA-CUP": 3})
    run(usecase)
    run(usecase)
    assert calls(sim, "getInboundPlan") == 3 and calls(sim, "getShipment") == 2
    assert bp.figures([1007], FBA)[1007]["onHand"] == 4 and bp.figures([1011], FBA)[1011]["onHand"] == 3


def test_a_shipment_joining_a_confirmed_plan_is_refused_by_the_simulator(sim):
    fresh(sim)
    shp = sim.world_op("create_inbound_shipment", items={"FBA-TEA": 1}, shipment_id="FBA1DONE")
    with pytest.raises(ValueError, match="is confirmed"):
        sim.world.inbound.create_inbound_shipment({"FBA-CUP": 1}, plan_id=shp.plan_id)


receipts = st.lists(st.fixed_dictionaries({"FBA-TEA": st.integers(0, 3), "FBA-CUP": st.integers(0, 3)}),
                    min_size=1, max_size=5)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(schedules=st.lists(receipts, min_size=1, max_size=3), over=st.integers(0, 2), closes=st.booleans())
def test_skipping_a_settled_plan_loses_no_receipt_over_random_receipt_schedules(sim, schedules, over, closes):
    """Shipments (each its own plan) receive random units run after run, some beyond what they carried (corrected
    by the rule); every unit Amazon received is in Brightpearl's FBA warehouse once, and each plan was read once."""
    usecase, bp, records = fresh(sim)
    shipped = {"FBA-TEA": 12, "FBA-CUP": 12}
    ids = [sim.world_op("create_inbound_shipment", items=shipped, shipment_id=f"FBA2P{i}").shipment_id
           for i in range(len(schedules))]
    run(usecase)
    for sid in ids:
        sim.world_op("ship_inbound", shipment_id=sid)
    run(usecase)
    received = dict.fromkeys(PRODUCTS, 0)
    for step in range(max(len(s) for s in schedules)):
        for sid, schedule in zip(ids, schedules, strict=True):
            if step < len(schedule):
                units = {sku: q + (over if step == len(schedule) - 1 else 0) for sku, q in schedule[step].items()}
                units = {sku: q for sku, q in units.items() if q}
                if units:
                    sim.world_op("receive_inbound", shipment_id=sid, items=units)
                    for sku, q in units.items():
                        received[sku] += q
        run(usecase)
    if closes:
        for sid in ids:
            sim.world_op("close_inbound", shipment_id=sid)
        run(usecase)
    run(usecase)
    fba = bp.figures(list(PRODUCTS.values()), FBA)
    assert {sku: fba[pid]["onHand"] for sku, pid in PRODUCTS.items()} == received
    assert calls(sim, "getInboundPlan") == len(ids)  # each plan read once, when first seen; never again
    assert all(records.get(sid).finished == closes for sid in ids)
