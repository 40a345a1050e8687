"""SP-API simulator: REPORT/FEED_PROCESSING_FINISHED and FBA_INVENTORY_AVAILABILITY_CHANGES delivered to
an SQS queue on a moto server when processing finishes on the simulated clock."""

from __future__ import annotations

import io
import json

import boto3
import pytest
from moto.server import ThreadedMotoServer
from sp_api.api import Feeds, Reports
from sp_api.auth import access_token_client

from simulators.spapi import SpApiSimulator
from simulators.spapi.demo import DEMO_SEED, UK
from tests.spapi import amazon_for


@pytest.fixture(scope="module")
def moto_url():
    mp = pytest.MonkeyPatch()
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "eu-west-1"}.items():
        mp.setenv(key, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
    mp.undo()


@pytest.fixture
def queue(moto_url, request):
    sqs = boto3.client("sqs", endpoint_url=moto_url, region_name="eu-west-1")
    url = sqs.create_queue(QueueName=f"spapi-{request.node.name[:40].replace('[', '-').replace(']', '')}")["QueueUrl"]
    yield sqs, url
    sqs.delete_queue(QueueUrl=url)


@pytest.fixture
def sim(queue, moto_url):
    _, url = queue
    access_token_client.cache.clear()
    s = SpApiSimulator(rate_scale=1000, sqs_queue_url=url, sqs_endpoint_url=moto_url).start()
    s.seed(DEMO_SEED)
    yield s
    s.stop()


@pytest.fixture
def amazon(sim):
    return amazon_for(sim)


def drain(queue):
    sqs, url = queue
    out = []
    while True:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not msgs:
            return out
        for m in msgs:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def test_report_processing_finished_arrives_when_the_clock_passes_completion(amazon, sim, queue):
    sim.configure(notification_types=["REPORT_PROCESSING_FINISHED"])
    reports = amazon.client(Reports)
    report_id = reports.create_report(reportType="GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA",
                                      marketplaceIds=[UK]).payload["reportId"]
    assert drain(queue) == []
    sim.clock.advance(31)
    sim.tick()  # nothing ticks on its own; any request or tick() observes the clock
    (message,) = drain(queue)
    assert message["notificationType"] == "REPORT_PROCESSING_FINISHED"
    body = message["payload"]["reportProcessingFinishedNotification"]
    assert (body["reportId"], body["processingStatus"], body["sellerId"]) == (report_id, "DONE", "A1SELLER")
    assert body["reportDocumentId"] == reports.get_report(report_id).payload["reportDocumentId"]
    assert message["notificationMetadata"]["notificationId"]


def test_feed_processing_finished_and_duplicate_delivery(amazon, sim, queue):
    sim.configure(notification_types=["FEED_PROCESSING_FINISHED"], notification_duplicates=2)
    doc = json.dumps({"header": {"sellerId": "A1SELLER", "version": "2.0"}, "messages": [
        {"messageId": 1, "sku": "MFN-MUG", "operationType": "PATCH", "productType": "PRODUCT",
         "patches": [{"op": "replace", "path": "/attributes/fulfillment_availability",
                      "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 3}]}]}]}).encode()
    feeds = amazon.client(Feeds)
    _, feed = feeds.submit_feed("JSON_LISTINGS_FEED", io.BytesIO(doc), content_type="application/json")
    sim.clock.advance(31)
    status = feeds.get_feed(feed.payload["feedId"]).payload  # the request itself advances the world
    messages = drain(queue)
    assert len(messages) == 2 and messages[0] == messages[1]  # same notificationId: consumers must dedupe
    body = messages[0]["payload"]["feedProcessingFinishedNotification"]
    assert (body["feedId"], body["processingStatus"], body["resultFeedDocumentId"]) == \
        (feed.payload["feedId"], "DONE", status["resultFeedDocumentId"])


def test_fba_inventory_availability_changes_on_world_operations(sim, queue):
    sim.configure(notification_types=["FBA_INVENTORY_AVAILABILITY_CHANGES"])
    sim.world.inventory.customer_shipment("FBA-CUP", 2)
    shp = sim.world.inbound.create_inbound_shipment({"FBA-CUP": 5})
    sim.world.inbound.ship_inbound(shp.shipment_id)
    messages = drain(queue)
    assert [m["NotificationType"] for m in messages] == ["FBA_INVENTORY_AVAILABILITY_CHANGES"] * 3
    last = messages[-1]["Payload"]
    assert (last["SKU"], last["FNSKU"], last["ASIN"]) == ("FBA-CUP", "X00CUP0001", "B0CUP00001")
    by_mkt = last["FulfillmentInventoryByMarketplace"]
    assert {m["MarketplaceId"] for m in by_mkt} == {"A1F83G8C2ARO7P", "A1PA6795UKMFR9"}
    inventory = by_mkt[0]["FulfillmentInventory"]
    assert inventory["Fulfillable"] == 10
    assert inventory["InboundQuantityBreakdown"] == {"Working": 0, "Shipped": 5, "Receiving": 0}


def test_delivery_failure_does_not_break_the_api(moto_url):
    access_token_client.cache.clear()
    s = SpApiSimulator(rate_scale=1000, sqs_queue_url=f"{moto_url}/123456789012/missing-queue",
                       sqs_endpoint_url=moto_url).start()
    try:
        s.seed(DEMO_SEED)
        s.world.inventory.customer_shipment("FBA-CUP", 1)
        assert s.sqs is not None and len(s.sqs.failed) == 1
        assert s.state()["undelivered"] == 1
    finally:
        s.stop()
