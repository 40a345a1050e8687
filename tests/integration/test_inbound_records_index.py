"""The Shipments table's sparse indexes: a run's reads of the open shipments, the finished ones of settled
plans and the highest transfer id are Queries that do not grow with the shipments finished long ago; items
saved before the indexes existed are given their keys once (DynamoDB in moto, the real adapter)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connector.adapters.inbound_records import ShipmentRecords, item_of
from connector.adapters.store import GovernorItem, InboundShipment
from connector.domain.inbound import Shipment

T0 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def calls(local_aws: Any) -> Iterator[list[str]]:
    for item in InboundShipment.scan():
        item.delete(add_version_condition=False)
    GovernorItem(ShipmentRecords.INDEXED_KEY).delete(add_version_condition=False)
    ShipmentRecords._indexed = False
    seen: list[str] = []
    client = InboundShipment._get_connection().connection.client
    hook = lambda model, **_: seen.append(model.name)  # noqa: E731
    client.meta.events.register("before-call.dynamodb", hook)
    yield seen
    client.meta.events.unregister("before-call.dynamodb", hook)
    ShipmentRecords._indexed = False


def _shipment(sid: str, *, finished: bool, transfer: int | None = None, plan: bool = False) -> Shipment:
    s = Shipment(sid, "CLOSED" if finished else "RECEIVING", finished=finished, stock_transfer_id=transfer)
    if plan:
        s.plan_id, s.plan_shipments = f"wf-{sid}", {f"sh-{sid}": sid}
    return s


def test_a_run_queries_only_the_open_and_recent_shipments_and_never_scans(calls: list[str]) -> None:
    now = [T0]
    records = ShipmentRecords(lambda: now[0])
    for i in range(40):  # finished long ago: no run reads them again
        records.save(_shipment(f"FBAOLD{i:03}", finished=True, transfer=100 + i, plan=i % 2 == 0))
    now[0] = T0 + timedelta(days=5)
    records.save(_shipment("FBARECENT", finished=True, transfer=7, plan=True))
    for sid, transfer in (("FBAOPEN1", 300), ("FBAOPEN2", None), ("FBAOPEN3", 12)):
        records.save(_shipment(sid, finished=False, transfer=transfer))
    GovernorItem(ShipmentRecords.INDEXED_KEY).save(add_version_condition=False)  # a stack made with the indexes
    calls.clear()

    assert sorted(r.shipment_id for r in records.open()) == ["FBAOPEN1", "FBAOPEN2", "FBAOPEN3"]
    assert [r.shipment_id for r in records.finished_with_plans()] == ["FBARECENT"]
    assert records.max_transfer_id() == 300
    assert "Scan" not in calls and calls.count("Query") == 3

    # A shipment that finishes leaves the open index; one that gets a transfer is the new highest.
    (open1,) = [r for r in records.open() if r.shipment_id == "FBAOPEN1"]
    open1.finished = True
    records.save(open1)
    records.save(_shipment("FBAOPEN4", finished=False, transfer=301))
    assert sorted(r.shipment_id for r in records.open()) == ["FBAOPEN2", "FBAOPEN3", "FBAOPEN4"]
    assert records.max_transfer_id() == 301


def test_items_saved_before_the_indexes_are_given_their_keys_once(calls: list[str]) -> None:
    for s in (_shipment("FBAL1", finished=False, transfer=5), _shipment("FBAL2", finished=True, transfer=9),
              _shipment("FBAL3", finished=True, plan=True), _shipment("FBAL4", finished=False)):
        item_of(s).save()  # as the code before the indexes wrote them: no index keys
    records = ShipmentRecords(lambda: T0)

    assert sorted(r.shipment_id for r in records.open()) == ["FBAL1", "FBAL4"]
    assert records.max_transfer_id() == 9
    assert [r.shipment_id for r in records.finished_with_plans()] == ["FBAL3"]
    assert calls.count("Scan") == 1  # once, by the first read after the upgrade

    ShipmentRecords._indexed = False  # a new container: the marker says the table is indexed
    calls.clear()
    assert sorted(r.shipment_id for r in ShipmentRecords(lambda: T0).open()) == ["FBAL1", "FBAL4"]
    assert "Scan" not in calls
    # Backfilled items keep their state and version: a save from the record read back succeeds.
    (l1,) = [r for r in records.open() if r.shipment_id == "FBAL1"]
    records.save(l1)
