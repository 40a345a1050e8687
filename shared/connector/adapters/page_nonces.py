"""One-time form nonces of the stack's pages (issue 17), in the ``ReportJobs`` table as ``page-nonce#<n>``.

``claim`` is a conditional create: the first POST with a nonce wins, any later one (a double click, a
replayed request) finds it taken and gets the first one's result instead of applying again. Each item
carries ``expires_at`` (the table's TTL attribute): the nonce's own expiry plus a day.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist

from connector.adapters.store import ReportJob, create_if_absent

KIND = "PAGE_NONCE"
# Kept this long after the nonce (the link) expires; the page refuses an expired nonce before it looks for
# the item, so DynamoDB's TTL deleting it (lazily, any time after) never makes a form usable again.
MARGIN = timedelta(days=1)


class PageNonces:
    def claim(self, nonce: str, what: dict[str, Any], *, expires: int) -> bool:
        item = ReportJob(f"page-nonce#{nonce}", report_type=KIND, status="claimed", detail=what,
                         updated_at=datetime.now(UTC),
                         expires_at=datetime.fromtimestamp(expires, UTC) + MARGIN)
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
