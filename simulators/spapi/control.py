"""The SP-API simulator's control API (``/_sim/spapi/...``): world operations by name, forced job
outcomes, run-time settings, token expiry, the notifications sent and stored documents as text.
"""

from __future__ import annotations

import gzip
import inspect
import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from simulators.core import HttpError, Request, Response
from simulators.spapi.common import JSON, iso_ms, parse_time

if TYPE_CHECKING:
    from simulators.spapi.server import SpApiSimulator

_UNSET: Any = object()


def world_op(sim: SpApiSimulator, name: str, **kwargs: Any) -> Any:
    """Run a world operation by name under the server lock."""
    fn = sim.world.operation(name)
    params = inspect.signature(fn).parameters
    for key, value in list(kwargs.items()):
        if key == "at" or key == "order_date":
            kwargs[key] = parse_time(value, key)
        if key not in params:
            raise ValueError(f"{name} takes no argument {key!r}")
    with sim.lock:
        return fn(**kwargs)


def register(sim: SpApiSimulator) -> None:
    def run_op(req: Request) -> Response:
        result = sim.world_op(req.params["op"], **(req.json() or {}))
        return Response(200, {"ok": True, "result": _describe(result)})

    def tick(req: Request) -> Response:
        sim.tick()
        return Response(200, {"now": iso_ms(sim.clock.now())})

    def force(req: Request) -> Response:
        body = req.json() or {}
        with sim.lock:
            if req.params["kind"] == "report":
                sim.world.report_jobs.force_report_outcome(body["report_type"], body["outcome"],
                                                           int(body.get("count", 1)))
            else:
                sim.world.feed_jobs.force_feed_outcome(body["feed_type"], body["outcome"], int(body.get("count", 1)))
        return Response(200, {"ok": True})

    def settings(req: Request) -> Response:
        body = req.json() or {}
        with sim.lock:
            sim.configure(**body)
        return Response(200, {"ok": True})

    def expire(req: Request) -> Response:
        sim.expire_tokens()
        return Response(200, {"ok": True})

    def notifications(req: Request) -> Response:
        with sim.lock:
            sim.tick()
            return Response(200, list(sim.notifications))

    def document(req: Request) -> Response:
        with sim.lock:
            text = sim.document_text(req.params["doc"])
        return Response(200, raw=text.encode("utf-8"), content_type="text/plain;charset=UTF-8")

    sim.route("POST", r"/_sim/spapi/ops/(?P<op>\w+)", run_op)
    sim.route("POST", r"/_sim/spapi/tick", tick)
    sim.route("POST", r"/_sim/spapi/force/(?P<kind>report|feed)", force)
    sim.route("POST", r"/_sim/spapi/settings", settings)
    sim.route("POST", r"/_sim/spapi/tokens/expire", expire)
    sim.route("GET", r"/_sim/spapi/notifications", notifications, write=False)
    sim.route("GET", r"/_sim/spapi/documents/(?P<doc>[^/]+)", document, write=False)


def configure(sim: SpApiSimulator, *, report_compression: Any = _UNSET, report_charset: str | None = None,
              notification_duplicates: int | None = None, notification_types: list[str] | None = None,
              report_utc_offset_minutes: int | None = None, timing: dict[str, float] | None = None,
              strict_subscriptions: bool | None = None,
              listing_not_found_status: int | None = None, feed_delays: list[float] | None = None,
              finances_authorised: bool | None = None, finances_lag: dict[str, Any] | None = None) -> None:
    """Change behaviour at run time (also ``POST /_sim/spapi/settings``)."""
    if finances_lag is not None:  # {"post_minutes", "visible_minutes", "page_size"}: late financial events
        sim.world.finances.configure_lag(finances_lag)
    if finances_authorised is not None:  # False: the seller's app lacks the Finances role (403)
        sim.world.finances.authorised = bool(finances_authorised)
    if listing_not_found_status is not None:
        if listing_not_found_status not in (400, 404):
            raise ValueError("listing_not_found_status must be 400 or 404")
        sim.world.listings_items.not_found_status = int(listing_not_found_status)
    if feed_delays is not None:
        sim.world.feed_jobs.delay_next_feeds(list(feed_delays))
    if report_compression is not _UNSET:
        if report_compression not in (None, "GZIP"):
            raise ValueError("report_compression must be GZIP or null")
        sim.world.report_jobs.compression = sim._report_compression = report_compression
    if report_charset:
        "".encode(report_charset)  # raises LookupError early for an unknown codec
        sim.world.report_jobs.charset = sim._report_charset = report_charset
    if notification_duplicates is not None:
        sim.notification_duplicates = int(notification_duplicates)
    if notification_types is not None:
        sim.notification_types = set(notification_types)
    if strict_subscriptions is not None:
        sim.strict_subscriptions = bool(strict_subscriptions)
    if report_utc_offset_minutes is not None:
        sim.world.report_jobs.sources.utc_offset = timedelta(minutes=int(report_utc_offset_minutes))
    if timing:
        for key, value in timing.items():
            if not hasattr(sim.world.timing, key):
                raise ValueError(f"unknown timing {key!r}")
            setattr(sim.world.timing, key, float(value))


def document_text(sim: SpApiSimulator, doc_id: str) -> str:
    """A stored document's text, decompressed and decoded (for tests and the demo)."""
    doc = sim.world.documents.get(doc_id)
    if doc is None or doc.content is None:
        raise HttpError(404, {"error": f"no document {doc_id}"})
    raw = gzip.decompress(doc.content) if doc.compression == "GZIP" else doc.content
    charset = doc.content_type.split("charset=")[-1] if "charset=" in doc.content_type else "utf-8"
    return raw.decode(charset)



def _describe(result: Any) -> JSON:
    """A JSON-friendly echo of what a world operation returned."""
    if result is None:
        return None
    if isinstance(result, tuple):
        return [_describe(r) for r in result]
    if hasattr(result, "__dataclass_fields__"):
        out: dict[str, JSON] = {}
        for key in result.__dataclass_fields__:
            value = getattr(result, key)
            if isinstance(value, datetime):
                value = iso_ms(value)
            elif isinstance(value, dict):
                value = {k: _describe(v) if hasattr(v, "__dataclass_fields__") else v for k, v in value.items()}
            out[key] = value
        return out
    return json.loads(json.dumps(result, default=str))
