"""The shared budget in DynamoDB (moto server): concurrent workers together stay inside the limit."""

import threading
import time

import pytest

from connector.adapters.brightpearl.governor import BucketShape, DynamoGovernor, DynamoLease
from local.aws_calls import aws_calls


def test_concurrent_workers_share_one_budget(local_aws):
    # 40 per 2 s: capacity 4, refill 18/s. Four threads race for 60 tokens.
    shape = BucketShape.for_limit(40, 2.0)
    key = f"bp#test#{time.time_ns()}"
    stamps: list[float] = []
    lock = threading.Lock()

    def worker():
        gov = DynamoGovernor(key, shape, max_wait=30)
        for _ in range(15):
            gov.acquire()
            with lock:
                stamps.append(time.time())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    stamps.sort()
    assert len(stamps) == 60
    worst = max(sum(1 for s in stamps if start <= s < start + 2.0) for start in stamps)
    # The bucket admits at most capacity + rate*window = 40 in any 2 s window; allow timing slack of 2.
    assert worst <= 42, worst


def test_lease_is_exclusive_and_expires(local_aws):
    key = f"lease#{time.time_ns()}"
    order = []
    with DynamoLease(key, ttl_seconds=5):
        def other():
            with DynamoLease(key, ttl_seconds=5, max_wait=10):
                order.append("second")
        th = threading.Thread(target=other)
        th.start()
        time.sleep(0.5)
        order.append("first-done")
    th.join()
    assert order == ["first-done", "second"]

    # A holder that crashed (never released) blocks others only until its lease runs out.
    stale = DynamoLease(key, ttl_seconds=0.5)
    stale.__enter__()
    time.sleep(0.7)
    with DynamoLease(key, ttl_seconds=5, max_wait=2):
        pass


def test_a_process_alone_books_blocks_and_others_bookings_never_conflict(local_aws):
    # Plenty of budget and a clock that stands still (no refill): the item's level says exactly what was
    # booked. 30 acquisitions by one process book blocks of 4, 8, 16, 32 (slow start): 1 read, 4 writes.
    shape = BucketShape.for_limit(60000, 60.0)
    now = [1_000_000.0]
    key = f"bp#alone#{time.time_ns()}"
    with aws_calls("dynamodb") as calls:
        alone = DynamoGovernor(key, shape, clock=lambda: now[0], sleep=lambda s: None)
        for _ in range(30):
            alone.acquire()
        assert calls.total() <= 5, calls
        # Another process books too: the first process's remembered item is stale, but a booking subtracts
        # from the stored level (not a write of the level it computed), so its next booking neither
        # conflicts nor reads, and no token is booked twice.
        other = DynamoGovernor(key, shape, clock=lambda: now[0], sleep=lambda s: None)
        for _ in range(5):
            other.acquire()
        while alone.bucket.slots:  # its block, spent without asking
            alone.acquire()
        before = calls.total()
        alone.acquire()  # the next booking: one UpdateItem
        assert calls.total() - before == 1, calls
    from connector.adapters.store import GovernorItem

    item = GovernorItem.get(key, consistent_read=True)
    booked = alone.stats["booked"] + other.stats["booked"]
    assert float(item.tokens) == shape.capacity - booked  # every booking counted, none overwritten
    assert alone.stats["conflicts"] == 0
    assert alone.stats["acquired"] + other.stats["acquired"] <= booked


def test_a_refused_booking_is_planned_again_from_the_item_it_returns_without_a_read(local_aws):
    # 200 per 60 s. After a pause the bucket is full: a booking re-bases it with a versioned write. Another
    # process re-bases first, so this one's write (on the version it remembers) is refused; DynamoDB
    # returns the item with the refusal, and the booking is planned again from it: two calls, no GetItem.
    shape = BucketShape.for_limit(200, 60.0)
    now = [2_000_000.0]
    key = f"bp#refused#{time.time_ns()}"
    first = DynamoGovernor(key, shape, clock=lambda: now[0], sleep=lambda s: None)
    for _ in range(3):
        first.acquire()
    first.bucket.slots.clear()  # it stopped needing them
    now[0] += 120.0  # a pause: the bucket is full again
    other = DynamoGovernor(key, shape, clock=lambda: now[0], sleep=lambda s: None)
    other.acquire()
    booked_before = first.stats["booked"]
    with aws_calls("dynamodb") as calls:
        first.acquire()
    assert dict(calls) == {"PutItem": 1, "UpdateItem": 1}, calls
    assert first.stats["conflicts"] == 1
    from connector.adapters.store import GovernorItem

    # The clock stood still since the other's re-base: the stored level is the full bucket less both blocks.
    item = GovernorItem.get(key, consistent_read=True)
    assert float(item.refilled_at) == now[0]
    assert float(item.tokens) == shape.capacity - other.stats["booked"] - (first.stats["booked"] - booked_before)


def test_a_process_of_an_older_deploy_saving_the_item_by_version_never_overwrites_a_booking(local_aws):
    # During a deploy an older Lambda still books with pynamodb's versioned save (read, compute, save).
    # A booking's UpdateItem adds 1 to the version, so the older process's save of the item it read
    # before is refused (it reads again), and its re-based item makes the next booking's refill-time
    # condition fail, so that booking is planned again from the item DynamoDB returns.
    from pynamodb.exceptions import PutError

    from connector.adapters.store import GovernorItem

    shape = BucketShape.for_limit(200, 60.0)
    now = [3_000_000.0]
    key = f"bp#old#{time.time_ns()}"
    new = DynamoGovernor(key, shape, clock=lambda: now[0], sleep=lambda s: None)
    new.acquire()
    new.bucket.slots.clear()
    old_read = GovernorItem.get(key, consistent_read=True)
    new.acquire()  # a booking (UpdateItem) after the older process read the item
    new.bucket.slots.clear()
    old_read.tokens, old_read.refilled_at = float(old_read.tokens) - 1, now[0]
    with pytest.raises(PutError):
        old_read.save()  # its version is stale: refused, not written over the booking
    # The older process books 1 token half a second later: its own refill, re-based at its clock.
    now[0] += 0.5
    fresh = GovernorItem.get(key, consistent_read=True)
    rebased = min(shape.capacity, float(fresh.tokens) + (now[0] - float(fresh.refilled_at)) * shape.per_second) - 1
    fresh.tokens, fresh.refilled_at = rebased, now[0]
    fresh.save()
    booked_before = new.stats["booked"]
    with aws_calls("dynamodb") as calls:
        new.acquire()  # its take names the old refill time: refused, planned again from the returned item
    assert dict(calls) == {"UpdateItem": 2} and new.stats["conflicts"] == 1
    item = GovernorItem.get(key, consistent_read=True)
    assert float(item.refilled_at) == now[0]
    assert float(item.tokens) == pytest.approx(rebased - (new.stats["booked"] - booked_before))
