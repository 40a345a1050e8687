"""FBA reconciliations in the ``ReportJobs`` table, beside the report jobs they come from.

- ``recon#<id>``: the header (when, source, totals, approvals, email); small.
- ``recon#<id>#lines#<n>``: the lines, as compact rows (values in ``Line`` field order), cut into chunks
  well under DynamoDB's 400 KB item limit, so 20 000 SKUs are a handful of items written in one batch.
- ``recon#latest``: the id of the newest reconciliation (only the newest one may be applied).
- ``recon#job``: an open MYI inventory report request (large catalogues), until it is read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError

from connector.adapters.store import ReportJob
from connector.domain.fba_reconciliation import Line

KIND = "FBA_RECONCILIATION"
CHUNK_BYTES = 300_000
FIELDS = list(Line.__dataclass_fields__)


def _get(key: str) -> ReportJob | None:
    try:
        return ReportJob.get(key, consistent_read=True)
    except DoesNotExist:
        return None


class ReconciliationStore:
    def __init__(self, prefix: str = "") -> None:
        # Issue 16: a region other than the home one keeps its open request and its latest id apart
        # (``na#recon#job``, ``na#recon#latest``); reconciliation ids are unique, so headers are shared.
        self.prefix = prefix

    def save(self, rid: str, header: dict[str, Any], lines: list[Line]) -> None:
        chunks: list[list[list[Any]]] = [[]]
        size = 0
        for ln in lines:
            row = [getattr(ln, f) for f in FIELDS]
            n = len(json.dumps(row, ensure_ascii=False).encode("utf-8"))
            if size + n > CHUNK_BYTES and chunks[-1]:
                chunks.append([])
                size = 0
            chunks[-1].append(row)
            size += n
        now = datetime.now(UTC)
        with ReportJob.batch_write() as batch:
            for i, rows in enumerate(chunks):
                batch.save(ReportJob(f"recon#{rid}#lines#{i}", report_type=KIND, status="lines",
                                     detail={"fields": FIELDS, "rows": rows}, updated_at=now))
        # The header last: a reader that finds it finds every chunk. The id is new (time + random), so no
        # "does not exist yet" condition: botocore retrying a put whose answer was lost must not fail it.
        ReportJob(f"recon#{rid}", report_type=KIND, status="ready", detail={**header, "chunks": len(chunks)},
                  requested_at=now, updated_at=now).save(add_version_condition=False)
        self.set_item("recon#latest", {"id": rid})

    def header(self, rid: str) -> dict[str, Any] | None:
        item = _get(f"recon#{rid}")
        return dict(item.detail or {}) if item else None

    def lines(self, rid: str, chunks: int) -> list[Line]:
        keys = [f"recon#{rid}#lines#{i}" for i in range(chunks)]
        items = {i.job_id: i for i in ReportJob.batch_get(keys, consistent_read=True)}
        out: list[Line] = []
        for key in keys:
            d = items[key].detail or {}
            fields = d.get("fields") or FIELDS
            out.extend(Line.from_dict(dict(zip(fields, row, strict=False))) for row in d.get("rows") or [])
        return out

    def latest(self) -> str | None:
        return self.item("recon#latest").get("id")

    def update_header(self, rid: str, fn: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        """Change the header with optimistic locking (two approvals at once both land)."""
        for _ in range(20):
            item = _get(f"recon#{rid}")
            if item is None:
                raise KeyError(rid)
            item.detail = fn(dict(item.detail or {}))
            item.updated_at = datetime.now(UTC)
            try:
                item.save()
                return dict(item.detail)
            except PutError as exc:
                if exc.cause_response_code != "ConditionalCheckFailedException":
                    raise
        raise RuntimeError(f"could not update reconciliation {rid}: too much contention")

    def item(self, key: str) -> dict[str, Any]:
        got = _get(self.prefix + key)
        return dict(got.detail or {}) if got else {}

    def set_item(self, key: str, value: dict[str, Any]) -> None:
        key = self.prefix + key
        item = _get(key) or ReportJob(key, report_type=KIND, status="state")
        item.detail = value
        item.updated_at = datetime.now(UTC)
        item.save()
