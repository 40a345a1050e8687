"""Brightpearl authentication: private-app header checks and the OAuth 2 token store (contract §1).

Token lifetimes run on the simulated clock, so a test expires an access token by advancing it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode

from simulators.core import Request, Response, SimClock

if TYPE_CHECKING:
    from simulators.brightpearl.server import BrightpearlSimulator

AUTH_MODES = ("any", "private", "oauth", "off")
CODE_TTL_SECONDS = 600.0


@dataclass
class Credentials:
    app_ref: str
    account_token: str
    staff_token: str
    dev_ref: str
    client_id: str
    client_secret: str | None  # None: a public (non-confidential) app sends no secret
    redirect_uri: str
    instance_id: int

    def to_json(self) -> dict[str, Any]:
        return {"appRef": self.app_ref, "accountToken": self.account_token, "staffToken": self.staff_token,
                "devRef": self.dev_ref, "clientId": self.client_id, "clientSecret": self.client_secret,
                "redirectUri": self.redirect_uri, "instanceId": self.instance_id}


_CRED_KEYS = {"appRef": "app_ref", "accountToken": "account_token", "staffToken": "staff_token",
              "devRef": "dev_ref", "clientId": "client_id", "clientSecret": "client_secret",
              "redirectUri": "redirect_uri", "instanceId": "instance_id"}


@dataclass
class _Access:
    expires_at: float  # simulated seconds (clock.seconds())


@dataclass
class _Code:
    redirect_uri: str
    expires_at: float


@dataclass
class TokenStore:
    clock: SimClock
    creds: Credentials
    access_ttl: int = 604800
    refresh_access_ttl: int | None = None  # expires_in on refresh; defaults to access_ttl
    revoke_old_refresh: bool = True
    access: dict[str, _Access] = field(default_factory=dict)
    refresh: dict[str, bool] = field(default_factory=dict)  # token -> still valid
    codes: dict[str, _Code] = field(default_factory=dict)

    def seed(self, data: dict[str, Any]) -> None:
        for key, attr in _CRED_KEYS.items():
            if key in data:
                setattr(self.creds, attr, int(data[key]) if attr == "instance_id" else data[key])
        if data.get("refreshToken"):
            self.refresh[str(data["refreshToken"])] = True
        if data.get("accessToken"):
            self.access[str(data["accessToken"])] = _Access(self.clock.seconds() + self.access_ttl)
        for code in data.get("authCodes", []):
            self.codes[str(code)] = _Code(self.creds.redirect_uri, self.clock.seconds() + CODE_TTL_SECONDS)

    # ------------------------------------------------------------------ OAuth
    def issue_code(self, redirect_uri: str | None = None) -> str:
        code = secrets.token_urlsafe(18)
        self.codes[code] = _Code(redirect_uri or self.creds.redirect_uri, self.clock.seconds() + CODE_TTL_SECONDS)
        return code

    def _issue(self, ttl: int) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(24) + "=", secrets.token_urlsafe(24) + "="
        self.access[access] = _Access(self.clock.seconds() + ttl)
        self.refresh[refresh] = True
        return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer", "expires_in": ttl}

    def grant(self, form: dict[str, str], api_domain: str) -> tuple[int, dict[str, Any]]:
        """Answer the token endpoint: ``(status, body)``."""
        if form.get("client_id") != self.creds.client_id or (
                self.creds.client_secret is not None and form.get("client_secret") != self.creds.client_secret):
            return 400, {"error": "invalid_client"}
        grant = form.get("grant_type")
        expired = {"error": "invalid_grant", "error_description": "The auth token has either expired or does not exist"}
        if grant == "authorization_code":
            code = self.codes.get(form.get("code", ""))
            if code is None or code.expires_at <= self.clock.seconds():
                return 400, expired
            if form.get("redirect_uri") != code.redirect_uri:
                return 400, {"error": "invalid_grant",
                             "error_description": "Redirect uri does not match that used to request auth token"}
            del self.codes[form["code"]]  # single use
            body = self._issue(self.access_ttl)
            body["installation_instance_id"] = str(self.creds.instance_id)
        elif grant == "refresh_token":
            token = form.get("refresh_token", "")
            if not self.refresh.get(token):
                return 400, expired
            if self.revoke_old_refresh:
                self.refresh[token] = False  # rotation: the presented token is spent
            body = self._issue(self.refresh_access_ttl or self.access_ttl)
        else:
            return 400, {"error": "unsupported_grant_type"}
        body["api_domain"] = api_domain
        return 200, body

    def expire_access(self, token: str | None = None) -> int:
        """Expire one access token (or all); returns how many were live."""
        now = self.clock.seconds()
        n = 0
        for t, a in self.access.items():
            if (token is None or t == token) and a.expires_at > now:
                a.expires_at = now
                n += 1
        return n

    def revoke_access(self, token: str | None = None) -> None:
        """Forget access tokens entirely (they then answer ``Invalid instance token``)."""
        for t in [t for t in self.access if token is None or t == token]:
            del self.access[t]

    def check_bearer(self, token: str) -> str | None:
        a = self.access.get(token)
        if a is None:
            return f"Invalid instance token: {token}"
        if a.expires_at <= self.clock.seconds():
            return "Authorization token expired"
        return None

    # ------------------------------------------------------------------ request gate
    def check(self, headers: dict[str, str], mode: str) -> str | None:
        """Return the 401 message for a refused API request, or None when it may proceed."""
        if mode == "off":
            return None
        auth = headers.get("authorization", "")
        app_ref = headers.get("brightpearl-app-ref")
        if auth.lower().startswith("bearer ") and mode in ("any", "oauth"):
            problem = self.check_bearer(auth[7:].strip())
            if problem:
                return problem
            # OAuth calls also carry the app and developer refs (contract §1c).
            if app_ref != self.creds.app_ref:
                return f"Invalid app reference: {app_ref}"
            if headers.get("brightpearl-dev-ref") != self.creds.dev_ref:
                return f"Invalid developer reference: {headers.get('brightpearl-dev-ref')}"
            return None
        account_tok, staff_tok = headers.get("brightpearl-account-token"), headers.get("brightpearl-staff-token")
        if (account_tok or staff_tok) and mode in ("any", "private"):
            if app_ref != self.creds.app_ref:
                return f"Invalid app reference: {app_ref}"
            if account_tok is not None and account_tok == self.creds.account_token:
                return None
            if staff_tok is not None and staff_tok == self.creds.staff_token:
                return None
            return f"Invalid account token: {account_tok or staff_tok}"
        return "Not authenticated"

    def to_json(self) -> dict[str, Any]:
        now = self.clock.seconds()
        return {"credentials": self.creds.to_json(),
                "liveAccessTokens": sum(1 for a in self.access.values() if a.expires_at > now),
                "liveRefreshTokens": sum(1 for v in self.refresh.values() if v),
                "revokeOldRefreshTokens": self.revoke_old_refresh}


# ---------------------------------------------------------------- OAuth routes (outside the gateway)
def register(sim: BrightpearlSimulator) -> None:
    sim.route("POST", r"/token/(?P<account>[^/]+)", lambda r: _token(sim, r), name="oauth-token", write=False)
    sim.route("POST", r"/(?P<account>[^/]+)/oauth/token", lambda r: _token(sim, r), name="oauth-token", write=False)
    sim.route("GET", r"/authorize/(?P<account>[^/]+)", lambda r: _authorize(sim, r), name="oauth-authorize",
              write=False)


def _token(sim: BrightpearlSimulator, req: Request) -> Response:
    if req.params.get("account") != sim.account:
        return Response(400, {"error": "invalid_client"})
    form = {k: v[0] for k, v in parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True).items()}
    status, body = sim.tokens.grant(form, sim.api_domain)
    return Response(status, body, content_type="application/json;charset=UTF-8")


def _authorize(sim: BrightpearlSimulator, req: Request) -> Response:
    """The browser step, auto-approved: redirect to ``redirect_uri`` with a fresh code and the state."""
    if req.params.get("account") != sim.account or req.q("client_id") != sim.tokens.creds.client_id:
        return Response(400, {"error": "invalid_client"})
    redirect = req.q("redirect_uri") or sim.tokens.creds.redirect_uri
    params = {"code": sim.tokens.issue_code(redirect)}
    if req.q("state") is not None:
        params["state"] = req.q("state") or ""
    sep = "&" if "?" in redirect else "?"
    return Response(302, None, headers={"Location": f"{redirect}{sep}{urlencode(params)}"})
