"""The platforms' documented limits the benchmarks' lower bounds are derived from (never the project's own
batch constants), and the Lambda limits each job is measured against (read from template.yaml).

Every figure names its source. Where a platform documents no limit for the operation the connector uses,
the nearest documented one is taken and the gap is said (``UNDOCUMENTED``), so the bound stays a bound a
faster connector could actually reach, not one the current code happens to meet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

# ---------------------------------------------------------------- Brightpearl
# 200 requests per rolling minute per account (private apps share one pool):
# https://www.brightpearl.com/developer/latest/concept/index.html ("Request throttling") and the
# project's contract /work/shared/contracts/brightpearl.md §2 (recorded from the same page).
BP_REQUESTS_PER_MINUTE = 200
# GET by ID set: "we limit the number of products you can request using the GET message ... The limit for
# one request is currently set to 200 products" — https://api-docs.brightpearl.com/product/product/options.html
# (the same 200 for sales orders: https://api-docs.brightpearl.com/order/sales-order/options.html, contacts:
# https://api-docs.brightpearl.com/contact/contact/options.html). That 200 is documented for product GET
# (bundle reads), not for Product Availability.
BP_IDS_PER_GET = 200
# Product Availability GET (https://api-docs.brightpearl.com/warehouse/product-availability/get.html) documents
# no cap of its own. The project's contract (/work/shared/contracts/brightpearl.md §4a "Availability", the
# availability note of §8a): "Keep ID sets ≤ 100 ids per call (long URIs fail with 414; exact limit
# unconfirmed)". The stricter plausible limit is taken, as the simulator enforces it (MAX_IDS = 100 in
# simulators/brightpearl/world.py), instead of pretending the product GET's 200 is documented here.
BP_AVAILABILITY_IDS = 100
# product-search pages: pageSize up to 500 (contract §8, "max 500"; the simulator enforces the same).
BP_SEARCH_PAGE = 500

# ---------------------------------------------------------------- Amazon SP-API
# (rate per second, burst): the "Usage Plan" tables in Amazon's models (amzn/selling-partner-api-models,
# copies in tests/contracts/sp-api/models/) and https://developer-docs.amazon.com/sp-api/docs/feeds-api-rate-limits,
# https://developer-docs.amazon.com/sp-api/docs/listings-items-api-rate-limits.
SP_RATES: dict[str, tuple[float, int]] = {
    "createReport": (0.0167, 15), "getReport": (2.0, 15), "getReports": (0.0222, 10),
    "getReportDocument": (0.0167, 15),
    "createFeedDocument": (0.5, 15), "createFeed": (0.0083, 15), "getFeed": (2.0, 15), "getFeedDocument": (0.0222, 10),
    "getFeeds": (0.0222, 10),
    "getListingsItem": (5.0, 10), "patchListingsItem": (5.0, 5),
    "getInventorySummaries": (2.0, 2),
    "getShipments": (2.0, 30), "getShipmentItemsByShipmentId": (2.0, 30), "getShipmentItems": (2.0, 30),
    "listInboundPlans": (2.0, 6), "getInboundPlan": (2.0, 6), "getShipment": (2.0, 30), "listShipmentItems": (2.0, 30),
}
# Inbound receipts, the reads a connector needs per run to see receipts (fulfillmentInboundV0.json,
# fulfillmentInbound_2024-03-20.json in Amazon's models): each open shipment's items once
# (getShipmentItemsByShipmentId, the only per-shipment QuantityReceived; one answer, no NextToken), the open
# shipments once (getShipments by ShipmentStatusList; its page size is not documented: one call counted), the
# newest ledger report once (getReports: the received figure of shipments v0 shows no items for,
# amzn/selling-partner-api-models#558) and the 2024-03-20 plans updated lately (listInboundPlans, pageSize at
# most 30). A plan's getInboundPlan / getShipment are needed only until its placement is confirmed
# (confirmPlacementOption: "Once confirmed, it cannot be changed for the Inbound Plan"), not every run.
# getShipmentItems by DATE_RANGE could read many shipments' items per call, but its page size is not documented
# nor whether receiving moves an item's LastUpdated, so the bound keeps one items read per open shipment.
INBOUND_PLANS_PAGE = 30
# JSON_LISTINGS_FEED: up to 25 000 messages per feed, 5 feed submissions per 5 minutes per region (own limit,
# beside createFeed's): https://developer-docs.amazon.com/sp-api/changelog/update-feed-size-and-rate-limit-changes-for-the-json_listings_feed
LISTINGS_FEED_MESSAGES = 25_000
LISTINGS_FEEDS_PER_5_MIN = 5
# Feed documents: keep under 10 MiB (https://developer-docs.amazon.com/sp-api/docs/feeds-api-best-practices).
FEED_DOCUMENT_BYTES = 10 * 1024 * 1024
# getInventorySummaries: up to 50 sellerSkus per call, 50 summaries per page
# (https://developer-docs.amazon.com/sp-api/docs/get-fba-inventory-summaries); the simulator's page is 50 too.
INVENTORY_PAGE = 50
# A report costs at least createReport + getReportDocument: REPORT_PROCESSING_FINISHED carries the document
# id, so no getReport is needed, and the download itself is a presigned S3 URL with no SP-API quota
# (https://developer-docs.amazon.com/sp-api/docs/reports-api-v2021-06-30-reference,
# notifications/ReportProcessingFinishedNotification.json in Amazon's models).
REPORT_CALLS = 2
# A feed costs at least createFeedDocument + createFeed + getFeedDocument (FEED_PROCESSING_FINISHED carries
# resultFeedDocumentId, so no getFeed): notifications/FeedProcessingFinishedNotification.json.
FEED_CALLS = 3

# ---------------------------------------------------------------- AWS
# SES v1 SendRawEmail (what the connector calls): 10 MB per message after base64 encoding —
# https://docs.aws.amazon.com/ses/latest/dg/quotas.html
SES_MESSAGE_BYTES = 10 * 1000 * 1000
# SQS message: 256 KiB — https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html
SQS_MESSAGE_BYTES = 256 * 1024
# DynamoDB item: 400 KB — https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html
DYNAMODB_ITEM_BYTES = 400 * 1024
# Latency charged per DynamoDB call in the simulated wall time. AWS promises "single-digit millisecond"
# latency (https://aws.amazon.com/dynamodb/); 5 ms is an assumption inside that promise, said in the output.
DYNAMODB_CALL_SECONDS = 0.005

# ---------------------------------------------------------------- goals (issue 14)
DDB_PER_ITEM_GOAL = 0.1  # DynamoDB calls per changed listing / per movement
PLATFORM_RATIO_GOAL = 1.1  # platform calls against the documented lower bound
HEADROOM = 0.30  # time and memory: at most 70 % of the Lambda's configured timeout / memory


def bp_reads(ids: int) -> int:
    """Fewest GETs that read ``ids`` products by ID set."""
    return math.ceil(ids / BP_IDS_PER_GET) if ids else 0


def availability_reads(ids: int) -> int:
    """Fewest Product Availability GETs for ``ids`` products (100 per call, unconfirmed: see above)."""
    return math.ceil(ids / BP_AVAILABILITY_IDS) if ids else 0


def inbound_calls(open_shipments: int, plans_updated: int) -> int:
    """Fewest SP-API calls of one inbound run (see INBOUND_PLANS_PAGE above)."""
    return open_shipments + 1 + 1 + max(1, math.ceil(plans_updated / INBOUND_PLANS_PAGE))


def feeds_for(messages: int) -> int:
    return math.ceil(messages / LISTINGS_FEED_MESSAGES) if messages else 0


def bp_seconds(requests: int) -> float:
    """Seconds Brightpearl's rolling window needs for ``requests`` (the first minute's 200 are free)."""
    return max(0, requests - BP_REQUESTS_PER_MINUTE) * 60 / BP_REQUESTS_PER_MINUTE


def sp_seconds(calls_by_operation: dict[str, int], feeds: int = 0) -> float:
    """Seconds Amazon's token buckets need for these calls (burst free, then the documented rate), plus the
    JSON_LISTINGS_FEED pacing (5 per 5 minutes). Operations without a documented rate count 0."""
    total = 0.0
    for op, n in calls_by_operation.items():
        rate, burst = SP_RATES.get(op, (0.0, 0))
        if rate:
            total += max(0, n - burst) / rate
    total += max(0, feeds - LISTINGS_FEEDS_PER_5_MIN) * 300 / LISTINGS_FEEDS_PER_5_MIN
    return total


@dataclass(frozen=True)
class LambdaLimits:
    timeout_s: int
    memory_mb: int


@cache
def lambda_limits(function_id: str) -> LambdaLimits:
    """The function's Timeout and MemorySize from template.yaml (its own, else the Globals)."""
    from local.aws import load_template

    template = load_template()
    glob = template["Globals"]["Function"]
    props = template["Resources"][function_id]["Properties"]
    return LambdaLimits(int(props.get("Timeout", glob.get("Timeout", 3))),
                        int(props.get("MemorySize", glob.get("MemorySize", 128))))
