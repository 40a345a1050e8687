"""``import-links`` as an asynchronous job: answered at once with a job id, worked off chunk by chunk.

``start`` validates the whole list (as the operator's ``import-links`` would), stores the job and its
chunks, and queues the first chunk. Each chunk message is worked by running the operator's
``import-links`` on that chunk (idempotent per SKU: a link is keyed by marketplace and SKU, a push is
an absolute quantity), recording its result, then queuing the next chunk — one chunk at a time, so
Amazon's 5 checks a second are not shared between parallel workers. A crash mid-chunk: SQS delivers
the message again after its visibility timeout and the chunk is redone. A chain broken between "done"
and "next queued": a redelivered done chunk queues its successor if that has not started, and
``resume`` queues the first unfinished chunk.

Storage: free-form items of the settings table, ``import#<job>`` (the job) and ``import#<job>#<n>``
(each chunk: its SKUs, then its result), so no item nears DynamoDB's 400 KB.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import ValidationError

from connector.usecases.operator import CommandError, ImportLinks

PREFIX = "import#"
PENDING, DONE, REFUSED = "pending", "done", "refused"


class Values(Protocol):
    def get_value(self, key: str) -> dict[str, Any]: ...
    def set_value(self, key: str, value: dict[str, Any]) -> None: ...


def job_key(job: str) -> str:
    return f"{PREFIX}{job}"


def chunk_key(job: str, n: int) -> str:
    return f"{PREFIX}{job}#{n:05d}"


class ImportJobs:
    def __init__(self, values: Values, send: Callable[[dict[str, Any]], None],
                 run_import: Callable[[dict[str, Any]], dict[str, Any]], marketplaces: list[str],
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.values, self.send, self.run_import = values, send, run_import
        self.marketplaces, self.now = marketplaces, now

    # ------------------------------------------------------------------ commands
    def start(self, event: dict[str, Any]) -> dict[str, Any]:
        """``{"action": "start", "marketplaceId", "listings": [{"sku", "channel"?}], "chunkSize"?}``."""
        fields = {k: v for k, v in event.items() if k not in ("action", "chunkSize")}
        try:
            cmd = ImportLinks.model_validate({"command": "import-links", **fields})
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise CommandError(f"import-links: {problems}") from None
        if cmd.marketplace_id not in self.marketplaces:
            raise CommandError(f"import-links: marketplaceId {cmd.marketplace_id!r} is not one of the stack's "
                               f"({', '.join(self.marketplaces)})")
        size = event.get("chunkSize", 50)
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 500:
            raise CommandError(f"import-links: chunkSize must be a whole number 1-500, got {size!r}")
        listings = [i.model_dump() for i in cmd.listings]
        job = f"{self.now().strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:8]}"
        chunks = [listings[i:i + size] for i in range(0, len(listings), size)]
        for n, chunk in enumerate(chunks):
            self.values.set_value(chunk_key(job, n), {"status": PENDING, "listings": chunk})
        self.values.set_value(job_key(job), {"marketplaceId": cmd.marketplace_id, "total": len(listings),
                                             "chunks": len(chunks), "chunkSize": size,
                                             "createdAt": self.now().isoformat()})
        self.send({"job": job, "chunk": 0})
        return {"job": job, "total": len(listings), "chunks": len(chunks)}

    def resume(self, event: dict[str, Any]) -> dict[str, Any]:
        """Queue the first unfinished chunk again (after a chain broke); nothing if every chunk is done."""
        job = self._job(event)
        header = self.values.get_value(job_key(job))
        for n in range(int(header["chunks"])):
            if self.values.get_value(chunk_key(job, n)).get("status") == PENDING:
                self.send({"job": job, "chunk": n})
                return {"job": job, "resumedAt": n}
        return {"job": job, "resumedAt": None}

    def _job(self, event: dict[str, Any]) -> str:
        unknown = set(event) - {"action", "job"}
        if unknown:
            raise CommandError(f"{event.get('action')}: unknown field(s) {', '.join(sorted(unknown))}")
        job = event.get("job")
        if not isinstance(job, str) or not self.values.get_value(job_key(job)):
            raise CommandError(f"{event.get('action')}: no import job {job!r}")
        return job

    # ------------------------------------------------------------------ the work
    def work(self, message: dict[str, Any]) -> None:
        """One chunk message. Raises (the message returns to the queue) only when the chunk could not be
        worked for a passing reason; a refused chunk is recorded and the chain goes on."""
        job, n = str(message["job"]), int(message["chunk"])
        header = self.values.get_value(job_key(job))
        if not header:
            return  # a job that no longer exists: nothing to do
        chunk = self.values.get_value(chunk_key(job, n))
        if chunk.get("status") == PENDING:
            try:
                out = self.run_import({"command": "import-links", "marketplaceId": header["marketplaceId"],
                                       "listings": chunk["listings"]})
                result = {"status": DONE, "linked": out.get("linked", 0), "pushed": out.get("pushed", 0),
                          "unmatched": out.get("unmatched", []), "notOnAmazon": out.get("notOnAmazon", [])}
            except CommandError as exc:
                result = {"status": REFUSED, "error": str(exc)}
            self.values.set_value(chunk_key(job, n), {**chunk, **result, "finishedAt": self.now().isoformat()})
        if n + 1 < int(header["chunks"]) and self.values.get_value(chunk_key(job, n + 1)).get("status") == PENDING:
            self.send({"job": job, "chunk": n + 1})


def progress(values: Values, job: str) -> dict[str, Any] | None:
    """The job's state from its items (also what the CLI reads straight from the table)."""
    header = values.get_value(job_key(job))
    if not header:
        return None
    return summarize(job, header, [values.get_value(chunk_key(job, n)) for n in range(int(header["chunks"]))])


def summarize(job: str, header: dict[str, Any], chunks: list[dict[str, Any]]) -> dict[str, Any]:
    done = [c for c in chunks if c.get("status") in (DONE, REFUSED)]
    out: dict[str, Any] = {"job": job, "marketplaceId": header.get("marketplaceId"), "total": header.get("total"),
                           "chunks": len(chunks), "chunksDone": len(done),
                           "processed": sum(len(c.get("listings") or []) for c in done),
                           "linked": sum(int(c.get("linked") or 0) for c in done),
                           "pushed": sum(int(c.get("pushed") or 0) for c in done),
                           "unmatched": [s for c in done for s in c.get("unmatched") or []],
                           "notOnAmazon": [s for c in done for s in c.get("notOnAmazon") or []],
                           "refused": [{"chunk": n, "skus": [i["sku"] for i in c.get("listings") or []][:5],
                                        "error": c.get("error")} for n, c in enumerate(chunks)
                                       if c.get("status") == REFUSED],
                           "createdAt": header.get("createdAt")}
    out["state"] = "done" if len(done) == len(chunks) else "running"
    out["finishedAt"] = max((str(c.get("finishedAt")) for c in done), default=None) if out["state"] == "done" \
        else None
    return out
