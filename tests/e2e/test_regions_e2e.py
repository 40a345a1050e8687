"""Two Amazon regions in one stack (issue 16 item 1) end to end: the EU (home: AMAZON_REGION) and NA, each
its own SP-API simulator with its own port, data and refresh token, one Brightpearl and one rate budget.

Assertions are on outcomes in the simulators: each region's listing quantities, Brightpearl stock per
warehouse, and the emails SES accepted.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from connector.adapters.inbound_records import ShipmentRecords
from connector.adapters.repositories import ChannelSettings, GlobalSettings, SettingsRepository
from connector.adapters.store import InboundShipment, ReportJob, Setting, StockMovement
from local.aws import sent_emails
from local.queues import pump
from local.runtime import invoke
from local.stack import start_stack
from simulators.core import SimClock
from simulators.spapi.demo import DE, UK

pytestmark = pytest.mark.e2e

US, CA = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"
MAIN, US_DC, FBA_EU, FBA_NA, US_SOURCE = 2, 4, 7, 8, 5
SHIRT, TEA = 1007, 1020
BP_SEED = {
    "warehouses": [{"id": MAIN, "name": "Main DC", "defaultLocationId": 2, "quarantineLocationId": 9},
                   {"id": US_DC, "name": "US DC"},
                   {"id": US_SOURCE, "name": "US 3PL", "defaultLocationId": 5, "quarantineLocationId": 11},
                   {"id": FBA_EU, "name": "Amazon FBA EU", "defaultLocationId": 7, "quarantineLocationId": 12},
                   {"id": FBA_NA, "name": "Amazon FBA NA", "defaultLocationId": 8, "quarantineLocationId": 13}],
    "products": [{"id": SHIRT, "sku": "SHIRT"}, {"id": TEA, "sku": "TEA"}],
    "stock": [{"productId": SHIRT, "warehouseId": MAIN, "onHand": 40},
              {"productId": SHIRT, "warehouseId": US_DC, "onHand": 11},
              {"productId": TEA, "warehouseId": MAIN, "onHand": 30},
              {"productId": TEA, "warehouseId": US_SOURCE, "onHand": 20}],
}


@pytest.fixture(scope="module")
def stack(local_aws):
    with start_stack(aws=local_aws, marketplaces=(UK, DE), amazon_rate_scale=1000, bp_limit=100_000,
                     notifications=False, other_regions={"na": (US, CA)}) as stack:
        yield stack


@pytest.fixture
def world(stack):
    stack.clear(Setting, InboundShipment)
    na = stack.regions["na"]
    settings = SettingsRepository()
    # The EU works from Main DC into the EU FBA warehouse; NA from the US DC and the US 3PL into its own.
    settings.save_global(GlobalSettings.model_validate({
        "mfn_warehouses": [MAIN], "fba_warehouse_id": FBA_EU, "inbound_source_warehouse_id": MAIN,
        "regions": {"na": {"mfn_warehouses": [US_DC], "fba_warehouse_id": FBA_NA,
                           "inbound_source_warehouse_id": US_SOURCE}}}))
    for mid in (UK, DE, US, CA):
        settings.save_channel(mid, ChannelSettings(sync_enabled=True))
    stack.purge("StockChangeQueue")
    return stack, na


def seed(stack, na, sku):
    """Fresh worlds in both regions (the home reset last: it makes this process forget its access tokens)."""
    na.reset()
    na.seed({"listings": {sku: {"channel": "MFN", "quantity": 0, "marketplaces": [US, CA]},
                          "TEA": {"channel": "FBA", "marketplaces": [US], "fba": {"SELLABLE": 0}}}})
    stack.reset(BP_SEED, {"listings": {sku: {"channel": "MFN", "quantity": 0, "marketplaces": [UK, DE]},
                                       "TEA": {"channel": "FBA", "marketplaces": [UK], "fba": {"SELLABLE": 0}}}})
    stack.link([(UK, sku, SHIRT, "MFN"), (DE, sku, SHIRT, "MFN"), (US, sku, SHIRT, "MFN"), (CA, sku, SHIRT, "MFN"),
                (UK, "TEA", TEA, "FBA"), (US, "TEA", TEA, "FBA")])


def stock_changed(stack, *product_ids):
    stack.aws.client("sqs").send_message(QueueUrl=stack.aws.queue_url("StockChangeQueue"),
                                         MessageBody=json.dumps({"idSet": ",".join(map(str, product_ids))}))
    return pump(stack.aws, "StockChangeFunction")


SKUS = st.text(alphabet=st.sampled_from("AZaz09-_ /&+éü"), min_size=1, max_size=12).map(str.strip).filter(bool)


# Each example is a whole stock change through both regions (~1 s): few examples, no shrinking (a failure
# prints its SKU and quantities as drawn).
@settings(max_examples=4, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sku=SKUS, eu=st.integers(0, 500), na_units=st.integers(0, 500))
def test_a_sku_on_com_and_co_uk_is_pushed_in_each_region_with_that_regions_quantity(world, local_aws, sku, eu,
                                                                                    na_units):
    stack, na = world
    seed(stack, na, sku)
    stack.bp.set_on_hand(SHIRT, MAIN, eu)
    stack.bp.set_on_hand(SHIRT, US_DC, na_units)
    mail0 = len(sent_emails(local_aws))
    (result,) = stock_changed(stack, SHIRT)
    assert result["batchItemFailures"] == []
    # Each region's listings on each region's simulator, from that region's warehouses.
    assert stack.amazon.world.listings[sku].quantity == eu
    assert na.world.listings[sku].quantity == na_units
    # The EU rule held inside the EU only: one value for .co.uk and .de, and no EU warning for .com.
    assert not [m for m in sent_emails(local_aws)[mail0:] if "EU" in m["subject"]]
    # Nothing crossed: the EU simulator was never asked about a NA marketplace, nor the reverse.
    refused = [(sim.region, e.route, e.status) for sim in (stack.amazon, na) for e in sim.requests() if e.status >= 400]
    assert refused == []


def test_an_inbound_shipment_in_each_region_reaches_its_own_fba_warehouse(world):
    stack, na = world
    seed(stack, na, "SHIRT")
    eu_shp = stack.amazon.world_op("create_inbound_shipment", items={"TEA": 6}, shipment_id="FBA1EUROPE")
    na_shp = na.world_op("create_inbound_shipment", items={"TEA": 9}, shipment_id="FBA1AMERICA")
    invoke("InboundShipmentsFunction", {})
    targets = {t.reference: (t.source_warehouse_id, t.target_warehouse_id) for t in stack.bp.world.transfers.values()}
    assert targets == {"AMZ-IN-FBA1EUROPE": (MAIN, FBA_EU), "AMZ-IN-FBA1AMERICA": (US_SOURCE, FBA_NA)}
    stack.amazon.world_op("ship_inbound", shipment_id=eu_shp.shipment_id)
    na.world_op("ship_inbound", shipment_id=na_shp.shipment_id)
    invoke("InboundShipmentsFunction", {})
    na.world_op("receive_inbound", shipment_id=na_shp.shipment_id, items={"TEA": 9})
    stack.amazon.world_op("receive_inbound", shipment_id=eu_shp.shipment_id, items={"TEA": 2})
    invoke("InboundShipmentsFunction", {})
    assert stack.bp.on_hand(TEA, FBA_NA) == 9 and stack.bp.on_hand(TEA, US_SOURCE) == 11
    assert stack.bp.on_hand(TEA, FBA_EU) == 2 and stack.bp.on_hand(TEA, MAIN) == 24
    # Re-running either region moves nothing twice.
    before = len(stack.bp.requests(writes_only=True))
    invoke("InboundShipmentsFunction", {})
    assert stack.bp.requests(writes_only=True)[before:] == []
    assert {r.shipment_id for r in ShipmentRecords().open()} == {"FBA1EUROPE", "FBA1AMERICA"}


def test_each_region_simulator_refuses_the_other_regions_marketplaces(world):
    stack, na = world
    seed(stack, na, "SHIRT")
    import requests

    for sim, wrong in ((na, UK), (stack.amazon, US)):
        token = requests.post(f"{sim.url}/auth/o2/token", timeout=5, data={
            "grant_type": "refresh_token", "refresh_token": next(iter(sim.refresh_tokens)),
            "client_id": sim.client_id, "client_secret": sim.client_secret}).json()["access_token"]
        res = requests.get(f"{sim.url}/listings/2021-08-01/items/{sim.seller_id}/SHIRT", timeout=5,
                           params={"marketplaceIds": wrong}, headers={"x-amz-access-token": token})
        assert res.status_code == 400
        assert "not valid for region" in res.json()["errors"][0]["message"]


@pytest.fixture
def reports_stack(local_aws):
    """Both regions' reports on one simulated clock, their notifications on the one NotificationsQueue."""
    with start_stack(aws=local_aws, clock=SimClock(speed=0), bp_limit=10_000, amazon_rate_scale=1000,
                     movements_clock=True, other_regions={"na": (US,)}) as stack:
        na = stack.regions["na"]
        na.seed({"listings": {"TEA": {"channel": "FBA", "marketplaces": [US], "fba": {"SELLABLE": 20}}}})
        stack.reset(BP_SEED, {"listings": {"TEA": {"channel": "FBA", "marketplaces": [UK], "fba": {"SELLABLE": 30}}}})
        for sim in (stack.amazon, na):
            sim.configure(notification_types=["REPORT_PROCESSING_FINISHED"])
        stack.clear(StockMovement, ReportJob, Setting)
        stack.link([(UK, "TEA", TEA, "FBA"), (US, "TEA", TEA, "FBA")])
        SettingsRepository().save_global(GlobalSettings.model_validate({
            "fba_warehouse_id": FBA_EU, "regions": {"na": {"fba_warehouse_id": FBA_NA}}}))
        stack.bp.set_on_hand(TEA, FBA_EU, 30)
        stack.bp.set_on_hand(TEA, FBA_NA, 20)
        stack.purge("NotificationsQueue")
        yield stack, na


def test_a_lost_unit_in_the_second_region_reaches_its_own_fba_warehouse_once(reports_stack):
    stack, na = reports_stack
    na.world_op("lose", sku="TEA", quantity=3)
    stack.amazon.world_op("find", sku="TEA", quantity=1)
    stack.report_cycle(5)
    stack.report_cycle(5)
    assert (stack.bp.on_hand(TEA, FBA_NA), stack.bp.on_hand(TEA, FBA_EU)) == (17, 31)
    # Each region's reports were requested at its own endpoint, and each notification went to its region.
    assert na.world.reports and stack.amazon.world.reports
    assert not set(na.world.reports) & set(stack.amazon.world.reports)
    # Amazon delivering every notification again, and more schedules, move nothing twice.
    sqs, url = stack.aws.client("sqs"), stack.aws.queue_url("NotificationsQueue")
    for sim in (stack.amazon, na):
        for body in list(sim.notifications):
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))
    pump(stack.aws, "NotificationsFunction")
    stack.report_cycle(5)
    assert (stack.bp.on_hand(TEA, FBA_NA), stack.bp.on_hand(TEA, FBA_EU)) == (17, 31)


def test_the_operator_connects_and_switches_a_listing_in_its_own_region(world):
    stack, na = world
    seed(stack, na, "SHIRT")
    stack.link([(UK, "SHIRT", SHIRT, "MFN")])
    stack.bp.set_on_hand(SHIRT, US_DC, 13)
    # Connected by the operator on Amazon.com: read and pushed at the NA endpoint, from the US DC.
    stack.operator("connect", marketplaceId=US, sku="SHIRT")
    assert na.world.listings["SHIRT"].quantity == 13
    assert stack.amazon.world.listings["SHIRT"].quantity == 0  # the EU listing is not touched
    stack.operator("sync-off", marketplaceId=US)
    stack.bp.set_on_hand(SHIRT, US_DC, 2)
    stock_changed(stack, SHIRT)
    assert na.world.listings["SHIRT"].quantity == 13  # sync off for .com: nothing pushed there
    assert stack.amazon.world.listings["SHIRT"].quantity == 40  # .co.uk still follows Main DC
    stack.operator("sync-on", marketplaceId=US)
    assert na.world.listings["SHIRT"].quantity == 2


def test_a_disposal_in_each_region_reduces_its_own_fba_warehouse_once(reports_stack):
    stack, na = reports_stack
    na.world_op("create_removal", items={"TEA": 4}, order_type="Disposal", order_id="RMV-NA1")
    na.world_op("dispose_removal", order_id="RMV-NA1", items={"TEA": 4})
    stack.amazon.world_op("create_removal", items={"TEA": 1}, order_type="Disposal", order_id="RMV-EU1")
    stack.amazon.world_op("dispose_removal", order_id="RMV-EU1", items={"TEA": 1})
    for _ in range(2):  # the second cycle re-reads the same reports: nothing moves twice
        stack.amazon.clock.advance(5 * 3600)
        stack.invoke("RemovalsFunction", {})
        stack.amazon_finishes()
        stack.invoke("RemovalsFunction", {})
        assert (stack.bp.on_hand(TEA, FBA_NA), stack.bp.on_hand(TEA, FBA_EU)) == (16, 29)


def test_a_second_regions_fba_reconciliation_is_approved_by_its_id_into_its_own_warehouse(world):
    """The operator approves the NA reconciliation by its id alone: it is applied by the region that made
    it (its store, its FBA warehouse), once; the EU's warehouse and the EU's own reconciliation are not
    touched, and the EU's is still approved by its id."""
    stack, na = world
    seed(stack, na, "SHIRT")
    na.world_op("set_fba_stock", sku="TEA", spec={"SELLABLE": 5})  # Amazon NA counts 5; Brightpearl NA 0
    stack.amazon.world_op("set_fba_stock", sku="TEA", spec={"SELLABLE": 3})  # Amazon EU 3; Brightpearl EU 0
    out = invoke("FbaReconciliationFunction", {"action": "start"})
    ids = {code: got["id"] for code, got in ((k.removeprefix("region "), v) for k, v in out.items())}
    assert set(ids) == {"eu", "na"} and ids["eu"] != ids["na"]

    shown = stack.operator("show-reconciliation", id=ids["na"])
    assert [(ln["sku"], ln["suggested"]) for ln in shown["lines"] if ln["suggested"]] == [("TEA", 5)]
    applied = stack.operator("approve-reconciliation", id=ids["na"])
    assert applied["statuses"] == {"applied": 1}
    assert stack.bp.on_hand(TEA, FBA_NA) == 5 and stack.bp.on_hand(TEA, FBA_EU) == 0
    again = stack.operator("approve-reconciliation", id=ids["na"])
    assert again["statuses"] == {"already_applied": 1} and stack.bp.on_hand(TEA, FBA_NA) == 5

    stack.operator("approve-reconciliation", id=ids["eu"])
    assert stack.bp.on_hand(TEA, FBA_EU) == 3 and stack.bp.on_hand(TEA, FBA_NA) == 5
