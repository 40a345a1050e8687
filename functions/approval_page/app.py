"""The stack's pages (API Gateway HTTP API): ``GET /pages/{kind}/{id}?t=<signed link>`` shows an FBA
reconciliation (or the nightly check's failing listings); ``POST`` from the reconciliation page applies the
chosen corrections once. See docs/emails.md for the link rules."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools.utilities.typing import LambdaContext

from connector import wiring
from connector.config import FbaReconciliationEnv
from connector.handlers import Container, entry
from connector.observability import logger
from connector.usecases.approval_page import Page

CONTAINER = Container(FbaReconciliationEnv, at_import=False)  # its environment is read on the first page
_pages = CONTAINER.once(wiring.pages)
KINDS = ("reconciliation", "nightly", "export")
# The link token is in the URL: no referrer leaves the page, nothing caches it, no one frames it.
HEADERS = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
           "X-Content-Type-Options": "nosniff", "X-Robots-Tag": "noindex, nofollow",
           "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                                      "frame-ancestors 'none'; base-uri 'none'"}


def _answer(page: Page) -> dict[str, Any]:
    headers = dict(HEADERS)
    if page.location:  # an export: to the file itself, through a short-lived S3 link
        headers["Location"] = page.location
    return {"statusCode": page.status, "headers": headers, "body": page.html}


def _form(event: dict[str, Any]) -> dict[str, list[str]]:
    body = event.get("body") or ""
    if body and event.get("isBase64Encoded"):  # HTTP APIs may hand a form body over base64-encoded
        try:
            body = base64.b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ValueError(f"body is marked isBase64Encoded but is not base64 UTF-8: {exc}") from None
    return parse_qs(body, keep_blank_values=True, strict_parsing=False)


# log_event=False: the event carries the signed link token in its query string.
@entry(traced=False, log_event=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    params = event.get("pathParameters") or {}
    kind, id_ = str(params.get("kind", "")), str(params.get("id", ""))
    method = str(((event.get("requestContext") or {}).get("http") or {}).get("method", "GET")).upper()
    pages = _pages()
    if kind not in KINDS:
        return _answer(pages.error(404, "No such page", f"there is no page kind {kind!r}"))
    if method == "POST":
        try:
            form = _form(event)
        except ValueError as exc:
            return _answer(pages.error(400, "This form cannot be read", str(exc)))
        page = pages.post(kind, id_, form)
    else:
        page = pages.get(kind, id_, parse_qs(event.get("rawQueryString") or "", keep_blank_values=True))
    logger.info("page", extra={"kind": kind, "id": id_, "method": method, "status": page.status})
    return _answer(page)
