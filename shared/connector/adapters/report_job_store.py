"""Report jobs and cursors in the ``ReportJobs`` table (the ``ReportJobStore`` port).

Items are the pynamodb ``ReportJob`` model (it satisfies the ``ReportJob`` port Protocol); its
``VersionAttribute`` makes every save conditional on the version read, and a lost race is translated
into the port-level ``Conflict``.
"""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DoesNotExist

from connector.adapters.store import ReportJob, conflict_as


class DynamoReportJobStore:
    def get(self, job_id: str) -> ReportJob | None:
        try:
            return ReportJob.get(job_id, consistent_read=True)
        except DoesNotExist:
            return None

    def new(self, job_id: str, **fields: Any) -> ReportJob:
        return ReportJob(job_id, **fields)

    def save(self, job: ReportJob) -> None:
        with conflict_as(f"report job {job.job_id!r}"):
            job.save()

    def by_report_id(self, report_id: str) -> ReportJob | None:
        for job in ReportJob.by_report_id.query(report_id):
            return self.get(job.job_id)
        return None
