"""SP-API notification envelopes and their delivery to an SQS queue.

REPORT/FEED_PROCESSING_FINISHED use the camelCase ``2020-09-04`` envelope; FBA_INVENTORY_AVAILABILITY_CHANGES
uses the PascalCase ``1.0`` envelope. The SQS message body is the notification JSON itself, as with
a real SQS destination.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime
from typing import Any

from simulators.spapi.common import iso_ms
from simulators.spapi.feeds import Feed
from simulators.spapi.reports import Report

JSON = Any
log = logging.getLogger(__name__)

REPORT_PROCESSING_FINISHED = "REPORT_PROCESSING_FINISHED"
FEED_PROCESSING_FINISHED = "FEED_PROCESSING_FINISHED"
FBA_INVENTORY_AVAILABILITY_CHANGES = "FBA_INVENTORY_AVAILABILITY_CHANGES"
ALL_TYPES = (REPORT_PROCESSING_FINISHED, FEED_PROCESSING_FINISHED, FBA_INVENTORY_AVAILABILITY_CHANGES)


def _meta(application_id: str, notification_type: str, published: datetime) -> JSON:
    return {"applicationId": application_id, "subscriptionId": f"subscription-{notification_type.lower()}",
            "publishTime": iso_ms(published), "notificationId": str(uuid.uuid4())}


def _job_finished(notification_type: str, payload_key: str, job: JSON, ended: datetime | None, *,
                  seller_id: str, application_id: str, published: datetime) -> JSON:
    """The 2020-09-04 envelope of REPORT_ or FEED_PROCESSING_FINISHED; ``job`` holds the job's own fields."""
    body = {"sellerId": seller_id, "accountId": f"amzn1.merchant.o.{seller_id}", **job}
    return {"notificationVersion": "2020-09-04", "notificationType": notification_type,
            "payloadVersion": "2020-09-04", "eventTime": iso_ms(ended or published),
            "payload": {payload_key: body},
            "notificationMetadata": _meta(application_id, notification_type, published)}


def report_finished(report: Report, *, seller_id: str, application_id: str, published: datetime) -> JSON:
    job: JSON = {"reportId": report.report_id, "reportType": report.report_type, "processingStatus": report.status}
    if report.document_id:
        job["reportDocumentId"] = report.document_id
    return _job_finished(REPORT_PROCESSING_FINISHED, "reportProcessingFinishedNotification", job,
                         report.processing_end, seller_id=seller_id, application_id=application_id,
                         published=published)


def feed_finished(feed: Feed, *, seller_id: str, application_id: str, published: datetime) -> JSON:
    job: JSON = {"feedId": feed.feed_id, "feedType": feed.feed_type, "processingStatus": feed.status}
    if feed.result_document_id:
        job["resultFeedDocumentId"] = feed.result_document_id
    return _job_finished(FEED_PROCESSING_FINISHED, "feedProcessingFinishedNotification", job, feed.processing_end,
                         seller_id=seller_id, application_id=application_id, published=published)


def inventory_changed(payload: JSON, *, application_id: str, published: datetime) -> JSON:
    meta = _meta(application_id, FBA_INVENTORY_AVAILABILITY_CHANGES, published)
    return {"NotificationVersion": "1.0", "NotificationType": FBA_INVENTORY_AVAILABILITY_CHANGES,
            "PayloadVersion": "1.0", "EventTime": iso_ms(published), "Payload": payload,
            "NotificationMetadata": {k[0].upper() + k[1:]: v for k, v in meta.items()}}


class SqsSink:
    """Sends notification bodies to one SQS queue (a moto server in tests), ``copies`` times each.

    Amazon delivers at least once; ``copies > 1`` lets tests prove the consumer dedupes on the
    notification id. Failures are kept in ``failed`` instead of breaking the SP-API call that
    happened to advance the clock.
    """

    def __init__(self, queue_url: str, *, endpoint_url: str | None = None, region: str | None = None) -> None:
        self.queue_url = queue_url
        self.endpoint_url = endpoint_url
        self.region = region or _region_of(queue_url)
        self._client: Any = None
        self.failed: list[tuple[JSON, str]] = []

    def _sqs(self) -> Any:
        if self._client is None:
            import boto3  # only needed when a queue is configured

            self._client = boto3.client("sqs", endpoint_url=self.endpoint_url, region_name=self.region)
        return self._client

    def send(self, notification: JSON, copies: int = 1) -> None:
        body = json.dumps(notification)
        for _ in range(max(1, copies)):
            try:
                self._sqs().send_message(QueueUrl=self.queue_url, MessageBody=body)
            except Exception as exc:  # any delivery problem is recorded, never raised
                log.warning("SQS delivery to %s failed: %s", self.queue_url, exc)
                self.failed.append((notification, str(exc)))


def _region_of(queue_url: str) -> str:
    # https://sqs.eu-west-1.amazonaws.com/123/q → eu-west-1; a moto URL carries no region.
    host = queue_url.split("//", 1)[-1].split("/", 1)[0]
    parts = host.split(".")
    if len(parts) > 2 and parts[0] == "sqs":
        return parts[1]
    return "eu-west-1"
