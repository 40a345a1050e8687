"""The shared Brightpearl budget taken in blocks (ratelimit.BlockBucket), on a fake clock and store.

Brightpearl: 200 requests per rolling 60 s per account (https://www.brightpearl.com/developer/latest/
concept/index.html; contract §2). Workers are simulated as events: a worker asks for a token at a time
(the shared store is read and written then), is told when it may send, sends then, works, asks again; other
workers book in between, so every interleaving of bookings and uses the schedule produces is exercised.
"""

from __future__ import annotations

import heapq
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.adapters.ratelimit import BlockBucket, BucketShape, BudgetExhausted
from tests.fakes.bucket import FakeBucketStore

LIMIT, WINDOW = 200, 60.0


class SimTime:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def worst_window(uses: list[float], window: float = WINDOW) -> int:
    uses = sorted(uses)
    worst, j = 0, 0
    for i, start in enumerate(uses):
        while j < len(uses) and uses[j] < start + window:
            j += 1
        worst = max(worst, j - i)
    return worst


def run(schedules: list[list[float]], *, shape: BucketShape | None = None, max_wait: float = 30.0,
        starts: list[float] | None = None, store: FakeBucketStore | None = None,
        ) -> tuple[list[list[float]], FakeBucketStore, list[BlockBucket]]:
    """Each worker i asks for a token, sends at the time it is told, then works ``schedules[i][k]`` seconds
    before asking again; a worker that is refused (budget exhausted) counts nothing and asks again later."""
    shape = shape or BucketShape.for_limit(LIMIT, WINDOW)
    store = store or FakeBucketStore()
    t = SimTime()
    buckets = [BlockBucket(store, shape, t, max_wait=max_wait) for _ in schedules]
    uses: list[list[float]] = [[] for _ in schedules]
    queue = [((starts or [t.now] * len(schedules))[i], i, 0) for i in range(len(schedules))]
    heapq.heapify(queue)
    while queue:
        at, i, k = heapq.heappop(queue)
        if k >= len(schedules[i]):
            continue
        t.now = max(t.now, at)
        try:
            use = buckets[i].take()
        except BudgetExhausted:
            heapq.heappush(queue, (t.now + 1.0, i, k))
            continue
        assert use >= t.now
        # Used at or after its slot and within its hold: the whole argument for the window.
        assert buckets[i].last_slot <= use <= buckets[i].last_slot + shape.hold
        uses[i].append(use)
        heapq.heappush(queue, (use + schedules[i][k], i, k + 1))
    return uses, store, buckets


def test_the_shape_keeps_the_limit_with_the_hold_and_most_of_the_budget():
    shape = BucketShape.for_limit(LIMIT, WINDOW)
    assert shape.capacity + shape.per_second * (WINDOW + shape.hold) == pytest.approx(LIMIT)
    assert shape.per_second * WINDOW / LIMIT >= 0.9


def test_a_process_alone_books_blocks_and_pays_under_a_tenth_of_a_call_per_request():
    # Faster than the budget (0.25 s a request): it waits for its slots, and books many at a time.
    uses, store, _ = run([[0.25] * 2000])
    assert worst_window(uses[0]) <= LIMIT
    assert store.calls / 2000 <= 0.1, store.calls
    # Slower than the budget (a request every 0.5 s): tokens are there, a block is what it uses in its hold.
    uses, store, _ = run([[0.5] * 600])
    assert store.calls / 600 <= 0.15, store.calls


def test_a_token_past_its_hold_is_dropped_not_used():
    shape = BucketShape.for_limit(LIMIT, WINDOW)
    t = SimTime()
    store = FakeBucketStore()
    bucket = BlockBucket(store, shape, t)
    for _ in range(40):  # a steady pace: the blocks grow
        t.now = bucket.take() + 0.3
    held = list(bucket.slots)
    assert held, "a block is held"
    t.now = held[-1] + shape.hold + 0.01  # the process paused past every held token's hold
    use = bucket.take()
    assert bucket.stats["expired"] == len(held)
    assert use >= t.now and not set(held) & {use}


@pytest.mark.parametrize("workers", [4, 8, 12])
def test_busy_workers_share_fairly_and_wait_boundedly(workers):
    # Identical workers, each faster than its share of the budget (0.2-0.3 s a request), for minutes.
    import random

    from connector.adapters.ratelimit import HORIZON, HORIZON_SLACK

    rng = random.Random(workers)
    shape = BucketShape.for_limit(LIMIT, WINDOW)
    schedules = [[rng.uniform(0.2, 0.3) for _ in range(600)] for _ in range(workers)]
    uses, _store, _buckets = run(schedules, starts=[1000.0 + rng.uniform(0, 1) for _ in range(workers)])
    end = min(u[-1] for u in uses)
    counts = [sum(1 for x in u if x <= end) for u in uses]
    assert worst_window([x for u in uses for x in u]) <= LIMIT
    assert min(counts) >= 0.97 * max(counts), counts  # served in turn: the same share each
    # The longest a worker waited between asking and sending: within the horizon bookings may reach.
    longest = max(b - a for u in uses for a, b in itertools.pairwise(u))
    assert longest <= (HORIZON + HORIZON_SLACK) * shape.hold + 1.0, longest


@pytest.mark.parametrize("workers", [2, 3, 4])
def test_contending_workers_pay_under_a_tenth_of_a_call_per_request(workers):
    # Each worker asks faster than the whole budget (a request every 0.2-0.3 s), for ~10 simulated minutes:
    # the bucket is in debt throughout, every booking races the others'. Bookings subtract from the stored
    # level instead of writing a level read before, so none is refused, and each books its turn's share.
    import random

    rng = random.Random(100 + workers)
    schedules = [[rng.uniform(0.2, 0.3) for _ in range(2000 // workers * 2)] for _ in range(workers)]
    uses, store, buckets = run(schedules, starts=[1000.0 + rng.uniform(0, 1) for _ in range(workers)])
    total = sum(len(u) for u in uses)
    assert worst_window([x for u in uses for x in u]) <= LIMIT
    assert store.calls / total <= 0.1, (store.reads, store.writes, total)
    assert sum(b.stats["conflicts"] for b in buckets) <= 0.02 * sum(b.stats["bookings"] for b in buckets)
    assert store.reads == workers  # one read each, on its first booking; refused writes return the item


def test_a_store_that_refuses_without_returning_the_item_is_read_instead_of_looping():
    # A refused write normally returns the item (ALL_OLD). Without it the booking must read the item,
    # not keep taking the bucket for absent and trying to create it again. Two processes start together:
    # both read "absent", the first creates the item, the second's create is refused.
    from connector.adapters.ratelimit import Written

    class Forgetful(FakeBucketStore):
        stale_reads = 0

        def read(self):
            if self.stale_reads:  # read before the other's create landed
                self.stale_reads -= 1
                self.reads += 1
                return None
            return super().read()

        def write(self, state, tokens, refilled_at):
            assert self.writes < 50, "refused again and again"
            done = super().write(state, tokens, refilled_at)
            return done if done.ok else Written(False, None)

        def take(self, count, refilled_at, least, most):
            done = super().take(count, refilled_at, least, most)
            return done if done.ok else Written(False, None)

    shape = BucketShape.for_limit(LIMIT, WINDOW)
    t = SimTime()
    store = Forgetful()
    first, second = BlockBucket(store, shape, t), BlockBucket(store, shape, t)
    first.take()
    store.stale_reads = 1
    assert second.take() >= t.now
    assert second.stats["conflicts"] == 1 and second.stats["reads"] == 2  # the stale read, then one more
    assert store.state is not None and store.state.tokens == shape.capacity - first.stats["booked"] - \
        second.stats["booked"]


def test_a_process_whose_clock_lags_the_stored_refill_time_is_not_made_to_wait_the_skew():
    # Another process, whose clock runs 100 s ahead, re-based the bucket. This one's first token must come
    # by its own clock (the refill is counted from the later time, as ``refill`` counts it), not 100 s on:
    # the soak's child process (real time) met a bucket written on the parent's virtual clock.
    shape = BucketShape.for_limit(LIMIT, WINDOW)
    t = SimTime()
    store = FakeBucketStore()
    ahead = BlockBucket(store, shape, lambda: t.now + 100.0)
    ahead.take()
    behind = BlockBucket(store, shape, t)
    use = behind.take()
    assert use - t.now <= 5 / shape.per_second, use - t.now
    assert store.state is not None and store.state.tokens == shape.capacity - ahead.stats["booked"] - \
        behind.stats["booked"]


def test_a_wait_past_max_wait_is_refused_without_booking():
    shape = BucketShape(capacity=1, per_second=0.01, hold=1.0)
    t = SimTime()
    store = FakeBucketStore()
    bucket = BlockBucket(store, shape, t, max_wait=5)
    bucket.take()
    writes = store.writes
    with pytest.raises(BudgetExhausted, match="next token in"):
        bucket.take()
    assert store.writes == writes  # nothing booked for a request that will not be sent


def test_tokens_held_until_late_in_their_hold_still_keep_the_window():
    # The worst case of blocks: one worker books a large block at a steady pace, pauses almost a whole
    # hold, then sends everything still valid at once, while three others keep the budget saturated.
    shape = BucketShape.for_limit(LIMIT, WINDOW)
    pace = 1 / shape.per_second
    late = [pace] * 300 + [0.97 * shape.hold] + [0.0] * 80 + [pace] * 300 + [3 * shape.hold] + [0.0] * 80
    busy = [0.05] * 3000
    for offset in (0.0, 0.5, 1.7):
        uses, _store, buckets = run([late, busy, busy, busy], starts=[1000.0, 1000.0 + offset, 1030.0, 1030.0])
        assert buckets[0].stats["acquired"] == len(late)
        assert worst_window([x for u in uses for x in u]) <= LIMIT


_PACES = (0.0, 0.01, 0.2, 0.33, 0.5, 1.5)  # seconds of work between requests, for a 60 s window


@st.composite
def schedule(draw, hold_s: float, window: float) -> list[float]:
    """Runs of one pace each (a steady pace grows the blocks), then pauses around the hold, long
    pauses (a Lambda frozen between invocations) and bursts."""
    scale = window / 60.0
    out: list[float] = []
    for _ in range(draw(st.integers(1, 6))):
        gap = draw(st.one_of(st.sampled_from(_PACES).map(lambda g: g * scale), st.floats(0, 2 * scale),
                             st.sampled_from([0.5, 0.9, 0.97, 1.05, 4.0]).map(lambda f: f * hold_s),
                             st.sampled_from([20.0 * scale, 61.0 * scale])))
        out += [gap] * draw(st.integers(1, 120))
    return out


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_no_rolling_window_exceeds_the_documented_limit_whatever_the_workers_and_schedules(data):
    limit = data.draw(st.sampled_from([200, 40, 7]), label="limit")
    window = data.draw(st.sampled_from([60.0, 6.0, 1.0]), label="window")
    shape = BucketShape.for_limit(limit, window)
    n = data.draw(st.integers(1, 5), label="workers")
    schedules = [data.draw(schedule(shape.hold, window), label=f"worker {i}") for i in range(n)]
    starts = [1000.0 + data.draw(st.floats(0, window / 2), label=f"start {i}") for i in range(n)]
    uses, _store, buckets = run(schedules, shape=shape, starts=starts, max_wait=1e9)
    every = [x for u in uses for x in u]
    assert len(every) == sum(len(s) for s in schedules)  # nobody starved (no max_wait here)
    assert worst_window(every, window) <= limit
    # Every booked token is used once, dropped past its hold, or still held: none used twice.
    for b in buckets:
        assert b.stats["booked"] == b.stats["acquired"] + b.stats["expired"] + len(b.slots)
