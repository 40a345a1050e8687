"""HTTP face of the Amazon SP-API simulator: LWA, per-operation token buckets, and the Reports,
Feeds, Listings Items, FBA Inventory and Fulfillment Inbound (v0 and 2024-03-20) operations the
connector uses, plus the Notifications API (``notifications_api.py``), with responses shaped as
Amazon's published models.

Handlers are thin: parse and validate the request, call :class:`~simulators.spapi.world.World`,
shape the answer. Anything a test needs to make happen on Amazon's side is a world operation,
reachable in-process (``sim.world.lose(...)``) or over HTTP (``POST /_sim/spapi/ops/lose``).
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode

from simulators.core import (
    HttpError,
    Request,
    Response,
    Route,
    SimClock,
    SimulatorServer,
    SlidingWindowLimiter,
    TokenBucket,
)
from simulators.spapi import notifications as notif
from simulators.spapi import notifications_api
from simulators.spapi.scenario import register_scenario_routes
from simulators.spapi.world import (
    ApiError,
    Feed,
    InboundShipment,
    Report,
    Timing,
    World,
    invalid,
    iso_ms,
    iso_s,
    parse_time,
)

JSON = Any

EU_MARKETPLACES = ("A1F83G8C2ARO7P", "A1PA6795UKMFR9", "A13V1IB3VIYZZH", "APJ6JRA9NG5V4", "A1RKKUPIHCS9HS",
                   "A1805IZSGTT6HS", "A2NODRKZP88ZB9", "A1C3SOZRARQ6R3")

# Default usage plans (rate per second, burst) from the models' "Usage Plan" tables.
OPERATION_LIMITS: dict[str, tuple[float, int]] = {
    "createReport": (0.0167, 15), "getReport": (2.0, 15), "getReports": (0.0222, 10),
    "cancelReport": (0.0222, 10), "getReportDocument": (0.0167, 15),
    "createFeedDocument": (0.5, 15), "createFeed": (0.0083, 15), "getFeed": (2.0, 15),
    "cancelFeed": (2.0, 15), "getFeedDocument": (0.0222, 10),
    "getListingsItem": (5.0, 10), "patchListingsItem": (5.0, 5),
    "getInventorySummaries": (2.0, 2),
    "getShipments": (2.0, 30), "getShipmentItemsByShipmentId": (2.0, 30), "getShipmentItems": (2.0, 30),
    "listInboundPlans": (2.0, 6), "getInboundPlan": (2.0, 6), "getShipment": (2.0, 6),
    "listShipmentItems": (2.0, 30), "listInboundPlanItems": (2.0, 6),
    "getFeeds": (0.0222, 10),
    **notifications_api.LIMITS,
}
UNAUTHORIZED = {"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.",
                            "details": ""}]}
QUOTA_EXCEEDED = {"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource.",
                              "details": ""}]}
NO_SPAPI_AUTH = ("lwaToken", "uploadDocument", "downloadDocument", "downloadDocumentMirror")
DOC_MIRROR_PREFIX = "/tortuga-prod-eu-mirror"  # where a "redirect" host fault sends a download
TOKEN_EXPIRED = {"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.",
                             "details": "The access token you provided has expired."}]}
DOC_PREFIX = "/tortuga-prod-eu"  # the S3-style bucket path presigned document URLs point at
DOC_URL_TTL = 300  # presigned URLs expire after 5 minutes
INVENTORY_TOKEN_TTL = 30  # getInventorySummaries nextToken lifetime
LISTINGS_INCLUDED = ("summaries", "attributes", "issues", "offers", "fulfillmentAvailability", "procurement",
                     "relationships", "productTypes")
TOKEN_LIFETIME = 3600
FEED_STATUSES = frozenset({"CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE"})
REPORT_STATUSES = FEED_STATUSES
# Amazon's report and feed ids are numeric and its document ids ``amzn1.…`` (UUIDs in the sandbox); the
# models' sandbox examples answer a malformed id 400 (an unknown well-formed one stays 404 NotFound).
_JOB_ID = re.compile(r"^\d{1,20}$")
_DOC_ID = re.compile(r"^(amzn1\.[A-Za-z0-9._-]+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")


def _well_formed(value: str, pattern: re.Pattern[str], name: str) -> str:
    if not pattern.match(value):
        raise invalid(f"Invalid {name} {value!r}.")
    return value
_UNSET: Any = object()
WORLD_OPERATIONS = ("customer_order", "customer_shipment", "customer_return", "replacement", "lose", "find",
                    "damage", "dispose", "adjust", "warehouse_transfer", "vendor_return", "reimburse", "mfn_return",
                    "create_inbound_shipment", "ship_inbound", "receive_inbound", "close_inbound", "cancel_inbound",
                    "set_inbound_status", "set_fba_stock", "add_listing", "stale_inbound_v0")


def _qlist(req: Request, name: str) -> list[str]:
    """All values of a list query parameter, sent repeated or comma-separated."""
    out: list[str] = []
    for value in req.query.get(name, []):
        out.extend(v for v in value.split(",") if v)
    return out


def _int_param(req: Request, name: str, default: int, lo: int, hi: int) -> int:
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


class SpApiSimulator(SimulatorServer):
    """Stateful Amazon SP-API fake for one seller in one region (see docs/simulators-spapi.md)."""

    name = "spapi"

    def __init__(self, *, seller_id: str = "A1SELLER", marketplace_ids: tuple[str, ...] = EU_MARKETPLACES,
                 region: str = "eu", rate_scale: float = 1.0, rate_limits: bool = True,
                 clock: SimClock | None = None, host: str = "127.0.0.1", port: int = 0,
                 client_id: str = "amzn1.application-oa2-client.sim",
                 client_secret: str = "sim-client-secret",  # noqa: S107 - the simulator's own fake credential
                 refresh_token: str = "Atzr|sim-refresh-token",  # noqa: S107 - likewise
                 application_id: str = "amzn1.sellerapps.app.sim",
                 sqs_queue_url: str | None = None, sqs_endpoint_url: str | None = None,
                 sqs_region: str | None = None, notification_duplicates: int = 1,
                 timing: Timing | None = None, report_compression: str | None = "GZIP",
                 report_charset: str = "UTF-8", inventory_page_size: int = 50, inbound_page_size: int = 50,
                 strict_subscriptions: bool = False, seed: int = 7) -> None:
        super().__init__(host=host, port=port, clock=clock, seed=seed)
        self.seller_id = seller_id
        self.marketplace_ids = tuple(marketplace_ids)
        self.region = region
        self.rate_scale = rate_scale
        self.rate_limits = rate_limits
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_tokens = {refresh_token}
        self.application_id = application_id
        self.notification_duplicates = notification_duplicates
        self.notification_types: set[str] = set(notif.ALL_TYPES)
        # Strict: a notification type is delivered only while a Notifications API subscription exists.
        self.strict_subscriptions = strict_subscriptions
        self.notifications_api = notifications_api.NotificationsApi(self)
        self.sqs = notif.SqsSink(sqs_queue_url, endpoint_url=sqs_endpoint_url, region=sqs_region) \
            if sqs_queue_url else None
        self.notifications: list[JSON] = []  # every notification generated, delivered or not
        self.inventory_page_size = inventory_page_size
        self.inbound_page_size = inbound_page_size
        self._timing = timing
        self._report_compression = report_compression
        self._report_charset = report_charset
        self._doc_secret = uuid.uuid4().hex.encode()
        # What reset() goes back to.
        self._initial: dict[str, Any] = {
            "client_id": client_id, "client_secret": client_secret, "refresh_tokens": {refresh_token},
            "notification_duplicates": notification_duplicates, "report_compression": report_compression,
            "report_charset": report_charset, "rate_scale": rate_scale, "rate_limits": rate_limits,
            "strict_subscriptions": strict_subscriptions}
        self._new_world()
        self._register_routes()

    # ================================================================== state
    def _new_world(self) -> None:
        self.world = World(clock=self.clock, seller_id=self.seller_id, marketplace_ids=self.marketplace_ids,
                           rng=self.random, timing=replace(self._timing) if self._timing else Timing())
        self.world.report_compression = self._report_compression
        self.world.report_charset = self._report_charset
        self.world.on_report_finished = self._report_finished
        self.world.on_feed_finished = self._feed_finished
        self.world.on_inventory_changed = self._inventory_changed
        # access token → (expiry in clock seconds, "seller" or the grantless token's scope)
        self._tokens: dict[str, tuple[float, str]] = {}
        self._buckets: dict[str, TokenBucket] = {}
        self._listings_feed_limiter = SlidingWindowLimiter(
            self.clock, max(1, int(5 * self.rate_scale)), 300.0)
        self._page_tokens: dict[str, tuple[float, JSON]] = {}

    def seed(self, data: JSON) -> None:
        """Replace the world with ``data`` (shape in docs/simulators-spapi.md)."""
        with self.lock:
            self._new_world()
            creds = data.get("credentials") or {}
            self.client_id = creds.get("client_id", self.client_id)
            self.client_secret = creds.get("client_secret", self.client_secret)
            if "refresh_token" in creds or "refresh_tokens" in creds:
                self.refresh_tokens = set(creds.get("refresh_tokens") or []) | (
                    {creds["refresh_token"]} if creds.get("refresh_token") else set())
            self.world.seed(data)
            self.notifications_api.seed(data.get("notifications") or {})

    def state(self) -> JSON:
        with self.lock:
            self.tick()
            return {**self.world.state(), "notifications": len(self.notifications),
                    "undelivered": len(self.sqs.failed) if self.sqs else 0}

    def reset(self) -> None:
        """Back to the constructor's state: empty world, no tokens, faults, journal or notifications."""
        super().reset()
        with self.lock:
            for key, value in self._initial.items():
                setattr(self, key, set(value) if isinstance(value, set) else value)
            self._report_compression = self._initial["report_compression"]
            self._report_charset = self._initial["report_charset"]
            self.notification_types = set(notif.ALL_TYPES)
            self.notifications_api.reset()
            self.notifications.clear()
            if self.sqs:
                self.sqs.failed.clear()
            self._new_world()

    def tick(self) -> None:
        """Run whatever is due on the simulated clock (report/feed processing, notifications)."""
        with self.lock:
            self.world.advance()

    # ================================================================== notifications
    def _publish(self, notification_type: str, body: JSON) -> None:
        if notification_type not in self.notification_types:
            return
        subscription = self.notifications_api.state.subscription_for(notification_type)
        if subscription is None and self.strict_subscriptions:
            return  # Amazon sends nothing for a type nobody subscribed to
        if subscription is not None:
            meta = body.get("notificationMetadata") or body.get("NotificationMetadata") or {}
            key = "subscriptionId" if "subscriptionId" in meta else "SubscriptionId"
            meta[key] = subscription.subscription_id
        self.notifications.append(body)
        if self.sqs:
            self.sqs.send(body, self.notification_duplicates)

    def _report_finished(self, report: Report) -> None:
        self._publish(notif.REPORT_PROCESSING_FINISHED, notif.report_finished(
            report, seller_id=self.seller_id, application_id=self.application_id, published=self.clock.now()))

    def _feed_finished(self, feed: Feed) -> None:
        self._publish(notif.FEED_PROCESSING_FINISHED, notif.feed_finished(
            feed, seller_id=self.seller_id, application_id=self.application_id, published=self.clock.now()))

    def _inventory_changed(self, sku: str) -> None:
        if notif.FBA_INVENTORY_AVAILABILITY_CHANGES not in self.notification_types:
            return
        payload = self.world.availability_notification_payload(sku)
        self._publish(notif.FBA_INVENTORY_AVAILABILITY_CHANGES, notif.inventory_changed(
            payload, application_id=self.application_id, published=self.clock.now()))

    # ================================================================== hooks
    def authenticate(self, req: Request, route: Route) -> Response | None:
        if route.name in NO_SPAPI_AUTH:
            return None
        if self.world.scenario.token_expires_now():  # scenario: every token expires before this request
            now = self.clock.seconds()
            self._tokens = {t: (min(exp, now), kind) for t, (exp, kind) in self._tokens.items()}
        token = req.header("x-amz-access-token")
        entry = self._tokens.get(token or "")
        if entry is not None and entry[0] <= self.clock.seconds():
            return Response(403, TOKEN_EXPIRED)
        # Grantless operations take only a client_credentials token of the notifications scope, every
        # other operation only a seller's token (jrl84/amazon-sp-api#20: "Access ... is denied").
        if route.name in notifications_api.EITHER_TOKEN_OPERATIONS:
            wanted = {"seller", notifications_api.NOTIFICATIONS_SCOPE}
        elif route.name in notifications_api.GRANTLESS_OPERATIONS:
            wanted = {notifications_api.NOTIFICATIONS_SCOPE}
        else:
            wanted = {"seller"}
        if entry is None or entry[1] not in wanted:
            return Response(403, UNAUTHORIZED)
        return None

    def _bucket(self, operation: str) -> TokenBucket | None:
        if operation not in OPERATION_LIMITS:
            return None
        if operation not in self._buckets:
            rate, burst = OPERATION_LIMITS[operation]
            # A scale above 1 widens the bucket too, so fast tests are not capped by the documented burst.
            self._buckets[operation] = TokenBucket(self.clock, rate * self.rate_scale,
                                                   max(1, round(burst * max(1.0, self.rate_scale))))
        return self._buckets[operation]

    def before_route(self, req: Request, route: Route) -> Response | None:
        if not self.rate_limits:
            return None
        bucket = self._bucket(route.name)
        if bucket is not None and not bucket.try_take():
            return Response(429, QUOTA_EXCEEDED)
        return None

    def decorate(self, req: Request, resp: Response, route: Route | None) -> None:
        resp.headers.setdefault("x-amzn-RequestId", str(uuid.uuid4()))
        if route is not None and route.name in OPERATION_LIMITS and 200 <= resp.status < 300:
            rate = OPERATION_LIMITS[route.name][0] * self.rate_scale
            resp.headers["x-amzn-RateLimit-Limit"] = f"{rate:g}"

    def fault_body(self, status: int) -> JSON:
        if status == 429:
            return QUOTA_EXCEEDED
        if status == 503:
            return {"errors": [{"code": "ServiceUnavailable", "message": "Service temporarily unavailable.",
                                "details": ""}]}
        if status == 403:
            return UNAUTHORIZED
        return {"errors": [{"code": "InternalFailure", "message": "We encountered an internal error. Please try again.",
                            "details": ""}]}

    def not_found(self, req: Request) -> Response:
        return Response(404, {"errors": [{"code": "NotFound", "message": f"Resource {req.path} is not found.",
                                          "details": ""}]})

    # ================================================================== route plumbing
    def _op(self, method: str, pattern: str, name: str, fn: Callable[[Request], Response]) -> None:
        def handler(req: Request) -> Response:
            self.tick()
            try:
                return fn(req)
            except ApiError as e:
                return Response(e.status, e.body())
            except ValueError as e:  # a world rule the request broke (unknown SKU, not enough stock...)
                return Response(400, invalid(str(e)).body())

        self.route(method, pattern, handler, name=name)

    @staticmethod
    def _body(req: Request) -> JSON:
        try:
            body = req.json()
        except (ValueError, UnicodeDecodeError):
            raise invalid("The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise invalid("The request body must be a JSON object.")
        return body

    def _check_marketplaces(self, ids: list[str], name: str = "marketplaceIds") -> list[str]:
        if not ids:
            raise invalid(f"{name} is required.")
        unknown = [m for m in ids if m not in self.marketplace_ids]
        if unknown:
            raise invalid(f"Invalid {name}: {', '.join(unknown)} is not a marketplace of this region.")
        return ids

    def _page_token(self, data: JSON) -> str:
        token = uuid.uuid4().hex + uuid.uuid4().hex
        self._page_tokens[token] = (self.clock.seconds(), data)
        return token

    def _take_page_token(self, token: str, ttl: float | None = None) -> JSON:
        entry = self._page_tokens.get(token)
        if entry is None or (ttl is not None and self.clock.seconds() - entry[0] > ttl):
            self._page_tokens.pop(token, None)
            raise invalid("The nextToken is invalid or has expired.")
        return entry[1]

    def _register_routes(self) -> None:
        self.route("POST", r"/auth/o2/token", self._lwa_token, name="lwaToken")
        self.route("PUT", DOC_PREFIX + r"/(?P<doc>[^/]+)", self._upload_document, name="uploadDocument")
        self.route("GET", DOC_MIRROR_PREFIX + r"/(?P<doc>[^/]+)", self._download_mirror,
                   name="downloadDocumentMirror", write=False)
        register_scenario_routes(self)
        self.route("GET", DOC_PREFIX + r"/(?P<doc>[^/]+)", self._download_document, name="downloadDocument",
                   write=False)
        r = "/reports/2021-06-30"
        self._op("POST", r + r"/reports", "createReport", self._create_report)
        self._op("GET", r + r"/reports", "getReports", self._get_reports)
        self._op("GET", r + r"/reports/(?P<id>[^/]+)", "getReport", self._get_report)
        self._op("DELETE", r + r"/reports/(?P<id>[^/]+)", "cancelReport", self._cancel_report)
        self._op("GET", r + r"/documents/(?P<id>[^/]+)", "getReportDocument", self._get_report_document)
        f = "/feeds/2021-06-30"
        self._op("POST", f + r"/documents", "createFeedDocument", self._create_feed_document)
        self._op("POST", f + r"/feeds", "createFeed", self._create_feed)
        self._op("GET", f + r"/feeds", "getFeeds", self._get_feeds)
        self._op("GET", f + r"/feeds/(?P<id>[^/]+)", "getFeed", self._get_feed)
        self._op("DELETE", f + r"/feeds/(?P<id>[^/]+)", "cancelFeed", self._cancel_feed)
        self._op("GET", f + r"/documents/(?P<id>[^/]+)", "getFeedDocument", self._get_feed_document)
        li = r"/listings/2021-08-01/items/(?P<seller>[^/]+)/(?P<sku>[^/]+)"
        self._op("GET", li, "getListingsItem", self._get_listings_item)
        self._op("PATCH", li, "patchListingsItem", self._patch_listings_item)
        # A raw "/" in the SKU makes the path longer than the operation's: Amazon answers 403
        # Unauthorized (selling-partner-api-models #1100, #4429; python-amazon-sp-api #495).
        li_slash = r"/listings/2021-08-01/items/(?P<seller>[^/]+)/(?P<sku>[^?]+/[^?]*)"
        self._op("GET", li_slash, "getListingsItem", self._listing_raw_slash)
        self._op("PATCH", li_slash, "patchListingsItem", self._listing_raw_slash)
        self._op("GET", r"/fba/inventory/v1/summaries", "getInventorySummaries", self._get_inventory_summaries)
        v0 = "/fba/inbound/v0"
        self._op("GET", v0 + r"/shipments", "getShipments", self._get_shipments)
        self._op("GET", v0 + r"/shipments/(?P<id>[^/]+)/items", "getShipmentItemsByShipmentId",
                 self._get_shipment_items_by_id)
        self._op("GET", v0 + r"/shipmentItems", "getShipmentItems", self._get_shipment_items)
        p = "/inbound/fba/2024-03-20/inboundPlans"
        self._op("GET", p, "listInboundPlans", self._list_inbound_plans)
        self._op("GET", p + r"/(?P<plan>[^/]+)", "getInboundPlan", self._get_inbound_plan)
        self._op("GET", p + r"/(?P<plan>[^/]+)/items", "listInboundPlanItems", self._list_inbound_plan_items)
        self._op("GET", p + r"/(?P<plan>[^/]+)/shipments/(?P<shipment>[^/]+)", "getShipment", self._get_shipment)
        self._op("GET", p + r"/(?P<plan>[^/]+)/shipments/(?P<shipment>[^/]+)/items", "listShipmentItems",
                 self._list_shipment_items)
        self.notifications_api.register()
        self._register_sim_routes()

    # ================================================================== LWA
    def _lwa_token(self, req: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(req.body.decode("utf-8", "replace")).items()}
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return Response(401, {"error": "invalid_client",
                                  "error_description": "Client authentication failed"})
        grant = form.get("grant_type")
        token = "Atza|" + uuid.uuid4().hex + uuid.uuid4().hex
        if grant == "refresh_token":
            if form.get("refresh_token") not in self.refresh_tokens:
                return Response(400, {"error": "invalid_grant",
                                      "error_description":
                                          "The request has an invalid grant parameter : refresh_token"})
            with self.lock:
                self._tokens[token] = (self.clock.seconds() + TOKEN_LIFETIME, "seller")
            return Response(200, {"access_token": token, "refresh_token": form["refresh_token"],
                                  "token_type": "bearer", "expires_in": TOKEN_LIFETIME})
        if grant == "client_credentials":
            if form.get("scope") not in notifications_api.GRANTLESS_SCOPES:
                return Response(400, {"error": "invalid_scope", "error_description": "The scope is invalid"})
            with self.lock:
                self._tokens[token] = (self.clock.seconds() + TOKEN_LIFETIME, form["scope"])
            return Response(200, {"access_token": token, "scope": form["scope"], "token_type": "bearer",
                                  "expires_in": TOKEN_LIFETIME})
        return Response(400, {"error": "unsupported_grant_type",
                              "error_description": f"Unsupported grant type {grant!r}"})

    def expire_tokens(self) -> None:
        """Invalidate every access token issued so far (a client must go back to LWA)."""
        with self.lock:
            self._tokens.clear()

    # ================================================================== documents (S3-style)
    def _sign(self, doc_id: str, method: str, issued: str) -> str:
        return hmac.new(self._doc_secret, f"{method}\n{doc_id}\n{issued}".encode(), hashlib.sha256).hexdigest()

    def presigned_url(self, doc_id: str, method: str) -> str:
        issued = self.clock.now().strftime("%Y%m%dT%H%M%SZ")
        signature = self._sign(doc_id, method, issued)
        return (f"{self.url}{DOC_PREFIX}/{doc_id}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={issued}"
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
        if self.clock.now() > issued_at + timedelta(seconds=DOC_URL_TTL + 1):
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
        self.world.upload_document(doc_id, req.body, req.header("content-type"))
        return Response(200, None, {"ETag": '"' + hashlib.md5(req.body, usedforsecurity=False).hexdigest() + '"'})

    def _download_document(self, req: Request) -> Response:
        refused = self._check_presigned(req, "GET")
        if refused:
            return refused
        doc_id = unquote(req.params["doc"])
        doc = self.world.documents.get(doc_id)
        if doc is None or doc.content is None:
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
        owner = next((r for r in self.world.reports.values() if r.document_id == doc_id), None)
        fault = self.world.scenario.host_fault(owner.report_type if owner else None) if owner else None
        if fault is None:
            return Response(200, raw=doc.content, content_type=doc.content_type)
        if fault.kind == "500":
            return _s3_error(500, "InternalError", "We encountered an internal error. Please try again.")
        if fault.kind == "redirect":
            query = urlencode({k: v[0] for k, v in req.query.items()})
            return Response(302, None, {"Location": f"{self.url}{DOC_MIRROR_PREFIX}/{doc_id}?{query}"})
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

    # ================================================================== reports
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
        report = self.world.create_report(report_type, mkts, options=options,
                                          data_start=parse_time(body.get("dataStartTime"), "dataStartTime"),
                                          data_end=parse_time(body.get("dataEndTime"), "dataEndTime"))
        return Response(202, {"reportId": report.report_id})

    def _get_report(self, req: Request) -> Response:
        report = self.world.reports.get(_well_formed(req.params["id"], _JOB_ID, "reportId"))
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
            types = _qlist(req, "reportTypes")
            if not types:
                raise invalid("Either reportTypes or nextToken is required.")
            statuses = set(_qlist(req, "processingStatuses"))
            bad = sorted(statuses - REPORT_STATUSES)
            if bad:
                raise invalid(f"Invalid processingStatuses value(s): {', '.join(bad)}.")
            mkts = set(_qlist(req, "marketplaceIds"))
            now = self.clock.now()
            since = parse_time(req.q("createdSince"), "createdSince") or now - timedelta(days=90)
            until = parse_time(req.q("createdUntil"), "createdUntil") or now
            size = _int_param(req, "pageSize", 10, 1, 100)
            matches = [r for r in self.world.reports.values()
                       if r.report_type in types and (not statuses or r.status in statuses)
                       and (not mkts or mkts & set(r.marketplace_ids)) and since <= r.created <= until]
            ids = [r.report_id for r in sorted(matches, key=lambda r: r.created, reverse=True)]
            offset = 0
        page = ids[offset:offset + size]
        out: JSON = {"reports": [self.world.reports[i].to_api() for i in page]}
        if offset + size < len(ids):
            out["nextToken"] = self._page_token((ids, offset + size, size))
        return Response(200, out)

    def _cancel_report(self, req: Request) -> Response:
        self.world.cancel_report(_well_formed(req.params["id"], _JOB_ID, "reportId"))
        return Response(200, None)

    def _get_report_document(self, req: Request) -> Response:
        doc_id = _well_formed(unquote(req.params["id"]), _DOC_ID, "reportDocumentId")
        owner = next((r for r in self.world.reports.values() if r.document_id == doc_id), None)
        doc = self.world.documents.get(doc_id)
        if owner is None or doc is None:
            raise ApiError(404, "NotFound", f"Report document {doc_id} not found.")
        out: JSON = {"reportDocumentId": doc_id, "url": self.presigned_url(doc_id, "GET")}
        if doc.compression:
            out["compressionAlgorithm"] = doc.compression
        return Response(200, out)

    # ================================================================== feeds
    def _create_feed_document(self, req: Request) -> Response:
        body = self._body(req)
        content_type = body.get("contentType")
        if not isinstance(content_type, str) or not content_type:
            raise invalid("contentType is required.")
        doc = self.world.create_feed_document(content_type)
        return Response(201, {"feedDocumentId": doc.document_id, "url": self.presigned_url(doc.document_id, "PUT")})

    def _create_feed(self, req: Request) -> Response:
        body = self._body(req)
        feed_type, doc_id, mkts = body.get("feedType"), body.get("inputFeedDocumentId"), body.get("marketplaceIds")
        if not isinstance(feed_type, str) or not feed_type:
            raise invalid("feedType is required.")
        if not isinstance(doc_id, str) or not doc_id:
            raise invalid("inputFeedDocumentId is required.")
        if not isinstance(mkts, list) or not 1 <= len(mkts) <= 25:
            raise invalid("marketplaceIds must be a list of 1 to 25 marketplace ids.")
        self._check_marketplaces(mkts)
        options = body.get("feedOptions") or {}
        if feed_type == "JSON_LISTINGS_FEED" and self.rate_limits and not self._listings_feed_limiter.try_hit():
            # JSON_LISTINGS_FEED has its own cap (5 per 5 minutes) on top of createFeed's bucket.
            return Response(429, QUOTA_EXCEEDED)
        feed = self.world.create_feed(feed_type, mkts, doc_id, options)
        return Response(202, {"feedId": feed.feed_id})

    def _get_feeds(self, req: Request) -> Response:
        token = req.q("nextToken")
        if token:
            if any(k in req.query for k in ("feedTypes", "processingStatuses", "marketplaceIds", "createdSince",
                                            "createdUntil", "pageSize")):
                raise invalid("nextToken must be the only parameter.")
            ids, offset, size = self._take_page_token(token)
        else:
            types = _qlist(req, "feedTypes")
            if not 1 <= len(types) <= 10:
                raise invalid("Either feedTypes (1 to 10 feed types) or nextToken is required.")
            statuses = set(_qlist(req, "processingStatuses"))
            bad = sorted(statuses - FEED_STATUSES)
            if bad:
                raise invalid(f"Invalid processingStatuses value(s): {', '.join(bad)}.")
            mkts = _qlist(req, "marketplaceIds")
            if len(mkts) > 10:
                raise invalid("marketplaceIds accepts at most 10 marketplace ids.")
            if mkts:
                self._check_marketplaces(mkts)
            now = self.clock.now()
            # Defaults from the model: createdSince 90 days ago, createdUntil now.
            since = parse_time(req.q("createdSince"), "createdSince") or now - timedelta(days=90)
            until = parse_time(req.q("createdUntil"), "createdUntil") or now
            size = _int_param(req, "pageSize", 10, 1, 100)
            matches = [f for f in self.world.feeds.values()
                       if f.feed_type in types and (not statuses or f.status in statuses)
                       and (not mkts or set(mkts) & set(f.marketplace_ids)) and since <= f.created <= until]
            ids = [f.feed_id for f in sorted(matches, key=lambda f: f.created, reverse=True)]
            offset = 0
        out: JSON = {"feeds": [self.world.feeds[i].to_api() for i in ids[offset:offset + size]]}
        if offset + size < len(ids):
            out["nextToken"] = self._page_token((ids, offset + size, size))
        return Response(200, out)

    def _get_feed(self, req: Request) -> Response:
        feed = self.world.feeds.get(_well_formed(req.params["id"], _JOB_ID, "feedId"))
        if feed is None:
            raise ApiError(404, "NotFound", f"Feed {req.params['id']} not found.")
        return Response(200, feed.to_api())

    def _cancel_feed(self, req: Request) -> Response:
        self.world.cancel_feed(_well_formed(req.params["id"], _JOB_ID, "feedId"))
        return Response(200, None)

    def _get_feed_document(self, req: Request) -> Response:
        doc_id = _well_formed(unquote(req.params["id"]), _DOC_ID, "feedDocumentId")
        doc = self.world.documents.get(doc_id)
        if doc is None or doc.content is None:
            raise ApiError(404, "NotFound", f"Feed document {doc_id} not found.")
        out: JSON = {"feedDocumentId": doc_id, "url": self.presigned_url(doc_id, "GET")}
        if doc.compression:
            out["compressionAlgorithm"] = doc.compression
        return Response(200, out)

    # ================================================================== listings items
    def _listing_request(self, req: Request) -> tuple[str, list[str]]:
        if unquote(req.params["seller"]) != self.seller_id:
            raise ApiError(403, "Unauthorized", "Access to requested resource is denied.")
        return unquote(req.params["sku"]), self._check_marketplaces(_qlist(req, "marketplaceIds"))

    def _listing_raw_slash(self, req: Request) -> Response:
        raise ApiError(403, "Unauthorized", "Access to requested resource is denied.")

    def _listing_not_found(self, sku: str, mkts: list[str]) -> ApiError:
        if self.world.listing_not_found_status == 400:  # as Amazon's sandbox answers a bad id
            return ApiError(400, "InvalidInput", f"{sku} is an invalid SKU for marketplace {','.join(mkts)}")
        return ApiError(404, "NOT_FOUND", f"SKU '{sku}' not found in marketplace {','.join(mkts)}")

    def _get_listings_item(self, req: Request) -> Response:
        sku, mkts = self._listing_request(req)
        included = _qlist(req, "includedData") or ["summaries"]
        bad = [i for i in included if i not in LISTINGS_INCLUDED]
        if bad:
            raise invalid(f"Invalid includedData value(s): {', '.join(bad)}.")
        listing = self.world.listings.get(sku)
        if listing is None or not set(mkts) & set(listing.marketplace_ids):
            raise self._listing_not_found(sku, mkts)
        return Response(200, self.world.listing_item(sku, mkts, included))

    def _patch_listings_item(self, req: Request) -> Response:
        sku, mkts = self._listing_request(req)
        body = self._body(req)
        if not isinstance(body.get("productType"), str) or not body["productType"]:
            raise invalid("productType is required.")
        patches = body.get("patches")
        if not isinstance(patches, list) or not patches:
            raise invalid("patches must be a non-empty array.")
        for p in patches:
            if not isinstance(p, dict) or p.get("op") not in ("add", "replace", "merge", "delete") \
                    or not isinstance(p.get("path"), str):
                raise invalid("Each patch needs op (add, replace, merge, delete) and path.")
            if "value" in p and not isinstance(p["value"], list):
                raise invalid("A patch value must be an array.")
        included = _qlist(req, "includedData") or ["issues"]
        mode = req.q("mode")
        if mode not in (None, "VALIDATION_PREVIEW"):
            raise invalid(f"Invalid mode {mode}.")
        preview = mode == "VALIDATION_PREVIEW"
        listing = self.world.listings.get(sku)
        issues = self.world.patch_listing(sku, patches, apply=not preview)
        for issue in issues:
            issue.setdefault("marketplaceIds", mkts)
        status = "INVALID" if issues else ("VALID" if preview else "ACCEPTED")
        out: JSON = {"sku": sku, "status": status, "submissionId": uuid.uuid4().hex}
        if "issues" in included:
            out["issues"] = issues
        if "identifiers" in included:
            out["identifiers"] = [] if listing is None else [{"marketplaceId": m, "asin": listing.asin} for m in mkts]
        return Response(200, out)

    # ================================================================== FBA inventory
    def _get_inventory_summaries(self, req: Request) -> Response:
        if req.q("granularityType") != "Marketplace":
            raise invalid("granularityType must be Marketplace.")
        granularity_id = req.q("granularityId") or ""
        self._check_marketplaces([granularity_id], "granularityId")
        mkts = self._check_marketplaces(_qlist(req, "marketplaceIds"))
        if len(mkts) != 1:
            raise invalid("marketplaceIds must contain exactly one marketplace.")
        details = (req.q("details") or "false").lower() == "true"
        token = req.q("nextToken")
        if token:
            skus, offset = self._take_page_token(token, INVENTORY_TOKEN_TTL)
        else:
            wanted = _qlist(req, "sellerSkus")
            if len(wanted) > 50:
                raise invalid("sellerSkus accepts at most 50 SKUs.")
            single = req.q("sellerSku")
            since = parse_time(req.q("startDateTime"), "startDateTime")
            # Pan-EU: one pool for the region, so every EU marketplace sees the same SKUs and quantities.
            skus = sorted(s for s in self.world.fba if s in self.world.listings
                          and (not wanted or s in wanted) and (not single or s == single)
                          and (since is None or self.world.fba[s].updated >= since))
            offset = 0
        page = skus[offset:offset + self.inventory_page_size]
        out: JSON = {"payload": {"granularity": {"granularityType": "Marketplace", "granularityId": granularity_id},
                                 "inventorySummaries": [self.world.inventory_summary(s, details) for s in page]}}
        if offset + self.inventory_page_size < len(skus):
            out["pagination"] = {"nextToken": self._page_token((skus, offset + self.inventory_page_size))}
        return Response(200, out)

    # ================================================================== inbound v0
    def _v0_shipment(self, shp: InboundShipment) -> JSON:
        return {"ShipmentId": shp.shipment_id, "ShipmentName": shp.name, "ShipFromAddress": dict(self.world.ship_from),
                "DestinationFulfillmentCenterId": shp.fc, "ShipmentStatus": shp.status,
                "LabelPrepType": shp.label_prep, "AreCasesRequired": False, "BoxContentsSource": "INTERACTIVE"}

    @staticmethod
    def _v0_items(shp: InboundShipment, fnsku: Callable[[str], str]) -> list[JSON]:
        if shp.v0_hidden:  # stale v0 control: a 2024-03-20 shipment v0 shows no items for
            return []
        stale = shp.v0_received
        return [{"ShipmentId": shp.shipment_id, "SellerSKU": i.sku, "FulfillmentNetworkSKU": fnsku(i.sku),
                 "QuantityShipped": i.shipped,
                 "QuantityReceived": i.received if stale is None else min(i.received, stale.get(i.sku, 0)),
                 "QuantityInCase": i.quantity_in_case, "PrepDetailsList": []} for i in shp.items.values()]

    def _fnsku(self, sku: str) -> str:
        return self.world.listings[sku].fnsku

    def _v0_marketplace(self, req: Request, required: bool = True) -> None:
        mkt = req.q("MarketplaceId")
        if mkt or required:
            self._check_marketplaces([mkt] if mkt else [], "MarketplaceId")

    def _v0_page(self, kind: str, rows: list[JSON], offset: int = 0) -> JSON:
        page = rows[offset:offset + self.inbound_page_size]
        out: JSON = {"ShipmentData" if kind == "shipments" else "ItemData": page}
        if offset + self.inbound_page_size < len(rows):
            out["NextToken"] = self._page_token((kind, rows, offset + self.inbound_page_size))
        return {"payload": out}

    def _v0_window(self, req: Request) -> list[InboundShipment]:
        after = parse_time(req.q("LastUpdatedAfter"), "LastUpdatedAfter")
        before = parse_time(req.q("LastUpdatedBefore"), "LastUpdatedBefore")
        if after is None or before is None:
            raise invalid("LastUpdatedAfter and LastUpdatedBefore are required for QueryType DATE_RANGE.")
        return [s for s in self.world.shipments.values() if after <= s.updated <= before]

    def _get_shipments(self, req: Request) -> Response:
        self._v0_marketplace(req)
        query_type = req.q("QueryType")
        if query_type == "NEXT_TOKEN":
            kind, rows, offset = self._take_page_token(req.q("NextToken") or "")
            if kind != "shipments":
                raise invalid("The NextToken is not a getShipments token.")
            return Response(200, self._v0_page("shipments", rows, offset))
        statuses = set(_qlist(req, "ShipmentStatusList"))
        ids = _qlist(req, "ShipmentIdList")
        if query_type == "SHIPMENT":
            if not statuses and not ids:
                raise invalid("ShipmentStatusList or ShipmentIdList is required for QueryType SHIPMENT.")
            found = list(self.world.shipments.values())
        elif query_type == "DATE_RANGE":
            found = self._v0_window(req)
        else:
            raise invalid("QueryType must be SHIPMENT, DATE_RANGE or NEXT_TOKEN.")
        if len(ids) > 999:
            raise invalid("ShipmentIdList accepts at most 999 ids.")
        found = [s for s in found if (not ids or s.shipment_id in ids) and (not statuses or s.status in statuses)]
        rows = [self._v0_shipment(s) for s in sorted(found, key=lambda s: s.created)]
        return Response(200, self._v0_page("shipments", rows))

    def _get_shipment_items_by_id(self, req: Request) -> Response:
        self._v0_marketplace(req, required=False)
        shp = self.world.shipments.get(unquote(req.params["id"]))
        if shp is None:
            raise invalid(f"Invalid shipmentId {req.params['id']}.")
        # The operation takes no NextToken: every item of the shipment comes in one answer.
        return Response(200, {"payload": {"ItemData": self._v0_items(shp, self._fnsku)}})

    def _get_shipment_items(self, req: Request) -> Response:
        self._v0_marketplace(req)
        query_type = req.q("QueryType")
        if query_type == "NEXT_TOKEN":
            kind, rows, offset = self._take_page_token(req.q("NextToken") or "")
            if kind != "items":
                raise invalid("The NextToken is not a getShipmentItems token.")
            return Response(200, self._v0_page("items", rows, offset))
        if query_type != "DATE_RANGE":
            raise invalid("QueryType must be DATE_RANGE or NEXT_TOKEN.")
        rows = [row for s in sorted(self._v0_window(req), key=lambda s: s.created)
                for row in self._v0_items(s, self._fnsku)]
        return Response(200, self._v0_page("items", rows))

    # ================================================================== inbound 2024-03-20
    def _source_address(self) -> JSON:
        a = self.world.ship_from
        out = {"name": a["Name"], "addressLine1": a["AddressLine1"], "city": a["City"],
               "countryCode": a["CountryCode"], "postalCode": a["PostalCode"]}
        if a.get("StateOrProvinceCode"):
            out["stateOrProvinceCode"] = a["StateOrProvinceCode"]
        return out

    def _plan(self, plan_id: str) -> InboundShipment:
        shp = next((s for s in self.world.shipments.values() if s.plan_id == plan_id), None)
        if shp is None:
            raise ApiError(404, "NotFound", f"Inbound plan {plan_id} not found.")
        return shp

    def _plan_summary(self, shp: InboundShipment) -> JSON:
        return {"inboundPlanId": shp.plan_id, "name": f"FBA ({shp.created:%m/%d/%Y, %I:%M %p})",
                "status": shp.plan_status, "createdAt": iso_s(shp.created), "lastUpdatedAt": iso_s(shp.updated),
                "marketplaceIds": [self.marketplace_ids[0]], "sourceAddress": self._source_address()}

    def _paginate_2024(self, req: Request, rows: list[JSON], default: int, maximum: int) -> tuple[list[JSON], JSON]:
        size = _int_param(req, "pageSize", default, 1, maximum)
        token = req.q("paginationToken")
        offset = self._take_page_token(token) if token else 0
        pagination: JSON = {}
        if offset + size < len(rows):
            pagination["nextToken"] = self._page_token(offset + size)
        return rows[offset:offset + size], pagination

    def _list_inbound_plans(self, req: Request) -> Response:
        status = req.q("status")
        if status not in (None, "ACTIVE", "VOIDED", "SHIPPED"):
            raise invalid("status must be ACTIVE, VOIDED or SHIPPED.")
        sort_by = req.q("sortBy") or "LAST_UPDATED_TIME"
        order = req.q("sortOrder") or "ASC"
        if sort_by not in ("LAST_UPDATED_TIME", "CREATION_TIME") or order not in ("ASC", "DESC"):
            raise invalid("Invalid sortBy or sortOrder.")
        plans = [s for s in self.world.shipments.values() if status is None or s.plan_status == status]
        plans.sort(key=lambda s: s.updated if sort_by == "LAST_UPDATED_TIME" else s.created, reverse=order == "DESC")
        page, pagination = self._paginate_2024(req, [self._plan_summary(s) for s in plans], 10, 30)
        return Response(200, {"inboundPlans": page, "pagination": pagination})

    def _get_inbound_plan(self, req: Request) -> Response:
        shp = self._plan(req.params["plan"])
        return Response(200, {**self._plan_summary(shp),
                              "shipments": [{"shipmentId": shp.shipment_uuid, "status": shp.status}],
                              "packingOptions": [],
                              "placementOptions": [{"placementOptionId": shp.placement_option_id,
                                                    "status": "ACCEPTED"}]})

    def _get_shipment(self, req: Request) -> Response:
        shp = self._plan(req.params["plan"])
        if req.params["shipment"] != shp.shipment_uuid:
            raise ApiError(404, "NotFound", f"Shipment {req.params['shipment']} not found.")
        return Response(200, {
            "shipmentId": shp.shipment_uuid, "shipmentConfirmationId": shp.shipment_id, "name": shp.name,
            "status": shp.status, "placementOptionId": shp.placement_option_id,
            "source": {"sourceType": "SELLER_FACILITY", "address": self._source_address()},
            "destination": {"destinationType": "AMAZON_WAREHOUSE", "warehouseId": shp.fc},
        })

    def _items_2024(self, shp: InboundShipment) -> list[JSON]:
        out = []
        for item in shp.items.values():
            if item.shipped < 1:
                continue  # a SKU Amazon received but the seller never planned is not a planned item
            li = self.world.listings[item.sku]
            out.append({"msku": item.sku, "asin": li.asin, "fnsku": li.fnsku, "quantity": item.shipped,
                        "labelOwner": "SELLER", "prepInstructions": []})
        return out

    def _list_shipment_items(self, req: Request) -> Response:
        shp = self._plan(req.params["plan"])
        if req.params["shipment"] != shp.shipment_uuid:
            raise ApiError(404, "NotFound", f"Shipment {req.params['shipment']} not found.")
        page, pagination = self._paginate_2024(req, self._items_2024(shp), 10, 1000)
        return Response(200, {"items": page, "pagination": pagination})

    def _list_inbound_plan_items(self, req: Request) -> Response:
        shp = self._plan(req.params["plan"])
        page, pagination = self._paginate_2024(req, self._items_2024(shp), 10, 1000)
        return Response(200, {"items": page, "pagination": pagination})

    # ================================================================== control API
    def world_op(self, name: str, **kwargs: Any) -> Any:
        """Run a world operation by name under the server lock (what the control route calls)."""
        if name not in WORLD_OPERATIONS:
            raise ValueError(f"unknown world operation {name!r}; expected one of {WORLD_OPERATIONS}")
        fn = getattr(self.world, name)
        params = inspect.signature(fn).parameters
        for key, value in list(kwargs.items()):
            if key == "at" or key == "order_date":
                kwargs[key] = parse_time(value, key)
            if key not in params:
                raise ValueError(f"{name} takes no argument {key!r}")
        with self.lock:
            return fn(**kwargs)

    def _register_sim_routes(self) -> None:
        def run_op(req: Request) -> Response:
            result = self.world_op(req.params["op"], **(req.json() or {}))
            return Response(200, {"ok": True, "result": _describe(result)})

        def tick(req: Request) -> Response:
            self.tick()
            return Response(200, {"now": iso_ms(self.clock.now())})

        def force(req: Request) -> Response:
            body = req.json() or {}
            with self.lock:
                if req.params["kind"] == "report":
                    self.world.force_report_outcome(body["report_type"], body["outcome"], int(body.get("count", 1)))
                else:
                    self.world.force_feed_outcome(body["feed_type"], body["outcome"], int(body.get("count", 1)))
            return Response(200, {"ok": True})

        def settings(req: Request) -> Response:
            body = req.json() or {}
            with self.lock:
                self.configure(**body)
            return Response(200, {"ok": True})

        def expire(req: Request) -> Response:
            self.expire_tokens()
            return Response(200, {"ok": True})

        def notifications(req: Request) -> Response:
            with self.lock:
                self.tick()
                return Response(200, list(self.notifications))

        def document(req: Request) -> Response:
            with self.lock:
                text = self.document_text(req.params["doc"])
            return Response(200, raw=text.encode("utf-8"), content_type="text/plain;charset=UTF-8")

        self.route("POST", r"/_sim/spapi/ops/(?P<op>\w+)", run_op)
        self.route("POST", r"/_sim/spapi/tick", tick)
        self.route("POST", r"/_sim/spapi/force/(?P<kind>report|feed)", force)
        self.route("POST", r"/_sim/spapi/settings", settings)
        self.route("POST", r"/_sim/spapi/tokens/expire", expire)
        self.route("GET", r"/_sim/spapi/notifications", notifications, write=False)
        self.route("GET", r"/_sim/spapi/documents/(?P<doc>[^/]+)", document, write=False)

    def configure(self, *, report_compression: Any = _UNSET, report_charset: str | None = None,
                  notification_duplicates: int | None = None, notification_types: list[str] | None = None,
                  report_utc_offset_minutes: int | None = None, timing: dict[str, float] | None = None,
                  strict_subscriptions: bool | None = None,
                  listing_not_found_status: int | None = None, feed_delays: list[float] | None = None) -> None:
        """Change behaviour at run time (also ``POST /_sim/spapi/settings``)."""
        if listing_not_found_status is not None:
            if listing_not_found_status not in (400, 404):
                raise ValueError("listing_not_found_status must be 400 or 404")
            self.world.listing_not_found_status = int(listing_not_found_status)
        if feed_delays is not None:
            self.world.delay_next_feeds(list(feed_delays))
        if report_compression is not _UNSET:
            if report_compression not in (None, "GZIP"):
                raise ValueError("report_compression must be GZIP or null")
            self.world.report_compression = self._report_compression = report_compression
        if report_charset:
            "".encode(report_charset)  # raises LookupError early for an unknown codec
            self.world.report_charset = self._report_charset = report_charset
        if notification_duplicates is not None:
            self.notification_duplicates = int(notification_duplicates)
        if notification_types is not None:
            self.notification_types = set(notification_types)
        if strict_subscriptions is not None:
            self.strict_subscriptions = bool(strict_subscriptions)
        if report_utc_offset_minutes is not None:
            self.world.report_utc_offset = timedelta(minutes=int(report_utc_offset_minutes))
        if timing:
            for key, value in timing.items():
                if not hasattr(self.world.timing, key):
                    raise ValueError(f"unknown timing {key!r}")
                setattr(self.world.timing, key, float(value))

    def document_text(self, doc_id: str) -> str:
        """A stored document's text, decompressed and decoded (for tests and the demo)."""
        import gzip

        doc = self.world.documents.get(doc_id)
        if doc is None or doc.content is None:
            raise HttpError(404, {"error": f"no document {doc_id}"})
        raw = gzip.decompress(doc.content) if doc.compression == "GZIP" else doc.content
        charset = doc.content_type.split("charset=")[-1] if "charset=" in doc.content_type else "utf-8"
        return raw.decode(charset)


def _s3_error(status: int, code: str, message: str) -> Response:
    xml = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>'
    return Response(status, raw=xml.encode("utf-8"), content_type="application/xml")


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
