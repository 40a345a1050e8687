"""The simulators' request, response and route records, fault rules and journal entries, and the
small value helpers (Brightpearl ID sets, millisecond ISO times) both simulators use."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

JSON = Any


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # path parameters from the route

    def json(self) -> JSON:
        if not self.body:
            return None
        return json.loads(self.body.decode("utf-8"))

    def q(self, name: str, default: str | None = None) -> str | None:
        """First value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


@dataclass
class Response:
    status: int = 200
    body: JSON = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # when set, sent as-is instead of JSON
    content_type: str = "application/json;charset=UTF-8"

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        if self.body is None:
            return b""
        return json.dumps(self.body, separators=(",", ":")).encode("utf-8")


class HttpError(Exception):
    """Raised by a route handler to answer with an error response."""

    def __init__(self, status: int, body: JSON, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status}: {body}")
        self.response = Response(status, body, headers or {})


Handler = Callable[[Request], Response]


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    name: str
    write: bool  # does the route change state (recorded in the write journal)


FAULT_KINDS = ("status", "latency", "timeout", "reset", "write_then_fail")


@dataclass
class Fault:
    """One fault rule. ``match`` is a regex searched in ``"METHOD /path"`` (or a route name).

    kinds: ``status`` answer ``status`` without running the route; ``latency`` add ``seconds``
    then run normally; ``timeout`` hold the connection ``seconds`` and then drop it without an
    answer; ``reset`` drop the connection at once (TCP RST); ``write_then_fail`` run the route
    (the change is applied) and then answer 500 (``status``) or drop the connection when
    ``status`` is 0.
    """

    match: str
    kind: str = "status"
    status: int = 500
    rate: float = 1.0
    count: int | None = None  # how many more times it may fire; None = unlimited
    seconds: float = 0.0
    body: JSON = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    fired: int = 0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")
        re.compile(self.match)


@dataclass
class JournalEntry:
    seq: int
    at: str  # simulated time, ISO-8601
    method: str
    path: str
    query: dict[str, list[str]]
    body: JSON
    status: int
    route: str
    write: bool
    fault: str | None = None  # the kind of the fault that fired on this request (status, latency, ...)
    fault_id: str | None = None
    seconds: float | None = None  # latency/timeout faults: the delay injected


def parse_id_set(text: str) -> list[int]:
    """Brightpearl ID set: ``1007``, ``1000-1010``, ``1,5,9``, mixed. Raises ValueError on bad input."""
    ids: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            raise ValueError(f"empty element in id set {text!r}")
        if "-" in part:
            lo_s, hi_s = part.split("-", 1)
            lo, hi = int(lo_s), int(hi_s)
            if hi < lo:
                raise ValueError(f"descending range {part!r} in id set")
            ids.extend(range(lo, hi + 1))
        else:
            ids.append(int(part))
    return ids


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
