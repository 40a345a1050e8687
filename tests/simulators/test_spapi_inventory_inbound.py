"""SP-API simulator: FBA Inventory v1 summaries and Fulfillment Inbound v0 / 2024-03-20, driven by
the real python-amazon-sp-api client through the production factory."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sp_api.api import FulfillmentInbound, Inventories
from sp_api.base import SellingApiBadRequestException, SellingApiNotFoundException

from simulators.spapi.demo import DE, FR, UK

# The shared fixtures (conftest.py): one item per page, so paging is exercised; real time.
SPAPI_OPTIONS = {"inventory_page_size": 1, "inbound_page_size": 1}
SPAPI_SPEED = 1


@pytest.fixture
def v0(amazon):
    return amazon.client(FulfillmentInbound)


@pytest.fixture
def v2024(amazon):
    return amazon.client(FulfillmentInbound, version="2024-03-20")


def all_summaries(inv, **kwargs):
    res = inv.get_inventory_summary_marketplace(details=True, **kwargs)
    out = list(res.payload["inventorySummaries"])
    while res.next_token:
        res = inv.get_inventory_summary_marketplace(details=True, nextToken=res.next_token, **kwargs)
        out.extend(res.payload["inventorySummaries"])
    return out


# ---------------------------------------------------------------------------- FBA inventory
def test_summaries_with_details_reflect_the_world(amazon, sim):
    sim.world.inventory.damage("FBA-TEA", 2)
    sim.world.inventory.lose("FBA-TEA", 1)
    shp = sim.world.inbound.create_inbound_shipment({"FBA-TEA": 6})
    inv = amazon.client(Inventories)
    tea = next(s for s in all_summaries(inv) if s["sellerSku"] == "FBA-TEA")
    assert (tea["asin"], tea["fnSku"], tea["productName"], tea["condition"]) == \
        ("B0TEA00001", "X00TEA0001", "Thé vert « Sencha »", "NewItem")
    d = tea["inventoryDetails"]
    assert d["fulfillableQuantity"] == 37 and d["inboundWorkingQuantity"] == 6
    assert d["reservedQuantity"]["pendingCustomerOrderQuantity"] == 2
    assert d["unfulfillableQuantity"] == {"totalUnfulfillableQuantity": 3, "customerDamagedQuantity": 1,
                                          "warehouseDamagedQuantity": 2, "distributorDamagedQuantity": 0,
                                          "carrierDamagedQuantity": 0, "defectiveQuantity": 0, "expiredQuantity": 0}
    assert d["researchingQuantity"]["totalResearchingQuantity"] == 1
    assert tea["totalQuantity"] == 37 + 3 + 2 + 1 + 6
    sim.world.inbound.ship_inbound(shp.shipment_id)
    tea = inv.get_inventory_summary_marketplace(details=True, sellerSkus=["FBA-TEA"]).payload["inventorySummaries"][0]
    details = tea["inventoryDetails"]
    assert (details["inboundWorkingQuantity"], details["inboundShippedQuantity"]) == (0, 6)


def test_pan_eu_pool_is_the_same_in_every_marketplace(amazon):
    views = []
    for mkt in (UK, DE, FR):
        inv = amazon.client(Inventories, marketplace_id=mkt)
        views.append([(s["sellerSku"], s["inventoryDetails"]) for s in all_summaries(inv)])
    assert views[0] == views[1] == views[2] and len(views[0]) == 2


def test_details_false_omits_breakdown_and_sku_filter(amazon):
    res = amazon.client(Inventories).get_inventory_summary_marketplace(sellerSkus=["FBA-CUP"])
    (cup,) = res.payload["inventorySummaries"]
    assert cup["sellerSku"] == "FBA-CUP" and "inventoryDetails" not in cup and cup["totalQuantity"] == 12


def test_next_token_pages_and_expires_after_30_seconds(amazon, sim):
    inv = amazon.client(Inventories)
    first = inv.get_inventory_summary_marketplace(details=True)
    assert len(first.payload["inventorySummaries"]) == 1 and first.next_token
    sim.clock.advance(31)
    with pytest.raises(SellingApiBadRequestException):
        inv.get_inventory_summary_marketplace(details=True, nextToken=first.next_token)


def test_marketplace_outside_the_region_is_400(amazon):
    with pytest.raises(SellingApiBadRequestException):
        amazon.client(Inventories, marketplace_id="ATVPDKIKX0DER").get_inventory_summary_marketplace()


# ---------------------------------------------------------------------------- inbound v0
def items_by_sku(v0, shipment_id):
    return {i["SellerSKU"]: i for i in v0.shipment_items_by_shipment(shipment_id).payload["ItemData"]}


def test_partial_over_and_unexpected_receipts(v0, sim):
    w = sim.world
    shp = w.inbound.create_inbound_shipment({"FBA-TEA": 10, "FBA-CUP": 5})
    w.inbound.ship_inbound(shp.shipment_id)
    w.inbound.receive_inbound(shp.shipment_id, {"FBA-TEA": 4})  # partial
    (info,) = v0.get_shipments(QueryType="SHIPMENT", ShipmentIdList=[shp.shipment_id]).payload["ShipmentData"]
    assert info["ShipmentStatus"] == "RECEIVING" and info["DestinationFulfillmentCenterId"] == "LTN1"
    assert w.inbound.inbound_quantities("FBA-TEA") == (0, 0, 6)
    w.inbound.receive_inbound(shp.shipment_id, {"FBA-CUP": 7, "MFN-MUG": 2})  # over-receipt + a SKU never shipped
    items = items_by_sku(v0, shp.shipment_id)
    assert (items["FBA-TEA"]["QuantityShipped"], items["FBA-TEA"]["QuantityReceived"]) == (10, 4)
    assert (items["FBA-CUP"]["QuantityShipped"], items["FBA-CUP"]["QuantityReceived"]) == (5, 7)
    assert (items["MFN-MUG"]["QuantityShipped"], items["MFN-MUG"]["QuantityReceived"]) == (0, 2)
    assert items["FBA-TEA"]["FulfillmentNetworkSKU"] == "X00TEA0001"
    assert w.fba["FBA-CUP"].on_hand["SELLABLE"] == 19 and w.fba["MFN-MUG"].on_hand["SELLABLE"] == 2
    w.inbound.close_inbound(shp.shipment_id)
    assert w.inbound.inbound_quantities("FBA-TEA") == (0, 0, 0)


def test_get_shipments_filters_and_next_token(v0, sim):
    w = sim.world
    a = w.inbound.create_inbound_shipment({"FBA-TEA": 1})
    b = w.inbound.create_inbound_shipment({"FBA-CUP": 1})
    c = w.inbound.create_inbound_shipment({"FBA-CUP": 2})
    w.inbound.ship_inbound(b.shipment_id)
    w.inbound.cancel_inbound(c.shipment_id)
    assert w.shipments[c.shipment_id].status == "DELETED"
    first = v0.get_shipments(QueryType="SHIPMENT", ShipmentStatusList=["WORKING", "SHIPPED", "DELETED"])
    ids = [first.payload["ShipmentData"][0]["ShipmentId"]]
    token = first.payload.get("NextToken")
    while token:
        page = v0.get_shipments(QueryType="NEXT_TOKEN", NextToken=token).payload
        ids += [s["ShipmentId"] for s in page["ShipmentData"]]
        token = page.get("NextToken")
    assert ids == [a.shipment_id, b.shipment_id, c.shipment_id]
    shipped = v0.get_shipments(QueryType="SHIPMENT", ShipmentStatusList="SHIPPED").payload["ShipmentData"]
    assert [s["ShipmentId"] for s in shipped] == [b.shipment_id]
    now = sim.clock.now()
    window = v0.get_shipments(QueryType="DATE_RANGE", LastUpdatedAfter=(now - timedelta(hours=1)).isoformat(),
                              LastUpdatedBefore=(now + timedelta(minutes=1)).isoformat(),
                              ShipmentStatusList="DELETED").payload["ShipmentData"]
    assert [s["ShipmentId"] for s in window] == [c.shipment_id]


@pytest.mark.parametrize("params", [{}, {"QueryType": "SHIPMENT"}, {"QueryType": "DATE_RANGE"},
                                    {"QueryType": "NEXT_TOKEN", "NextToken": "bogus"}])
def test_get_shipments_rejects_incomplete_queries(v0, params):
    with pytest.raises(SellingApiBadRequestException):
        v0.get_shipments(**params)


def test_get_shipment_items_by_date_range(v0, sim):
    shp = sim.world.inbound.create_inbound_shipment({"FBA-TEA": 3, "FBA-CUP": 4})
    now = sim.clock.now()
    res = v0.shipment_items(QueryType="DATE_RANGE", LastUpdatedAfter=(now - timedelta(hours=1)).isoformat(),
                            LastUpdatedBefore=(now + timedelta(minutes=1)).isoformat())
    rows = list(res.payload["ItemData"])
    token = res.payload.get("NextToken")
    while token:
        page = v0.shipment_items(QueryType="NEXT_TOKEN", NextToken=token).payload
        rows += page["ItemData"]
        token = page.get("NextToken")
    assert sorted((r["ShipmentId"], r["SellerSKU"], r["QuantityShipped"]) for r in rows) == \
        [(shp.shipment_id, "FBA-CUP", 4), (shp.shipment_id, "FBA-TEA", 3)]


def test_unknown_shipment_items_is_400(v0):
    with pytest.raises(SellingApiBadRequestException):
        v0.shipment_items_by_shipment("FBA000NOPE")


# ---------------------------------------------------------------------------- inbound 2024-03-20
def test_plan_shipment_and_items_link_to_v0_ids(v2024, v0, sim):
    shp = sim.world.inbound.create_inbound_shipment({"FBA-TEA": 8, "FBA-CUP": 2})
    sim.world.inbound.ship_inbound(shp.shipment_id)
    sim.world.inbound.receive_inbound(shp.shipment_id, {"MFN-MUG": 1})  # unexpected SKU: not a planned item
    plans = v2024.list_inbound_plans(status="SHIPPED").payload["inboundPlans"]
    assert [p["inboundPlanId"] for p in plans] == [shp.plan_id]
    plan = v2024.get_inbound_plan(shp.plan_id).payload
    (summary,) = plan["shipments"]
    assert summary["status"] == "RECEIVING"
    shipment = v2024.get_shipment(shp.plan_id, summary["shipmentId"]).payload
    assert shipment["shipmentConfirmationId"] == shp.shipment_id
    assert shipment["destination"] == {"destinationType": "AMAZON_WAREHOUSE", "warehouseId": "LTN1"}
    # The confirmation id is the v0 ShipmentId: received quantities come from v0.
    assert items_by_sku(v0, shipment["shipmentConfirmationId"])["MFN-MUG"]["QuantityReceived"] == 1
    items = v2024.list_shipment_items(shp.plan_id, summary["shipmentId"], pageSize=1)
    got = [items.payload["items"][0]["msku"]]
    got += [i["msku"] for i in v2024.list_shipment_items(
        shp.plan_id, summary["shipmentId"], pageSize=1, paginationToken=items.pagination["nextToken"]).payload["items"]]
    assert got == ["FBA-TEA", "FBA-CUP"]


def test_list_inbound_plans_filters_and_404s(v2024, sim):
    a = sim.world.inbound.create_inbound_shipment({"FBA-TEA": 1})
    b = sim.world.inbound.create_inbound_shipment({"FBA-CUP": 1})
    sim.world.inbound.cancel_inbound(b.shipment_id)
    active = v2024.list_inbound_plans(status="ACTIVE").payload["inboundPlans"]
    assert [p["inboundPlanId"] for p in active] == [a.plan_id]
    assert [p["status"] for p in v2024.list_inbound_plans(status="VOIDED").payload["inboundPlans"]] == ["VOIDED"]
    with pytest.raises(SellingApiNotFoundException):
        v2024.get_inbound_plan("wf00000000-0000-0000-0000-000000000000")
    with pytest.raises(SellingApiNotFoundException):
        v2024.get_shipment(a.plan_id, "sh00000000-0000-0000-0000-000000000000")
