"""HTTP face of the Amazon SP-API simulator: the server that puts the API modules together (LWA in
``auth.py``, documents, Reports, Feeds, Listings Items, FBA Inventory, Fulfillment Inbound v0 and
2024-03-20, the Notifications API in ``notifications_api.py``), with per-operation token buckets and
responses shaped as Amazon's published models.

Handlers are thin: parse and validate the request, call the world's part for that API
(:class:`~simulators.spapi.world.World`), shape the answer. Anything a test needs to make happen on
Amazon's side is a world operation, reachable in-process (``sim.world.inventory.lose(...)``) or over
HTTP (``POST /_sim/spapi/ops/lose``, ``control.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from simulators.clock import SimClock
from simulators.core import SimulatorServer
from simulators.limits import SlidingWindowLimiter, TokenBucket
from simulators.spapi import control, notifications_api
from simulators.spapi import notifications as notif
from simulators.spapi.auth import UNAUTHORIZED, LwaRoutes
from simulators.spapi.common import EU_MARKETPLACES, ApiError, Timing, invalid
from simulators.spapi.documents import DocumentRoutes
from simulators.spapi.feeds import Feed, FeedRoutes
from simulators.spapi.finances import FinancesRoutes
from simulators.spapi.http import QUOTA_EXCEEDED
from simulators.spapi.inbound import InboundRoutes
from simulators.spapi.inventory import InventoryRoutes
from simulators.spapi.listings import ListingsRoutes
from simulators.spapi.report_jobs import ReportRoutes
from simulators.spapi.reports import Report
from simulators.spapi.scenario import register_scenario_routes
from simulators.spapi.world import World
from simulators.wire import Request, Response, Route

JSON = Any


# Issue 16: each region's marketplaces (developer-docs.amazon.com/sp-api/docs/marketplace-ids), the
# simulator's default for its region; a world's fulfilment centre and country; where its ids count from.
REGION_MARKETPLACES: dict[str, tuple[str, ...]] = {
    "eu": EU_MARKETPLACES,
    "na": ("ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8", "A2Q3Y263D00KWC"),
    "fe": ("A1VC38T7YXB528", "A39IBJ37TRP1C6", "A19VAU5U5O7RUS"),
}
ALL_REGIONS_MARKETPLACES = frozenset({*EU_MARKETPLACES, "AMEN7PMS3EDWL", "A28R8C7NBKEWEA", "A33AVAJ2PDY3EV",
                                      "AE08WJ6YKNBMC", "ARBP9OOSHTCHU", "A17E79C6D8DWNP", "A2VIGQ35RCS4UG",
                                      "A21TJRUUN4KGV", *REGION_MARKETPLACES["na"], *REGION_MARKETPLACES["fe"]})
REGION_WORLD: dict[str, dict[str, Any]] = {
    "eu": {"default_fc": "LTN1", "country": "GB", "seq_start": 0},
    "na": {"default_fc": "PHX7", "country": "US", "seq_start": 1_000_000_000},
    "fe": {"default_fc": "NRT1", "country": "JP", "seq_start": 2_000_000_000},
}

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
    "listFinancialEventsByOrderId": (0.5, 30), "listFinancialEvents": (0.5, 30),
    **notifications_api.LIMITS,
}


class SpApiSimulator(SimulatorServer):
    """Stateful Amazon SP-API fake for one seller in one region (see docs/simulators-spapi.md)."""

    name = "spapi"

    def __init__(self, *, seller_id: str = "A1SELLER", marketplace_ids: tuple[str, ...] | None = None,
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
        if region not in REGION_MARKETPLACES:
            raise ValueError(f"region {region!r}: the simulator serves {', '.join(REGION_MARKETPLACES)}")
        self.marketplace_ids = tuple(marketplace_ids or REGION_MARKETPLACES[region])
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
        # What reset() goes back to.
        self._initial: dict[str, Any] = {
            "client_id": client_id, "client_secret": client_secret, "refresh_tokens": {refresh_token},
            "notification_duplicates": notification_duplicates, "report_compression": report_compression,
            "report_charset": report_charset, "rate_scale": rate_scale, "rate_limits": rate_limits,
            "strict_subscriptions": strict_subscriptions}
        self.lwa = LwaRoutes(self)
        self.document_routes = DocumentRoutes(self)
        self._new_world()
        self._register_routes()

    # ================================================================== state
    def _new_world(self) -> None:
        self.world = World(clock=self.clock, seller_id=self.seller_id, marketplace_ids=self.marketplace_ids,
                           rng=self.random, timing=replace(self._timing) if self._timing else Timing(),
                           region=self.region, **REGION_WORLD[self.region])
        self.world.report_jobs.compression = self._report_compression
        self.world.report_jobs.charset = self._report_charset
        self.world.report_jobs.on_report_finished = self._report_finished
        self.world.feed_jobs.on_feed_finished = self._feed_finished
        self.world.inventory.on_inventory_changed = self._inventory_changed
        self.lwa.forget()
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
        payload = self.world.inventory.availability_notification_payload(sku)
        self._publish(notif.FBA_INVENTORY_AVAILABILITY_CHANGES, notif.inventory_changed(
            payload, application_id=self.application_id, published=self.clock.now()))

    # ================================================================== hooks
    def authenticate(self, req: Request, route: Route) -> Response | None:
        return self.lwa.check(req, route)

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
        elsewhere = [m for m in unknown if m in ALL_REGIONS_MARKETPLACES and m not in REGION_MARKETPLACES[self.region]]
        if elsewhere:
            # A marketplace of another region, at this region's endpoint: Amazon's words (docs/simulators-spapi.md,
            # "Regions"); 400 as for any invalid marketplace, never served from this region's data.
            raise ApiError(400, "InvalidInput", f"Invalid '{name}' provided. The marketplaces you provided are not "
                                                f"valid for region: {', '.join(elsewhere)} (this is {self.region}).")
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


    def presigned_url(self, doc_id: str, method: str) -> str:
        return self.document_routes.presigned_url(doc_id, method)

    def expire_tokens(self) -> None:
        """Invalidate every access token issued so far (a client must go back to LWA)."""
        with self.lock:
            self.lwa.tokens.clear()

    def _register_routes(self) -> None:
        # Order matters where patterns overlap (the raw-slash listings routes come after the plain ones).
        self.lwa.register()
        self.document_routes.register()
        register_scenario_routes(self)
        self.document_routes.register_download()
        ReportRoutes(self).register()
        FeedRoutes(self).register()
        ListingsRoutes(self).register()
        InventoryRoutes(self).register()
        InboundRoutes(self).register()
        FinancesRoutes(self).register()
        self.notifications_api.register()
        control.register(self)

    # ================================================================== control API (control.py)
    def world_op(self, name: str, **kwargs: Any) -> Any:
        """Run a world operation by name under the server lock (what the control route calls)."""
        return control.world_op(self, name, **kwargs)

    def configure(self, **settings: Any) -> None:
        """Change behaviour at run time (also ``POST /_sim/spapi/settings``; see :func:`control.configure`)."""
        control.configure(self, **settings)

    def document_text(self, doc_id: str) -> str:
        """A stored document's text, decompressed and decoded (for tests and the demo)."""
        return control.document_text(self, doc_id)
