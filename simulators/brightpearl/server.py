"""The Brightpearl simulator's HTTP layer: routes mapped onto :class:`~simulators.brightpearl.world.World`.

Clients use ``{sim.url}/public-api/{account}/...`` for the API and ``{sim.url}/token/{account}``
for OAuth tokens. Everything about the world (seed shape, stock model, control routes, what is not
modelled) is described in ``docs/simulators-brightpearl.md``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode

from simulators.brightpearl.auth import AUTH_MODES, Credentials, TokenStore
from simulators.brightpearl.errors import BPError
from simulators.brightpearl.webhooks import Delivery, WebhookDispatcher, deliveries_for, event_variables, render
from simulators.brightpearl.world import World, format_id_set, ids_from
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
P = r"/public-api/(?P<account>[^/]+)"
# ID sets are matched loosely and parsed by the handler, so ``5-3`` gets a Brightpearl 400, not a 404.
IDS = r"(?P<ids>[0-9][^/]*)"
# Routes outside the API gateway: no auth, no rate limit.
_OAUTH_ROUTES = frozenset({"oauth-token", "oauth-authorize"})
# Message-Type header values that differ from the route name.
_MESSAGE_TYPES = {"product-search": "bulk-data-search", "order-search": "bulk-data-search"}

ApiFn = Callable[[Request], Any]


def _prune(value: Any) -> Any:
    """Brightpearl omits object fields whose value is null (array elements such as search cells stay)."""
    if isinstance(value, dict):
        return {k: _prune(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def _search(result: dict[str, Any]) -> Response:
    """A search answer: ``reference`` sits beside ``response`` in the envelope, not inside it (issue
    "simulator fidelity": recorded traffic; the contract's §8b example nests it, so clients accept both)."""
    reference = result.pop("reference", None)
    body: dict[str, Any] = {"response": result}
    if reference is not None:
        body["reference"] = reference
    return Response(200, _prune(body))


def _body(req: Request) -> dict[str, Any]:
    try:
        data = req.json()
    except (ValueError, UnicodeDecodeError):
        raise BPError(400, "CMNC-400", "Request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BPError(400, "CMNC-400", "Request body must be a JSON object")
    return data


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

    # ------------------------------------------------------------------ hooks of the base server
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

    # ------------------------------------------------------------------ route plumbing
    def _api(self, fn: ApiFn) -> Callable[[Request], Response]:
        """Wrap a world call: envelope the result, render BPError, hand raised events to the webhook pool."""

        def handler(req: Request) -> Response:
            try:
                result = fn(req)
                resp = result if isinstance(result, Response) else Response(200, _prune({"response": result}))
            except BPError as e:
                self.world.drain_events()  # a refused call changed nothing worth announcing
                return Response(e.status, e.body())
            except Exception as e:  # a simulator bug must still answer, not drop the connection
                self.world.drain_events()
                return Response(500, BPError(500, "CMNU-003", f"Internal error: {type(e).__name__}: {e}").body())
            self._flush_events()
            return resp

        handler.__name__ = fn.__name__
        return handler

    def _flush_events(self) -> None:
        """Turn pending world events into queued deliveries. Called with the lock held; never blocks."""
        events = self.world.drain_events()
        if not events:
            return
        hooks = list(self.world.webhooks.values())
        raised_on = self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        for ev in events:
            self.webhooks.submit(deliveries_for(hooks, ev, account=self.account, raised_on=raised_on,
                                                version=self.brightpearl_version))

    def _get(self, pattern: str, fn: ApiFn, name: str) -> None:
        self.route("GET", P + pattern, self._api(fn), name=name)

    def _post(self, pattern: str, fn: ApiFn, name: str, write: bool = True) -> None:
        self.route("POST", P + pattern, self._api(fn), name=name, write=write)

    def _register_routes(self) -> None:
        wh = r"/warehouse-service/warehouse/(?P<wid>\d+)"
        # OAuth (outside the gateway).
        self.route("POST", r"/token/(?P<account>[^/]+)", self._token, name="oauth-token", write=False)
        self.route("POST", r"/(?P<account>[^/]+)/oauth/token", self._token, name="oauth-token", write=False)
        self.route("GET", r"/authorize/(?P<account>[^/]+)", self._authorize, name="oauth-authorize", write=False)

        # Products.
        self._get(r"/product-service/product-search", lambda r: _search(self.world.product_search(r.query)),
                  "product-search")
        self._get(r"/product-service/product/" + IDS + "/bundle",
                  lambda r: self.world.bundles_containing(ids_from(r.params["ids"], "product")),
                  "get-product-bundle")
        self._get(r"/product-service/product/" + IDS + "/option-value",
                  lambda r: self.world.option_values(ids_from(r.params["ids"], "product")),
                  "get-product-option-value")
        self._get(r"/product-service/product/" + IDS,
                  lambda r: self.world.get_products(ids_from(r.params["ids"], "product")), "get-product")
        self.route("OPTIONS", P + r"/product-service/product/" + IDS, self._api(
            lambda r: {"getUris": self.world.product_get_uris(ids_from(r.params["ids"]))}), name="options-product")

        # Warehouses and availability.
        self._get(r"/warehouse-service/product-availability/" + IDS,
                  lambda r: self.world.product_availability(ids_from(r.params["ids"], "availability")),
                  "get-product-availability")
        self._get(r"/warehouse-service/bundle-availability/" + IDS,
                  lambda r: self.world.bundle_availability(ids_from(r.params["ids"], "product")),
                  "get-bundle-availability")
        self._get(r"/warehouse-service/warehouse(?:/" + IDS + ")?",
                  lambda r: self.world.list_warehouses(ids_from(r.params["ids"]) if "ids" in r.params else None),
                  "get-warehouse")
        self._get(wh + r"/location/default", lambda r: self.world.warehouse(int(r.params["wid"])).default_location_id,
                  "get-default-location")
        self._get(wh + r"/location/quarantine",
                  lambda r: self.world.warehouse(int(r.params["wid"])).quarantine_location_id,
                  "get-quarantine-location")
        self._get(wh + r"/location(?:/" + IDS + ")?",
                  lambda r: self.world.list_locations(int(r.params["wid"]),
                                                        ids_from(r.params["ids"]) if "ids" in r.params else None),
                  "get-location")
        self._get(wh + r"/product/" + IDS,
                  lambda r: self.world.warehouse_products(int(r.params["wid"]),
                                                            ids_from(r.params["ids"], "warehouse-product")),
                  "get-warehouse-product")

        # Stock movements.
        self._post(wh + r"/stock-correction",
                   lambda r: self.world.stock_correction(int(r.params["wid"]), _body(r)), "post-stock-correction")
        self._get(wh + r"/stock-correction/" + IDS,
                  lambda r: self.world.get_stock_corrections(int(r.params["wid"]),
                                                               ids_from(r.params["ids"], "stock-correction")),
                  "get-stock-correction")
        self._post(wh + r"/internal-transfer",
                   lambda r: self.world.internal_transfer(int(r.params["wid"]), _body(r)), "post-internal-transfer")
        self._post(wh + r"/stock-transfer",
                   lambda r: self.world.create_stock_transfer(int(r.params["wid"]), _body(r)), "post-stock-transfer")
        self._get(r"/warehouse-service/stock-transfer/" + IDS,
                  lambda r: self.world.get_stock_transfers(ids_from(r.params["ids"])), "get-stock-transfer")
        self._post(wh + r"/external-transfer",
                   lambda r: self.world.external_transfer(int(r.params["wid"]), _body(r)),
                   "post-external-transfer")
        self._get(r"/warehouse-service/order/(?P<orders>\*|[0-9][^/]*)/goods-note/goods-out(?:/" + IDS + ")?",
                  self._read_gons, "get-goods-out-note")
        self._post(r"/warehouse-service/goods-note/goods-out/(?P<gid>\d+)/event",
                   self._gon_event, "post-goods-out-note-event")
        self._post(wh + r"/quarantine/release", self._release, "post-quarantine-release")

        # Orders, credits, goods-in.
        self._get(r"/order-service/order-search", lambda r: _search(self.world.order_search(r.query)),
                  "order-search")
        self._get(r"/order-service/order/" + IDS, lambda r: self.world.get_orders(ids_from(r.params["ids"], "order")),
                  "get-order")
        self._post(r"/order-service/order", lambda r: self.world.create_order(_body(r)), "post-order")
        self._post(r"/order-service/sales-order", lambda r: self.world.create_sales_order(_body(r)),
                   "post-sales-order")
        self._post(r"/warehouse-service/order/(?P<oid>\d+)/goods-note/goods-out",
                   lambda r: self.world.sales_order_goods_out(int(r.params["oid"]), _body(r)),
                   "post-goods-out-note")
        self._post(r"/order-service/order/(?P<oid>\d+)/row",
                   lambda r: self.world.add_order_row(int(r.params["oid"]), _body(r)), "post-order-row")
        self._post(r"/order-service/sales-credit", lambda r: self.world.create_sales_credit(_body(r)),
                   "post-sales-credit")
        self._get(r"/order-service/sales-credit/" + IDS, self._read_credits, "get-sales-credit")
        self._post(r"/warehouse-service/order/(?P<oid>\d+)/goods-note/goods-in",
                   lambda r: self.world.goods_in(int(r.params["oid"]), _body(r)), "post-goods-in-note")
        self._get(r"/warehouse-service/order/(?P<orders>\*|[0-9][^/]*)/goods-note/goods-in(?:/" + IDS + ")?",
                  self._read_goods_in, "get-goods-in-note")

        # Webhooks.
        self._post(r"/integration-service/webhook", lambda r: self.world.register_webhook(_body(r)),
                   "post-webhook")
        self._get(r"/integration-service/webhook(?:/" + IDS + ")?",
                  lambda r: self.world.list_webhooks(ids_from(r.params["ids"]) if "ids" in r.params else None),
                  "get-webhook")
        self.route("DELETE", P + r"/integration-service/webhook/(?P<hid>\d+)", self._api(self._delete_webhook),
                   name="delete-webhook")
        self._post(r"/integration-service/webhook/(?P<hid>\d+)/simulate", self._simulate_webhook,
                   "simulate-webhook", write=False)

        self._register_sim_routes()

    # ------------------------------------------------------------------ handlers needing more than one line
    def _read_gons(self, req: Request) -> Any:
        orders = None if req.params["orders"] == "*" else ids_from(req.params["orders"], "goods-out")
        if orders is None and "ids" not in req.params:
            raise BPError(400, "CMNC-400", "Goods-out note ids are required with order id *")
        gons = ids_from(req.params["ids"], "goods-out") if "ids" in req.params else None
        return self.world.get_gons(orders, gons)

    def _gon_event(self, req: Request) -> Response:
        self.world.gon_event(int(req.params["gid"]), _body(req), req.header("if-match"))
        return Response(200, {})

    def _release(self, req: Request) -> Response:
        self.world.quarantine_release(int(req.params["wid"]), _body(req))
        return Response(200, {})

    def _read_credits(self, req: Request) -> Response:
        ids = ids_from(req.params["ids"], "order")
        found = self.world.get_sales_credits(ids)
        if not found:
            raise BPError(404, "CMNC-404", f"No sales credits found in ID set {req.params['ids']}")
        # Some ids missing: Brightpearl answers 207 with what it found.
        return Response(200 if len(found) == len(ids) else 207, _prune({"response": found}))

    def _read_goods_in(self, req: Request) -> Any:
        orders = None if req.params["orders"] == "*" else ids_from(req.params["orders"], "goods-in")
        if orders is None and "ids" not in req.params:
            raise BPError(400, "CMNC-400", "Goods-in note ids are required with order id *")
        notes = ids_from(req.params["ids"], "goods-in") if "ids" in req.params else None
        return self.world.get_goods_in(orders, notes)

    def _delete_webhook(self, req: Request) -> Response:
        self.world.delete_webhook(int(req.params["hid"]))
        return Response(200, {})

    def _simulate_webhook(self, req: Request) -> Response:
        hook = self.world.webhooks.get(int(req.params["hid"]))
        if hook is None:
            raise BPError(404, "CMNC-404", f"Cannot find webhook: {req.params['hid']}")
        data = (_body(req).get("testData") or {})
        ids_text = str(data.get("${resource-id}", "1"))
        if len(ids_from(ids_text)) > 10:
            raise BPError(400, "INTC-010", "testData may hold at most 10 ids")
        variables = event_variables(self.account, hook.subscribe_to, ids_text,
                                    self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"), self.brightpearl_version)
        variables.update({str(k): str(v) for k, v in data.items()})
        body = render(hook.body_template, variables) if hook.body_template and hook.http_method in ("POST", "PUT") \
            else None
        self.webhooks.submit([Delivery(hook.id, variables["${full-event}"], hook.http_method,
                                       render(hook.uri_template, variables), body, hook.content_type,
                                       hook.quality_of_service)])
        return Response(200, {})

    # ------------------------------------------------------------------ OAuth endpoints
    def _token(self, req: Request) -> Response:
        if req.params.get("account") != self.account:
            return Response(400, {"error": "invalid_client"})
        form = {k: v[0] for k, v in parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        status, body = self.tokens.grant(form, self.api_domain)
        return Response(status, body, content_type="application/json;charset=UTF-8")

    def _authorize(self, req: Request) -> Response:
        """The browser step, auto-approved: redirect to ``redirect_uri`` with a fresh code and the state."""
        if req.params.get("account") != self.account or req.q("client_id") != self.tokens.creds.client_id:
            return Response(400, {"error": "invalid_client"})
        redirect = req.q("redirect_uri") or self.tokens.creds.redirect_uri
        params = {"code": self.tokens.issue_code(redirect)}
        if req.q("state") is not None:
            params["state"] = req.q("state") or ""
        sep = "&" if "?" in redirect else "?"
        return Response(302, None, headers={"Location": f"{redirect}{sep}{urlencode(params)}"})

    # ------------------------------------------------------------------ control API (/_sim/brightpearl/...)
    def _register_sim_routes(self) -> None:
        def onhand(req: Request) -> Response:
            b = req.json() or {}
            with self.lock:
                try:
                    figures = self.world.adjust_on_hand(
                        int(b["productId"]), int(b["warehouseId"]), delta=b.get("delta"), on_hand=b.get("onHand"),
                        location_id=b.get("locationId"))
                except BPError as e:
                    self.world.drain_events()
                    return Response(e.status, e.body())
                self._flush_events()
            return Response(200, figures)

        def deliveries(req: Request) -> Response:
            return Response(200, self.webhooks.attempts())

        def clear_deliveries(req: Request) -> Response:
            self.webhooks.clear()
            return Response(200, {"ok": True})

        def wait(req: Request) -> Response:
            return Response(200, {"idle": self.wait_webhooks_idle(float((req.json() or {}).get("timeout", 5.0)))})

        def expire(req: Request) -> Response:
            b = req.json() or {}
            with self.lock:
                if b.get("afterRequests") is not None:
                    self.expire_tokens_after(int(b["afterRequests"]))
                    return Response(200, {"expiresAfterRequests": int(b["afterRequests"])})
                return Response(200, {"expired": self.tokens.expire_access(b.get("accessToken"))})

        def scenario(fn: Callable[[dict[str, Any]], Any]) -> Callable[[Request], Response]:
            def run(req: Request) -> Response:
                try:
                    body = req.json() or {}
                except ValueError:
                    return Response(400, BPError(400, "CMNC-400", "Request body is not valid JSON").body())
                with self.lock:
                    try:
                        result = fn(body)
                    except BPError as e:
                        self.world.drain_events()
                        return Response(e.status, e.body())
                    except (KeyError, TypeError, ValueError) as e:
                        self.world.drain_events()
                        return Response(400, BPError(400, "CMNC-400", f"Bad scenario request: {e!r}").body())
                    self._flush_events()
                return Response(200, result)
            return run

        self.route("POST", r"/_sim/brightpearl/products/delete",
                   scenario(lambda b: {"deleted": self._delete_products(b["productIds"])}), write=False)
        self.route("POST", r"/_sim/brightpearl/products/bulk", scenario(self._bulk_products), write=False)
        self.route("POST", r"/_sim/brightpearl/onhand/force", scenario(lambda b: self.world.force_on_hand(
            int(b["productId"]), int(b["warehouseId"]), int(b["onHand"]), b.get("locationId"))), write=False)
        self.route("POST", r"/_sim/brightpearl/sales-order", scenario(self._place_sales_order), write=False)
        self.route("POST", r"/_sim/brightpearl/sales-order/(?P<oid>\d+)/ship",
                   lambda req: scenario(lambda b: self._ship_sales_order(int(req.params["oid"])))(req), write=False)

        def revoke(req: Request) -> Response:
            with self.lock:
                self.tokens.revoke_access((req.json() or {}).get("accessToken"))
            return Response(200, {"ok": True})

        def auth_code(req: Request) -> Response:
            with self.lock:
                return Response(200, {"code": self.issue_auth_code((req.json() or {}).get("redirectUri"))})

        self.route("POST", r"/_sim/brightpearl/onhand", onhand, write=False)
        self.route("GET", r"/_sim/brightpearl/webhook-deliveries", deliveries, write=False)
        self.route("DELETE", r"/_sim/brightpearl/webhook-deliveries", clear_deliveries, write=False)
        self.route("POST", r"/_sim/brightpearl/webhooks/wait", wait, write=False)
        self.route("POST", r"/_sim/brightpearl/tokens/expire", expire, write=False)
        self.route("POST", r"/_sim/brightpearl/tokens/revoke", revoke, write=False)
        self.route("POST", r"/_sim/brightpearl/auth-code", auth_code, write=False)
        from simulators.brightpearl import history  # scenario control: an account with a transfer history
        history.register(self)
        from simulators.brightpearl import goods_out_delete  # Goods-Out Note DELETE (transfer notes)
        goods_out_delete.register(self)

    # ------------------------------------------------------------------ scenario operations (lock held)
    def _delete_products(self, ids: list[Any]) -> list[int]:
        pids = [int(i) for i in ids]
        for pid in pids:
            self.world.delete_product(pid)
        return pids

    def _bulk_products(self, b: dict[str, Any]) -> dict[str, Any]:
        """``count`` products from ``firstId``, skipping one id after every ``gapEvery`` (0: no gaps), each
        with ``onHand`` units in ``warehouseId`` (when given); SKUs ``{skuPrefix}{id}``."""
        count, pid = int(b["count"]), int(b.get("firstId", 10000))
        gap, prefix = int(b.get("gapEvery", 0)), str(b.get("skuPrefix", "SKU-"))
        products: list[dict[str, Any]] = []
        stock: list[dict[str, Any]] = []
        ids: list[int] = []
        while len(ids) < count:
            ids.append(pid)
            products.append({"id": pid, "sku": f"{prefix}{pid}"})
            if b.get("warehouseId") is not None:
                stock.append({"productId": pid, "warehouseId": int(b["warehouseId"]),
                              "onHand": int(b.get("onHand", 0))})
            pid += 2 if gap and len(ids) % gap == 0 else 1
        self.world.seed({"products": products, "stock": stock})
        return {"productIds": format_id_set(ids), "count": len(ids), "lastId": ids[-1] if ids else None}

    def _place_sales_order(self, b: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {"customer": {"id": b.get("customerId", 200)}, "warehouseId": b["warehouseId"],
                "rows": [{"productId": r["productId"], "quantity": r.get("quantity", 1), "net": r.get("net", 0),
                          "tax": r.get("tax", 0)} for r in b["rows"]],
                **{k: b[k] for k in ("ref", "externalRef", "channelId", "parties", "allocate") if k in b}}
        oid = self.world.create_sales_order(body)
        out: dict[str, Any] = {"orderId": oid, "goodsOutNoteIds": []}
        if b.get("ship"):
            out["goodsOutNoteIds"] = self._ship_sales_order(oid)["goodsOutNoteIds"]
        return out

    def _ship_sales_order(self, oid: int) -> dict[str, Any]:
        """Everything the order has allocated onto a goods-out note, then SHW (which adds PRI/PIC/PAC)."""
        order = self.world.orders.get(oid)
        if order is None:
            raise BPError(404, "CMNC-404", f"Order {oid} not found")
        if not order.allocations:  # nothing in stock was allocated: nothing to send
            return {"orderId": oid, "goodsOutNoteIds": []}
        gids = self.world.sales_order_goods_out(oid, {"warehouses": [{"warehouseId": order.warehouse_id}]})
        at = iso(self.clock.now())
        for gid in gids:
            self.world.gon_event(gid, {"events": [{"eventCode": "SHW", "occured": at,
                                                   "eventOwnerId": self.staff_id}]}, None)
        return {"orderId": oid, "goodsOutNoteIds": gids}

    # ------------------------------------------------------------------ base control API
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

    # ------------------------------------------------------------------ Python conveniences for tests
    def on_hand(self, product_id: int, warehouse_id: int | None = None) -> int:
        with self.lock:
            return self.world.on_hand(product_id, warehouse_id)

    def allocated(self, product_id: int, warehouse_id: int) -> int:
        with self.lock:
            return self.world.allocated(product_id, warehouse_id)

    def in_transit(self, product_id: int, warehouse_id: int) -> int:
        with self.lock:
            return self.world.in_transit(product_id, warehouse_id)

    def quarantine(self, product_id: int, warehouse_id: int) -> int:
        """Units in the warehouse's quarantine location (in-transit arrivals included)."""
        with self.lock:
            return self.world.quarantine_qty(product_id, warehouse_id)

    def location_stock(self, product_id: int, warehouse_id: int, location_id: int) -> int:
        with self.lock:
            return self.world.location_qty(product_id, warehouse_id, location_id)

    def figures(self, product_id: int, warehouse_id: int) -> dict[str, int]:
        """``{"inStock", "onHand", "allocated", "inTransit"}`` as product-availability reports them."""
        with self.lock:
            return self.world.warehouse_figures(product_id, warehouse_id)

    def set_on_hand(self, product_id: int, warehouse_id: int, quantity: int, *,
                    location_id: int | None = None) -> None:
        """Set the warehouse's on-hand (difference applied to ``location_id``/default); fires webhooks."""
        with self.lock:
            self.world.adjust_on_hand(product_id, warehouse_id, on_hand=quantity, location_id=location_id)
            self._flush_events()

    def adjust_on_hand(self, product_id: int, warehouse_id: int, delta: int, *,
                       location_id: int | None = None) -> None:
        with self.lock:
            self.world.adjust_on_hand(product_id, warehouse_id, delta=delta, location_id=location_id)
            self._flush_events()

    def expire_tokens_after(self, requests: int) -> None:
        """The next ``requests`` API requests authenticate as usual; then every access token expires
        (the following request answers 401 ``Authorization token expired``)."""
        with self.lock:
            self._expire_after = max(0, int(requests))

    def delete_products(self, *product_ids: int) -> None:
        with self.lock:
            self._delete_products(list(product_ids))
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
