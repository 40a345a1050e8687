"""The bucket shape keeps any rolling window within Brightpearl's limit (pure, fake clock)."""

import pytest

from connector.adapters.brightpearl.governor import BucketShape, BudgetExhausted, LocalGovernor


class FakeTime:
    def __init__(self):
        self.now = 0.0

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


@pytest.mark.parametrize(("limit", "window"), [(200, 60.0), (200, 6.0), (50, 10.0)])
def test_no_rolling_window_exceeds_the_limit_and_most_of_the_budget_is_used(limit, window):
    t = FakeTime()
    gov = LocalGovernor(BucketShape.for_limit(limit, window), clock=t.clock, sleep=t.sleep, max_wait=1e9)
    stamps = []
    for _ in range(limit * 5):
        gov.acquire()
        stamps.append(t.now)
    # Sliding window check over every request: how many fall in [s, s + window).
    worst = 0
    j = 0
    for i, start in enumerate(stamps):
        while j < len(stamps) and stamps[j] < start + window:
            j += 1
        worst = max(worst, j - i)
    assert worst <= limit
    # Sustained throughput, as a share of the limit: the refill rate is 90 % of it.
    used_share = (len(stamps) / stamps[-1]) * window / limit
    assert used_share >= 0.9, used_share


def test_budget_exhausted_when_the_wait_is_too_long():
    t = FakeTime()
    gov = LocalGovernor(BucketShape(capacity=1, per_second=0.01), clock=t.clock, sleep=t.sleep, max_wait=5)
    gov.acquire()
    with pytest.raises(BudgetExhausted, match="next token in"):
        gov.acquire()
