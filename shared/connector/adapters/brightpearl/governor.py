"""The Brightpearl request budget, shared by every Lambda of the account.

Brightpearl allows 200 requests per *rolling* minute per account (https://www.brightpearl.com/developer/
latest/concept/index.html, "API rate limits"; contract §2: "Pace <= 200/min per account across all
Lambdas"). A per-process counter cannot keep concurrent Lambdas inside that, so the budget is a token
bucket stored in DynamoDB, written only under conditions (:class:`DynamoBucketStore`).

Tokens are taken in blocks (``ratelimit.BlockBucket``): one conditional write books the next few tokens
of this process, spent locally; a process pays one DynamoDB call per block, not per request, and
contending processes do not make each other's bookings fail (a booking subtracts from the stored level).
With ``capacity + per_second x (window + hold) = limit`` (``BucketShape.for_limit``) no rolling window
sees more than the limit, blocks or not: each token is used within ``hold`` of the slot the bucket gave it
(``ratelimit``'s docstring has the argument; a property test checks it on random workers and schedules).
"""

from __future__ import annotations

import contextlib
import math
import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from botocore.exceptions import ClientError
from pynamodb.exceptions import PutError, UpdateError

from connector.adapters.ratelimit import BlockBucket, BucketShape, BucketState, BudgetExhausted, TokenBucket, Written
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
    """The bucket's item in the governor table (``tokens``, ``refilled_at``, ``version``, ``bookings``).

    Three calls: a consistent GetItem; a versioned PutItem (the re-basing write, conditional on the
    version it was read at or on the item's absence, as pynamodb's ``save`` of GovernorItem does, so a
    process of an older deploy that still saves the item conflicts instead of overwriting); and the
    booking, an UpdateItem ``tokens = tokens - :count`` conditional on ``refilled_at`` and the level's
    range, which also adds 1 to ``version`` (older processes' saves fail and read again) and to
    ``bookings``. Both writes ask for the item on a failed condition (``ReturnValuesOnConditionCheckFailure
    = ALL_OLD``, https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html), so
    a conflict needs no read. The item is written with the low-level client (pynamodb 6 does not pass that
    parameter); its attributes are GovernorItem's."""

    def __init__(self, key: str) -> None:
        self.key = key

    def _client(self) -> Any:
        return GovernorItem._get_connection().connection.client

    @property
    def _table(self) -> str:
        return str(GovernorItem.Meta.table_name)

    def read(self) -> BucketState | None:
        item = self._client().get_item(TableName=self._table, Key=self._key(), ConsistentRead=True).get("Item")
        return _state(item)

    def write(self, state: BucketState | None, tokens: float, refilled_at: float) -> Written:
        version = 0 if state is None else int(state.handle)
        bookings = 0 if state is None else state.bookings
        item = {**self._key(), "tokens": _n(tokens), "refilled_at": _n(refilled_at), "version": _n(version + 1),
                "bookings": _n(bookings + 1)}
        condition: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(#k)", "ExpressionAttributeNames": {"#k": "key"}}
            if state is None else
            {"ConditionExpression": "#v = :v", "ExpressionAttributeNames": {"#v": "version"},
             "ExpressionAttributeValues": {":v": _n(version)}})
        try:
            self._client().put_item(TableName=self._table, Item=item, ReturnValuesOnConditionCheckFailure="ALL_OLD",
                                    **condition)
        except ClientError as exc:
            return Written(False, _refused(exc))
        return Written(True, _state(item))

    def take(self, count: int, refilled_at: float, least: float, most: float) -> Written:
        try:
            out = self._client().update_item(
                TableName=self._table, Key=self._key(),
                UpdateExpression="SET #t = #t - :c ADD #v :one, #b :one",
                ConditionExpression="#r = :r AND #t BETWEEN :lo AND :hi",
                ExpressionAttributeNames={"#t": "tokens", "#r": "refilled_at", "#v": "version", "#b": "bookings"},
                ExpressionAttributeValues={":c": _n(count), ":one": _n(1), ":r": _n(refilled_at), ":lo": _n(least),
                                           ":hi": _n(most)},
                ReturnValues="ALL_NEW", ReturnValuesOnConditionCheckFailure="ALL_OLD")
        except ClientError as exc:
            return Written(False, _refused(exc))
        return Written(True, _state(out["Attributes"]))

    def _key(self) -> dict[str, Any]:
        return {"key": {"S": self.key}}


def _n(value: float) -> dict[str, str]:
    if not math.isfinite(value):
        raise ValueError(f"governor bucket: not a finite number: {value!r}")
    return {"N": repr(float(value)) if isinstance(value, float) else str(int(value))}


def _state(item: dict[str, Any] | None) -> BucketState | None:
    if not item:
        return None
    def number(name: str) -> str:
        return str(item.get(name, {}).get("N", "0"))  # an item saved before ``bookings`` existed: 0

    return BucketState(float(number("tokens")), float(number("refilled_at")), int(number("version")),
                       int(number("bookings")))


def _refused(exc: ClientError) -> BucketState | None:
    """The item a failed condition returned (None: it does not exist); anything else is raised."""
    if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
        raise exc
    return _state(exc.response.get("Item"))


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
