"""Inbound scenario controls of both simulators, over real HTTP: stale v0 items (SP-API), a long
transfer history and Goods-Out Note DELETE (Brightpearl)."""

from __future__ import annotations

import itertools
import time

import pytest
import requests
from sp_api.api import FulfillmentInbound

from simulators.brightpearl import BrightpearlSimulator
from simulators.brightpearl.history import seed_transfer_history
from simulators.spapi import SpApiSimulator
from tests.spapi import amazon_for, fresh_spapi

MAIN, FBA = 2, 3
BP_SEED = {
    "warehouses": [{"id": MAIN, "name": "Main", "defaultLocationId": 2, "quarantineLocationId": 9},
                   {"id": FBA, "name": "FBA", "defaultLocationId": 3, "quarantineLocationId": 10}],
    "products": [{"id": 1007, "sku": "TEA", "name": "Tea"}],
    "stock": [{"productId": 1007, "warehouseId": MAIN, "onHand": 20}],
}


@pytest.fixture(scope="module")
def spapi():
    s = SpApiSimulator(rate_scale=1000).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def bp_server():
    s = BrightpearlSimulator().start()
    yield s
    s.stop()


@pytest.fixture
def bp(bp_server):
    bp_server.reset()
    bp_server.seed(BP_SEED)
    return bp_server


def api(bp, method, path, body=None):
    return requests.request(method, f"{bp.api_url}/{path}", json=body, headers=bp.private_headers(), timeout=10)


def test_stale_v0_shows_less_zero_or_nothing_while_the_ledger_has_the_truth(spapi):
    sim = fresh_spapi(spapi, speed=1)
    v0 = amazon_for(sim).client(FulfillmentInbound)
    shp = sim.world_op("create_inbound_shipment", items={"FBA-TEA": 10, "FBA-CUP": 4}, shipment_id="FBA1STALE")
    sim.world_op("ship_inbound", shipment_id=shp.shipment_id)
    sim.world_op("stale_inbound_v0", shipment_id=shp.shipment_id, received={"FBA-TEA": 3})
    sim.world_op("receive_inbound", shipment_id=shp.shipment_id, items={"FBA-TEA": 10, "FBA-CUP": 4})

    def v0_received():
        rows = v0.shipment_items_by_shipment(shp.shipment_id).payload["ItemData"]
        return {r["SellerSKU"]: r["QuantityReceived"] for r in rows}

    assert v0_received() == {"FBA-TEA": 3, "FBA-CUP": 0}
    receipts = [e for e in sim.world.ledger if e.event_type == "Receipts" and e.reference_id == shp.shipment_id]
    assert sorted((e.sku, e.quantity) for e in receipts) == [("FBA-CUP", 4), ("FBA-TEA", 10)]
    sim.world_op("stale_inbound_v0", shipment_id=shp.shipment_id, hide=True)
    assert v0.shipment_items_by_shipment(shp.shipment_id).payload["ItemData"] == []
    sim.world_op("stale_inbound_v0", shipment_id=shp.shipment_id, fresh=True)
    assert v0_received() == {"FBA-TEA": 10, "FBA-CUP": 4}
    with pytest.raises(ValueError, match="no SKUs"):
        sim.world_op("stale_inbound_v0", shipment_id=shp.shipment_id, received={"NOPE": 1})


def test_12000_transfers_with_gaps_seed_fast_and_read_by_id_set(bp):
    t0 = time.perf_counter()
    out = seed_transfer_history(bp, 12_000, source=MAIN, target=FBA, seed=3)
    # One request seeds them all (~25 ms idle); the bound only catches seeding one transfer per request
    # (12 000 round trips), generous enough for a loaded CI machine: this is not a benchmark.
    assert time.perf_counter() - t0 < 10.0
    assert out["count"] == 12_000 and out["gaps"] > 100
    assert out["lastTransferId"] - out["firstTransferId"] + 1 > 12_000
    ids = sorted(bp.world.transfers)
    assert len(ids) == 12_000 and max(b - a for a, b in itertools.pairwise(ids)) > 200
    window = api(bp, "GET", f"warehouse-service/stock-transfer/{ids[-1] - 199}-{ids[-1]}").json()["response"]
    assert window[-1]["stockTransferId"] == ids[-1] and window[-1]["reference"] == "HIST-012000"
    assert bp.on_hand(1007, MAIN) == 20  # history moves no stock
    r = requests.post(f"{bp.url}/_sim/brightpearl/transfer-history",
                      json={"count": 5, "sourceWarehouseId": MAIN, "targetWarehouseId": FBA}, timeout=10)
    assert r.status_code == 200 and r.json()["firstTransferId"] > ids[-1]
    bad = requests.post(f"{bp.url}/_sim/brightpearl/transfer-history",
                        json={"count": 5, "sourceWarehouseId": MAIN, "targetWarehouseId": FBA, "colour": 1}, timeout=10)
    assert bad.status_code == 400 and "colour" in bad.text


def test_goods_out_note_delete_frees_the_allocation_and_refuses_shipped_notes(bp):
    tid = api(bp, "POST", f"warehouse-service/warehouse/{MAIN}/stock-transfer",
              {"targetWarehouseId": FBA, "reference": "R1"}).json()["response"]
    (gid,) = api(bp, "POST", f"warehouse-service/warehouse/{MAIN}/external-transfer",
                 {"targetWarehouseId": FBA, "stockTransferId": tid,
                  "transferredProducts": [{"productId": 1007, "quantity": 5}]}).json()["response"]
    assert bp.figures(1007, MAIN)["allocated"] == 5
    assert api(bp, "DELETE", f"warehouse-service/order/*/goods-note/goods-out/{gid}").status_code == 405
    ok = api(bp, "DELETE", f"warehouse-service/order/0/goods-note/goods-out/{gid}")
    assert ok.status_code == 200 and ok.json() == {}
    assert bp.figures(1007, MAIN) == {"inStock": 20, "onHand": 20, "allocated": 0, "inTransit": 0}
    assert api(bp, "GET", f"warehouse-service/stock-transfer/{tid}").json()["response"][0]["goodsOutNoteId"] == 0
    assert api(bp, "DELETE", f"warehouse-service/order/0/goods-note/goods-out/{gid}").status_code == 404
    (gid2,) = api(bp, "POST", f"warehouse-service/warehouse/{MAIN}/external-transfer",
                  {"targetWarehouseId": FBA, "stockTransferId": tid,
                   "transferredProducts": [{"productId": 1007, "quantity": 2}]}).json()["response"]
    api(bp, "POST", f"warehouse-service/goods-note/goods-out/{gid2}/event",
        {"events": [{"eventCode": "SHW", "occured": "2024-05-01T10:00:00Z", "eventOwnerId": 4}]})
    refused = api(bp, "DELETE", f"warehouse-service/order/0/goods-note/goods-out/{gid2}")
    assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "WHSC-013"
