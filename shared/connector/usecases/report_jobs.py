"""Amazon report requests as persisted jobs: requested → in_progress → done / cancelled / fatal → downloaded → applied.

- The schedule (hourly) requests each report type when due (``ReportSpec.every``), for a window from
  the type's stored cursor minus an overlap up to now, and polls jobs still open (the fallback for a
  lost REPORT_PROCESSING_FINISHED notification). It never waits for a report: a request is made and
  the function returns; the notification, or the next schedule, moves the job on.
- DONE: the document is streamed and its rows are handed to :class:`MovementService`; the job becomes
  ``applied`` and the cursor moves to the window's end. CANCELLED with no cancellation of ours means
  "no data": nothing to apply, the cursor moves. A report we cancelled (stuck in the queue) and FATAL
  leave the cursor where it was, so the next due request covers the window again.
- Repeated notifications find the job applied and do nothing; two workers racing for one job are
  serialised by a short lease on the job (optimistic locking).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.domain.errors import Conflict, Throttled
from connector.domain.flatfile import HeaderError, LineTally
from connector.domain.reports import REPORT_SPECS, SPECS_BY_TYPE, Item, ReportSpec, report_items
from connector.observability import MetricUnit, logger, metrics
from connector.usecases.movements import EARLIER, MovementService, Summary
from connector.usecases.ports import ReportJob, ReportJobStore, Reports

REQUESTED, IN_PROGRESS, DONE, CANCELLED, FATAL = "requested", "in_progress", "done", "cancelled", "fatal"
DOWNLOADED, APPLIED, FAILED = "downloaded", "applied", "failed"
OPEN = (REQUESTED, IN_PROGRESS, DONE, DOWNLOADED)
LEASE = timedelta(minutes=15)
STUCK_AFTER = timedelta(hours=2)  # a report still IN_QUEUE this long is cancelled and asked for again
RETRY_FIRST, RETRY_MAX = timedelta(minutes=5), timedelta(hours=6)  # back-off of a job whose apply failed
# How long one invocation applies a report before it stops at a chunk's end and leaves the rest to the
# next (the job keeps where it stopped): inside the 15-minute Lambda timeout with room for the last chunk.
APPLY_BUDGET_S = 600.0
CONTINUED = "continued"


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


class ReportJobs:
    def __init__(self, reports: Reports, movements: MovementService, jobs: ReportJobStore, *,
                 specs: Iterable[ReportSpec] = REPORT_SPECS,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 apply_budget_s: float = APPLY_BUDGET_S, monotonic: Callable[[], float] = time.monotonic,
                 job_prefix: str = "") -> None:
        # Issue 16: a region other than the stack's home one keeps its jobs and cursors under its own
        # prefix ("na#"), so two regions' cursors of one report type never share an item.
        self.job_prefix = job_prefix
        self.apply_budget_s = apply_budget_s
        self.monotonic = monotonic
        self.reports = reports
        self.jobs = jobs
        self.movements = movements
        self.specs = list(specs)
        self.clock = clock

    # ------------------------------------------------------------------ persistence
    def _cursor(self, report_type: str) -> ReportJob:
        cur: ReportJob | None = self.jobs.get(f"{self.job_prefix}cursor#{report_type}")
        if cur is None:
            cur = self.jobs.new(f"{self.job_prefix}cursor#{report_type}", report_type=report_type, status="cursor",
                                detail={"open": []})
        return cur

    def _save_cursor(self, report_type: str, change: Callable[[ReportJob], None]) -> None:
        for _ in range(10):
            cur = self._cursor(report_type)
            change(cur)
            cur.updated_at = self.clock()
            try:
                self.jobs.save(cur)
                return
            except Conflict:
                continue  # another worker moved the cursor: re-read and change it again

    # ------------------------------------------------------------------ schedule
    def run_schedule(self) -> dict[str, Any]:
        out: dict[str, Any] = {"requested": [], "polled": [], "throttled": [], "failed": []}
        for spec in self.specs:
            try:
                out["polled"] += self._poll_open(spec)
                job = self._request_if_due(spec)
                if job:
                    out["requested"].append(job)
            except Throttled as exc:
                # The createReport/getReport quota is spent: the next schedule continues, nobody waits.
                out["throttled"].append(spec.report_type)
                logger.warning("report quota spent; next schedule continues", extra={"error": str(exc)})
            except Exception as exc:
                # One bad document (not gzip, cut short, a 500 from its host) or an LWA/SP-API outage
                # fails this report type alone: recorded on its job with a back-off, reported here,
                # and the other types, the pending retries and the digest still run.
                out["failed"].append({"report_type": spec.report_type, "error": f"{type(exc).__name__}: {exc}"})
                metrics.add_metric(name="ReportJobFailed", unit=MetricUnit.Count, value=1)
                logger.error("report type failed this run; the others go on",
                             extra={"report_type": spec.report_type, "error": str(exc)})
        out["retried"] = self.movements.retry_pending().rows
        return out

    def _request_if_due(self, spec: ReportSpec) -> str | None:
        now = self.clock()
        cur = self._cursor(spec.report_type)
        detail = dict(cur.detail or {})
        if detail.get("open"):
            return None  # one report of a type at a time: the next window starts where this one ends
        last = detail.get("last_requested_at")
        if last and now - datetime.fromisoformat(last) < spec.every and not detail.get("behind"):
            return None
        covered = cur.data_end or (now - spec.first_window)
        start = covered - spec.overlap
        # After an outage the gap is caught up window by window (no cadence wait in between), never skipped.
        end = min(now, start + spec.max_window)
        report_id = self.reports.create(spec.report_type, start, end, spec.options or None)
        job_id = f"{self.job_prefix}{spec.report_type}#{report_id}"
        self.jobs.save(self.jobs.new(job_id, report_type=spec.report_type, status=REQUESTED, report_id=report_id,
                                     data_start=start, data_end=end, requested_at=now, updated_at=now, detail={}))

        def opened(c: ReportJob) -> None:
            c.detail = {**(c.detail or {}), "open": [*(c.detail or {}).get("open", []), job_id],
                        "last_requested_at": _iso(now), "behind": end < now}

        self._save_cursor(spec.report_type, opened)
        logger.info("report requested", extra={"report_type": spec.report_type, "report_id": report_id,
                                               "start": _iso(start), "end": _iso(end)})
        return job_id

    def _poll_open(self, spec: ReportSpec) -> list[str]:
        polled = []
        for job_id in list((self._cursor(spec.report_type).detail or {}).get("open", [])):
            job = self.jobs.get(job_id)
            if job is None:
                self._close(spec.report_type, job_id, None)
                continue
            if job.status in (APPLIED, CANCELLED, FATAL, FAILED):
                # Finished, but the run that finished it stopped before closing it on the cursor.
                done = job.status == APPLIED or (job.status == CANCELLED
                                                 and not (job.detail or {}).get("cancelled_by_us"))
                self._close(spec.report_type, job_id, job.data_end if done else None)
                continue
            lease = (job.detail or {}).get("lease_until")
            if lease and datetime.fromisoformat(lease) > self.clock():
                continue  # someone is applying it right now
            retry_at = (job.detail or {}).get("retry_after")
            if retry_at and datetime.fromisoformat(retry_at) > self.clock():
                continue  # its last apply failed: backing off
            status = self.reports.get(str(job.report_id))
            if status.status == "IN_QUEUE" and job.requested_at and self.clock() - job.requested_at > STUCK_AFTER:
                self.reports.cancel(str(job.report_id))
                job.detail = {**(job.detail or {}), "cancelled_by_us": True}
                self.jobs.save(job)
                status = self.reports.get(str(job.report_id))
            self.advance(job, status.status, status.document_id)
            polled.append(job_id)
        return polled

    # ------------------------------------------------------------------ notifications
    def on_report_finished(self, report_id: str, processing_status: str, document_id: str | None) -> str:
        return report_finished(self.jobs, lambda: self, report_id, processing_status, document_id)

    # ------------------------------------------------------------------ the state machine
    def advance(self, job: ReportJob, processing_status: str, document_id: str | None) -> str:
        if job.status in (APPLIED, CANCELLED, FATAL, FAILED):
            return job.status  # a repeated notification, or a poll racing one: nothing more to do
        now = self.clock()
        if processing_status in ("IN_QUEUE", "IN_PROGRESS"):
            if job.status != IN_PROGRESS:
                self._set(job, IN_PROGRESS)
            return IN_PROGRESS
        if processing_status == "CANCELLED":
            ours = bool((job.detail or {}).get("cancelled_by_us"))
            self._set(job, CANCELLED, error=None if not ours else "cancelled by the connector; window re-requested")
            self._close(job.report_type, job.job_id, None if ours else job.data_end)
            return CANCELLED
        if processing_status == "FATAL":
            self._set(job, FATAL, error="Amazon could not produce the report; the window is requested again")
            self._close(job.report_type, job.job_id, None)
            return FATAL
        if processing_status != "DONE" or not document_id:
            return job.status
        if not self._take_lease(job, now):
            return "busy"
        job.document_id = document_id
        self._set(job, DONE)
        try:
            summary = self._apply(job, document_id)
        except HeaderError as exc:
            self._set(job, FAILED, error=f"unusable report: {exc}")
            self._close(job.report_type, job.job_id, None)
            return FAILED
        except Exception as exc:
            # Download or store trouble: free the job so the redelivered notification (or a later poll)
            # applies it again; rows already recorded are recognised and not applied twice. The schedule's
            # poll backs off (5 min, doubling, at most 6 h) so one bad document does not eat every run.
            attempts = int((job.detail or {}).get("attempts", 0)) + 1
            backoff = min(RETRY_MAX, RETRY_FIRST * 2 ** (attempts - 1))
            job.detail = {**(job.detail or {}), "lease_until": None, "attempts": attempts,
                          "retry_after": _iso(now + backoff)}
            self._set(job, DONE, error=f"apply interrupted (attempt {attempts}), retried after "
                                       f"{int(backoff.total_seconds())} s: {type(exc).__name__}: {exc}")
            raise
        if summary.stopped_at is not None:
            # Out of this invocation's time: the job keeps how far it got and is free at once; the
            # redelivered notification or the schedule's next poll continues from there, not from the start.
            detail = dict(job.detail or {})
            before = list(detail.get("lines_before") or [])
            job.detail = {**detail, "lease_until": None, "retry_after": None,
                          "consumed": {"document_id": document_id, "items": summary.stopped_at},
                          "lines_before": [*before, _own_lines(summary.lines.as_dict())]}
            self._set(job, DONE, error=None)
            logger.info("report too large for one invocation; continued by the next",
                        extra={"report_id": job.report_id, "items": summary.stopped_at})
            return CONTINUED
        job.detail = {**(job.detail or {}), "lease_until": None, "retry_after": None, "rows": summary.rows,
                      "recorded": summary.recorded, "seen_before": summary.seen_before,
                      "statuses": summary.statuses, "lines": summary.lines.as_dict()}
        self._set(job, APPLIED)
        self._close(job.report_type, job.job_id, job.data_end)
        return APPLIED

    def _apply(self, job: ReportJob, document_id: str) -> Summary:
        with self.reports.open_document(document_id) as lines:
            self._set(job, DOWNLOADED)
            tally = LineTally()
            items: Iterator[Item] = report_items(job.report_type, lines, tally)
            done = (job.detail or {}).get("consumed") or {}
            skip = int(done.get("items", 0)) if done.get("document_id") == document_id else 0
            deadline = self.monotonic() + self.apply_budget_s
            summary = self.movements.ingest(items, report_id=job.report_id, lines=tally, skip=skip,
                                            stop=lambda: self.monotonic() >= deadline)
        if summary.stopped_at is not None:
            return summary  # the rest by the next invocation: the tally is complete only then
        if not tally.balanced:  # every line must be applied, skipped or quarantined: say so loudly if not
            logger.error("report lines not all accounted for", extra={"report_id": job.report_id, **tally.as_dict()})
            metrics.add_metric(name="ReportLinesUnaccounted", unit=MetricUnit.Count,
                               value=tally.lines_in - tally.accounted)
        # What became of the report's lines, for the dashboard (quarantined lines alarm).
        metrics.add_metric(name="ReportLinesApplied", unit=MetricUnit.Count, value=tally.applied)
        metrics.add_metric(name="ReportLinesSkipped", unit=MetricUnit.Count, value=sum(tally.skipped.values()))
        metrics.add_metric(name="ReportLinesQuarantined", unit=MetricUnit.Count, value=tally.quarantined)
        metrics.add_metric(name="ReportLinesPending", unit=MetricUnit.Count, value=sum(tally.pending.values()))
        return summary

    def _take_lease(self, job: ReportJob, now: datetime) -> bool:
        lease = (job.detail or {}).get("lease_until")
        if lease and datetime.fromisoformat(lease) > now:
            return False
        job.detail = {**(job.detail or {}), "lease_until": _iso(now + LEASE)}
        try:
            self.jobs.save(job)
        except Conflict:
            return False  # another worker took it first
        return True

    def _set(self, job: ReportJob, status: str, *, error: str | None = None) -> None:
        job.status = status
        job.error = error
        job.updated_at = self.clock()
        history = list((job.detail or {}).get("history", []))
        history.append([status, _iso(job.updated_at)])
        job.detail = {**(job.detail or {}), "history": history}
        self.jobs.save(job)

    def _close(self, report_type: str, job_id: str, covered_to: datetime | None) -> None:
        def closed(c: ReportJob) -> None:
            d = dict(c.detail or {})
            d["open"] = [j for j in d.get("open", []) if j != job_id]
            if covered_to is None:
                d["last_requested_at"] = None  # FATAL / ours cancelled: ask again at the next schedule
            c.detail = d
            if covered_to is not None and (c.data_end is None or covered_to > c.data_end):
                c.data_end = covered_to

        if report_type in SPECS_BY_TYPE:
            self._save_cursor(report_type, closed)


def _own_lines(lines: dict[str, Any]) -> dict[str, Any]:
    """One invocation's tally without the bucket of lines recorded by the invocations before it."""
    skipped = dict(lines.get("skipped") or {})
    earlier = skipped.pop(EARLIER, 0)
    return {**lines, "skipped": skipped, "accounted": int(lines.get("accounted", 0)) - earlier}


def report_finished(jobs: ReportJobStore, use_case: Callable[[], ReportJobs], report_id: str,
                    processing_status: str, document_id: str | None) -> str:
    """REPORT_PROCESSING_FINISHED for a movements report: move its job on (download and apply when DONE).

    The job is looked up before the use case is built: a report this connector did not request (or
    one the index has not caught up with: the schedule polls open jobs) costs one query, no client.
    """
    job = jobs.by_report_id(report_id)
    if job is None:
        return "unknown report"
    return use_case().advance(job, processing_status, document_id)
