"""SP-API simulator: FBA removal orders (return and disposal) and their two flat-file reports, fetched with
the real python-amazon-sp-api client; the operations refuse what Amazon could not do."""

from __future__ import annotations

import pytest
import requests

from simulators.spapi.removals import ORDER_DETAIL, ORDER_DETAIL_COLUMNS, SHIPMENT_DETAIL, SHIPMENT_DETAIL_COLUMNS
from simulators.spapi.reports import parse_tsv
from tests.simulators.test_spapi_reports import header_of, reports, run_report  # noqa: F401  (fixture)

SPAPI_SPEED = 1


def test_a_return_removal_shipped_in_two_packages_with_a_unit_not_found(reports, sim):  # noqa: F811
    removals, inventory = sim.world.removals, sim.world.inventory
    before = inventory.sellable("FBA-TEA")
    removals.create_removal({"FBA-TEA": 4}, order_id="RMV-1")
    removals.ship_removal("RMV-1", {"FBA-TEA": 2}, tracking="1ZA")
    removals.ship_removal("RMV-1", {"FBA-TEA": 1}, tracking="1ZB", carrier="DPD")
    removals.cancel_removal("RMV-1")  # the fourth unit: Amazon could not find it
    assert inventory.sellable("FBA-TEA") == before - 3
    vendor = [e for e in inventory.ledger if e.event_type == "VendorReturns"]
    assert [(e.reference_id, e.quantity) for e in vendor] == [("RMV-1", -2), ("RMV-1", -1)]

    report, text = run_report(reports, sim, ORDER_DETAIL)
    assert report["processingStatus"] == "DONE" and header_of(text) == ORDER_DETAIL_COLUMNS
    (row,) = parse_tsv(text)
    assert (row["order-id"], row["order-type"], row["order-status"], row["disposition"]) == \
        ("RMV-1", "Return", "Completed", "Sellable")
    assert [row[c] for c in ("requested-quantity", "cancelled-quantity", "disposed-quantity", "shipped-quantity",
                             "in-process-quantity")] == ["4", "1", "0", "3", "0"]

    report, text = run_report(reports, sim, SHIPMENT_DETAIL)
    assert header_of(text) == SHIPMENT_DETAIL_COLUMNS
    assert [(r["tracking-number"], r["carrier"], r["shipped-quantity"]) for r in parse_tsv(text)] == \
        [("1ZA", "UPS", "2"), ("1ZB", "DPD", "1")]


def test_a_disposal_order_and_what_the_simulator_refuses(sim):
    removals = sim.world.removals
    removals.create_removal({"FBA-TEA": 2}, order_type="Disposal", order_id="RMV-D")
    with pytest.raises(ValueError, match="is a Disposal order"):
        removals.ship_removal("RMV-D", {"FBA-TEA": 1})
    with pytest.raises(ValueError, match="still in process"):
        removals.dispose_removal("RMV-D", {"FBA-TEA": 3})
    with pytest.raises(ValueError, match="no SKU"):
        removals.dispose_removal("RMV-D", {"FBA-MUG": 1})
    with pytest.raises(ValueError, match="no removal order"):
        removals.cancel_removal("RMV-X")
    with pytest.raises(ValueError, match="order_type"):
        removals.create_removal({"FBA-TEA": 1}, order_type="Liquidations")
    removals.dispose_removal("RMV-D", {"FBA-TEA": 2})
    assert removals.orders["RMV-D"].status == "Completed"


def test_removal_operations_through_the_control_api(sim):
    base = sim.url
    ok = requests.post(f"{base}/_sim/spapi/ops/create_removal",
                       json={"items": {"FBA-TEA": 1}, "order_id": "RMV-H"}, timeout=5)
    assert ok.status_code == 200 and ok.json()["result"]["order_id"] == "RMV-H"
    refused = requests.post(f"{base}/_sim/spapi/ops/ship_removal", json={"order_id": "RMV-H",
                                                                        "items": {"FBA-TEA": 5}}, timeout=5)
    assert refused.status_code == 400 and "still in process" in refused.text


def test_no_removal_in_the_window_is_a_cancelled_report(reports, sim):  # noqa: F811
    report, text = run_report(reports, sim, SHIPMENT_DETAIL)
    assert report["processingStatus"] == "CANCELLED" and text is None
