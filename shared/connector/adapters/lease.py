"""An exclusive lease in the governor table, kept alive by its holder while it works.

The stock-change consumer runs its read-compute-push under it, so two overlapping batches can never
read Brightpearl in one order and push to Amazon in the other (the older, higher quantity would win
until the next change). It replaces reserved concurrency 1, under which SQS deliveries were throttled
routinely. The lease is short (``ttl``) and renewed every ``ttl / 3`` by a background thread: a holder
that dies (timeout, SIGKILL) blocks the others for one ``ttl`` at most, never for a whole Lambda timeout.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType

from pynamodb.exceptions import PutError, UpdateError

from connector.adapters.store import GovernorItem


class LeaseTimeout(TimeoutError):
    """Another worker held the lease for longer than this one may wait: give the work back to the queue."""


class HeartbeatLease:
    def __init__(self, key: str, *, ttl: float = 6.0, max_wait: float = 40.0,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> None:
        self.key, self.ttl, self.max_wait, self.clock, self.sleep = key, ttl, max_wait, clock, sleep
        self.owner = uuid.uuid4().hex
        self.waited = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _item(self, now: float) -> GovernorItem:
        return GovernorItem(self.key, owner=self.owner, lease_until=now + self.ttl,
                            expires_at=datetime.fromtimestamp(now + 3600, UTC))

    def __enter__(self) -> HeartbeatLease:
        start = self.clock()
        while True:
            now = self.clock()
            try:
                # Free, expired (its holder died), or ours already.
                self._item(now).save(condition=GovernorItem.owner.does_not_exist() | (GovernorItem.lease_until < now),
                                     add_version_condition=False)
                break
            except PutError as exc:
                if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                    raise
                if now - start > self.max_wait:
                    raise LeaseTimeout(f"lease {self.key!r} held by another worker for over {self.max_wait:.0f} s") \
                        from None
                self.sleep(0.2 + random.random() * 0.3)
        self.waited = self.clock() - start
        self._thread = threading.Thread(target=self._renew, name=f"lease {self.key}", daemon=True)
        self._thread.start()
        return self

    def _renew(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            now = self.clock()
            with contextlib.suppress(PutError, UpdateError):  # taken over or unreachable: it expires by itself
                self._item(now).save(condition=GovernorItem.owner == self.owner, add_version_condition=False)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with contextlib.suppress(Exception):  # taken over after expiry: nothing of ours to release
            GovernorItem(self.key).delete(condition=GovernorItem.owner == self.owner, add_version_condition=False)
