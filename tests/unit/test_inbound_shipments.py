"""Inbound shipments on fakes: units go source → transfer → FBA warehouse once, across runs and lost answers."""

from __future__ import annotations

import contextlib

import pytest

from connector.domain.settings import GlobalSettings
from connector.usecases.inbound_shipments import InboundShipments, RunIncomplete
from tests.fakes import FakeBrightpearl, FakeInbound, FakeShipments, Outbox, once

SOURCE, FBA, TEA, CUP = 1, 7, 11, 12


def world(stock: int = 10) -> tuple[InboundShipments, FakeInbound, FakeBrightpearl, FakeShipments, Outbox]:
    bp = FakeBrightpearl(products={TEA: "TEA", CUP: "CUP"})
    bp.stock(SOURCE, TEA, stock)
    bp.stock(SOURCE, CUP, stock)
    amazon, records, outbox = FakeInbound(), FakeShipments(), Outbox()
    settings = GlobalSettings(fba_warehouse_id=FBA, inbound_source_warehouse_id=SOURCE)
    usecase = InboundShipments(amazon=amazon, transfers=bp, records=records, settings=lambda: settings,
                               product_for={"TEA": TEA, "CUP": CUP}.get, mail=once(outbox), use_2024_plans=False)
    return usecase, amazon, bp, records, outbox


def run(usecase: InboundShipments) -> None:
    """One scheduled run; a shipment that fails is retried by the next (RunIncomplete raises the alarm)."""
    with contextlib.suppress(RunIncomplete):
        usecase.run()


def test_a_shipment_from_working_to_closed_moves_its_units_to_the_fba_warehouse_once():
    usecase, amazon, bp, records, _ = world()
    amazon.ship("FBA1", "WORKING", {"TEA": (4, 0)})
    usecase.run()
    (transfer,) = bp.transfers.values()
    assert transfer.reference == "AMZ-IN-FBA1"
    assert bp.figures([TEA], SOURCE)[TEA]["allocated"] == 4
    amazon.ship("FBA1", "SHIPPED", {"TEA": (4, 0)})
    usecase.run()
    assert bp.figures([TEA], SOURCE)[TEA]["onHand"] == 6 and bp.figures([TEA], FBA)[TEA]["inTransit"] == 4
    amazon.ship("FBA1", "CLOSED", {"TEA": (4, 4)})
    usecase.run()
    usecase.run()
    assert bp.figures([TEA], FBA)[TEA] == {"onHand": 4, "inTransit": 0, "allocated": 0, "inStock": 4}
    record = records.get("FBA1")
    assert record is not None and record.finished
    assert bp.writes.count("create_transfer") == 1 and bp.writes.count("release") == 1


def test_a_transfer_whose_answer_was_lost_is_found_by_reference_and_not_created_again():
    usecase, amazon, bp, records, _ = world()
    amazon.ship("FBA2", "WORKING", {"TEA": (3, 0)})
    bp.lose_answer("create_transfer")
    run(usecase)
    run(usecase)
    assert bp.attempts.count("create_transfer") == 1
    (transfer,) = bp.transfers.values()
    record = records.get("FBA2")
    assert record is not None and record.stock_transfer_id == transfer.transfer_id


def test_a_release_whose_answer_was_lost_is_settled_by_the_figures_not_sent_again():
    usecase, amazon, bp, _, _ = world()
    amazon.ship("FBA3", "SHIPPED", {"CUP": (5, 0)})
    usecase.run()
    usecase.run()
    amazon.ship("FBA3", "RECEIVING", {"CUP": (5, 5)})
    bp.lose_answer("release")
    run(usecase)
    run(usecase)
    amazon.ship("FBA3", "CLOSED", {"CUP": (5, 5)})
    run(usecase)
    assert bp.attempts.count("release") == 1
    assert bp.figures([CUP], FBA)[CUP]["onHand"] == 5


def test_a_save_that_lost_the_race_fails_that_shipment_and_the_next_run_goes_on_from_the_winner():
    usecase, amazon, bp, records, _ = world()
    amazon.ship("FBA4", "WORKING", {"TEA": (2, 0)})
    usecase.run()
    stale = records.get("FBA4")
    winner = records.get("FBA4")
    assert stale is not None and winner is not None
    records.save(winner)  # another run saved first
    with pytest.raises(Exception, match="changed since it was read"):
        records.save(stale)
    amazon.ship("FBA4", "SHIPPED", {"TEA": (2, 0)})
    usecase.run()
    assert bp.figures([TEA], FBA)[TEA]["inTransit"] == 2
