"""Amazon SP-API access on top of python-amazon-sp-api.

The library does the HTTP and the LWA token exchange; this module adds what the connector needs
around it: configurable SP-API and LWA endpoints (the only thing that differs between Amazon and
the local simulator), per-operation pacing at Amazon's documented rates, 429 back-off that never
waits longer than a Lambda should, and a token cache that survives warm invocations but is
dropped when Amazon rejects the token.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from sp_api.auth import AccessTokenClient
from sp_api.auth import access_token_client as _token_module
from sp_api.base import (
    ApiResponse,
    SellingApiForbiddenException,
    SellingApiRequestThrottledException,
    SellingApiServerException,
    SellingApiTemporarilyUnavailableException,
)

from connector.adapters.amazon.rates import OPERATION_RATES
from connector.adapters.ratelimit import BucketShape, TokenBucket
from connector.client_metrics import add_sum
from connector.domain.errors import Throttled
from connector.observability import MetricUnit

T = TypeVar("T")

DEFAULT_LWA_URL = "https://api.amazon.com/auth/o2/token"
REGION_ENDPOINTS = {
    "na": "https://sellingpartnerapi-na.amazon.com",
    "eu": "https://sellingpartnerapi-eu.amazon.com",
    "fe": "https://sellingpartnerapi-fe.amazon.com",
}
AWS_REGION_OF = {"na": "us-east-1", "eu": "eu-west-1", "fe": "us-west-2"}


class AmazonThrottled(Throttled):
    """Amazon keeps answering 429 and the next try is further away than this invocation may wait.

    Callers let the work go back to its queue (or the next schedule) instead of sleeping.
    """

    def __init__(self, operation: str, retry_after: float) -> None:
        super().__init__(f"SP-API {operation} throttled (429 QuotaExceeded); retry after {retry_after:.1f}s")
        self.operation = operation
        self.retry_after = retry_after


@dataclass(frozen=True)
class LwaCredentials:
    """The seller's LWA credentials, read from the Amazon secret."""

    refresh_token: str
    lwa_app_id: str
    lwa_client_secret: str

    def __repr__(self) -> str:  # never let a secret reach a log line
        return f"LwaCredentials(lwa_app_id={self.lwa_app_id!r}, refresh_token=***, lwa_client_secret=***)"


@dataclass(frozen=True)
class Marketplace:
    """Duck-types ``sp_api.base.Marketplaces``: the library reads only these three attributes."""

    endpoint: str
    marketplace_id: str
    region: str


def token_client_class(lwa_url: str) -> type[AccessTokenClient]:
    """An AccessTokenClient whose token endpoint is ``lwa_url`` (the library hard-codes Amazon's)."""
    parts = urlsplit(lwa_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"LWA token endpoint must be an http(s) URL, got {lwa_url!r}")

    class _LwaTokenClient(AccessTokenClient):
        scheme = f"{parts.scheme}://"
        host = parts.netloc
        path = parts.path or "/auth/o2/token"

        def _request(self, url: str, data: Any, headers: Any) -> Any:
            # The library's own error for a refused token request cannot be raised (a frozen dataclass
            # that assigns in __init__: it surfaces as "cannot assign to field 'error_code'"), and a
            # 5xx page that is not JSON surfaces as a decode error. Say what LWA answered instead.
            response = self._transport.request("POST", url, data=data, headers=headers)
            try:
                body = response.json()
            except ValueError:
                body = None
            if response.status_code != 200 or not isinstance(body, dict):
                detail = body if isinstance(body, dict) else {}
                raise AmazonAuthError(response.status_code, str(detail.get("error") or ""),
                                      str(detail.get("error_description") or response.text[:200]))
            return body

    return _LwaTokenClient


class AmazonAuthError(Exception):
    """Login with Amazon refused the token request: wrong or revoked refresh token, wrong app id or
    secret (4xx), or LWA is failing (5xx). The message says which, never the credentials themselves."""

    def __init__(self, status: int, code: str, description: str) -> None:
        hint = ("check refresh_token, lwa_app_id and lwa_client_secret in the Amazon secret"
                if 400 <= status < 500 else "Login with Amazon is failing; the work is retried")
        super().__init__(f"Amazon LWA token request answered {status} {code or '-'}: {description} ({hint})")
        self.status, self.code = status, code


# SP-API library clients by (class, marketplace, credentials, timeout, LWA URL, options): see ``client``.
_CLIENTS: dict[tuple[Any, ...], Any] = {}


class AmazonClients:
    """Factory for python-amazon-sp-api clients plus :meth:`call`, which paces and retries.

    Usage::

        amazon = AmazonClients(credentials, marketplace_id="A1F83G8C2ARO7P", region="eu")
        reports = amazon.client(Reports)
        res = amazon.call("createReport", reports.create_report, reportType=..., ...)
    """

    def __init__(self, credentials: LwaCredentials, *, marketplace_id: str, region: str = "eu",
                 endpoint: str | None = None, lwa_url: str = DEFAULT_LWA_URL, timeout: float = 20.0,
                 max_wait: float = 10.0, max_attempts: int = 5,
                 sleep: Callable[[float], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if region not in REGION_ENDPOINTS:
            raise ValueError(f"Amazon region must be one of {sorted(REGION_ENDPOINTS)}, got {region!r}")
        self.credentials = credentials
        self.marketplace = Marketplace(endpoint or REGION_ENDPOINTS[region], marketplace_id, AWS_REGION_OF[region])
        self.token_client = token_client_class(lwa_url)
        self.lwa_url = lwa_url
        self.timeout = timeout
        self.max_wait = max_wait
        self.max_attempts = max_attempts
        self._sleep = sleep
        self.clock = clock
        self._pacers: dict[str, TokenBucket] = {}
        self.stats: dict[str, int] = {"calls": 0, "throttled": 0, "token_refreshes": 0}

    def client(self, api_class: type[T], *, marketplace_id: str | None = None, **kwargs: Any) -> T:
        """An SP-API client of ``api_class`` (e.g. ``Reports``) bound to this seller and endpoint."""
        marketplace = self.marketplace
        if marketplace_id and marketplace_id != marketplace.marketplace_id:
            marketplace = Marketplace(marketplace.endpoint, marketplace_id, marketplace.region)
        # Kept per container: each library client builds two httpx clients, each with its own SSL context
        # (the bulk of an inbound run's CPU when built per run or per call). The pacing and retries live in
        # ``call`` on this object, so a cached client changes neither; tokens are cached by the library anyway.
        key = (api_class, marketplace, self.credentials, self.timeout, self.lwa_url, tuple(sorted(kwargs.items())))
        cached = _CLIENTS.get(key)
        if cached is None:
            cached = _CLIENTS[key] = self._build(api_class, marketplace, **kwargs)
        return cached

    def _build(self, api_class: type[T], marketplace: Marketplace, **kwargs: Any) -> T:
        return api_class(  # type: ignore[call-arg]
            marketplace=marketplace,
            credentials={
                "refresh_token": self.credentials.refresh_token,
                "lwa_app_id": self.credentials.lwa_app_id,
                "lwa_client_secret": self.credentials.lwa_client_secret,
            },
            timeout=self.timeout,
            auth_token_client_class=self.token_client,
            **kwargs,
        )

    def sleep(self, seconds: float) -> None:
        (self._sleep or time.sleep)(seconds)

    def _pacer(self, operation: str) -> TokenBucket:
        if operation not in self._pacers:
            rate = OPERATION_RATES.get(operation)
            if rate is None:
                raise KeyError(f"unknown SP-API operation {operation!r}: add its documented rate to rates.py")
            # Client-side pacing at the documented rate: a burst spreads out instead of hitting 429.
            self._pacers[operation] = TokenBucket(BucketShape(float(rate.burst), rate.per_second), self.clock)
        return self._pacers[operation]

    def forget_access_token(self) -> None:
        """Drop the cached access tokens (the library caches them per process, keyed by refresh token;
        one stack serves one seller, so clearing the whole cache costs nothing)."""
        _token_module.cache.clear()

    def call(self, operation: str, fn: Callable[..., ApiResponse], *args: Any, **kwargs: Any) -> ApiResponse:
        """Run one SP-API operation: pace it, retry 429/5xx with jittered back-off, refresh a rejected token once."""
        pacer = self._pacer(operation)
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            wait = pacer.take()
            if wait > self.max_wait:
                pacer.give_back()
                raise AmazonThrottled(operation, wait)
            if wait:
                add_sum("AmazonPacerWaitSeconds", wait, MetricUnit.Seconds)
                self.sleep(wait)
            self.stats["calls"] += 1
            try:
                return fn(*args, **kwargs)
            except SellingApiRequestThrottledException:
                self.stats["throttled"] += 1
                add_sum("AmazonThrottles", 1, MetricUnit.Count)
                # Amazon refills at the documented rate: wait one token's time, doubled per attempt.
                backoff = min(self.max_wait * 4, (2 ** (attempt - 1)) / pacer.shape.per_second)
                backoff *= 0.5 + random.random() / 2  # jitter so parallel callers do not retry in step
                if attempt >= self.max_attempts or backoff > self.max_wait:
                    raise AmazonThrottled(operation, backoff) from None
                self.sleep(backoff)
            except (SellingApiServerException, SellingApiTemporarilyUnavailableException, httpx.TransportError):
                # Retrying is safe for what the connector sends: quantities are absolute (replace), and a
                # report or feed requested twice costs quota, not correctness.
                if attempt >= self.max_attempts:
                    raise
                add_sum("AmazonRetries", 1, MetricUnit.Count)
                self.sleep(min(self.max_wait, 0.5 * 2 ** (attempt - 1)) * (0.5 + random.random() / 2))
            except SellingApiForbiddenException:
                # A token revoked or expired early stays in the library's process-wide cache across
                # warm invocations; drop it and try once more before calling it a real 403.
                if refreshed:
                    raise
                refreshed = True
                self.stats["token_refreshes"] += 1
                self.forget_access_token()
