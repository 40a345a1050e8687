"""Files too large to attach to an email (issue 14 item 5), in the stack's private ``ExportsBucket``.

An object is stored under ``exports/<random>.<file name>`` (SSE-S3, the bucket blocks public access and
expires objects with a lifecycle rule); the email links it through the stack's signed page link
(``/pages/export/<id>``), which answers with a fresh S3 presigned link of ``PRESIGN_SECONDS``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import boto3

PREFIX = "exports/"
PRESIGN_SECONDS = 300
# Without page links the email carries S3's presigned link itself: at most 7 days (SigV4), and no longer
# than the function's session credentials that signed it.
FALLBACK_SECONDS = 7 * 24 * 3600


class S3Exports:
    def __init__(self, bucket: str, *, link: Callable[[str, str], str] | None = None, client: Any = None) -> None:
        self.bucket = bucket
        self.link = link  # (export id, file name) -> the signed page link
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client("s3")
        return self._client

    def publish(self, filename: str, content: bytes, content_type: str) -> str:
        safe = re.sub(r"[^A-Za-z0-9._-]", "-", filename)[:100] or "file"
        export_id = f"{uuid.uuid4().hex}.{safe}"
        self.client.put_object(Bucket=self.bucket, Key=PREFIX + export_id, Body=content, ContentType=content_type,
                               ContentDisposition=f'attachment; filename="{safe}"', ServerSideEncryption="AES256")
        if self.link is not None:
            return self.link(export_id, filename)
        return self.presign(export_id, FALLBACK_SECONDS)

    def presign(self, export_id: str, seconds: int = PRESIGN_SECONDS) -> str:
        if not re.fullmatch(r"[0-9a-f]{32}\.[A-Za-z0-9._-]+", export_id):
            raise ValueError(f"export id {export_id!r} is not one this stack made")
        return str(self.client.generate_presigned_url("get_object", Params={"Bucket": self.bucket,
                                                                            "Key": PREFIX + export_id},
                                                      ExpiresIn=seconds))
