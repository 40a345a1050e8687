"""Contract tests: every SP-API simulator response the connector uses validates against the 2xx
response schema of Amazon's official model (copied into tests/contracts/sp-api/), and carries no
property the model does not declare. Notifications and the JSON_LISTINGS_FEED processing report are
checked against their published schemas."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import jsonschema
import pytest

from simulators.spapi import SpApiSimulator
from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, DEMO_SEED, REFRESH_TOKEN, UK

MODELS = Path(__file__).parent / "sp-api"
FEED_SCHEMAS = Path(__file__).parents[2] / "simulators" / "spapi" / "schemas"
SELLER = "A1SELLER"


def load(name: str) -> Any:
    return json.loads((MODELS / name).read_text(encoding="utf-8"))


def response_schema(model: str, path: str, method: str) -> tuple[dict, dict]:
    spec = load(model)
    responses = spec["paths"][path][method]["responses"]
    (code,) = [c for c in responses if c in ("200", "201", "202")]
    return {**responses[code]["schema"], "definitions": spec["definitions"]}, spec["definitions"]


def undeclared(schema: Any, instance: Any, defs: dict, where: str = "") -> list[str]:
    """Paths of properties the model does not declare (jsonschema alone lets them through)."""
    if isinstance(schema, dict) and "$ref" in schema:
        return undeclared(defs[schema["$ref"].split("/")[-1]], instance, defs, where)
    if not isinstance(schema, dict):
        return []
    out: list[str] = []
    if isinstance(instance, dict) and "properties" in schema:
        for key, value in instance.items():
            if key in schema["properties"]:
                out += undeclared(schema["properties"][key], value, defs, f"{where}/{key}")
            elif schema.get("additionalProperties") is not True:
                out.append(f"{where}/{key}")
    if isinstance(instance, list) and "items" in schema:
        for i, value in enumerate(instance):
            out += undeclared(schema["items"], value, defs, f"{where}/{i}")
    return out


def assert_conforms(model: str, path: str, method: str, body: Any) -> None:
    schema, defs = response_schema(model, path, method)
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
    assert not errors, errors
    assert undeclared(schema, body, defs) == []


@pytest.fixture(scope="module")
def sim():
    s = SpApiSimulator(rate_scale=1000).start()
    s.seed(DEMO_SEED)
    w = s.world
    w.inventory.customer_shipment("FBA-TEA", 3)
    w.inventory.customer_return("FBA-TEA", 1)
    w.inventory.lose("FBA-CUP", 1)
    w.inventory.damage("FBA-TEA", 1)
    shp = w.inbound.create_inbound_shipment({"FBA-TEA": 5, "FBA-CUP": 2})
    w.inbound.ship_inbound(shp.shipment_id)
    w.inbound.receive_inbound(shp.shipment_id, {"FBA-TEA": 2, "MFN-MUG": 1})
    s.shipment = shp  # type: ignore[attr-defined]
    yield s
    s.stop()


@pytest.fixture(scope="module")
def api(sim):
    token = httpx.post(f"{sim.url}/auth/o2/token", data={
        "grant_type": "refresh_token", "refresh_token": REFRESH_TOKEN, "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET}).json()["access_token"]
    with httpx.Client(base_url=sim.url, headers={"x-amz-access-token": token}) as client:
        yield client


def ok(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201, 202), response.text
    assert response.headers["x-amzn-RequestId"] and response.headers["x-amzn-RateLimit-Limit"]
    return response.json()


REPORTS = "reports_2021-06-30.json"
FEEDS = "feeds_2021-06-30.json"
LISTINGS = "listingsItems_2021-08-01.json"
INBOUND_V0 = "fulfillmentInboundV0.json"
INBOUND_2024 = "fulfillmentInbound_2024-03-20.json"


def test_reports_operations(api, sim):
    created = ok(api.post("/reports/2021-06-30/reports", json={
        "reportType": "GET_LEDGER_DETAIL_VIEW_DATA", "marketplaceIds": [UK],
        "dataStartTime": (sim.clock.now() - timedelta(days=1)).isoformat()}))
    assert_conforms(REPORTS, "/reports/2021-06-30/reports", "post", created)
    queued = ok(api.get(f"/reports/2021-06-30/reports/{created['reportId']}"))
    assert_conforms(REPORTS, "/reports/2021-06-30/reports/{reportId}", "get", queued)
    sim.clock.advance(31)
    report = ok(api.get(f"/reports/2021-06-30/reports/{created['reportId']}"))
    assert report["processingStatus"] == "DONE"
    assert_conforms(REPORTS, "/reports/2021-06-30/reports/{reportId}", "get", report)
    listed = ok(api.get("/reports/2021-06-30/reports", params={"reportTypes": "GET_LEDGER_DETAIL_VIEW_DATA"}))
    assert_conforms(REPORTS, "/reports/2021-06-30/reports", "get", listed)
    doc = ok(api.get(f"/reports/2021-06-30/documents/{report['reportDocumentId']}"))
    assert_conforms(REPORTS, "/reports/2021-06-30/documents/{reportDocumentId}", "get", doc)


def test_feeds_operations_and_processing_report(api, sim):
    doc = ok(api.post("/feeds/2021-06-30/documents", json={"contentType": "application/json"}))
    assert_conforms(FEEDS, "/feeds/2021-06-30/documents", "post", doc)
    feed_body = {"header": {"sellerId": SELLER, "version": "2.0"}, "messages": [
        {"messageId": 1, "sku": "MFN-MUG", "operationType": "PATCH", "productType": "PRODUCT",
         "patches": [{"op": "replace", "path": "/attributes/fulfillment_availability",
                      "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 5}]}]},
        {"messageId": 2, "sku": "MFN-MUG-BAD", "operationType": "PATCH", "productType": "PRODUCT",
         "patches": [{"op": "replace", "path": "/attributes/fulfillment_availability",
                      "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": -5}]}]}]}
    example = json.loads((FEED_SCHEMAS / "listings-feed-schema-v2.json").read_text())
    jsonschema.Draft7Validator(example).validate(feed_body)  # the feed we send is itself valid
    assert httpx.put(doc["url"], content=json.dumps(feed_body), headers={"Content-Type": "application/json"}).is_success
    created = ok(api.post("/feeds/2021-06-30/feeds", json={
        "feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [UK], "inputFeedDocumentId": doc["feedDocumentId"]}))
    assert_conforms(FEEDS, "/feeds/2021-06-30/feeds", "post", created)
    sim.clock.advance(31)
    feed = ok(api.get(f"/feeds/2021-06-30/feeds/{created['feedId']}"))
    assert_conforms(FEEDS, "/feeds/2021-06-30/feeds/{feedId}", "get", feed)
    result = ok(api.get(f"/feeds/2021-06-30/documents/{feed['resultFeedDocumentId']}"))
    assert_conforms(FEEDS, "/feeds/2021-06-30/documents/{feedDocumentId}", "get", result)
    processing = httpx.get(result["url"]).json()
    schema = json.loads((FEED_SCHEMAS / "listings-feed-processing-report-schema-v2.json").read_text())
    jsonschema.Draft7Validator(schema).validate(processing)
    assert processing["issues"][0]["sku"] == "MFN-MUG-BAD"


@pytest.mark.parametrize("sku", ["MFN-MUG", "FBA-TEA", "MFN/SLASH 1"])
def test_listings_operations(api, sku):
    path = f"/listings/2021-08-01/items/{SELLER}/{quote(sku, safe='')}"
    item = ok(api.get(path, params={"marketplaceIds": UK, "includedData": ",".join(
        ["summaries", "attributes", "issues", "offers", "fulfillmentAvailability", "procurement", "relationships",
         "productTypes"])}))
    assert_conforms(LISTINGS, "/listings/2021-08-01/items/{sellerId}/{sku}", "get", item)
    body = {"productType": "PRODUCT", "patches": [{"op": "replace", "path": "/attributes/fulfillment_availability",
                                                   "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 2}]}]}
    for params in ({"marketplaceIds": UK}, {"marketplaceIds": UK, "includedData": "identifiers,issues",
                                            "mode": "VALIDATION_PREVIEW"}):
        patched = ok(api.patch(path, params=params, json=body))
        assert_conforms(LISTINGS, "/listings/2021-08-01/items/{sellerId}/{sku}", "patch", patched)
    invalid = ok(api.patch(f"/listings/2021-08-01/items/{SELLER}/GHOST", params={"marketplaceIds": UK},
                           json={"productType": "PRODUCT", "patches": [{**body["patches"][0], "value": [
                               {"fulfillment_channel_code": "DEFAULT", "quantity": -1}]}]}))
    assert invalid["status"] == "INVALID"
    assert_conforms(LISTINGS, "/listings/2021-08-01/items/{sellerId}/{sku}", "patch", invalid)


@pytest.mark.parametrize("details", ["true", "false"])
def test_inventory_summaries(api, details):
    body = ok(api.get("/fba/inventory/v1/summaries", params={
        "granularityType": "Marketplace", "granularityId": UK, "marketplaceIds": UK, "details": details}))
    assert body["payload"]["inventorySummaries"]
    assert_conforms("fbaInventory.json", "/fba/inventory/v1/summaries", "get", body)


def test_inbound_v0_operations(api, sim):
    shp = sim.shipment
    shipments = ok(api.get("/fba/inbound/v0/shipments", params={
        "QueryType": "SHIPMENT", "MarketplaceId": UK, "ShipmentIdList": shp.shipment_id}))
    assert shipments["payload"]["ShipmentData"]
    assert_conforms(INBOUND_V0, "/fba/inbound/v0/shipments", "get", shipments)
    items = ok(api.get(f"/fba/inbound/v0/shipments/{shp.shipment_id}/items", params={"MarketplaceId": UK}))
    assert len(items["payload"]["ItemData"]) == 3
    assert_conforms(INBOUND_V0, "/fba/inbound/v0/shipments/{shipmentId}/items", "get", items)
    now = sim.clock.now()
    window = ok(api.get("/fba/inbound/v0/shipmentItems", params={
        "QueryType": "DATE_RANGE", "MarketplaceId": UK, "LastUpdatedAfter": (now - timedelta(hours=1)).isoformat(),
        "LastUpdatedBefore": (now + timedelta(hours=1)).isoformat()}))
    assert_conforms(INBOUND_V0, "/fba/inbound/v0/shipmentItems", "get", window)


def test_inbound_2024_operations(api, sim):
    shp = sim.shipment
    base = "/inbound/fba/2024-03-20/inboundPlans"
    plans = ok(api.get(base))
    assert_conforms(INBOUND_2024, base, "get", plans)
    plan = ok(api.get(f"{base}/{shp.plan_id}"))
    assert_conforms(INBOUND_2024, base + "/{inboundPlanId}", "get", plan)
    shipment = ok(api.get(f"{base}/{shp.plan_id}/shipments/{shp.shipment_uuid}"))
    assert_conforms(INBOUND_2024, base + "/{inboundPlanId}/shipments/{shipmentId}", "get", shipment)
    items = ok(api.get(f"{base}/{shp.plan_id}/shipments/{shp.shipment_uuid}/items"))
    assert_conforms(INBOUND_2024, base + "/{inboundPlanId}/shipments/{shipmentId}/items", "get", items)
    plan_items = ok(api.get(f"{base}/{shp.plan_id}/items"))
    assert_conforms(INBOUND_2024, base + "/{inboundPlanId}/items", "get", plan_items)


def test_error_bodies_match_error_list(api):
    spec = load(REPORTS)
    schema = {"$ref": "#/definitions/ErrorList", "definitions": spec["definitions"]}
    r = api.get("/reports/2021-06-30/reports/99999999999")  # well-formed, unknown (malformed ids are 400)
    assert r.status_code == 404
    jsonschema.Draft4Validator(schema).validate(r.json())
    r = httpx.get(str(api.base_url) + "/reports/2021-06-30/reports")
    assert r.status_code == 403
    jsonschema.Draft4Validator(schema).validate(r.json())


def test_notifications_match_their_schemas(api, sim):
    sim.notifications.clear()
    ok(api.post("/reports/2021-06-30/reports", json={"reportType": "GET_FBA_REIMBURSEMENTS_DATA",
                                                     "marketplaceIds": [UK]}))  # no data → CANCELLED
    ok(api.post("/reports/2021-06-30/reports", json={"reportType": "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA",
                                                     "marketplaceIds": [UK]}))
    doc = ok(api.post("/feeds/2021-06-30/documents", json={"contentType": "application/json"}))
    httpx.put(doc["url"], content=b"{}", headers={"Content-Type": "application/json"})
    ok(api.post("/feeds/2021-06-30/feeds", json={"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [UK],
                                                 "inputFeedDocumentId": doc["feedDocumentId"]}))
    sim.world.inventory.customer_shipment("FBA-CUP", 1)
    sim.clock.advance(31)
    sim.tick()
    schemas = {"REPORT_PROCESSING_FINISHED": load("ReportProcessingFinishedNotification.json"),
               "FEED_PROCESSING_FINISHED": load("FeedProcessingFinishedNotification.json"),
               "FBA_INVENTORY_AVAILABILITY_CHANGES": load("FBAInventoryAvailabilityChangeNotification.json")}
    seen = []
    for message in sim.notifications:
        kind = message.get("notificationType") or message.get("NotificationType")
        jsonschema.Draft7Validator(schemas[kind], format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER).validate(
            message)
        seen.append((kind, (message.get("payload") or {}).get("reportProcessingFinishedNotification", {}).get(
            "processingStatus")))
    assert ("REPORT_PROCESSING_FINISHED", "CANCELLED") in seen and ("REPORT_PROCESSING_FINISHED", "DONE") in seen
    assert {k for k, _ in seen} == set(schemas)
