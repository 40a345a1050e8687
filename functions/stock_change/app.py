"""Brightpearl stock changes (SQS): recompute and push the affected merchant-fulfilled listings.

The batch's product ids are synced together (one Brightpearl read per ID set, not per message);
a malformed record fails alone, and if the sync itself fails every record goes back to the queue.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from connector import wiring
from connector.adapters.lease import HeartbeatLease
from connector.client_metrics import add_sum
from connector.config import MfnSyncEnv, load
from connector.domain.idsets import IdSetError, parse_id_set
from connector.observability import MetricUnit, logger, metrics, tracer
from connector.usecases.mfn_sync import MfnSync

ENV = load(MfnSyncEnv)
PARTS = wiring.Parts(ENV)
LEASE_KEY = "lease#stock-change"


@cache
def build() -> MfnSync:
    return wiring.mfn_sync(PARTS)


def _one_at_a_time() -> HeartbeatLease:
    """Overlapping batches read and push one after the other (docs/architecture.md, triggers)."""
    return HeartbeatLease(LEASE_KEY, ttl=6.0, max_wait=40.0)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    failures: list[str] = []
    accepted: list[str] = []
    product_ids: set[int] = set()
    correlation_ids: list[str] = []
    for record in event.get("Records") or []:
        cid = ((record.get("messageAttributes") or {}).get("correlationId") or {}).get("stringValue")
        if cid and cid not in correlation_ids:
            correlation_ids.append(cid)
        try:
            body = json.loads(record["body"])
            product_ids.update(parse_id_set(str(body["idSet"])))
            accepted.append(record["messageId"])
        except (ValueError, KeyError, TypeError, IdSetError, RecursionError) as exc:
            logger.error("malformed stock-change message", extra={"messageId": record.get("messageId"),
                                                                    "error": str(exc)})
            failures.append(record["messageId"])
    if correlation_ids:  # every log line of this batch names the webhooks it came from
        logger.append_keys(correlation_ids=correlation_ids)
    if product_ids:
        try:
            mfn = build()  # first: the wiring binds the tables, the lease's among them (a cold container)
            with _one_at_a_time() as lease:
                add_sum("StockChangeLeaseWaitSeconds", lease.waited, MetricUnit.Seconds)
                report = mfn.products_changed(product_ids)
            logger.info("stock change synced", extra={"products": len(product_ids), **report.plan,
                                                       "ignored_products": report.ignored_products,
                                                       # the reasons, not just a count (first ten SKUs)
                                                       "failures": dict(list(report.failed.items())[:10])})
            if report.retryable_failures:
                # Pushes that failed for a passing reason: let SQS redeliver; listings already
                # confirmed are not pushed again (diff-only), so only the failed ones are retried.
                failures.extend(accepted)
        except Exception:
            logger.exception("stock change sync failed; records return to the queue")
            failures.extend(accepted)
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failures]}
