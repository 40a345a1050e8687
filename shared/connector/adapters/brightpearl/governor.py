"""The Brightpearl request budget, shared by every Lambda of the account.

Brightpearl allows 200 requests per *rolling* minute per account. A per-process counter cannot
keep concurrent Lambdas inside that, so the budget is a token bucket stored in DynamoDB and taken
with optimistic locking (a conditional write on the item's version).

A bucket of capacity ``B`` refilled at ``r`` tokens/s admits at most ``B + r·W`` requests in any
window of ``W`` seconds. With ``B = 10 %`` of the limit and ``r = 90 % of the limit / W`` that is
exactly the limit, while still letting a burst through at once: the account is never throttled by
our own traffic, and more than 90 % of the budget stays usable.
"""

from __future__ import annotations

import contextlib
import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from connector.adapters.ratelimit import BucketShape, TokenBucket, refill
from connector.adapters.store import GovernorItem
from connector.client_metrics import add_sum
from connector.observability import MetricUnit

# After a cached item proved stale (another process took a token), this many acquisitions read first.
CACHE_BACKOFF = 8


class BudgetExhausted(Exception):
    """The shared budget has no token within the time this caller may wait."""

    def __init__(self, key: str, wait: float) -> None:
        super().__init__(f"Brightpearl request budget {key!r} exhausted; next token in {wait:.1f}s")
        self.key = key
        self.wait = wait


class Governor(Protocol):
    def acquire(self) -> None: ...


class LocalGovernor:
    """The same bucket held in memory: for one process (tests, benchmarks of a single caller)."""

    def __init__(self, shape: BucketShape, *, max_wait: float = 30.0,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> None:
        self.bucket = TokenBucket(shape, clock)
        self.max_wait = max_wait
        self.sleep = sleep

    def acquire(self) -> None:
        wait = self.bucket.take()
        if wait > self.max_wait:
            self.bucket.give_back()
            raise BudgetExhausted("local", wait)
        if wait:
            add_sum("BrightpearlGovernorWaitSeconds", wait, MetricUnit.Seconds)
            self.sleep(wait)


class DynamoGovernor:
    """Token bucket in the governor table, shared across processes."""

    def __init__(self, key: str, shape: BucketShape, *, max_wait: float = 30.0,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> None:
        self.key = key
        self.shape = shape
        self.max_wait = max_wait
        self.clock = clock
        self.sleep = sleep
        self.stats = {"acquired": 0, "conflicts": 0, "waited_seconds": 0.0}
        # The item as this process last saved it. While no other process takes a token in between, the
        # next save conditional on that version succeeds without reading first: one DynamoDB call per
        # request instead of two. A conflict means someone else wrote: read again, then retry.
        self._item: GovernorItem | None = None
        self._skip_cache = 0  # acquisitions left that read first, after a cached item turned out stale

    def acquire(self) -> None:
        waited = 0.0
        cached = False
        while True:
            item, self._item = self._item, None
            if item is not None and self._skip_cache:
                self._skip_cache -= 1
                item = None
            cached = item is not None
            if item is None:
                try:
                    item = GovernorItem.get(self.key, consistent_read=True)
                except DoesNotExist:
                    item = GovernorItem(self.key, tokens=self.shape.capacity, refilled_at=self.clock())
            now = self.clock()
            tokens = refill(float(item.tokens), float(item.refilled_at), now, self.shape)
            if tokens < 1.0:
                wait = (1.0 - tokens) / self.shape.per_second
                if waited + wait > self.max_wait:
                    raise BudgetExhausted(self.key, wait)
                # A little jitter so waiting Lambdas do not all wake and collide at once.
                wait *= 1.0 + random.random() * 0.1
                add_sum("BrightpearlGovernorWaitSeconds", wait, MetricUnit.Seconds)
                self.sleep(wait)
                waited += wait
                self.stats["waited_seconds"] += wait
                self._item = item  # still the latest unless someone wrote meanwhile (then the save says so)
                continue
            item.tokens = tokens - 1.0
            item.refilled_at = now
            try:
                item.save()  # conditional on the version it was read at (VersionAttribute)
            except PutError as exc:
                if _is_conditional_failure(exc):
                    self.stats["conflicts"] += 1
                    if cached:  # others are writing too: stop guessing for a while (a stale guess costs a call)
                        self._skip_cache = CACHE_BACKOFF
                    continue
                raise
            self.stats["acquired"] += 1
            self._item = item  # saved at its new version (pynamodb bumps it in place)
            return


def _is_conditional_failure(exc: PutError | UpdateError) -> bool:
    cause = getattr(exc, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"


class DynamoLease:
    """A short exclusive lease on a key (e.g. "refresh the Brightpearl OAuth token"), expiring by itself."""

    def __init__(self, key: str, *, ttl_seconds: float = 30.0, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep, max_wait: float = 30.0) -> None:
        self.key = key
        self.ttl = ttl_seconds
        self.clock = clock
        self.sleep = sleep
        self.max_wait = max_wait
        self.owner = uuid.uuid4().hex

    def __enter__(self) -> DynamoLease:
        deadline = self.clock() + self.max_wait
        while True:
            now = self.clock()
            item = GovernorItem(self.key, owner=self.owner, lease_until=now + self.ttl,
                                expires_at=datetime.fromtimestamp(now + 3600, UTC))
            try:
                # Take it if free or if the holder's lease ran out (a crashed Lambda never blocks for long).
                item.save(condition=(GovernorItem.owner.does_not_exist()) | (GovernorItem.lease_until < now),
                          add_version_condition=False)
                return self
            except PutError as exc:
                if not _is_conditional_failure(exc) or now > deadline:
                    raise TimeoutError(f"lease {self.key!r} is held by another worker") from exc
                self.sleep(0.2 + random.random() * 0.3)

    def __exit__(self, *exc: object) -> None:
        # A lease that expired and was taken over needs no release: the condition fails quietly.
        with contextlib.suppress(Exception):
            GovernorItem(self.key).delete(condition=GovernorItem.owner == self.owner, add_version_condition=False)
