"""The Brightpearl request budget, shared by every Lambda of the account.

Brightpearl allows 200 requests per *rolling* minute per account (https://www.brightpearl.com/developer/
latest/concept/index.html, "API rate limits"; contract §2: "Pace <= 200/min per account across all
Lambdas"). A per-process counter cannot keep concurrent Lambdas inside that, so the budget is a token
bucket stored in DynamoDB and taken with optimistic locking (a conditional write on the item's version).

Tokens are taken in blocks (``ratelimit.BlockBucket``): one conditional write books the next few tokens
of this process, spent locally; a process alone pays one DynamoDB call per block, not per request.
With ``capacity + per_second x (window + hold) = limit`` (``BucketShape.for_limit``) no rolling window
sees more than the limit, blocks or not: each token is used within ``hold`` of the slot the bucket gave it
(``ratelimit``'s docstring has the argument; a property test checks it on random workers and schedules).
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

from connector.adapters.ratelimit import BlockBucket, BucketShape, BucketState, BudgetExhausted, TokenBucket
from connector.adapters.store import GovernorItem
from connector.client_metrics import add_sum
from connector.observability import MetricUnit

__all__ = ["BucketShape", "BudgetExhausted", "DynamoBucketStore", "DynamoGovernor", "DynamoLease", "Governor",
           "LocalGovernor"]


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


class DynamoBucketStore:
    """The bucket's item in the governor table; every write is conditional on the version it was read at."""

    def __init__(self, key: str) -> None:
        self.key = key

    def read(self) -> BucketState | None:
        try:
            item = GovernorItem.get(self.key, consistent_read=True)
        except DoesNotExist:
            return None
        return BucketState(float(item.tokens), float(item.refilled_at), item)

    def write(self, state: BucketState | None, tokens: float, refilled_at: float) -> BucketState | None:
        item = GovernorItem(self.key) if state is None else state.handle
        item.tokens, item.refilled_at = tokens, refilled_at
        try:
            item.save()  # conditional on the version it was read at (VersionAttribute; absent if new)
        except PutError as exc:
            if _is_conditional_failure(exc):
                return None
            raise
        return BucketState(tokens, refilled_at, item)  # pynamodb bumped the version in place


class DynamoGovernor:
    """Token bucket in the governor table, shared across processes, taken in blocks."""

    def __init__(self, key: str, shape: BucketShape, *, max_wait: float = 30.0,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> None:
        self.key = key
        self.shape = shape
        self.clock = clock
        self.sleep = sleep
        self.bucket = BlockBucket(DynamoBucketStore(key), shape, clock, max_wait=max_wait, key=key)
        self.stats = self.bucket.stats  # acquired, booked, bookings, reads, writes, conflicts, expired
        self.stats["waited_seconds"] = 0.0

    def acquire(self) -> None:
        wait = self.bucket.take() - self.clock()
        if wait > 0:
            add_sum("BrightpearlGovernorWaitSeconds", wait, MetricUnit.Seconds)
            self.stats["waited_seconds"] += wait
            self.sleep(wait)


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
