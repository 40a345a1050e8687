"""Token buckets: the pacing rule both platforms' clients use (Brightpearl's budget, Amazon's usage plans).

The Brightpearl budget is shared by every Lambda of the account, so its bucket lives in DynamoDB
(``brightpearl/governor.py``). :class:`BlockBucket` takes its tokens in *blocks*: one conditional write
books the next few tokens for this process, which then spends them locally without asking again.

Why the rolling limit still holds. Each booked token gets a *slot*: the moment the shared bucket would
have handed it out had it been taken alone (now while the bucket has tokens; later, spaced ``1 /
per_second`` apart, once it runs dry: the stored level goes negative by the tokens booked ahead). Slots
are those of an ordinary token bucket, so any interval of ``T`` seconds holds at most ``capacity +
per_second * T`` of them, whoever booked them. A token is used at or after its slot and never more than
``hold`` seconds after it (later it has expired and is dropped), so the requests sent in any window of
``W`` seconds had their slots in a span of ``W + hold``: at most ``capacity + per_second * (W + hold)``.
:meth:`BucketShape.for_limit` makes that exactly the platform's limit.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class BucketShape:
    capacity: float
    per_second: float
    hold: float = 0.0  # how long after its slot a token booked in a block may still be used

    @classmethod
    def for_limit(cls, limit: int, window_seconds: float, burst_share: float = 0.005,
                  sustained_share: float = 0.905) -> BucketShape:
        """A bucket whose tokens, even taken in blocks, never admit more than ``limit`` requests in any
        window of ``window_seconds``: capacity + refill x (window + hold) = limit (module docstring). The
        refill sustains ``sustained_share`` of the limit; what the burst leaves of the rest is the hold
        (a longer hold lets a process book more at once; the burst matters little: a lone request still
        goes at once). Brightpearl, 200 per rolling 60 s: a burst of 1, holds of 5.97 s, 3.02 tokens/s."""
        capacity = max(1.0, float(int(limit * burst_share)))
        hold = max(0.0, window_seconds * ((limit - capacity) / (sustained_share * limit) - 1.0))
        return cls(capacity=capacity, per_second=(limit - capacity) / (window_seconds + hold), hold=hold)


def refill(tokens: float, refilled_at: float, now: float, shape: BucketShape) -> float:
    return min(shape.capacity, tokens + max(0.0, now - refilled_at) * shape.per_second)


class TokenBucket:
    """An in-process bucket. :meth:`take` books a token and says how long to wait before using it."""

    def __init__(self, shape: BucketShape, clock: Callable[[], float]) -> None:
        self.shape = shape
        self.clock = clock
        self.tokens = shape.capacity
        self.at = clock()
        self.lock = threading.Lock()

    def take(self) -> float:
        with self.lock:
            now = self.clock()
            self.tokens = refill(self.tokens, self.at, now, self.shape) - 1.0
            self.at = now
            return 0.0 if self.tokens >= 0 else -self.tokens / self.shape.per_second

    def give_back(self) -> None:
        """Return a booked token the caller will not use (it gave up instead of waiting)."""
        with self.lock:
            self.tokens += 1.0


# ---------------------------------------------------------------------------------------- shared, in blocks
@dataclass(frozen=True)
class BucketState:
    """The shared bucket as read (or last written): level (negative: tokens booked ahead), when it was
    computed, and the store's handle for a write conditional on exactly this version."""

    tokens: float
    refilled_at: float
    handle: Any = None


class BucketStore(Protocol):
    def read(self) -> BucketState | None:
        """The bucket as stored now (strongly consistent); None when it was never written."""
        ...

    def write(self, state: BucketState | None, tokens: float, refilled_at: float) -> BucketState | None:
        """Store the new level if the bucket is still ``state`` (None: still absent); None if another
        process wrote first."""
        ...


class BudgetExhausted(Exception):
    """The shared budget has no token within the time this caller may wait."""

    def __init__(self, key: str, wait: float) -> None:
        super().__init__(f"Brightpearl request budget {key!r} exhausted; next token in {wait:.1f}s")
        self.key = key
        self.wait = wait


# A booking reaches at most this many holds past its first slot: further while this process has the
# bucket to itself (its last write is still the latest), less when others book too, so that every waiter
# gets its turn soon (bookings are served in the order they were written: slots are first come, first
# served) and none waits more than about one such span per competing process.
SPAN_ALONE = 3.0
SPAN_SHARED = 0.5
# With others waiting, every booking takes the same few tokens (bookings are served in turn, so each
# process gets the same share), and none reaches further than HORIZON_SHARED holds from now (its first
# token excepted), so waits stay bounded however many processes book.
SHARED_BLOCK = 4
HORIZON_SHARED = 3.0
MAX_BLOCK = 64
START_BLOCK = 4
# A token is booked only if this process is expected to use it within this share of its hold.
HOLD_MARGIN = 0.85
# After a remembered state proved stale (another process wrote), this many bookings read first.
CACHE_BACKOFF = 8


class BlockBucket:
    """One process's side of a shared bucket: books tokens a block per conditional write and spends them
    locally. :meth:`take` returns when this process may send its next request (now or later)."""

    def __init__(self, store: BucketStore, shape: BucketShape, clock: Callable[[], float], *,
                 max_wait: float = 30.0, key: str = "shared") -> None:
        self.store = store
        self.shape = shape
        self.clock = clock
        self.max_wait = max_wait
        self.key = key
        self.slots: deque[float] = deque()
        self.block = START_BLOCK  # slow start: 4, 8, 16, ... so a short-lived process books (and wastes) little
        self.work: float | None = None  # seconds this process spends between using a token and asking again
        self.last_use: float | None = None
        self.last_slot = 0.0  # the slot of the token last handed out
        self._expired = 0
        self._state: BucketState | None = None  # as this process last wrote it: a write without reading first
        self._have_state = False
        self._skip_cache = 0
        self.stats: dict[str, float] = {"acquired": 0, "booked": 0, "bookings": 0, "reads": 0, "writes": 0,
                                        "conflicts": 0, "expired": 0}

    def take(self) -> float:
        now = self.clock()
        if self.last_use is not None:
            gap = max(0.0, now - self.last_use)
            # A running mean: lateness adds up over a block at the mean pace (a token that would still come
            # too late expires unused, and the slow start's block halves).
            self.work = gap if self.work is None else 0.8 * self.work + 0.2 * gap
        while True:
            # Past its hold, a token could break the window (module docstring): dropped, never used. Also
            # checked on a block just booked, in case the write itself took longer than a hold.
            while self.shape.hold and self.slots and self.slots[0] + self.shape.hold < now:
                self.slots.popleft()
                self._expired += 1
                self.stats["expired"] += 1
            if self.slots:
                break
            self._book()
            now = self.clock()
        self.last_slot = self.slots.popleft()
        use = max(now, self.last_slot)
        self.last_use = use
        self.stats["acquired"] += 1
        return use

    def _book(self) -> None:
        if self.stats["bookings"]:
            # Grows while whole blocks are used; a block that expired in part stays as it is (the pace
            # estimate already shrinks the next one when the process slowed down).
            self.block = self.block if self._expired else min(MAX_BLOCK, self.block * 2)
        self._expired = 0
        r = self.shape.per_second
        while True:
            cached = self._have_state and not self._skip_cache
            if self._skip_cache:
                self._skip_cache -= 1
            if cached:
                state = self._state
            else:
                state = self.store.read()
                self.stats["reads"] += 1
            now = self.clock()
            level = self.shape.capacity if state is None else \
                refill(state.tokens, state.refilled_at, now, self.shape)
            first_wait = max(0.0, (1.0 - level) / r)
            if first_wait > self.max_wait:
                self._have_state = False
                raise BudgetExhausted(self.key, first_wait)
            # Others wait for tokens when the bucket is in debt as this process books (its own tokens are
            # all used by then): then a shorter block, queued no further than the horizon.
            alone = level >= 0.0
            slots = self._plan(level, now, SPAN_ALONE if alone else SPAN_SHARED,
                               None if alone else now + HORIZON_SHARED * self.shape.hold)
            written = self.store.write(state, level - len(slots), now)
            self.stats["writes"] += 1
            if written is None:
                self.stats["conflicts"] += 1
                self._have_state = False
                if cached:  # others are writing too: stop guessing for a while (a stale guess costs a call)
                    self._skip_cache = CACHE_BACKOFF
                continue
            self._state, self._have_state = written, True
            self.slots.extend(slots)
            self.stats["booked"] += len(slots)
            self.stats["bookings"] += 1
            return

    def _plan(self, level: float, now: float, span: float, horizon: float | None = None) -> list[float]:
        """The slots of the tokens to book: as many as this process will use before each one's hold runs
        out (at its observed pace), within ``span`` holds of the first slot, before ``horizon`` and the
        slow start's size; the first token always (its wait was checked against ``max_wait``)."""
        r, hold = self.shape.per_second, self.shape.hold
        work = self.work or 0.0
        out: list[float] = []
        use = now
        most = min(self.block, MAX_BLOCK) if horizon is None else min(self.block, SHARED_BLOCK)
        for j in range(1, most + 1):
            slot = now + max(0.0, (j - level) / r)
            if out:
                if slot - out[0] > span * hold or slot - now > self.max_wait or \
                        (horizon is not None and slot > horizon):
                    break
                use = max(slot, use + work)
                if use > slot + HOLD_MARGIN * hold:
                    break
            else:
                use = slot
            out.append(slot)
        return out
