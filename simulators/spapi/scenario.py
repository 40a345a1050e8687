"""Scenario controls of the SP-API simulator: report documents as odd as Amazon's, a misbehaving
document host, access tokens that expire at a chosen request.

Two halves:

- :class:`ScenarioState` lives on the simulator's world (so ``seed`` and ``reset`` clear it); the
  world applies its document variants when it renders a report, the server its host faults when a
  document is downloaded and its token expiry when an SP-API request is authenticated. It is driven
  through ``POST/GET/DELETE /_sim/spapi/scenario`` (or in-process, ``sim.world.scenario``).
- :class:`Scenario` is the small Python helper tests use; it speaks to those control endpoints over
  HTTP, so it works the same against an in-process simulator and one running in another process::

      from simulators.spapi.scenario import Scenario

      sc = Scenario(sim.url)
      sc.document("GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA", "bom", "no_charset", "unclosed_quote")
      sc.document_host("not_gzip", report_type="GET_LEDGER_DETAIL_VIEW_DATA", count=1)
      sc.expire_access_tokens(after_requests=3)
      sc.lwa_outage(status=503, count=2)
      sc.clear()

Evidence for each behaviour is in docs/simulators-spapi.md ("Scenario controls").
"""

from __future__ import annotations

import gzip
from dataclasses import asdict, dataclass, field
from typing import Any

import requests

from simulators.wire import Request, Response

# What a report document can look like (each one seen in Amazon's documents or its clients' issues).
DOCUMENT_VARIANTS = ("no_charset", "bom", "reorder_columns", "extra_columns", "header_only", "crlf",
                     "duplicate_rows", "unclosed_quote")
# How the presigned document host can misbehave on a download.
HOST_FAULTS = ("not_gzip", "content_length", "redirect", "500")
# The column whose value gets an unclosed quote, by preference (free text in Amazon's reports).
TEXT_COLUMNS = ("customer-comments", "Title", "product-name", "Item Name", "item-name", "title")
EXTRA_COLUMN = "sim-unknown-column"


@dataclass
class DocumentRule:
    variants: list[str]
    count: int | None = None  # documents still to shape this way; None = every one


@dataclass
class HostFault:
    kind: str
    report_type: str | None = None  # None: any report's document
    count: int | None = 1
    content_length: int | None = None  # content_length: the length claimed (default: 1 GB)
    fired: int = 0


@dataclass
class ScenarioState:
    documents: dict[str, DocumentRule] = field(default_factory=dict)
    host_faults: list[HostFault] = field(default_factory=list)
    expire_tokens_after: int | None = None  # SP-API requests still accepted before every token expires
    log: list[dict[str, Any]] = field(default_factory=list)  # what was applied, for tests to read

    # ------------------------------------------------------------------ control
    def configure(self, body: dict[str, Any]) -> None:
        unknown = set(body) - {"documents", "document_host", "expire_tokens_after"}
        if unknown:
            raise ValueError(f"unknown scenario field(s) {sorted(unknown)}; expected documents, document_host, "
                             f"expire_tokens_after")
        for report_type, rule in (body.get("documents") or {}).items():
            if not isinstance(rule, dict) or set(rule) - {"variants", "count"}:
                raise ValueError(f"documents.{report_type} must be {{variants: [...], count: n}}")
            variants = list(rule.get("variants") or [])
            bad = [v for v in variants if v not in DOCUMENT_VARIANTS]
            if bad:
                raise ValueError(f"unknown document variant(s) {bad}; expected some of {list(DOCUMENT_VARIANTS)}")
            self.documents[report_type] = DocumentRule(variants, rule.get("count"))
        for spec in body.get("document_host") or []:
            if not isinstance(spec, dict) or set(spec) - {"kind", "report_type", "count", "content_length"}:
                raise ValueError("document_host entries are {kind, report_type, count, content_length}")
            if spec.get("kind") not in HOST_FAULTS:
                raise ValueError(f"unknown document host fault {spec.get('kind')!r}; expected one of "
                                 f"{list(HOST_FAULTS)}")
            self.host_faults.append(HostFault(spec["kind"], spec.get("report_type"), spec.get("count", 1),
                                              spec.get("content_length")))
        if "expire_tokens_after" in body:
            n = body["expire_tokens_after"]
            if n is not None and (not isinstance(n, int) or n < 0):
                raise ValueError("expire_tokens_after must be a number of requests (>= 0) or null")
            self.expire_tokens_after = n

    def clear(self) -> None:
        self.documents.clear()
        self.host_faults.clear()
        self.expire_tokens_after = None

    def describe(self) -> dict[str, Any]:
        return {"documents": {k: asdict(v) for k, v in self.documents.items()},
                "document_host": [asdict(f) for f in self.host_faults],
                "expire_tokens_after": self.expire_tokens_after, "log": list(self.log)}

    # ------------------------------------------------------------------ documents (world side)
    def shape_document(self, report_type: str, text: str, charset: str) -> tuple[bytes, str, list[str]]:
        """The rendered report ``text`` → (bytes before compression, Content-Type, variants applied)."""
        rule = self.documents.get(report_type)
        variants: list[str] = []
        if rule is not None and (rule.count is None or rule.count > 0):
            variants = list(rule.variants)
            if rule.count is not None:
                rule.count -= 1
        if variants:
            text = _reshape(text, variants)
            self.log.append({"report_type": report_type, "variants": variants})
        raw = text.encode(charset, errors="replace")
        if "bom" in variants:
            raw = b"\xef\xbb\xbf" + raw
        content_type = "text/plain" if "no_charset" in variants else f"text/plain;charset={charset}"
        return raw, content_type, variants

    # ------------------------------------------------------------------ downloads (server side)
    def host_fault(self, report_type: str | None) -> HostFault | None:
        for f in self.host_faults:
            if f.count is not None and f.count <= 0:
                continue
            if f.report_type is not None and f.report_type != report_type:
                continue
            if f.count is not None:
                f.count -= 1
            f.fired += 1
            self.log.append({"report_type": report_type, "host_fault": f.kind})
            return f
        return None

    @staticmethod
    def plain(content: bytes, compression: str | None) -> bytes:
        """The document's bytes without their compression (served by ``not_gzip``)."""
        return gzip.decompress(content) if compression == "GZIP" else content

    # ------------------------------------------------------------------ LWA (server side)
    def token_expires_now(self) -> bool:
        """Count one authenticated SP-API request; True when every access token must expire before it."""
        if self.expire_tokens_after is None:
            return False
        if self.expire_tokens_after == 0:
            self.expire_tokens_after = None
            self.log.append({"tokens": "expired"})
            return True
        self.expire_tokens_after -= 1
        return False


def _reshape(text: str, variants: list[str]) -> str:
    lines = [ln for ln in text.split("\n") if ln != ""]
    if not lines:
        return text
    rows = [ln.split("\t") for ln in lines]
    header = rows[0]
    quoted = bool(header) and header[0].startswith('"')

    def wrap(v: str) -> str:
        return f'"{v}"' if quoted else v

    def bare(v: str) -> str:
        return v[1:-1] if quoted and len(v) >= 2 and v[0] == v[-1] == '"' else v

    data = rows[1:]
    if "header_only" in variants:
        data = []
    if "unclosed_quote" in variants and data:
        names = [bare(h) for h in header]
        col = next((names.index(c) for c in TEXT_COLUMNS if c in names), 0)
        first = data[0]
        if col < len(first):
            first[col] = '"' + bare(first[col]).lstrip('"') + " (opens a quote it never closes)"
    if "duplicate_rows" in variants:
        data = [r for row in data for r in (row, list(row))]
    if "extra_columns" in variants:
        # Amazon adds columns anywhere in the header, not only at the end.
        header = [header[0], wrap(EXTRA_COLUMN), *header[1:]]
        data = [[row[0], wrap("sim"), *row[1:]] for row in data]
    if "reorder_columns" in variants:
        header = header[::-1]
        data = [row[::-1] for row in data]
    eol = "\r\n" if "crlf" in variants else "\n"
    return eol.join("\t".join(r) for r in [header, *data]) + eol


def register_scenario_routes(sim: Any) -> None:
    """``POST/GET/DELETE /_sim/spapi/scenario`` on an SpApiSimulator (state on ``sim.world.scenario``)."""
    def post(req: Request) -> Response:
        with sim.lock:
            sim.world.scenario.configure(req.json() or {})
            return Response(200, sim.world.scenario.describe())

    def get(req: Request) -> Response:
        with sim.lock:
            return Response(200, sim.world.scenario.describe())

    def delete(req: Request) -> Response:
        with sim.lock:
            sim.world.scenario.clear()
            return Response(200, sim.world.scenario.describe())

    sim.route("POST", r"/_sim/spapi/scenario", post, write=False)
    sim.route("GET", r"/_sim/spapi/scenario", get, write=False)
    sim.route("DELETE", r"/_sim/spapi/scenario", delete, write=False)


class Scenario:
    """HTTP helper over ``/_sim/spapi/scenario`` and ``/_sim/faults`` (see the module docstring)."""

    def __init__(self, base_url: str, *, session: requests.Session | None = None) -> None:
        self.base = base_url.rstrip("/")
        self.http = session or requests.Session()

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        resp = self.http.post(self.base + "/_sim/spapi/scenario", json=body, timeout=10)
        if resp.status_code >= 400:
            raise ValueError(f"scenario refused: {resp.status_code} {resp.text}")
        return dict(resp.json())

    def document(self, report_type: str, *variants: str, count: int | None = None) -> dict[str, Any]:
        """The next ``count`` documents of ``report_type`` (all, when None) are rendered with ``variants``."""
        return self._post({"documents": {report_type: {"variants": list(variants), "count": count}}})

    def document_host(self, kind: str, *, report_type: str | None = None, count: int | None = 1,
                      content_length: int | None = None) -> dict[str, Any]:
        """The next ``count`` downloads (of ``report_type``'s documents, or any) misbehave as ``kind``."""
        return self._post({"document_host": [{"kind": kind, "report_type": report_type, "count": count,
                                              "content_length": content_length}]})

    def expire_access_tokens(self, *, after_requests: int) -> dict[str, Any]:
        """Every access token issued so far expires before the SP-API request after ``after_requests`` more."""
        return self._post({"expire_tokens_after": after_requests})

    def lwa_outage(self, *, status: int = 503, count: int = 1) -> dict[str, Any]:
        """The next ``count`` LWA token requests answer ``status`` (a plain fault on the ``lwaToken`` route)."""
        resp = self.http.post(self.base + "/_sim/faults", json={"match": "lwaToken", "kind": "status",
                                                                "status": status, "count": count}, timeout=10)
        resp.raise_for_status()
        return dict(resp.json())

    def refund(self, order_id: str, items: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
        """Amazon refunds the buyer of ``order_id``: a RefundEventList event read by Finances v0
        (``items``: ``[{"sku", "quantity", "charges": {"Principal": "-10.00", ...}, "fees": {...},
        "promotions": [{"type", "id", "amount"}]}]``, Amazon's signs; see simulators/spapi/finances.py)."""
        resp = self.http.post(self.base + "/_sim/spapi/ops/refund", json={"order_id": order_id, "items": items,
                                                                          **kwargs}, timeout=10)
        if resp.status_code >= 400:
            raise ValueError(f"refund refused: {resp.status_code} {resp.text}")
        return dict(resp.json()["result"])

    def finances_lag(self, **spec: float) -> None:
        """How late Finances lists refund events from now on (``post_minutes``: refund → PostedDate,
        ``visible_minutes``: PostedDate → listed) and its page size (``page_size``)."""
        self.http.post(self.base + "/_sim/spapi/settings", json={"finances_lag": spec},
                       timeout=10).raise_for_status()

    def finances_role(self, granted: bool) -> None:
        """Grant or withdraw the seller app's Finances role (withdrawn: every Finances call is 403)."""
        self.http.post(self.base + "/_sim/spapi/settings", json={"finances_authorised": granted},
                       timeout=10).raise_for_status()

    def state(self) -> dict[str, Any]:
        return dict(self.http.get(self.base + "/_sim/spapi/scenario", timeout=10).json())

    def clear(self) -> None:
        self.http.delete(self.base + "/_sim/spapi/scenario", timeout=10).raise_for_status()


__all__ = ["DOCUMENT_VARIANTS", "HOST_FAULTS", "Scenario", "ScenarioState"]
