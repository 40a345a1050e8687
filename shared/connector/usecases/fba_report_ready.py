"""The MYI report's REPORT_PROCESSING_FINISHED, recorded for the FBA reconciliation's poll.

Amazon's notification carries the report's final status and its ``reportDocumentId``; Amazon's own guide
reads the document from the notification instead of polling getReport
(https://developer-docs.amazon.com/sp-api/docs/retrieve-automatically-generated-reports;
``ReportProcessingFinishedNotification.json``). The notifications function records it beside the job
(one small item per report), and the reconciliation's poll then needs no getReport for that report. A
lost notification costs nothing but one getReport: the poll still asks Amazon for a report it has no
record of.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

JOB_KEY = "recon#job"
READY_PREFIX = "recon#report#"


class ReadyStore(Protocol):
    def item(self, key: str) -> dict[str, Any]: ...
    def set_item(self, key: str, value: dict[str, Any]) -> None: ...


def record_ready(store: ReadyStore, report_id: str, status: str, document_id: str | None) -> bool:
    """Record a finished MYI report if it is the open reconciliation's (a stranger's report is ignored)."""
    job = store.item(JOB_KEY)
    if job.get("status") != "requested" or report_id not in (job.get("reports") or {}).values():
        return False
    store.set_item(READY_PREFIX + report_id, {"status": status, "document_id": document_id})
    return True


class Ready(NamedTuple):
    status: str  # DONE / CANCELLED / FATAL, as the notification's processingStatus
    document_id: str | None


def recorded(store: ReadyStore, report_id: str) -> Ready | None:
    """The report's final status and document from its notification, None when none was recorded."""
    got = store.item(READY_PREFIX + report_id)
    return Ready(str(got["status"]), got.get("document_id")) if got.get("status") else None
