"""Brightpearl stock changes (SQS): recompute and push the affected merchant-fulfilled listings.

The event source mapping coalesces a storm into large batches (template.yaml: BatchSize and a batching
window); the batch's product ids are synced together, deduplicated (one Brightpearl read per ID set of
the union, one feed above the patch threshold). At most ``PRODUCT_BUDGET`` products are worked per
invocation; the records beyond it are put back on the queue as new messages. A malformed record fails
alone; a push that fails for a passing reason hands back only the records naming its product.
"""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from connector import wiring
from connector.client_metrics import add_sum
from connector.config import StockChangeEnv
from connector.domain.idsets import IdSetError, parse_id_set
from connector.domain.webhooks import repacked, within_budget
from connector.handlers import Container, entry
from connector.observability import MetricUnit, logger, metrics
from connector.usecases.regions import products_changed

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from connector.usecases.mfn_sync import MfnSync

CONTAINER = Container(StockChangeEnv)
LEASE_KEY = "lease#stock-change"
# Products one invocation works. The storm bench measures 9.0 s of simulated time for 975 products
# (~9 ms each, ~5 of them the per-link feed bookkeeping; docs/performance.md): 2 000 keep a batch near
# 20 s, so a batch that first waited for the lease (at most 40 s, below) still ends inside its 60 s.
PRODUCT_BUDGET = 2_000

build = CONTAINER.once(wiring.mfn_sync)


@cache
def syncs() -> list[MfnSync]:
    """One sync per SP-API region (issue 16), home first: ``[build()]`` for a one-region stack."""
    regional = wiring.regions(CONTAINER.parts)
    return [build()] if len(regional) == 1 else [wiring.mfn_sync(p) for p in regional]


def _region_metrics(i: int, report: Any) -> None:
    from connector.region_metrics import region_metric

    code = wiring.region_code(wiring.regions(CONTAINER.parts)[i])
    region_metric("RegionListingsPushed", len(report.pushes), code)
    region_metric("RegionListingPushFailed", len(report.failed), code)


# built by the wiring when a batch first goes beyond its budget (boto3's import is lazy)
own_queue = CONTAINER.once(wiring.stock_change_queue)


def _one_at_a_time() -> AbstractContextManager[Any]:
    """Overlapping batches read and push one after the other (docs/architecture.md, triggers)."""
    return CONTAINER.parts.lease(LEASE_KEY, ttl=6.0, max_wait=40.0)


def _string_attributes(record: dict[str, Any]) -> dict[str, str]:
    return {k: str(v["stringValue"]) for k, v in (record.get("messageAttributes") or {}).items()
            if isinstance(v, dict) and v.get("stringValue") is not None}


def _hand_back(records: list[dict[str, Any]], ids: dict[str, list[int]]) -> list[str]:
    """Records beyond the budget, queued again as new messages (so they do not count a receive towards
    the DLQ), merged into messages of a budget's worth of ids each (``repacked``: a bulk set's hundreds of
    records cost a tenth of the calls on every hand-back); if they cannot be queued, all of them stay
    failures and come back after their visibility timeout (a product queued twice costs a read)."""
    if not records:
        return []
    try:
        messages = repacked([(json.loads(r["body"]), _string_attributes(r), ids[r["messageId"]]) for r in records],
                            PRODUCT_BUDGET)
        own_queue().send_raw([(json.dumps(body, separators=(",", ":")), attrs) for body, attrs in messages])
    except Exception:
        logger.exception("records beyond the product budget could not be queued again; they return later")
        return [r["messageId"] for r in records]
    metrics.add_metric(name="StockChangeRecordsRequeued", unit=MetricUnit.Count, value=len(records))
    return []


@entry()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    failures: list[str] = []
    parsed: list[tuple[str, list[int]]] = []
    by_id: dict[str, dict[str, Any]] = {}
    correlation_ids: list[str] = []
    for record in event.get("Records") or []:
        try:
            body = json.loads(record["body"])
            parsed.append((record["messageId"], parse_id_set(str(body["idSet"]))))
            by_id[record["messageId"]] = record
        except (ValueError, KeyError, TypeError, IdSetError, RecursionError) as exc:
            logger.error("malformed stock-change message", extra={"messageId": record.get("messageId"),
                                                                    "error": str(exc)})
            failures.append(record["messageId"])
    accepted, product_ids, beyond = within_budget(parsed, PRODUCT_BUDGET)
    for message_id in accepted:
        cid = _string_attributes(by_id[message_id]).get("correlationId")
        if cid and cid not in correlation_ids:
            correlation_ids.append(cid)
    if correlation_ids:  # every log line of this batch names the webhooks it came from (first 50)
        logger.append_keys(correlation_ids=correlation_ids[:50])
    failures.extend(_hand_back([by_id[m] for m in beyond], dict(parsed)))
    if product_ids:
        try:
            regional = syncs()  # first: the wiring binds the tables, the lease's among them (a cold container)
            with _one_at_a_time() as lease:
                add_sum("StockChangeLeaseWaitSeconds", lease.waited, MetricUnit.Seconds)
                report = products_changed(regional, product_ids, per_region=_region_metrics)
            logger.info("stock change synced", extra={"products": len(product_ids), "records": len(accepted),
                                                       "requeued": len(beyond), **report.plan,
                                                       "ignored_products": report.ignored_products,
                                                       # the reasons, not just a count (first ten SKUs)
                                                       "failures": dict(list(report.failed.items())[:10])})
            if report.retryable_failures:
                # Pushes that failed for a passing reason: SQS redelivers the records naming those
                # products (all of them when a failed bundle cannot be traced to its records); listings
                # already confirmed are not pushed again (diff-only), so only the failed ones are retried.
                retry = report.retry_products
                ids = dict(parsed)
                failures.extend(m for m in accepted if retry is None or not retry.isdisjoint(ids[m]))
        except Exception:
            logger.exception("stock change sync failed; records return to the queue")
            failures.extend(accepted)
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failures]}
