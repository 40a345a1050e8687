"""What an API module's routes need from the SP-API server, and the request helpers they share.

Each API module (``listings``, ``inventory``, ``inbound``, ``documents``, ``report_jobs``, ``feeds``,
``auth``) has a :class:`Routes` subclass that registers its operations on a :class:`Host` (the
:class:`~simulators.spapi.server.SpApiSimulator`); the host is a Protocol so no API module imports
the server.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from simulators.core import Handler, Request, Response, SimClock, SlidingWindowLimiter
from simulators.spapi.common import invalid

if TYPE_CHECKING:
    from simulators.spapi.world import World

JSON = Any

# Amazon's report and feed ids are numeric and its document ids ``amzn1.…`` (UUIDs in the sandbox); the
# models' sandbox examples answer a malformed id 400 (an unknown well-formed one stays 404 NotFound).
JOB_ID = re.compile(r"^\d{1,20}$")
DOC_ID = re.compile(r"^(amzn1\.[A-Za-z0-9._-]+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")
QUOTA_EXCEEDED = {"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource.",
                              "details": ""}]}


class Host(Protocol):
    """The server as the API modules see it."""

    world: World
    clock: SimClock
    lock: threading.RLock
    seller_id: str
    marketplace_ids: tuple[str, ...]
    rate_limits: bool
    inventory_page_size: int
    inbound_page_size: int
    client_id: str
    client_secret: str
    refresh_tokens: set[str]
    _listings_feed_limiter: SlidingWindowLimiter

    @property
    def url(self) -> str: ...

    def route(self, method: str, pattern: str, handler: Handler, *, name: str | None = None,
              write: bool | None = None) -> None: ...

    def _op(self, method: str, pattern: str, name: str, fn: Callable[[Request], Response]) -> None: ...

    def _body(self, req: Request) -> JSON: ...

    def _check_marketplaces(self, ids: list[str], name: str = "marketplaceIds") -> list[str]: ...

    def _page_token(self, data: JSON) -> str: ...

    def _take_page_token(self, token: str, ttl: float | None = None) -> JSON: ...

    def presigned_url(self, doc_id: str, method: str) -> str: ...


class Routes:
    """Base of an API module's routes: the handlers reach the live world through the host (a reset
    replaces the world)."""

    def __init__(self, host: Host) -> None:
        self.host = host

    @property
    def world(self) -> World:
        return self.host.world

    def _body(self, req: Request) -> JSON:
        return self.host._body(req)

    def _check_marketplaces(self, ids: list[str], name: str = "marketplaceIds") -> list[str]:
        return self.host._check_marketplaces(ids, name)

    def _page_token(self, data: JSON) -> str:
        return self.host._page_token(data)

    def _take_page_token(self, token: str, ttl: float | None = None) -> JSON:
        return self.host._take_page_token(token, ttl)


def operations(host: Host, prefix: str, table: list[tuple[str, str, str, Callable[[Request], Response]]]) -> None:
    """Register an API's operations: (method, path under ``prefix``, operationId, handler) each."""
    for method, path, name, fn in table:
        host._op(method, prefix + path, name, fn)


def qlist(req: Request, name: str) -> list[str]:
    """All values of a list query parameter, sent repeated or comma-separated."""
    out: list[str] = []
    for value in req.query.get(name, []):
        out.extend(v for v in value.split(",") if v)
    return out


def int_param(req: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = req.q(name)
    if raw in (None, ""):
        return default
    try:
        value = int(str(raw))
    except ValueError:
        raise invalid(f"{name} must be an integer") from None
    if not lo <= value <= hi:
        raise invalid(f"{name} must be between {lo} and {hi}")
    return value


def well_formed(value: str, pattern: re.Pattern[str], name: str) -> str:
    if not pattern.match(value):
        raise invalid(f"Invalid {name} {value!r}.")
    return value
