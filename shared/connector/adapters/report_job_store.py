"""Report jobs and cursors in the ``ReportJobs`` table (the ``ReportJobStore`` port).

Items are the pynamodb ``ReportJob`` model (it satisfies the ``ReportJob`` port Protocol); its
``VersionAttribute`` makes every save conditional on the version read, and a lost race is translated
into the port-level ``Conflict``.
"""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError

from connector.adapters.store import ItemConflict, ReportJob, is_conditional


class DynamoReportJobStore:
    def get(self, job_id: str) -> ReportJob | None:
        try:
            return ReportJob.get(job_id, consistent_read=True)
        except DoesNotExist:
            return None

    def new(self, job_id: str, **fields: Any) -> ReportJob:
        return ReportJob(job_id, **fields)

    def save(self, job: ReportJob) -> None:
        try:
            job.save()
        except PutError as exc:
            if is_conditional(exc):
                raise ItemConflict(f"report job {job.job_id!r} changed since it was read") from exc
            raise

    def by_report_id(self, report_id: str) -> ReportJob | None:
        for job in ReportJob.by_report_id.query(report_id):
            return self.get(job.job_id)
        return None
