"""Token buckets: the pacing rule both platforms' clients use (Brightpearl's budget, Amazon's usage plans)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class BucketShape:
    capacity: float
    per_second: float

    @classmethod
    def for_limit(cls, limit: int, window_seconds: float, burst_share: float = 0.1) -> BucketShape:
        """A bucket that never admits more than ``limit`` requests in any window of ``window_seconds``:
        capacity + refill x window = limit (see governor.py)."""
        capacity = max(1.0, float(int(limit * burst_share)))
        return cls(capacity=capacity, per_second=(limit - capacity) / window_seconds)


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
