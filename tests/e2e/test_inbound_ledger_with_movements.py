"""Ledger Receipts rows move stock once with both features on: the movements flow requests and applies
the ledger detail report (and leaves `Receipts` rows alone), the inbound flow releases the received units
from the same report. Stale v0 shows nothing received, so only the ledger can move them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connector.adapters.repositories import GlobalSettings, SettingsRepository
from connector.adapters.store import InboundShipment, ReportJob, StockMovement
from local.runtime import invoke
from simulators.spapi.demo import DEMO_SEED, UK
from tests.e2e.report_flows import reports_stack
from tests.e2e.test_inbound_shipments import BP_SEED, FBA, SOURCE, TEA

pytestmark = pytest.mark.e2e
EVENT = json.loads(Path("events/inbound_shipments.json").read_text())


@pytest.fixture
def stack(local_aws):
    with reports_stack(local_aws, bp_seed=BP_SEED, amazon_seed=DEMO_SEED, links=[(UK, "FBA-TEA", TEA, "FBA")],
                       clear=(StockMovement, ReportJob, InboundShipment)) as stack:
        SettingsRepository().save_global(GlobalSettings(fba_warehouse_id=FBA, inbound_source_warehouse_id=SOURCE))
        yield stack


def test_ledger_receipts_move_stock_once_with_the_movements_flow_on(stack):
    bp, amazon = stack.bp, stack.amazon
    shp = amazon.world_op("create_inbound_shipment", items={"FBA-TEA": 5}, shipment_id="FBA8BOTH")
    amazon.world_op("ship_inbound", shipment_id=shp.shipment_id)
    invoke("InboundShipmentsFunction", EVENT)
    amazon.world_op("stale_inbound_v0", shipment_id=shp.shipment_id, received={})
    amazon.world_op("receive_inbound", shipment_id=shp.shipment_id, items={"FBA-TEA": 5})
    stack.report_cycle()  # the movements flow requests the ledger, Amazon finishes it, it is applied
    assert any(j.report_type == "GET_LEDGER_DETAIL_VIEW_DATA" and j.status == "applied" for j in ReportJob.scan())
    assert bp.figures(TEA, FBA) == {"inStock": 0, "onHand": 0, "allocated": 0, "inTransit": 5}  # not by movements
    invoke("InboundShipmentsFunction", EVENT)
    assert bp.figures(TEA, FBA) == {"inStock": 5, "onHand": 5, "allocated": 0, "inTransit": 0}
    for _ in range(2):  # more reports holding the same rows, more runs: nothing moves again
        stack.report_cycle()
        invoke("InboundShipmentsFunction", EVENT)
    assert bp.figures(TEA, FBA) == {"inStock": 5, "onHand": 5, "allocated": 0, "inTransit": 0}
    assert [e.body["corrections"] for e in bp.requests(route="post-stock-correction")] == []
    assert len(bp.requests(route="post-quarantine-release")) == 1
