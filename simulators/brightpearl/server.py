"""The Brightpearl simulator's HTTP layer: the section modules' routes (``auth``, ``catalog``,
``inventory``, ``goods_out``, ``sales``, ``credits``, ``webhook_registry``, ``control``) put together over
:class:`~simulators.brightpearl.world.World`, with the gateway's auth, throttle and headers.

Clients use ``{sim.url}/public-api/{account}/...`` for the API and ``{sim.url}/token/{account}``
for OAuth tokens. Everything about the world (seed shape, stock model, control routes, what is not
modelled) is described in ``docs/simulators-brightpearl.md``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from simulators.brightpearl import auth, catalog, control, credits, goods_out, inventory, sales, webhook_registry
from simulators.brightpearl.auth import AUTH_MODES, Credentials, TokenStore
from simulators.brightpearl.errors import BPError
from simulators.brightpearl.http import ApiFn, P, _prune
from simulators.brightpearl.webhooks import WebhookDispatcher, deliveries_for
from simulators.brightpearl.world import World
from simulators.core import (
    JSON,
    Request,
    Response,
    Route,
    SimClock,
    SimulatorServer,
    SlidingWindowLimiter,
    iso,
)

# Well-known fake credentials (overridable per simulator or by seeding ``credentials``).
DEFAULT_ACCOUNT_TOKEN = "account-token"
DEFAULT_STAFF_TOKEN = "staff-token"
DEFAULT_CLIENT_SECRET = "client-secret"
THROTTLE_MESSAGE = "You have sent too many requests. Please wait before sending another request"
_OAUTH_ROUTES = frozenset({"oauth-token", "oauth-authorize"})
# Message-Type header values that differ from the route name.
_MESSAGE_TYPES = {"product-search": "bulk-data-search", "order-search": "bulk-data-search"}


class BrightpearlSimulator(SimulatorServer):
    """Stateful Brightpearl fake. Seed it with :meth:`seed` (shape in the docs), then drive it over HTTP.

    Seed shape (all keys optional, merged into the world)::

        {"credentials": {"appRef", "accountToken", "staffToken", "devRef", "clientId", "clientSecret",
                         "redirectUri", "instanceId", "refreshToken", "accessToken", "authCodes": [...]},
         "warehouses": [{"id": 2, "name": "Main DC", "defaultLocationId": 2, "quarantineLocationId": 9,
                         "locations": [{"id": 19, "groupingA": "A"}]}],
         "products": [{"id": 1007, "sku": "SHIRT-BL-M", "name": "Linen shirt", "stockTracked": true,
                       "status": "LIVE", "productGroupId": 212, "categoryIds": [296],
                       "options": [{"optionId": 1, "optionName": "Size", "optionValueId": 3, "optionValue": "M"}],
                       "bundleComponents": [{"productId": 1011, "productQuantity": 2}]}],
         "stock": [{"productId": 1007, "warehouseId": 2, "onHand": 48, "locationId": 2,
                    "quarantine": 0, "inTransit": 5}],
         "orders": [{"id": 1201, "orderTypeCode": "SO", "reference": "...", "externalRef": "...",
                     "contactId": 200, "warehouseId": 2, "channelId": 3,
                     "rows": [{"id": 3301, "productId": 1007, "quantity": 1, "net": 25.0, "tax": 5.0,
                               "itemCost": 8.5}]}],
         "webhooks": [{"subscribeTo": "...", "uriTemplate": "...", ...}]}
    """

    name = "brightpearl"
    poll_interval = 0.05  # tests start and stop many simulators; keep stop() quick

    def __init__(
        self, *,
        account: str = "acme",
        limit: int = 200,
        window_seconds: float = 60.0,
        clock: SimClock | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
        auth_mode: str = "any",  # any | private | oauth | off
        app_ref: str | None = None,  # default "{account}_connector"
        account_token: str = DEFAULT_ACCOUNT_TOKEN,
        staff_token: str = DEFAULT_STAFF_TOKEN,
        dev_ref: str = "dev-ref",
        client_id: str | None = None,  # default: the app ref (Brightpearl's OAuth client_id)
        client_secret: str | None = DEFAULT_CLIENT_SECRET,  # None: a public app, no secret checked
        redirect_uri: str = "https://localhost/oauth/callback",
        refresh_token: str | None = None,  # an initially valid refresh token
        instance_id: int = 13,
        access_token_ttl: int = 604800,
        refresh_access_ttl: int | None = None,  # expires_in on refresh (default: access_token_ttl)
        revoke_old_refresh_tokens: bool = True,
        webhook_retries: int = 3,
        webhook_retry_interval: float = 0.05,  # real seconds between delivery attempts
        webhook_timeout: float = 5.0,
        brightpearl_version: str = "4.23.1",
        api_domain: str | None = None,  # default "127.0.0.1:{port}"
        staff_id: int = 4,
        random_seed: int = 7,
    ) -> None:
        if auth_mode not in AUTH_MODES:
            raise ValueError(f"auth_mode must be one of {AUTH_MODES}")
        super().__init__(host=host, port=port, clock=clock, seed=random_seed)
        self.account = account
        self.auth_mode = auth_mode
        self.limit = limit
        self.window_seconds = window_seconds
        self.brightpearl_version = brightpearl_version
        self.staff_id = staff_id
        self._api_domain = api_domain
        app_ref = app_ref or f"{account}_connector"
        self._initial_creds = Credentials(app_ref, account_token, staff_token, dev_ref, client_id or app_ref,
                                          client_secret, redirect_uri, instance_id)
        self._initial_refresh = refresh_token
        self._token_opts = {"access_ttl": access_token_ttl, "refresh_access_ttl": refresh_access_ttl,
                            "revoke_old_refresh": revoke_old_refresh_tokens}
        self.webhooks = WebhookDispatcher(retries=webhook_retries, retry_interval=webhook_retry_interval,
                                          timeout=webhook_timeout)
        self._fresh_state()
        self._register_routes()

    def _fresh_state(self) -> None:
        self.world = World(lambda: iso(self.clock.now()), staff_id=self.staff_id)
        self.limiter = SlidingWindowLimiter(self.clock, self.limit, self.window_seconds)
        c = self._initial_creds
        self.tokens = TokenStore(self.clock, Credentials(c.app_ref, c.account_token, c.staff_token, c.dev_ref,
                                                         c.client_id, c.client_secret, c.redirect_uri, c.instance_id),
                                 access_ttl=int(self._token_opts["access_ttl"] or 0),
                                 refresh_access_ttl=self._token_opts["refresh_access_ttl"],
                                 revoke_old_refresh=bool(self._token_opts["revoke_old_refresh"]))
        if self._initial_refresh:
            self.tokens.refresh[self._initial_refresh] = True
        self._expire_after: int | None = None  # access tokens expire after this many more API requests

    @property
    def api_domain(self) -> str:
        return self._api_domain or f"127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """Base URL a client uses for API calls: ``{url}/public-api/{account}``."""
        return f"{self.url}/public-api/{self.account}"

    def start(self) -> BrightpearlSimulator:
        super().start()
        assert self._httpd is not None
        # Headers and body leave in separate writes; with Nagle on, a keep-alive client waits for the
        # delayed ACK (~40 ms) on every call, which makes a 200-request throttle test take seconds.
        self._httpd.RequestHandlerClass.disable_nagle_algorithm = True  # type: ignore[attr-defined]
        return self

    def stop(self) -> None:
        super().stop()
        self.webhooks.shutdown()

    def authenticate(self, req: Request, route: Route) -> Response | None:
        if route.name in _OAUTH_ROUTES:
            return None
        if req.params.get("account") != self.account:
            return Response(404, BPError(404, "CMNC-404", f"Account {req.params.get('account')} not found").body())
        if self._expire_after is not None:
            if self._expire_after <= 0:
                self.tokens.expire_access()
                self._expire_after = None
            else:
                self._expire_after -= 1
        problem = self.tokens.check(req.headers, self.auth_mode)
        return Response(401, {"response": problem}) if problem else None

    def before_route(self, req: Request, route: Route) -> Response | None:
        if route.name in _OAUTH_ROUTES or self.limiter.try_hit():
            return None
        return Response(503, {"response": THROTTLE_MESSAGE})

    def decorate(self, req: Request, resp: Response, route: Route | None) -> None:
        gateway = route is None or resp.status == 401 or (
            resp.status in (429, 503) and isinstance(resp.body, dict) and isinstance(resp.body.get("response"), str))
        resp.headers["Message-Type"] = "api-proxy" if gateway or route is None else _MESSAGE_TYPES.get(
            route.name, route.name)
        resp.headers["Ruid"] = str(uuid.uuid4())
        resp.headers["brightpearl-requests-remaining"] = str(self.limiter.remaining())
        resp.headers["brightpearl-next-throttle-period"] = str(self._next_throttle_ms())
        if (req.header("authorization") or "").lower().startswith("bearer "):
            resp.headers["brightpearl-installed-integration-instance-id"] = str(self.tokens.creds.instance_id)

    def _next_throttle_ms(self) -> int:
        """Milliseconds until the oldest counted request leaves the window. On a running clock that is real
        time (a client sleeps in real time); on a frozen clock (speed 0) it is simulated time, so a client
        whose sleep advances the simulated clock waits exactly as long as the window needs."""
        if self.clock.speed > 0 or self.clock.auto_advance:
            # Real time, or an auto-advancing clock that skips a blocking wait (announced as 0 ms).
            return self.limiter.ms_until_reset()
        self.limiter.remaining()  # drops requests that have left the window
        hits = self.limiter._hits  # read only; the limiter lives in core.py
        return int(max(0.0, hits[0] + self.window_seconds - self.clock.seconds()) * 1000) if hits else 0

    def not_found(self, req: Request) -> Response:
        return Response(404, BPError(404, "CMNC-404", f"No resource at {req.method} {req.path}").body())

    def method_not_allowed(self, req: Request) -> Response:
        return Response(405, BPError(405, "CMNC-405", f"{req.method} is not supported on {req.path}").body())

    def fault_body(self, status: int) -> JSON:
        if status in (429, 503):
            return {"response": THROTTLE_MESSAGE}
        if status == 401:
            return {"response": "Authorization token expired"}
        if status == 404:
            return BPError(404, "CMNC-404", "Resource not found").body()
        code = "CMNU-003" if status >= 500 else "CMNC-400"
        return BPError(status, code, f"Injected failure (HTTP {status})").body()

    def _api(self, fn: ApiFn) -> Callable[[Request], Response]:
        """Wrap a world call: envelope the result, render BPError, hand raised events to the webhook pool."""

        def handler(req: Request) -> Response:
            try:
                result = fn(req)
                resp = result if isinstance(result, Response) else Response(200, _prune({"response": result}))
            except BPError as e:
                self.world.shared.drain_events()  # a refused call changed nothing worth announcing
                return Response(e.status, e.body())
            except Exception as e:  # a simulator bug must still answer, not drop the connection
                self.world.shared.drain_events()
                return Response(500, BPError(500, "CMNU-003", f"Internal error: {type(e).__name__}: {e}").body())
            self._flush_events()
            return resp

        handler.__name__ = fn.__name__
        return handler

    def _flush_events(self) -> None:
        """Turn pending world events into queued deliveries. Called with the lock held; never blocks."""
        events = self.world.shared.drain_events()
        if not events:
            return
        hooks = list(self.world.hooks.webhooks.values())
        raised_on = self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        for ev in events:
            self.webhooks.submit(deliveries_for(hooks, ev, account=self.account, raised_on=raised_on,
                                                version=self.brightpearl_version))

    def _get(self, pattern: str, fn: ApiFn, name: str) -> None:
        self.route("GET", P + pattern, self._api(fn), name=name)

    def _post(self, pattern: str, fn: ApiFn, name: str, write: bool = True) -> None:
        self.route("POST", P + pattern, self._api(fn), name=name, write=write)

    def _register_routes(self) -> None:
        auth.register(self)
        catalog.register(self)
        inventory.register(self)
        goods_out.register(self)
        sales.register(self)
        credits.register(self)
        webhook_registry.register(self)
        control.register(self)

    def state(self) -> JSON:
        with self.lock:
            return {"account": self.account, **self.world.to_json(), "auth": self.tokens.to_json(),
                    "rateLimit": {"limit": self.limit, "windowSeconds": self.window_seconds,
                                  "remaining": self.limiter.remaining()},
                    "webhookDeliveries": self.webhooks.attempts()}

    def seed(self, data: JSON) -> None:
        with self.lock:
            if data.get("credentials"):
                self.tokens.seed(data["credentials"])
            try:
                self.world.seed(data)
            except BPError as e:  # e.g. stock for an unknown warehouse: /_sim/seed answers 400
                raise ValueError(e.message) from None

    def reset(self) -> None:
        """Empty world, fresh rate window and credentials, no faults, journal or delivery records."""
        super().reset()
        with self.lock:
            self._fresh_state()
        self.webhooks.clear()

    def on_hand(self, product_id: int, warehouse_id: int | None = None) -> int:
        with self.lock:
            return self.world.inventory.on_hand(product_id, warehouse_id)

    def allocated(self, product_id: int, warehouse_id: int) -> int:
        with self.lock:
            return self.world.inventory.allocated(product_id, warehouse_id)

    def in_transit(self, product_id: int, warehouse_id: int) -> int:
        with self.lock:
            return self.world.inventory.in_transit(product_id, warehouse_id)

    def quarantine(self, product_id: int, warehouse_id: int) -> int:
        """Units in the warehouse's quarantine location (in-transit arrivals included)."""
        with self.lock:
            return self.world.inventory.quarantine_qty(product_id, warehouse_id)

    def location_stock(self, product_id: int, warehouse_id: int, location_id: int) -> int:
        with self.lock:
            return self.world.inventory.location_qty(product_id, warehouse_id, location_id)

    def figures(self, product_id: int, warehouse_id: int) -> dict[str, int]:
        """``{"inStock", "onHand", "allocated", "inTransit"}`` as product-availability reports them."""
        with self.lock:
            return self.world.inventory.warehouse_figures(product_id, warehouse_id)

    def set_on_hand(self, product_id: int, warehouse_id: int, quantity: int, *,
                    location_id: int | None = None) -> None:
        """Set the warehouse's on-hand (difference applied to ``location_id``/default); fires webhooks."""
        with self.lock:
            self.world.inventory.adjust_on_hand(product_id, warehouse_id, on_hand=quantity, location_id=location_id)
            self._flush_events()

    def adjust_on_hand(self, product_id: int, warehouse_id: int, delta: int, *,
                       location_id: int | None = None) -> None:
        with self.lock:
            self.world.inventory.adjust_on_hand(product_id, warehouse_id, delta=delta, location_id=location_id)
            self._flush_events()

    def expire_tokens_after(self, requests: int) -> None:
        """The next ``requests`` API requests authenticate as usual; then every access token expires
        (the following request answers 401 ``Authorization token expired``)."""
        with self.lock:
            self._expire_after = max(0, int(requests))

    def delete_products(self, *product_ids: int) -> None:
        with self.lock:
            control.delete_products(self, list(product_ids))
            self._flush_events()

    def issue_auth_code(self, redirect_uri: str | None = None) -> str:
        """An authorization code as if the user had approved the app (for the ``authorization_code`` grant)."""
        with self.lock:
            return self.tokens.issue_code(redirect_uri)

    def expire_access_tokens(self, token: str | None = None) -> int:
        with self.lock:
            return self.tokens.expire_access(token)

    def revoke_access_tokens(self, token: str | None = None) -> None:
        with self.lock:
            self.tokens.revoke_access(token)

    def webhook_deliveries(self) -> list[dict[str, Any]]:
        """Every delivery attempt: webhook_id, event, method, url, body, attempt, status, error, at."""
        return self.webhooks.attempts()

    def wait_webhooks_idle(self, timeout: float = 5.0) -> bool:
        return self.webhooks.wait_idle(timeout)

    def private_headers(self) -> dict[str, str]:
        """Headers of a private system app with the current credentials (handy for tests and the demo)."""
        with self.lock:
            c = self.tokens.creds
            return {"brightpearl-app-ref": c.app_ref, "brightpearl-account-token": c.account_token}
