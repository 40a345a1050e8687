"""One-time form nonces of the stack's pages (issue 17), in the ``ReportJobs`` table as ``page-nonce#<n>``.

``claim`` is a conditional create: the first POST with a nonce wins, any later one (a double click, a
replayed request) finds it taken and gets the first one's result instead of applying again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist

from connector.adapters.store import ReportJob, create_if_absent

KIND = "PAGE_NONCE"


class PageNonces:
    def claim(self, nonce: str, what: dict[str, Any]) -> bool:
        item = ReportJob(f"page-nonce#{nonce}", report_type=KIND, status="claimed", detail=what,
                         updated_at=datetime.now(UTC))
        return create_if_absent(item, ReportJob.job_id)

    def finish(self, nonce: str, result: dict[str, Any]) -> None:
        item = ReportJob.get(f"page-nonce#{nonce}", consistent_read=True)
        item.status = "done"
        item.detail = {**(item.detail or {}), "result": result}
        item.updated_at = datetime.now(UTC)
        item.save()

    def get(self, nonce: str) -> dict[str, Any] | None:
        try:
            item = ReportJob.get(f"page-nonce#{nonce}", consistent_read=True)
        except DoesNotExist:
            return None
        return {"status": item.status, **(item.detail or {})}
