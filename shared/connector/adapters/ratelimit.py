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

Why a booking may subtract without reading. While the level stays below the capacity, the bucket is an
account: level(t) = tokens + (t - refilled_at) * per_second, whatever was booked since ``refilled_at``
(a level never capped in between is the same line). So a booking below capacity is one atomic
``tokens -= n`` conditional on ``refilled_at`` being unchanged and on the level at the booker's clock being
below capacity and deep enough for its horizon; it cannot conflict with another (the store orders them),
and its slots come from the level it returns. In the terms above every token still gets the next virtual
time of one token bucket, ``1 / per_second`` after the previous, and its slot is that time or later (or
the booking's moment, at most ``capacity`` tokens behind): the same count in any window. Only a full
bucket is re-based (``refilled_at`` moved to now) by a write conditional on the version.
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
    bookings: int = 0  # how many bookings the bucket has taken (every write adds one)


@dataclass(frozen=True)
class Written:
    """What a conditional write did: ``ok``, and the bucket as it is now (after the write when ``ok``;
    else as stored, returned by the refused write itself, so no read is needed to try again)."""

    ok: bool
    state: BucketState | None


class BucketStore(Protocol):
    def read(self) -> BucketState | None:
        """The bucket as stored now (strongly consistent); None when it was never written."""
        ...

    def write(self, state: BucketState | None, tokens: float, refilled_at: float) -> Written:
        """Store the new level if the bucket is still ``state`` (None: still absent), one more booking."""
        ...

    def take(self, count: int, refilled_at: float, least: float, most: float) -> Written:
        """Subtract ``count`` from the stored level, leaving its ``refilled_at``, if that is still
        ``refilled_at`` and the stored level lies in [``least``, ``most``], one more booking: one atomic
        update that concurrent takes never make fail (the store serialises them)."""
        ...


class BudgetExhausted(Exception):
    """The shared budget has no token within the time this caller may wait."""

    def __init__(self, key: str, wait: float) -> None:
        super().__init__(f"Brightpearl request budget {key!r} exhausted; next token in {wait:.1f}s")
        self.key = key
        self.wait = wait


# With n processes booking in turn (bookings are served first come, first served), each books
# per_second * HORIZON * hold / n tokens: the same share each, and the queue of booked tokens reaches at
# most HORIZON holds ahead, so none waits much longer than that for its next block. n is counted, not
# guessed: the bucket counts its bookings, so a process sees how many others booked since its own last
# booking (n - 1 when all book in turn, whatever their blocks' sizes: a symmetric signal). The store
# refuses a booking whose last token would be more than HORIZON + HORIZON_SLACK holds ahead (the queue
# grew meanwhile); it comes back with the bucket as stored and is planned again, shorter.
HORIZON = 3.5
HORIZON_SLACK = 0.5
MAX_BLOCK = 64
START_BLOCK = 4
# A token is booked only if this process is expected to use it within this share of its hold.
HOLD_MARGIN = 0.85


class BlockBucket:
    """One process's side of a shared bucket: books tokens a block per conditional write and spends them
    locally. :meth:`take` returns when this process may send its next request (now or later).

    A booking is one call. While the bucket is below its capacity its level is an account that only
    refills with time, so a booking subtracts its tokens with an atomic ``take`` (conditional on the
    refill time and the level's range, not on a version: concurrent bookings do not conflict). Only a
    full bucket (after a pause) is re-based, by a versioned write. A refused write returns the stored
    bucket, so a conflict costs one call, not a read and a write."""

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
        self._state: BucketState | None = None  # as this process last saw it (its write, or a refused one's)
        self._have_state = False
        self._mine: int | None = None  # the bucket's booking count right after this process's last booking
        self._others = 0  # bookings by other processes between this process's last two
        self._booked_at = 0.0
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
        r, cap, hold = self.shape.per_second, self.shape.capacity, self.shape.hold
        reach = min(self.max_wait, (HORIZON + HORIZON_SLACK) * hold)
        most: int | None = None  # what fits before the reach, once the stored level is known
        while True:
            if not self._have_state:
                self._state, self._have_state = self.store.read(), True
                self.stats["reads"] += 1
            state = self._state
            # A refill time ahead of this clock (another process's clock runs ahead) counts as now, as
            # ``refill`` counts it: the slots stay on this process's clock, which it waits by.
            now = self.clock()
            # What this process last saw, refilled: at least the real level (others only take from it).
            level = self.shape.capacity if state is None else refill(state.tokens, state.refilled_at, now, self.shape)
            first_wait = max(0.0, (1.0 - level) / r)
            if first_wait > self.max_wait:
                self._have_state = False
                raise BudgetExhausted(self.key, first_wait)
            count = len(self._plan(level, now))
            if most is not None:
                count = max(1, min(count, most))
            credit = 0.0 if state is None else max(0.0, now - state.refilled_at) * r
            below_capacity = state is not None and state.tokens + credit <= cap
            if below_capacity:
                assert state is not None
                # The stored level must leave the last token within the reach (the first: within max_wait).
                least = (1.0 - r * self.max_wait if count == 1 else count - r * reach) - credit
                done = self.store.take(count, state.refilled_at, least, cap - credit)
            else:
                done = self.store.write(state, level - count, now)
            self.stats["writes"] += 1
            self._state = done.state
            if not done.ok:
                self.stats["conflicts"] += 1
                # Refused without the item: absent, or a store that does not return it; read it then
                # (otherwise a create conditional on absence would be refused again and again).
                self._have_state = done.state is not None
                if done.state is not None:
                    real = refill(done.state.tokens, done.state.refilled_at, now, self.shape)
                    most = int(real + r * reach)  # the queue grew: book what still fits
                continue
            assert done.state is not None
            before = done.state.tokens + count + credit if below_capacity else level
            # Others' bookings since this process's last: one turn of theirs, unless this process sat idle
            # meanwhile (a frozen Lambda; longer than any turn takes): then the count says nothing of a turn.
            if self._mine is not None and now - self._booked_at <= (HORIZON + HORIZON_SLACK) * hold:
                self._others = max(0, done.state.bookings - 1 - self._mine)
            self._mine, self._booked_at = done.state.bookings, now
            self.slots.extend(now + max(0.0, (j - before) / r) for j in range(1, count + 1))
            self.stats["booked"] += count
            self.stats["bookings"] += 1
            return

    def _plan(self, level: float, now: float) -> list[float]:
        """The slots of the tokens to book: this process's turn's share of the horizon (the horizon's
        tokens over the processes booking in turn), as many as it will use before each one's hold runs out
        (at its observed pace), within the slow start's size; the first token always (its wait was
        checked against ``max_wait``)."""
        r, hold = self.shape.per_second, self.shape.hold
        work = self.work or 0.0
        out: list[float] = []
        use = now
        share = max(1, int(r * HORIZON * hold / (1 + self._others)))
        for j in range(1, min(self.block, MAX_BLOCK, share) + 1):
            slot = now + max(0.0, (j - level) / r)
            if out:
                if slot - now > self.max_wait:
                    break
                use = max(slot, use + work)
                if use > slot + HOLD_MARGIN * hold:
                    break
            else:
                use = slot
            out.append(slot)
        return out
