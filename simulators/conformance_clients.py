"""The conformance run's first check: every routed operation driven with Amazon's own SDK
(``amzn-sp-api``) and with python-amazon-sp-api, each pointed at the simulator."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from simulators.conformance_base import (
    CLIENTS,
    JSON,
    NOT_SP_API,
    PATCH_BODY,
    SELLER,
    Result,
    _arn,
    _listings_feed,
    prepare,
)
from simulators.spapi import SpApiSimulator
from simulators.spapi import notifications_api as napi
from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, UK

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
                "notif": spapi.NotificationsApi(seller), "notif_grantless": spapi.NotificationsApi(grantless),
                "finances": spapi.FinancesV0Api(seller)}

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
        "listFinancialEventsByOrderId": lambda a, c: _one(a["finances"].list_financial_events_by_order_id(
            c["orderId"]).payload.financial_events.refund_event_list),
        "listFinancialEvents": lambda a, c: _one(a["finances"].list_financial_events(
            posted_after=c["since"].isoformat()).payload.financial_events.refund_event_list),
    }
    return make, d


def _one(events: Any) -> Any:
    if not events or len(events) != 1:
        raise AssertionError(f"expected the seeded refund event, got {events!r}")
    return events


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
                "inbound": sp.FulfillmentInboundV20240320(**kw), "notif": sp.Notifications(**kw),
                "finances": sp.Finances(**kw)}

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
        "listFinancialEventsByOrderId": lambda a, c: _one(payload(a["finances"].get_financial_events_for_order(
            c["orderId"]))["FinancialEvents"]["RefundEventList"]),
        "listFinancialEvents": lambda a, c: _one(payload(a["finances"].list_financial_events(
            PostedAfter=c["since"].isoformat()))["FinancialEvents"]["RefundEventList"]),
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
         "getSubscriptions", "getSubscriptionById", "deleteSubscriptionById", "deleteDestination",
         "listFinancialEventsByOrderId", "listFinancialEvents")


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
