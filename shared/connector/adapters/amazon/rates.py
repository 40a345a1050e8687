"""Amazon's documented default usage plans (requests per second refilled, bucket size), per operation.

Source: the "Usage Plan" tables of Amazon's SP-API models. Real limits may be higher; Amazon
reports them per call in ``x-amzn-RateLimit-Limit``, but only on a best-effort basis.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: int


OPERATION_RATES: dict[str, Rate] = {
    "createReport": Rate(0.0167, 15),
    "getReport": Rate(2.0, 15),
    "getReports": Rate(0.0222, 10),
    "getReportDocument": Rate(0.0167, 15),
    "cancelReport": Rate(0.0222, 10),
    "createFeedDocument": Rate(0.5, 15),
    "createFeed": Rate(0.0083, 15),
    "getFeed": Rate(2.0, 15),
    "getFeedDocument": Rate(0.0222, 10),
    "getListingsItem": Rate(5.0, 10),
    "patchListingsItem": Rate(5.0, 5),
    "getInventorySummaries": Rate(2.0, 2),
    "getShipments": Rate(2.0, 30),
    "getShipmentItemsByShipmentId": Rate(2.0, 30),
    "getShipmentItems": Rate(2.0, 30),
    "listInboundPlans": Rate(2.0, 6),
    "getInboundPlan": Rate(2.0, 6),
    "getShipment": Rate(2.0, 6),
    "listShipmentItems": Rate(2.0, 30),
    "listInboundPlanItems": Rate(2.0, 6),
    "createDestination": Rate(1.0, 5),
    "createSubscription": Rate(1.0, 5),
    "getSubscription": Rate(1.0, 5),
    "listFinancialEventsByOrderId": Rate(0.5, 30),  # financesV0.json usage plans
    "listFinancialEvents": Rate(0.5, 30),
}

# JSON_LISTINGS_FEED has its own cap on top of createFeed: 5 submissions per 5 minutes per region,
# up to 25 000 messages per feed.
LISTINGS_FEED_MAX_MESSAGES = 25_000
LISTINGS_FEED_PER_5_MIN = 5
