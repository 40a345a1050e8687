"""Documents of the SP-API simulator: the S3-style store behind report documents and feed documents,
its presigned upload and download URLs, and the host faults a scenario puts on downloads.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote, urlencode

from simulators.core import Request, Response
from simulators.spapi.common import ApiError, Shared
from simulators.spapi.http import Host, Routes

DOC_PREFIX = "/tortuga-prod-eu"  # the S3-style bucket path presigned document URLs point at
DOC_MIRROR_PREFIX = "/tortuga-prod-eu-mirror"  # where a "redirect" host fault sends a download
DOC_URL_TTL = 300  # presigned URLs expire after 5 minutes


@dataclass
class Document:
    document_id: str
    content: bytes | None
    content_type: str
    created: datetime
    compression: str | None = None  # "GZIP" when the stored bytes are gzip-compressed


class Documents:
    """Every document of the world: report documents, feed input and feed result documents."""

    def __init__(self, shared: Shared) -> None:
        self.shared = shared
        self.documents: dict[str, Document] = {}

    def get(self, document_id: str) -> Document | None:
        return self.documents.get(document_id)

    def add(self, content: bytes | None, content_type: str, created: datetime,
            compression: str | None = None) -> Document:
        doc = Document(document_id=self.shared.new_document_id(), content=content, content_type=content_type,
                       created=created, compression=compression)
        self.documents[doc.document_id] = doc
        return doc

    def upload_document(self, document_id: str, content: bytes, content_type: str | None) -> None:
        doc = self.documents.get(document_id)
        if doc is None:
            raise ApiError(404, "NoSuchKey", "The specified key does not exist.")
        doc.content = content
        if content_type:
            doc.content_type = content_type


class DocumentRoutes(Routes):
    def __init__(self, host: Host) -> None:
        super().__init__(host)
        self._doc_secret = uuid.uuid4().hex.encode()

    def register(self) -> None:
        """Upload and the mirror a redirect points at (downloads: :meth:`register_download`)."""
        self.host.route("PUT", DOC_PREFIX + r"/(?P<doc>[^/]+)", self._upload_document, name="uploadDocument")
        self.host.route("GET", DOC_MIRROR_PREFIX + r"/(?P<doc>[^/]+)", self._download_mirror,
                        name="downloadDocumentMirror", write=False)

    def register_download(self) -> None:
        self.host.route("GET", DOC_PREFIX + r"/(?P<doc>[^/]+)", self._download_document, name="downloadDocument",
                        write=False)

    def _sign(self, doc_id: str, method: str, issued: str) -> str:
        return hmac.new(self._doc_secret, f"{method}\n{doc_id}\n{issued}".encode(), hashlib.sha256).hexdigest()

    def presigned_url(self, doc_id: str, method: str) -> str:
        issued = self.host.clock.now().strftime("%Y%m%dT%H%M%SZ")
        signature = self._sign(doc_id, method, issued)
        return (f"{self.host.url}{DOC_PREFIX}/{doc_id}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={issued}"
                f"&X-Amz-Expires={DOC_URL_TTL}&X-Amz-SignedHeaders=host&X-Amz-Signature={signature}")

    def _check_presigned(self, req: Request, method: str) -> Response | None:
        doc_id = unquote(req.params["doc"])
        issued = req.q("X-Amz-Date") or ""
        if not hmac.compare_digest(req.q("X-Amz-Signature") or "", self._sign(doc_id, method, issued)):
            return _s3_error(403, "SignatureDoesNotMatch",
                             "The request signature we calculated does not match the signature you provided.")
        try:
            issued_at = datetime.strptime(issued, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            return _s3_error(403, "AccessDenied", "Invalid date")
        if self.host.clock.now() > issued_at + timedelta(seconds=DOC_URL_TTL + 1):
            return _s3_error(403, "AccessDenied", "Request has expired")
        return None

    def _upload_document(self, req: Request) -> Response:
        refused = self._check_presigned(req, "PUT")
        if refused:
            return refused
        doc_id = unquote(req.params["doc"])
        doc = self.world.documents.get(doc_id)
        if doc is None:
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
        sent = (req.header("content-type") or "").split(";")[0].strip().lower()
        if sent != doc.content_type.split(";")[0].strip().lower():
            # The content type is part of the presigned upload; S3 refuses a different one.
            return _s3_error(403, "SignatureDoesNotMatch",
                             f"Content-Type {sent!r} does not match the document's {doc.content_type!r}.")
        self.world.document_store.upload_document(doc_id, req.body, req.header("content-type"))
        return Response(200, None, {"ETag": '"' + hashlib.md5(req.body, usedforsecurity=False).hexdigest() + '"'})

    def _download_document(self, req: Request) -> Response:
        refused = self._check_presigned(req, "GET")
        if refused:
            return refused
        doc_id = unquote(req.params["doc"])
        doc = self.world.documents.get(doc_id)
        if doc is None or doc.content is None:
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
        owner = next((r for r in self.world.report_jobs.reports.values() if r.document_id == doc_id), None)
        fault = self.world.scenario.host_fault(owner.report_type if owner else None) if owner else None
        if fault is None:
            return Response(200, raw=doc.content, content_type=doc.content_type)
        if fault.kind == "500":
            return _s3_error(500, "InternalError", "We encountered an internal error. Please try again.")
        if fault.kind == "redirect":
            query = urlencode({k: v[0] for k, v in req.query.items()})
            return Response(302, None, {"Location": f"{self.host.url}{DOC_MIRROR_PREFIX}/{doc_id}?{query}"})
        if fault.kind == "not_gzip":  # the metadata still says GZIP
            return Response(200, raw=self.world.scenario.plain(doc.content, doc.compression),
                            content_type=doc.content_type)
        claimed = fault.content_length if fault.content_length is not None else 1 << 30
        # A lying Content-Length: the body ends (the connection closes) before the length claimed.
        return Response(200, raw=doc.content, content_type=doc.content_type,
                        headers={"Content-Length": str(claimed), "Connection": "close"})

    def _download_mirror(self, req: Request) -> Response:
        """Where a redirected download lands: the same presigned URL on another host path."""
        refused = self._check_presigned(req, "GET")
        if refused:
            return refused
        doc = self.world.documents.get(unquote(req.params["doc"]))
        if doc is None or doc.content is None:
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
        return Response(200, raw=doc.content, content_type=doc.content_type)



def _s3_error(status: int, code: str, message: str) -> Response:
    xml = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>'
    return Response(status, raw=xml.encode("utf-8"), content_type="application/xml")
