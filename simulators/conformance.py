"""SP-API simulator conformance run: ``python -m simulators conformance``.

Three checks against a fresh, seeded :class:`~simulators.spapi.SpApiSimulator`:

1. every operation the simulator routes (its route names are the models' operationIds) is driven
   with **Amazon's own SDK** (``amzn-sp-api``, package ``spapi``: ``SPAPIConfig`` + ``SPAPIClient``
   with the simulator as ``endpoint`` and ``oauth_endpoint``) and with **python-amazon-sp-api** used
   plainly (its API classes, an ``AccessTokenClient`` subclass pointing at the simulator's LWA and a
   marketplace object carrying the simulator's endpoint);
2. every ``x-amzn-api-sandbox`` example (static and dynamic) of those operations in the official
   models (``tests/contracts/sp-api/``) is replayed over HTTP and the answer is validated: the status
   the example declares, and the body against that status's response schema (no undeclared fields);
3. a table: operations working per client (n of N), examples schema-valid (n of M), every failure
   with its reason. The run fails (exit 1) on any failure that is not in :data:`KNOWN_GAPS`; a known
   gap that no longer fails is printed as stale, to be removed from the list.

How sandbox examples are replayed (they were written for Amazon's sandbox, not for a world): for a
2xx example, identifiers the sandbox made up (report, feed, document, plan, shipment, destination
and subscription ids, the seller id and SKU) and marketplaces outside the simulator's region are
replaced by live ones, and placeholder paging tokens are dropped; a required parameter the example
leaves out is filled from the live world. A 4xx example is replayed with its own values, so its bad
input stays bad; what it leaves out is filled from the live world the same way (so only its bad value
is bad), except that one naming no parameter at all gets placeholder ids.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import jsonschema

from simulators.spapi import SpApiSimulator
from simulators.spapi import notifications_api as napi
from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, DEMO_SEED, REFRESH_TOKEN, UK

JSON = Any
MODELS_DIR = Path(__file__).resolve().parents[1] / "tests" / "contracts" / "sp-api"
MODEL_FILES = ("reports_2021-06-30.json", "feeds_2021-06-30.json", "listingsItems_2021-08-01.json",
               "fbaInventory.json", "fulfillmentInboundV0.json", "fulfillmentInbound_2024-03-20.json",
               "notifications.json")
NOT_SP_API = ("lwaToken", "uploadDocument", "downloadDocument", "downloadDocumentMirror")  # LWA, S3-style document URLs
SELLER = "A1SELLER"
CLIENTS = ("amzn-sp-api", "python-amazon-sp-api")

LISTINGS = ("listings: by default the simulator answers as production does (unknown SKU: get 404 NOT_FOUND, "
            "patch ACCEPTED as an offer-only listing); the sandbox's BadSKU 400 is "
            "configure(listing_not_found_status=400), and the connector reads 404 and 400 alike")
INBOUND = ("inbound: an unknown plan or shipment answers 404 NotFound where the model's sandbox example answers "
           "400; not modelled yet (which one production answers is not documented)")
# Known gaps, each with why. Keys: ("op", client, operationId) or
# ("example", operationId, "<status>#<index>"). A listed item that passes is reported as stale.
KNOWN_GAPS: dict[tuple[str, str, str], str] = {
    ("example", "getListingsItem", "400#0"): LISTINGS,  # a bad SKU answers 404 NotFound
    ("example", "patchListingsItem", "400#0"): LISTINGS,  # a bad SKU patch answers 200 INVALID
    ("example", "getInboundPlan", "400#0"): INBOUND,
    ("example", "listInboundPlanItems", "400#0"): INBOUND,
    ("example", "listShipmentItems", "400#0"): INBOUND,
    ("example", "getShipment", "400#0"): INBOUND,
}
# Sandbox examples that cannot describe a live answer, with the rule they break.
NOT_REPLAYABLE: dict[tuple[str, str], str] = {
    ("createFeed", "202#0"): "feed type POST_PRODUCT_DATA is retired (XML listings feeds; the simulator refuses "
                             "it with 400 as Amazon does since the JSON_LISTINGS_FEED migration)",
    ("getShipments", "200#0"): "QueryType SHIPMENT without ShipmentStatusList or ShipmentIdList (the model's "
                               "parameter descriptions require one of them)",
    ("getShipmentItems", "200#0"): "QueryType SHIPMENT is not in getShipmentItems' QueryType enum",
    ("getShipmentItems", "200#1"): "QueryType SHIPMENT is not in getShipmentItems' QueryType enum",
}
TOKEN_PARAMS = ("nextToken", "NextToken", "paginationToken")


# ====================================================================== models
@dataclass
class ModelOp:
    operation_id: str
    method: str
    path: str
    spec: JSON  # the operation object
    definitions: JSON
    model: str

    @property
    def parameters(self) -> dict[str, JSON]:
        return {p["name"]: p for p in self.spec.get("parameters", [])}


def load_models() -> dict[str, ModelOp]:
    ops: dict[str, ModelOp] = {}
    for name in MODEL_FILES:
        spec = json.loads((MODELS_DIR / name).read_text(encoding="utf-8"))
        for path, item in spec["paths"].items():
            for method, op in item.items():
                if isinstance(op, dict) and "operationId" in op:
                    ops[op["operationId"]] = ModelOp(op["operationId"], method.upper(), path, op,
                                                     spec["definitions"], name)
    return ops


def _undeclared(schema: JSON, instance: JSON, defs: JSON, where: str = "") -> list[str]:
    """Properties the model does not declare (jsonschema alone lets them through)."""
    if isinstance(schema, dict) and "$ref" in schema:
        return _undeclared(defs[schema["$ref"].split("/")[-1]], instance, defs, where)
    if not isinstance(schema, dict):
        return []
    out: list[str] = []
    for part in schema.get("allOf", []):
        out += _undeclared(part, instance, defs, where)
    if isinstance(instance, dict) and "properties" in schema:
        for key, value in instance.items():
            if key in schema["properties"]:
                out += _undeclared(schema["properties"][key], value, defs, f"{where}/{key}")
            elif schema.get("additionalProperties") in (None, False) and not schema.get("allOf"):
                out.append(f"{where}/{key}")
    if isinstance(instance, list) and "items" in schema:
        for i, value in enumerate(instance):
            out += _undeclared(schema["items"], value, defs, f"{where}/{i}")
    return out


def validate(op: ModelOp, status: int, body: JSON) -> list[str]:
    """Why ``body`` is not a valid ``status`` answer of ``op`` (empty when it is)."""
    response = op.spec["responses"].get(str(status))
    if response is None:
        return [f"status {status} is not declared by the model"]
    if "schema" not in response:
        return []
    schema = {**response["schema"], "definitions": op.definitions}
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = [f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}" for e in validator.iter_errors(body)]
    errors += [f"{p}: not declared by the model" for p in _undeclared(response["schema"], body, op.definitions)]
    return errors


# ====================================================================== results
@dataclass
class Result:
    kind: str  # "op" or "example"
    subject: str  # client name, or the example's "<status>#<index>"
    operation: str
    ok: bool
    reason: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.subject, self.operation) if self.kind == "op" else \
            (self.kind, self.operation, self.subject)


@dataclass
class Report:
    operations: list[str]
    results: list[Result] = field(default_factory=list)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # not-replayable examples

    def working(self, client: str) -> int:
        return sum(r.ok for r in self.results if r.kind == "op" and r.subject == client)

    @property
    def examples(self) -> list[Result]:
        return [r for r in self.results if r.kind == "example"]

    @property
    def failures(self) -> list[Result]:
        return [r for r in self.results if not r.ok]

    @property
    def unexpected(self) -> list[Result]:
        return [r for r in self.failures if r.key not in KNOWN_GAPS]

    @property
    def stale_gaps(self) -> list[tuple[str, str, str]]:
        failing = {r.key for r in self.failures}
        return [k for k in KNOWN_GAPS if k not in failing]

    @property
    def passed(self) -> bool:
        # A stale gap is printed, not failed: another branch fixing it must not break this run.
        return not self.unexpected

    def table(self) -> str:
        n = len(self.operations)
        ex = self.examples
        lines = ["SP-API simulator conformance", "", f"{'check':<44}{'result':>10}"]
        for client in CLIENTS:
            lines.append(f"{'operations working with ' + client:<44}{f'{self.working(client)} of {n}':>10}")
        lines.append(f"{'sandbox examples schema-valid':<44}{f'{sum(r.ok for r in ex)} of {len(ex)}':>10}")
        lines.append(f"{'sandbox examples not replayable (listed)':<44}{len(self.skipped):>10}")
        if self.failures:
            lines += ["", "Failures:"]
            for r in self.failures:
                tag = f"known gap: {KNOWN_GAPS[r.key]}" if r.key in KNOWN_GAPS else "UNEXPECTED"
                lines.append(f"  [{tag}] {r.kind} {r.operation} {r.subject}: {r.reason}")
        if self.skipped:
            lines += ["", "Not replayable:"]
            lines += [f"  {op} {which}: {why}" for op, which, why in self.skipped]
        for key in self.stale_gaps:
            lines.append(f"  [STALE] known gap {key} no longer fails: remove it from KNOWN_GAPS")
        lines += ["", "PASS" if self.passed else "FAIL"]
        return "\n".join(lines)


# ====================================================================== the world the run uses
def new_simulator() -> SpApiSimulator:
    sim = SpApiSimulator(rate_scale=1000).start()
    sim.clock.set_speed(0)
    return sim


def prepare(sim: SpApiSimulator) -> dict[str, Any]:
    """Seed the world and make one of everything; returns the live ids (the run's context)."""
    sim.reset()
    sim.seed(DEMO_SEED)
    w = sim.world
    w.inventory.customer_shipment("FBA-TEA", 1)
    shp = w.inbound.create_inbound_shipment({"FBA-TEA": 5, "FBA-CUP": 2})
    w.inbound.ship_inbound(shp.shipment_id)
    w.inbound.receive_inbound(shp.shipment_id, {"FBA-TEA": 2})
    report = w.report_jobs.create_report("GET_LEDGER_DETAIL_VIEW_DATA", [UK])
    doc = w.feed_jobs.create_feed_document("application/json")
    w.document_store.upload_document(doc.document_id, json.dumps(_listings_feed()).encode(), "application/json")
    feed = w.feed_jobs.create_feed("JSON_LISTINGS_FEED", [UK], doc.document_id, {})
    sim.clock.advance(3600)
    sim.tick()
    dest = sim.notifications_api._add_destination(
        "conformance", {"sqs": {"arn": "arn:aws:sqs:eu-west-1:123456789012:conformance"}})
    return {"reportId": report.report_id, "reportDocumentId": w.reports[report.report_id].document_id,
            "feedId": feed.feed_id, "feedDocumentId": w.feeds[feed.feed_id].result_document_id,
            "inputFeedDocumentId": doc.document_id, "sellerId": SELLER, "sku": "MFN-MUG",
            "v0ShipmentId": shp.shipment_id, "inboundPlanId": shp.plan_id, "shipmentId": shp.shipment_uuid,
            "destinationId": dest.destination_id, "notificationType": "FEED_PROCESSING_FINISHED"}


def _listings_feed() -> JSON:
    return {"header": {"sellerId": SELLER, "version": "2.0"}, "messages": [
        {"messageId": 1, "sku": "MFN-MUG", "operationType": "PATCH", "productType": "PRODUCT",
         "patches": [{"op": "replace", "path": "/attributes/fulfillment_availability",
                      "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 4}]}]}]}


PATCH_BODY = {"productType": "PRODUCT", "patches": [
    {"op": "replace", "path": "/attributes/fulfillment_availability",
     "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 3}]}]}


def _arn() -> str:
    return f"arn:aws:sqs:eu-west-1:123456789012:conformance-{uuid.uuid4().hex[:12]}"


# ====================================================================== client drivers
Driver = Callable[[Any, dict[str, Any]], Any]


def _sdk_drivers() -> tuple[Callable[[SpApiSimulator], Any], dict[str, Driver]]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    import spapi
    from spapi.auth.credentials import SPAPIConfig
    from spapi.client import SPAPIClient

    root.handlers[:], root.level = handlers, level  # spapi.client calls logging.basicConfig(INFO) on import

    def make(sim: SpApiSimulator) -> Any:
        lwa = f"{sim.url}/auth/o2/token"
        seller = SPAPIClient(SPAPIConfig(CLIENT_ID, CLIENT_SECRET, refresh_token=REFRESH_TOKEN, region="EU"),
                             oauth_endpoint=lwa, endpoint=sim.url).api_client
        grantless = SPAPIClient(SPAPIConfig(CLIENT_ID, CLIENT_SECRET, region="EU", scope=napi.NOTIFICATIONS_SCOPE),
                                oauth_endpoint=lwa, endpoint=sim.url).api_client
        return {"reports": spapi.ReportsApi(seller), "feeds": spapi.FeedsApi(seller),
                "listings": spapi.ListingsApi(seller), "inventory": spapi.FbaInventoryApi(seller),
                "v0": spapi.FbaInboundV0Api(seller), "inbound": spapi.FbaInboundApi(seller),
                "notif": spapi.NotificationsApi(seller), "notif_grantless": spapi.NotificationsApi(grantless)}

    def sub_body(c: dict[str, Any]) -> JSON:
        return {"payloadVersion": "1.0", "destinationId": c["destinationId"]}

    d: dict[str, Driver] = {
        "createReport": lambda a, c: a["reports"].create_report(
            {"reportType": "GET_LEDGER_DETAIL_VIEW_DATA", "marketplaceIds": [UK]}).report_id,
        "getReport": lambda a, c: a["reports"].get_report(c["reportId"]).processing_status,
        "getReports": lambda a, c: a["reports"].get_reports(report_types=["GET_LEDGER_DETAIL_VIEW_DATA"]).reports,
        "cancelReport": lambda a, c: a["reports"].cancel_report(c["queuedReportId"]),
        "getReportDocument": lambda a, c: a["reports"].get_report_document(c["reportDocumentId"]).url,
        "createFeedDocument": lambda a, c: a["feeds"].create_feed_document(
            {"contentType": "application/json"}).feed_document_id,
        "createFeed": lambda a, c: a["feeds"].create_feed(
            {"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [UK],
             "inputFeedDocumentId": c["inputFeedDocumentId"]}).feed_id,
        "getFeed": lambda a, c: a["feeds"].get_feed(c["feedId"]).processing_status,
        "getFeeds": lambda a, c: a["feeds"].get_feeds(feed_types=["JSON_LISTINGS_FEED"]).feeds,
        "cancelFeed": lambda a, c: a["feeds"].cancel_feed(c["queuedFeedId"]),
        "getFeedDocument": lambda a, c: a["feeds"].get_feed_document(c["feedDocumentId"]).url,
        "getListingsItem": lambda a, c: a["listings"].get_listings_item(
            SELLER, c["sku"], [UK], included_data=["summaries", "fulfillmentAvailability"]).sku,
        "patchListingsItem": lambda a, c: a["listings"].patch_listings_item(SELLER, c["sku"], [UK], PATCH_BODY).status,
        "getInventorySummaries": lambda a, c: a["inventory"].get_inventory_summaries(
            "Marketplace", UK, [UK], details=True).payload.inventory_summaries,
        "getShipments": lambda a, c: a["v0"].get_shipments(
            "SHIPMENT", UK, shipment_id_list=[c["v0ShipmentId"]]).payload.shipment_data,
        "getShipmentItemsByShipmentId": lambda a, c: a["v0"].get_shipment_items_by_shipment_id(
            c["v0ShipmentId"], marketplace_id=UK).payload.item_data,
        "getShipmentItems": lambda a, c: a["v0"].get_shipment_items(
            "DATE_RANGE", UK, last_updated_after=c["since"], last_updated_before=c["until"]).payload.item_data,
        "listInboundPlans": lambda a, c: a["inbound"].list_inbound_plans().inbound_plans,
        "getInboundPlan": lambda a, c: a["inbound"].get_inbound_plan(c["inboundPlanId"]).status,
        "listInboundPlanItems": lambda a, c: a["inbound"].list_inbound_plan_items(c["inboundPlanId"]).items,
        "getShipment": lambda a, c: a["inbound"].get_shipment(c["inboundPlanId"], c["shipmentId"]).status,
        "listShipmentItems": lambda a, c: a["inbound"].list_shipment_items(c["inboundPlanId"], c["shipmentId"]).items,
        "createDestination": lambda a, c: a["notif_grantless"].create_destination(
            {"name": "sdk", "resourceSpecification": {"sqs": {"arn": _arn()}}}).payload.destination_id,
        "getDestinations": lambda a, c: a["notif_grantless"].get_destinations().payload,
        "getDestination": lambda a, c: a["notif_grantless"].get_destination(c["destinationId"]).payload.name,
        "createSubscription": lambda a, c: c.__setitem__("subscriptionId", a["notif"].create_subscription(
            c["notificationType"], sub_body(c)).payload.subscription_id),
        "getSubscription": lambda a, c: a["notif"].get_subscription(c["notificationType"]).payload.subscription_id,
        "getSubscriptions": lambda a, c: a["notif"].get_subscriptions([c["notificationType"]]).payload.subscriptions,
        "getSubscriptionById": lambda a, c: a["notif_grantless"].get_subscription_by_id(
            c["subscriptionId"], c["notificationType"]).payload.destination_id,
        "deleteSubscriptionById": lambda a, c: a["notif_grantless"].delete_subscription_by_id(
            c["subscriptionId"], c["notificationType"]),
        "deleteDestination": lambda a, c: a["notif_grantless"].delete_destination(c["spareDestinationId"]),
    }
    return make, d


def _sp_api_drivers() -> tuple[Callable[[SpApiSimulator], Any], dict[str, Driver]]:
    from sp_api import api as sp
    from sp_api.auth import AccessTokenClient, access_token_client

    def make(sim: SpApiSimulator) -> Any:
        access_token_client.cache.clear()
        access_token_client.grantless_cache.clear()
        netloc = sim.url.split("//", 1)[1]

        class SimLwa(AccessTokenClient):  # the library hard-codes api.amazon.com; only the host changes
            scheme = "http://"
            host = netloc

        class SimMarketplace:  # what the library reads from a sp_api.base.Marketplaces member
            endpoint = sim.url
            marketplace_id = UK
            region = "eu-west-1"

        kw = {"marketplace": SimMarketplace, "auth_token_client_class": SimLwa,
              "credentials": {"refresh_token": REFRESH_TOKEN, "lwa_app_id": CLIENT_ID,
                              "lwa_client_secret": CLIENT_SECRET}}
        return {"reports": sp.Reports(**kw), "feeds": sp.FeedsV20210630(**kw),
                "listings": sp.ListingsItemsV20210801(**kw), "inventory": sp.Inventories(**kw),
                "v0": sp.FulfillmentInboundV0(**kw),
                "inbound": sp.FulfillmentInboundV20240320(**kw), "notif": sp.Notifications(**kw)}

    def payload(res: Any) -> Any:
        return res.payload

    d: dict[str, Driver] = {
        "createReport": lambda a, c: payload(a["reports"].create_report(
            reportType="GET_LEDGER_DETAIL_VIEW_DATA", marketplaceIds=[UK]))["reportId"],
        "getReport": lambda a, c: payload(a["reports"].get_report(c["reportId"]))["processingStatus"],
        "getReports": lambda a, c: payload(a["reports"].get_reports(reportTypes=["GET_LEDGER_DETAIL_VIEW_DATA"]))[
            "reports"],
        "cancelReport": lambda a, c: a["reports"].cancel_report(c["queuedReportId"]),
        "getReportDocument": lambda a, c: payload(a["reports"].get_report_document(c["reportDocumentId"]))["url"],
        "createFeedDocument": lambda a, c: payload(a["feeds"].create_feed_document(
            io.BytesIO(json.dumps(_listings_feed()).encode()), content_type="application/json"))["feedDocumentId"],
        "createFeed": lambda a, c: payload(a["feeds"].create_feed(
            "JSON_LISTINGS_FEED", c["inputFeedDocumentId"], marketplaceIds=[UK]))["feedId"],
        "getFeed": lambda a, c: payload(a["feeds"].get_feed(c["feedId"]))["processingStatus"],
        "getFeeds": lambda a, c: payload(a["feeds"].get_feeds(feedTypes=["JSON_LISTINGS_FEED"]))["feeds"],
        "cancelFeed": lambda a, c: a["feeds"].cancel_feed(c["queuedFeedId"]),
        # The library fetches the document too and returns its text.
        "getFeedDocument": lambda a, c: _text(a["feeds"].get_feed_document(c["feedDocumentId"])),
        "getListingsItem": lambda a, c: payload(a["listings"].get_listings_item(
            SELLER, c["sku"], includedData=["summaries", "fulfillmentAvailability"]))["sku"],
        "patchListingsItem": lambda a, c: payload(a["listings"].patch_listings_item(
            SELLER, c["sku"], body=PATCH_BODY))["status"],
        "getInventorySummaries": lambda a, c: payload(a["inventory"].get_inventory_summary_marketplace(
            details=True))["inventorySummaries"],
        "getShipments": lambda a, c: payload(a["v0"].get_shipments(
            QueryType="SHIPMENT", ShipmentIdList=c["v0ShipmentId"]))["ShipmentData"],
        "getShipmentItemsByShipmentId": lambda a, c: payload(a["v0"].shipment_items_by_shipment(
            c["v0ShipmentId"]))["ItemData"],
        "getShipmentItems": lambda a, c: payload(a["v0"].shipment_items(
            QueryType="DATE_RANGE", LastUpdatedAfter=c["since"].isoformat(),
            LastUpdatedBefore=c["until"].isoformat()))["ItemData"],
        "listInboundPlans": lambda a, c: payload(a["inbound"].list_inbound_plans())["inboundPlans"],
        "getInboundPlan": lambda a, c: payload(a["inbound"].get_inbound_plan(c["inboundPlanId"]))["status"],
        "listInboundPlanItems": lambda a, c: payload(a["inbound"].list_inbound_plan_items(c["inboundPlanId"]))["items"],
        "getShipment": lambda a, c: payload(a["inbound"].get_shipment(c["inboundPlanId"], c["shipmentId"]))["status"],
        "listShipmentItems": lambda a, c: payload(a["inbound"].list_shipment_items(
            c["inboundPlanId"], c["shipmentId"]))["items"],
        "createDestination": lambda a, c: payload(a["notif"].create_destination(name="sp-api", arn=_arn()))[
            "destinationId"],
        "getDestinations": lambda a, c: payload(a["notif"].get_destinations()),
        "getDestination": lambda a, c: payload(a["notif"].get_destination(c["destinationId"]))["name"],
        "createSubscription": lambda a, c: c.__setitem__("subscriptionId", payload(a["notif"].create_subscription(
            c["notificationType"], destination_id=c["destinationId"], payloadVersion="1.0"))["subscriptionId"]),
        "getSubscription": lambda a, c: payload(a["notif"].get_subscription(c["notificationType"]))["subscriptionId"],
        # The library has no method for getSubscriptions: its generic request path is used.
        "getSubscriptions": lambda a, c: payload(a["notif"]._request(
            "/notifications/v1/subscriptions", params={"notificationTypes": c["notificationType"], "method": "GET"},
            add_marketplace=False))["subscriptions"],
        "getSubscriptionById": lambda a, c: payload(a["notif"].get_subscription_by_id(
            c["notificationType"], c["subscriptionId"]))["destinationId"],
        "deleteSubscriptionById": lambda a, c: a["notif"].delete_notification_subscription(
            c["notificationType"], c["subscriptionId"]),
        "deleteDestination": lambda a, c: a["notif"].delete_destination(c["spareDestinationId"]),
    }
    return make, d


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise AssertionError(f"expected the document's text, got {value!r}")
    return value


# The order operations are driven in (creations before the reads that need them, deletions last).
ORDER = ("createReport", "getReport", "getReports", "cancelReport", "getReportDocument", "createFeedDocument",
         "createFeed", "getFeed", "getFeeds", "cancelFeed", "getFeedDocument", "getListingsItem", "patchListingsItem",
         "getInventorySummaries", "getShipments", "getShipmentItemsByShipmentId", "getShipmentItems",
         "listInboundPlans", "getInboundPlan", "listInboundPlanItems", "getShipment", "listShipmentItems",
         "createDestination", "getDestinations", "getDestination", "createSubscription", "getSubscription",
         "getSubscriptions", "getSubscriptionById", "deleteSubscriptionById", "deleteDestination")


def implemented_operations(sim: SpApiSimulator) -> list[str]:
    """The SP-API operations the simulator routes (its route names), in driving order."""
    names = {r.name for r in sim._routes if not r.pattern.pattern.startswith("/_sim/")} - set(NOT_SP_API)
    return sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))


def _live_context(sim: SpApiSimulator) -> dict[str, Any]:
    ctx = prepare(sim)
    w = sim.world
    ctx["queuedReportId"] = w.report_jobs.create_report("GET_LEDGER_DETAIL_VIEW_DATA", [UK]).report_id
    doc = w.feed_jobs.create_feed_document("application/json")
    w.document_store.upload_document(doc.document_id, json.dumps(_listings_feed()).encode(), "application/json")
    ctx["queuedFeedId"] = w.feed_jobs.create_feed("JSON_LISTINGS_FEED", [UK], doc.document_id, {}).feed_id
    ctx["spareDestinationId"] = sim.notifications_api._add_destination(
        "spare", {"sqs": {"arn": _arn()}}).destination_id
    ctx["since"] = sim.clock.now() - timedelta(days=1)
    ctx["until"] = sim.clock.now() + timedelta(minutes=1)
    return ctx


def _reason(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return re.sub(r"\s+", " ", text)[:300]


def drive_clients(sim: SpApiSimulator, operations: list[str]) -> list[Result]:
    results: list[Result] = []
    for client, factory in zip(CLIENTS, (_sdk_drivers, _sp_api_drivers), strict=True):
        ctx = _live_context(sim)
        try:
            make, drivers = factory()
            apis = make(sim)
        except Exception as exc:  # the client cannot even be built: every operation fails with why
            results += [Result("op", client, op, False, f"client setup: {_reason(exc)}") for op in operations]
            continue
        for op in operations:
            driver = drivers.get(op)
            if driver is None:
                results.append(Result("op", client, op, False, "no driver for this operation in the conformance run"))
                continue
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    driver(apis, ctx)
            except Exception as exc:  # what the client raised is the finding
                results.append(Result("op", client, op, False, _reason(exc)))
            else:
                results.append(Result("op", client, op, True))
    return results


# ====================================================================== sandbox replay
def _examples(op: ModelOp) -> Iterator[tuple[str, str, JSON]]:
    for status, response in op.spec["responses"].items():
        sandbox = response.get("x-amzn-api-sandbox") or {}
        index = 0
        for kind in ("static", "dynamic"):
            for example in sandbox.get(kind, []):
                yield status, f"{status}#{index}", example
                index += 1


# Which live id replaces a sandbox identifier, by parameter name.
LIVE_IDS = {"reportId": "reportId", "reportDocumentId": "reportDocumentId", "feedId": "feedId",
            "feedDocumentId": "feedDocumentId", "sellerId": "sellerId", "sku": "sku",
            "inboundPlanId": "inboundPlanId", "destinationId": "destinationId", "subscriptionId": "subscriptionId"}


def _live_value(op: ModelOp, name: str, ctx: dict[str, Any]) -> Any:
    if name == "shipmentId":
        return ctx["v0ShipmentId"] if op.path.startswith("/fba/inbound/v0") else ctx["shipmentId"]
    if name == "notificationType":
        return ctx["notificationType"]
    if name == "reportId" and op.operation_id == "cancelReport":
        return ctx["queuedReportId"]
    if name == "feedId" and op.operation_id == "cancelFeed":
        return ctx["queuedFeedId"]
    if name == "destinationId" and op.operation_id == "deleteDestination":
        return ctx["spareDestinationId"]
    return ctx[LIVE_IDS[name]]


# Required parameters a 2xx example may leave out, filled from the live world.
def _defaults(op: ModelOp, ctx: dict[str, Any]) -> dict[str, Any]:
    table: dict[str, dict[str, Any]] = {
        "getListingsItem": {"marketplaceIds": [UK]},
        "patchListingsItem": {"marketplaceIds": [UK], "body": PATCH_BODY},
        "createSubscription": {"body": {"payloadVersion": "1.0", "destinationId": ctx["destinationId"]}},
        "createDestination": {"body": {"name": "sandbox", "resourceSpecification": {"sqs": {"arn": _arn()}}}},
        "getShipmentItemsByShipmentId": {"MarketplaceId": UK},
        "getSubscriptions": {"notificationTypes": [ctx["notificationType"]]},
        "createFeed": {},
    }
    return table.get(op.operation_id, {})


def _replace_marketplaces(value: Any, region: tuple[str, ...]) -> Any:
    if isinstance(value, list):
        kept = [v for v in value if v in region]
        return kept or [UK]
    return value if value in region else UK


def build_request(op: ModelOp, example: JSON, success: bool, ctx: dict[str, Any],
                  region: tuple[str, ...]) -> tuple[str, dict[str, str], JSON]:
    """(path, query, body) for replaying ``example`` of ``op``."""
    given = {k: v.get("value") for k, v in (example.get("request", {}).get("parameters") or {}).items()
             if isinstance(v, dict) and "value" in v}
    params = op.parameters
    values: dict[str, Any] = {}
    if success or given:
        values.update(_defaults(op, ctx))
    for name, value in given.items():
        if name not in params:
            continue
        if success and name in TOKEN_PARAMS:
            continue  # a sandbox paging token means nothing to a live service
        if success and params[name]["in"] == "path":
            value = _live_value(op, name, ctx)
        elif success and name in ("marketplaceIds", "MarketplaceId", "granularityId"):
            value = _replace_marketplaces(value, region)
        elif success and name == "body" and isinstance(value, dict):
            value = dict(value)
            if "marketplaceIds" in value:
                value["marketplaceIds"] = _replace_marketplaces(value["marketplaceIds"], region)
            if "inputFeedDocumentId" in value:
                value["inputFeedDocumentId"] = ctx["inputFeedDocumentId"]
            if "destinationId" in value:
                value["destinationId"] = ctx["destinationId"]
        values[name] = value
    for name, p in params.items():
        if p.get("in") == "path" and name not in values:
            # A 4xx example that names no parameter at all stands for "a bad id"; one that names some
            # keeps those bad and gets the others from the live world.
            values[name] = _live_value(op, name, ctx) if success or given else f"INVALID-{name}"
    path = op.path
    query: dict[str, str] = {}
    body: JSON = None
    for name, value in values.items():
        where = params.get(name, {}).get("in")
        if where == "path":
            path = path.replace("{" + name + "}", quote(str(value), safe=""))
        elif where == "query":
            query[name] = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        elif where == "body":
            body = value
    return path, query, body


def _token(sim: SpApiSimulator, grantless: bool) -> str:
    form = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    form.update({"grant_type": "client_credentials", "scope": napi.NOTIFICATIONS_SCOPE} if grantless else
                {"grant_type": "refresh_token", "refresh_token": REFRESH_TOKEN})
    return str(httpx.post(f"{sim.url}/auth/o2/token", data=form).json()["access_token"])


def replay_examples(sim: SpApiSimulator, operations: list[str], models: dict[str, ModelOp]
                    ) -> tuple[list[Result], list[tuple[str, str, str]]]:
    results: list[Result] = []
    skipped: list[tuple[str, str, str]] = []
    ctx = _live_context(sim)
    ctx["subscriptionId"] = sim.notifications_api._subscribe(
        "REPORT_PROCESSING_FINISHED", {"payloadVersion": "1.0", "destinationId": ctx["destinationId"]}).subscription_id
    ctx["notificationType"] = "REPORT_PROCESSING_FINISHED"
    tokens = {False: _token(sim, False), True: _token(sim, True)}
    with httpx.Client(base_url=sim.url, timeout=10) as http:
        for name in operations:
            op = models[name]
            for status, which, example in _examples(op):
                if (name, which) in NOT_REPLAYABLE:
                    skipped.append((name, which, NOT_REPLAYABLE[(name, which)]))
                    continue
                success = status.startswith("2")
                if name == "createSubscription" and success:
                    # One subscription per type: the live one must go before a 2xx create can succeed.
                    for s in list(sim.notifications_api.state.subscriptions.values()):
                        if s.notification_type == ctx["notificationType"]:
                            del sim.notifications_api.state.subscriptions[s.subscription_id]
                path, query, body = build_request(op, example, success, ctx, sim.marketplace_ids)
                headers = {"x-amz-access-token": tokens[name in napi.GRANTLESS_OPERATIONS]}
                resp = http.request(op.method, path, params=query, headers=headers,
                                    json=body if body is not None else None)
                try:
                    answer = resp.json() if resp.content else None
                except ValueError:
                    answer = resp.text
                problems = [] if str(resp.status_code) == status else [
                    f"answered {resp.status_code}, the example declares {status}: {json.dumps(answer)[:200]}"]
                problems += validate(op, resp.status_code, answer) if not problems else []
                results.append(Result("example", which, name, not problems, "; ".join(problems)))
                if name == "createSubscription" and resp.status_code == 200 and isinstance(answer, dict):
                    ctx["subscriptionId"] = answer["payload"]["subscriptionId"]
    return results, skipped


# ====================================================================== the run
def _route_problem(sim: SpApiSimulator, name: str, models: dict[str, ModelOp]) -> str:
    """Why the route called ``name`` is not the model operation of that operationId ('' when it is)."""
    op = models.get(name)
    if op is None:
        return "route name is not an operationId of any model"
    sample = re.sub(r"\{[^}]+\}", "X1", op.path)
    routes = [r for r in sim._routes if r.name == name]
    if not any(r.method == op.method and r.pattern.match(sample) for r in routes):
        return f"route does not serve {op.method} {op.path} (the model's {op.model})"
    return ""



def run(sim: SpApiSimulator | None = None) -> Report:
    owned = sim is None
    sim = sim or new_simulator()
    try:
        models = load_models()
        operations = implemented_operations(sim)
        report = Report(operations)
        for op in operations:
            problem = _route_problem(sim, op, models)
            if problem:
                report.results.append(Result("op", "model", op, False, problem))
        operations = [op for op in operations if not _route_problem(sim, op, models)]
        report.results += drive_clients(sim, operations)
        examples, report.skipped = replay_examples(sim, operations, models)
        report.results += examples
        return report
    finally:
        if owned:
            sim.stop()


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    report = run()
    print(report.table())
    print(f"({time.monotonic() - started:.1f} s)")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
