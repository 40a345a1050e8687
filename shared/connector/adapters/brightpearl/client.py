"""Brightpearl REST client: envelope, pacing, retries and typed errors.

Retry policy (contract §8d):
- 503 "too many requests" and 429: wait ``brightpearl-next-throttle-period`` (5 s when absent,
  60 s at most) with jitter and retry; the request was not processed, so this is safe for writes.
- 401: refresh the OAuth token once and retry once.
- 5xx and connection errors: retried with capped, jittered exponential back-off for reads and for
  writes the caller declares idempotent. Other writes are NOT retried: a POST that timed out may
  have succeeded, so :class:`BrightpearlUncertainWrite` is raised and the use case checks
  Brightpearl by reference before writing again.
- Other 4xx and 500 ``CMNC-018``/``CMNC-044``: raised at once.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests

from connector.adapters.brightpearl.auth import Auth, BrightpearlAuthError
from connector.adapters.brightpearl.governor import Governor
from connector.client_metrics import add_sum
from connector.domain.errors import NotFound, PortError, Refused, Throttled, Unavailable, UncertainWrite
from connector.observability import MetricUnit

THROTTLE_TEXT = "too many requests"
NOT_RETRYABLE_500_CODES = {"CMNC-018", "CMNC-044"}


class BrightpearlError(PortError):
    """A Brightpearl call failed; names the method, path, HTTP status and Brightpearl's error codes."""

    def __init__(self, method: str, path: str, status: int | None, codes: list[str], message: str) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.codes = codes
        self.detail = message
        code_text = f" [{', '.join(codes)}]" if codes else ""
        super().__init__(f"Brightpearl {method} {path} → {status if status is not None else 'no response'}"
                         f"{code_text}: {message}")


class BrightpearlNotFound(BrightpearlError, NotFound):
    pass


class BrightpearlValidationError(BrightpearlError, Refused):
    pass


class BrightpearlThrottled(BrightpearlError, Throttled):
    """Still throttled after the allowed attempts: give the work back to its queue."""


class BrightpearlServerError(BrightpearlError, Unavailable):
    pass


class BrightpearlUncertainWrite(BrightpearlError, UncertainWrite):
    """A non-idempotent write got no clear answer: it may or may not have been applied."""


class BrightpearlUnauthorized(BrightpearlError, BrightpearlAuthError):
    pass


def _error_codes(body: Any) -> tuple[list[str], str]:
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list):
            codes = [str(e.get("code", "")) for e in errors if isinstance(e, dict)]
            msgs = [str(e.get("message", "")) for e in errors if isinstance(e, dict)]
            return [c for c in codes if c], "; ".join(m for m in msgs if m)
        if isinstance(body.get("response"), str):
            return [], body["response"]
    return [], str(body)[:300] if body else ""


_SECRET_TEXT = re.compile(r"(token|key|secret|password)(\s*[:=]\s*)\S+", re.IGNORECASE)


def _redact(message: str) -> str:
    """Brightpearl's 401 texts echo the credential ("Invalid account token: <token>"): errors are
    logged, so keep the reason and drop the value."""
    return _SECRET_TEXT.sub(r"\1\2[redacted]", message)


class BrightpearlClient:
    """One account's API. Paths are relative to ``/public-api/{account}/``, e.g. ``product-service/product/1007``."""

    def __init__(self, *, base_url: str, account: str, auth: Auth, governor: Governor,
                 session: requests.Session | None = None, timeout: float = 30.0, max_attempts: int = 5,
                 low_watermark: int = 10, max_wait: float = 45.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        self.account = account
        self.auth = auth
        self.governor = governor
        self.session = session or requests.Session()
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.low_watermark = low_watermark
        # Throttle waits of one call add up to at most this; past it the work goes back to its queue
        # (BrightpearlThrottled) instead of the Lambda sleeping into its timeout.
        self.max_wait = max_wait
        self.sleep = sleep
        self.stats = {"requests": 0, "throttled": 0, "retries": 0, "refreshes": 0, "paced_sleeps": 0}

    # ------------------------------------------------------------------ public verbs
    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def options(self, path: str) -> Any:
        return self.request("OPTIONS", path)

    def post(self, path: str, body: Any, *, idempotent: bool = False, headers: dict[str, str] | None = None) -> Any:
        return self.request("POST", path, json=body, idempotent=idempotent, headers=headers)

    def put(self, path: str, body: Any) -> Any:
        return self.request("PUT", path, json=body, idempotent=True)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path, idempotent=True)

    # ------------------------------------------------------------------ core
    def url(self, path: str) -> str:
        base = self.base_url
        domain = self.auth.api_domain()
        if domain:
            # OAuth's api_domain is authoritative for the account's host; keep the configured scheme.
            base = f"{urlsplit(self.base_url).scheme}://{domain}"
        return f"{base}/public-api/{self.account}/{path.lstrip('/')}"

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None,
                idempotent: bool | None = None, headers: dict[str, str] | None = None) -> Any:
        """Send one call and return the ``response`` member of the envelope (None for an empty body)."""
        safe_to_repeat = method in ("GET", "OPTIONS") if idempotent is None else idempotent
        safe_to_repeat = safe_to_repeat or method in ("GET", "OPTIONS")
        refreshed = False
        attempt = 0
        waited = 0.0
        while True:
            attempt += 1
            self.governor.acquire()
            sent_headers = {**self.auth.headers(), **(headers or {})}
            self.stats["requests"] += 1
            try:
                resp = self.session.request(method, self.url(path), params=params, json=json,
                                            headers=sent_headers, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if not safe_to_repeat:
                    raise BrightpearlUncertainWrite(method, path, None, [], f"{type(exc).__name__}: {exc}") from exc
                if attempt >= self.max_attempts:
                    raise BrightpearlServerError(method, path, None, [], f"{type(exc).__name__}: {exc}") from exc
                self._backoff(attempt)
                continue

            self._pace(resp)
            body = self._json(resp)
            status = resp.status_code
            if 200 <= status < 300:
                return body.get("response") if isinstance(body, dict) else body

            codes, message = _error_codes(body)
            if status == 401:
                if not refreshed and self.auth.refresh(sent_headers):
                    refreshed = True
                    self.stats["refreshes"] += 1
                    continue
                raise BrightpearlUnauthorized(method, path, status, codes, _redact(message) or "unauthorized")
            if status == 429 or (status == 503 and THROTTLE_TEXT in message.lower()):
                self.stats["throttled"] += 1
                add_sum("BrightpearlThrottles", 1, MetricUnit.Count)
                wait = self._throttle_wait(resp)
                if attempt >= self.max_attempts or waited + wait > self.max_wait:
                    raise BrightpearlThrottled(method, path, status, codes, message)
                self.sleep(wait)
                waited += wait
                continue
            if status >= 500 and not (status == 500 and set(codes) & NOT_RETRYABLE_500_CODES):
                if not safe_to_repeat:
                    raise BrightpearlUncertainWrite(method, path, status, codes, message)
                if attempt >= self.max_attempts:
                    raise BrightpearlServerError(method, path, status, codes, message)
                self._backoff(attempt)
                continue
            if status == 404:
                raise BrightpearlNotFound(method, path, status, codes, message)
            if 400 <= status < 500:
                raise BrightpearlValidationError(method, path, status, codes, message)
            raise BrightpearlServerError(method, path, status, codes, message)

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _json(resp: requests.Response) -> Any:
        if not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            return {"response": resp.text[:300]}

    def _throttle_wait(self, resp: requests.Response) -> float:
        try:
            wait = int(resp.headers.get("brightpearl-next-throttle-period", "")) / 1000.0
        except ValueError:
            wait = 5.0
        return min(60.0, max(0.05, wait)) * (1.0 + random.random() * 0.1)

    def _pace(self, resp: requests.Response) -> None:
        """When Brightpearl says the window is nearly used up, wait for it to roll over."""
        try:
            remaining = int(resp.headers.get("brightpearl-requests-remaining", ""))
        except ValueError:
            return
        if remaining <= self.low_watermark and resp.status_code != 503:
            self.stats["paced_sleeps"] += 1
            wait = self._throttle_wait(resp)
            # Paused before Brightpearl would throttle: time the budget cost this function.
            add_sum("BrightpearlPacedWaitSeconds", wait, MetricUnit.Seconds)
            self.sleep(wait)

    def _backoff(self, attempt: int) -> None:
        self.stats["retries"] += 1
        add_sum("BrightpearlRetries", 1, MetricUnit.Count)
        self.sleep(min(8.0, 0.25 * 2 ** (attempt - 1)) * (0.5 + random.random() / 2))
