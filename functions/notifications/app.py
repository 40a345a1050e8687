"""SP-API notifications (SQS): each record routed to its use case; failures go back to the queue alone."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from connector import wiring
from connector.config import MfnSyncEnv
from connector.domain.notifications import Notification
from connector.domain.reports import SPECS_BY_TYPE
from connector.handlers import Container, entry
from connector.observability import logger, tracer
from connector.usecases.notifications import NotificationRouter

if TYPE_CHECKING:
    from connector.usecases.mfn_sync import MfnSync
    from connector.usecases.nightly import NightlyReconciliation
    from connector.usecases.report_jobs import ReportJobs

CONTAINER = Container(MfnSyncEnv)
mfn_sync = CONTAINER.once(wiring.mfn_sync)
nightly = CONTAINER.once(lambda parts: wiring.nightly(parts, sync=mfn_sync()))  # the nightly shares that sync
report_jobs = CONTAINER.once(wiring.report_jobs)


# Issue 16: the stack's other SP-API regions deliver to this queue too (each region's destination is this
# queue's ARN); a notification goes to the region that asked for its feed or report (docs/regions.md).
@cache
def other_regions() -> list[wiring.Parts]:
    """Every region's parts when the stack has several (home first); none for a one-region stack."""
    regional = wiring.regions(CONTAINER.parts)
    return regional if len(regional) > 1 else []


@cache
def region_syncs() -> dict[str, MfnSync]:
    return {wiring.region_code(p): wiring.mfn_sync(p) for p in other_regions()}


@cache
def region_nightlies() -> list[NightlyReconciliation]:
    syncs = region_syncs()
    return [wiring.nightly(p, sync=syncs[wiring.region_code(p)]) for p in other_regions()]


@cache
def region_report_jobs() -> dict[str, ReportJobs]:
    return {wiring.region_code(p): wiring.region_report_jobs(p) for p in other_regions()}


def listings_feed_finished(n: Notification) -> Any:
    p = n.payload.get("feedProcessingFinishedNotification") or {}
    sync = mfn_sync()
    if other_regions():
        from connector.usecases.regions import sync_for_feed

        sync = sync_for_feed(CONTAINER.parts.links, region_syncs(), str(p["feedId"]), CONTAINER.env.amazon_region)
    return sync.apply_feed_result(str(p["feedId"]), p.get("resultFeedDocumentId"), str(p.get("processingStatus", "")))


def listings_report_finished(n: Notification) -> Any:
    p = n.payload.get("reportProcessingFinishedNotification") or {}
    args = (str(p["reportId"]), p.get("reportDocumentId"), str(p.get("processingStatus", "")))
    if not other_regions():
        return nightly().report_finished(*args)
    for each in region_nightlies():  # each looks at its own scopes' report ids first (no Amazon call)
        done = each.report_finished(*args)
        if done is not None:
            return done
    return None


def movements_report_finished(n: Notification) -> Any:
    """A movements report is ready: its job is looked up first, so a stranger's report builds no client."""
    from connector.usecases.report_jobs import report_finished

    p = n.payload.get("reportProcessingFinishedNotification") or {}
    if other_regions():
        from connector.usecases.regions import region_of_job

        job: Any = CONTAINER.parts.report_jobs_store.by_report_id(str(p["reportId"]))
        if job is None:
            return "unknown report"
        code = region_of_job(job.job_id, region_report_jobs(), CONTAINER.env.amazon_region)
        return region_report_jobs()[code].advance(job, str(p.get("processingStatus", "")), p.get("reportDocumentId"))
    return report_finished(CONTAINER.parts.report_jobs_store, report_jobs, str(p["reportId"]),
                           str(p.get("processingStatus", "")), p.get("reportDocumentId"))


def fba_report_finished(n: Notification) -> Any:
    """The FBA reconciliation's MYI report is ready: recorded, so its poll needs no getReport."""
    from connector.usecases.fba_report_ready import record_ready

    p = n.payload.get("reportProcessingFinishedNotification") or {}
    store = wiring.reconciliation_store(CONTAINER.parts)
    return record_ready(store, str(p["reportId"]), str(p.get("processingStatus", "")), p.get("reportDocumentId"))


def _report_type(n: Notification) -> str:
    return str((n.payload.get("reportProcessingFinishedNotification") or {}).get("reportType", ""))


def _feed_type(n: Notification) -> str:
    return str((n.payload.get("feedProcessingFinishedNotification") or {}).get("feedType", ""))


# Report failures item by item even when all fail: the queue retries exactly those (then the DLQ).
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
ROUTER = NotificationRouter()
# Registrations: one line per notification type (narrowed with ``when=`` where types are shared).
ROUTER.register("FEED_PROCESSING_FINISHED", listings_feed_finished,
                when=lambda n: _feed_type(n) == "JSON_LISTINGS_FEED")
ROUTER.register("REPORT_PROCESSING_FINISHED", listings_report_finished,
                when=lambda n: _report_type(n) == "GET_MERCHANT_LISTINGS_ALL_DATA")
ROUTER.register("REPORT_PROCESSING_FINISHED", movements_report_finished,
                when=lambda n: _report_type(n) in SPECS_BY_TYPE)
ROUTER.register("REPORT_PROCESSING_FINISHED", fba_report_finished,
                when=lambda n: _report_type(n) == "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA")


@tracer.capture_method
def record_handler(record: SQSRecord) -> Any:
    # One line per notification with its body (ids and statuses, no secrets): what Amazon sent can be
    # found in the log, and `connector setup check` follows its probe report through here.
    logger.info("notification received", extra={"messageId": record.message_id, "body": record.body[:2000]})
    return ROUTER.handle_body(record.body)


@entry()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                         context=context))
