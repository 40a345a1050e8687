"""The governor's shared bucket item as a dictionary entry, with the version condition DynamoDB gives it."""

from __future__ import annotations

from connector.adapters.ratelimit import BucketState


class FakeBucketStore:
    """One bucket item; ``write`` fails (None) when another writer saved since ``state`` was read.
    Counts reads and writes: the DynamoDB calls the governor would make."""

    def __init__(self) -> None:
        self.state: BucketState | None = None
        self.version = 0
        self.reads = 0
        self.writes = 0

    def read(self) -> BucketState | None:
        self.reads += 1
        return self.state

    def write(self, state: BucketState | None, tokens: float, refilled_at: float) -> BucketState | None:
        self.writes += 1
        if (0 if state is None else state.handle) != self.version:
            return None
        self.version += 1
        self.state = BucketState(tokens, refilled_at, self.version)
        return self.state

    @property
    def calls(self) -> int:
        return self.reads + self.writes
