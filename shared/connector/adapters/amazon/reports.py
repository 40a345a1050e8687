"""Reports API 2021-06-30: request, check, cancel, and stream a report document row by row.

A document is downloaded once, in chunks, to a temporary file (the presigned URL is valid for five
minutes, applying a large report to Brightpearl takes longer), then read back through GZIP and the
decoder as a stream of lines: memory does not grow with the report. Character set (contract §4): the
``charset`` of the document's Content-Type when present; otherwise UTF-8, with any byte sequence that
is not UTF-8 read as Windows-1252 (Seller Central's legacy encoding), so neither a UTF-8 nor a
Windows-1252 file comes out garbled.
"""

from __future__ import annotations

import codecs
import gzip
import io
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, cast

import requests
from sp_api.api.reports.reports import Reports

from connector.adapters.amazon.client import AmazonClients

FALLBACK_ERRORS = "utf8-else-cp1252"


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start:exc.end]
    return bytes(bad).decode("cp1252", errors="replace"), exc.end


codecs.register_error(FALLBACK_ERRORS, _cp1252_fallback)


def charset_of(content_type: str | None) -> str | None:
    """``text/plain;charset=windows-1252`` → ``windows-1252`` (None when absent or unknown to Python)."""
    for part in (content_type or "").split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
            try:
                codecs.lookup(charset)
            except LookupError:
                return None
            return charset
    return None


def text_lines(raw: IO[bytes], *, compression: str | None, charset: str | None) -> io.TextIOWrapper:
    """Decoded lines of a (possibly GZIP-compressed) document, read lazily from ``raw``."""
    stream: IO[bytes] = raw
    if (compression or "").upper() == "GZIP":
        stream = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
    if charset and codecs.lookup(charset).name != "utf-8":
        return io.TextIOWrapper(stream, encoding=charset, errors="replace", newline="")
    return io.TextIOWrapper(stream, encoding="utf-8-sig", errors=FALLBACK_ERRORS, newline="")


@dataclass(frozen=True)
class ReportStatus:
    report_id: str
    report_type: str
    status: str  # IN_QUEUE / IN_PROGRESS / DONE / CANCELLED / FATAL
    document_id: str | None
    data_start: str | None
    data_end: str | None


class AmazonReports:
    def __init__(self, amazon: AmazonClients, marketplace_ids: list[str], *,
                 session: requests.Session | None = None, chunk_size: int = 1 << 16) -> None:
        self.amazon = amazon
        self.marketplace_ids = list(marketplace_ids)
        self.api = amazon.client(Reports)
        self.session = session or requests.Session()
        self.chunk_size = chunk_size

    def create(self, report_type: str, start: datetime, end: datetime,
               options: dict[str, str] | None = None) -> str:
        body: dict[str, Any] = {"reportType": report_type, "marketplaceIds": self.marketplace_ids,
                                "dataStartTime": start.isoformat(), "dataEndTime": end.isoformat()}
        if options:
            body["reportOptions"] = options
        res = self.amazon.call("createReport", self.api.create_report, **body)
        return str(res.payload["reportId"])

    def get(self, report_id: str) -> ReportStatus:
        p = self.amazon.call("getReport", self.api.get_report, report_id).payload
        return ReportStatus(str(p["reportId"]), str(p.get("reportType", "")), str(p["processingStatus"]),
                            p.get("reportDocumentId"), p.get("dataStartTime"), p.get("dataEndTime"))

    def cancel(self, report_id: str) -> None:
        self.amazon.call("cancelReport", self.api.cancel_report, report_id)

    @contextmanager
    def open_document(self, document_id: str) -> Iterator[io.TextIOWrapper]:
        """The document's decoded lines; the download is spooled to a temporary file first."""
        meta = self.amazon.call("getReportDocument", self.api.get_report_document, document_id).payload
        with tempfile.TemporaryFile(prefix="report-") as tmp:
            with self.session.get(meta["url"], stream=True, timeout=60) as resp:
                resp.raise_for_status()
                content_type = resp.headers.get("Content-Type")
                for chunk in resp.iter_content(self.chunk_size):
                    tmp.write(chunk)
            tmp.seek(0)
            lines = text_lines(tmp, compression=meta.get("compressionAlgorithm"), charset=charset_of(content_type))
            try:
                yield lines
            finally:
                lines.detach()
