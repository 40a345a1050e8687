"""The simulated clock both simulators run on (see docs/simulators.md, "Clock")."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any


class SimClock:
    """Simulated time: real elapsed time times ``speed``, plus manual advances.

    Rate-limit windows, report processing and token expiry all read this clock, so a test can
    jump an hour ahead without waiting, and a benchmark can run a "minute" in a few seconds.

    Two modes let time move in a test whose clock is otherwise frozen (``speed=0``), without the
    code under test knowing (it sleeps with real ``time.sleep`` for whatever the simulator announces):

    - ``tick``: every request a simulator serves advances the clock by this many seconds, so token
      expiry, presigned-URL expiry and report processing happen after a number of requests;
    - ``auto_advance``: when a simulator tells a client to wait because it is throttled (see
      :meth:`real_wait`), the clock jumps over the wait at once and the announced real wait is 0,
      so a throttled client's retry finds the window rolled over (Brightpearl's 503 + throttle period).
    """

    def __init__(self, start: datetime | None = None, speed: float = 1.0, *, tick: float = 0.0,
                 auto_advance: bool = False) -> None:
        self._start = start or datetime.now(UTC)
        self._real0 = time.monotonic()
        self._offset = 0.0
        self._speed = speed
        self.tick = tick
        self.auto_advance = auto_advance
        self.advanced_for_waits = 0.0  # simulated seconds skipped by auto_advance (tests read it)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self.seconds())

    def seconds(self) -> float:
        """Simulated seconds elapsed since the clock started."""
        with self._lock:
            return (time.monotonic() - self._real0) * self._speed + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    def on_request(self) -> None:
        """A simulator served a request: ``tick`` mode moves time on."""
        if self.tick:
            self.advance(self.tick)

    def real_wait(self, sim_seconds: float, *, blocking: bool = False) -> float:
        """Real seconds a client must wait for ``sim_seconds`` of simulated time to pass.

        ``blocking``: the client cannot go on before the wait (it is throttled). With ``auto_advance``
        on a frozen clock, such a wait is skipped: the clock advances now and 0 is returned. A frozen
        clock without it can never let the wait pass (a very large number, as before).
        """
        if sim_seconds <= 0:
            return 0.0
        if self._speed > 0:
            return sim_seconds / self._speed
        if self.auto_advance:
            if blocking:
                self.advance(sim_seconds)
                self.advanced_for_waits += sim_seconds
            return 0.0
        return sim_seconds / 1e-9

    def set_speed(self, speed: float) -> None:
        with self._lock:
            # Re-base so the change of speed does not jump the clock.
            elapsed = (time.monotonic() - self._real0) * self._speed + self._offset
            self._real0 = time.monotonic()
            self._offset = elapsed
            self._speed = speed

    @property
    def speed(self) -> float:
        return self._speed

    def describe(self) -> dict[str, Any]:
        return {"now": self.now().isoformat(), "speed": self._speed, "tick": self.tick,
                "auto_advance": self.auto_advance, "advanced_for_waits": self.advanced_for_waits}
