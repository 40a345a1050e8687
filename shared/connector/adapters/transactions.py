"""TransactWriteItems in batches of 100, sent again while DynamoDB cancels them for a passing reason.

The stores (listing links, movements, the deemed-claims items) write many items at once, each under its
own condition (the version it was read at, or its absence). DynamoDB cancels a whole transaction when one
item fails its condition, or when another transaction touches one of its items at the same moment
(TransactionConflict) or the table is throttled; the reasons come back one per item, in order. What to do
with each cancelled batch is the caller's (``settle``); the loop, its tries and its pause are here.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import CancellationReason, TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

TRANSACT_ITEMS = 100  # TransactWriteItems' maximum (DynamoDB API reference)

# Given a cancelled batch and its reasons (one per item, in order), the items to send again.
type Settle[M: Model] = Callable[[list[M], list[CancellationReason | None]], list[M]]


def transact_with_retry[M: Model](items: Sequence[M], *, connection: Connection | None, settle: Settle[M],
                                    condition: Callable[[M], Any] | None = None, tries: int | None = None,
                                    pause: Callable[[int], None] | None = None,
                                    write: Callable[[TransactWrite, M], None] | None = None) -> list[M]:
    """Save ``items`` in TransactWriteItems of 100, each with ``condition(item)`` (None: the model's own);
    ``write(tx, item)`` instead puts each item in the transaction its own way (an update, say).

    A cancelled batch is handed to ``settle`` with its cancellation reasons; the items it returns are sent
    again (after ``pause(attempt)``, when given), at most ``tries`` times in all (None: until none is
    left). A cancellation without reasons is raised. Returns the items of the first batch still unwritten
    when its tries ran out (the later batches are then not sent), or an empty list."""
    for start in range(0, len(items), TRANSACT_ITEMS):
        todo = list(items[start:start + TRANSACT_ITEMS])
        attempt = 0
        while todo and (tries is None or attempt < tries):
            try:
                with TransactWrite(connection=connection) as tx:
                    for item in todo:
                        if write is not None:
                            write(tx, item)
                        else:
                            tx.save(item, condition=condition(item) if condition else None)
                todo = []
            except TransactWriteError as exc:
                # pynamodb bumps the local versions only after a commit: nothing to undo here.
                reasons = exc.cancellation_reasons
                if not reasons:
                    raise
                todo = settle(todo, reasons)
                if pause is not None and todo and (tries is None or attempt + 1 < tries):
                    pause(attempt)  # not after the last try: nothing follows it
            attempt += 1
        if todo:
            return todo
    return []


def failed_condition(why: CancellationReason | None) -> bool:
    return why is not None and why.code == "ConditionalCheckFailed"


def jittered_backoff(*, base: float = 0.05, cap: float = 1.0, sleep: Callable[[float], None] | None = None,
                     rng: random.Random | None = None) -> Callable[[int], None]:
    """A ``pause`` for :func:`transact_with_retry`: after attempt ``n`` (0 first) sleep a random time up
    to ``min(cap, base * 2**n)`` ("full jitter": workers throttled together do not come back together;
    https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/, and DynamoDB's own advice
    for throttled requests: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/
    Programming.Errors.html#Programming.Errors.RetryAndBackoff)."""
    pick = (rng or random.Random()).uniform
    wait = sleep or time.sleep

    def pause(attempt: int) -> None:
        wait(pick(0.0, min(cap, base * 2 ** attempt)))

    return pause
