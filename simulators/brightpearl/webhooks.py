"""Webhook rendering and delivery (contract §7).

Deliveries run on a small thread pool: the API handler only queues them (while holding the world
lock, which never blocks) and the HTTP calls to receivers happen without any simulator lock.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from simulators.brightpearl.records import Event, Webhook, format_id_set

# A direct opener: receivers are on loopback, so environment proxies must not be consulted.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def event_variables(account: str, full_event: str, resource_id: str, raised_on: str, version: str) -> dict[str, str]:
    resource, _, rest = full_event.partition(".")
    lifecycle, _, specifier = rest.partition(".")
    return {"${account-code}": account, "${resource-type}": resource, "${resource-id}": resource_id,
            "${lifecycle-event}": lifecycle, "${resource-specifier}": specifier, "${full-event}": full_event,
            "${raised-on}": raised_on, "${brightpearl-version}": version}


def render(template: str, variables: dict[str, str]) -> str:
    for k, v in variables.items():
        template = template.replace(k, v)
    return template


@dataclass
class Delivery:
    webhook_id: int
    event: str
    method: str
    url: str
    body: str | None
    content_type: str | None
    qos: int


@dataclass
class Attempt:
    webhook_id: int
    event: str
    method: str
    url: str
    body: str | None
    attempt: int  # 1 for the first try
    status: int | None  # None when no HTTP answer came back
    error: str | None
    at: str  # wall-clock time of the attempt


def deliveries_for(webhooks: list[Webhook], event: Event, *, account: str, raised_on: str,
                   version: str) -> list[Delivery]:
    """One delivery per matching webhook (ID-set webhooks) or per id (the others)."""
    out: list[Delivery] = []
    for hook in webhooks:
        if not hook.matches(event.full_event):
            continue
        id_strings = [format_id_set(event.ids)] if hook.id_set_accepted else [str(i) for i in event.ids]
        for rid in id_strings:
            v = event_variables(account, event.full_event, rid, raised_on, version)
            body = render(hook.body_template, v) if hook.body_template and hook.http_method in ("POST", "PUT") else None
            out.append(Delivery(hook.id, event.full_event, hook.http_method, render(hook.uri_template, v), body,
                                hook.content_type, hook.quality_of_service))
    return out


class WebhookDispatcher:
    def __init__(self, *, retries: int = 3, retry_interval: float = 0.05, timeout: float = 5.0,
                 workers: int = 4) -> None:
        self.retries = retries
        self.retry_interval = retry_interval
        self.timeout = timeout
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bp-webhook")
        self._cond = threading.Condition()
        self._pending = 0
        self._attempts: list[Attempt] = []

    def submit(self, deliveries: list[Delivery]) -> None:
        if not deliveries:
            return
        with self._cond:
            self._pending += len(deliveries)
        for d in deliveries:
            self._pool.submit(self._deliver, d)

    @staticmethod
    def should_retry(qos: int, status: int | None) -> bool:
        if status is not None and 200 <= status < 300:
            return False
        if qos == 0:  # at-most-once: only a receiver's explicit 503 asks for another try
            return status == 503
        return status is None or not 400 <= status < 500  # at-least-once: all but 4xx

    def _send(self, d: Delivery) -> tuple[int | None, str | None]:
        data = d.body.encode("utf-8") if d.body is not None else None
        req = urllib.request.Request(d.url, data=data, method=d.method)  # noqa: S310 - URL comes from a test's template
        if d.content_type and data is not None:
            req.add_header("Content-Type", d.content_type)
        try:
            with _OPENER.open(req, timeout=self.timeout) as resp:
                resp.read()
                return int(resp.status), None
        except urllib.error.HTTPError as e:
            return int(e.code), None
        except (OSError, ValueError) as e:  # connection refused/reset, timeouts, bad URL
            return None, f"{type(e).__name__}: {e}"

    def _deliver(self, d: Delivery) -> None:
        try:
            for attempt in range(1, self.retries + 2):
                status, error = self._send(d)
                with self._cond:
                    self._attempts.append(Attempt(d.webhook_id, d.event, d.method, d.url, d.body, attempt, status,
                                                  error, datetime.now(UTC).isoformat()))
                if attempt > self.retries or not self.should_retry(d.qos, status):
                    break
                time.sleep(self.retry_interval)
        finally:
            with self._cond:
                self._pending -= 1
                self._cond.notify_all()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until no delivery is queued or in flight; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending == 0, timeout)

    def attempts(self) -> list[dict[str, Any]]:
        with self._cond:
            return [asdict(a) for a in self._attempts]

    def clear(self) -> None:
        with self._cond:
            self._attempts.clear()

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
