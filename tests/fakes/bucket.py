"""The governor's shared bucket item as a dictionary entry, with the conditions DynamoDB gives it."""

from __future__ import annotations

from connector.adapters.ratelimit import BucketState, Written


class FakeBucketStore:
    """One bucket item. ``write`` is refused when another writer saved since ``state`` was read; ``take``
    subtracts atomically under its conditions. A refused call returns the item as stored (DynamoDB's
    ``ReturnValuesOnConditionCheckFailure=ALL_OLD``). Counts reads and writes: the calls the governor makes."""

    def __init__(self) -> None:
        self.state: BucketState | None = None
        self.version = 0
        self.reads = 0
        self.writes = 0

    def read(self) -> BucketState | None:
        self.reads += 1
        return self.state

    def write(self, state: BucketState | None, tokens: float, refilled_at: float) -> Written:
        self.writes += 1
        if (0 if state is None else state.handle) != self.version:
            return Written(False, self.state)
        self.version += 1
        self.state = BucketState(tokens, refilled_at, self.version, (s.bookings if (s := self.state) else 0) + 1)
        return Written(True, self.state)

    def take(self, count: int, refilled_at: float, least: float, most: float) -> Written:
        self.writes += 1
        s = self.state
        if s is None or s.refilled_at != refilled_at or not least <= s.tokens <= most:
            return Written(False, s)
        self.version += 1
        self.state = BucketState(s.tokens - count, s.refilled_at, self.version, s.bookings + 1)
        return Written(True, self.state)

    @property
    def calls(self) -> int:
        return self.reads + self.writes
