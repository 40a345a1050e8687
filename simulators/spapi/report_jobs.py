"""Reports API 2021-06-30 of the SP-API simulator: report jobs (queued, processed on the simulated
clock, forced outcomes) and createReport / getReports / getReport / cancelReport / getReportDocument.
What a report contains is rendered by ``reports.py``.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import unquote

from simulators.core import Request, Response
from simulators.spapi.common import JSON, ApiError, Shared, invalid, parse_time
from simulators.spapi.documents import Documents
from simulators.spapi.http import DOC_ID, JOB_ID, Routes, int_param, operations, qlist, well_formed
from simulators.spapi.reports import SUPPORTED_REPORTS, Report, ReportSources, render_report
from simulators.spapi.scenario import ScenarioState

REPORT_STATUSES = frozenset({"CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE"})


class ReportJobs:
    """The seller's report requests and their processing."""

    def __init__(self, shared: Shared, documents: Documents, sources: ReportSources,
                 scenario: ScenarioState) -> None:
        self.shared = shared
        self.documents = documents
        self.sources = sources
        self.scenario = scenario
        self.reports: dict[str, Report] = {}
        self.forced_report_outcomes: dict[str, list[str]] = {}  # report type → queued outcomes
        self.compression: str | None = "GZIP"
        self.charset = "UTF-8"
        # The server hooks this to send REPORT_PROCESSING_FINISHED.
        self.on_report_finished: Callable[[Report], None] | None = None

    def create_report(self, report_type: str, marketplace_ids: list[str], *, options: dict[str, str] | None = None,
                      data_start: datetime | None = None, data_end: datetime | None = None) -> Report:
        self.shared.advance()
        if report_type not in SUPPORTED_REPORTS:
            raise invalid(f"Report type {report_type} is not supported by this simulator; "
                          f"supported: {', '.join(SUPPORTED_REPORTS)}")
        now = self.shared.now()
        end = data_end or now
        start = data_start or (end - timedelta(days=30))
        if start > end:
            raise invalid("dataStartTime must be before dataEndTime")
        if end > now + timedelta(minutes=2):
            raise invalid("dataEndTime must not be in the future")
        report = Report(report_id=str(50_000_000_000 + self.shared.next()), report_type=report_type,
                        marketplace_ids=list(marketplace_ids), options=dict(options or {}), data_start=start,
                        data_end=end, created=now)
        queue = self.forced_report_outcomes.get(report_type)
        if queue:
            report.forced = queue.pop(0)
        self.reports[report.report_id] = report
        return report

    def force_report_outcome(self, report_type: str, outcome: str, count: int = 1) -> None:
        """Make the next ``count`` reports of ``report_type`` end FATAL or CANCELLED."""
        if outcome not in ("FATAL", "CANCELLED", "DONE"):
            raise ValueError("outcome must be FATAL, CANCELLED or DONE")
        self.forced_report_outcomes.setdefault(report_type, []).extend([outcome] * count)

    def cancel_report(self, report_id: str) -> Report:
        self.shared.advance()
        report = self.reports.get(report_id)
        if report is None:
            raise ApiError(404, "NotFound", f"Report {report_id} not found")
        if report.status != "IN_QUEUE":
            raise invalid(f"Report {report_id} is {report.status}; only IN_QUEUE reports can be cancelled")
        report.status = "CANCELLED"
        report.processing_end = self.shared.now()
        if self.on_report_finished:
            self.on_report_finished(report)
        return report

    def due(self) -> list[tuple[datetime, int, Report]]:
        """(when, stage, job) of every pending transition: stage 0 starts processing, 1 finishes."""
        due: list[tuple[datetime, int, Report]] = []
        for r in self.reports.values():
            if r.status == "IN_QUEUE":
                due.append((r.created + timedelta(seconds=self.shared.timing.report_queue), 0, r))
            elif r.status == "IN_PROGRESS":
                assert r.processing_start is not None
                due.append((r.processing_start + timedelta(seconds=self.shared.timing.report_processing), 1, r))
        return due

    def finish(self, report: Report, at: datetime) -> None:
        report.processing_end = at
        outcome = report.forced
        text, rows = render_report(self.sources, report, at)
        if outcome is None:
            outcome = "DONE" if rows else "CANCELLED"  # Amazon cancels a report that has no data
        report.status = outcome
        if outcome == "DONE":
            raw, content_type, _variants = self.scenario.shape_document(report.report_type, text, self.charset)
            if self.compression == "GZIP":
                raw = gzip.compress(raw, mtime=0)
            doc = self.documents.add(raw, content_type, at, self.compression)
            report.document_id = doc.document_id
        if self.on_report_finished:
            self.on_report_finished(report)


class ReportRoutes(Routes):
    def register(self) -> None:
        operations(self.host, "/reports/2021-06-30", [
            ("POST", r"/reports", "createReport", self._create_report),
            ("GET", r"/reports", "getReports", self._get_reports),
            ("GET", r"/reports/(?P<id>[^/]+)", "getReport", self._get_report),
            ("DELETE", r"/reports/(?P<id>[^/]+)", "cancelReport", self._cancel_report),
            ("GET", r"/documents/(?P<id>[^/]+)", "getReportDocument", self._get_report_document),
        ])

    def _create_report(self, req: Request) -> Response:
        body = self._body(req)
        report_type = body.get("reportType")
        if not isinstance(report_type, str) or not report_type:
            raise invalid("reportType is required.")
        mkts = body.get("marketplaceIds")
        if not isinstance(mkts, list) or not 1 <= len(mkts) <= 25:
            raise invalid("marketplaceIds must be a list of 1 to 25 marketplace ids.")
        self._check_marketplaces(mkts)
        options = body.get("reportOptions") or {}
        if not isinstance(options, dict) or not all(isinstance(v, str) for v in options.values()):
            raise invalid("reportOptions must map strings to strings.")
        report = self.world.report_jobs.create_report(report_type, mkts, options=options,
                                          data_start=parse_time(body.get("dataStartTime"), "dataStartTime"),
                                          data_end=parse_time(body.get("dataEndTime"), "dataEndTime"))
        return Response(202, {"reportId": report.report_id})

    def _get_report(self, req: Request) -> Response:
        report = self.world.report_jobs.reports.get(well_formed(req.params["id"], JOB_ID, "reportId"))
        if report is None:
            raise ApiError(404, "NotFound", f"Report {req.params['id']} not found.")
        return Response(200, report.to_api())

    def _get_reports(self, req: Request) -> Response:
        token = req.q("nextToken")
        if token:
            if any(k in req.query for k in ("reportTypes", "processingStatuses", "createdSince", "createdUntil")):
                raise invalid("nextToken must be the only parameter.")
            ids, offset, size = self._take_page_token(token)
        else:
            types = qlist(req, "reportTypes")
            if not types:
                raise invalid("Either reportTypes or nextToken is required.")
            statuses = set(qlist(req, "processingStatuses"))
            bad = sorted(statuses - REPORT_STATUSES)
            if bad:
                raise invalid(f"Invalid processingStatuses value(s): {', '.join(bad)}.")
            mkts = set(qlist(req, "marketplaceIds"))
            now = self.host.clock.now()
            since = parse_time(req.q("createdSince"), "createdSince") or now - timedelta(days=90)
            until = parse_time(req.q("createdUntil"), "createdUntil") or now
            size = int_param(req, "pageSize", 10, 1, 100)
            matches = [r for r in self.world.report_jobs.reports.values()
                       if r.report_type in types and (not statuses or r.status in statuses)
                       and (not mkts or mkts & set(r.marketplace_ids)) and since <= r.created <= until]
            ids = [r.report_id for r in sorted(matches, key=lambda r: r.created, reverse=True)]
            offset = 0
        page = ids[offset:offset + size]
        out: JSON = {"reports": [self.world.report_jobs.reports[i].to_api() for i in page]}
        if offset + size < len(ids):
            out["nextToken"] = self._page_token((ids, offset + size, size))
        return Response(200, out)

    def _cancel_report(self, req: Request) -> Response:
        self.world.report_jobs.cancel_report(well_formed(req.params["id"], JOB_ID, "reportId"))
        return Response(200, None)

    def _get_report_document(self, req: Request) -> Response:
        doc_id = well_formed(unquote(req.params["id"]), DOC_ID, "reportDocumentId")
        owner = next((r for r in self.world.report_jobs.reports.values() if r.document_id == doc_id), None)
        doc = self.world.documents.get(doc_id)
        if owner is None or doc is None:
            raise ApiError(404, "NotFound", f"Report document {doc_id} not found.")
        out: JSON = {"reportDocumentId": doc_id, "url": self.host.presigned_url(doc_id, "GET")}
        if doc.compression:
            out["compressionAlgorithm"] = doc.compression
        return Response(200, out)

