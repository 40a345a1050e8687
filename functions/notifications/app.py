"""SP-API notifications (SQS): each record routed to its use case; failures go back to the queue alone."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from connector import wiring
from connector.config import MfnSyncEnv, load
from connector.domain.notifications import Notification
from connector.domain.reports import SPECS_BY_TYPE
from connector.observability import logger, metrics, tracer
from connector.usecases.mfn_sync import MfnSync
from connector.usecases.notifications import NotificationRouter

if TYPE_CHECKING:
    from connector.usecases.nightly import NightlyReconciliation
    from connector.usecases.report_jobs import ReportJobs

ENV = load(MfnSyncEnv)
PARTS = wiring.Parts(ENV)


@cache
def mfn_sync() -> MfnSync:
    return wiring.mfn_sync(PARTS)


@cache
def nightly() -> NightlyReconciliation:
    return wiring.nightly(PARTS, sync=mfn_sync())


@cache
def report_jobs() -> ReportJobs:
    return wiring.report_jobs(PARTS)


def listings_feed_finished(n: Notification) -> Any:
    p = n.payload.get("feedProcessingFinishedNotification") or {}
    return mfn_sync().apply_feed_result(str(p["feedId"]), p.get("resultFeedDocumentId"),
                                        str(p.get("processingStatus", "")))


def listings_report_finished(n: Notification) -> Any:
    p = n.payload.get("reportProcessingFinishedNotification") or {}
    return nightly().report_finished(str(p["reportId"]), p.get("reportDocumentId"),
                                     str(p.get("processingStatus", "")))


def movements_report_finished(n: Notification) -> Any:
    """A movements report is ready: its job is looked up first, so a stranger's report builds no client."""
    from connector.usecases.report_jobs import report_finished

    p = n.payload.get("reportProcessingFinishedNotification") or {}
    return report_finished(PARTS.report_jobs_store, report_jobs, str(p["reportId"]),
                           str(p.get("processingStatus", "")), p.get("reportDocumentId"))


def fba_report_finished(n: Notification) -> Any:
    """The FBA reconciliation's MYI report is ready: recorded, so its poll needs no getReport."""
    from connector.usecases.fba_report_ready import record_ready

    p = n.payload.get("reportProcessingFinishedNotification") or {}
    return record_ready(wiring.reconciliation_store(PARTS), str(p["reportId"]), str(p.get("processingStatus", "")),
                        p.get("reportDocumentId"))


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


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                         context=context))
