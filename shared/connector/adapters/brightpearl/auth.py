"""Brightpearl authentication: private-app headers, or an OAuth2 instance app with rotating refresh tokens.

With OAuth, every refresh returns a *new* refresh token, and the old one may stop working. Two
Lambdas refreshing at once would then lock the account out, so a refresh happens under a shared
lease, re-reads the stored tokens first (another worker may have refreshed already), and persists
the new pair before anyone uses it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import Any, Protocol

import requests


class BrightpearlAuthError(Exception):
    """Brightpearl refused the credentials (even after one refresh)."""


class Auth(Protocol):
    def headers(self) -> dict[str, str]: ...

    def refresh(self, rejected_headers: dict[str, str]) -> bool:
        """Try to obtain fresh credentials after a 401; False when there is nothing to refresh."""
        ...

    def api_domain(self) -> str | None: ...


@dataclass(frozen=True)
class PrivateAppAuth:
    """Private app: app reference plus an account (system) or staff token."""

    app_ref: str
    account_token: str | None = None
    staff_token: str | None = None

    def __post_init__(self) -> None:
        if not (self.account_token or self.staff_token):
            raise ValueError("a private Brightpearl app needs account_token or staff_token")

    def headers(self) -> dict[str, str]:
        h = {"brightpearl-app-ref": self.app_ref}
        if self.account_token:
            h["brightpearl-account-token"] = self.account_token
        else:
            h["brightpearl-staff-token"] = self.staff_token or ""
        return h

    def refresh(self, rejected_headers: dict[str, str]) -> bool:
        return False

    def api_domain(self) -> str | None:
        return None

    def __repr__(self) -> str:
        return f"PrivateAppAuth(app_ref={self.app_ref!r}, tokens=***)"


@dataclass(frozen=True)
class OAuthTokens:
    access_token: str
    refresh_token: str
    api_domain: str | None = None
    expires_at: float = 0.0

    def __repr__(self) -> str:
        return f"OAuthTokens(api_domain={self.api_domain!r}, expires_at={self.expires_at}, tokens=***)"


class TokenStore(Protocol):
    def load(self) -> OAuthTokens: ...

    def save(self, tokens: OAuthTokens) -> None: ...


class MemoryTokenStore:
    def __init__(self, tokens: OAuthTokens) -> None:
        self.tokens = tokens

    def load(self) -> OAuthTokens:
        return self.tokens

    def save(self, tokens: OAuthTokens) -> None:
        self.tokens = tokens


@contextlib.contextmanager
def _thread_lock(lock: threading.Lock) -> Iterator[None]:
    with lock:
        yield


class OAuthAuth:
    """OAuth2 bearer auth. ``lease`` serialises refreshes across workers (DynamoLease in Lambda)."""

    def __init__(self, *, app_ref: str, dev_ref: str, client_id: str, client_secret: str | None,
                 token_url: str, store: TokenStore,
                 lease: Callable[[], AbstractContextManager[Any]] | None = None,
                 session: requests.Session | None = None, clock: Callable[[], float] = time.time,
                 refresh_margin: float = 300.0) -> None:
        self.app_ref = app_ref
        self.dev_ref = dev_ref
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_url = token_url
        self.store = store
        self._local_lock = threading.Lock()
        self.lease = lease or (lambda: _thread_lock(self._local_lock))
        self.session = session or requests.Session()
        self.clock = clock
        self.refresh_margin = refresh_margin
        self._tokens = store.load()

    def headers(self) -> dict[str, str]:
        if self._tokens.expires_at and self.clock() > self._tokens.expires_at - self.refresh_margin:
            self._refresh_if_unchanged(self._tokens.access_token)
        return {
            "Authorization": f"Bearer {self._tokens.access_token}",
            "brightpearl-app-ref": self.app_ref,
            "brightpearl-dev-ref": self.dev_ref,
        }

    def api_domain(self) -> str | None:
        return self._tokens.api_domain

    def refresh(self, rejected_headers: dict[str, str]) -> bool:
        rejected = rejected_headers.get("Authorization", "").removeprefix("Bearer ")
        self._refresh_if_unchanged(rejected)
        return True

    def _refresh_if_unchanged(self, stale_access_token: str) -> None:
        with self.lease():
            stored = self.store.load()
            if stored.access_token != stale_access_token:
                # Another worker refreshed while we waited for the lease: use its tokens.
                self._tokens = stored
                return
            form = {"grant_type": "refresh_token", "refresh_token": stored.refresh_token, "client_id": self.client_id}
            if self.client_secret:
                form["client_secret"] = self.client_secret
            resp = self.session.post(self.token_url, data=form, timeout=20)
            if resp.status_code != 200:
                try:
                    err = resp.json()
                except ValueError:
                    err = {"error": resp.text[:200]}
                raise BrightpearlAuthError(
                    f"OAuth refresh at {self.token_url} failed: HTTP {resp.status_code} "
                    f"{err.get('error')}: {err.get('error_description', '')}".rstrip(": "))
            body = resp.json()
            tokens = replace(
                stored,
                access_token=body["access_token"],
                # Always persist the new refresh token: the old one may already be dead.
                refresh_token=body.get("refresh_token", stored.refresh_token),
                api_domain=body.get("api_domain", stored.api_domain),
                expires_at=self.clock() + float(body.get("expires_in", 3600)),
            )
            self.store.save(tokens)
            self._tokens = tokens
