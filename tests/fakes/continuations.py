"""Inbound continuations in memory: the messages a run queued for the next, and the chain's "running" mark."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FakeContinuations:
    sent: list[tuple[str, int]] = field(default_factory=list)  # (resume_from, hop) queued, oldest first
    running: bool = False  # a chain run marked itself (and has not ended it)

    def send(self, resume_from: str, hop: int) -> None:
        self.running = True
        self.sent.append((resume_from, hop))

    def mark(self) -> None:
        self.running = True

    def end(self) -> None:
        self.running = False

    def active(self) -> bool:
        return self.running
