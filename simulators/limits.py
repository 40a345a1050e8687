"""Rate limiters on the simulated clock: Brightpearl's sliding window and SP-API's token buckets."""

from __future__ import annotations

from simulators.clock import SimClock


class SlidingWindowLimiter:
    """Counts requests in a sliding window of simulated seconds (Brightpearl's rolling minute)."""

    def __init__(self, clock: SimClock, limit: int, window_seconds: float) -> None:
        self.clock = clock
        self.limit = limit
        self.window = window_seconds
        self._hits: list[float] = []

    def _trim(self, now: float) -> None:
        cutoff = now - self.window
        i = 0
        while i < len(self._hits) and self._hits[i] <= cutoff:
            i += 1
        if i:
            del self._hits[:i]

    def try_hit(self) -> bool:
        now = self.clock.seconds()
        self._trim(now)
        if len(self._hits) >= self.limit:
            return False
        self._hits.append(now)
        return True

    def remaining(self) -> int:
        self._trim(self.clock.seconds())
        return max(0, self.limit - len(self._hits))

    def ms_until_reset(self) -> int:
        """Milliseconds until the oldest counted request leaves the window."""
        now = self.clock.seconds()
        self._trim(now)
        if not self._hits:
            return 0
        sim_seconds = self._hits[0] + self.window - now
        # Headers speak real milliseconds: a client sleeps in real time. A full window blocks the
        # client, so an auto-advancing clock skips the wait (and the window rolls over).
        return max(0, int(self.clock.real_wait(sim_seconds, blocking=len(self._hits) >= self.limit) * 1000))


class TokenBucket:
    """Amazon's per-operation limiter: ``rate`` tokens per simulated second, ``burst`` capacity."""

    def __init__(self, clock: SimClock, rate: float, burst: int) -> None:
        self.clock = clock
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._at = clock.seconds()

    def try_take(self) -> bool:
        now = self.clock.seconds()
        self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
