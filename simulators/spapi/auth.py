"""Login with Amazon of the SP-API simulator: the token endpoint (refresh-token grant for a seller,
client_credentials for the grantless notifications scope), the access tokens it issued and the check
every SP-API operation makes (expired, wrong kind, unknown).
"""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs

from simulators.core import Request, Response, Route
from simulators.spapi import notifications_api
from simulators.spapi.http import Host, Routes

TOKEN_LIFETIME = 3600
NO_SPAPI_AUTH = ("lwaToken", "uploadDocument", "downloadDocument", "downloadDocumentMirror")
UNAUTHORIZED = {"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.",
                            "details": ""}]}
TOKEN_EXPIRED = {"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.",
                             "details": "The access token you provided has expired."}]}


class LwaRoutes(Routes):
    """LWA and the access tokens it issued: token → (expiry in clock seconds, "seller" or the grantless
    token's scope). The server calls :meth:`forget` on seed and reset."""

    def __init__(self, host: Host) -> None:
        super().__init__(host)
        self.tokens: dict[str, tuple[float, str]] = {}

    def forget(self) -> None:
        self.tokens = {}

    def register(self) -> None:
        self.host.route("POST", r"/auth/o2/token", self._lwa_token, name="lwaToken")

    def check(self, req: Request, route: Route) -> Response | None:
        if route.name in NO_SPAPI_AUTH:
            return None
        if self.world.scenario.token_expires_now():  # scenario: every token expires before this request
            now = self.host.clock.seconds()
            self.tokens = {t: (min(exp, now), kind) for t, (exp, kind) in self.tokens.items()}
        token = req.header("x-amz-access-token")
        entry = self.tokens.get(token or "")
        if entry is not None and entry[0] <= self.host.clock.seconds():
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

    def _lwa_token(self, req: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(req.body.decode("utf-8", "replace")).items()}
        if form.get("client_id") != self.host.client_id or form.get("client_secret") != self.host.client_secret:
            return Response(401, {"error": "invalid_client",
                                  "error_description": "Client authentication failed"})
        grant = form.get("grant_type")
        token = "Atza|" + uuid.uuid4().hex + uuid.uuid4().hex
        if grant == "refresh_token":
            if form.get("refresh_token") not in self.host.refresh_tokens:
                return Response(400, {"error": "invalid_grant",
                                      "error_description":
                                          "The request has an invalid grant parameter : refresh_token"})
            with self.host.lock:
                self.tokens[token] = (self.host.clock.seconds() + TOKEN_LIFETIME, "seller")
            return Response(200, {"access_token": token, "refresh_token": form["refresh_token"],
                                  "token_type": "bearer", "expires_in": TOKEN_LIFETIME})
        if grant == "client_credentials":
            if form.get("scope") not in notifications_api.GRANTLESS_SCOPES:
                return Response(400, {"error": "invalid_scope", "error_description": "The scope is invalid"})
            with self.host.lock:
                self.tokens[token] = (self.host.clock.seconds() + TOKEN_LIFETIME, form["scope"])
            return Response(200, {"access_token": token, "scope": form["scope"], "token_type": "bearer",
                                  "expires_in": TOKEN_LIFETIME})
        return Response(400, {"error": "unsupported_grant_type",
                              "error_description": f"Unsupported grant type {grant!r}"})

    def expire_tokens(self) -> None:
        """Invalidate every access token issued so far (a client must go back to LWA)."""
        with self.host.lock:
            self.tokens.clear()
